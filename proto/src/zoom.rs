//! Zoom's formats, as `upgate import` reads them: the JSON of the "list recordings"
//! API (`meetings[]` with `recording_files[]`), the CSV the Recordings page exports,
//! and the dates both use. Pure parsing: the command decides what to import.

use serde_json::Value;

use crate::ParseError;

/// One file of a cloud recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingFile {
    pub id: String,
    /// `MP4`, `M4A`, `TRANSCRIPT`, `CHAT`, `CC`, `TIMELINE`, …
    pub file_type: String,
    pub file_size: u64,
    pub download_url: String,
    pub recording_start: String,
}

/// One meeting's recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub uuid: String,
    /// The numeric meeting id (as text), when given.
    pub id: String,
    pub topic: String,
    pub start_time: String,
    pub host_email: String,
    pub files: Vec<RecordingFile>,
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The meetings of a "list recordings" answer (or of a single meeting's recording).
pub fn parse_recordings(json: &str) -> Result<Vec<Meeting>, ParseError> {
    const WHAT: &str = "Zoom recordings JSON";
    let v: Value = serde_json::from_str(json).map_err(|e| ParseError::new(WHAT, e.to_string()))?;
    let meetings: Vec<&Value> = match (&v["meetings"], v.get("recording_files")) {
        (Value::Array(m), _) => m.iter().collect(),
        (_, Some(_)) => vec![&v],
        _ => return Err(ParseError::new(WHAT, "no meetings[] array")),
    };
    let mut out = Vec::new();
    for m in meetings {
        let uuid = text(m, "uuid");
        if uuid.is_empty() {
            return Err(ParseError::new(WHAT, "a meeting without uuid"));
        }
        let files = m["recording_files"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .map(|f| RecordingFile {
                        id: text(f, "id"),
                        file_type: text(f, "file_type").to_ascii_uppercase(),
                        file_size: f["file_size"].as_u64().unwrap_or(0),
                        download_url: text(f, "download_url"),
                        recording_start: text(f, "recording_start"),
                    })
                    .filter(|f| !f.download_url.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        out.push(Meeting {
            uuid,
            id: text(m, "id"),
            topic: text(m, "topic"),
            start_time: text(m, "start_time"),
            host_email: text(m, "host_email"),
            files,
        });
    }
    Ok(out)
}

/// RFC 4180 CSV: quoted fields (with `""` and line breaks inside), CRLF or LF, a BOM.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| r.iter().any(|f| !f.trim().is_empty()));
    rows
}

/// One recording of the Recordings page's export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub topic: String,
    /// The meeting id, digits only.
    pub meeting_id: String,
    pub start_time: String,
    /// Unix seconds of `start_time`, when it parses.
    pub start: Option<i64>,
    pub file_size: String,
}

/// The rows of a Recordings export, found by their headers (`Topic`, `ID` or
/// `Meeting ID`, `Start Time`, `File Size…`, in any order and case).
pub fn parse_export(text: &str) -> Result<Vec<ExportRow>, ParseError> {
    const WHAT: &str = "Zoom recordings CSV";
    let rows = parse_csv(text);
    let Some((head, body)) = rows.split_first() else {
        return Err(ParseError::new(WHAT, "empty file"));
    };
    let names: Vec<String> = head.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let find = |pred: &dyn Fn(&str) -> bool| names.iter().position(|n| pred(n));
    let topic =
        find(&|n| n.contains("topic")).ok_or_else(|| ParseError::new(WHAT, "no Topic column"))?;
    let id = find(&|n| n == "id" || n.contains("meeting id") || n == "meeting id")
        .ok_or_else(|| ParseError::new(WHAT, "no ID column"))?;
    let start = find(&|n| n.contains("start"))
        .ok_or_else(|| ParseError::new(WHAT, "no Start Time column"))?;
    let size = find(&|n| n.contains("size"));
    let cell = |r: &Vec<String>, i: usize| r.get(i).map_or("", |s| s.trim()).to_owned();
    Ok(body
        .iter()
        .map(|r| {
            let start_time = cell(r, start);
            ExportRow {
                topic: cell(r, topic),
                meeting_id: cell(r, id).chars().filter(char::is_ascii_digit).collect(),
                start: parse_time(&start_time),
                start_time,
                file_size: size.map(|i| cell(r, i)).unwrap_or_default(),
            }
        })
        .collect())
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of the dates Zoom writes, read as UTC: `2026-11-20T15:04:05Z`,
/// `2026-11-20 15:04[:05]`, `11/20/2026 03:04 PM`, `Nov 20, 2026 03:04:05 PM`, or a bare
/// date. `None` for anything else.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let pm = lower.ends_with("pm");
    let am = lower.ends_with("am");
    let body = if pm || am { t[..t.len() - 2].trim() } else { t };
    let (date, time) = match body.find(['T', ' ']) {
        Some(i) if body[..i].contains(['-', '/']) => (&body[..i], body[i + 1..].trim()),
        _ if body.contains(',') => {
            // "Nov 20, 2026 03:04 PM"
            let (md, rest) = body.split_once(',')?;
            let rest = rest.trim();
            let (year, time) = rest.split_once(' ').unwrap_or((rest, ""));
            let mut it = md.split_whitespace();
            let mon = it.next()?.to_ascii_lowercase();
            let m = MONTHS.iter().position(|x| mon.starts_with(x))? as u32 + 1;
            let d: u32 = it.next()?.parse().ok()?;
            let y: i64 = year.trim().parse().ok()?;
            return civil(y, m, d, time, am, pm);
        }
        _ => (body, ""),
    };
    let (y, m, d) = if let Some((y, rest)) = date.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    } else {
        let mut it = date.split('/');
        let (m, d, y) = (it.next()?, it.next()?, it.next()?);
        (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    };
    civil(y, m, d, time, am, pm)
}

fn civil(y: i64, m: u32, d: u32, time: &str, am: bool, pm: bool) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let time = time.trim_end_matches('Z').trim();
    let time = time.split(['+', '.']).next().unwrap_or("");
    let mut parts = time.split(':').filter(|p| !p.is_empty());
    let mut h: i64 = parts.next().map_or(Some(0), |p| p.trim().parse().ok())?;
    let min: i64 = parts.next().map_or(Some(0), |p| p.trim().parse().ok())?;
    let s: i64 = parts.next().map_or(Some(0), |p| p.trim().parse().ok())?;
    if pm && h < 12 {
        h += 12;
    } else if am && h == 12 {
        h = 0;
    }
    if h > 23 || min > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_zoom_forms() {
        let want = days_from_civil(2026, 11, 20) * 86_400 + 15 * 3600 + 4 * 60;
        for t in [
            "2026-11-20T15:04:00Z",
            "2026-11-20 15:04",
            "2026-11-20 15:04:00",
            "11/20/2026 03:04 PM",
            "Nov 20, 2026 03:04 PM",
            "November 20, 2026 15:04:00",
        ] {
            assert_eq!(parse_time(t), Some(want), "{t}");
        }
        assert_eq!(
            parse_time("2026-11-20"),
            Some(days_from_civil(2026, 11, 20) * 86_400)
        );
        assert_eq!(
            parse_time("12/01/2026 12:30 AM"),
            Some(days_from_civil(2026, 12, 1) * 86_400 + 1800)
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-20 25:00",
            "Foo 3, 2026",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_quotes_and_exports() {
        let csv = "\u{feff}Topic,ID,Start Time,File Size (MB)\r\n\"Lecture, week 1\",\"123 4567 8901\",\"Nov 20, 2026 03:04 PM\",512\r\n\"He said \"\"hi\"\"\nthere\",999,2026-11-21 10:00,1\n\n";
        let rows = parse_export(csv).unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].topic, "Lecture, week 1");
        assert_eq!(rows[0].meeting_id, "12345678901");
        assert!(rows[0].start.is_some());
        assert_eq!(rows[1].topic, "He said \"hi\"\nthere");
        assert!(parse_export("Name,When\nx,y\n").is_err());
        assert!(parse_export("").is_err());
    }

    #[test]
    fn recordings_json() {
        let json = r#"{"meetings":[{"uuid":"abc==","id":123,"topic":"T","start_time":"2026-11-20T15:04:00Z",
            "recording_files":[{"id":"f1","file_type":"MP4","file_size":10,"download_url":"https://x/1"},
            {"id":"f2","file_type":"transcript","download_url":"https://x/2"},{"file_type":"CHAT"}]}]}"#;
        let m = parse_recordings(json).unwrap_or_default();
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].uuid.as_str(), m[0].id.as_str()), ("abc==", "123"));
        assert_eq!(m[0].files.len(), 2, "a file without URL is dropped");
        assert_eq!(m[0].files[1].file_type, "TRANSCRIPT");
        assert!(parse_recordings("{}").is_err());
        assert!(parse_recordings(r#"{"meetings":[{"topic":"x"}]}"#).is_err());
        assert!(parse_recordings("not json").is_err());
    }
}
