//! Filters of upload listings, applied by every state store the same way.

use crate::model::UploadRecord;

/// Which uploads a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub partner: Option<i64>,
    pub user: Option<String>,
}

impl ListFilter {
    /// Whether `rec` passes the filter.
    pub fn matches(&self, rec: &UploadRecord) -> bool {
        let owner = rec.owner.as_ref();
        self.partner
            .is_none_or(|p| owner.map(|o| o.partner) == Some(p))
            && self
                .user
                .as_ref()
                .is_none_or(|u| owner.map(|o| &o.user) == Some(u))
    }
}
