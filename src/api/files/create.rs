//! `POST /files/`: create an upload (creation, defer-length, concatenation), optionally
//! with its first bytes (creation-with-upload).

use http::{HeaderValue, StatusCode};
use upgate_proto::tus::{upload_id_from_url, Concat};

use super::endpoint::Create;
use super::{state_headers, FilesApi, FilesError};
use crate::core::{AppendRequest, ConcatRole, CreateRequest, Error, Owner};
use crate::ratelimit::Subject;
use crate::server::{empty, HyperBody, Resp};

pub async fn handle(
    api: &FilesApi,
    c: Create,
    body: &mut HyperBody,
    owner: Option<Owner>,
    subject: &Subject,
) -> Result<Resp, FilesError> {
    let concat = match c.concat {
        None => ConcatRole::None,
        Some(Concat::Partial) => ConcatRole::Partial,
        Some(Concat::Final(urls)) => {
            let mut parts = Vec::with_capacity(urls.len());
            for u in &urls {
                match upload_id_from_url(u) {
                    Some(id) => parts.push(id.to_owned()),
                    None => {
                        return Err(
                            Error::BadRequest(format!("bad partial upload URL {u:?}")).into()
                        )
                    }
                }
            }
            ConcatRole::Final { parts }
        }
    };
    let req = CreateRequest {
        length: c.length,
        metadata: c.metadata,
        concat,
        owner,
        attrs: Default::default(),
        keep_digest: c.keep_digest,
    };
    let is_final = matches!(req.concat, ConcatRole::Final { .. });
    let rec = api.service.create(req).await?;
    if is_final {
        // The copy writes the whole file again: it spends the user's byte budget like
        // an upload of that size (a no-op while `--user-bandwidth` is off).
        api.gate.limits.pace(subject, rec.offset as usize).await;
    }
    let location = format!("/files/{}", rec.id);
    let mut rec = rec;
    if c.with_body {
        let append = AppendRequest {
            offset: 0,
            declared_len: c.content_length,
            checksum: c.checksum,
            ..Default::default()
        };
        match api.service.append(&rec.id, append, body).await {
            Ok(r) => rec = r,
            Err(Error::Interrupted { offset }) => rec.offset = offset,
            Err(error) => return Err(FilesError::Created { location, error }),
        }
    }
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(http::header::LOCATION, v);
    }
    state_headers(h, &rec);
    Ok(r)
}
