//! Reading an API v3 request into one parameter tree (spec §1.3): body (JSON object,
//! urlencoded form, or multipart fields — a `json` field replaces the others), then
//! query string, then path pairs, later sources winning. File parts are not read here:
//! the first one is left open in a [`Files`] cursor so its bytes stream straight to
//! storage when the action that consumes it runs. Fields after a file part are not
//! seen (every official client sends them before the file).

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use upgate_proto::kaltura::ks::parse_query;
use upgate_proto::kaltura::params::Params;

use crate::core::body::{BodyError, ChunkBody};

/// Largest non-file body (JSON or form) accepted.
pub const MAX_FORM_BODY: usize = 1 << 20;
/// Largest non-file multipart field.
pub const MAX_FIELD: u64 = 1 << 20;

/// Why a request could not be read (all answered as Kaltura errors by the caller).
#[derive(Debug)]
pub enum ReadError {
    /// Body too large, truncated, or malformed multipart.
    Malformed(String),
}

/// File parts of a multipart request, consumed in order.
pub struct Files {
    mp: Option<multer::Multipart<'static>>,
    pending: Option<multer::Field<'static>>,
    timeout: Duration,
}

impl Files {
    pub fn none() -> Self {
        Self {
            mp: None,
            pending: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// Name of the next file part, if any is waiting.
    pub fn next_name(&self) -> Option<&str> {
        self.pending.as_ref().and_then(|f| f.name())
    }

    /// Takes the file part named `name` if it is the next one. A part that is not a
    /// file (no `filename=`) under that name counts as a failed upload (`Some(Err)`).
    pub async fn take(&mut self, name: &str) -> Option<Result<FilePart, String>> {
        if self.pending.as_ref().and_then(|f| f.name()) != Some(name) {
            return None;
        }
        let field = self.pending.take()?;
        let file_name = field.file_name().map(basename);
        // Prepare the following file part for a later sub-request.
        let mp = self.mp.take();
        Some(match file_name {
            None => Err("not a file part".into()),
            Some(file_name) => Ok(FilePart {
                field,
                file_name,
                timeout: self.timeout,
                rest: mp,
                peeked: None,
            }),
        })
    }

    /// After a part was consumed, moves to the next file part (multi-request).
    pub async fn resume(&mut self, part: FilePart) {
        let Some(mut mp) = part.rest else { return };
        drop(part.field);
        loop {
            match tokio::time::timeout(self.timeout, mp.next_field()).await {
                Ok(Ok(Some(f))) if f.file_name().is_some() => {
                    self.pending = Some(f);
                    self.mp = Some(mp);
                    return;
                }
                Ok(Ok(Some(f))) => drop(f), // a stray text field after a file: ignored
                _ => return,
            }
        }
    }

    /// Reads and discards a file part nobody consumed (an error answered before the
    /// upload), up to 8 MiB or 2 s, so the client sees the answer instead of a reset.
    pub async fn drain(&mut self) {
        let Some(mut field) = self.pending.take() else {
            return;
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let mut seen = 0usize;
        while seen < 8 << 20 {
            match tokio::time::timeout_at(deadline, field.chunk()).await {
                Ok(Ok(Some(b))) => seen += b.len(),
                _ => return,
            }
        }
    }
}

/// One uploaded file part, read as a [`ChunkBody`] with the body read timeout.
pub struct FilePart {
    field: multer::Field<'static>,
    pub file_name: String,
    timeout: Duration,
    rest: Option<multer::Multipart<'static>>,
    peeked: Option<Option<Bytes>>,
}

impl FilePart {
    /// True when the part carries no bytes at all (reads ahead one chunk).
    pub async fn is_empty(&mut self) -> Result<bool, BodyError> {
        if self.peeked.is_none() {
            let first = self.read().await?;
            self.peeked = Some(first);
        }
        Ok(matches!(self.peeked, Some(None)))
    }

    async fn read(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            match tokio::time::timeout(self.timeout, self.field.chunk()).await {
                Err(_) => return Err(BodyError::Timeout),
                Ok(Err(e)) => {
                    tracing::info!(error = %e, "multipart file part ended early");
                    return Err(BodyError::Disconnected(e.to_string()));
                }
                Ok(Ok(Some(b))) if b.is_empty() => continue,
                Ok(Ok(other)) => return Ok(other),
            }
        }
    }
}

impl ChunkBody for FilePart {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        if let Some(p) = self.peeked.take() {
            return Ok(p);
        }
        self.read().await
    }
}

/// Only the final path component of a client-supplied file name (PHP does the same).
pub fn basename(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned()
}

/// Reads the request's parameters (body, query, path) and leaves file parts open.
pub async fn read_params(
    headers: &HeaderMap,
    query: Option<&str>,
    path_pairs: Vec<(String, String)>,
    body: Incoming,
    timeout: Duration,
) -> Result<(Params, Files), ReadError> {
    let ctype = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let lower = ctype.to_ascii_lowercase();
    let mut params = Params::new();
    let mut files = Files::none();
    files.timeout = timeout;
    if lower.starts_with("multipart/form-data") {
        let boundary =
            multer::parse_boundary(&ctype).map_err(|e| ReadError::Malformed(e.to_string()))?;
        // No multer size limit: it would apply to file parts too. Text fields are
        // capped while they are read (`read_text_field`).
        let stream = body.into_data_stream();
        let mut mp = multer::Multipart::new(stream, boundary);
        let mut json_field: Option<String> = None;
        let mut fields = Params::new();
        loop {
            let next = tokio::time::timeout(timeout, mp.next_field())
                .await
                .map_err(|_| ReadError::Malformed("multipart body timed out".into()))?
                .map_err(|e| ReadError::Malformed(e.to_string()))?;
            let Some(field) = next else { break };
            if field.file_name().is_some() {
                files.pending = Some(field);
                files.mp = Some(mp);
                break;
            }
            let name = field.name().unwrap_or("").to_owned();
            let text = read_text_field(field, timeout).await?;
            if name == "json" {
                json_field = Some(text);
            } else if !fields.insert_flat(&name, &text) {
                return Err(ReadError::Malformed(
                    "too many or too deeply nested parameters".into(),
                ));
            }
        }
        match json_field {
            Some(j) => params.merge_json(&parse_json_object(&j)?),
            None => params.merge(fields),
        }
    } else {
        let bytes = Limited::new(body, MAX_FORM_BODY)
            .collect()
            .await
            .map_err(|e| ReadError::Malformed(format!("request body: {e}")))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        let trimmed = text.trim();
        if lower.starts_with("application/json")
            && trimmed.starts_with('{')
            && trimmed.ends_with('}')
        {
            params.merge_json(&parse_json_object(trimmed)?);
        } else if !trimmed.is_empty() && !lower.starts_with("application/json") {
            insert_pairs(&mut params, parse_query(trimmed))?;
        }
    }
    if let Some(q) = query {
        let mut qp = Params::new();
        insert_pairs(&mut qp, parse_query(q))?;
        params.merge(qp);
    }
    let mut pp = Params::new();
    insert_pairs(&mut pp, path_pairs)?;
    params.merge(pp);
    Ok((params, files))
}

/// A text field, at most `MAX_FIELD` bytes.
async fn read_text_field(
    mut field: multer::Field<'static>,
    timeout: Duration,
) -> Result<String, ReadError> {
    let mut buf = Vec::new();
    loop {
        let chunk = tokio::time::timeout(timeout, field.chunk())
            .await
            .map_err(|_| ReadError::Malformed("multipart field timed out".into()))?
            .map_err(|e| ReadError::Malformed(e.to_string()))?;
        match chunk {
            None => return Ok(String::from_utf8_lossy(&buf).into_owned()),
            Some(b) if (buf.len() + b.len()) as u64 > MAX_FIELD => {
                return Err(ReadError::Malformed("multipart field too large".into()))
            }
            Some(b) => buf.extend_from_slice(&b),
        }
    }
}

fn insert_pairs(p: &mut Params, pairs: Vec<(String, String)>) -> Result<(), ReadError> {
    for (k, v) in pairs {
        if !p.insert_flat(&k, &v) {
            return Err(ReadError::Malformed(
                "too many or too deeply nested parameters".into(),
            ));
        }
    }
    Ok(())
}

fn parse_json_object(text: &str) -> Result<serde_json::Value, ReadError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ReadError::Malformed(format!("JSON body: {e}")))?;
    if !v.is_object() {
        return Err(ReadError::Malformed("JSON body is not an object".into()));
    }
    Ok(v)
}
