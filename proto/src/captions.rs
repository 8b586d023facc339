//! Caption files: SRT and WebVTT checked, SRT converted to WebVTT as Canvas converts it
//! (`WEBVTT` header, `,` → `.` in timestamps, single-digit hour fields padded, CRLF →
//! LF), TTML/DFXP refused. Sans-IO: text in, text out.

use crate::error::ParseError;

/// Caption formats upgate stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptionFormat {
    Srt,
    WebVtt,
}

impl CaptionFormat {
    /// Kaltura's `KalturaCaptionType` value (`1` SRT, `3` WEBVTT).
    pub fn kaltura_type(self) -> &'static str {
        match self {
            CaptionFormat::Srt => "1",
            CaptionFormat::WebVtt => "3",
        }
    }

    /// The format of a `KalturaCaptionType` value; `None` for the ones upgate refuses
    /// (`2` DFXP/TTML, `4` CAP, `5` SCC, …).
    pub fn from_kaltura_type(v: &str) -> Option<Self> {
        match v.trim() {
            "1" => Some(CaptionFormat::Srt),
            "3" => Some(CaptionFormat::WebVtt),
            _ => None,
        }
    }

    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            CaptionFormat::Srt => "srt",
            CaptionFormat::WebVtt => "vtt",
        }
    }

    /// `Content-Type` when served.
    pub fn content_type(self) -> &'static str {
        match self {
            CaptionFormat::Srt => "application/x-subrip; charset=utf-8",
            CaptionFormat::WebVtt => "text/vtt; charset=utf-8",
        }
    }
}

const WHAT: &str = "captions";

fn bad(why: &str) -> ParseError {
    ParseError::new(WHAT, why)
}

/// Guesses the format of a caption text: WebVTT by its header, TTML refused, else SRT
/// (checked by [`check`]).
pub fn sniff(text: &str) -> Result<CaptionFormat, ParseError> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("WEBVTT") {
        return Ok(CaptionFormat::WebVtt);
    }
    if t.starts_with('<') {
        return Err(bad(
            "TTML/DFXP captions are not supported; send SRT or WebVTT",
        ));
    }
    Ok(CaptionFormat::Srt)
}

/// One `HH:MM:SS,mmm` (SRT) or `[HH:]MM:SS.mmm` (WebVTT) timestamp, as milliseconds.
fn timestamp(s: &str, srt: bool) -> Option<u64> {
    let (clock, frac) = s.trim().split_once(if srt { ',' } else { '.' })?;
    if frac.len() != 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = clock.split(':').collect();
    let nums: Option<Vec<u64>> = parts
        .iter()
        .map(|p| {
            (!p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect();
    let nums = nums?;
    let (h, m, sec) = match nums.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] if !srt => (0, *m, *s),
        _ => return None,
    };
    (m < 60 && sec < 60)
        .then(|| ((h * 60 + m) * 60 + sec) * 1000 + frac.parse::<u64>().unwrap_or(0))
}

/// Checks a caption text of `format`: at least one cue, every timing line well formed,
/// cues not ending before they start. Returns the number of cues.
pub fn check(text: &str, format: CaptionFormat) -> Result<usize, ParseError> {
    let srt = format == CaptionFormat::Srt;
    if !srt && !text.trim_start_matches('\u{feff}').starts_with("WEBVTT") {
        return Err(bad("WebVTT must start with WEBVTT"));
    }
    let mut cues = 0;
    for line in text.lines() {
        let Some((a, b)) = line.split_once("-->") else {
            continue;
        };
        // WebVTT cue settings may follow the end time.
        let b = b.split_whitespace().next().unwrap_or("");
        match (timestamp(a, srt), timestamp(b, srt)) {
            (Some(start), Some(end)) if end >= start => cues += 1,
            (Some(_), Some(_)) => return Err(bad(&format!("cue ends before it starts: {line:?}"))),
            _ => return Err(bad(&format!("bad timing line {line:?}"))),
        }
    }
    if cues == 0 {
        return Err(bad("no cues"));
    }
    Ok(cues)
}

/// An SRT text as WebVTT (Canvas's conversion); a WebVTT text is returned unchanged
/// but for line endings.
pub fn to_webvtt(text: &str, format: CaptionFormat) -> String {
    let lf = text.replace("\r\n", "\n").replace('\r', "\n");
    if format == CaptionFormat::WebVtt {
        return lf;
    }
    let mut out = String::from("WEBVTT\n\n");
    for line in lf.trim_start_matches('\u{feff}').lines() {
        match line.split_once("-->") {
            Some((a, b)) if timestamp(a, true).is_some() => {
                let fix = |t: &str| {
                    let t = t.trim().replace(',', ".");
                    // `0:00:01.000` → `00:00:01.000`
                    match t.find(':') {
                        Some(1) => format!("0{t}"),
                        _ => t,
                    }
                };
                let (end, rest) = match b.trim().split_once(char::is_whitespace) {
                    Some((e, r)) => (e, format!(" {r}")),
                    None => (b.trim(), String::new()),
                };
                out.push_str(&format!("{} --> {}{rest}\n", fix(a), fix(end)));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_to_webvtt_as_canvas_does() {
        let srt = "1\r\n0:00:00,000 --> 00:00:01,251\r\nI'm spanish\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nHola\r\n";
        assert_eq!(sniff(srt).unwrap(), CaptionFormat::Srt);
        assert_eq!(check(srt, CaptionFormat::Srt).unwrap(), 2);
        assert_eq!(
            to_webvtt(srt, CaptionFormat::Srt),
            "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.251\nI'm spanish\n\n2\n00:00:02.000 --> 00:00:03.000\nHola\n"
        );
    }

    #[test]
    fn webvtt_checked_and_ttml_refused() {
        let vtt = "WEBVTT\n\n00:01.000 --> 00:02.500 align:start\nHi\n";
        assert_eq!(sniff(vtt).unwrap(), CaptionFormat::WebVtt);
        assert_eq!(check(vtt, CaptionFormat::WebVtt).unwrap(), 1);
        assert!(sniff("<?xml version=\"1.0\"?><tt xmlns=\"http://www.w3.org/ns/ttml\"/>").is_err());
        assert!(check("no cues at all", CaptionFormat::Srt).is_err());
        assert!(check(
            "1\n00:00:02,000 --> 00:00:01,000\nback\n",
            CaptionFormat::Srt
        )
        .is_err());
        assert!(check("1\n00:00:61,000 --> 00:01:00,000\nx\n", CaptionFormat::Srt).is_err());
        assert!(check("1\n00:00:01.000 --> 00:00:02.000\nx\n", CaptionFormat::Srt).is_err());
        assert!(
            check("00:01.000 --> 00:02.000\nx\n", CaptionFormat::WebVtt).is_err(),
            "header"
        );
    }
}
