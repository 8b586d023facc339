//! `upload`: the whole file in one multipart request (`Filedata`), streamed to storage
//! and remembered under (session, client file id) for `addEntry`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use upgate_proto::kaltura::ks::Ks;

use super::error::Ps2Error;
use super::{el, Call, UPLOADED};
use crate::core::{ChunkRequest, CreateRequest, Owner, Placement};

/// What `addEntry` needs to find.
#[derive(Debug, Serialize, Deserialize)]
pub struct Remembered {
    pub upload_id: String,
    pub orig_filename: String,
    pub size: u64,
}

/// The key of an uploaded file: the partner, the user, the session and the client's
/// file id, each field length-delimited (a JSON array), so no two different tuples
/// share a key and no other user or session can claim the file.
pub fn key(ks: &Ks, filename: &str) -> String {
    let tuple = serde_json::json!([ks.partner_id, ks.user, ks.session_id, filename]);
    crate::auth::session::sha1_hex(&tuple.to_string())
}

pub async fn run(c: &mut Call<'_>) -> Result<String, Ps2Error> {
    let ks = c.writer_session("upload").await?;
    let filename = c.str("filename").unwrap_or("").to_owned();
    let Some(mut part) = c.files.take("Filedata") else {
        return Err(Ps2Error::MandatoryMissing("Filedata"));
    };
    let orig = c
        .str("Filename")
        .map_or_else(|| part.file_name.clone(), str::to_owned);
    let svc = c.api.service.clone();
    let mut attrs = BTreeMap::new();
    attrs.insert("ps2".to_owned(), "1".to_owned());
    let req = CreateRequest {
        length: None,
        metadata: String::new(),
        concat: Default::default(),
        owner: Some(Owner {
            partner: ks.partner_id,
            user: ks.user.clone(),
        }),
        attrs,
        keep_digest: false,
    };
    let rec = svc.create(req).await?;
    // The whole file is one chunk that restarts and ends the upload.
    let chunk = ChunkRequest {
        placement: Placement::Restart,
        last: true,
        final_wait: std::time::Duration::ZERO,
        resume_window: None,
        attrs: Vec::new(),
        owner: None,
    };
    let written = svc.upload_chunk(&rec.id, chunk, &mut part).await;
    c.files.resume(part).await;
    let done = match written {
        Ok(r) => r,
        Err(e) => {
            let _ = svc.terminate(&rec.id).await;
            return Err(e.into());
        }
    };
    let remembered = Remembered {
        upload_id: rec.id.clone(),
        orig_filename: orig.clone(),
        size: done.offset,
    };
    let body = serde_json::to_string(&remembered).map_err(|e| Ps2Error::Internal(e.to_string()))?;
    svc.put_doc(UPLOADED, &key(&ks, &filename), &body).await?;
    Ok(format!(
        "<result_ok>{}{}{}{}{}</result_ok>",
        el("token", &ks.rand),
        el("filename", &filename),
        el("origFilename", &orig),
        el("thumb_url", ""),
        el("thumb_created", "0")
    ))
}
