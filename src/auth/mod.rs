//! Identity: the partner registry (admin and user secrets, KS version per partner) and
//! session (KS) checks. Parsing and signing live in `upgate_proto::kaltura::ks`; this
//! module decides which secrets apply and what a KS may do. [`tokens`]: the API tokens
//! of the LMS-facing endpoints.
//!
//! Partners come from `--partner ID:ADMIN_SECRET[:USER_SECRET[:v1|v2]]` (repeatable; the
//! same id twice adds an admin secret). With none configured, `serve` creates a
//! development partner once and keeps it in `<data-dir>/dev-partner.json`.

pub mod privileges;
pub mod session;
pub mod tokens;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use upgate_proto::kaltura::ks::{self, Ks, KsError, KsFields};

/// One partner (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub id: i64,
    /// Any of these validates a KS; the first one signs new ones.
    pub admin_secrets: Vec<String>,
    #[serde(default)]
    pub user_secret: Option<String>,
    /// KS version issued by `session.start` (1 or 2; default 2).
    #[serde(default = "default_version")]
    pub ks_version: u8,
}

fn default_version() -> u8 {
    2
}

/// Why a partner spec was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid partner {spec:?}: {why}")]
pub struct PartnerSpecError {
    pub spec: String,
    pub why: &'static str,
}

/// Why a KS was refused, with what the Kaltura wire error needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KsFailure {
    /// Not decodable, unknown partner or bad signature (`INVALID_KS "<ks>" -1 INVALID_STR`).
    Invalid,
    /// Past its expiry (`INVALID_KS "EXPIRED" -1 INVALID_STR`).
    Expired,
    /// Ended with `session.end` (`INVALID_KS "LOGOUT" …`).
    Logout,
    /// Used from an address its `iprestrict` does not name.
    RestrictedIp,
    /// Used for a path its `urirestrict` does not allow.
    RestrictedUri,
    /// Past its `actionslimit`.
    ActionsLimit,
    /// A USER session carrying privileges that would raise its rights.
    Privilege,
}

/// The configured partners.
#[derive(Debug, Clone, Default)]
pub struct Partners {
    map: BTreeMap<i64, Partner>,
}

impl Partners {
    /// Parses `--partner` values.
    pub fn from_specs(specs: &[String]) -> Result<Self, PartnerSpecError> {
        let mut p = Partners::default();
        for spec in specs
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let err = |why| PartnerSpecError {
                spec: spec.to_owned(),
                why,
            };
            let parts: Vec<&str> = spec.split(':').collect();
            if parts.len() < 2 || parts.len() > 4 {
                return Err(err("expected ID:ADMIN_SECRET[:USER_SECRET[:v1|v2]]"));
            }
            let id: i64 = parts[0]
                .parse()
                .map_err(|_| err("partner id must be an integer"))?;
            if id <= 0 {
                return Err(err("partner id must be positive"));
            }
            if parts[1].is_empty() {
                return Err(err("empty admin secret"));
            }
            let version = match parts.get(3).copied() {
                None | Some("v2") | Some("2") => 2,
                Some("v1") | Some("1") => 1,
                Some(_) => return Err(err("KS version must be v1 or v2")),
            };
            let user = parts
                .get(2)
                .filter(|s| !s.is_empty())
                .map(|s| (*s).to_owned());
            // A v2 KS names its partner in clear text, outside what the secret seals
            // (Kaltura's format): with one secret for two partners, a session of one
            // could be re-labelled as the other's. Refused.
            let shared = p
                .map
                .values()
                .any(|other| other.id != id && other.admin_secrets.iter().any(|s| s == parts[1]));
            if shared {
                return Err(err("this admin secret is already another partner's"));
            }
            let entry = p.map.entry(id).or_insert_with(|| Partner {
                id,
                admin_secrets: Vec::new(),
                user_secret: None,
                ks_version: version,
            });
            if !entry.admin_secrets.iter().any(|s| s == parts[1]) {
                entry.admin_secrets.push(parts[1].to_owned());
            }
            if user.is_some() {
                entry.user_secret = user;
            }
        }
        Ok(p)
    }

    pub fn insert(&mut self, partner: Partner) {
        self.map.insert(partner.id, partner);
    }

    pub fn get(&self, id: i64) -> Option<&Partner> {
        self.map.get(&id)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Partner> {
        self.map.values()
    }

    /// Verifies a KS: known partner, valid signature, not expired.
    pub fn verify(&self, ks_text: &str, now: i64) -> Result<Ks, KsFailure> {
        let (_, pid) = ks::peek_partner(ks_text).map_err(|_| KsFailure::Invalid)?;
        let partner = self.get(pid).ok_or(KsFailure::Invalid)?;
        let secrets: Vec<&str> = partner.admin_secrets.iter().map(String::as_str).collect();
        let ks = ks::verify(ks_text, &secrets).map_err(|e| match e {
            KsError::Expired => KsFailure::Expired,
            _ => KsFailure::Invalid,
        })?;
        if ks.partner_id != pid {
            return Err(KsFailure::Invalid);
        }
        if ks.is_expired(now) {
            return Err(KsFailure::Expired);
        }
        Ok(ks)
    }

    /// `session.start`: checks the secret (admin secret for any type, user secret only
    /// for USER sessions) and mints a KS signed with the partner's first admin secret.
    pub fn start_session(&self, secret: &str, fields: &KsFields) -> Option<String> {
        let partner = self.get(fields.partner_id)?;
        let is_admin_secret = partner.admin_secrets.iter().any(|s| s == secret);
        let is_user_secret = partner.user_secret.as_deref() == Some(secret);
        if !(is_admin_secret || (is_user_secret && fields.session_type < 1)) {
            return None;
        }
        Some(mint(partner, fields))
    }
}

/// Mints a KS for a partner in its configured version.
pub fn mint(partner: &Partner, fields: &KsFields) -> String {
    let secret = partner.admin_secrets.first().map_or("", String::as_str);
    let mut rand = [0u8; 16];
    let _ = getrandom::fill(&mut rand);
    match partner.ks_version {
        // The rand field at full width (128 bits), never a guessable small number.
        1 => ks::mint_v1(secret, fields, &upgate_proto::hex::hex(&rand)),
        _ => ks::mint_v2(secret, fields, rand),
    }
}

fn random_secret() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Loads the development partner from `path`, creating it on first use. Returns the
/// partner and whether it was created now.
pub fn dev_partner(path: &Path) -> std::io::Result<(Partner, bool)> {
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(p) = serde_json::from_str::<Partner>(&text) {
            return Ok((p, false));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let p = Partner {
        id: 100,
        admin_secrets: vec![random_secret()],
        user_secret: Some(random_secret()),
        ks_version: 2,
    };
    let text = serde_json::to_string_pretty(&p).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok((p, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_specs() {
        let p = Partners::from_specs(&[
            "12345:adm:usr".into(),
            "12345:adm2".into(),
            "7:a::v1".into(),
        ])
        .unwrap();
        let a = p.get(12345).unwrap();
        assert_eq!(a.admin_secrets, vec!["adm", "adm2"]);
        assert_eq!(a.user_secret.as_deref(), Some("usr"));
        assert_eq!(a.ks_version, 2);
        assert_eq!(p.get(7).unwrap().ks_version, 1);
        for bad in ["x:y", "1", "0:a", "1::u", "1:a:b:v9"] {
            assert!(Partners::from_specs(&[bad.into()]).is_err(), "{bad}");
        }
        // One admin secret for two partners: refused (v2 headers are not sealed).
        assert!(Partners::from_specs(&["1:same".into(), "2:same".into()]).is_err());
    }

    #[test]
    fn sessions() {
        let p = Partners::from_specs(&["12345:adm:usr".into()]).unwrap();
        let f = |t| KsFields {
            partner_id: 12345,
            expiry: 2_000_000_000,
            session_type: t,
            user: "u".into(),
            privileges: String::new(),
        };
        let user_ks = p.start_session("usr", &f(0)).unwrap();
        assert!(
            p.start_session("usr", &f(2)).is_none(),
            "user secret cannot start admin sessions"
        );
        assert!(p.start_session("nope", &f(0)).is_none());
        let ks = p.verify(&user_ks, 1_700_000_000).unwrap();
        assert!(!ks.is_admin());
        assert_eq!(p.verify(&user_ks, 2_000_000_000), Err(KsFailure::Expired));
        let other = Partners::from_specs(&["12345:different".into()]).unwrap();
        assert_eq!(
            other.verify(&user_ks, 1_700_000_000),
            Err(KsFailure::Invalid)
        );
    }
}
