//! The one error type of this crate: which header or value was malformed, and why.

/// A header value that could not be parsed. The message is safe to send to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {why}")]
pub struct ParseError {
    /// Which header or value (e.g. `Content-Range`).
    pub what: &'static str,
    /// What is wrong with it, in a few words.
    pub why: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, why: impl Into<String>) -> Self {
        Self {
            what,
            why: why.into(),
        }
    }
}

/// Parses a strict non-negative decimal integer: digits only, no sign, no spaces,
/// at most 19 digits (fits u64 without overflow checks surprising anyone).
pub(crate) fn parse_u64(what: &'static str, text: &str) -> Result<u64, ParseError> {
    if text.is_empty() {
        return Err(ParseError::new(what, "empty number"));
    }
    if text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(
            what,
            format!("not a non-negative integer: {text:?}"),
        ));
    }
    text.parse::<u64>()
        .map_err(|_| ParseError::new(what, format!("not a non-negative integer: {text:?}")))
}
