//! Reading a completed upload back (downloads, verification).

use super::record::{Status, UploadRecord};
use super::{Error, Result, UploadService};
use crate::blob::ByteStream;

/// A byte range of a completed upload, ready to stream.
pub struct Download {
    pub record: UploadRecord,
    pub start: u64,
    pub end: u64,
    pub stream: ByteStream,
}

impl UploadService {
    /// Streams `[start, end)` of a completed upload (`end` is clamped to its length).
    pub async fn read(&self, id: &str, start: u64, end: u64) -> Result<Download> {
        let record = self.status(id).await?;
        if record.status != Status::Complete {
            return Err(Error::NotComplete);
        }
        let end = end.min(record.offset);
        let start = start.min(end);
        let stream = self.blobs.read(id, start, end, true).await?;
        Ok(Download {
            record,
            start,
            end,
            stream,
        })
    }
}
