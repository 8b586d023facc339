//! KS privileges an upload service must honour (spec §6.1), as pure checks; the rest
//! are carried in the KS and ignored, as Kaltura ignores what a service does not use.
//!
//! Enforced:
//! - `iprestrict:IP` — only from that peer address (the TCP peer: behind a proxy, every
//!   request comes from the proxy, so such sessions fail closed);
//! - `urirestrict:PATH[*]` — only for that request path (a trailing `*`: any path with
//!   that prefix);
//! - `actionslimit:N` — at most N actions with this session, counted by the gate
//!   ([`actions_limit`]; each Kaltura action, multi-request sub-requests included, each
//!   `/files/` and PS2 request);
//! - `edit:IDS`, `sview:IDS`, `download:IDS` — grant a USER session access to those
//!   entries (`*`: all of its partner's) although it does not own them: `edit` to
//!   change them, all three to read them ([`grants`]);
//! - `setrole:` and `disableentitlement` — refused on USER sessions (they would raise a
//!   user's rights; no partner here is configured to allow it).
//!
//! Carried, not enforced: `privacycontext:` (read with [`Ks::privilege`] by the
//! catalogue once categories exist), `sessionid:`, `list:`, `view:`, `widget:` (widget
//! sessions are refused writes where they are checked).

use upgate_proto::kaltura::ks::Ks;

use super::KsFailure;

/// Where a request comes from and what it asks for, as the privileges need it.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The peer's IP address, as text.
    pub peer: &'a str,
    /// The request path.
    pub path: &'a str,
}

/// The checks that need nothing but the request: address, path, role privileges.
pub fn check(ks: &Ks, ctx: &RequestContext<'_>) -> Result<(), KsFailure> {
    let ips: Vec<&str> = ks.privilege("iprestrict").collect();
    if !ips.is_empty() && !ips.iter().any(|ip| ip.split('/').any(|i| i == ctx.peer)) {
        return Err(KsFailure::RestrictedIp);
    }
    let uris: Vec<&str> = ks.privilege("urirestrict").collect();
    if !uris.is_empty() && !uris.iter().any(|u| uri_allows(u, ctx.path)) {
        return Err(KsFailure::RestrictedUri);
    }
    if !ks.is_admin() && (ks.has_privilege("setrole") || ks.has_privilege("disableentitlement")) {
        return Err(KsFailure::Privilege);
    }
    Ok(())
}

fn uri_allows(rule: &str, path: &str) -> bool {
    match rule.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == rule,
    }
}

/// The session's `actionslimit`, if it has one (an unparseable one allows nothing).
pub fn actions_limit(ks: &Ks) -> Option<u64> {
    ks.privilege("actionslimit")
        .next()
        .map(|n| n.trim().parse().unwrap_or(0))
}

/// Whether `privilege` (`edit`, `sview`, `download`) names `entry` (or `*`).
pub fn grants(ks: &Ks, privilege: &str, entry: &str) -> bool {
    ks.privilege(privilege)
        .any(|ids| ids.split('/').any(|id| id == "*" || id == entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(privileges: &str, session_type: i32) -> Ks {
        Ks {
            version: 2,
            partner_id: 1,
            expiry: i64::MAX,
            session_type,
            user: "u".into(),
            privileges: privileges.into(),
            rand: String::new(),
            session_id: String::new(),
        }
    }

    #[test]
    fn restrictions_and_grants() {
        let ctx = RequestContext {
            peer: "127.0.0.1",
            path: "/api_v3/service/media/action/get",
        };
        assert_eq!(check(&ks("", 0), &ctx), Ok(()));
        assert_eq!(
            check(&ks("iprestrict:10.0.0.1", 0), &ctx),
            Err(KsFailure::RestrictedIp)
        );
        assert_eq!(check(&ks("iprestrict:127.0.0.1", 0), &ctx), Ok(()));
        assert_eq!(
            check(&ks("urirestrict:/files/*", 0), &ctx),
            Err(KsFailure::RestrictedUri)
        );
        assert_eq!(check(&ks("urirestrict:/api_v3/*", 0), &ctx), Ok(()));
        assert_eq!(check(&ks("setrole:5", 0), &ctx), Err(KsFailure::Privilege));
        assert_eq!(
            check(&ks("disableentitlement", 0), &ctx),
            Err(KsFailure::Privilege)
        );
        assert_eq!(check(&ks("setrole:5", 2), &ctx), Ok(()), "admins may");
        assert_eq!(actions_limit(&ks("actionslimit:3,edit:*", 0)), Some(3));
        assert_eq!(actions_limit(&ks("actionslimit:x", 0)), Some(0));
        assert_eq!(actions_limit(&ks("edit:*", 0)), None);
        assert!(grants(&ks("edit:0_a/0_b", 0), "edit", "0_b"));
        assert!(!grants(&ks("edit:0_a/0_b", 0), "edit", "0_c"));
        assert!(grants(&ks("sview:*", 0), "sview", "0_c"));
        assert!(!grants(&ks("sview:*", 0), "edit", "0_c"));
    }
}
