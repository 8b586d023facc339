//! URL imports end to end: a real gateway (child process) pulls from the scripted
//! origin of `common/origin.rs` through cut connections, stalls, 5xx answers, a source
//! that changes, redirects, and restarts of the gateway itself; and from a hostile
//! user's side: internal addresses (SSRF), malformed resources, another user's import.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::origin::{pattern_sha256, source_sha256, Origin, Source};
use common::*;
use serde_json::Value;
use upgate_proto::form::form_encode;

const MIB: u64 = 1 << 20;

fn partner_flag() -> String {
    format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}")
}

/// A gateway that may import from loopback sources.
fn gateway(dir: &std::path::Path, extra: &[&str]) -> ChildGateway {
    let partner = partner_flag();
    let mut args = vec![
        "--partner",
        partner.as_str(),
        "--import-allow-private",
        "--import-backoff",
        "100ms",
        "--import-stall-timeout",
        "2s",
        "--user-requests",
        "0",
    ];
    args.extend_from_slice(extra);
    ChildGateway::start(dir, &args)
}

/// An API v3 call in JSON (format 1).
async fn kcall(base: &str, service_action: &str, params: &[(&str, &str)]) -> Value {
    let mut form: Vec<(&str, &str)> = vec![("format", "1")];
    form.extend_from_slice(params);
    let r = client()
        .post(format!("{base}/api_v3/service/{service_action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .unwrap();
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

fn err_code(v: &Value) -> Option<&str> {
    (v["objectType"] == "KalturaAPIException").then(|| v["code"].as_str().unwrap_or(""))
}

/// `media.addFromUrl` for `ks`; the new entry's id.
async fn add_from_url(base: &str, ks: &str, name: &str, url: &str) -> String {
    let v = kcall(
        base,
        "media/action/addFromUrl",
        &[
            ("ks", ks),
            ("mediaEntry[objectType]", "KalturaMediaEntry"),
            ("mediaEntry[name]", name),
            ("mediaEntry[mediaType]", "1"),
            ("url", url),
        ],
    )
    .await;
    assert_eq!(err_code(&v), None, "{v}");
    assert_eq!(v["status"], 0, "IMPORT at first: {v}");
    v["id"].as_str().unwrap().to_owned()
}

/// `media.add` named `name`, then `media.addContent` with a `KalturaUrlResource` of `url`
/// and one `urlHeaders` line; the entry id and addContent's answer.
async fn add_url_content(
    base: &str,
    ks: &str,
    name: &str,
    url: &str,
    header: &str,
) -> (String, Value) {
    let add = kcall(
        base,
        "media/action/add",
        &[
            ("ks", ks),
            ("entry[objectType]", "KalturaMediaEntry"),
            ("entry[name]", name),
        ],
    )
    .await;
    let id = add["id"].as_str().unwrap().to_owned();
    let v = kcall(
        base,
        "media/action/addContent",
        &[
            ("ks", ks),
            ("entryId", &id),
            ("resource[objectType]", "KalturaUrlResource"),
            ("resource[url]", url),
            ("resource[urlHeaders][0][objectType]", "KalturaString"),
            ("resource[urlHeaders][0][value]", header),
        ],
    )
    .await;
    (id, v)
}

/// Waits until the entry leaves IMPORT; its final object.
async fn wait_entry(base: &str, ks: &str, id: &str, limit: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let v = kcall(base, "media/action/get", &[("ks", ks), ("entryId", id)]).await;
        if v["status"] != 0 || tokio::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SHA-256 the gateway reports for a finished entry's file (`Want-Digest`).
async fn entry_sha256(e: &Value) -> String {
    head_sha256(&client(), e["downloadUrl"].as_str().unwrap()).await
}

fn mib_from_env(default: u64) -> u64 {
    std::env::var("UPGATE_IMPORT_TEST_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_survives_three_drops_with_little_refetched() {
    let size = mib_from_env(1024) * MIB;
    let origin = Origin::start().await;
    let mut src = Source::new(7, size);
    src.drops = vec![size / 4 + 12345, size / 2 + 777, size * 3 / 4 + 1];
    origin.add("/lecture.mp4", src);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &[]);
    let ks = user_ks("alice", 0);
    let t0 = std::time::Instant::now();
    let id = add_from_url(&gw.base, &ks, "Lecture", &origin.url("/lecture.mp4")).await;
    let e = wait_entry(&gw.base, &ks, &id, Duration::from_secs(600)).await;
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(e["status"], 2, "READY: {e}");
    assert_eq!(e["fileSize"], size.to_string(), "{e}");
    let want = pattern_sha256(7, size);
    assert_eq!(entry_sha256(&e).await, want);
    let sent = origin.bytes_sent();
    let extra = sent.saturating_sub(size) as f64 / size as f64;
    eprintln!(
        "import of {} MiB through 3 drops: {secs:.1} s, origin sent {sent} bytes ({:.2} % again)",
        size / MIB,
        extra * 100.0
    );
    assert!(extra <= 0.05, "at most 5 % fetched twice: {extra}");
    let ranged: Vec<_> = origin
        .hits()
        .into_iter()
        .filter(|h| h.range.is_some())
        .collect();
    assert_eq!(ranged.len(), 3, "three resumptions by Range: {ranged:?}");
    assert!(ranged
        .iter()
        .all(|h| h.if_range.as_deref() == Some("\"v7-0\"") && h.status == 206));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_ignored_failing_and_stalled_sources() {
    let origin = Origin::start().await;
    let size = 24 * MIB;
    // Replaced while read: the resume's If-Range misses, the import starts over.
    let mut changing = Source::new(1, size);
    changing.change_at = Some(4 * MIB);
    changing.drops = vec![10 * MIB];
    origin.add("/changing", changing);
    // Ignores Range (same validator): the stored prefix is skipped, not stored again.
    let mut ignoring = Source::new(2, size);
    ignoring.ignore_range = true;
    ignoring.drops = vec![9 * MIB];
    origin.add("/ignoring", ignoring);
    // 503 twice, then fine; a stall half-way; no Content-Length at all.
    let mut failing = Source::new(3, size);
    failing.fail_first = 2;
    failing.stall_at = Some(size / 2);
    origin.add("/failing", failing);
    let mut chunked = Source::new(4, size);
    chunked.chunked = true;
    chunked.etag = false;
    origin.add("/chunked", chunked);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &[]);
    let ks = user_ks("carol", 0);
    let mut ids = Vec::new();
    for p in ["/changing", "/ignoring", "/failing", "/chunked"] {
        ids.push((p, add_from_url(&gw.base, &ks, p, &origin.url(p)).await));
    }
    for (p, id) in &ids {
        let e = wait_entry(&gw.base, &ks, id, Duration::from_secs(120)).await;
        assert_eq!(e["status"], 2, "{p}: {e}");
        let want = source_sha256(&origin.source(p));
        assert_eq!(entry_sha256(&e).await, want, "{p}");
    }
    assert_eq!(origin.source("/changing").version, 1);
    let hits = origin.hits();
    let on = |p: &str| {
        hits.iter()
            .filter(|h| h.path == p)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(on("/failing").iter().filter(|h| h.status == 503).count(), 2);
    assert!(
        on("/failing").iter().any(|h| h.status == 206),
        "resumed after the stall"
    );
    assert_eq!(on("/ignoring").len(), 2);
    assert!(on("/chunked").len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_keep_credentials_on_the_source_host() {
    let origin = Origin::start().await;
    let size = 3 * MIB;
    let mut src = Source::new(5, size);
    src.require_auth = Some("Bearer zoom-token".into());
    origin.add("/rec", src);
    // Same host: the header follows; another host (localhost vs 127.0.0.1): it does not.
    let mut same = Source::new(0, 0);
    same.redirect_to = Some(origin.url("/rec"));
    origin.add("/same", same);
    let cdn_url = format!("http://localhost:{}/cdn", origin.addr.port());
    origin.add("/cdn", Source::new(6, size));
    let mut other = Source::new(0, 0);
    other.redirect_to = Some(cdn_url);
    origin.add("/other", other);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &[]);
    let ks = user_ks("dave", 0);
    let mut ids = Vec::new();
    for p in ["/same", "/other"] {
        let url = origin.url(p);
        let (id, v) =
            add_url_content(&gw.base, &ks, p, &url, "Authorization: Bearer zoom-token").await;
        assert_eq!(v["status"], 0, "{v}");
        ids.push(id);
    }
    for id in &ids {
        let e = wait_entry(&gw.base, &ks, id, Duration::from_secs(60)).await;
        assert_eq!(e["status"], 2, "{e}");
    }
    let hits = origin.hits();
    let cdn: Vec<_> = hits.iter().filter(|h| h.path == "/cdn").collect();
    assert!(
        !cdn.is_empty() && cdn.iter().all(|h| h.auth.is_none()),
        "{cdn:?}"
    );
    assert!(cdn.iter().all(|h| h.host.starts_with("localhost:")));
    let rec: Vec<_> = hits.iter().filter(|h| h.path == "/rec").collect();
    assert!(rec
        .iter()
        .all(|h| h.auth.as_deref() == Some("Bearer zoom-token") && h.status == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused() {
    // The origin on 127.0.0.2 is allowed by name; everything else internal is not.
    let allowed = Origin::start_on("127.0.0.2").await;
    let internal = Origin::start().await;
    internal.add("/secret", Source::new(9, MIB));
    allowed.add("/ok", Source::new(8, MIB));
    let mut to_internal = Source::new(0, 0);
    to_internal.redirect_to = Some(internal.url("/secret"));
    allowed.add("/bounce", to_internal);
    let mut to_metadata = Source::new(0, 0);
    to_metadata.redirect_to = Some("http://169.254.169.254/latest/meta-data/".into());
    allowed.add("/metadata", to_metadata);
    let dir = tempfile::tempdir().unwrap();
    let partner = partner_flag();
    let gw = ChildGateway::start(
        dir.path(),
        &[
            "--partner",
            &partner,
            "--import-allow-net",
            "127.0.0.2/32",
            "--import-backoff",
            "100ms",
        ],
    );
    let ks = user_ks("eve", 0);
    let cases = [
        (allowed.url("/ok"), None),
        (internal.url("/secret"), Some("loopback")),
        (
            format!("http://localhost:{}/secret", internal.addr.port()),
            Some("loopback"),
        ),
        (allowed.url("/bounce"), Some("loopback")),
        (allowed.url("/metadata"), Some("link-local")),
        ("http://[::ffff:127.0.0.1]:1/".to_owned(), Some("loopback")),
        ("http://10.1.2.3/x".to_owned(), Some("private")),
    ];
    for (url, refused) in cases {
        let id = add_from_url(&gw.base, &ks, "x", &url).await;
        let e = wait_entry(&gw.base, &ks, &id, Duration::from_secs(30)).await;
        match refused {
            None => assert_eq!(e["status"], 2, "{url}: {e}"),
            Some(why) => {
                assert_eq!(e["status"], -2, "{url}: {e}");
                let reason = e["importError"].as_str().unwrap_or("");
                assert!(
                    reason.contains(why) && reason.contains("refused"),
                    "{url}: {reason}"
                );
            }
        }
    }
    assert!(
        internal.hits().is_empty(),
        "never reached: {:?}",
        internal.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_resources_and_other_users() {
    let origin = Origin::start().await;
    let mut slow = Source::new(11, 8 * MIB);
    slow.rate = Some(2 * MIB);
    origin.add("/slow", slow);
    let mut big = Source::new(12, 3 * MIB);
    big.etag = false;
    origin.add("/big", big);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &["--import-max-size", "2MiB"]);
    let (alice, bob) = (user_ks("alice", 0), user_ks("bob", 0));
    let base = gw.base.as_str();
    let add = |ks: String, url: String| async move {
        kcall(
            base,
            "media/action/addFromUrl",
            &[
                ("ks", &ks),
                ("mediaEntry[objectType]", "KalturaMediaEntry"),
                ("mediaEntry[name]", "x"),
                ("url", &url),
            ],
        )
        .await
    };
    for bad in [
        "file:///etc/passwd",
        "gopher://x/",
        "http://",
        "not a url",
        &format!("http://x/{}", "a".repeat(5000)),
    ] {
        let v = add(alice.clone(), bad.to_owned()).await;
        assert_eq!(
            err_code(&v),
            Some("PROPERTY_VALIDATION_WRONG_FORMAT"),
            "{bad}: {v}"
        );
    }
    // Headers that would reframe the request, or inject another: refused.
    let e = kcall(
        base,
        "media/action/add",
        &[("ks", &alice), ("entry[objectType]", "KalturaMediaEntry")],
    )
    .await;
    let id = e["id"].as_str().unwrap().to_owned();
    for h in [
        "Host: evil",
        "X: a\r\nY: b",
        "no colon",
        "Transfer-Encoding: chunked",
        "Bad Name: x",
    ] {
        let v = kcall(
            base,
            "media/action/addContent",
            &[
                ("ks", &alice),
                ("entryId", &id),
                ("resource[objectType]", "KalturaUrlResource"),
                ("resource[url]", &origin.url("/slow")),
                ("resource[urlHeaders][0][value]", h),
            ],
        )
        .await;
        assert_eq!(
            err_code(&v),
            Some("PROPERTY_VALIDATION_WRONG_FORMAT"),
            "{h:?}: {v}"
        );
    }
    let mut many = vec![
        ("ks", alice.as_str()),
        ("entryId", id.as_str()),
        ("resource[objectType]", "KalturaUrlResource"),
    ];
    let url = origin.url("/slow");
    many.push(("resource[url]", &url));
    let keys: Vec<String> = (0..17)
        .map(|i| format!("resource[urlHeaders][{i}][value]"))
        .collect();
    for k in &keys {
        many.push((k, "X-A: 1"));
    }
    let v = kcall(base, "media/action/addContent", &many).await;
    assert_eq!(err_code(&v), Some("PROPERTY_VALIDATION_MAX_LENGTH"), "{v}");
    // Too large for --import-max-size, or missing: ERROR_IMPORTING with the reason.
    for (path, reason) in [("/big", "limit"), ("/missing", "404")] {
        let v = add(alice.clone(), origin.url(path)).await;
        let id = v["id"].as_str().unwrap();
        let e = wait_entry(base, &alice, id, Duration::from_secs(30)).await;
        assert_eq!(e["status"], -2, "{e}");
        assert!(e["importError"].as_str().unwrap().contains(reason), "{e}");
    }
    // Bob cannot see, change or delete alice's import: exactly as a missing entry.
    let v = add(alice.clone(), origin.url("/slow")).await;
    let id = v["id"].as_str().unwrap().to_owned();
    for (sa, extra) in [
        ("media/action/get", vec![]),
        ("media/action/delete", vec![]),
        (
            "media/action/addContent",
            vec![
                ("resource[objectType]", "KalturaUrlResource"),
                ("resource[url]", url.as_str()),
            ],
        ),
    ] {
        let mut p = vec![("ks", bob.as_str()), ("entryId", id.as_str())];
        p.extend(extra);
        let v = kcall(base, sa, &p).await;
        assert_eq!(err_code(&v), Some("ENTRY_ID_NOT_FOUND"), "{sa}: {v}");
    }
    let mine = kcall(base, "media/action/list", &[("ks", &bob)]).await;
    assert_eq!(mine["totalCount"], 0, "{mine}");
    // Alice deletes her import while it runs: the job and its partial upload go.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let v = kcall(
        base,
        "media/action/delete",
        &[("ks", &alice), ("entryId", &id)],
    )
    .await;
    assert_eq!(err_code(&v), None, "{v}");
    let blobs = dir.path().join("blobs");
    let gone = eventually(|| {
        let blobs = blobs.clone();
        async move { files_with(&blobs, "").is_empty() }
    })
    .await;
    assert!(
        gone,
        "the partial upload's files remain: {:?}",
        files_with(&blobs, "")
    );
    let sent = origin.bytes_sent();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        origin.bytes_sent() - sent < MIB,
        "the cancelled import stopped fetching"
    );
}

/// Bytes imported so far into the job's upload (the newest upload under the data dir),
/// read from the origin's side: what it sent.
async fn wait_sent(origin: &Origin, at_least: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while origin.bytes_sent() < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "origin sent only {}",
            origin.bytes_sent()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_continues_its_import_after_restart() {
    let size = 96 * MIB;
    let origin = Origin::start().await;
    let mut src = Source::new(21, size);
    src.rate = Some(12 * MIB);
    origin.add("/long.mp4", src);
    let dir = tempfile::tempdir().unwrap();
    let mut gw = gateway(dir.path(), &["--lease-ttl", "2s"]);
    let ks = user_ks("frank", 0);
    let id = add_from_url(&gw.base, &ks, "Long", &origin.url("/long.mp4")).await;
    // After more than one commit interval (5 s), so some bytes are durable.
    wait_sent(&origin, 70 * MIB, Duration::from_secs(60)).await;
    gw.kill9();
    let sent_before = origin.bytes_sent();
    let gw = gateway(dir.path(), &["--lease-ttl", "2s"]);
    let e = wait_entry(&gw.base, &ks, &id, Duration::from_secs(120)).await;
    assert_eq!(e["status"], 2, "{e}");
    assert_eq!(entry_sha256(&e).await, pattern_sha256(21, size));
    let resumed: Vec<_> = origin
        .hits()
        .into_iter()
        .filter(|h| h.status == 206)
        .collect();
    assert_eq!(
        resumed.len(),
        1,
        "continued with a Range request: {resumed:?}"
    );
    let again = origin.bytes_sent() - sent_before;
    eprintln!(
        "kill -9 after {} MiB sent: the restarted gateway fetched {} MiB more (of {} MiB left)",
        sent_before / MIB,
        again / MIB,
        (size - sent_before.min(size)) / MIB
    );
    assert!(again < size, "did not start from zero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_queued_imports_run_a_few_at_a_time() {
    let origin = Origin::start().await;
    let mut src = Source::new(31, 256 << 10);
    src.rate = Some(4 * MIB);
    origin.add("/clip", src);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &[
            "--import-concurrency",
            "4",
            "--import-user-concurrency",
            "3",
        ],
    );
    let users = ["u1", "u2", "u3", "u4"];
    let mut ids = Vec::new();
    for i in 0..200 {
        let user = users[i % users.len()];
        let ks = user_ks(user, 0);
        let url = origin.url(&format!("/clip?user={user}"));
        ids.push((
            ks.clone(),
            add_from_url(&gw.base, &ks, &format!("clip {i}"), &url).await,
        ));
    }
    for (ks, id) in &ids {
        let e = wait_entry(&gw.base, ks, id, Duration::from_secs(300)).await;
        assert_eq!(e["status"], 2, "{e}");
        assert_eq!(e["fileSize"], (256 << 10).to_string());
    }
    let per_user: Vec<usize> = users.iter().map(|u| origin.max_active_of(u)).collect();
    eprintln!(
        "200 imports: at most {} at once, per user {per_user:?}",
        origin.max_active()
    );
    assert!(
        origin.max_active() <= 4,
        "global bound: {}",
        origin.max_active()
    );
    assert!(
        per_user.iter().all(|n| *n <= 3),
        "per-user bound: {per_user:?}"
    );
    assert!(origin.max_active() >= 2, "they did run in parallel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_and_s3_another_instance_continues_an_import() {
    let redis = common::redis_server::RedisServer::start();
    let s3 = common::s3_server::S3Server::start_s3s_fs();
    let size = 80 * MIB;
    let origin = Origin::start().await;
    let mut src = Source::new(41, size);
    src.rate = Some(12 * MIB);
    origin.add("/zoom.mp4", src);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let extra = [
        "--import-allow-private",
        "--import-backoff",
        "100ms",
        "--lease-ttl",
        "2s",
        "--user-requests",
        "0",
    ];
    let mut a = ChildGateway::start_on(&redis, &s3, dirs[0].path(), &extra);
    let b = ChildGateway::start_on(&redis, &s3, dirs[1].path(), &extra);
    let ks = user_ks("grace", 0);
    let id = add_from_url(&a.base, &ks, "Zoom", &origin.url("/zoom.mp4")).await;
    wait_sent(&origin, 66 * MIB, Duration::from_secs(60)).await;
    // Whichever instance claimed it, kill A; B holds or takes over the job.
    a.kill9();
    let e = wait_entry(&b.base, &ks, &id, Duration::from_secs(120)).await;
    assert_eq!(e["status"], 2, "{e}");
    assert_eq!(entry_sha256(&e).await, pattern_sha256(41, size));
    assert!(
        origin.bytes_sent() < 2 * size,
        "resumed, not restarted: {}",
        origin.bytes_sent()
    );
}

/// Runs the `upgate` binary; its exit code and stdout.
fn upgate_cli(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_upgate"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_recordings_import_rerun_and_orphan_report() {
    let origin = Origin::start().await;
    let vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nWelcome to week one.\n";
    origin.add("/a.mp4", Source::new(51, 2 * MIB));
    origin.add("/a.m4a", Source::new(52, MIB / 2));
    origin.add("/a.vtt", Source::fixed(vtt));
    let mut b = Source::new(53, MIB);
    b.require_auth = Some("Bearer zoom-secret".into());
    origin.add("/b.mp4", b);
    let meeting = |uuid: &str, id: u64, topic: &str, start: &str, files: Vec<Value>| {
        serde_json::json!({"uuid": uuid, "id": id, "topic": topic, "start_time": start,
            "host_email": "prof@example.edu", "recording_files": files})
    };
    let file = |t: &str, size: u64, path: &str| {
        serde_json::json!({"id": path, "file_type": t, "file_size": size,
            "download_url": origin.url(path), "recording_start": "2026-11-20T10:00:00Z"})
    };
    let doc = serde_json::json!({"meetings": [
        meeting("uuid-A==", 111, "Week 1", "2026-11-20T10:00:00Z", vec![
            file("MP4", 2 * MIB, "/a.mp4"), file("M4A", MIB / 2, "/a.m4a"),
            file("TRANSCRIPT", vtt.len() as u64, "/a.vtt"), file("CHAT", 10, "/a.txt")]),
        meeting("uuid-B==", 222, "Office hours", "2026-11-18T15:00:00Z", vec![file("MP4", MIB, "/b.mp4")]),
        meeting("uuid-C==", 333, "Lost one", "2026-11-05T09:00:00Z", vec![file("MP4", MIB, "/gone.mp4")]),
    ]});
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("recordings.json");
    std::fs::write(&json_path, doc.to_string()).unwrap();
    let gw = gateway(&dir.path().join("gw"), &[]);
    let ks = user_ks("prof", 0);
    let args = [
        "import",
        "zoom",
        "--url",
        &gw.base,
        "--ks",
        &ks,
        "--recordings",
        json_path.to_str().unwrap(),
        "--header",
        "Authorization: Bearer zoom-secret",
        "--json",
    ];
    let (code, out) = upgate_cli(&args);
    assert_eq!(code, 1, "one meeting failed: {out}");
    let results: Vec<Value> = serde_json::from_str(&out).unwrap();
    let by_ref = |r: &[Value], reference: &str| {
        r.iter()
            .find(|x| x["reference_id"] == reference)
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (reference, bytes) in [
        ("uuid-A==", 2 * MIB),
        ("uuid-A==/audio", MIB / 2),
        ("uuid-B==", MIB),
    ] {
        let r = by_ref(&results, reference);
        assert_eq!(r["status"], "imported", "{r}");
        assert_eq!(r["bytes"], bytes, "{r}");
    }
    let c = by_ref(&results, "uuid-C==");
    assert_eq!(c["status"], "failed");
    assert!(c["error"].as_str().unwrap().contains("404"), "{c}");
    assert_eq!(by_ref(&results, "uuid-A==")["captions"], "attached");
    // The entry as the integration makes it, with its transcript as captions.
    let a_id = by_ref(&results, "uuid-A==")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = kcall(
        &gw.base,
        "media/action/get",
        &[("ks", &ks), ("entryId", &a_id)],
    )
    .await;
    assert_eq!(a["name"], "Week 1 (2026-11-20)");
    assert_eq!(a["referenceId"], "uuid-A==");
    assert_eq!(a["tags"], "zoom,zoom:111");
    let caps = kcall(
        &gw.base,
        "caption_captionasset/action/list",
        &[("ks", &ks), ("filter[entryIdEqual]", &a_id)],
    )
    .await;
    assert_eq!(caps["totalCount"], 1, "{caps}");
    assert_eq!(caps["objects"][0]["label"], "Zoom transcript");
    let b_hits = origin.hits().iter().filter(|h| h.path == "/b.mp4").count();
    // Re-run: what arrived is skipped, nothing fetched again.
    let sent = origin.bytes_sent();
    let (code, out) = upgate_cli(&args);
    assert_eq!(code, 1, "{out}");
    let again: Vec<Value> = serde_json::from_str(&out).unwrap();
    for reference in ["uuid-A==", "uuid-A==/audio", "uuid-B=="] {
        assert_eq!(
            by_ref(&again, reference)["status"],
            "skipped",
            "{reference}"
        );
    }
    assert_eq!(origin.bytes_sent(), sent, "nothing fetched again");
    assert_eq!(
        origin.hits().iter().filter(|h| h.path == "/b.mp4").count(),
        b_hits
    );
    // The orphan report: C failed and D never came; soonest deletion first.
    let csv = "Topic,ID,Start Time,File Size (MB)\n\
        Week 1,111 0000,\"Nov 20, 2026 10:00 AM\",2\n\
        Week 1,111 0000,\"Nov 20, 2026 10:00 AM\",0.5\n\
        Office hours,222,2026-11-18 15:00:00,1\n\
        Lost one,333,2026-11-05 09:00:00,1\n\
        Never copied,444,11/20/2026 08:00 AM,300\n";
    let csv_path = dir.path().join("export.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let (code, out) = upgate_cli(&[
        "import",
        "report",
        "--url",
        &gw.base,
        "--ks",
        &ks,
        "--zoom-csv",
        csv_path.to_str().unwrap(),
        "--now",
        "2026-12-01",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let rep: Value = serde_json::from_str(&out).unwrap();
    let orphans = rep["orphans"].as_array().unwrap();
    let got: Vec<(&str, i64)> = orphans
        .iter()
        .map(|o| {
            (
                o["topic"].as_str().unwrap(),
                o["days_left"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![("Lost one", 4), ("Never copied", 19)], "{rep}");
    // Another user's media does not count as this user's.
    let (_, out) = upgate_cli(&[
        "import",
        "report",
        "--url",
        &gw.base,
        "--ks",
        &user_ks("someone-else", 0),
        "--zoom-csv",
        csv_path.to_str().unwrap(),
        "--now",
        "2026-12-01",
        "--json",
    ]);
    let rep: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["count"], 4, "{rep}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_list_import_and_rerun() {
    let origin = Origin::start().await;
    origin.add("/talks/keynote%20talk.mp4", Source::new(61, MIB));
    origin.add("/panel.mp4", Source::new(62, MIB / 4));
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("urls.txt");
    std::fs::write(
        &list,
        format!(
            "# talks\n{}\n\n{} The panel, day 2\n",
            origin.url("/talks/keynote%20talk.mp4"),
            origin.url("/panel.mp4")
        ),
    )
    .unwrap();
    let gw = gateway(&dir.path().join("gw"), &[]);
    let ks = user_ks("ivan", 0);
    let args = [
        "import",
        "urls",
        list.to_str().unwrap(),
        "--url",
        &gw.base,
        "--ks",
        &ks,
    ];
    let (code, out) = upgate_cli(&args);
    assert_eq!(code, 0, "{out}");
    let listed = kcall(&gw.base, "media/action/list", &[("ks", &ks)]).await;
    let mut names: Vec<&str> = listed["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["The panel, day 2", "keynote talk.mp4"], "{listed}");
    let (code, _) = upgate_cli(&args);
    assert_eq!(code, 0);
    let listed = kcall(&gw.base, "media/action/list", &[("ks", &ks)]).await;
    assert_eq!(listed["totalCount"], 2, "a re-run adds nothing");
    // Bad input: a clear message and exit code 2.
    std::fs::write(&list, "ftp://example.org/x\n").unwrap();
    let (code, _) = upgate_cli(&args);
    assert_eq!(code, 2);
}

/// A finished import sends `imported` (and `entry-ready`) to the webhook receivers,
/// with the entry and the file's SHA-256; the source URL and its credentials are not in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_import_is_announced_by_webhook() {
    let origin = Origin::start().await;
    let size = 2 * MIB;
    let mut src = Source::new(41, size);
    src.require_auth = Some("Bearer zoom-secret-token".into());
    origin.add("/rec.mp4", src.clone());
    let rx = common::receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &[
            "--hook-url",
            &rx.url(),
            "--hook-events",
            "imported,entry-ready",
        ],
    );
    let ks = user_ks("erin", 0);
    let (id, v) = add_url_content(
        &gw.base,
        &ks,
        "Zoom class",
        &origin.url("/rec.mp4"),
        "Authorization: Bearer zoom-secret-token",
    )
    .await;
    assert_eq!(err_code(&v), None, "{v}");
    let e = wait_entry(&gw.base, &ks, &id, Duration::from_secs(30)).await;
    assert_eq!(e["status"], 2, "{e}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let got = loop {
        let got = rx.delivered();
        if got.iter().any(|r| r.event == "imported") && got.iter().any(|r| r.event == "entry-ready")
        {
            break got;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let imported = &got.iter().find(|r| r.event == "imported").unwrap().body;
    assert_eq!(imported["entry"]["id"], id.as_str());
    assert_eq!(imported["entry"]["user"], "erin");
    assert_eq!(imported["upload"]["sha256"], source_sha256(&src));
    let raw: String = got
        .iter()
        .map(|r| String::from_utf8_lossy(&r.raw).into_owned())
        .collect();
    assert!(
        !raw.contains("zoom-secret-token"),
        "credentials leaked: {raw}"
    );
}
