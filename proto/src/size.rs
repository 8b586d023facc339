//! Human-friendly sizes (`8MiB`, `50GB`, `1048576`) and durations (`30s`, `7d`, `500ms`)
//! for configuration flags and environment variables.

use crate::error::ParseError;

/// Parses a byte size. Binary suffixes (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1024,
/// decimal ones (`KB`, `MB`, `GB`, `TB`) powers of 1000; `K`/`M`/`G`/`T` alone are binary.
pub fn parse_size(text: &str) -> Result<u64, ParseError> {
    const WHAT: &str = "size";
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(ParseError::new(WHAT, format!("unknown unit {other:?}"))),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| ParseError::new(WHAT, format!("not a number: {num:?}")))?;
    let bytes = value * mult as f64;
    if !(0.0..1.8e19).contains(&bytes) {
        return Err(ParseError::new(WHAT, "out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration: a number with `ms`, `s`, `m`, `h` or `d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, ParseError> {
    const WHAT: &str = "duration";
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let secs: f64 = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => return Err(ParseError::new(WHAT, format!("unknown unit {other:?}"))),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| ParseError::new(WHAT, format!("not a number: {num:?}")))?;
    let total = value * secs;
    if !(0.0..1e12).contains(&total) {
        return Err(ParseError::new(WHAT, "out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("250MB"), Ok(250_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-1").is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("3 fortnights").is_err());
    }
}
