//! Storing media entries ([`crate::model::entry::MediaEntry`]) and small protocol
//! documents as versioned documents of the state store; every change is a
//! compare-and-set, so an entry gets its content exactly once.

use crate::model::entry::{EntryStatus, MediaEntry};
use crate::model::hook::HookEvent;
use crate::model::now_secs;

use super::{Error, Result, UploadService};

const KIND: &str = "entry";

impl UploadService {
    /// Stores a new entry (its id must be fresh).
    pub async fn create_entry(&self, entry: &MediaEntry) -> Result<()> {
        match self.insert_typed(KIND, &entry.id, entry).await? {
            true => {
                if entry.status == EntryStatus::Ready {
                    self.entry_ready(entry).await;
                }
                Ok(())
            }
            false => Err(Error::Internal("entry id collision".into())),
        }
    }

    async fn entry_ready(&self, entry: &MediaEntry) {
        if !self.hooks_want(HookEvent::EntryReady) {
            return;
        }
        let upload = match &entry.upload_id {
            Some(id) => self.peek(id).await.ok().flatten(),
            None => None,
        };
        self.emit(
            HookEvent::EntryReady,
            || {
                serde_json::json!({
                    "entry": super::hooks::entry_json(entry),
                    "upload": upload.as_ref().map(super::hooks::upload_json),
                })
            },
            upload.as_ref().map(|u| u.id.as_str()),
        )
        .await;
    }

    pub async fn get_entry(&self, id: &str) -> Result<Option<MediaEntry>> {
        self.read_typed(KIND, id).await
    }

    /// Applies `change` with compare-and-set (retried on a concurrent write). `change`
    /// may refuse with an error, which is returned unchanged.
    pub async fn update_entry(
        &self,
        id: &str,
        mut change: impl FnMut(&mut MediaEntry) -> Result<()>,
    ) -> Result<MediaEntry> {
        let mut was = EntryStatus::Ready;
        let e = self
            .update_typed(KIND, id, |entry: &mut MediaEntry| {
                was = entry.status;
                change(entry)?;
                entry.updated_at = now_secs();
                Ok(())
            })
            .await?;
        if was != EntryStatus::Ready && e.status == EntryStatus::Ready {
            self.entry_ready(&e).await;
        }
        Ok(e)
    }

    /// Removes an entry record (its upload stays until deleted on its own).
    pub async fn delete_entry(&self, id: &str) -> Result<bool> {
        Ok(self.state.doc_delete(KIND, id).await?)
    }

    /// Stores a small protocol document (`kind`, `id`), replacing any earlier one.
    pub async fn put_doc(&self, kind: &str, id: &str, body: &str) -> Result<()> {
        for _ in 0..16 {
            let expect = self.state.doc_get(kind, id).await?.map(|d| d.version);
            if self.state.doc_put(kind, id, body, expect).await?.is_some() {
                return Ok(());
            }
        }
        Err(Error::Locked)
    }

    pub async fn get_doc(&self, kind: &str, id: &str) -> Result<Option<String>> {
        Ok(self.state.doc_get(kind, id).await?.map(|d| d.body))
    }

    /// Every document body of `kind`.
    pub async fn list_docs(&self, kind: &str) -> Result<Vec<String>> {
        Ok(self
            .state
            .doc_list(kind)
            .await?
            .into_iter()
            .map(|(_, d)| d.body)
            .collect())
    }

    /// Every document of `kind` with its id.
    pub async fn list_docs_with_ids(&self, kind: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .state
            .doc_list(kind)
            .await?
            .into_iter()
            .map(|(k, d)| (k, d.body))
            .collect())
    }

    /// Removes a document; true when this call removed it.
    pub async fn delete_doc(&self, kind: &str, id: &str) -> Result<bool> {
        Ok(self.state.doc_delete(kind, id).await?)
    }

    /// Entries of a partner, optionally of one user, oldest first.
    pub async fn list_entries(&self, partner: i64, user: Option<&str>) -> Result<Vec<MediaEntry>> {
        let mut out = self
            .list_typed(KIND, |e: &MediaEntry| {
                e.partner == partner && user.is_none_or(|u| e.user == u)
            })
            .await?;
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }
}
