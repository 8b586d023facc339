//! The one session check every entry point uses: a KS is valid when it verifies against
//! its partner's admin secrets, has not expired, and was not ended with `session.end`
//! (ended sessions are marker documents in the state store, so every instance sees them,
//! keyed by the canonical session, so no re-encoding of the KS text brings it back).

use upgate_proto::kaltura::ks::Ks;

use super::{KsFailure, Partners};
use crate::core::UploadService;

/// Documents of this kind mark KSs ended with `session.end`.
const REVOKED: &str = "ks-revoked";

/// SHA-1 hex of a text (a KS's revocation id; other small keys).
pub fn sha1_hex(text: &str) -> String {
    use sha1::Digest;
    upgate_proto::hex::hex(&sha1::Sha1::digest(text.trim().as_bytes()))
}

/// Why a session check failed.
#[derive(Debug)]
pub enum SessionError {
    /// The KS itself is refused (forged, unknown partner, expired, ended).
    Ks(KsFailure),
    /// The state store could not be asked.
    Unavailable(crate::core::Error),
}

/// Verifies `text` at `now` (unix seconds), revocation included.
pub async fn verify_session(
    partners: &Partners,
    service: &UploadService,
    text: &str,
    now: i64,
) -> Result<Ks, SessionError> {
    let ks = partners.verify(text, now).map_err(SessionError::Ks)?;
    match service.is_marked(REVOKED, &revocation_id(&ks)).await {
        Ok(false) => Ok(ks),
        Ok(true) => Err(SessionError::Ks(KsFailure::Logout)),
        Err(e) => Err(SessionError::Unavailable(e)),
    }
}

/// Ends a session (`session.end`): it fails every later check, in whatever spelling
/// of the KS text it comes back (the canonical session is revoked, not the text).
pub async fn end_session(service: &UploadService, ks: &Ks) -> crate::core::Result<()> {
    service.mark(REVOKED, &revocation_id(ks)).await
}

/// The key of a session's revocation marker.
fn revocation_id(ks: &Ks) -> String {
    sha1_hex(&ks.session_id)
}
