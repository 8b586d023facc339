//! Who may use `/files/` when `--files-auth required`: a KS in `Authorization: Bearer`
//! (or `?ks=` for browsers that cannot set headers). Uploads record their partner and
//! user; only that user, or an ADMIN KS of the same partner, sees them (others get 404,
//! which reveals nothing). Widget (anonymous) sessions cannot upload.

use http::HeaderMap;
use upgate_proto::form::parse_query;
use upgate_proto::kaltura::ks::Ks;

use http::request::Parts;

use super::FilesError;
use crate::api::gate::{context, peer_of, Gate};
use crate::auth::session::SessionError;
use crate::auth::KsFailure;
use crate::core::{Owner, UploadRecord};

/// The KS a request carries, if any.
pub fn ks_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| {
        query.and_then(|q| {
            parse_query(q)
                .into_iter()
                .find(|(k, _)| k == "ks")
                .map(|(_, v)| v)
        })
    })
}

/// Verifies the request's session.
pub async fn session(gate: &Gate, head: &Parts) -> Result<Ks, FilesError> {
    let Some(text) = ks_of(&head.headers, head.uri.query()) else {
        return Err(FilesError::Unauthorized(
            "a Kaltura session is required (Authorization: Bearer KS, or ?ks=)",
        ));
    };
    let peer = peer_of(&head.extensions);
    match gate.session(&text, &context(&peer, head)).await {
        Ok(ks) => Ok(ks),
        Err(SessionError::Ks(why)) => Err(FilesError::Unauthorized(match why {
            KsFailure::Expired => "the session has expired",
            KsFailure::Logout => "the session has ended",
            KsFailure::Invalid => "invalid session",
            KsFailure::RestrictedIp => "the session is restricted to another address",
            KsFailure::RestrictedUri => "the session is restricted to other paths",
            KsFailure::ActionsLimit => "the session has used up its actions",
            KsFailure::Privilege => "a user session may not carry role privileges",
        })),
        Err(SessionError::Unavailable(e)) => Err(e.into()),
    }
}

/// The owner recorded for uploads this session creates.
pub fn owner(ks: &Ks) -> Owner {
    Owner {
        partner: ks.partner_id,
        user: ks.user.clone(),
    }
}

/// Whether the session may see this upload.
pub fn may_see(ks: &Ks, rec: &UploadRecord) -> bool {
    match &rec.owner {
        Some(o) => o.partner == ks.partner_id && (ks.is_admin() || o.user == ks.user),
        None => ks.is_admin(), // anonymous uploads (made with auth off): admins only
    }
}
