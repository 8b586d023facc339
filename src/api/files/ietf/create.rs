//! Upload creation: `POST` (or `PUT`/`PATCH`) on `/files/` with `Upload-Complete`
//! (`Upload-Incomplete` in version 3). The upload exists before its body is read: on
//! HTTP/1.1 a `104 Upload Resumption Supported` gives its `Location` right away (with
//! content: once this request is the upload's writer, before it reads a byte), so a
//! creation cut half-way resumes from what arrived.

use http::{HeaderMap, HeaderValue, StatusCode};

use super::{completed, limits, state_headers, Create, IetfError, Problem, Version, REPR_SHA256};
use crate::api::files::FilesApi;
use crate::core::{AppendRequest, ConcatRole, CreateRequest, Error, OnCommit, Owner, Status};
use crate::server::interim::Interim;
use crate::server::{empty, HyperBody, Resp};

pub async fn handle(
    api: &FilesApi,
    v: Version,
    c: Create,
    head: &http::request::Parts,
    body: &mut HyperBody,
    owner: Option<Owner>,
) -> Result<Resp, IetfError> {
    let mut attrs = std::collections::BTreeMap::new();
    if let Some(d) = c.repr_digest {
        attrs.insert(REPR_SHA256.to_owned(), upgate_proto::hex::hex(&d));
    }
    let req = CreateRequest {
        length: c.length,
        metadata: c.metadata,
        concat: ConcatRole::None,
        owner,
        // A digest to check or to answer: kept as the bytes arrive.
        keep_digest: c.want_digest || !attrs.is_empty(),
        attrs,
    };
    let mut rec = match api.service.create(req).await {
        Ok(r) => r,
        Err(e @ Error::TooLarge { .. }) => return Err(IetfError::core(v, e).limited(api)),
        Err(e) => return Err(IetfError::core(v, e)),
    };
    let location = format!("/files/{}", rec.id);
    let announce = announce(api, v, head, &rec, &location);
    let failed = |problem| IetfError {
        location: Some(location.clone()),
        ..IetfError::new(v, problem)
    };
    if c.with_body {
        let append = AppendRequest {
            offset: 0,
            declared_len: c.content_length,
            complete: c.complete,
            on_commit: super::progress(v, head),
            on_start: announce,
            ..Default::default()
        };
        match api.service.append(&rec.id, append, body).await {
            Ok(r) => rec = r,
            Err(Error::Interrupted { offset }) => rec.offset = offset,
            Err(e @ Error::TooLarge { .. }) => return Err(failed(Problem::Core(e)).limited(api)),
            Err(e) => return Err(failed(Problem::Core(e))),
        }
    } else if let Some(f) = announce {
        (f.0)(0);
    }
    let digest = match c.complete && rec.status == Status::Complete {
        true => completed(api, v, &rec, c.want_digest)
            .await
            .map_err(|e| IetfError {
                location: Some(location.clone()),
                ..e
            })?,
        false => None,
    };
    if c.complete && rec.status != Status::Complete {
        if let Some(length) = rec.length {
            return Err(failed(Problem::NotCompleted {
                offset: rec.offset,
                length,
            }));
        }
    }
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    if let Ok(l) = HeaderValue::from_str(&location) {
        h.insert(http::header::LOCATION, l);
    }
    state_headers(api, v, h, &rec);
    if let Some(d) = digest {
        h.insert("repr-digest", d);
    }
    Ok(r)
}

/// The `104 Upload Resumption Supported` that gives the new upload's `Location` (and
/// its limits), HTTP/1.1 only. With content it goes out once the request is the
/// upload's writer (see [`AppendRequest::on_start`]).
fn announce(
    api: &FilesApi,
    v: Version,
    head: &http::request::Parts,
    rec: &crate::core::UploadRecord,
    location: &str,
) -> Option<OnCommit> {
    let interim = head.extensions.get::<Interim>()?.clone();
    let mut h = HeaderMap::new();
    if let Ok(l) = HeaderValue::from_str(location) {
        h.insert(http::header::LOCATION, l);
    }
    if let Some(l) = limits(api, v, Some(rec)) {
        h.insert("upload-limit", l);
    }
    h.insert(
        "upload-draft-interop-version",
        HeaderValue::from(u16::from(v.0)),
    );
    let status = StatusCode::from_u16(104).ok()?;
    Some(OnCommit(std::sync::Arc::new(move |_| {
        interim.send(status, &h);
    })))
}
