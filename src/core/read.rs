//! Reading a completed upload back (downloads, verification).

use super::{Error, Result, UploadService};
use crate::blob::ByteStream;
use crate::model::{Status, UploadRecord};

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

/// Attribute caching the SHA-256 (hex) of a completed upload.
const DIGEST_ATTR: &str = "digest.sha256";

impl UploadService {
    /// SHA-256 of a completed upload (computed once by reading it back, then cached), so
    /// clients can verify end to end (`Want-Digest: sha-256`).
    pub async fn sha256(&self, id: &str) -> Result<[u8; 32]> {
        use sha2::Digest;
        let rec = self.status(id).await?;
        if rec.status != Status::Complete {
            return Err(Error::NotComplete);
        }
        if let Some(hex) = rec.attrs.get(DIGEST_ATTR) {
            if let Some(d) = from_hex(hex) {
                return Ok(d);
            }
        }
        let mut rx = self.blobs.read(id, 0, rec.offset, true).await?;
        let mut h = sha2::Sha256::new();
        while let Some(chunk) = rx.recv().await {
            h.update(&chunk?);
        }
        let d: [u8; 32] = h.finalize().into();
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        self.set_attrs(id, None, vec![(DIGEST_ATTR.to_owned(), hex)])
            .await?;
        Ok(d)
    }
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
