//! Creating uploads, including the tus concatenation "final" upload, which is assembled
//! right away from its complete partial uploads.

use serde_json::json;

use super::running::Running;
use super::{hooks, Error, Result, UploadService};
use crate::model::hook::HookEvent;
use crate::model::{new_id, now_secs, ConcatRole, Owner, Phase, Status, UploadRecord};
use crate::state::{Acquire, Commit, CommitOutcome, StateError};

/// What a client asks for when creating an upload.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Total length, or `None` to declare it later.
    pub length: Option<u64>,
    /// Validated `Upload-Metadata` header text.
    pub metadata: String,
    /// `Partial`, or `Final` with the ids of the partial uploads in order.
    pub concat: ConcatRole,
    pub owner: Option<Owner>,
    /// Adapter attributes stored with the record.
    pub attrs: std::collections::BTreeMap<String, String>,
    /// Keep the upload's SHA-256 as its bytes arrive in order (the client will ask for
    /// it): see [`super::running`].
    pub keep_digest: bool,
}

impl UploadService {
    /// Creates an upload and returns its record.
    pub async fn create(&self, req: CreateRequest) -> Result<UploadRecord> {
        self.create_with_id_prefix("", req).await
    }

    /// Creates an upload whose id starts with `prefix` (Kaltura tokens: `0_`).
    pub async fn create_with_id_prefix(
        &self,
        prefix: &str,
        req: CreateRequest,
    ) -> Result<UploadRecord> {
        if let Some(len) = req.length {
            if len > self.cfg.max_upload_size {
                return Err(Error::TooLarge {
                    limit: self.cfg.max_upload_size,
                });
            }
        }
        let id = format!("{prefix}{}", new_id());
        let mut rec = UploadRecord {
            id: id.clone(),
            length: req.length,
            offset: 0,
            status: Status::Open,
            metadata: req.metadata,
            concat: req.concat.clone(),
            created_at: now_secs(),
            expires_at: self.expiry_from_now(),
            ranges: Vec::new(),
            assembly: String::new(),
            owner: req.owner.clone(),
            attrs: req.attrs.clone(),
        };
        if req.keep_digest {
            rec.attrs.extend([Running::start()]);
        }
        let parts = match &req.concat {
            ConcatRole::Final { parts } => {
                let parts = self.check_parts(parts, req.owner.as_ref()).await?;
                rec.length = Some(parts.iter().map(|p| p.offset).sum());
                if rec.length > Some(self.cfg.max_upload_size) {
                    return Err(Error::TooLarge {
                        limit: self.cfg.max_upload_size,
                    });
                }
                Some(parts)
            }
            _ => None,
        };
        // The operator's hook may refuse (before anything is stored).
        self.gate_create(&rec).await?;
        rec.assembly = self.blobs.create(&id, rec.length).await?;
        match self.state.insert(&rec).await {
            Ok(()) => {}
            Err(StateError::AlreadyExists) => return Err(Error::Internal("id collision".into())),
            Err(e) => {
                let _ = self.blobs.delete(&id, &rec.assembly).await;
                return Err(e.into());
            }
        }
        self.emit(
            HookEvent::Created,
            || json!({ "upload": hooks::upload_json(&rec) }),
            None,
        )
        .await;
        match parts {
            Some(parts) => {
                // Each partial is consumed by one final upload (a race for it has one
                // winner); given back if this one cannot be assembled.
                let mut taken: Vec<&str> = Vec::with_capacity(parts.len());
                for p in &parts {
                    if !self.close(&p.id, &id).await? {
                        for t in &taken {
                            let _ = self.reopen(t, &id).await;
                        }
                        let _ = self.terminate(&id).await;
                        return Err(Error::BadRequest(format!(
                            "partial upload {} was already concatenated",
                            p.id
                        )));
                    }
                    taken.push(&p.id);
                }
                let out = self.concatenate(rec, &parts).await;
                if out.is_err() {
                    for t in &taken {
                        let _ = self.reopen(t, &id).await;
                    }
                }
                out
            }
            None if rec.length == Some(0) => self.finish_unleased(&id).await,
            None => Ok(rec),
        }
    }

    /// Partial uploads of a final upload must exist, be the caller's (checked first: an
    /// upload of someone else is "not found", like a missing one), be partial, complete,
    /// not consumed by another final upload, and each be listed once (a final listing
    /// one partial many times would multiply writes).
    async fn check_parts(
        &self,
        ids: &[String],
        owner: Option<&Owner>,
    ) -> Result<Vec<UploadRecord>> {
        let mut out: Vec<UploadRecord> = Vec::with_capacity(ids.len());
        for id in ids {
            if out.iter().any(|p| p.id == *id) {
                return Err(Error::BadRequest(format!(
                    "partial upload {id} is listed more than once"
                )));
            }
            let not_found = || Error::BadRequest(format!("partial upload {id} not found"));
            let part = self.load(id).await.map_err(|e| match e {
                Error::NotFound | Error::Expired => not_found(),
                other => other,
            })?;
            if owner.is_some() && part.owner.as_ref() != owner {
                return Err(not_found());
            }
            if part.phase() == Phase::Closed {
                return Err(Error::BadRequest(format!(
                    "partial upload {id} was already concatenated"
                )));
            }
            if part.concat != ConcatRole::Partial {
                return Err(Error::BadRequest(format!(
                    "upload {id} is not a partial upload"
                )));
            }
            if part.status != Status::Complete && !part.is_filled() {
                return Err(Error::BadRequest(format!(
                    "partial upload {id} is not complete"
                )));
            }
            out.push(part);
        }
        Ok(out)
    }

    /// Writes the parts one after the other into the final upload and completes it.
    async fn concatenate(&self, rec: UploadRecord, parts: &[UploadRecord]) -> Result<UploadRecord> {
        for p in parts {
            // A filled partial upload not finalized yet (crash in between) is finalized now.
            if p.status != Status::Complete {
                self.finish_unleased(&p.id).await?;
            }
        }
        let req = self.lease_request(Some(0));
        let (lease, rec) = match self.state.acquire(&rec.id, &req).await? {
            Acquire::Granted(l, r) => (l, *r),
            _ => return Err(Error::Internal("fresh final upload not leasable".into())),
        };
        let result = async {
            let mut w = self.blobs.open(&rec.id, 0, &rec.assembly).await?;
            for p in parts {
                w.absorb_upload(&p.id, p.offset).await?;
            }
            let point = w.commit().await?;
            let c = Commit {
                expected_offset: 0,
                new_offset: point.offset,
                assembly: point.assembly,
                ..Default::default()
            };
            match self.state.commit(&lease, &c, self.cfg.lease_ttl).await? {
                CommitOutcome::Done(r) => self.finish(&lease, *r, false).await,
                other => Err(Error::Internal(format!("concatenation commit: {other:?}"))),
            }
        }
        .await;
        let _ = self.state.release(&lease).await;
        result
    }
}
