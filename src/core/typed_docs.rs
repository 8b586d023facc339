//! Typed records kept as JSON documents of the state store (entries, captions,
//! categories): read, insert under a fresh id, list with a filter, and change by
//! compare-and-set (retried on a concurrent write). One place for the encoding and the
//! retry loop, so every record kind behaves the same.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Error, Result, UploadService};

fn decode<T: DeserializeOwned>(kind: &str, body: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| Error::Internal(format!("{kind} document: {e}")))
}

fn encode<T: Serialize>(kind: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("{kind} document: {e}")))
}

impl UploadService {
    /// The record `kind`/`id`, if there is one.
    pub(super) async fn read_typed<T: DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>> {
        self.state
            .doc_get(kind, id)
            .await?
            .map(|d| decode(kind, &d.body))
            .transpose()
    }

    /// Stores `value` as a new record; false when `id` is already taken.
    pub(super) async fn insert_typed<T: Serialize>(
        &self,
        kind: &str,
        id: &str,
        value: &T,
    ) -> Result<bool> {
        Ok(self
            .state
            .doc_put(kind, id, &encode(kind, value)?, None)
            .await?
            .is_some())
    }

    /// Every record of `kind` that `keep` accepts, in no particular order.
    pub(super) async fn list_typed<T: DeserializeOwned>(
        &self,
        kind: &str,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for (_, doc) in self.state.doc_list(kind).await? {
            let value = decode(kind, &doc.body)?;
            if keep(&value) {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// Applies `change` to the record by compare-and-set, retried on a concurrent write
    /// (16 times, then `Locked`). `change` may refuse with an error, returned unchanged;
    /// a missing record is `NotFound`.
    pub(super) async fn update_typed<T: Serialize + DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
        mut change: impl FnMut(&mut T) -> Result<()>,
    ) -> Result<T> {
        for _ in 0..16 {
            let doc = self.state.doc_get(kind, id).await?.ok_or(Error::NotFound)?;
            let mut value = decode(kind, &doc.body)?;
            change(&mut value)?;
            if self
                .state
                .doc_put(kind, id, &encode(kind, &value)?, Some(doc.version))
                .await?
                .is_some()
            {
                return Ok(value);
            }
        }
        Err(Error::Locked)
    }
}
