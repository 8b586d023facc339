//! The API error catalogue (spec §5.2): codes, argument names and message templates,
//! and [`api_error`] which builds a `KalturaAPIException` exactly as the server does
//! (placeholders `@ARG@` substituted, missing ones `N/A`, HTML tags stripped from args).

use super::value::ApiError;

/// (code, comma-separated arg names, template).
const CATALOGUE: &[(&str, &str, &str)] = &[
    ("MISSING_KS", "", "Missing KS, session not established"),
    ("INVALID_KS", "KSID,ERR_CODE,ERR_DESC", "Invalid KS \"@KSID@\", Error \"@ERR_CODE@,@ERR_DESC@\""),
    ("SERVICE_FORBIDDEN", "SERVICE", "The access to service [@SERVICE@] is forbidden"),
    ("SERVICE_NOT_SPECIFIED", "", "Service name was not specified, please specify one"),
    ("SERVICE_DOES_NOT_EXISTS", "SRV_NAME", "Service \"@SRV_NAME@\" does not exists"),
    ("ACTION_NOT_SPECIFIED", "", "Action name was not specified, please specify one"),
    (
        "ACTION_DOES_NOT_EXISTS",
        "ACTION_NAME,SERVICE_NAME",
        "Action \"@ACTION_NAME@\" does not exists for service \"@SERVICE_NAME@\"",
    ),
    ("MISSING_MANDATORY_PARAMETER", "PARAM_NAME", "Missing parameter \"@PARAM_NAME@\""),
    (
        "INVALID_ENUM_VALUE",
        "ENUM_VAL,PARAM_NAME,ENUM_TYPE",
        "Invalid enumeration value \"@ENUM_VAL@\" for parameter \"@PARAM_NAME@\", expecting enumeration type \"@ENUM_TYPE@\"",
    ),
    ("INVALID_PARAMETER_CHAR", "XML_FIELD", "Invalid char in \"@XML_FIELD@\" field"),
    ("PROPERTY_VALIDATION_NOT_UPDATABLE", "PROP_NAME", "The property \"@PROP_NAME@\" cannot be updated"),
    ("PROPERTY_VALIDATION_CANNOT_BE_NULL", "PROP_NAME", "The property \"@PROP_NAME@\" cannot be null"),
    ("PROPERTY_VALIDATION_WRONG_FORMAT", "PROP_NAME,FORMAT", "The property \"@PROP_NAME@\" must match format @FORMAT@"),
    (
        "OBJECT_TYPE_ABSTRACT",
        "OBJ_TYPE",
        "The object type \"@OBJ_TYPE@\" is abstract, use one of the object implementations",
    ),
    ("UPLOAD_TOKEN_NOT_FOUND", "", "Upload token not found"),
    (
        "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD",
        "",
        "Upload token is in an invalid status for uploading a file, maybe the file was already uploaded",
    ),
    (
        "UPLOAD_TOKEN_INVALID_STATUS_FOR_ADD_ENTRY",
        "",
        "Upload token is in an invalid status for adding entry, maybe the a file was not uploaded or the token was used",
    ),
    ("UPLOAD_TOKEN_CANNOT_RESUME", "", "Cannot resume the upload, original file was not found"),
    ("UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE", "", "Failed to match expected file size"),
    ("UPLOAD_TOKEN_FILE_TYPE_RESTRICTED_FOR_UPLOAD", "", "Upload token is restricted due to the file type"),
    ("UPLOAD_TOKEN_MISSING_FILE_SIZE", "", "FileSize is mandatory when enabling autoFinalize"),
    (
        "MAX_ALLOWED_CHUNK_COUNT_EXCEEDED",
        "",
        "Max allowed waiting chunks to be concatenated has exceeded allowed limit",
    ),
    (
        "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED",
        "MAX_RESUME_TIME",
        "Max resume time of @MAX_RESUME_TIME@ seconds reached, cannot resume upload",
    ),
    ("UPLOAD_ERROR", "", "Upload failed"),
    (
        "UPLOADED_FILE_NOT_FOUND_BY_TOKEN",
        "",
        "The uploaded file was not found by the given token id, or was already used",
    ),
    ("INVALID_UPLOAD_TOKEN_ID", "", "Invalid upload token id"),
    ("ENTRY_ID_NOT_FOUND", "ENTRY_ID", "Entry id \"@ENTRY_ID@\" not found"),
    ("ENTRY_ALREADY_WITH_CONTENT", "", "Entry already associated with content"),
    ("RESOURCE_TYPE_NOT_SUPPORTED", "RES_TYPE", "Resource type \"@RES_TYPE@\" not supported"),
    ("START_SESSION_ERROR", "PID", "Error while starting session for partner [@PID@]"),
    ("INVALID_PARTNER_ID", "PID", "Invalid partner id \"@PID@\""),
    ("UNKNOWN_RESPONSE_FORMAT", "FORMAT", "Response format provided [@FORMAT@] is not recognized by server"),
    ("INTERNAL_SERVERL_ERROR", "", "Internal server error occurred"),
    ("INTERNAL_DATABASE_ERROR", "", "Internal database error"),
    ("LOCK_TIMED_OUT", "", "Timed out while attempting to grab lock"),
    // upgate's own, for conditions Kaltura has no code for (documented in the README).
    ("SERVICE_UNAVAILABLE", "", "Service temporarily unavailable, retry later"),
    ("REQUEST_RATE_EXCEEDED", "RETRY_AFTER", "Too many requests, retry after @RETRY_AFTER@ seconds"),
    ("UPLOAD_TOO_LARGE", "MAX_SIZE", "The upload exceeds the maximum size of @MAX_SIZE@ bytes"),
];

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

/// Builds the exception for `code` with positional `args` (in the catalogue's order).
/// An unknown code becomes `INTERNAL_SERVERL_ERROR` (a bug, never a client's fault).
pub fn api_error(code: &str, args: &[&str]) -> ApiError {
    let Some((code, names, template)) = CATALOGUE.iter().find(|(c, _, _)| *c == code) else {
        return api_error("INTERNAL_SERVERL_ERROR", &[]);
    };
    let names: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
    let mut message = (*template).to_owned();
    let mut out_args = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let value = args
            .get(i)
            .map_or_else(|| "N/A".to_owned(), |v| strip_tags(v));
        message = message.replace(&format!("@{name}@"), &value);
        out_args.push(((*name).to_owned(), value));
    }
    ApiError {
        code: (*code).to_owned(),
        message,
        args: out_args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let e = api_error("MISSING_MANDATORY_PARAMETER", &["uploadTokenId"]);
        assert_eq!(e.message, "Missing parameter \"uploadTokenId\"");
        assert_eq!(
            e.args,
            vec![("PARAM_NAME".to_owned(), "uploadTokenId".to_owned())]
        );
        let e = api_error("INVALID_KS", &["EXPIRED", "-1", "INVALID_STR"]);
        assert_eq!(
            e.message,
            "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\""
        );
        let e = api_error("INVALID_KS", &["<b>x</b>"]);
        assert_eq!(e.message, "Invalid KS \"x\", Error \"N/A,N/A\"");
        assert_eq!(api_error("NOPE", &[]).code, "INTERNAL_SERVERL_ERROR");
    }
}
