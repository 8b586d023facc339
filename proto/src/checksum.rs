//! `Upload-Checksum: ALGO BASE64DIGEST` (tus checksum extension). This module only
//! parses; hashing happens where the bytes stream.

use base64::Engine;

use crate::error::ParseError;

const WHAT: &str = "Upload-Checksum";

/// Checksum algorithms the gateway computes while streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha1,
    Md5,
    Crc32c,
}

impl Algorithm {
    /// Every supported algorithm, in the order advertised by `Tus-Checksum-Algorithm`.
    pub const ALL: [Algorithm; 4] = [Self::Sha256, Self::Sha1, Self::Md5, Self::Crc32c];

    /// The tus name of the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha1 => "sha1",
            Self::Md5 => "md5",
            Self::Crc32c => "crc32c",
        }
    }

    /// Length of the raw digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 => 20,
            Self::Md5 => 16,
            Self::Crc32c => 4,
        }
    }

    /// Looks an algorithm up by its tus name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The comma-separated list for `Tus-Checksum-Algorithm`.
    pub fn advertised() -> String {
        Self::ALL.map(Self::name).join(",")
    }
}

/// A parsed `Upload-Checksum` header: the algorithm and the expected raw digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

/// Parses an `Upload-Checksum` header value. An unknown algorithm is an error the
/// adapter answers with 400 (tus says so).
pub fn parse_checksum(text: &str) -> Result<Checksum, ParseError> {
    let (name, b64) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| ParseError::new(WHAT, "must be \"ALGORITHM BASE64\""))?;
    let algorithm = Algorithm::from_name(name)
        .ok_or_else(|| ParseError::new(WHAT, format!("unsupported algorithm {name:?}")))?;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| ParseError::new(WHAT, "digest is not base64"))?;
    if digest.len() != algorithm.digest_len() {
        return Err(ParseError::new(
            WHAT,
            format!(
                "{} digest must be {} bytes",
                algorithm.name(),
                algorithm.digest_len()
            ),
        ));
    }
    Ok(Checksum { algorithm, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        // sha1("hello") = aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d
        let c = parse_checksum("sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=").unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha1);
        assert_eq!(c.digest.len(), 20);
        assert!(parse_checksum("sha1 qvTG").is_err());
        assert!(parse_checksum("whirlpool AAAA").is_err());
        assert!(parse_checksum("sha1").is_err());
        assert_eq!(Algorithm::advertised(), "sha256,sha1,md5,crc32c");
    }
}
