//! `uploadToken.upload` (spec §3.4–3.6): the chunk streams from the multipart part
//! straight into [`crate::core::UploadService::upload_chunk`], which owns the token's
//! life cycle and where the bytes go. This file only translates the parameters:
//! - `resume=false`: the file restarts with these bytes ([`Placement::Restart`]);
//! - `resumeAt=-1`: append at the contiguous end ([`Placement::End`]);
//! - `resumeAt>=0`: positional ([`Placement::At`]); ahead of the end it is staged;
//! - `finalChunk` (default true): the last chunk; one sent ahead of earlier ones waits
//!   up to `--final-chunk-wait` (default 45 s) for them, else
//!   `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE` and the client may retry.
//!
//! `uploadedFileSize` is always the contiguous durable length.

use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, missing, KResult};
use crate::api::kaltura::objects::{attr, token};
use crate::core::{ChunkRequest, Placement};
use crate::model::OwnerCheck;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("uploadTokenId")?.to_owned();
    let resume = c.bool_or("resume", false);
    let last = c.bool_or("finalChunk", true);
    let resume_at = c.float_or("resumeAt", -1.0);
    let placement = match (resume, resume_at) {
        (false, _) => Placement::Restart,
        (true, at) if at < 0.0 => Placement::End,
        (true, at) => Placement::At(at as u64),
    };
    let mut part = c
        .take_file("fileData")
        .await?
        .ok_or_else(|| missing("fileData"))?;
    let svc = c.api.service.clone();
    // An empty positional chunk that is not the last is a status query.
    let empty = part.is_empty().await.map_err(|e| {
        tracing::info!(error = %e, "chunk unreadable");
        from_core(crate::core::Error::BadRequest("chunk unreadable".into()))
    })?;
    if empty && !last && matches!(placement, Placement::At(n) if n > 0) {
        c.done_with(part).await;
        let rec = c.visible_token(&ks, &id).await?;
        return Ok(token(&svc.status(&rec.id).await.map_err(from_core)?));
    }
    let mut attrs = Vec::new();
    if !part.file_name.is_empty() {
        attrs.push((attr::FILE_NAME.to_owned(), part.file_name.clone()));
    }
    let req = ChunkRequest {
        placement,
        last,
        final_wait: match placement {
            Placement::At(n) if n > 0 => c.api.final_chunk_wait,
            _ => std::time::Duration::ZERO,
        },
        resume_window: Some(std::time::Duration::from_secs(
            c.api.max_resume_secs.max(0) as u64
        )),
        attrs,
        // Only the token's user (or an admin of its partner), and only tokens.
        owner: Some(OwnerCheck {
            partner: ks.partner_id,
            user: (!ks.is_admin()).then(|| ks.user.clone()),
            kind: Some(attr::TOKEN.to_owned()),
        }),
    };
    let out = svc.upload_chunk(&id, req, &mut part).await;
    c.done_with(part).await;
    out.map(|rec| token(&rec)).map_err(from_core)
}
