//! Reading a Kaltura-style request (API v3 and PS2) into one parameter tree (spec
//! §1.3): body (JSON object, urlencoded form, or multipart fields — a `json` field
//! replaces the others), then query string, then path pairs, later sources winning.
//! File parts are not read here: the first one is left open in a [`Files`] cursor so its
//! bytes stream straight to storage when the action that consumes it runs (zero-copy:
//! the parser hands out slices of the received frames). Fields after a file part are
//! not seen (every official client sends them before the file).

use bytes::Bytes;
use http::HeaderMap;
use upgate_proto::form::parse_query;
use upgate_proto::kaltura::params::Params;

use std::collections::VecDeque;

use upgate_proto::multipart::{self, Event, Parser};

use crate::model::body::{BodyError, ChunkBody};
use crate::server::HyperBody;

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

/// A multipart body being parsed: events from [`upgate_proto::multipart::Parser`] fed
/// by the request body (per-frame read timeout), one chunk at a time.
struct Multipart {
    parser: Parser,
    body: HyperBody,
    events: VecDeque<Event>,
    eof: bool,
}

impl Multipart {
    async fn next_event(&mut self) -> Result<Option<Event>, BodyError> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Ok(Some(e));
            }
            if self.eof {
                return Ok(None);
            }
            match self.body.next_chunk().await? {
                Some(chunk) => {
                    let mut out = Vec::new();
                    self.parser
                        .feed(chunk, &mut out)
                        .map_err(|e| BodyError::Disconnected(e.to_string()))?;
                    self.events.extend(out);
                }
                None => {
                    self.eof = true;
                    self.parser
                        .finish()
                        .map_err(|e| BodyError::Disconnected(e.to_string()))?;
                }
            }
        }
    }

    /// Skips to the start of the next file part; returns its (name, filename).
    async fn next_file(&mut self) -> Option<(String, String)> {
        loop {
            match self.next_event().await {
                Ok(Some(Event::Part {
                    name,
                    filename: Some(f),
                })) => return Some((name, f)),
                Ok(Some(_)) => continue, // data of a skipped part, stray fields
                _ => return None,
            }
        }
    }
}

/// File parts of a multipart request, consumed in order.
pub struct Files {
    mp: Option<Multipart>,
    /// The file part that has started and waits for its consumer: (field, file name).
    pending: Option<(String, String)>,
}

impl Files {
    pub fn none() -> Self {
        Self {
            mp: None,
            pending: None,
        }
    }

    /// Paces the rest of the request body (the file parts).
    pub fn set_throttle(&mut self, throttle: Option<Box<dyn crate::model::body::Throttle>>) {
        if let Some(mp) = self.mp.as_mut() {
            mp.body.set_throttle(throttle);
        }
    }

    /// Name of the next file part, if any is waiting.
    pub fn next_name(&self) -> Option<&str> {
        self.pending.as_ref().map(|(n, _)| n.as_str())
    }

    /// Takes the file part named `name` if it is the next one.
    pub fn take(&mut self, name: &str) -> Option<FilePart> {
        if self.next_name() != Some(name) {
            return None;
        }
        let (_, file_name) = self.pending.take()?;
        let mp = self.mp.take()?;
        Some(FilePart {
            mp: Some(mp),
            file_name: basename(&file_name),
            done: false,
            peeked: None,
        })
    }

    /// After a part was consumed, moves to the next file part (multi-request).
    pub async fn resume(&mut self, mut part: FilePart) {
        let Some(mut mp) = part.mp.take() else { return };
        if !part.done {
            // Skip what the action did not read of its part.
            loop {
                match mp.next_event().await {
                    Ok(Some(Event::PartEnd)) => break,
                    Ok(Some(_)) => continue,
                    _ => return,
                }
            }
        }
        self.pending = mp.next_file().await;
        self.mp = Some(mp);
    }

    /// Reads and discards a file part nobody consumed (an error answered before the
    /// upload), up to 8 MiB or 2 s, so the client sees the answer instead of a reset.
    pub async fn discard_rest(&mut self) {
        let Some(mut mp) = self.mp.take() else { return };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut seen = 0usize;
        while seen < 8 << 20 {
            match tokio::time::timeout_at(deadline, mp.next_event()).await {
                Ok(Ok(Some(Event::Data(b)))) => seen += b.len(),
                Ok(Ok(Some(_))) => {}
                _ => return,
            }
        }
    }
}

/// One uploaded file part, read as a [`ChunkBody`]: its data events until the part ends.
pub struct FilePart {
    mp: Option<Multipart>,
    pub file_name: String,
    done: bool,
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
        if self.done {
            return Ok(None);
        }
        let Some(mp) = self.mp.as_mut() else {
            return Ok(None);
        };
        loop {
            match mp.next_event().await {
                Ok(Some(Event::Data(b))) if b.is_empty() => continue,
                Ok(Some(Event::Data(b))) => return Ok(Some(b)),
                Ok(Some(Event::PartEnd)) => {
                    self.done = true;
                    return Ok(None);
                }
                Ok(Some(_)) | Ok(None) => {
                    self.done = true;
                    return Err(BodyError::Disconnected(
                        "file part ended without its delimiter".into(),
                    ));
                }
                Err(e) => {
                    tracing::info!(error = %e, "multipart file part ended early");
                    return Err(e);
                }
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
    body: HyperBody,
) -> Result<(Params, Files), ReadError> {
    let ctype = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let lower = ctype.to_ascii_lowercase();
    let mut params = Params::new();
    let mut files = Files::none();
    if lower.starts_with("multipart/form-data") {
        let b = multipart::boundary(&ctype)
            .ok_or_else(|| ReadError::Malformed("no multipart boundary".into()))?;
        let mut mp = Multipart {
            parser: Parser::new(&b),
            body,
            events: VecDeque::new(),
            eof: false,
        };
        match read_fields(&mut mp).await {
            Ok((fields, pending)) => {
                params.merge(fields);
                if pending.is_some() {
                    files.pending = pending;
                    files.mp = Some(mp);
                }
            }
            Err(e) => {
                // Let the client finish sending so it reads the answer, not a reset.
                mp.body.discard_rest().await;
                return Err(e);
            }
        }
    } else {
        let text = read_small_body(body).await?;
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

/// A JSON or form body, at most `MAX_FORM_BODY` bytes (the rest is discarded on refusal).
async fn read_small_body(mut body: HyperBody) -> Result<String, ReadError> {
    let mut buf = Vec::new();
    loop {
        match body.next_chunk().await {
            Ok(None) => return Ok(String::from_utf8_lossy(&buf).into_owned()),
            Ok(Some(b)) if buf.len() + b.len() > MAX_FORM_BODY => {
                body.discard_rest().await;
                return Err(ReadError::Malformed("request body too large".into()));
            }
            Ok(Some(b)) => buf.extend_from_slice(&b),
            Err(e) => return Err(ReadError::Malformed(format!("request body: {e}"))),
        }
    }
}

/// The text fields before the first file part (a `json` field replaces the others), and
/// that file part's (name, filename) if there is one.
async fn read_fields(mp: &mut Multipart) -> Result<(Params, Option<(String, String)>), ReadError> {
    let mut json_field: Option<String> = None;
    let mut fields = Params::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    let mut pending = None;
    loop {
        let ev = mp
            .next_event()
            .await
            .map_err(|e| ReadError::Malformed(e.to_string()))?;
        match ev {
            None | Some(Event::End) => break,
            Some(Event::Part {
                filename: Some(f),
                name,
            }) => {
                pending = Some((name, f));
                break;
            }
            Some(Event::Part {
                name,
                filename: None,
            }) => current = Some((name, Vec::new())),
            Some(Event::Data(d)) => {
                if let Some((_, buf)) = current.as_mut() {
                    if (buf.len() + d.len()) as u64 > MAX_FIELD {
                        return Err(ReadError::Malformed("multipart field too large".into()));
                    }
                    buf.extend_from_slice(&d);
                }
            }
            Some(Event::PartEnd) => {
                let Some((name, buf)) = current.take() else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf).into_owned();
                if name == "json" {
                    json_field = Some(text);
                } else if !fields.insert_flat(&name, &text) {
                    return Err(ReadError::Malformed(
                        "too many or too deeply nested parameters".into(),
                    ));
                }
            }
        }
    }
    let params = match json_field {
        Some(j) => {
            let mut p = Params::new();
            p.merge_json(&parse_json_object(&j)?);
            p
        }
        None => fields,
    };
    Ok((params, pending))
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
