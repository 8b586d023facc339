//! URL forms of API v3 (spec §1.1): `/api_v3/service/S/action/A[/k/v…]`,
//! `/api_v3/index.php/service/…`, `/api_v3/index.php?service=…`, `/api_v3/?service=…`,
//! `/api/{rest}`, with any number of leading slashes. Path segments after the script
//! are key/value pairs; parsing stops at the first empty or `0` key (PHP truthiness).

use upgate_proto::kaltura::ks::form_decode;

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

#[cfg(test)]
mod tests {
    use super::*;

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
