//! `uploadToken.upload` (spec §3.4–3.6): the chunk streams from the multipart part
//! straight into the core, which makes `resume`, `resumeAt` and `finalChunk` exact:
//! - `resume=false`: the file restarts with these bytes;
//! - `resumeAt=-1`: append at the contiguous end;
//! - `resumeAt>=0`: positional; ahead of the end it is staged and merged later;
//! - `finalChunk` with `resumeAt>0`: held until the contiguous size reaches
//!   `resumeAt + len` (up to the configured wait, default 45 s), else
//!   `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE` and the client may retry.
//!
//! `uploadedFileSize` is always the contiguous durable length.

use bytes::Bytes;
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, err1, from_core, missing, KResult};
use crate::api::kaltura::objects::{attr, token, token_status, updated_at};
use crate::core::body::{BodyError, ChunkBody};
use crate::core::{AppendRequest, Error, UploadRecord};

/// Counts the bytes a body yields.
struct Counted<'a, B> {
    inner: &'a mut B,
    n: u64,
}

impl<B: ChunkBody> ChunkBody for Counted<'_, B> {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        let c = self.inner.next_chunk().await?;
        if let Some(b) = &c {
            self.n += b.len() as u64;
        }
        Ok(c)
    }
}

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("uploadTokenId")?.to_owned();
    let resume = c.bool_or("resume", false);
    let final_chunk = c.bool_or("finalChunk", true);
    let resume_at = c.float_or("resumeAt", -1.0);
    let rec = c.visible_token(&ks, &id).await?;
    let status = token_status(&rec);
    if status == 1 && updated_at(&rec) < c.now - c.api.max_resume_secs {
        return Err(err1(
            "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED",
            &c.api.max_resume_secs.to_string(),
        ));
    }
    if status > 1 {
        return Err(err("UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"));
    }
    let mut part = c
        .take_file("fileData")
        .await?
        .ok_or_else(|| missing("fileData"))?;
    let svc = c.api.service.clone();
    if !rec.attrs.contains_key(attr::FILE_NAME) && !part.file_name.is_empty() {
        let set = vec![(attr::FILE_NAME.to_owned(), part.file_name.clone())];
        svc.set_attrs(&id, None, set).await.map_err(from_core)?;
    }
    let empty = part.is_empty().await.map_err(|e| {
        tracing::info!(error = %e, "chunk unreadable");
        err("UPLOAD_ERROR")
    })?;
    if empty && !final_chunk && resume_at > 0.0 {
        c.done_with(part).await;
        return Ok(token(&svc.status(&id).await.map_err(from_core)?));
    }
    if resume && status == 0 {
        c.done_with(part).await;
        return Err(err("UPLOAD_TOKEN_CANNOT_RESUME"));
    }
    let mut body = Counted {
        inner: &mut part,
        n: 0,
    };
    let written: Result<UploadRecord, Error> = if !resume {
        svc.rewrite(&id, &mut body).await
    } else if resume_at < 0.0 {
        append_at_end(&svc, &id, &mut body).await
    } else {
        svc.put_at(&id, resume_at as u64, None, &mut body).await
    };
    let received = body.n;
    c.done_with(part).await;
    if let Err(Error::Interrupted { offset }) = &written {
        if *offset > 0 {
            // Bytes of the cut chunk were kept: the token is resumable from them
            // (`uploadToken.get` reports them), as Kaltura's partial uploads are.
            let kept = vec![
                (attr::UPLOADED.to_owned(), "1".to_owned()),
                (attr::UPDATED_AT.to_owned(), c.now.to_string()),
            ];
            let _ = svc.set_attrs(&id, None, kept).await;
        }
    }
    let rec = written.map_err(from_core)?;
    let touched = vec![
        (attr::UPLOADED.to_owned(), "1".to_owned()),
        (attr::UPDATED_AT.to_owned(), c.now.to_string()),
    ];
    svc.set_attrs(&id, None, touched).await.map_err(from_core)?;
    if !final_chunk {
        return Ok(token(
            &svc.peek(&id).await.map_err(from_core)?.unwrap_or(rec),
        ));
    }
    // The final chunk: complete at the size it implies, exactly once.
    let expected = if resume && resume_at > 0.0 {
        resume_at as u64 + received
    } else {
        rec.offset
    };
    let wait = if resume && resume_at > 0.0 {
        c.api.final_chunk_wait
    } else {
        std::time::Duration::ZERO
    };
    let done = svc
        .finalize_at(&id, expected, wait)
        .await
        .map_err(from_core)?;
    let first = svc
        .set_attrs(
            &id,
            Some((attr::FINALIZED.to_owned(), None)),
            vec![(attr::FINALIZED.to_owned(), "1".to_owned())],
        )
        .await
        .map_err(from_core)?;
    match first {
        Some(r) => Ok(token(&r)),
        None if done.offset == expected => Ok(token(&done)),
        None => Err(err("UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD")),
    }
}

/// `resumeAt=-1`: append at the current contiguous end (re-read once if it moved).
async fn append_at_end<B: ChunkBody>(
    svc: &crate::core::UploadService,
    id: &str,
    body: &mut B,
) -> Result<UploadRecord, Error> {
    let offset = svc.peek(id).await?.ok_or(Error::NotFound)?.offset;
    let req = AppendRequest {
        offset,
        declared_len: None,
        checksum: None,
        set_length: None,
    };
    svc.append(id, req, body).await
}
