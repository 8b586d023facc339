//! The upload record as stored by every [`crate::state::StateStore`], and its small
//! value types. Serialized as JSON; new fields get `#[serde(default)]`.

use serde::{Deserialize, Serialize};

/// Life cycle of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepting bytes.
    Open,
    /// All bytes stored and assembled; read-only.
    Complete,
}

/// Role in the tus concatenation extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConcatRole {
    #[default]
    None,
    /// A piece of a later final upload.
    Partial,
    /// Made of these partial uploads, in order.
    Final { parts: Vec<String> },
}

/// An out-of-order range stored durably outside the contiguous prefix: `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedRange {
    pub start: u64,
    pub end: u64,
    /// The assembler's name for the staged bytes.
    pub key: String,
}

/// Who an upload belongs to (filled by the auth layer; `None` for anonymous uploads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub partner: i64,
    pub user: String,
}

/// Everything the gateway knows about one upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub id: String,
    /// Declared total length; `None` while deferred.
    pub length: Option<u64>,
    /// Contiguous durable prefix: bytes `[0, offset)` are stored and fsync'd.
    pub offset: u64,
    pub status: Status,
    /// The `Upload-Metadata` header as the client sent it (already validated).
    #[serde(default)]
    pub metadata: String,
    #[serde(default)]
    pub concat: ConcatRole,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds after which an incomplete upload is removed; 0 = never.
    pub expires_at: u64,
    /// Out-of-order ranges waiting for the prefix to reach them.
    #[serde(default)]
    pub ranges: Vec<StagedRange>,
    /// Opaque state of the assembler (multipart id and parts for object stores).
    #[serde(default)]
    pub assembly: String,
    #[serde(default)]
    pub owner: Option<Owner>,
    /// Small attributes owned by a protocol adapter (e.g. a Kaltura token's file name
    /// and status flags). The core stores them and never interprets them.
    #[serde(default)]
    pub attrs: std::collections::BTreeMap<String, String>,
}

impl UploadRecord {
    /// True when every declared byte is stored.
    pub fn is_filled(&self) -> bool {
        self.length == Some(self.offset)
    }
}

/// Current time in unix seconds.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A new random id: 32 lowercase hex characters (128 bits).
pub fn new_id() -> String {
    let mut buf = [0u8; 16];
    // getrandom only fails when the OS has no entropy source; fall back to time+counter
    // so ids stay unique rather than panicking on a request path.
    if getrandom::fill(&mut buf).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        buf[..8].copy_from_slice(&t.to_le_bytes());
        buf[8..].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// True for ids this gateway could have issued (guards file names and keys).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
