//! API tokens: the credentials of the LMS-facing endpoints (Canvas's services API). A
//! token is random (`upg_` + 48 hex characters); only its SHA-256 is stored, as a
//! document of the state store every instance sees, with whose it is.

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::core::{Result, UploadService};
use crate::model::now_secs;

/// Documents of this kind are API tokens, keyed by [`digest`].
pub const KIND: &str = "api-token";

/// What is stored for an API token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short public id (for listing and revoking).
    pub id: String,
    pub user: String,
    pub partner: i64,
    pub admin: bool,
    pub created_at: u64,
}

/// SHA-256 hex of a token: the only form in which tokens are stored.
pub fn digest(token: &str) -> String {
    upgate_proto::hex::hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// The record of a token, if it is one (unknown and revoked tokens: `None`).
pub async fn lookup(service: &UploadService, token: &str) -> Result<Option<TokenRecord>> {
    Ok(service
        .get_doc(KIND, &digest(token))
        .await?
        .and_then(|body| serde_json::from_str(&body).ok()))
}

/// Creates a token for `user` of `partner`; returns the token (shown once) and its record.
pub async fn create(
    service: &UploadService,
    partner: i64,
    user: String,
    admin: bool,
) -> Result<(String, TokenRecord)> {
    let mut raw = [0u8; 24];
    if getrandom::fill(&mut raw).is_err() {
        return Err(crate::core::Error::Internal(
            "no entropy for a token".into(),
        ));
    }
    let token = format!("upg_{}", upgate_proto::hex::hex(&raw));
    let d = digest(&token);
    let rec = TokenRecord {
        id: d[..12].to_owned(),
        user,
        partner,
        admin,
        created_at: now_secs(),
    };
    let body = serde_json::to_string(&rec)
        .map_err(|e| crate::core::Error::Internal(format!("token record: {e}")))?;
    service.put_doc(KIND, &d, &body).await?;
    Ok((token, rec))
}

/// The tokens of `partner`.
pub async fn list(service: &UploadService, partner: i64) -> Result<Vec<TokenRecord>> {
    Ok(service
        .list_docs(KIND)
        .await?
        .iter()
        .filter_map(|b| serde_json::from_str::<TokenRecord>(b).ok())
        .filter(|t| t.partner == partner)
        .collect())
}

/// Revokes the token of `partner` whose public id is `id`; false when there is none.
pub async fn revoke(service: &UploadService, partner: i64, id: &str) -> Result<bool> {
    for (key, body) in service.list_docs_with_ids(KIND).await? {
        let Ok(t) = serde_json::from_str::<TokenRecord>(&body) else {
            continue;
        };
        if t.id == id && t.partner == partner {
            return service.delete_doc(KIND, &key).await;
        }
    }
    Ok(false)
}
