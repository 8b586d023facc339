//! What a WebM/Matroska or MP3 file is, from its first bytes (sans-IO: give it the
//! head of the file and its total length). MP4/MOV/M4A are read by the gateway with
//! Mozilla's `mp4parse`; these two formats have no maintained pure-Rust header reader
//! small enough to pull in, and their headers are simple:
//! - WebM/Matroska: the EBML header's `DocType`, then the `Segment`'s `Info`
//!   (`TimecodeScale`, `Duration`) and `Tracks` (a video track's `PixelWidth` and
//!   `PixelHeight`), which muxers write before the first `Cluster`;
//! - MP3: after an ID3v2 tag, two consecutive MPEG audio Layer III frame headers; the
//!   duration from a Xing/Info header when there is one (VBR), else from the bitrate.

/// A media file's header, as far as upgate reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaHeader {
    /// `webm`, `matroska`, `mp3`.
    pub container: String,
    pub content_type: String,
    pub ext: String,
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
}

/// The first bytes worth giving to [`probe`].
pub const HEAD_BYTES: usize = 256 * 1024;

/// What `head` (the first bytes of a file of `len` bytes) is, if WebM or MP3.
pub fn probe(head: &[u8], len: u64) -> Option<MediaHeader> {
    webm(head).or_else(|| mp3(head, len))
}

/// An EBML variable-length integer at `b[0..]`: (value, length); `marker` keeps the
/// length bits (element ids do, sizes do not).
fn vint(b: &[u8], marker: bool) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = if marker {
        u64::from(first)
    } else {
        u64::from(first) & ((1u64 << (8 - len)) - 1)
    };
    for x in &b[1..len] {
        v = (v << 8) | u64::from(*x);
    }
    Some((v, len))
}

/// One EBML element at `b[0..]`: (id, data start, data end — `None` when the size is
/// unknown or past the buffer).
fn element(b: &[u8]) -> Option<(u64, usize, Option<usize>)> {
    let (id, il) = vint(b, true)?;
    let (size, sl) = vint(&b[il..], false)?;
    let start = il + sl;
    let unknown = size == (1u64 << (7 * sl)) - 1;
    let end = (!unknown)
        .then(|| start.checked_add(usize::try_from(size).ok()?))
        .flatten()
        .filter(|e| *e <= b.len());
    Some((id, start, end))
}

fn uint(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0, |v, x| (v << 8) | u64::from(*x))
}

fn float(b: &[u8]) -> Option<f64> {
    match b.len() {
        4 => Some(f64::from(f32::from_be_bytes(b.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(b.try_into().ok()?)),
        _ => None,
    }
}

const EBML: u64 = 0x1A45_DFA3;
const DOC_TYPE: u64 = 0x4282;
const SEGMENT: u64 = 0x1853_8067;
const INFO: u64 = 0x1549_A966;
const TIMECODE_SCALE: u64 = 0x2A_D7B1;
const DURATION: u64 = 0x4489;
const TRACKS: u64 = 0x1654_AE6B;
const TRACK_ENTRY: u64 = 0xAE;
const VIDEO: u64 = 0xE0;
const PIXEL_WIDTH: u64 = 0xB0;
const PIXEL_HEIGHT: u64 = 0xBA;
const CLUSTER: u64 = 0x1F43_B675;

/// Calls `f(id, data)` for each child element of `b` whose data is in the buffer;
/// stops at a `Cluster` or at an element reaching past the buffer.
fn children(b: &[u8], f: &mut dyn FnMut(u64, &[u8])) {
    let mut pos = 0;
    while pos < b.len() {
        let Some((id, start, end)) = element(&b[pos..]) else {
            return;
        };
        if id == CLUSTER {
            return;
        }
        match end {
            Some(end) => {
                f(id, &b[pos + start..pos + end]);
                pos += end;
            }
            // Unknown size (a live Segment): its children follow in the buffer.
            None if id == SEGMENT => {
                f(id, &b[pos + start..]);
                return;
            }
            None => return,
        }
    }
}

fn webm(b: &[u8]) -> Option<MediaHeader> {
    let (id, start, end) = element(b)?;
    if id != EBML {
        return None;
    }
    let end = end?;
    let mut doc = String::new();
    children(&b[start..end], &mut |id, data| {
        if id == DOC_TYPE {
            doc = String::from_utf8_lossy(data)
                .trim_end_matches('\0')
                .to_owned();
        }
    });
    if doc != "webm" && doc != "matroska" {
        return None;
    }
    let mut h = MediaHeader {
        content_type: if doc == "webm" {
            "video/webm"
        } else {
            "video/x-matroska"
        }
        .into(),
        ext: if doc == "webm" { "webm" } else { "mkv" }.into(),
        container: doc,
        ..Default::default()
    };
    let (mut scale, mut duration) = (1_000_000u64, None::<f64>);
    children(&b[end..], &mut |id, seg| {
        if id != SEGMENT {
            return;
        }
        children(seg, &mut |id, data| match id {
            INFO => children(data, &mut |id, v| match id {
                TIMECODE_SCALE => scale = uint(v).max(1),
                DURATION => duration = float(v),
                _ => {}
            }),
            TRACKS => children(data, &mut |id, entry| {
                if id != TRACK_ENTRY {
                    return;
                }
                children(entry, &mut |id, video| {
                    if id == VIDEO && h.width == 0 {
                        children(video, &mut |id, v| match id {
                            PIXEL_WIDTH => h.width = uint(v) as u32,
                            PIXEL_HEIGHT => h.height = uint(v) as u32,
                            _ => {}
                        });
                    }
                });
            }),
            _ => {}
        });
    });
    if let Some(d) = duration.filter(|d| d.is_finite() && *d >= 0.0) {
        h.duration_ms = (d * scale as f64 / 1e6) as u64;
    }
    if h.width == 0 && h.container == "webm" {
        h.content_type = "audio/webm".into();
    }
    Some(h)
}

/// An MPEG audio Layer III frame header: (bitrate kbit/s, sample rate, samples per
/// frame, frame length in bytes, side-info length).
fn mp3_frame(b: &[u8]) -> Option<(u32, u32, u32, usize, usize)> {
    if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b[1] >> 3) & 3; // 3: MPEG1, 2: MPEG2, 0: MPEG2.5
    let layer = (b[1] >> 1) & 3; // 1: Layer III
    if version == 1 || layer != 1 {
        return None;
    }
    let mpeg1 = version == 3;
    const V1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let bi = usize::from(b[2] >> 4);
    let si = usize::from((b[2] >> 2) & 3);
    if bi == 0 || bi == 15 || si == 3 {
        return None;
    }
    let bitrate = if mpeg1 { V1[bi] } else { V2[bi] };
    let rate = [44_100, 48_000, 32_000][si]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let padding = usize::from((b[2] >> 1) & 1);
    let samples = if mpeg1 { 1152 } else { 576 };
    let len = (samples / 8 * bitrate * 1000 / rate) as usize + padding;
    let mono = b[3] >> 6 == 3;
    let side = match (mpeg1, mono) {
        (true, false) => 32,
        (true, true) | (false, false) => 17,
        (false, true) => 9,
    };
    Some((bitrate, rate, samples, len, side))
}

fn mp3(b: &[u8], len: u64) -> Option<MediaHeader> {
    let mut pos = 0;
    if b.len() >= 10 && &b[..3] == b"ID3" {
        let size = b[6..10]
            .iter()
            .fold(0usize, |v, x| (v << 7) | usize::from(x & 0x7F));
        pos = 10 + size + if b[5] & 0x10 != 0 { 10 } else { 0 };
    }
    // The first frame: within 4 KiB of the tag, followed by a second one.
    for start in pos..(pos + 4096).min(b.len().saturating_sub(4)) {
        let Some((bitrate, rate, samples, flen, side)) = mp3_frame(&b[start..]) else {
            continue;
        };
        if b.get(start + flen..).and_then(mp3_frame).is_none() {
            continue;
        }
        let mut h = MediaHeader {
            container: "mp3".into(),
            content_type: "audio/mpeg".into(),
            ext: "mp3".into(),
            ..Default::default()
        };
        let xing = start + 4 + side;
        let frames = b
            .get(xing..xing + 12)
            .filter(|x| &x[..4] == b"Xing" || &x[..4] == b"Info")
            .filter(|x| x[7] & 1 != 0)
            .map(|x| u64::from(u32::from_be_bytes([x[8], x[9], x[10], x[11]])));
        h.duration_ms = match frames {
            Some(n) => n * u64::from(samples) * 1000 / u64::from(rate),
            None => len.saturating_sub(start as u64) * 8 / u64::from(bitrate),
        };
        return Some(h);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element with an 8-byte size (`0x01` and 7 bytes).
    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.push(0x01);
        v.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn webm_header() {
        let header = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        let info = el(
            &[0x15, 0x49, 0xA9, 0x66],
            &[
                el(&[0x2A, 0xD7, 0xB1], &1_000_000u32.to_be_bytes()),
                el(&[0x44, 0x89], &12_345.0f64.to_be_bytes()),
            ]
            .concat(),
        );
        let video = el(
            &[0xE0],
            &[el(&[0xB0], &[0x05, 0x00]), el(&[0xBA], &[0x02, 0xD0])].concat(),
        );
        let tracks = el(
            &[0x16, 0x54, 0xAE, 0x6B],
            &el(&[0xAE], &[el(&[0x83], &[1]), video].concat()),
        );
        let cluster = el(&[0x1F, 0x43, 0xB6, 0x75], &[0; 100]);
        let segment = el(&[0x18, 0x53, 0x80, 0x67], &[info, tracks, cluster].concat());
        let file = [header, segment].concat();
        let h = probe(&file, file.len() as u64).unwrap();
        assert_eq!(
            (h.container.as_str(), h.width, h.height, h.duration_ms),
            ("webm", 1280, 720, 12_345)
        );
        assert_eq!(h.content_type, "video/webm");
        assert!(probe(b"\x1a\x45\xdf\xa3garbage", 12).is_none());
    }

    #[test]
    fn mp3_header() {
        // MPEG1 Layer III, 128 kbit/s, 44.1 kHz, stereo: 417-byte frames.
        let frame = |pad: bool| {
            let mut f = vec![0xFF, 0xFB, 0x90 | if pad { 2 } else { 0 }, 0x00];
            f.resize(417 + usize::from(pad), 0);
            f
        };
        let mut file = b"ID3\x03\x00\x00\x00\x00\x00\x0a".to_vec();
        file.extend_from_slice(&[0; 10]);
        for _ in 0..100 {
            file.extend(frame(false));
        }
        let h = probe(&file, file.len() as u64).unwrap();
        assert_eq!(
            (h.container.as_str(), h.content_type.as_str()),
            ("mp3", "audio/mpeg")
        );
        // 41,700 bytes at 128 kbit/s: 2.606 s.
        assert_eq!(h.duration_ms, 41_700 * 8 / 128);
        // With a Xing header saying 1,000 frames: 1,000 × 1152 / 44,100 s.
        let mut vbr = frame(false);
        vbr[36..40].copy_from_slice(b"Xing");
        vbr[43] = 1;
        vbr[44..48].copy_from_slice(&1000u32.to_be_bytes());
        let file = [vbr, frame(false), frame(false)].concat();
        assert_eq!(
            probe(&file, file.len() as u64).unwrap().duration_ms,
            1000 * 1152 * 1000 / 44_100
        );
        assert!(probe(&[0xFF; 64], 64).is_none());
    }
}
