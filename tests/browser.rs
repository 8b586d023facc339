//! The upload page in a real browser: Playwright (`playwright-core`, npm) drives
//! Debian's headless Chromium through `tests/node/page_test.mjs`. Uploads go through
//! counting proxies, so the test knows how many bytes reached the server: with the
//! network taken offline mid-upload, the server must receive less than 1.1 × the file.
//! Both files are then verified by SHA-256 against the server's copy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::atomic::Ordering;

use common::*;

const MIB: usize = 1 << 20;

/// tests/node (with playwright-core) and Chromium's path; fails loudly when either is
/// missing.
fn browser() -> (std::path::PathBuf, String) {
    let dir = repo_root().join("tests/node");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core missing: run tests/run.sh"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium missing ({chromium}): run .ci/run or apt-get install chromium"
    );
    (dir, chromium)
}

/// Runs `node SCRIPT ARGS…` in `dir` with Chromium at `chromium`; fails loudly unless it
/// succeeds, and returns the JSON of its last line.
async fn run_node(
    dir: &std::path::Path,
    chromium: &str,
    script: &str,
    args: Vec<String>,
) -> serde_json::Value {
    let (dir, chromium, script) = (dir.to_owned(), chromium.to_owned(), script.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(&dir)
            .arg(&script)
            .args(&args)
            .env("CHROMIUM", chromium)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_page_resumes_after_offline_and_reload() {
    let (dir, chromium) = browser();
    let g = Gateway::start().await;
    let p1 = CutProxy::start(g.addr, u64::MAX).await;
    let p2 = CutProxy::start(g.addr, u64::MAX).await;
    let tmp = tempfile::tempdir().unwrap();
    let (d1, d2) = (data(48 * MIB, 31), data(40 * MIB + 123, 32));
    let (f1, f2) = (
        tmp.path().join("week1-lecture.mp4"),
        tmp.path().join("week2-lecture.mp4"),
    );
    std::fs::write(&f1, &d1).unwrap();
    std::fs::write(&f2, &d2).unwrap();
    let f = upgate_proto::kaltura::ks::KsFields {
        partner_id: PARTNER,
        expiry: upgate::model::now_secs() as i64 + 3600,
        session_type: 0,
        user: "instructor@example.edu".into(),
        privileges: String::new(),
    };
    let ks = upgate_proto::kaltura::ks::mint_v2(ADMIN_SECRET, &f, [9; 16]);
    let out_dir = repo_root().join("tests/out");
    let args = [
        format!("http://{}", p1.addr),
        format!("http://{}", p2.addr),
        ks,
        f1.display().to_string(),
        f2.display().to_string(),
        out_dir.display().to_string(),
    ];
    let v = run_node(&dir, &chromium, "page_test.mjs", args.to_vec()).await;
    let c = client();
    for (key, want) in [("first", &d1), ("second", &d2)] {
        let token = v[key]["token"].as_str().unwrap();
        let got = fetch(c.get(g.url(&format!("/files/{token}")))).await;
        assert_eq!(sha256_hex(&got), sha256_hex(want), "{key}");
        assert!(v[key]["entry"].as_str().unwrap().starts_with("0_"));
    }
    let sent1 = p1.upstream_bytes.load(Ordering::Relaxed) as f64;
    println!(
        "offline at {} bytes; server received {:.3} × the file; reload resumed from {}",
        v["offlineAt"],
        sent1 / d1.len() as f64,
        v["second"]["resumedFrom"]
    );
    assert!(
        sent1 < 1.1 * d1.len() as f64,
        "server received {sent1} bytes for a {} byte file",
        d1.len()
    );
    assert!(out_dir.join("upload-page.png").exists());
    g.shutdown().await;
}

/// Security finding 1 in a real browser: links to answers that echo a script payload
/// (every Kaltura format, PS2, a `/files/` path) run nothing on the gateway's origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_payloads_do_not_run_in_chromium() {
    let (dir, chromium) = browser();
    let g = Gateway::start().await;
    let ks = user_ks("victim@example.edu", 0);
    let base = g.base.clone();
    let v = run_node(&dir, &chromium, "xss_test.mjs", vec![base, ks]).await;
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 6);
    for p in pages {
        println!("{p}");
        assert_eq!(p["ran"], false, "script ran: {p}");
        assert_ne!(p["contentType"], "text/html", "rendered as HTML: {p}");
    }
    g.shutdown().await;
}

/// The page's catalog half (issue #14): details entered while the file uploads, captions
/// from an SRT file, publishing to a course gallery, searching My Media — checked
/// through the API afterwards; screenshot in tests/out/my-media.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_details_captions_and_publishing() {
    let (dir, chromium) = browser();
    let g = Gateway::start().await;
    let admin = upgate_proto::form::form_encode(&user_ks("admin", 2));
    let body = fetch(client().get(g.url(&format!(
        "/api_v3/service/category/action/add?ks={admin}&category:objectType=KalturaCategory&category:name=Physics%20101"
    ))))
    .await;
    let category = between(&String::from_utf8_lossy(&body), "<id>", "</id>")
        .unwrap()
        .to_owned();
    let tmp = tempfile::tempdir().unwrap();
    let (file, captions) = (tmp.path().join("lecture.mp4"), tmp.path().join("es.srt"));
    std::fs::write(&file, data(384 << 10, 5)).unwrap();
    std::fs::write(&captions, "1\r\n00:00:00,000 --> 00:00:02,000\r\nHola\r\n").unwrap();
    let out_dir = repo_root().join("tests/out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let args = [
        g.base.clone(),
        user_ks("alice", 0),
        file.display().to_string(),
        captions.display().to_string(),
        out_dir.display().to_string(),
    ];
    let v = run_node(&dir, &chromium, "catalog_page.mjs", args.to_vec()).await;
    println!("{v}");
    let entry = v["entry"].as_str().unwrap().to_owned();
    assert_eq!(v["role"], "owner");
    assert_eq!(v["rows"], 1, "the search finds the entry by its tag");
    assert!(
        v["captionMsg"].as_str().unwrap().contains("captions added"),
        "{v}"
    );
    assert!(
        v["publishMsg"].as_str().unwrap().contains("Published"),
        "{v}"
    );
    // What the page did, seen through the API.
    let get = |rest: String| {
        let url = g.url(&format!("/api_v3/service/{rest}"));
        async move { String::from_utf8_lossy(&fetch(client().get(url)).await).into_owned() }
    };
    let bob = upgate_proto::form::form_encode(&user_ks("bob", 0));
    let e = get(format!("media/action/get?ks={bob}&entryId={entry}")).await;
    for want in [
        "<description>Week 1 lecture</description>",
        "<tags>physics,week1</tags>",
        "<entitledUsersEdit>bob</entitledUsersEdit>",
        &format!("<categoriesIds>{category}</categoriesIds>"),
    ] {
        assert!(e.contains(want), "{want} missing: {e}");
    }
    let caps = get(format!(
        "caption_captionasset/action/list?ks={bob}&filter:entryIdEqual={entry}"
    ))
    .await;
    assert!(caps.contains("<languageCode>es</languageCode>"), "{caps}");
    assert!(out_dir.join("my-media.png").exists());
    g.shutdown().await;
}

/// Issue #17 item 4: the page survives a browser restart. Three uploads are under way
/// when the browser (a persistent profile) closes; opened again, the page lists the two
/// large ones with the bytes the server holds, the small one (kept in IndexedDB)
/// finishes by itself, one large upload is discarded (its token is gone from the
/// server) and the other continues from the server's offset when the same bytes are
/// chosen again under another name. Every finished file is checked by SHA-256.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_survives_a_browser_restart() {
    let (dir, chromium) = browser();
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (big, small, third) = (
        data(20 * MIB, 41),
        data(3 * MIB + 7, 42),
        data(12 * MIB, 43),
    );
    let path = |name: &str| tmp.path().join(name);
    std::fs::write(path("week3-lecture.mp4"), &big).unwrap();
    std::fs::write(path("week3-short.mp4"), &small).unwrap();
    std::fs::write(path("week3-extra.mp4"), &third).unwrap();
    std::fs::create_dir_all(path("moved")).unwrap();
    std::fs::write(path("moved/lecture-copy.mp4"), &big).unwrap();
    let args = [
        g.base.clone(),
        user_ks("carol", 0),
        path("week3-lecture.mp4").display().to_string(),
        path("week3-short.mp4").display().to_string(),
        path("week3-extra.mp4").display().to_string(),
        path("moved/lecture-copy.mp4").display().to_string(),
        path("profile").display().to_string(),
    ];
    let v = run_node(&dir, &chromium, "restart_test.mjs", args.to_vec()).await;
    println!("{v}");
    let listed = v["listed"].as_array().unwrap();
    let row = |name: &str| listed.iter().find(|r| r["name"] == name).unwrap();
    for (name, len) in [
        ("week3-lecture.mp4", big.len()),
        ("week3-extra.mp4", third.len()),
    ] {
        let r = row(name);
        assert!(r["stored"].as_u64().unwrap() > 0, "{r}");
        let text = r["text"].as_str().unwrap();
        let size = format!("{:.1} MiB", len as f64 / MIB as f64);
        assert!(text.contains(&size) && text.contains("stored"), "{text}");
    }
    assert_eq!(
        listed.len(),
        2,
        "only the large uploads wait for their file"
    );
    let resumed = v["big"]["resumedFrom"].as_u64().unwrap();
    assert!(resumed > 0, "the big file started over");
    assert_eq!(
        v["big"]["token"],
        row("week3-lecture.mp4")["token"],
        "the same token continued"
    );
    assert!(v["small"]["resumedFrom"].as_u64().unwrap() > 0, "{v}");
    let c = client();
    for (key, want) in [("big", &big), ("small", &small)] {
        let token = v[key]["token"].as_str().unwrap();
        let got = fetch(c.get(g.url(&format!("/files/{token}")))).await;
        assert_eq!(sha256_hex(&got), sha256_hex(want), "{key}");
    }
    let gone = c
        .get(g.url(&format!("/files/{}", v["discarded"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.status().as_u16(),
        404,
        "the discarded token still exists"
    );
    assert_eq!(v["pendingLeft"], 0);
    assert_eq!(
        v["remembered"], 0,
        "finished and discarded uploads are forgotten"
    );
    println!(
        "restart: big resumed from {resumed} of {} bytes, small finished by itself from {}",
        big.len(),
        v["small"]["resumedFrom"]
    );
    g.shutdown().await;
}
