//! URL forms of API v3 (spec §1.1): `/api_v3/service/S/action/A[/k/v…]`,
//! `/api_v3/index.php/service/…`, `/api_v3/index.php?service=…`, `/api_v3/?service=…`,
//! `/api/{rest}`, with any number of leading slashes. Path segments after the script
//! are key/value pairs; parsing stops at the first empty or `0` key (PHP truthiness).

use upgate_proto::form::form_decode;

/// True when `path` belongs to API v3.
pub fn is_api_path(path: &str) -> bool {
    let p = path.trim_start_matches('/');
    p == "api_v3" || p.starts_with("api_v3/") || p.starts_with("api/")
}

/// The key/value pairs carried in the path.
pub fn path_pairs(path: &str) -> Vec<(String, String)> {
    let p = path.trim_start_matches('/');
    let rest = if let Some(r) = p.strip_prefix("api_v3") {
        r.trim_start_matches('/')
    } else if let Some(r) = p.strip_prefix("api/") {
        r
    } else {
        return Vec::new();
    };
    let rest = rest
        .strip_prefix("index.php")
        .unwrap_or(rest)
        .trim_start_matches('/');
    let segs: Vec<String> = rest.split('/').map(form_decode).collect();
    let mut out = Vec::new();
    for pair in segs.chunks(2) {
        let key = &pair[0];
        if key.is_empty() || key == "0" {
            break;
        }
        out.push((key.clone(), pair.get(1).cloned().unwrap_or_default()));
    }
    out
}

/// A parsed request.
#[derive(Debug)]
pub enum Endpoint {
    /// An API v3 call: the key/value pairs its path carries (the service, action and
    /// parameters come from them and from the query and body, read by
    /// [`crate::api::params`]).
    Api { path_pairs: Vec<(String, String)> },
    /// A file download in Kaltura's URL form:
    /// `/p/PID/sp/PID00/download/entry_id/ID/flavor/FID/ks/KS/relocate/NAME`.
    Download {
        partner: i64,
        entry_id: String,
        ks: Option<String>,
        name: Option<String>,
    },
}

/// True for Kaltura's download paths (`/p/PID/sp/…/download/…`).
pub fn is_download_path(path: &str) -> bool {
    path.starts_with("/p/") && path.contains("/download/")
}

/// The download a `/p/…` path names.
pub fn download(path: &str) -> Option<Endpoint> {
    let segs: Vec<String> = path.trim_matches('/').split('/').map(form_decode).collect();
    let (head, rest) = segs.split_at(segs.iter().position(|s| s == "download")? + 1);
    let partner = match head {
        [p, pid, sp, _spid, _download] if p == "p" && sp == "sp" => pid.parse().ok()?,
        _ => return None,
    };
    let mut entry_id = None;
    let (mut ks, mut name) = (None, None);
    for pair in rest.chunks(2) {
        let value = pair.get(1).cloned();
        match pair[0].as_str() {
            "entry_id" => entry_id = value,
            "ks" => ks = value,
            "relocate" => name = value,
            _ => {}
        }
    }
    Some(Endpoint::Download {
        partner,
        entry_id: entry_id.filter(|e| crate::model::is_valid_id(e))?,
        ks,
        name,
    })
}

/// Every action upgate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SessionStart,
    SessionEnd,
    SessionGet,
    TokenAdd,
    TokenGet,
    TokenList,
    TokenDelete,
    TokenUpload,
    MediaAdd,
    MediaAddContent,
    MediaAddFromUploadedFile,
    MediaAddFromUrl,
    MediaGet,
    MediaList,
    MediaUpdate,
    MediaDelete,
    CategoryAdd,
    CategoryGet,
    CategoryList,
    CategoryEntryAdd,
    CategoryEntryDelete,
    CategoryEntryList,
    CaptionAdd,
    CaptionSetContent,
    CaptionGet,
    CaptionList,
    CaptionServe,
    CaptionDelete,
}

/// (service, action), lower case, and the action they name.
const ACTIONS: &[(&str, &str, Action)] = &[
    ("session", "start", Action::SessionStart),
    ("session", "end", Action::SessionEnd),
    ("session", "get", Action::SessionGet),
    ("uploadtoken", "add", Action::TokenAdd),
    ("uploadtoken", "get", Action::TokenGet),
    ("uploadtoken", "list", Action::TokenList),
    ("uploadtoken", "delete", Action::TokenDelete),
    ("uploadtoken", "upload", Action::TokenUpload),
    ("media", "add", Action::MediaAdd),
    ("media", "addcontent", Action::MediaAddContent),
    (
        "media",
        "addfromuploadedfile",
        Action::MediaAddFromUploadedFile,
    ),
    ("media", "addfromurl", Action::MediaAddFromUrl),
    ("media", "get", Action::MediaGet),
    ("media", "list", Action::MediaList),
    ("media", "update", Action::MediaUpdate),
    ("media", "delete", Action::MediaDelete),
    ("category", "add", Action::CategoryAdd),
    ("category", "get", Action::CategoryGet),
    ("category", "list", Action::CategoryList),
    ("categoryentry", "add", Action::CategoryEntryAdd),
    ("categoryentry", "delete", Action::CategoryEntryDelete),
    ("categoryentry", "list", Action::CategoryEntryList),
    ("caption_captionasset", "add", Action::CaptionAdd),
    (
        "caption_captionasset",
        "setcontent",
        Action::CaptionSetContent,
    ),
    ("caption_captionasset", "get", Action::CaptionGet),
    ("caption_captionasset", "list", Action::CaptionList),
    ("caption_captionasset", "serve", Action::CaptionServe),
    ("caption_captionasset", "delete", Action::CaptionDelete),
];

/// Why a call names no action upgate serves (each is a Kaltura error).
#[derive(Debug, PartialEq, Eq)]
pub enum Unknown {
    NoService,
    NoAction,
    Service,
    Action,
}

/// The action `service`.`action` names (case-insensitive), with the names as the
/// server canonicalizes them (lower case) for messages.
pub fn action(service: &str, action: &str) -> Result<(Action, String, String), Unknown> {
    if service.is_empty() {
        return Err(Unknown::NoService);
    }
    if action.is_empty() {
        return Err(Unknown::NoAction);
    }
    let (s, a) = (service.to_ascii_lowercase(), action.to_ascii_lowercase());
    if !ACTIONS.iter().any(|(svc, _, _)| *svc == s) {
        return Err(Unknown::Service);
    }
    match ACTIONS.iter().find(|(svc, act, _)| *svc == s && *act == a) {
        Some((_, _, act)) => Ok((*act, s, a)),
        None => Err(Unknown::Action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_urls() {
        let Some(Endpoint::Download {
            partner,
            entry_id,
            ks,
            name,
        }) = download(
            "/p/100/sp/10000/download/entry_id/0_r949z9lk/flavor/0_x/ks/djJ8/relocate/download.mp4",
        )
        else {
            panic!("a download path");
        };
        assert_eq!((partner, entry_id.as_str()), (100, "0_r949z9lk"));
        assert_eq!(
            (ks.as_deref(), name.as_deref()),
            (Some("djJ8"), Some("download.mp4"))
        );
        assert!(download("/p/x/sp/1/download/entry_id/0_a").is_none());
        assert!(download("/p/1/sp/1/download/entry_id/..%2F..").is_none());
        assert!(is_download_path("/p/1/sp/100/download/entry_id/0_a"));
    }

    #[test]
    fn actions_parse_case_insensitively() {
        assert_eq!(
            action("UploadToken", "UPLOAD").map(|a| a.0),
            Ok(Action::TokenUpload)
        );
        assert_eq!(action("", "add").map(|a| a.0), Err(Unknown::NoService));
        assert_eq!(action("media", "").map(|a| a.0), Err(Unknown::NoAction));
        assert_eq!(action("nope", "add").map(|a| a.0), Err(Unknown::Service));
        assert_eq!(action("media", "nope").map(|a| a.0), Err(Unknown::Action));
    }

    #[test]
    fn forms() {
        let sa = |v: &[(String, String)]| {
            v.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(
            sa(&path_pairs("/api_v3/service/uploadtoken/action/add")),
            "service=uploadtoken&action=add"
        );
        assert_eq!(
            sa(&path_pairs(
                "//api_v3/service/media/action/get/entryId/0_abc/format/1/"
            )),
            "service=media&action=get&entryId=0_abc&format=1"
        );
        assert_eq!(
            sa(&path_pairs(
                "/api_v3/index.php/service/session/action/start"
            )),
            "service=session&action=start"
        );
        assert_eq!(sa(&path_pairs("/api_v3/index.php")), "");
        assert_eq!(sa(&path_pairs("/api_v3/")), "");
        assert_eq!(
            sa(&path_pairs("/api/service/x/action/y")),
            "service=x&action=y"
        );
        assert!(is_api_path("//api_v3/service/a"));
        assert!(!is_api_path("/files/x"));
    }
}
