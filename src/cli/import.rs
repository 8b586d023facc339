//! `upgate import`: copies recordings by URL — the gateway pulls each source (resuming,
//! retrying, bounded), this command asks for the imports and follows them.
//!
//! - `zoom`: a Zoom "list recordings" JSON → per meeting an entry named "topic (date)"
//!   with `referenceId` = meeting UUID (and `adminTags` `zoomentry` when the session may
//!   set them), the MP4 as content, the M4A as a second entry (audio), the transcript
//!   (WebVTT) as a captions track. An entry with the same `referenceId` that is READY is
//!   skipped, one still importing is followed, one that failed is replaced: re-running
//!   resumes.
//! - `urls`: one `URL [name]` per line, the same way (`referenceId` from the URL).
//! - `report`: the Recordings page's CSV export against the user's media: the orphans
//!   (recordings that never arrived), with the days left before Zoom deletes them.
//!
//! Progress: a bar per import (bytes stored, as `media.get` reports them) and a total,
//! a summary table; `--json` prints one document instead. Exit code 1 when any failed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use upgate_proto::zoom::{self, Meeting};

use crate::client::http::Retry;
use crate::client::kaltura::Calls;
use crate::client::{ClientError, Protocol, PushOptions};
use crate::config::{Credentials, ImportCmd, ImportRun};

/// Imports followed at once (the gateway bounds how many run).
const IN_FLIGHT: usize = 8;
/// Largest transcript fetched for captions.
const MAX_TRANSCRIPT: usize = 10 << 20;
/// The captions label of a Zoom transcript (how a re-run recognizes it).
const TRANSCRIPT_LABEL: &str = "Zoom transcript";

/// One source to import.
#[derive(Debug, Clone)]
struct Item {
    reference_id: String,
    name: String,
    /// 1 video, 5 audio.
    media_type: i32,
    url: String,
    size_hint: u64,
    tags: String,
    zoom: bool,
    transcript: Option<String>,
}

/// What happened to one item.
#[derive(Debug, Clone, Serialize)]
struct Outcome {
    reference_id: String,
    name: String,
    entry_id: Option<String>,
    /// `imported`, `skipped` or `failed`.
    status: &'static str,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    captions: Option<String>,
    error: Option<String>,
}

pub async fn run(cmd: ImportCmd) -> u8 {
    match cmd {
        ImportCmd::Zoom {
            cred,
            recordings,
            headers,
            skip_audio,
            run,
        } => {
            let text = match std::fs::read_to_string(&recordings) {
                Ok(t) => t,
                Err(e) => return usage(&format!("{}: {e}", recordings.display())),
            };
            match zoom::parse_recordings(&text) {
                Ok(meetings) => {
                    let items = meetings
                        .iter()
                        .flat_map(|m| zoom_items(m, skip_audio))
                        .collect();
                    import_all(&cred, &run, &headers, items).await
                }
                Err(e) => usage(&e.to_string()),
            }
        }
        ImportCmd::Urls {
            cred,
            file,
            headers,
            run,
        } => match std::fs::read_to_string(&file) {
            Ok(text) => match url_items(&text) {
                Ok(items) => import_all(&cred, &run, &headers, items).await,
                Err(e) => usage(&e),
            },
            Err(e) => usage(&format!("{}: {e}", file.display())),
        },
        ImportCmd::Report {
            cred,
            zoom_csv,
            now,
            retention_days,
            json,
        } => report(&cred, &zoom_csv, now.as_deref(), retention_days, json).await,
    }
}

fn usage(why: &str) -> u8 {
    eprintln!("upgate import: {why}");
    2
}

/// The date part of a Zoom time, for names.
fn day_of(time: &str) -> String {
    match zoom::parse_time(time) {
        Some(t) => crate::model::clock::rfc3339(t.max(0) as u64)[..10].to_owned(),
        None => time.to_owned(),
    }
}

/// The entry name of a meeting: "topic (YYYY-MM-DD)".
fn meeting_name(topic: &str, start: &str) -> String {
    let topic = if topic.trim().is_empty() {
        "Zoom recording"
    } else {
        topic.trim()
    };
    format!("{topic} ({})", day_of(start))
}

/// The imports of one meeting.
fn zoom_items(m: &Meeting, skip_audio: bool) -> Vec<Item> {
    let largest = |t: &str| {
        m.files
            .iter()
            .filter(|f| f.file_type == t)
            .max_by_key(|f| f.file_size)
    };
    let (video, audio) = (largest("MP4"), largest("M4A"));
    let transcript = m
        .files
        .iter()
        .find(|f| f.file_type == "TRANSCRIPT" || f.file_type == "CC")
        .map(|f| f.download_url.clone());
    let name = meeting_name(&m.topic, &m.start_time);
    let tags = if m.id.is_empty() {
        "zoom".to_owned()
    } else {
        format!("zoom,zoom:{}", m.id)
    };
    let mut out = Vec::new();
    let main = video.or(audio);
    if let Some(f) = main {
        out.push(Item {
            reference_id: m.uuid.clone(),
            name: name.clone(),
            media_type: if f.file_type == "MP4" { 1 } else { 5 },
            url: f.download_url.clone(),
            size_hint: f.file_size,
            tags: tags.clone(),
            zoom: true,
            transcript,
        });
    }
    if let (Some(_), Some(a)) = (video, audio) {
        if !skip_audio {
            out.push(Item {
                reference_id: format!("{}/audio", m.uuid),
                name: format!("{name} (audio)"),
                media_type: 5,
                url: a.download_url.clone(),
                size_hint: a.file_size,
                tags,
                zoom: true,
                transcript: None,
            });
        }
    }
    out
}

/// `URL [name]` lines.
fn url_items(text: &str) -> Result<Vec<Item>, String> {
    use sha2::Digest;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (url, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("line {}: not an http(s) URL: {url:.80}", n + 1));
        }
        let name = match name.trim() {
            "" => url
                .split(['?', '#'])
                .next()
                .and_then(|p| p.rsplit('/').find(|s| !s.is_empty()))
                .map_or_else(|| url.to_owned(), upgate_proto::form::form_decode),
            n => n.to_owned(),
        };
        let digest = sha2::Sha256::digest(url.as_bytes());
        out.push(Item {
            reference_id: format!("url:{}", &upgate_proto::hex::hex(&digest)[..32]),
            name,
            media_type: 1,
            url: url.to_owned(),
            size_hint: 0,
            tags: String::new(),
            zoom: false,
            transcript: None,
        });
    }
    Ok(out)
}

fn options(cred: &Credentials, retries: u32) -> Result<PushOptions, String> {
    Ok(PushOptions {
        url: cred.url.trim_end_matches('/').to_owned(),
        protocol: Protocol::Kaltura,
        auth: cred.auth()?,
        chunk_size: 8 << 20,
        parallel: 1,
        checksum: false,
        create_entry: None,
        state_dir: crate::client::resume::default_dir(),
        retry: Retry {
            max_attempts: retries.max(1),
            ..Retry::default()
        },
        link: Arc::new(crate::client::link::Paced::new(0)),
    })
}

async fn import_all(
    cred: &Credentials,
    run: &ImportRun,
    headers: &[String],
    items: Vec<Item>,
) -> u8 {
    for h in headers {
        if !h.contains(':') {
            return usage(&format!("--header {h:?}: expected 'Name: value'"));
        }
    }
    if items.is_empty() {
        return usage("nothing to import");
    }
    let opts = match options(cred, run.retries) {
        Ok(o) => o,
        Err(e) => return usage(&e),
    };
    let calls = match Calls::open(&opts).await {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    let (multi, style) = super::bars(
        run.json,
        "{prefix:>28.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    );
    let total = multi.add(
        ProgressBar::new(items.iter().map(|i| i.size_hint).sum())
            .with_style(style.clone())
            .with_prefix("total"),
    );
    let ctx = (&calls, headers, run, &multi, &style, &total);
    let results: Vec<Outcome> = futures_util::stream::iter(items)
        .map(|item| one(ctx, item))
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    total.finish();
    if run.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).unwrap_or_default()
        );
    } else {
        eprintln!(
            "\n{:<40} {:<11} {:>9} {:>11}  error",
            "name", "entry", "status", "size"
        );
        for r in &results {
            eprintln!(
                "{:<40} {:<11} {:>9} {:>11}  {}",
                super::shorten(&r.name, 40),
                r.entry_id.as_deref().unwrap_or("-"),
                r.status,
                super::human(r.bytes as f64),
                r.error.as_deref().unwrap_or("")
            );
        }
    }
    u8::from(results.iter().any(|r| r.status == "failed"))
}

type Ctx<'a> = (
    &'a Calls<'a>,
    &'a [String],
    &'a ImportRun,
    &'a MultiProgress,
    &'a ProgressStyle,
    &'a ProgressBar,
);

/// Asks for one import and follows it to its end.
async fn one(ctx: Ctx<'_>, item: Item) -> Outcome {
    let (calls, headers, run, multi, style, total) = ctx;
    let bar = multi.insert_before(
        total,
        ProgressBar::new(item.size_hint)
            .with_style(style.clone())
            .with_prefix(super::shorten(&item.name, 28)),
    );
    let mut out = Outcome {
        reference_id: item.reference_id.clone(),
        name: item.name.clone(),
        entry_id: None,
        status: "failed",
        bytes: 0,
        captions: None,
        error: None,
    };
    let shown = |bar: &ProgressBar, done: u64| {
        let before = bar.position();
        if done > before {
            bar.set_position(done);
            total.inc(done - before);
        }
    };
    let started = match start(calls, headers, &item).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(e.to_string());
            bar.abandon_with_message("FAILED");
            return out;
        }
    };
    let (id, fresh) = match started {
        Started::Ready(e) => {
            out.entry_id = e["id"].as_str().map(str::to_owned);
            out.status = "skipped";
            out.bytes = size_of(&e);
            shown(&bar, bar.length().unwrap_or(0));
            bar.finish_with_message("already there");
            return out;
        }
        Started::Importing(id, fresh) => (id, fresh),
    };
    out.entry_id = Some(id.clone());
    if let (Some(url), true) = (&item.transcript, fresh) {
        out.captions = Some(match transcript(calls, headers, &id, url).await {
            Ok(()) => "attached".into(),
            Err(e) => format!("not attached: {e}"),
        });
    }
    let deadline = tokio::time::Instant::now() + run.timeout;
    loop {
        let e = match calls
            .call("media/action/get", &[("entryId", id.clone())])
            .await
        {
            Ok(e) => e,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        match e["status"].as_i64() {
            Some(0) => {
                if let Some(n) = e["importSize"].as_u64() {
                    bar.set_length(n);
                }
                shown(&bar, e["importedBytes"].as_u64().unwrap_or(0));
            }
            Some(2) => {
                out.status = "imported";
                out.bytes = size_of(&e);
                shown(&bar, out.bytes);
                bar.finish_with_message("done");
                return out;
            }
            Some(-2) => {
                out.error = Some(
                    e["importError"]
                        .as_str()
                        .unwrap_or("import failed")
                        .to_owned(),
                );
                break;
            }
            other => {
                out.error = Some(format!("unexpected entry status {other:?}"));
                break;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            out.error = Some(format!(
                "still importing after {:?} (it goes on; run again to follow it)",
                run.timeout
            ));
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bar.abandon_with_message("FAILED");
    out
}

fn size_of(e: &Value) -> u64 {
    e["fileSize"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| e["fileSize"].as_u64())
        .unwrap_or(0)
}

enum Started {
    /// Already imported: the entry.
    Ready(Value),
    /// Importing (`true`: asked for by this run).
    Importing(String, bool),
}

/// Finds the item's entry by `referenceId`, or makes one and asks for its import.
async fn start(calls: &Calls<'_>, headers: &[String], item: &Item) -> Result<Started, ClientError> {
    let found = calls
        .call(
            "media/action/list",
            &[
                ("filter[objectType]", "KalturaMediaEntryFilter".into()),
                ("filter[referenceIdEqual]", item.reference_id.clone()),
                ("pager[pageSize]", "500".into()),
            ],
        )
        .await?;
    let mut target = None;
    for e in found["objects"].as_array().into_iter().flatten() {
        let id = e["id"].as_str().unwrap_or("").to_owned();
        match e["status"].as_i64() {
            Some(2) => return Ok(Started::Ready(e.clone())),
            Some(0) => return Ok(Started::Importing(id, false)),
            Some(7) => target = Some(id),
            Some(-2) => {
                calls
                    .call("media/action/delete", &[("entryId", id)])
                    .await?;
            }
            _ => {}
        }
    }
    let id = match target {
        Some(id) => id,
        None => create(calls, item).await?,
    };
    let mut params = vec![
        ("entryId", id.clone()),
        ("resource[objectType]", "KalturaUrlResource".to_owned()),
        ("resource[url]", item.url.clone()),
    ];
    let keys: Vec<String> = (0..headers.len())
        .map(|i| format!("resource[urlHeaders][{i}][value]"))
        .collect();
    for (k, h) in keys.iter().zip(headers) {
        params.push((k.as_str(), h.clone()));
    }
    calls.call("media/action/addContent", &params).await?;
    Ok(Started::Importing(id, true))
}

/// `media.add` of the item's entry; `adminTags` only when the session may set them.
async fn create(calls: &Calls<'_>, item: &Item) -> Result<String, ClientError> {
    let mut params = vec![
        ("entry[objectType]", "KalturaMediaEntry".to_owned()),
        ("entry[name]", item.name.clone()),
        ("entry[mediaType]", item.media_type.to_string()),
        ("entry[referenceId]", item.reference_id.clone()),
        ("entry[tags]", item.tags.clone()),
    ];
    if item.zoom {
        params.push(("entry[adminTags]", "zoomentry".into()));
    }
    let made = match calls.call("media/action/add", &params).await {
        Err(ClientError::Kaltura { code, .. })
            if code == "PROPERTY_VALIDATION_ADMIN_PROPERTY" && item.zoom =>
        {
            params.pop();
            calls.call("media/action/add", &params).await?
        }
        other => other?,
    };
    made["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Protocol("media.add gave no id".into()))
}

/// Fetches the transcript (from this machine) and attaches it as WebVTT captions.
async fn transcript(
    calls: &Calls<'_>,
    headers: &[String],
    entry_id: &str,
    url: &str,
) -> Result<(), ClientError> {
    let mut req = crate::client::http::client()
        .get(url)
        .timeout(Duration::from_secs(120));
    for h in headers {
        if let Some((k, v)) = h.split_once(':') {
            req = req.header(k.trim(), v.trim());
        }
    }
    let network = |e: reqwest::Error| crate::client::http::network(url, &e.into());
    let mut resp = req.send().await.map_err(network)?;
    if !resp.status().is_success() {
        return Err(ClientError::Http {
            status: resp.status().as_u16(),
            body: String::new(),
        });
    }
    let mut vtt = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network)? {
        vtt.extend_from_slice(&chunk);
        if vtt.len() > MAX_TRANSCRIPT {
            return Err(ClientError::Protocol(
                "transcript larger than 10 MiB".into(),
            ));
        }
    }
    let vtt = String::from_utf8(vtt)
        .map_err(|_| ClientError::Protocol("transcript is not UTF-8 text".into()))?;
    let added = calls
        .call(
            "caption_captionasset/action/add",
            &[
                ("entryId", entry_id.to_owned()),
                ("captionAsset[objectType]", "KalturaCaptionAsset".into()),
                ("captionAsset[format]", "3".into()),
                ("captionAsset[language]", "English".into()),
                ("captionAsset[label]", TRANSCRIPT_LABEL.into()),
            ],
        )
        .await?;
    let id = added["id"].as_str().unwrap_or("").to_owned();
    calls
        .call(
            "caption_captionasset/action/setContent",
            &[
                ("id", id),
                (
                    "contentResource[objectType]",
                    "KalturaStringResource".into(),
                ),
                ("contentResource[content]", vtt),
            ],
        )
        .await?;
    Ok(())
}

/// One orphan of the report.
#[derive(Debug, Serialize)]
struct Orphan {
    topic: String,
    meeting_id: String,
    start_time: String,
    file_size: String,
    /// Whole days before Zoom deletes it (start + retention; negative: past it).
    days_left: Option<i64>,
}

/// Every entry the session sees (pages of 500).
async fn all_entries(calls: &Calls<'_>) -> Result<Vec<Value>, ClientError> {
    let mut out = Vec::new();
    for page in 1..=200 {
        let v = calls
            .call(
                "media/action/list",
                &[
                    ("pager[pageSize]", "500".into()),
                    ("pager[pageIndex]", page.to_string()),
                ],
            )
            .await?;
        let objs = v["objects"].as_array().cloned().unwrap_or_default();
        let n = objs.len();
        out.extend(objs);
        if n < 500 {
            break;
        }
    }
    Ok(out)
}

async fn report(
    cred: &Credentials,
    csv: &std::path::Path,
    now: Option<&str>,
    retention_days: i64,
    json: bool,
) -> u8 {
    let text = match std::fs::read_to_string(csv) {
        Ok(t) => t,
        Err(e) => return usage(&format!("{}: {e}", csv.display())),
    };
    let rows = match zoom::parse_export(&text) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    let now = match now {
        None => crate::model::now_secs() as i64,
        Some(t) => match zoom::parse_time(t) {
            Some(t) => t,
            None => return usage(&format!("--now {t:?}: expected YYYY-MM-DD or RFC 3339")),
        },
    };
    let opts = match options(cred, 20) {
        Ok(o) => o,
        Err(e) => return usage(&e),
    };
    let calls = match Calls::open(&opts).await {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    let entries = match all_entries(&calls).await {
        Ok(e) => e,
        Err(e) => return usage(&e.to_string()),
    };
    let mut orphans: Vec<Orphan> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        if !seen.insert((r.meeting_id.clone(), r.start_time.clone(), r.topic.clone())) {
            continue; // one row per file of the same recording
        }
        if entries.iter().any(|e| arrived(e, &r)) {
            continue;
        }
        orphans.push(Orphan {
            days_left: r
                .start
                .map(|s| (s + retention_days * 86_400 - now).div_euclid(86_400)),
            topic: r.topic,
            meeting_id: r.meeting_id,
            start_time: r.start_time,
            file_size: r.file_size,
        });
    }
    orphans.sort_by_key(|o| (o.days_left.unwrap_or(i64::MAX), o.start_time.clone()));
    if json {
        let doc = serde_json::json!({ "orphans": orphans, "count": orphans.len() });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if orphans.is_empty() {
        println!("every recording of the export is in your media");
    } else {
        println!(
            "{:>9}  {:<20} {:<14} {:>10}  topic",
            "days left", "start", "meeting id", "size"
        );
        for o in &orphans {
            let days = o.days_left.map_or("?".into(), |d| {
                if d < 0 {
                    format!("{d} (gone?)")
                } else {
                    d.to_string()
                }
            });
            println!(
                "{days:>9}  {:<20} {:<14} {:>10}  {}",
                super::shorten(&o.start_time, 20),
                o.meeting_id,
                o.file_size,
                o.topic
            );
        }
    }
    0
}

/// Whether entry `e` is the recording of export row `r` (READY, or still importing):
/// tagged with its meeting id, referencing it, or named as `upgate import zoom` names it
/// (topic and date). An entry whose import failed does not count.
fn arrived(e: &Value, r: &zoom::ExportRow) -> bool {
    if !matches!(e["status"].as_i64(), Some(0 | 2)) {
        return false;
    }
    let tags = e["tags"].as_str().unwrap_or("");
    let reference: String = e["referenceId"]
        .as_str()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let by_id = !r.meeting_id.is_empty()
        && (tags
            .split(',')
            .any(|t| t.trim() == format!("zoom:{}", r.meeting_id))
            || reference == r.meeting_id);
    let name = e["name"].as_str().unwrap_or("");
    by_id || name == meeting_name(&r.topic, &r.start_time)
}
