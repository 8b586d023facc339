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
    /// Its content is being pulled from a URL (Kaltura `IMPORT`, 0).
    Import,
    /// The pull failed for good (Kaltura `ERROR_IMPORTING`, -2): see `import_error`.
    ErrorImporting,
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
    /// The title a person typed in Canvas (`user_entered_title`), when it differs from
    /// the name.
    #[serde(default)]
    pub user_entered_title: Option<String>,
    /// Co-editors: may change the metadata, never delete.
    #[serde(default)]
    pub entitled_users_edit: Vec<String>,
    /// Co-publishers: co-editors who may also publish.
    #[serde(default)]
    pub entitled_users_publish: Vec<String>,
    /// Why its import failed (with [`EntryStatus::ErrorImporting`]).
    #[serde(default)]
    pub import_error: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// What a caller wants to do with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read it: owner, co-editors, co-publishers, anyone of the partner once it is
    /// published, and grants (`sview`, `download`, `edit` privileges).
    Read,
    /// Change its metadata and captions: owner, co-editors, co-publishers, `edit` grant.
    Edit,
    /// Publish it to categories: owner and co-publishers.
    Publish,
    /// Delete it: the owner.
    Delete,
}

/// The answer to an access question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The caller may see the entry but not do this (the server's `INVALID_KS -4`).
    Refused,
    /// The caller cannot see it: answer exactly as for a missing entry.
    Hidden,
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

    /// Whether `user` (not an admin; admins may do anything of their partner) may do
    /// `access`; `granted` says whether the session's privileges name this entry for
    /// any of the given privileges.
    pub fn verdict(
        &self,
        user: &str,
        access: Access,
        granted: impl Fn(&[&str]) -> bool,
    ) -> Verdict {
        let role = self.role_of(user);
        let published = !self.category_ids().is_empty();
        let sees = role.is_some() || published || granted(&["sview", "download", "edit"]);
        let may = match access {
            Access::Read => sees,
            Access::Edit => role.is_some() || granted(&["edit"]),
            Access::Publish => role >= Some(Role::Publisher),
            Access::Delete => role == Some(Role::Owner),
        };
        match (sees, may) {
            (_, true) => Verdict::Allowed,
            (true, false) => Verdict::Refused,
            (false, false) => Verdict::Hidden,
        }
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
