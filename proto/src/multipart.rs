//! A streaming `multipart/form-data` parser (RFC 7578), sans-IO and zero-copy: feed it
//! the body's chunks as they arrive and it emits part headers and data slices of those
//! same chunks (`Bytes::slice`, no copy), keeping at most one delimiter's worth of bytes
//! between chunks. Memory is bounded whatever the part sizes, so a file part can stream
//! straight to storage.
//!
//! Tolerates what real clients send: a preamble (Node's client starts with `\r\n`), and
//! a closing delimiter with or without a trailing CRLF. Part headers are limited to
//! [`MAX_HEADERS`] bytes.

use bytes::{Bytes, BytesMut};

/// Largest header block of one part.
pub const MAX_HEADERS: usize = 16 * 1024;

/// What the parser found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part starts: its field name and, for file parts, the client's file name.
    Part {
        name: String,
        filename: Option<String>,
    },
    /// Bytes of the current part (possibly one of many pieces).
    Data(Bytes),
    /// The current part ended.
    PartEnd,
    /// The closing delimiter was read.
    End,
}

/// A malformed body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("part headers too large")]
    HeadersTooLarge,
    #[error("malformed part headers: {0}")]
    BadHeaders(String),
    #[error("body ended before the closing boundary")]
    Truncated,
    #[error("malformed boundary")]
    BadBoundary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter (discarding).
    Preamble,
    /// Just after a delimiter: `\r\n` (a part follows) or `--` (the end).
    AfterDelim,
    Headers,
    Body,
    Done,
}

/// The parser. Feed chunks with [`Parser::feed`], then call [`Parser::finish`] at EOF.
pub struct Parser {
    delim: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    state: State,
    carry: BytesMut,
}

/// Extracts the `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    for p in params.split(';') {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"');
            if v.is_empty() || v.len() > 200 {
                return None;
            }
            return Some(v.to_owned());
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Length of the longest suffix of `hay` that is a proper prefix of `needle`.
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    let max = needle.len().saturating_sub(1).min(hay.len());
    (1..=max)
        .rev()
        .find(|&k| hay[hay.len() - k..] == needle[..k])
        .unwrap_or(0)
}

impl Parser {
    pub fn new(boundary: &str) -> Self {
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary.as_bytes());
        let mut carry = BytesMut::new();
        carry.extend_from_slice(b"\r\n"); // lets a body that starts with "--boundary" match
        let finder = memchr::memmem::Finder::new(&delim).into_owned();
        Self {
            delim,
            finder,
            state: State::Preamble,
            carry,
        }
    }

    /// True once the closing delimiter was seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Processes one chunk of the body, appending events to `out`.
    pub fn feed(&mut self, input: Bytes, out: &mut Vec<Event>) -> Result<(), MultipartError> {
        let mut input = input;
        loop {
            match self.state {
                State::Done => return Ok(()),
                State::Preamble | State::Body => {
                    let emit = self.state == State::Body;
                    match self.scan(input, emit, out) {
                        Some(rest) => {
                            if emit {
                                out.push(Event::PartEnd);
                            }
                            self.state = State::AfterDelim;
                            input = rest;
                        }
                        None => return Ok(()),
                    }
                }
                State::AfterDelim => {
                    self.carry.extend_from_slice(&input);
                    if self.carry.len() < 2 {
                        return Ok(());
                    }
                    let head = self.carry.split_to(2);
                    match &head[..] {
                        b"--" => {
                            self.state = State::Done;
                            self.carry.clear();
                            out.push(Event::End);
                            return Ok(());
                        }
                        b"\r\n" => {
                            self.state = State::Headers;
                            input = self.carry.split().freeze();
                        }
                        _ => return Err(MultipartError::BadBoundary),
                    }
                }
                State::Headers => {
                    let start = self.carry.len().saturating_sub(3);
                    self.carry.extend_from_slice(&input);
                    let Some(end) = find(&self.carry[start..], b"\r\n\r\n").map(|i| i + start)
                    else {
                        if self.carry.len() > MAX_HEADERS {
                            return Err(MultipartError::HeadersTooLarge);
                        }
                        return Ok(());
                    };
                    if end > MAX_HEADERS {
                        return Err(MultipartError::HeadersTooLarge);
                    }
                    let block = self.carry.split_to(end + 4);
                    out.push(parse_headers(&block[..end])?);
                    self.state = State::Body;
                    input = self.carry.split().freeze();
                }
            }
        }
    }

    /// Searches for the delimiter across the carried bytes and `input`. Data before it
    /// is emitted (when `emit`); returns the bytes after the delimiter, or `None` when
    /// more input is needed.
    fn scan(&mut self, input: Bytes, emit: bool, out: &mut Vec<Event>) -> Option<Bytes> {
        let dl = self.delim.len();
        if !self.carry.is_empty() {
            // A delimiter may start inside the carried bytes.
            for k in 0..self.carry.len() {
                let head = &self.carry[k..];
                if !self.delim.starts_with(head) {
                    continue;
                }
                let need = dl - head.len();
                if input.len() >= need {
                    if input[..need] == self.delim[head.len()..] {
                        let data = self.carry.split_to(k).freeze();
                        self.carry.clear();
                        if emit && !data.is_empty() {
                            out.push(Event::Data(data));
                        }
                        return Some(input.slice(need..));
                    }
                } else if input[..] == self.delim[head.len()..head.len() + input.len()] {
                    let data = self.carry.split_to(k).freeze();
                    if emit && !data.is_empty() {
                        out.push(Event::Data(data));
                    }
                    self.carry.extend_from_slice(&input);
                    return None;
                }
            }
            let data = self.carry.split().freeze();
            if emit && !data.is_empty() {
                out.push(Event::Data(data));
            }
        }
        if let Some(i) = self.finder.find(&input) {
            if emit && i > 0 {
                out.push(Event::Data(input.slice(..i)));
            }
            return Some(input.slice(i + dl..));
        }
        let keep = partial_suffix(&input, &self.delim);
        let cut = input.len() - keep;
        if emit && cut > 0 {
            out.push(Event::Data(input.slice(..cut)));
        }
        self.carry.extend_from_slice(&input[cut..]);
        None
    }

    /// Checks the body ended properly (after the closing delimiter).
    pub fn finish(&self) -> Result<(), MultipartError> {
        match self.state {
            State::Done => Ok(()),
            _ => Err(MultipartError::Truncated),
        }
    }
}

/// Reads `Content-Disposition: form-data; name="…"; filename="…"` from a header block.
fn parse_headers(block: &[u8]) -> Result<Event, MultipartError> {
    let text = String::from_utf8_lossy(block);
    let mut name = None;
    let mut filename = None;
    for line in text.split("\r\n") {
        let Some((k, v)) = line.split_once(':') else {
            return Err(MultipartError::BadHeaders(format!(
                "header line without colon: {line:.40}"
            )));
        };
        if !k.trim().eq_ignore_ascii_case("content-disposition") {
            continue;
        }
        for param in split_params(v).into_iter().skip(1) {
            let Some((pk, pv)) = param.split_once('=') else {
                continue;
            };
            let pv = unquote(pv.trim());
            match pk.trim().to_ascii_lowercase().as_str() {
                "name" => name = Some(pv),
                "filename" => filename = Some(pv),
                _ => {}
            }
        }
    }
    let name = name.ok_or_else(|| MultipartError::BadHeaders("part without a name".into()))?;
    Ok(Event::Part { name, filename })
}

/// Splits on `;` outside quotes.
fn split_params(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in v.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(b: &str, preamble: &str, closing_crlf: bool) -> Vec<u8> {
        let mut v = preamble.as_bytes().to_vec();
        v.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{{\"a\":1}}\r\n"
            )
            .as_bytes(),
        );
        v.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"a;b \\\"c\\\".mp4\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        let data: Vec<u8> = (0..5000u32)
            .map(|i| if i % 97 == 0 { b'\r' } else { (i % 251) as u8 })
            .collect();
        v.extend_from_slice(&data);
        v.extend_from_slice(format!("\r\n--{b}--").as_bytes());
        if closing_crlf {
            v.extend_from_slice(b"\r\n");
        }
        v
    }

    fn run(input: &[u8], cuts: &[usize], b: &str) -> Result<Vec<Event>, MultipartError> {
        let mut p = Parser::new(b);
        let mut out = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(std::iter::once(&input.len())) {
            p.feed(Bytes::copy_from_slice(&input[last..c]), &mut out)?;
            last = c;
        }
        p.finish()?;
        Ok(out)
    }

    type Parts = Vec<(String, Option<String>)>;

    fn summarize(ev: &[Event]) -> (Parts, Vec<Vec<u8>>) {
        let mut parts = Vec::new();
        let mut datas = Vec::new();
        for e in ev {
            match e {
                Event::Part { name, filename } => {
                    parts.push((name.clone(), filename.clone()));
                    datas.push(Vec::new());
                }
                Event::Data(d) => datas.last_mut().unwrap().extend_from_slice(d),
                _ => {}
            }
        }
        (parts, datas)
    }

    #[test]
    fn every_split_point_gives_the_same_parts() {
        let b = "---------------------------0.123456789";
        for (pre, crlf) in [("", true), ("\r\n", false), ("junk preamble\r\n", true)] {
            let input = body(b, pre, crlf);
            let whole = summarize(&run(&input, &[], b).unwrap());
            assert_eq!(whole.0[0], ("json".into(), None));
            assert_eq!(
                whole.0[1],
                ("fileData".into(), Some("a;b \"c\".mp4".into()))
            );
            assert_eq!(whole.1[0], b"{\"a\":1}");
            assert_eq!(whole.1[1].len(), 5000);
            for cut in 0..input.len() {
                assert_eq!(
                    summarize(&run(&input, &[cut], b).unwrap()),
                    whole,
                    "cut at {cut}"
                );
            }
            let many: Vec<usize> = (1..input.len()).step_by(7).collect();
            assert_eq!(summarize(&run(&input, &many, b).unwrap()), whole);
        }
    }

    #[test]
    fn truncated_and_malformed() {
        let b = "xyz";
        let input = body(b, "", true);
        for cut in [10, 200, input.len() - 10] {
            let mut p = Parser::new(b);
            let mut out = Vec::new();
            p.feed(Bytes::copy_from_slice(&input[..cut]), &mut out)
                .unwrap();
            assert_eq!(p.finish(), Err(MultipartError::Truncated));
        }
        let huge = format!("--{b}\r\n{}\r\n\r\n", "X-Long: y".repeat(4000));
        assert_eq!(
            run(huge.as_bytes(), &[], b),
            Err(MultipartError::HeadersTooLarge)
        );
        let noname = format!("--{b}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{b}--");
        assert!(matches!(
            run(noname.as_bytes(), &[], b),
            Err(MultipartError::BadHeaders(_))
        ));
        let bad = format!("--{b}XX");
        assert_eq!(
            run(bad.as_bytes(), &[], b),
            Err(MultipartError::BadBoundary)
        );
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=x; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("text/plain; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }
}
