//! Kaltura sessions (KS) v1 and v2: parse, verify against a partner's admin secrets,
//! and mint. Byte-compatible with the Kaltura server and the official clients (test
//! vectors in `shared/spec/ks-vectors.json`).
//!
//! v1: `base64(sha1hex(secret ‖ fields) ‖ "|" ‖ fields)`, fields
//! `partner;partner;expiry;type;rand;user;privileges[;master;additional]`.
//! v2: `base64url("v2|" ‖ partner ‖ "|" ‖ AES-128-CBC(key = sha1(secret)[..16], iv = 0)(
//! sha1(rand16 ‖ query) ‖ rand16 ‖ query, zero-padded))`, query = url-encoded privileges
//! then `_e`, `_t`, `_u`.

use crate::form::{form_encode, parse_query};
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes128;
use base64::Engine;
use sha1::{Digest, Sha1};

/// Session type: USER 0, ADMIN 2 (the server treats any `type >= 1` as admin).
pub const USER: i32 = 0;
pub const ADMIN: i32 = 2;

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ks {
    pub version: u8,
    pub partner_id: i64,
    /// Absolute unix time; valid while `now < expiry`.
    pub expiry: i64,
    pub session_type: i32,
    pub user: String,
    /// Comma-separated privileges (`*` for all).
    pub privileges: String,
    /// v1: the rand field; v2: hex of the 16 random bytes.
    pub rand: String,
    /// The session's canonical identity, whatever spelling of the KS carried it
    /// (padding, URL-safe alphabet): version, partner and the signature (v1) or the
    /// hash sealed inside the ciphertext (v2). What `session.end` revokes.
    pub session_id: String,
}

impl Ks {
    pub fn is_admin(&self) -> bool {
        self.session_type >= 1
    }

    pub fn is_expired(&self, now: i64) -> bool {
        self.expiry <= now
    }

    /// True for widget (anonymous) sessions: privileges include `widget:1`.
    pub fn is_widget(&self) -> bool {
        self.privileges.split(',').any(|p| p.trim() == "widget:1")
    }

    /// The privilege values named `name` (`edit:0_abc` → `["0_abc"]`), in order.
    pub fn privilege<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.privileges.split(',').filter_map(move |p| {
            let (k, v) = p.trim().split_once(':').unwrap_or((p.trim(), ""));
            (k == name).then_some(v)
        })
    }

    /// True when the privileges name `name` (with any value, or none).
    pub fn has_privilege(&self, name: &str) -> bool {
        self.privilege(name).next().is_some()
    }
}

/// What to put in a new KS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KsFields {
    pub partner_id: i64,
    pub expiry: i64,
    pub session_type: i32,
    pub user: String,
    pub privileges: String,
}

/// Why a KS was refused (Kaltura's internal result codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KsError {
    /// Not decodable, not parseable, or the signature does not match (-1 INVALID_STR).
    #[error("INVALID_STR")]
    InvalidStr,
    /// The partner is unknown (reported as INVALID_STR on the wire, like the server).
    #[error("INVALID_PARTNER")]
    InvalidPartner,
    /// Past its expiry (-5 EXPIRED).
    #[error("EXPIRED")]
    Expired,
}

/// Standard or URL-safe base64, with or without its padding (the official clients
/// send either); padding only at the end, at most two characters of it.
fn b64_decode_lenient(ks: &str) -> Option<Vec<u8>> {
    let ks = ks.trim();
    let body = ks.trim_end_matches('=');
    if ks.len() - body.len() > 2 || body.contains('=') {
        return None;
    }
    let std: String = body
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(std)
        .ok()
}

/// The version and partner id a KS claims, before any verification (to look up the
/// partner's secrets).
pub fn peek_partner(ks: &str) -> Result<(u8, i64), KsError> {
    let raw = b64_decode_lenient(ks).ok_or(KsError::InvalidStr)?;
    if let Some(rest) = raw.strip_prefix(b"v2|") {
        let end = rest
            .iter()
            .position(|&b| b == b'|')
            .ok_or(KsError::InvalidStr)?;
        return canonical_id(&rest[..end])
            .map(|p| (2, p))
            .ok_or(KsError::InvalidStr);
    }
    let text = std::str::from_utf8(&raw).map_err(|_| KsError::InvalidStr)?;
    let (_, fields) = text.split_once('|').ok_or(KsError::InvalidStr)?;
    let pid = fields
        .split(';')
        .next()
        .and_then(|p| canonical_id(p.as_bytes()))
        .ok_or(KsError::InvalidStr)?;
    Ok((1, pid))
}

/// Verifies `ks` against each of the partner's admin secrets. Expiry is not checked
/// here (see [`Ks::is_expired`]) so callers can tell "expired" from "forged".
pub fn verify(ks: &str, admin_secrets: &[&str]) -> Result<Ks, KsError> {
    let raw = b64_decode_lenient(ks).ok_or(KsError::InvalidStr)?;
    if raw.starts_with(b"v2|") {
        verify_v2(&raw, admin_secrets)
    } else {
        verify_v1(&raw, admin_secrets)
    }
}

/// A partner id as the server writes it: decimal digits, no sign, no leading zero.
/// Other spellings (`0777`, `+777`) would name the same partner with other bytes.
fn canonical_id(b: &[u8]) -> Option<i64> {
    let ok = !b.is_empty() && b.iter().all(u8::is_ascii_digit) && (b == b"0" || b[0] != b'0');
    ok.then(|| std::str::from_utf8(b).ok()?.parse().ok())?
}

fn sha1_hex(data: &[&[u8]]) -> String {
    let mut h = Sha1::new();
    for d in data {
        h.update(d);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn verify_v1(raw: &[u8], secrets: &[&str]) -> Result<Ks, KsError> {
    let text = std::str::from_utf8(raw).map_err(|_| KsError::InvalidStr)?;
    let (sig, fields) = text.split_once('|').ok_or(KsError::InvalidStr)?;
    let parts: Vec<&str> = fields.split(';').collect();
    if parts.len() < 3 {
        return Err(KsError::InvalidStr);
    }
    if !secrets
        .iter()
        .any(|s| sha1_hex(&[s.as_bytes(), fields.as_bytes()]) == sig)
    {
        return Err(KsError::InvalidStr);
    }
    let part = |i: usize| parts.get(i).copied().unwrap_or("");
    let partner_id = canonical_id(part(0).as_bytes()).ok_or(KsError::InvalidStr)?;
    Ok(Ks {
        version: 1,
        session_id: format!("1:{partner_id}:{sig}"),
        partner_id,
        expiry: part(2).parse().map_err(|_| KsError::InvalidStr)?,
        session_type: php_int(part(3)) as i32,
        rand: part(4).to_owned(),
        user: part(5).to_owned(),
        privileges: part(6).to_owned(),
    })
}

fn aes_key(secret: &str) -> [u8; 16] {
    let d = Sha1::digest(secret.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

fn cbc_decrypt(key: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || !data.len().is_multiple_of(16) {
        return None;
    }
    let c = Aes128::new(GenericArray::from_slice(key));
    let mut prev = [0u8; 16];
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(16) {
        let mut b = GenericArray::clone_from_slice(block);
        c.decrypt_block(&mut b);
        out.extend(b.iter().zip(prev.iter()).map(|(x, p)| x ^ p));
        prev.copy_from_slice(block);
    }
    Some(out)
}

fn cbc_encrypt(key: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let c = Aes128::new(GenericArray::from_slice(key));
    let mut prev = [0u8; 16];
    let mut out = Vec::with_capacity(plain.len());
    for block in plain.chunks(16) {
        let mut b = GenericArray::default();
        for (i, x) in block.iter().enumerate() {
            b[i] = x ^ prev[i];
        }
        c.encrypt_block(&mut b);
        prev.copy_from_slice(&b);
        out.extend_from_slice(&b);
    }
    out
}

fn verify_v2(raw: &[u8], secrets: &[&str]) -> Result<Ks, KsError> {
    let rest = &raw[3..];
    let bar = rest
        .iter()
        .position(|&b| b == b'|')
        .ok_or(KsError::InvalidStr)?;
    let partner_id = canonical_id(&rest[..bar]).ok_or(KsError::InvalidStr)?;
    let cipher = &rest[bar + 1..];
    for secret in secrets {
        let Some(mut plain) = cbc_decrypt(&aes_key(secret), cipher) else {
            continue;
        };
        while plain.last() == Some(&0) {
            plain.pop();
        }
        if plain.len() < 36 {
            continue;
        }
        let (hash, body) = plain.split_at(20);
        if Sha1::digest(body).as_slice() != hash {
            continue;
        }
        let (rand, query) = body.split_at(16);
        let query = std::str::from_utf8(query).map_err(|_| KsError::InvalidStr)?;
        let mut ks = Ks {
            version: 2,
            session_id: format!("2:{partner_id}:{}", crate::hex::hex(hash)),
            partner_id,
            expiry: 0,
            session_type: 0,
            user: String::new(),
            privileges: String::new(),
            rand: rand.iter().map(|b| format!("{b:02x}")).collect(),
        };
        let mut privs = Vec::new();
        for (k, v) in parse_query(query) {
            match k.as_str() {
                "_e" => ks.expiry = php_int(&v),
                "_t" => ks.session_type = php_int(&v) as i32,
                "_u" => ks.user = v,
                "_m" | "_d" => {}
                _ if v.is_empty() => privs.push(k),
                _ => privs.push(format!("{k}:{v}")),
            }
        }
        ks.privileges = if privs == ["all:*"] {
            "*".to_owned()
        } else {
            privs.join(",")
        };
        return Ok(ks);
    }
    Err(KsError::InvalidStr)
}

/// PHP `(int)` cast: the leading integer prefix, 0 when none.
pub fn php_int(s: &str) -> i64 {
    let t = s.trim_start();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map_or(0, |n| sign * n)
}

/// Mints a v1 KS (the form the Python and PHP client helpers produce: 7 fields).
pub fn mint_v1(secret: &str, f: &KsFields, rand: &str) -> String {
    let fields = format!(
        "{p};{p};{};{};{rand};{};{}",
        f.expiry,
        f.session_type,
        f.user,
        f.privileges,
        p = f.partner_id
    );
    let sig = sha1_hex(&[secret.as_bytes(), fields.as_bytes()]);
    base64::engine::general_purpose::STANDARD.encode(format!("{sig}|{fields}"))
}

/// Mints a v2 KS with the given 16 random bytes.
pub fn mint_v2(secret: &str, f: &KsFields, rand16: [u8; 16]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for item in f
        .privileges
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let item = if item == "*" { "all:*" } else { item };
        match item.split_once(':') {
            Some((k, v)) => pairs.push((k.to_owned(), v.to_owned())),
            None => pairs.push((item.to_owned(), String::new())),
        }
    }
    pairs.push(("_e".into(), f.expiry.to_string()));
    pairs.push(("_t".into(), f.session_type.to_string()));
    pairs.push(("_u".into(), f.user.clone()));
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut body = rand16.to_vec();
    body.extend_from_slice(query.as_bytes());
    let mut plain = Sha1::digest(&body).to_vec();
    plain.extend_from_slice(&body);
    while !plain.len().is_multiple_of(16) {
        plain.push(0);
    }
    let mut out = format!("v2|{}|", f.partner_id).into_bytes();
    out.extend_from_slice(&cbc_encrypt(&aes_key(secret), &plain));
    base64::engine::general_purpose::URL_SAFE.encode(out)
}
