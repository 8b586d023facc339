//! Who may use `/files/` when `--files-auth required`: a KS in `Authorization: Bearer`
//! (or `?ks=` for browsers that cannot set headers). Uploads record their partner and
//! user; only that user, or an ADMIN KS of the same partner, sees them (others get 404,
//! which reveals nothing). Widget (anonymous) sessions cannot upload.

use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use upgate_proto::kaltura::ks::{parse_query, Ks};

use crate::api::plain;
use crate::auth::session::{verify_session, SessionError};
use crate::auth::{KsFailure, Partners};
use crate::core::record::now_secs;
use crate::core::{Owner, UploadRecord, UploadService};
use crate::server::Resp;

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

/// Verifies the request's session; the answer to send when it fails.
pub async fn session(
    partners: &Arc<Partners>,
    service: &UploadService,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Ks, Resp> {
    let unauthorized = |why: &str| {
        let mut r = plain(StatusCode::UNAUTHORIZED, &format!("{why}\n"));
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
        r
    };
    let Some(text) = ks_of(headers, query) else {
        return Err(unauthorized(
            "a Kaltura session is required (Authorization: Bearer KS, or ?ks=)",
        ));
    };
    match verify_session(partners, service, &text, now_secs() as i64).await {
        Ok(ks) => Ok(ks),
        Err(SessionError::Ks(why)) => Err(unauthorized(match why {
            KsFailure::Expired => "the session has expired",
            KsFailure::Logout => "the session has ended",
            KsFailure::Invalid => "invalid session",
        })),
        Err(SessionError::Unavailable(_)) => Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily unavailable, retry later\n",
        )),
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
