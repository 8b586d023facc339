//! Property tests of every parser, with invariants beyond "no panic": round trips
//! (format then parse gives the value back), streaming independence (a multipart body
//! split anywhere parses the same), equivalent syntaxes agreeing (Kaltura's `a:b`,
//! `a[b]` and JSON), signatures that fail when tampered with.
//!
//! Normally each property runs 256 generated cases from a fixed seed. The long mode
//! `FUZZ_SECS=600 cargo test -p upgate-proto --test properties -- --nocapture` shares
//! the given seconds among the properties (each runs new random seeds until its share
//! is used) and prints how many cases each ran; a failure prints its seed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use upgate_proto::captions::{check, sniff, to_webvtt, CaptionFormat};
use upgate_proto::content_range::{parse_content_range, parse_range, ByteRange};
use upgate_proto::kaltura::ks::{mint_v1, mint_v2, verify, KsFields};
use upgate_proto::kaltura::params::{Param, Params};
use upgate_proto::metadata::{format_metadata, parse_metadata};
use upgate_proto::multipart::{Event, Parser};
use upgate_proto::rufh;
use upgate_proto::tus::parse_number;
use upgate_proto::zoom::{days_from_civil, parse_csv, parse_time};

/// How many properties share a `FUZZ_SECS` budget.
const PROPERTIES: u32 = 14;

fn seed_for(round: u64, long: bool) -> [u8; 32] {
    let mut seed = [7u8; 32];
    let mix = if long {
        let mut r = [0u8; 8];
        // A fresh seed each round in the long mode (printed on failure).
        for (i, b) in r.iter_mut().enumerate() {
            *b = (Instant::now().elapsed().subsec_nanos() as u64 ^ (round << i)) as u8;
        }
        u64::from_le_bytes(r)
            ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ std::process::id() as u64
    } else {
        round
    };
    seed[..8].copy_from_slice(&mix.to_le_bytes());
    seed
}

/// Runs `test` on values of `strategy` (see the module docs for the two modes).
fn check_prop<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok());
    let deadline =
        budget.map(|s| Instant::now() + Duration::from_secs_f64(s / f64::from(PROPERTIES)));
    let (mut cases, mut round) = (0u64, 0u64);
    loop {
        let seed = seed_for(round, deadline.is_some());
        let config = Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: {e}\n(seed {seed:?})");
        }
        cases += 256;
        round += 1;
        match deadline {
            Some(d) if Instant::now() < d => {}
            _ => break,
        }
    }
    eprintln!("{name}: {cases} cases");
}

#[test]
fn content_range_round_trips_and_bounds() {
    let spans = (0u64..u64::MAX / 4, 1u64..1 << 40, 0u64..1 << 40);
    check_prop("content-range", spans, |(a, len, extra)| {
        let end = a + len; // exclusive
        let total = end + extra;
        let r = parse_content_range(&format!("bytes {a}-{}/{total}", end - 1))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(r.span, Some((a, end)));
        prop_assert_eq!(r.total, Some(total));
        let q = parse_content_range(&format!("bytes */{total}"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(q.span.is_none());
        Ok(())
    });
    check_prop("content-range-any", "[ -~]{0,40}", |text| {
        if let Ok(r) = parse_content_range(&text) {
            if let Some((s, e)) = r.span {
                prop_assert!(s < e, "empty or reversed span from {:?}", text);
                prop_assert!(
                    r.total.is_none_or(|t| e <= t),
                    "span past total in {:?}",
                    text
                );
            }
        }
        Ok(())
    });
}

/// Resumable Uploads for HTTP: integers, booleans and SHA-256 digests round trip
/// (parameters ignored); a file name from any `Content-Disposition` is one path segment
/// without control characters, and RFC 8187 encoding of any name gives it back.
#[test]
fn rufh_fields_round_trip() {
    let values = (
        0u64..1_000_000_000_000_000,
        any::<bool>(),
        any::<[u8; 32]>(),
        "[ -~]{0,12}",
    );
    check_prop("rufh", values, |(n, b, d, param)| {
        let param = param.replace([',', ':'], "");
        prop_assert_eq!(
            rufh::parse_sf_u64("x", &format!("{n};{param}")).ok(),
            Some(n)
        );
        let text = if b { "?1" } else { "?0" };
        prop_assert_eq!(rufh::parse_sf_bool("x", text).ok(), Some(b));
        let dict = format!("sha-512=:AAAA:, {}", rufh::format_sha256_digest(&d));
        prop_assert_eq!(rufh::parse_sha256_digest(&dict).ok().flatten(), Some(d));
        Ok(())
    });
    check_prop(
        "rufh-filename",
        ("[ -~]{0,60}", "\\PC{1,20}"),
        |(any_text, name)| {
            for text in [
                any_text.clone(),
                format!("inline; filename*=UTF-8''{}", pct(&name)),
            ] {
                if let Some(f) = rufh::disposition_filename(&text) {
                    prop_assert!(
                        !f.contains(['/', '\\']) && !f.chars().any(char::is_control),
                        "{:?}",
                        f
                    );
                    prop_assert!(f != "." && f != ".." && !f.is_empty());
                }
            }
            let plain = !name.contains(['/', '\\']) && name != "." && name != "..";
            if plain && !name.chars().any(char::is_control) {
                let text = format!("inline; filename*=UTF-8''{}", pct(&name));
                prop_assert_eq!(rufh::disposition_filename(&text), Some(name));
            }
            Ok(())
        },
    );
}

/// RFC 8187 percent-encoding of every byte but unreserved ones.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn download_ranges_stay_inside_the_resource() {
    let input = (
        prop_oneof!["bytes=[0-9]{0,4}-[0-9]{0,4}", "[ -~]{0,20}"],
        0u64..5000,
    );
    check_prop("range", input, |(text, len)| {
        if let Ok(ByteRange::Satisfiable(s, e)) = parse_range(&text, len) {
            prop_assert!(s < e && e <= len, "{:?} of {} gave {}..{}", text, len, s, e);
        }
        Ok(())
    });
}

#[test]
fn metadata_round_trips() {
    let pairs = prop::collection::btree_map(
        "[A-Za-z0-9_.-]{1,12}",
        prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        0..12,
    );
    check_prop("metadata", pairs, |pairs| {
        // An empty value is a bare key: `key ` and `key` mean the same once HTTP trims.
        let pairs: Vec<(String, Option<Vec<u8>>)> = pairs
            .into_iter()
            .map(|(k, v)| (k, v.filter(|v| !v.is_empty())))
            .collect();
        let text = format_metadata(&pairs);
        let back =
            parse_metadata(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
        prop_assert_eq!(back, pairs);
        Ok(())
    });
}

#[test]
fn tus_numbers_are_exactly_decimal_u64() {
    // At most 19 digits (every offset below 10^19, no overflow anywhere downstream);
    // surrounding whitespace is allowed (HTTP trims it); anything else is not.
    let input = (
        0u64..10_000_000_000_000_000_000,
        "[^0-9\\s]{1,2}",
        10_000_000_000_000_000_000u64..,
    );
    check_prop("tus-number", input, |(n, junk, big)| {
        let too_long = big.to_string();
        prop_assert!(parse_number("Upload-Offset", &too_long).is_err());
        let (before, after) = (format!("{junk}{n}"), format!("{n}{junk}"));
        prop_assert_eq!(parse_number("Upload-Offset", &n.to_string()).ok(), Some(n));
        prop_assert!(parse_number("Upload-Offset", &before).is_err());
        prop_assert!(parse_number("Upload-Offset", &after).is_err());
        Ok(())
    });
}

fn ks_fields() -> impl Strategy<Value = KsFields> {
    (
        1i64..10_000_000,
        1_000_000_000i64..4_000_000_000,
        prop_oneof![Just(0), Just(2)],
        "[A-Za-z0-9@._-]{0,40}",
        "[a-z0-9:*,]{0,30}",
    )
        .prop_map(
            |(partner_id, expiry, session_type, user, privileges)| KsFields {
                partner_id,
                expiry,
                session_type,
                user,
                privileges,
            },
        )
}

/// Privileges as a session means them: the non-empty items, `*` as `all:*`, `k:` as
/// `k` (a v2 KS carries them as a query of keys and values, so it canonicalizes).
fn privileges(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| match i.split_once(':') {
            Some((k, "")) => k,
            _ => i,
        })
        .filter(|i| !i.is_empty())
        .map(|i| {
            if i == "*" {
                "all:*".to_owned()
            } else {
                i.to_owned()
            }
        })
        .collect()
}

#[test]
fn sessions_verify_only_untouched() {
    let secret = "0123456789abcdef0123456789abcdef";
    let input = (
        ks_fields(),
        any::<[u8; 16]>(),
        any::<bool>(),
        any::<prop::sample::Index>(),
        any::<u8>(),
    );
    check_prop("ks", input, |(f, rand, v1, at, byte)| {
        let ks = if v1 {
            mint_v1(secret, &f, "r4nd")
        } else {
            mint_v2(secret, &f, rand)
        };
        let k = verify(&ks, &[secret]).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(
            (k.partner_id, k.expiry, k.session_type),
            (f.partner_id, f.expiry, f.session_type)
        );
        prop_assert_eq!(&k.user, &f.user);
        prop_assert_eq!(privileges(&k.privileges), privileges(&f.privileges));
        prop_assert!(verify(&ks, &["another-secret-another-secret-00"]).is_err());
        // One character changed (not in the base64 tail, whose last bits may be
        // ignored): refused, or — a no-op change — the very same session.
        let mut b = ks.clone().into_bytes();
        let i = at.index(b.len().saturating_sub(4).max(1));
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let c = alphabet[byte as usize % alphabet.len()];
        if b[i] != c {
            b[i] = c;
            let tampered = String::from_utf8(b).unwrap_or_default();
            if let Ok(t) = verify(&tampered, &[secret]) {
                // The partner id of a v2 header is clear text outside the seal
                // (Kaltura's format): a changed one verifies only where the same secret
                // serves two partners, which the gateway refuses at start-up.
                prop_assert!(
                    t.session_id == k.session_id || t.partner_id != k.partner_id,
                    "a tampered KS verified as another session of the same partner"
                );
            }
        }
        Ok(())
    });
    check_prop("ks-any", "[ -~]{0,200}", |text| {
        prop_assert!(verify(&text, &[secret]).is_err());
        Ok(())
    });
}

/// One multipart part: name, file name, content.
type Part = (String, Option<String>, Vec<u8>);

fn multipart_body(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = file {
            body.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[test]
fn multipart_parses_the_same_however_it_is_split() {
    let part = (
        "[a-z]{1,8}",
        prop::option::of("[A-Za-z0-9 ._-]{1,12}"),
        prop::collection::vec(any::<u8>(), 0..3000),
    );
    let input = (
        "[A-Za-z0-9'()+_,./:=?-]{1,40}",
        prop::collection::vec(part, 1..5),
        prop::collection::vec(1usize..700, 1..20),
    );
    check_prop("multipart", input, |(boundary, parts, cuts)| {
        let delim = format!("\r\n--{boundary}");
        prop_assume!(!parts
            .iter()
            .any(|(_, _, c)| c.windows(delim.len()).any(|w| w == delim.as_bytes())));
        let body = multipart_body(&boundary, &parts);
        let mut parser = Parser::new(&boundary);
        let mut events = Vec::new();
        let (mut pos, mut i) = (0, 0);
        while pos < body.len() {
            let n = cuts[i % cuts.len()].min(body.len() - pos);
            parser
                .feed(Bytes::copy_from_slice(&body[pos..pos + n]), &mut events)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            pos += n;
            i += 1;
        }
        prop_assert!(parser.finish().is_ok());
        let mut got: Vec<Part> = Vec::new();
        let mut ended = false;
        for e in events {
            match e {
                Event::Part { name, filename } => got.push((name, filename, Vec::new())),
                Event::Data(d) => got
                    .last_mut()
                    .expect("data in a part")
                    .2
                    .extend_from_slice(&d),
                Event::PartEnd => {}
                Event::End => ended = true,
            }
        }
        prop_assert!(ended);
        prop_assert_eq!(got, parts);
        Ok(())
    });
}

#[test]
fn kaltura_nested_syntaxes_agree() {
    let path = prop::collection::vec("[a-zA-Z][a-zA-Z0-9]{0,6}", 1..4);
    let input = prop::collection::btree_map(path, "[ -~é]{0,20}", 1..8);
    check_prop("kaltura-params", input, |entries| {
        // Paths of one case must not nest inside each other (a value and a map at once
        // is resolved by order, as in PHP): keep those of the first length.
        let len = entries.keys().next().map_or(1, Vec::len);
        let entries: Vec<_> = entries
            .into_iter()
            .filter(|(p, _)| p.len() == len)
            .collect();
        let (mut colon, mut bracket) = (Params::new(), Params::new());
        let mut json = serde_json::Map::new();
        for (path, value) in &entries {
            prop_assert!(colon.insert_flat(&path.join(":"), value));
            let b = format!(
                "{}{}",
                path[0],
                path[1..]
                    .iter()
                    .map(|p| format!("[{p}]"))
                    .collect::<String>()
            );
            prop_assert!(bracket.insert_flat(&b, value));
            let mut node = &mut json;
            for seg in &path[..path.len() - 1] {
                node = node
                    .entry(seg.clone())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()))
                    .as_object_mut()
                    .expect("an object on the way");
            }
            node.insert(
                path[path.len() - 1].clone(),
                serde_json::Value::String(value.clone()),
            );
        }
        let mut from_json = Params::new();
        from_json.merge_json(&serde_json::Value::Object(json));
        prop_assert_eq!(&colon, &bracket);
        for (path, value) in &entries {
            let mut p = &colon;
            for seg in &path[..path.len() - 1] {
                p = p.obj(seg).expect("nested map");
            }
            prop_assert_eq!(p.str(&path[path.len() - 1]), Some(value.as_str()));
            let mut q = &from_json;
            for seg in &path[..path.len() - 1] {
                q = q.obj(seg).expect("nested map from JSON");
            }
            prop_assert_eq!(
                q.get(&path[path.len() - 1]),
                Some(&Param::Str(value.clone()))
            );
        }
        Ok(())
    });
}

fn srt_time(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02},{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[test]
fn captions_keep_every_cue() {
    let cue = (
        0u64..5000,
        1u64..5000,
        prop::collection::vec("[A-Za-z0-9 ,.!?é']{1,30}", 1..3),
    );
    check_prop("captions", prop::collection::vec(cue, 1..20), |cues| {
        let mut srt = String::new();
        let mut t = 0;
        for (i, (gap, len, lines)) in cues.iter().enumerate() {
            let start = t + gap;
            t = start + len;
            srt.push_str(&format!(
                "{}\n{} --> {}\n{}\n\n",
                i + 1,
                srt_time(start),
                srt_time(t),
                lines.join("\n")
            ));
        }
        prop_assert_eq!(sniff(&srt).ok(), Some(CaptionFormat::Srt));
        prop_assert_eq!(check(&srt, CaptionFormat::Srt).ok(), Some(cues.len()));
        let vtt = to_webvtt(&srt, CaptionFormat::Srt);
        prop_assert!(vtt.starts_with("WEBVTT"));
        prop_assert_eq!(check(&vtt, CaptionFormat::WebVtt).ok(), Some(cues.len()));
        Ok(())
    });
    check_prop("captions-any", "(WEBVTT\n\n)?[ -~\n]{0,300}", |text| {
        let _ = sniff(&text);
        for f in [CaptionFormat::Srt, CaptionFormat::WebVtt] {
            if check(&text, f).is_ok() {
                prop_assert!(check(&to_webvtt(&text, f), CaptionFormat::WebVtt).is_ok());
            }
        }
        Ok(())
    });
}

#[test]
fn zoom_csv_and_dates_round_trip() {
    let rows = prop::collection::vec(
        (
            "[a-z]{1,5}",
            prop::collection::vec("[ -~\n\"é,]{0,12}", 0..5),
        ),
        1..10,
    );
    check_prop("zoom-csv", rows, |rows| {
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(first, rest)| std::iter::once(first).chain(rest).collect())
            .collect();
        let text: String = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\r\n"
            })
            .collect();
        prop_assert_eq!(parse_csv(&text), rows);
        Ok(())
    });
    let when = (
        1971i64..2100,
        1u32..13,
        1u32..29,
        0i64..24,
        0i64..60,
        0i64..60,
    );
    check_prop("zoom-dates", when, |(y, m, d, h, min, s)| {
        let want = days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60 + s;
        let iso = format!("{y}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z");
        prop_assert_eq!(parse_time(&iso), Some(want));
        let (h12, ampm) = match h {
            0 => (12, "AM"),
            1..=11 => (h, "AM"),
            12 => (12, "PM"),
            _ => (h - 12, "PM"),
        };
        let us = format!("{m:02}/{d:02}/{y} {h12:02}:{min:02}:{s:02} {ampm}");
        prop_assert_eq!(parse_time(&us), Some(want));
        Ok(())
    });
}
