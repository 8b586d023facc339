//! Upload append: `PATCH /files/{id}` at `Upload-Offset` (`application/partial-upload`
//! from version 6). A request still writing this upload here is ended first.

use http::HeaderValue;

use super::{completed, state_headers, Append, IetfError, Problem, Version};
use crate::api::files::FilesApi;
use crate::core::{AppendRequest, Error, Status};
use crate::server::{empty, HyperBody, Resp};

pub async fn handle(
    api: &FilesApi,
    v: Version,
    a: Append,
    head: &http::request::Parts,
    body: &mut HyperBody,
) -> Result<Resp, IetfError> {
    let req = AppendRequest {
        offset: a.offset,
        declared_len: a.content_length,
        set_length: a.length,
        complete: a.complete,
        preempt: true,
        on_commit: super::progress(v, head),
        arrived: Some(super::arrival(head)),
        ..Default::default()
    };
    let rec = match api.service.append(&a.id, req, body).await {
        Ok(r) => r,
        Err(Error::OffsetMismatch { offset }) => {
            return Err(IetfError::new(
                v,
                Problem::Mismatch {
                    expected: offset,
                    provided: a.offset,
                },
            ))
        }
        Err(e @ Error::TooLarge { .. }) => return Err(IetfError::core(v, e).limited(api)),
        Err(e) => return Err(IetfError::core(v, e)),
    };
    if a.complete && rec.status != Status::Complete {
        if let Some(length) = rec.length {
            return Err(IetfError::new(
                v,
                Problem::NotCompleted {
                    offset: rec.offset,
                    length,
                },
            ));
        }
    }
    let digest: Option<HeaderValue> = match rec.status == Status::Complete {
        true => completed(api, v, &rec, a.want_digest).await?,
        false => None,
    };
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = v.append_status();
    let h = r.headers_mut();
    state_headers(api, v, h, &rec);
    if let Some(d) = digest {
        h.insert("repr-digest", d);
    }
    Ok(r)
}
