//! Categories: a course's or group's gallery (Kaltura's `KalturaCategory`). An entry is
//! published to a category when the category's id is among the entry's `categoriesIds`;
//! until then it is private to its owner and collaborators.

use serde::{Deserialize, Serialize};

/// One category of a partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: i64,
    pub partner: i64,
    /// 0 for a top-level category.
    pub parent_id: i64,
    pub name: String,
    /// Names from the top, joined with `>`.
    pub full_name: String,
    /// Ids from the top, joined with `>`.
    pub full_ids: String,
    pub depth: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub privacy_context: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// The category ids of a `categoriesIds` text (comma-separated; blanks and junk skipped).
pub fn ids_of(text: &str) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    for id in text.split(',').filter_map(|s| s.trim().parse::<i64>().ok()) {
        if id > 0 && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// `ids` as a `categoriesIds` text.
pub fn ids_text(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_round_trip() {
        assert_eq!(super::ids_of(" 12, x,34,12,,-1"), vec![12, 34]);
        assert_eq!(super::ids_text(&[12, 34]), "12,34");
    }
}
