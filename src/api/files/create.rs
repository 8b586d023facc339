//! `POST /files/`: create an upload (creation, defer-length, concatenation), optionally
//! with its first bytes (creation-with-upload).

use http::{HeaderValue, StatusCode};
use upgate_proto::tus::{upload_id_from_url, Concat};

use super::endpoint::Create;
use super::error::{core_error, task_failed};
use super::{state_headers, FilesApi};
use crate::core::{AppendRequest, ConcatRole, CreateRequest, Error, Owner};
use crate::server::{empty, Resp};

pub async fn handle(
    api: &FilesApi,
    c: Create,
    body: crate::server::HyperBody,
    owner: Option<Owner>,
) -> Resp {
    let concat = match c.concat {
        None => ConcatRole::None,
        Some(Concat::Partial) => ConcatRole::Partial,
        Some(Concat::Final(urls)) => {
            let mut parts = Vec::with_capacity(urls.len());
            for u in &urls {
                match upload_id_from_url(u) {
                    Some(id) => parts.push(id.to_owned()),
                    None => {
                        return core_error(&Error::BadRequest(format!(
                            "bad partial upload URL {u:?}"
                        )))
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
    };
    let rec = match api.service.create(req).await {
        Ok(r) => r,
        Err(e) => return core_error(&e),
    };
    let location = format!("/files/{}", rec.id);
    let mut rec = rec;
    if c.with_body {
        let svc = api.service.clone();
        let id = rec.id.clone();
        let append = AppendRequest {
            offset: 0,
            declared_len: c.content_length,
            checksum: c.checksum,
            set_length: None,
        };
        let mut body = body;
        let task = tokio::spawn(async move {
            let out = svc.append(&id, append, &mut body).await;
            if out.is_err() {
                body.drain().await;
            }
            out
        });
        match task.await {
            Ok(Ok(r)) => rec = r,
            Ok(Err(Error::Interrupted { offset })) => rec.offset = offset,
            Ok(Err(e)) => {
                let mut r = core_error(&e);
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(http::header::LOCATION, v);
                }
                return r;
            }
            Err(e) => return task_failed(e),
        }
    }
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(http::header::LOCATION, v);
    }
    state_headers(h, &rec);
    r
}
