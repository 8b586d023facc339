//! `session.start` (spec §6.4): no KS needed; checks the secret and mints a KS in the
//! partner's configured version. Any failure is `START_SESSION_ERROR`; after too many
//! failures from one address or for one partner, attempts are refused with
//! `REQUEST_RATE_EXCEEDED` for a minute (see [`crate::ratelimit::Limits`]).

use upgate_proto::kaltura::errors::{api_error, ErrorCode};
use upgate_proto::kaltura::ks::KsFields;
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err1, invalid_enum, missing, KResult};

/// Longest session `session.start` issues (the server's default partner maximum).
pub const MAX_EXPIRY: i64 = 86_400;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let secret = c.str("secret").ok_or_else(|| missing("secret"))?.to_owned();
    let pid_text = c.str("partnerId").unwrap_or("").to_owned();
    let session_type = c.int_or("type", 0);
    if !(0..=2).contains(&session_type) {
        return Err(invalid_enum(
            c.str("type").unwrap_or(""),
            "type",
            "KalturaSessionType",
        ));
    }
    let expiry = c.int_or("expiry", MAX_EXPIRY).clamp(0, MAX_EXPIRY);
    let fields = KsFields {
        partner_id: pid_text.parse().unwrap_or(-1),
        expiry: c.now + expiry,
        session_type: session_type as i32,
        user: c.str("userId").unwrap_or("").to_owned(),
        privileges: c.str("privileges").unwrap_or("").to_owned(),
    };
    let limits = &c.api.gate.limits;
    if let Some(d) = limits
        .session_start_blocked(c.peer, fields.partner_id)
        .await
    {
        let wait = d.retry_after_secs().to_string();
        return Err(api_error(ErrorCode::RequestRateExceeded, &[&wait]));
    }
    match c.api.gate.partners.start_session(&secret, &fields) {
        Some(ks) => Ok(Value::Str(ks)),
        None => {
            limits.session_start_failed(c.peer, fields.partner_id).await;
            Err(err1(ErrorCode::StartSessionError, &pid_text))
        }
    }
}
