//! Reading a completed upload back (downloads, verification).

use super::body::Pipe;
use super::running::Running;
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
    /// SHA-256 of a completed upload, so clients can verify end to end (`Want-Digest:
    /// sha-256`): computed once, then cached. The bytes a running digest covered
    /// ([`super::running`]) are not read back; the rest is.
    ///
    /// A filled upload whose assembly is still under way (another request holds it,
    /// behind slow object storage) has all its bytes durable already: when its running
    /// digest covers them all, that is its answer too. Otherwise it is not complete yet.
    pub async fn sha256(&self, id: &str) -> Result<[u8; 32]> {
        use sha2::Digest;
        let rec = self.status(id).await?;
        if rec.status != Status::Complete {
            return match Running::of(&rec) {
                Some(r) if rec.is_filled() && r.pos == rec.offset => Ok(r.hash.finalize().into()),
                _ => Err(Error::NotComplete),
            };
        }
        let cached = rec
            .attrs
            .get(DIGEST_ATTR)
            .and_then(|h| upgate_proto::hex::unhex(h))
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        if let Some(d) = cached {
            return Ok(d);
        }
        let Running { pos, mut hash } = Running::of(&rec).unwrap_or(Running {
            pos: 0,
            hash: sha2::Sha256::new(),
        });
        metrics::counter!("upgate_digest_read_back_bytes_total").increment(rec.offset - pos);
        if pos < rec.offset {
            // Hashed beside the read, on the blocking pool: a gigabyte is seconds of
            // CPU that must not hold a runtime worker (and every request queued on it).
            let mut pipe = Pipe::start(hash);
            let mut rx = self.blobs.read(id, pos, rec.offset, true).await?;
            while let Some(chunk) = rx.recv().await {
                pipe.update(&chunk?).await;
            }
            hash = pipe
                .end()
                .await
                .ok_or_else(|| Error::Internal("hashing the upload failed".into()))?;
        }
        let d: [u8; 32] = hash.finalize().into();
        let hex = upgate_proto::hex::hex(&d);
        self.set_attrs(id, None, vec![(DIGEST_ATTR.to_owned(), hex)])
            .await?;
        Ok(d)
    }
}
