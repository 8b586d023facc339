//! Randomized robustness tests for every header parser: hundreds of thousands of
//! generated inputs (biased towards the grammar's own characters), no panics, and the
//! invariants each parser promises. Deterministic seed, so a failure reproduces.
//! (cargo-fuzz needs a nightly toolchain, which this machine does not have.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use upgate_proto::checksum::parse_checksum;
use upgate_proto::content_range::{parse_content_range, parse_range, ByteRange};
use upgate_proto::metadata::{format_metadata, parse_metadata};
use upgate_proto::size::{parse_duration, parse_size};
use upgate_proto::tus::{parse_concat, parse_number, upload_id_from_url};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "bytes ",
    "bytes=",
    "*",
    "/",
    "-",
    ",",
    " ",
    "0",
    "1",
    "9",
    "18446744073709551615",
    "99999999999999999999",
    "final;",
    "partial",
    "sha256 ",
    "md5 ",
    "crc32c ",
    "=",
    "==",
    "YQ",
    "aGVsbG8=",
    "KiB",
    "MiB",
    "GB",
    "d",
    "ms",
    ".",
    "\u{e9}",
    "\u{0}",
    "\t",
    "\r\n",
    "a",
    "Z",
    "+",
    "%",
    "?",
];

fn gen(r: &mut Rng) -> String {
    let n = r.below(12);
    (0..n).map(|_| PIECES[r.below(PIECES.len())]).collect()
}

#[test]
fn parsers_never_panic_and_keep_invariants() {
    let mut r = Rng(0x9e3779b97f4a7c15);
    for _ in 0..300_000 {
        let s = gen(&mut r);
        if let Ok(cr) = parse_content_range(&s) {
            if let Some((a, b)) = cr.span {
                assert!(a < b, "{s:?}");
                if let Some(t) = cr.total {
                    assert!(b <= t, "{s:?}");
                }
            }
        }
        let len = r.next() % 1000;
        if let Ok(ByteRange::Satisfiable(a, b)) = parse_range(&s, len) {
            assert!(a < b && b <= len, "{s:?} len {len}");
        }
        if let Ok(pairs) = parse_metadata(&s) {
            assert_eq!(
                parse_metadata(&format_metadata(&pairs)).unwrap(),
                pairs,
                "{s:?}"
            );
        }
        if let Ok(c) = parse_checksum(&s) {
            assert_eq!(c.digest.len(), c.algorithm.digest_len());
        }
        let _ = parse_concat(&s);
        let _ = parse_number("x", &s);
        let _ = upload_id_from_url(&s);
        let _ = parse_size(&s);
        let _ = parse_duration(&s);
    }
}

#[test]
fn arbitrary_bytes_as_text() {
    let mut r = Rng(42);
    for _ in 0..100_000 {
        let n = r.below(40);
        let bytes: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_content_range(&s);
        let _ = parse_range(&s, r.next());
        let _ = parse_metadata(&s);
        let _ = parse_checksum(&s);
        let _ = parse_concat(&s);
        let _ = parse_size(&s);
        let _ = parse_duration(&s);
    }
}
