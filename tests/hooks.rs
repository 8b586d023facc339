//! Completion webhooks and the pre-create hook, against a loopback receiver that fails,
//! hangs and goes away: every event arrives (at least once) signed with HMAC-SHA256,
//! a slow receiver never slows an upload, the outbox survives `kill -9` and a receiver
//! outage, and the pre-create hook refuses with its reason (tus and Kaltura) or, when
//! it does not answer, refuses for now.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::receiver::{Answer, Received, Receiver};
use common::*;

const SECRET: &str = "hook-secret-for-tests";

fn gateway(dir: &std::path::Path, hook: &str, extra: &[&str]) -> ChildGateway {
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let mut args = vec![
        "--files-auth",
        "off",
        "--partner",
        &partner,
        "--hook-url",
        hook,
        "--hook-secret",
        SECRET,
        "--hook-timeout",
        "1s",
    ];
    args.extend_from_slice(extra);
    ChildGateway::start(dir, &args)
}

/// Waits (up to 30 s) until `pred` holds for what the receiver has been sent.
async fn until(r: &Receiver, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = r.received();
        if pred(&got) {
            return got;
        }
        assert!(Instant::now() < deadline, "{what}: got {got:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn delivered<'a>(got: &'a [Received], event: &str) -> Vec<&'a Received> {
    got.iter()
        .filter(|r| r.event == event && (200..300).contains(&r.status))
        .collect()
}

async fn upload(c: &reqwest::Client, base: &str, body: &[u8], name: &str) -> String {
    let meta = format!("filename {}", base64_of(name));
    let r = c
        .post(format!("{base}/files/"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", body.len().to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let path = header(&r, "location").unwrap().to_owned();
    let r = patch(c, base, &path, 0, body.to_vec()).await;
    assert_eq!(r.status(), 204);
    path
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_signed_and_describe_the_upload() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &rx.url(), &[]);
    let c = client();
    let body = data(3 << 20, 71);
    let path = upload(&c, &gw.base, &body, "lecture 1.mp4").await;
    let id = path.trim_start_matches("/files/");
    let other = create(&c, &gw.base, 10).await;
    let r = c
        .delete(format!("{}{other}", gw.base))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let got = until(&rx, "created ×2, finished, terminated", |g| {
        delivered(g, "created").len() >= 2
            && !delivered(g, "finished").is_empty()
            && !delivered(g, "terminated").is_empty()
    })
    .await;
    for r in &got {
        let sig = r.signature.as_deref().expect("signed");
        assert!(
            upgate_proto::hmac::verify(SECRET.as_bytes(), &r.raw, sig),
            "bad signature on {}",
            r.event
        );
        assert_eq!(r.body["event"], r.event.as_str());
        assert_eq!(r.body["delivery"], r.delivery.as_str());
    }
    let mut ids: Vec<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "one delivery id per event");
    let fin = &delivered(&got, "finished")[0].body["upload"];
    assert_eq!(fin["id"], id);
    assert_eq!(fin["size"], body.len() as u64);
    assert_eq!(fin["offset"], body.len() as u64);
    assert_eq!(fin["sha256"], sha256_hex(&body));
    assert_eq!(fin["metadata"]["filename"], "lecture 1.mp4");
    let gone = &delivered(&got, "terminated")[0].body["upload"];
    assert_eq!(gone["id"], other.trim_start_matches("/files/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_and_hanging_receiver_gets_everything_and_slows_nothing() {
    let rx = Receiver::start().await;
    // 500, 503, two hangs past the 1 s timeout, 404: then it works.
    rx.script(&[
        Answer::Status(500, "boom"),
        Answer::Status(503, ""),
        Answer::Hang(Duration::from_secs(3)),
        Answer::Hang(Duration::from_secs(3)),
        Answer::Status(404, ""),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &rx.url(),
        &["--hook-events", "created,finished"],
    );
    let c = client();
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..4u64 {
        let started = Instant::now();
        upload(&c, &gw.base, &data(1 << 20, 80 + i), &format!("f{i}")).await;
        slowest = slowest.max(started.elapsed());
    }
    let got = until(&rx, "8 events delivered", |g| {
        delivered(g, "created").len() >= 4 && delivered(g, "finished").len() >= 4
    })
    .await;
    let all = t.elapsed();
    let failed = got
        .iter()
        .filter(|r| !(200..300).contains(&r.status))
        .count();
    println!(
        "8 events through 5 failed attempts: all delivered {:.1} s after the first upload \
         ({} requests in all); slowest upload (create + 1 MiB PATCH) {:.0} ms",
        all.as_secs_f64(),
        got.len(),
        slowest.as_secs_f64() * 1e3
    );
    assert_eq!(failed, 5);
    assert!(
        slowest < Duration::from_millis(900),
        "an upload waited for the receiver: {slowest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_survives_kill9_and_a_receiver_outage() {
    // The receiver is down while the events happen.
    let addr = Receiver::start().await.stop();
    let url = format!("http://{addr}/hook");
    let dir = tempfile::tempdir().unwrap();
    let mut gw = gateway(dir.path(), &url, &[]);
    let c = client();
    let body = data(2 << 20, 90);
    let path = upload(&c, &gw.base, &body, "while the receiver was down").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gw.kill9();
    let rx = Receiver::start_at(addr).await;
    let t = Instant::now();
    let _gw = gateway(dir.path(), &url, &[]);
    let got = until(&rx, "created and finished after the restart", |g| {
        !delivered(g, "created").is_empty() && !delivered(g, "finished").is_empty()
    })
    .await;
    println!(
        "events queued before kill -9, receiver back: delivered {:.1} s after the restart",
        t.elapsed().as_secs_f64()
    );
    let fin = &delivered(&got, "finished")[0].body["upload"];
    assert_eq!(fin["id"], path.trim_start_matches("/files/"));
    assert_eq!(fin["sha256"], sha256_hex(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pre_create_hook_refuses_with_its_reason_or_for_now() {
    let hook = Receiver::start().await;
    let events = Receiver::start().await;
    hook.script(&[
        Answer::Status(403, "quota exceeded for <b>BIO 101</b>\r\n"),
        Answer::Status(422, "no uploads on Sundays"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &events.url(),
        &["--pre-create-hook", &hook.url(), "--hook-events", "created"],
    );
    let c = client();
    // Refused: tus answers 403 with the reason as plain text, never as HTML.
    let r = c
        .post(format!("{}/files/", gw.base))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .header(
            "Upload-Metadata",
            format!("filename {}", base64_of("a.mp4")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(header(&r, "content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
    let text = r.text().await.unwrap();
    assert!(text.contains("quota exceeded for <b>BIO 101</b>"), "{text}");
    // Refused: Kaltura's uploadToken.add answers UPLOAD_REFUSED with the reason.
    let ks = user_ks("alice", 0);
    let r = c
        .post(format!(
            "{}/api_v3/service/uploadtoken/action/add?format=1&ks={ks}",
            gw.base
        ))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["code"], "UPLOAD_REFUSED", "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("no uploads on Sundays"));
    // Allowed (the hook's default answer): created, and the hook saw what was asked.
    let up = create(&c, &gw.base, 7).await;
    let asked = hook.received();
    assert_eq!(asked.len(), 3);
    for a in &asked {
        assert_eq!(a.event, "pre-create");
        assert!(upgate_proto::hmac::verify(
            SECRET.as_bytes(),
            &a.raw,
            a.signature.as_deref().unwrap()
        ));
    }
    assert_eq!(asked[0].body["upload"]["metadata"]["filename"], "a.mp4");
    assert_eq!(asked[0].body["upload"]["size"], 5);
    assert_eq!(asked[1].body["upload"]["owner"]["user"], "alice");
    // Only the allowed upload exists, and only it was announced.
    let got = until(&events, "one created", |g| {
        !delivered(g, "created").is_empty()
    })
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].body["upload"]["id"],
        up.trim_start_matches("/files/")
    );
    // The hook is gone: nothing is created, the client is told to retry.
    hook.stop();
    let r = c
        .post(format!("{}/files/", gw.base))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(header(&r, "retry-after").is_some());
}

/// Kaltura: a token uploaded, an entry given its content: `entry-ready` carries the
/// entry and the file's SHA-256; a user's events name that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaltura_entry_ready_names_the_entry_and_the_file() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &rx.url(),
        &["--hook-events", "finished,entry-ready"],
    );
    let c = client();
    let ks = upgate_proto::form::form_encode(&user_ks("bob", 0));
    let api = |path: &str| format!("{}/api_v3/service/{path}&format=1&ks={ks}", gw.base);
    let get = |url: String| {
        let c = c.clone();
        async move {
            let t = c.get(url).send().await.unwrap().text().await.unwrap();
            serde_json::from_str::<serde_json::Value>(&t).unwrap()
        }
    };
    let token = get(api("uploadtoken/action/add?uploadToken:fileName=talk.mp4")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = data(1 << 20, 95);
    let v = upload_chunk(&gw.base, &ks, &token, &body, 0, true).await;
    assert_eq!(
        v["uploadedFileSize"],
        body.len().to_string().as_str(),
        "{v}"
    );
    let entry = get(api(
        "media/action/add?entry:objectType=KalturaMediaEntry&entry:name=Talk&entry:mediaType=1",
    ))
    .await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let added = get(api(&format!(
        "media/action/addContent?entryId={id}&resource:objectType=KalturaUploadedFileTokenResource&resource:token={token}"
    )))
    .await;
    assert_eq!(added["id"], id.as_str(), "{added}");
    let got = until(&rx, "finished and entry-ready", |g| {
        !delivered(g, "finished").is_empty() && !delivered(g, "entry-ready").is_empty()
    })
    .await;
    let ready = &delivered(&got, "entry-ready")[0].body;
    assert_eq!(ready["entry"]["id"], id.as_str());
    assert_eq!(ready["entry"]["name"], "Talk");
    assert_eq!(ready["entry"]["user"], "bob");
    assert_eq!(ready["upload"]["id"], token.as_str());
    assert_eq!(ready["upload"]["sha256"], sha256_hex(&body));
    assert_eq!(ready["upload"]["owner"]["user"], "bob");
    assert_eq!(ready["entry"]["file_name"], "talk.mp4");
    let fin = &delivered(&got, "finished")[0].body;
    assert_eq!(fin["upload"]["sha256"], sha256_hex(&body));
}
