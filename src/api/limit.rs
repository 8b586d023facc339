//! What the adapters share about limits: who a request counts against (its
//! [`Subject`]), and the native `429` answer. The Kaltura-style adapters answer in their
//! own envelopes.

use http::{Extensions, HeaderValue, StatusCode};

use crate::auth::Partners;
use crate::core::Owner;
use crate::ratelimit::{Denied, Subject};
use crate::server::{Peer, Resp};

/// The peer's IP address (anonymous requests are counted per address).
pub fn peer_of(ext: &Extensions) -> String {
    ext.get::<Peer>()
        .map_or_else(|| "unknown".to_owned(), |p| p.0.ip().to_string())
}

/// The subject of an authenticated owner, else of the peer.
pub fn of_owner(owner: Option<&Owner>, ext: &Extensions) -> Subject {
    match owner {
        Some(o) => Subject::User {
            partner: o.partner,
            user: o.user.clone(),
        },
        None => Subject::Anonymous(peer_of(ext)),
    }
}

/// The subject of a KS (checked cryptographically; revocation is the action's
/// business), else of the peer. A forged KS counts against its sender's address, never
/// against the user it names.
pub fn of_ks(partners: &Partners, ks: Option<&str>, now: i64, ext: &Extensions) -> Subject {
    match ks.map(|t| partners.verify(t, now)) {
        Some(Ok(ks)) if !ks.user.is_empty() => Subject::User {
            partner: ks.partner_id,
            user: ks.user,
        },
        Some(Ok(ks)) => Subject::User {
            partner: ks.partner_id,
            user: format!("ip:{}", peer_of(ext)),
        },
        _ => Subject::Anonymous(peer_of(ext)),
    }
}

/// `429 Too Many Requests` with `Retry-After` (tus clients and Uppy pause on it).
pub fn too_many(d: Denied) -> Resp {
    let mut r = super::plain(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("{}; retry after {} s\n", d.what, d.retry_after_secs()),
    );
    r.headers_mut().insert(
        http::header::RETRY_AFTER,
        HeaderValue::from(d.retry_after_secs()),
    );
    r
}
