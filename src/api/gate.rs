//! The gate every adapter passes a request through: who it is (a verified session, an
//! API token's user, or the peer address) and whether the limits admit it.
//!
//! [`Gate`] holds what that needs (partners, the session-revocation store, the limits)
//! and is shared by every adapter; the subject helpers decide whom a request counts
//! against. Adapters map [`Denied`] to their own wire answer in their `error.rs`.

use std::sync::Arc;
use std::time::Duration;

use http::Extensions;
use upgate_proto::kaltura::ks::Ks;

use upgate_proto::kaltura::params::Params;

use crate::api::params::Files;
use crate::auth::privileges::{self, RequestContext};
use crate::auth::session::{verify_session, SessionError};
use crate::auth::{KsFailure, Partners};
use crate::core::{Error, Owner, UploadService};
use crate::model::now_secs;
use crate::ratelimit::{Admission, Denied, Limits, Subject};
use crate::server::{ClientIp, HyperBody, Peer};

/// Identity and limits, shared by every adapter.
#[derive(Clone)]
pub struct Gate {
    pub partners: Arc<Partners>,
    /// Where ended sessions and API tokens are recorded.
    pub service: UploadService,
    pub limits: Limits,
    /// Per-frame read timeout of request bodies.
    pub body_timeout: Duration,
}

impl Gate {
    /// Verifies a KS for one action: signature, expiry, partner, that `session.end`
    /// did not end it, and the privileges that restrict it (address, path, role
    /// privileges, `actionslimit`, which this call counts against).
    pub async fn session(&self, text: &str, ctx: &RequestContext<'_>) -> Result<Ks, SessionError> {
        let now = now_secs() as i64;
        let ks = verify_session(&self.partners, &self.service, text, now).await?;
        privileges::check(&ks, ctx).map_err(SessionError::Ks)?;
        if let Some(limit) = privileges::actions_limit(&ks) {
            // Counted until the session expires (by then the count is moot).
            let window = Duration::from_secs((ks.expiry - now).max(1) as u64);
            let key = format!("ksact:{}", ks.session_id);
            match self.limits.tally(&key, 1, window).await {
                Ok(n) if n > limit => return Err(SessionError::Ks(KsFailure::ActionsLimit)),
                Ok(_) => {}
                // A limit that cannot be counted is not granted (fail closed).
                Err(e) => return Err(SessionError::Unavailable(Error::Unavailable(e.to_string()))),
            }
        }
        Ok(ks)
    }

    /// Counts the request against `subject`; for a request that writes upload bytes,
    /// takes a place among the user's uploads in flight and paces `body` by the
    /// bandwidth budgets. The returned admission must live as long as the request.
    pub async fn admit(
        &self,
        subject: &Subject,
        writes: bool,
        body: Option<&mut HyperBody>,
    ) -> Result<Admission, Denied> {
        let mut a = self.limits.admit_request(subject, writes).await?;
        if let Some(b) = body {
            b.set_throttle(a.throttle.take());
        }
        Ok(a)
    }
}

impl Gate {
    /// The gate of a Kaltura-style request (API v3, PS2), whose session travels in its
    /// parameters: counts the request against the KS's subject (a file part makes it a
    /// writing request) and paces the file parts. On refusal the rest of the body is
    /// read and discarded, so the client sees the answer.
    pub async fn admit_params(
        &self,
        head: &http::request::Parts,
        params: &Params,
        files: &mut Files,
    ) -> Result<Admission, Denied> {
        let subject = of_ks(&self.partners, params.str("ks"), &head.extensions);
        match self
            .admit(&subject, files.next_name().is_some(), None)
            .await
        {
            Ok(mut a) => {
                files.set_throttle(a.throttle.take());
                Ok(a)
            }
            Err(d) => {
                files.discard_rest().await;
                Err(d)
            }
        }
    }
}

/// What the privileges of a session need to know about the request.
pub fn context<'a>(peer: &'a str, head: &'a http::request::Parts) -> RequestContext<'a> {
    RequestContext {
        peer,
        path: head.uri.path(),
    }
}

/// The client's IP address (anonymous requests are counted per address): the peer's,
/// or the one a trusted proxy names.
pub fn peer_of(ext: &Extensions) -> String {
    match (ext.get::<ClientIp>(), ext.get::<Peer>()) {
        (Some(c), _) => c.0.to_string(),
        (None, Some(p)) => p.0.ip().to_string(),
        (None, None) => "unknown".to_owned(),
    }
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
pub fn of_ks(partners: &Partners, ks: Option<&str>, ext: &Extensions) -> Subject {
    match ks.map(|t| partners.verify(t, now_secs() as i64)) {
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
