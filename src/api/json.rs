//! What the JSON APIs (Canvas's services API, the admin API) share: JSON answers, the
//! Canvas-style problem body `{"errors":[{"message"}]}`, `Authorization: Bearer`, and
//! small form or JSON request bodies.

use http::{HeaderMap, HeaderValue, StatusCode};

use crate::server::{full, HyperBody, Resp};

/// Largest form or JSON body the JSON APIs read.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON answer.
pub fn json(status: StatusCode, v: &serde_json::Value) -> Resp {
    let mut r = hyper::Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// An error answer as Canvas writes them.
pub fn problem(status: StatusCode, message: &str) -> Resp {
    json(
        status,
        &serde_json::json!({ "errors": [{ "message": message }] }),
    )
}

/// The token of `Authorization: Bearer TOKEN`.
pub fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_owned())
}

/// Form or JSON body fields; `None` when the body is larger than [`MAX_BODY`] or broke.
pub async fn body_fields(h: &HeaderMap, body: &mut HyperBody) -> Option<Vec<(String, String)>> {
    use crate::model::body::ChunkBody;
    let mut bytes = Vec::new();
    loop {
        match body.next_chunk().await {
            Ok(None) => break,
            Ok(Some(b)) if bytes.len() + b.len() > MAX_BODY => return None,
            Ok(Some(b)) => bytes.extend_from_slice(&b),
            Err(_) => return None,
        }
    }
    let ctype = h
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ctype.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        return Some(
            v.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        );
    }
    Some(upgate_proto::form::parse_query(&String::from_utf8_lossy(
        &bytes,
    )))
}
