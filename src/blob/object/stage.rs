//! Out-of-order ranges staged as their own objects (written with object_store's
//! `WriteMultipart`, so large ranges stream in 8 MiB parts).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::WriteMultipart;

use super::{backend, Inner, DEFAULT_PART};
use crate::blob::{BlobError, StageWriter};

pub(crate) struct ObjectStage {
    key: String,
    upload: WriteMultipart,
}

impl ObjectStage {
    pub async fn start(inner: Arc<Inner>, id: &str, start: u64) -> Result<Self, BlobError> {
        let key = format!("staged-{start}-{}", &crate::model::new_id()[..12]);
        let upload = inner
            .objects
            .put_multipart(&inner.tmp_path(id, &key))
            .await
            .map_err(backend)?;
        Ok(Self {
            key,
            upload: WriteMultipart::new_with_chunk_size(upload, DEFAULT_PART as usize),
        })
    }
}

#[async_trait]
impl StageWriter for ObjectStage {
    fn key(&self) -> &str {
        &self.key
    }

    async fn write(&mut self, data: Bytes) -> Result<(), BlobError> {
        self.upload.wait_for_capacity(2).await.map_err(backend)?;
        self.upload.put(data);
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<String, BlobError> {
        self.upload.finish().await.map_err(backend)?;
        Ok(self.key)
    }
}
