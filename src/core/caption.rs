//! Storing captions as documents of the state store (kind `caption`, keyed by id); an
//! entry's captions are found by listing (at most [`MAX_PER_ENTRY`] each).

use crate::model::caption::{Caption, MAX_PER_ENTRY};
use crate::model::now_secs;

use super::{Error, Result, UploadService};

const KIND: &str = "caption";

/// A caption id: `1_` and 8 characters of `[0-9a-z]`.
fn new_caption_id() -> String {
    let e = crate::model::entry::new_entry_id();
    format!("1_{}", &e[2..])
}

impl UploadService {
    /// Stores a new caption for its entry (id, track id and times set here);
    /// `TooLarge` past [`MAX_PER_ENTRY`] captions on the entry.
    pub async fn create_caption(&self, mut c: Caption) -> Result<Caption> {
        let existing = self.list_captions(&c.entry_id).await?;
        if existing.len() >= MAX_PER_ENTRY {
            return Err(Error::TooLarge {
                limit: MAX_PER_ENTRY as u64,
            });
        }
        let now = now_secs();
        (c.created_at, c.updated_at) = (now, now);
        c.track_id = existing.iter().map(|x| x.track_id).max().unwrap_or(0) + 1;
        for _ in 0..8 {
            c.id = new_caption_id();
            if self.insert_typed(KIND, &c.id, &c).await? {
                return Ok(c);
            }
        }
        Err(Error::Internal("no free caption id".into()))
    }

    pub async fn get_caption(&self, id: &str) -> Result<Option<Caption>> {
        self.read_typed(KIND, id).await
    }

    /// The captions of one entry, oldest first.
    pub async fn list_captions(&self, entry_id: &str) -> Result<Vec<Caption>> {
        let mut out = self
            .list_typed(KIND, |c: &Caption| c.entry_id == entry_id)
            .await?;
        out.sort_by_key(|c| c.track_id);
        Ok(out)
    }

    /// Applies `change` to a caption by compare-and-set.
    pub async fn update_caption(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Caption) -> Result<()>,
    ) -> Result<Caption> {
        self.update_typed(KIND, id, |c: &mut Caption| {
            change(c)?;
            c.updated_at = now_secs();
            Ok(())
        })
        .await
    }

    /// Removes a caption; true when it existed.
    pub async fn delete_caption(&self, id: &str) -> Result<bool> {
        Ok(self.state.doc_delete(KIND, id).await?)
    }
}
