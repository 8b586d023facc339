//! Identifiers this gateway issues, and the check that guards file names and keys.

/// A new random id: 32 lowercase hex characters (128 bits).
pub fn new_id() -> String {
    let mut buf = [0u8; 16];
    // getrandom only fails when the OS has no entropy source; fall back to time+counter
    // so ids stay unique rather than panicking on a request path.
    if getrandom::fill(&mut buf).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        buf[..8].copy_from_slice(&t.to_le_bytes());
        buf[8..].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    upgate_proto::hex::hex(&buf)
}

/// True for ids this gateway could have issued (guards file names and keys).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
