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
    /// Category ids as the client gave them (comma-separated).
    #[serde(default)]
    pub categories_ids: Option<String>,
    /// Tags only admin sessions set (the Zoom integration marks `zoomentry`).
    #[serde(default)]
    pub admin_tags: Option<String>,
    /// Co-editors: may change the metadata, never delete.
    #[serde(default)]
    pub entitled_users_edit: Vec<String>,
    /// Co-publishers: co-editors who may also publish.
    #[serde(default)]
    pub entitled_users_publish: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// How a user relates to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A co-editor (`entitledUsersEdit`).
    Editor,
    /// A co-publisher (`entitledUsersPublish`): an editor who may also publish.
    Publisher,
    /// The owner (`userId`).
    Owner,
}

impl Role {
    /// The role's name as the page shows it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Editor => "co-editor",
            Role::Publisher => "co-publisher",
            Role::Owner => "owner",
        }
    }
}

impl MediaEntry {
    /// The categories it is published to.
    pub fn category_ids(&self) -> Vec<i64> {
        super::category::ids_of(self.categories_ids.as_deref().unwrap_or(""))
    }

    /// The strongest role `user` has on this entry, if any.
    pub fn role_of(&self, user: &str) -> Option<Role> {
        if self.user == user {
            Some(Role::Owner)
        } else if self.entitled_users_publish.iter().any(|u| u == user) {
            Some(Role::Publisher)
        } else if self.entitled_users_edit.iter().any(|u| u == user) {
            Some(Role::Editor)
        } else {
            None
        }
    }
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
