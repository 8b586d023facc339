//! Media entries: what an upload becomes once it is attached to a named, owned item
//! (Kaltura's `KalturaMediaEntry`, Canvas's media objects).

use serde::{Deserialize, Serialize};

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Created, no file attached yet.
    NoContent,
    /// A file is attached and can be downloaded (upgate does no transcoding).
    Ready,
}

/// One media entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaEntry {
    pub id: String,
    pub partner: i64,
    /// Owner (the session's user, or another user named by an admin).
    pub user: String,
    /// Who created it.
    pub creator: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: String,
    /// 1 video, 2 image, 5 audio (Kaltura's values).
    pub media_type: i32,
    pub status: EntryStatus,
    /// The completed upload holding the content.
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub partner_data: Option<String>,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub categories: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A new entry id: `0_` and 8 characters of `[0-9a-z]`, like Kaltura's.
pub fn new_entry_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let hex = super::new_id();
    let bytes: Vec<u8> = (0..8)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    let tail: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % 36] as char)
        .collect();
    format!("0_{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_ids_look_like_kaltura() {
        let id = super::new_entry_id();
        assert_eq!(id.len(), 10);
        assert!(id.starts_with("0_"));
        assert!(id[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
    }
}
