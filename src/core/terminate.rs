//! Removing uploads: on request (tus termination) and when they expire.

use super::{Error, Result, UploadService};
use crate::model::hook::HookEvent;
use crate::model::now_secs;

impl UploadService {
    /// Deletes an upload and its data. A local writer of it is stopped first.
    pub async fn terminate(&self, id: &str) -> Result<()> {
        if !crate::model::is_valid_id(id) {
            return Err(Error::NotFound);
        }
        if self.writers.stop(id) {
            self.wait_writer_gone(id).await;
        }
        let removed = self.state.delete(id).await?.ok_or(Error::NotFound)?;
        self.blobs.delete(id, &removed.assembly).await?;
        self.emit(
            HookEvent::Terminated,
            || serde_json::json!({ "upload": super::hooks::upload_json(&removed) }),
            None,
        )
        .await;
        Ok(())
    }

    /// Removes incomplete uploads past their expiry; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize> {
        let ids = self.state.expired(now_secs(), 1000).await?;
        let mut n = 0;
        for id in ids {
            if self.writers.is_active(&id) {
                continue;
            }
            if let Some(rec) = self.state.delete(&id).await? {
                self.blobs.delete(&id, &rec.assembly).await?;
                metrics::counter!("upgate_uploads_expired_total").increment(1);
                n += 1;
            }
        }
        Ok(n)
    }
}
