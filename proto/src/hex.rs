//! Lower-case hexadecimal, the one spelling of digests and random ids on the wire.

/// `b` as lower-case hex, two characters a byte.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn lower_case_two_digits() {
        assert_eq!(super::hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
