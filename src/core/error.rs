//! `core::Error`: what can go wrong in an upload operation, in protocol-neutral terms.
//! Each wire adapter maps these to its own answers in its `error.rs`; internal details
//! (`Internal`, `Unavailable`) are logged there and never sent to clients verbatim.

use crate::blob::BlobError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("upload not found")]
    NotFound,
    #[error("upload expired")]
    Expired,
    /// The client's offset is not the stored one (tus 409).
    #[error("offset mismatch: stored offset is {offset}")]
    OffsetMismatch { offset: u64 },
    /// Another request is writing this upload right now (tus 423).
    #[error("upload is locked by another request")]
    Locked,
    /// The upload is complete; no more bytes are accepted.
    #[error("upload is already complete")]
    Complete,
    /// The upload would exceed the server's maximum size.
    #[error("upload exceeds the maximum size of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The bytes would go past the declared upload length.
    #[error("bytes past the declared upload length of {length}")]
    PastLength { length: u64 },
    /// A length was declared that contradicts what is stored.
    #[error("invalid length: {0}")]
    InvalidLength(String),
    /// The body did not match the announced checksum; nothing of it was kept.
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// The body ended early (client went away or stalled); bytes up to `offset` are kept.
    #[error("request body interrupted; stored offset is {offset}")]
    Interrupted { offset: u64 },
    /// Re-sent bytes differ from the bytes already stored at that position.
    #[error("range conflicts with stored bytes at offset {at}")]
    RangeConflict { at: u64 },
    /// The contiguous bytes did not reach (or passed) the size a client declared final.
    #[error("stored size {offset} does not match the expected size")]
    SizeMismatch { offset: u64 },
    /// A chunk that continues an upload which never received a byte (Kaltura
    /// `resume=true` on a pending token).
    #[error("nothing to resume: no chunk was stored yet")]
    CannotResume,
    /// A partial upload idle for longer than the resume window.
    #[error("the upload was idle for more than {secs} s and cannot be resumed")]
    ResumeWindowPassed { secs: u64 },
    /// The operator's pre-create hook refused the upload, with a reason for the client.
    #[error("refused: {0}")]
    Refused(String),
    /// The upload is not complete yet (download of an unfinished upload).
    #[error("upload is not complete")]
    NotComplete,
    /// Any other client mistake, with a short reason safe to show.
    #[error("{0}")]
    BadRequest(String),
    /// A dependency (state store, object store) is down; retry later.
    #[error("temporarily unavailable")]
    Unavailable(String),
    /// A bug or a broken invariant; logged, answered as 500.
    #[error("internal error")]
    Internal(String),
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Unavailable(m) => {
                metrics::counter!("upgate_dependency_errors_total", "dependency" => "state")
                    .increment(1);
                Error::Unavailable(m)
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Backend(m) => {
                metrics::counter!("upgate_dependency_errors_total", "dependency" => "storage")
                    .increment(1);
                Error::Unavailable(m)
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Result alias for core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
