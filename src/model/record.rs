//! The upload record as stored by every state store, and its small value types.
//! Serialized as JSON; new fields get `#[serde(default)]`.

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
    /// Small attributes: an adapter's (e.g. a Kaltura token's file name), which the core
    /// stores and never interprets, and the core's own (named `core.*`, read through
    /// typed accessors such as [`UploadRecord::phase`]).
    #[serde(default)]
    pub attrs: std::collections::BTreeMap<String, String>,
}

/// Names of the attributes the core owns.
pub mod core_attr {
    /// Unix seconds of the last chunk a client sent (absent: none yet).
    pub const TOUCHED: &str = "core.touched";
    /// What the upload was attached to once consumed (an entry id); it then takes no
    /// more bytes. Empty: given back.
    pub const CLOSED: &str = "core.closed";
    /// What the finished file is, read from its own header ([`super::MediaInfo`], JSON).
    pub const MEDIA: &str = "core.media";
}

/// What a finished file is, read once from its own header (MP4/MOV/M4A); absent for
/// files upgate cannot read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// The container's brand (`isom`, `mp42`, `qt`, `M4A`).
    pub container: String,
    /// `video/mp4`, `video/quicktime`, `audio/mp4`.
    pub content_type: String,
    /// The usual file extension for it.
    pub ext: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub duration_ms: u64,
    /// Average bitrate in kbit/s (size over duration).
    #[serde(default)]
    pub bitrate_kbps: u64,
}

/// Where an upload stands, as clients that send chunks see it (Kaltura's
/// `KalturaUploadTokenStatus` is exactly this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No chunk arrived yet.
    Pending,
    /// Some chunks arrived; more may come.
    Partial,
    /// Every byte is stored and assembled.
    Full,
    /// Consumed: attached to an entry.
    Closed,
}

impl UploadRecord {
    /// True when every declared byte is stored.
    pub fn is_filled(&self) -> bool {
        self.length == Some(self.offset)
    }

    /// When a client last sent a chunk (unix seconds), if ever.
    pub fn touched_at(&self) -> Option<u64> {
        self.attrs
            .get(core_attr::TOUCHED)
            .and_then(|v| v.parse().ok())
    }

    /// What the finished file is, if its header could be read.
    pub fn media(&self) -> Option<MediaInfo> {
        self.attrs
            .get(core_attr::MEDIA)
            .and_then(|v| serde_json::from_str(v).ok())
    }

    /// What the upload was attached to when it was consumed.
    pub fn attached_to(&self) -> Option<&str> {
        self.attrs
            .get(core_attr::CLOSED)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The upload's phase.
    pub fn phase(&self) -> Phase {
        if self.attached_to().is_some() {
            Phase::Closed
        } else if self.status == Status::Complete {
            Phase::Full
        } else if self.touched_at().is_some() {
            Phase::Partial
        } else {
            Phase::Pending
        }
    }
}

/// Who may take an upload's write lease: the record's partner must be `partner`, and
/// its user `user` unless `user` is `None` (an admin of the partner). Uploads without
/// an owner (made with authentication off) only admins may touch. With `kind`, only
/// records carrying that attribute qualify (an adapter's marker: a Kaltura token is
/// not a tus upload). A refusal looks exactly like a missing upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerCheck {
    pub partner: i64,
    pub user: Option<String>,
    pub kind: Option<String>,
}

impl OwnerCheck {
    /// Whether `rec` may be touched under this check.
    pub fn allows(&self, rec: &UploadRecord) -> bool {
        if self
            .kind
            .as_ref()
            .is_some_and(|k| !rec.attrs.contains_key(k))
        {
            return false;
        }
        match &rec.owner {
            Some(o) => o.partner == self.partner && self.user.as_ref().is_none_or(|u| *u == o.user),
            None => self.user.is_none(),
        }
    }
}
