//! Lower-case hexadecimal, the one spelling of digests and random ids on the wire.

/// `b` as lower-case hex, two characters a byte.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(DIGITS[usize::from(x >> 4)] as char);
        s.push(DIGITS[usize::from(x & 15)] as char);
    }
    s
}

/// The bytes of lower- or upper-case hex `s`; `None` for odd lengths or other characters.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            let pair = s.get(i..i + 2)?;
            pair.bytes()
                .all(|c| c.is_ascii_hexdigit())
                .then(|| u8::from_str_radix(pair, 16).ok())?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let b: Vec<u8> = (0..=255).collect();
        assert_eq!(super::unhex(&super::hex(&b)), Some(b));
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::unhex("AB0f"), Some(vec![0xab, 0x0f]));
        for bad in ["a", "+1", "0x", "zz", "é1"] {
            assert_eq!(super::unhex(bad), None, "{bad}");
        }
    }

    #[test]
    fn lower_case_two_digits() {
        assert_eq!(super::hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
