//! `Upload-Metadata` (tus 1.0 creation extension): comma-separated pairs of
//! `key base64value`, or a bare `key` with no value. Keys are ASCII, non-empty, without
//! spaces or commas, and unique. Values are arbitrary bytes; callers decide whether they
//! need UTF-8.

use base64::Engine;

use crate::error::ParseError;

const WHAT: &str = "Upload-Metadata";
/// Most pairs one header may carry; a defence against absurd headers.
pub const MAX_PAIRS: usize = 64;

/// One metadata pair: the key and its decoded value, if any.
pub type Pair = (String, Option<Vec<u8>>);

/// Parses an `Upload-Metadata` header into ordered, unique pairs.
pub fn parse_metadata(text: &str) -> Result<Vec<Pair>, ParseError> {
    let mut out: Vec<Pair> = Vec::new();
    if text.trim().is_empty() {
        return Ok(out);
    }
    for item in text.split(',') {
        let item = item.trim();
        let mut words = item.split(' ').filter(|w| !w.is_empty());
        let key = words
            .next()
            .ok_or_else(|| ParseError::new(WHAT, "empty pair"))?;
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::new(
                WHAT,
                format!("key {key:?} is not printable ASCII"),
            ));
        }
        let value = match words.next() {
            None => None,
            Some(v) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|_| {
                        ParseError::new(WHAT, format!("value of {key:?} is not base64"))
                    })?,
            ),
        };
        if words.next().is_some() {
            return Err(ParseError::new(
                WHAT,
                format!("pair {key:?} has extra words"),
            ));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(ParseError::new(WHAT, format!("duplicate key {key:?}")));
        }
        if out.len() == MAX_PAIRS {
            return Err(ParseError::new(WHAT, "too many pairs"));
        }
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// Formats pairs back into an `Upload-Metadata` header value.
pub fn format_metadata(pairs: &[Pair]) -> String {
    pairs
        .iter()
        .map(|(k, v)| match v {
            None => k.clone(),
            Some(v) => format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            ),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs() {
        let got = parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential")
            .unwrap();
        assert_eq!(
            got[0],
            (
                "filename".into(),
                Some(b"world_domination_plan.pdf".to_vec())
            )
        );
        assert_eq!(got[1], ("is_confidential".into(), None));
        assert_eq!(parse_metadata("").unwrap(), vec![]);
        assert_eq!(
            format_metadata(&got),
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential"
        );
    }

    #[test]
    fn rejects_bad() {
        for bad in ["a !!!", "a YQ== b", "a,a", ",", "k\u{e9} YQ=="] {
            assert!(parse_metadata(bad).is_err(), "{bad}");
        }
    }
}
