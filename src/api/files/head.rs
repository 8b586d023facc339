//! `HEAD /files/{id}`: the upload's offset, length, metadata and expiry; with
//! `Want-Digest: sha-256` on a filled upload, its `Digest` (RFC 3230).

use http::HeaderValue;

use super::{state_headers, FilesApi, FilesError};
use crate::core::ConcatRole;
use crate::server::{empty, Resp};

pub async fn handle(api: &FilesApi, id: &str, want_digest: bool) -> Result<Resp, FilesError> {
    let rec = api.service.status(id).await?;
    // A filled upload may still be assembling: its digest is sent when its bytes'
    // running digest has it, and otherwise once it is complete (the client asks again).
    let done = rec.status == crate::core::Status::Complete || rec.is_filled();
    let digest = match want_digest && done {
        true => match api.service.sha256(id).await {
            Ok(d) => Some(d),
            Err(crate::core::Error::NotComplete) => None,
            Err(e) => return Err(e.into()),
        },
        false => None,
    };
    let mut r = hyper::Response::new(empty());
    let h = r.headers_mut();
    state_headers(h, &rec);
    if let Some(d) = digest {
        use base64::Engine;
        let v = format!(
            "sha-256={}",
            base64::engine::general_purpose::STANDARD.encode(d)
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert("digest", v);
        }
    }
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    match rec.length {
        Some(l) => h.insert("upload-length", HeaderValue::from(l)),
        None => h.insert("upload-defer-length", HeaderValue::from_static("1")),
    };
    if !rec.metadata.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&rec.metadata) {
            h.insert("upload-metadata", v);
        }
    }
    let concat = match &rec.concat {
        ConcatRole::None => None,
        ConcatRole::Partial => Some("partial".to_owned()),
        ConcatRole::Final { parts } => Some(format!(
            "final;{}",
            parts
                .iter()
                .map(|p| format!("/files/{p}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    };
    if let Some(v) = concat.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert("upload-concat", v);
    }
    Ok(r)
}
