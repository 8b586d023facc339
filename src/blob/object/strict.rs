//! A `MultipartStore` wrapper that enforces S3's rules on any store (InMemory accepts
//! anything): every part but the last at least 5 MiB and all of the same size (R2), at
//! most 10,000 parts, part indexes below 10,000. Used by tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, PutPayload, Result};

/// S3's minimum part size (all parts but the last).
pub const MIN_PART: usize = 5 << 20;

/// The wrapper.
pub struct StrictMultipart {
    inner: Arc<dyn MultipartStore>,
    /// Sizes of uploaded parts by (upload id, part index).
    sizes: Mutex<HashMap<(String, usize), usize>>,
}

impl StrictMultipart {
    pub fn new(inner: Arc<dyn MultipartStore>) -> Self {
        Self {
            inner,
            sizes: Mutex::default(),
        }
    }
}

fn refused(why: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "strict-s3-rules",
        source: why.into(),
    }
}

impl std::fmt::Debug for StrictMultipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StrictMultipart")
    }
}

#[async_trait]
impl MultipartStore for StrictMultipart {
    async fn create_multipart(&self, path: &Path) -> Result<MultipartId> {
        self.inner.create_multipart(path).await
    }

    async fn put_part(
        &self,
        path: &Path,
        id: &MultipartId,
        part_idx: usize,
        data: PutPayload,
    ) -> Result<PartId> {
        if part_idx >= 10_000 {
            return Err(refused(format!(
                "part index {part_idx} beyond 10,000 parts"
            )));
        }
        let len = data.content_length();
        let got = self.inner.put_part(path, id, part_idx, data).await?;
        self.sizes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((id.clone(), part_idx), len);
        Ok(got)
    }

    async fn complete_multipart(
        &self,
        path: &Path,
        id: &MultipartId,
        parts: Vec<PartId>,
    ) -> Result<object_store::PutResult> {
        let sizes: Vec<usize> = {
            let map = self.sizes.lock().unwrap_or_else(|p| p.into_inner());
            (0..parts.len())
                .map(|i| map.get(&(id.clone(), i)).copied().unwrap_or(0))
                .collect()
        };
        if let Some((_, body)) = sizes.split_last() {
            if let Some(small) = body.iter().position(|&s| s < MIN_PART) {
                return Err(refused(format!(
                    "EntityTooSmall: part {small} has {} bytes",
                    body[small]
                )));
            }
            if body.windows(2).any(|w| w[0] != w[1]) {
                return Err(refused(format!("parts differ in size: {body:?}")));
            }
        }
        self.inner.complete_multipart(path, id, parts).await
    }

    async fn abort_multipart(&self, path: &Path, id: &MultipartId) -> Result<()> {
        self.inner.abort_multipart(path, id).await
    }
}
