//! The API error catalogue (spec §5.2): codes, argument names and message templates,
//! and [`api_error`] which builds a `KalturaAPIException` exactly as the server does
//! (placeholders `@ARG@` substituted, missing ones `N/A`, HTML tags stripped from args).

use super::value::ApiError;

/// Declares the catalogue: one line per code with its argument names and template, and
/// from it [`ErrorCode`] and its tables. A code that is not declared here cannot be
/// named anywhere (a compile error), and each code's wire text is written once.
macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, [$($arg:literal),*], $template:literal; )*) => {
        /// Every `KalturaAPIException` code upgate answers (spec §5.2).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it goes on the wire.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            /// Names of the positional arguments, in order.
            pub fn arg_names(self) -> &'static [&'static str] {
                match self { $(ErrorCode::$variant => &[$($arg),*]),* }
            }

            /// The message template (`@ARG@` placeholders).
            pub fn template(self) -> &'static str {
                match self { $(ErrorCode::$variant => $template),* }
            }

            /// The code named `name` on the wire, if upgate knows it.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.name() == name)
            }
        }
    };
}

catalogue! {
    MissingKs = "MISSING_KS", [], "Missing KS, session not established";
    InvalidKs = "INVALID_KS", ["KSID", "ERR_CODE", "ERR_DESC"], "Invalid KS \"@KSID@\", Error \"@ERR_CODE@,@ERR_DESC@\"";
    ServiceForbidden = "SERVICE_FORBIDDEN", ["SERVICE"], "The access to service [@SERVICE@] is forbidden";
    ServiceNotSpecified = "SERVICE_NOT_SPECIFIED", [], "Service name was not specified, please specify one";
    ServiceDoesNotExists = "SERVICE_DOES_NOT_EXISTS", ["SRV_NAME"], "Service \"@SRV_NAME@\" does not exists";
    ActionNotSpecified = "ACTION_NOT_SPECIFIED", [], "Action name was not specified, please specify one";
    ActionDoesNotExists = "ACTION_DOES_NOT_EXISTS", ["ACTION_NAME", "SERVICE_NAME"], "Action \"@ACTION_NAME@\" does not exists for service \"@SERVICE_NAME@\"";
    MissingMandatoryParameter = "MISSING_MANDATORY_PARAMETER", ["PARAM_NAME"], "Missing parameter \"@PARAM_NAME@\"";
    InvalidEnumValue = "INVALID_ENUM_VALUE", ["ENUM_VAL", "PARAM_NAME", "ENUM_TYPE"], "Invalid enumeration value \"@ENUM_VAL@\" for parameter \"@PARAM_NAME@\", expecting enumeration type \"@ENUM_TYPE@\"";
    InvalidParameterChar = "INVALID_PARAMETER_CHAR", ["XML_FIELD"], "Invalid char in \"@XML_FIELD@\" field";
    PropertyValidationNotUpdatable = "PROPERTY_VALIDATION_NOT_UPDATABLE", ["PROP_NAME"], "The property \"@PROP_NAME@\" cannot be updated";
    PropertyValidationCannotBeNull = "PROPERTY_VALIDATION_CANNOT_BE_NULL", ["PROP_NAME"], "The property \"@PROP_NAME@\" cannot be null";
    PropertyValidationAdminProperty = "PROPERTY_VALIDATION_ADMIN_PROPERTY", ["PROP_NAME"], "The property \"@PROP_NAME@\" is updatable with admin session only";
    PropertyValidationMaxLength = "PROPERTY_VALIDATION_MAX_LENGTH", ["PROP_NAME", "MAX_LEN"], "The property \"@PROP_NAME@\" must have a max length of @MAX_LEN@ characters";
    PropertyValidationWrongFormat = "PROPERTY_VALIDATION_WRONG_FORMAT", ["PROP_NAME", "FORMAT"], "The property \"@PROP_NAME@\" must match format @FORMAT@";
    ObjectTypeAbstract = "OBJECT_TYPE_ABSTRACT", ["OBJ_TYPE"], "The object type \"@OBJ_TYPE@\" is abstract, use one of the object implementations";
    UploadTokenNotFound = "UPLOAD_TOKEN_NOT_FOUND", [], "Upload token not found";
    UploadTokenInvalidStatusForUpload = "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD", [], "Upload token is in an invalid status for uploading a file, maybe the file was already uploaded";
    UploadTokenInvalidStatusForAddEntry = "UPLOAD_TOKEN_INVALID_STATUS_FOR_ADD_ENTRY", [], "Upload token is in an invalid status for adding entry, maybe the a file was not uploaded or the token was used";
    UploadTokenCannotResume = "UPLOAD_TOKEN_CANNOT_RESUME", [], "Cannot resume the upload, original file was not found";
    UploadTokenCannotMatchExpectedSize = "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE", [], "Failed to match expected file size";
    UploadTokenFileTypeRestrictedForUpload = "UPLOAD_TOKEN_FILE_TYPE_RESTRICTED_FOR_UPLOAD", [], "Upload token is restricted due to the file type";
    UploadTokenMissingFileSize = "UPLOAD_TOKEN_MISSING_FILE_SIZE", [], "FileSize is mandatory when enabling autoFinalize";
    MaxAllowedChunkCountExceeded = "MAX_ALLOWED_CHUNK_COUNT_EXCEEDED", [], "Max allowed waiting chunks to be concatenated has exceeded allowed limit";
    UploadPassedMaxResumeTimeAllowed = "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED", ["MAX_RESUME_TIME"], "Max resume time of @MAX_RESUME_TIME@ seconds reached, cannot resume upload";
    UploadError = "UPLOAD_ERROR", [], "Upload failed";
    UploadedFileNotFoundByToken = "UPLOADED_FILE_NOT_FOUND_BY_TOKEN", [], "The uploaded file was not found by the given token id, or was already used";
    InvalidUploadTokenId = "INVALID_UPLOAD_TOKEN_ID", [], "Invalid upload token id";
    EntryIdNotFound = "ENTRY_ID_NOT_FOUND", ["ENTRY_ID"], "Entry id \"@ENTRY_ID@\" not found";
    CaptionAssetIdNotFound = "CAPTION_ASSET_ID_NOT_FOUND", ["CAPTION_ASSET_ID"], "Caption asset id \"@CAPTION_ASSET_ID@\" not found";
    CategoryNotFound = "CATEGORY_NOT_FOUND", ["CATEGORY_ID"], "Category id \"@CATEGORY_ID@\" not found";
    CategoryEntryAlreadyExists = "CATEGORY_ENTRY_ALREADY_EXISTS", [], "Entry already assigned to this category";
    EntryIsNotAssignedToCategory = "ENTRY_IS_NOT_ASSIGNED_TO_CATEGORY", [], "Entry is not assigned to category";
    DuplicateCategory = "DUPLICATE_CATEGORY", ["CATEGORY_NAME"], "The category \"@CATEGORY_NAME@\" already exists";
    EntryAlreadyWithContent = "ENTRY_ALREADY_WITH_CONTENT", [], "Entry already associated with content";
    ResourceTypeNotSupported = "RESOURCE_TYPE_NOT_SUPPORTED", ["RES_TYPE"], "Resource type \"@RES_TYPE@\" not supported";
    StartSessionError = "START_SESSION_ERROR", ["PID"], "Error while starting session for partner [@PID@]";
    InvalidPartnerId = "INVALID_PARTNER_ID", ["PID"], "Invalid partner id \"@PID@\"";
    UnknownResponseFormat = "UNKNOWN_RESPONSE_FORMAT", ["FORMAT"], "Response format provided [@FORMAT@] is not recognized by server";
    /// `INTERNAL_SERVERL_ERROR` (sic): the typo is Kaltura's, on the wire.
    InternalServerError = "INTERNAL_SERVERL_ERROR", [], "Internal server error occurred";
    InternalDatabaseError = "INTERNAL_DATABASE_ERROR", [], "Internal database error";
    LockTimedOut = "LOCK_TIMED_OUT", [], "Timed out while attempting to grab lock";
    // upgate's own, for conditions Kaltura has no code for (documented in the README).
    ServiceUnavailable = "SERVICE_UNAVAILABLE", [], "Service temporarily unavailable, retry later";
    RequestRateExceeded = "REQUEST_RATE_EXCEEDED", ["RETRY_AFTER"], "Too many requests, retry after @RETRY_AFTER@ seconds";
    UploadTooLarge = "UPLOAD_TOO_LARGE", ["MAX_SIZE"], "The upload exceeds the maximum size of @MAX_SIZE@ bytes";
    UploadRefused = "UPLOAD_REFUSED", ["REASON"], "The upload was refused: @REASON@";
    CaptionContentInvalid = "CAPTION_CONTENT_INVALID", ["REASON"], "Caption content refused: @REASON@";
    CaptionContentTooLarge = "CAPTION_CONTENT_TOO_LARGE", ["MAX_SIZE"], "Caption content exceeds @MAX_SIZE@ bytes";
    CaptionAssetsLimit = "CAPTION_ASSETS_LIMIT", ["MAX"], "An entry may have at most @MAX@ caption assets";
    MultirequestTooLarge = "MULTIREQUEST_TOO_LARGE", ["MAX"], "A multi-request may hold at most @MAX@ sub-requests";
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Builds the exception for `code` with positional `args` (in the catalogue's order;
/// missing ones read `N/A`, as the server writes them).
pub fn api_error(code: ErrorCode, args: &[&str]) -> ApiError {
    let names = code.arg_names();
    debug_assert!(
        args.len() <= names.len(),
        "{code:?} takes {} args",
        names.len()
    );
    let mut message = code.template().to_owned();
    let mut out_args = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let value = args
            .get(i)
            .map_or_else(|| "N/A".to_owned(), |v| strip_tags(v));
        message = message.replace(&format!("@{name}@"), &value);
        out_args.push(((*name).to_owned(), value));
    }
    ApiError {
        code: code.name().to_owned(),
        message,
        args: out_args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let e = api_error(ErrorCode::MissingMandatoryParameter, &["uploadTokenId"]);
        assert_eq!(e.message, "Missing parameter \"uploadTokenId\"");
        assert_eq!(
            e.args,
            vec![("PARAM_NAME".to_owned(), "uploadTokenId".to_owned())]
        );
        let e = api_error(ErrorCode::InvalidKs, &["EXPIRED", "-1", "INVALID_STR"]);
        assert_eq!(
            e.message,
            "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\""
        );
        let e = api_error(ErrorCode::InvalidKs, &["<b>x</b>"]);
        assert_eq!(e.message, "Invalid KS \"x\", Error \"N/A,N/A\"");
        assert_eq!(
            api_error(ErrorCode::InternalServerError, &[]).code,
            "INTERNAL_SERVERL_ERROR"
        );
    }

    #[test]
    fn catalogue_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.name()), "{} twice", c.name());
            assert_eq!(ErrorCode::from_name(c.name()), Some(c));
            // Every argument has its placeholder, and every placeholder is an argument.
            for n in c.arg_names() {
                assert!(
                    c.template().contains(&format!("@{n}@")),
                    "{c:?} lacks @{n}@"
                );
            }
            let placeholders = c.template().matches('@').count() / 2;
            assert_eq!(placeholders, c.arg_names().len(), "{c:?}");
        }
    }
}
