//! Per-user limits seen from outside, on gateway processes: request rate answered with
//! 429 / REQUEST_RATE_EXCEEDED and `Retry-After`, uploads in flight, bandwidth shared
//! fairly between users while a third user is not delayed, and limits that hold across
//! two instances sharing Redis.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use common::*;
use upgate_proto::form::form_encode;

fn ks_for(user: &str) -> String {
    user_ks(user, 0)
}

fn gateway(dir: &std::path::Path, extra: &[&str]) -> ChildGateway {
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let mut args = vec!["--partner", &partner, "--files-auth", "required"];
    args.extend_from_slice(extra);
    ChildGateway::start(dir, &args)
}

async fn create_as(c: &reqwest::Client, base: &str, ks: &str, len: u64) -> reqwest::Response {
    c.post(format!("{base}/files/"))
        .bearer_auth(ks)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_rate_429_and_kaltura_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let g = gateway(dir.path(), &["--user-requests", "2", "--user-burst", "5"]);
    let c = client();
    let alice = ks_for("alice");
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(create_as(&c, &g.base, &alice, 10).await);
    }
    let last = codes.pop().unwrap();
    assert!(codes.iter().all(|r| r.status() == 201));
    assert_eq!(last.status(), 429);
    let wait: u64 = header(&last, "retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // Another user is not affected.
    assert_eq!(
        create_as(&c, &g.base, &ks_for("bob"), 10).await.status(),
        201
    );
    // The Kaltura path answers with its envelope and the same header.
    let r = c
        .get(g.url(&format!(
            "/api_v3/service/uploadtoken/action/list?ks={}",
            form_encode(&alice)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-kaltura"), Some("error-REQUEST_RATE_EXCEEDED"));
    assert!(header(&r, "retry-after").is_some());
    let text = r.text().await.unwrap();
    assert!(
        text.contains("<code>REQUEST_RATE_EXCEEDED</code>"),
        "{text}"
    );
    // After the wait, alice is served again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(create_as(&c, &g.base, &alice, 10).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_in_flight_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let g = gateway(dir.path(), &["--user-uploads", "1"]);
    let c = client();
    let alice = ks_for("alice");
    let a = header(&create_as(&c, &g.base, &alice, 1 << 20).await, "location")
        .unwrap()
        .to_owned();
    let b = header(&create_as(&c, &g.base, &alice, 1 << 20).await, "location")
        .unwrap()
        .to_owned();
    // A PATCH of upload a stays open (half its body sent).
    let mut s = tokio::net::TcpStream::connect(g.addr).await.unwrap();
    let head = format!(
        "PATCH {a} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 1048576\r\n\r\n"
    );
    use tokio::io::AsyncWriteExt;
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[1u8; 4096]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let patch_b = |who: &str| {
        c.patch(g.url(&b))
            .bearer_auth(who)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(vec![2u8; 1024])
            .send()
    };
    let r = patch_b(&alice).await.unwrap();
    assert_eq!(r.status(), 429, "second upload of alice in flight");
    assert!(header(&r, "retry-after").is_some());
    drop(s);
    // Once the first request ended, alice may write again.
    assert!(
        eventually(|| async { patch_b(&alice).await.unwrap().status() == 204 }).await,
        "slot released"
    );
}

/// Seconds one upload took.
async fn timed_upload(c: reqwest::Client, base: String, ks: String, len: usize) -> f64 {
    let r = create_as(&c, &base, &ks, len as u64).await;
    let path = header(&r, "location").unwrap().to_owned();
    let t = Instant::now();
    let r = c
        .patch(format!("{base}{path}"))
        .bearer_auth(&ks)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(data(len, 60))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    t.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_shared_fairly_third_user_not_delayed() {
    let dir = tempfile::tempdir().unwrap();
    let g = gateway(dir.path(), &["--user-bandwidth", "2MiB/s"]);
    let c = client();
    let (alice, bob, carol) = (ks_for("alice"), ks_for("bob"), ks_for("carol"));
    let len = 6 << 20;
    let t = Instant::now();
    // alice: two parallel uploads sharing her 2 MiB/s; bob: one upload at his own 2 MiB/s.
    let a1 = tokio::spawn(timed_upload(
        c.clone(),
        g.base.clone(),
        alice.clone(),
        len / 2,
    ));
    let a2 = tokio::spawn(timed_upload(
        c.clone(),
        g.base.clone(),
        alice.clone(),
        len / 2,
    ));
    let b1 = tokio::spawn(timed_upload(c.clone(), g.base.clone(), bob.clone(), len));
    // Meanwhile carol's small requests are answered at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        let s = Instant::now();
        let r = create_as(&c, &g.base, &carol, 100).await;
        assert_eq!(r.status(), 201);
        worst = worst.max(s.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (a1, a2, b1) = (a1.await.unwrap(), a2.await.unwrap(), b1.await.unwrap());
    let mib = |bytes: usize, secs: f64| bytes as f64 / f64::from(1 << 20) / secs;
    let (alice_rate, bob_rate) = (mib(len, a1.max(a2)), mib(len, b1));
    println!(
        "user-bandwidth 2 MiB/s: alice {alice_rate:.2} MiB/s (her two uploads {a1:.2} s and {a2:.2} s), \
         bob {bob_rate:.2} MiB/s ({b1:.2} s), carol's worst request {:.1} ms, all done in {:.1} s",
        worst.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64()
    );
    // Each user gets their share (the quarter-second burst lets it run a little over).
    for (who, rate) in [("alice", alice_rate), ("bob", bob_rate)] {
        assert!((1.5..2.4).contains(&rate), "{who} got {rate:.2} MiB/s");
    }
    // alice's two uploads share her rate evenly (they end within 35 % of each other).
    assert!(
        (a1 / a2 - 1.0).abs() < 0.35,
        "alice's uploads {a1} s vs {a2} s"
    );
    // carol is served while the others are paced: far below one paced second.
    assert!(worst < Duration::from_millis(500), "carol waited {worst:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_instances_sharing_redis() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let state = redis.url();
    let extra = [
        "--state",
        &state,
        "--user-requests",
        "1",
        "--user-burst",
        "6",
    ];
    let g = [gateway(dir.path(), &extra), gateway(dir.path(), &extra)];
    let c = client();
    let alice = ks_for("alice");
    let mut codes = Vec::new();
    for i in 0..8 {
        codes.push(
            create_as(&c, &g[i % 2].base, &alice, 10)
                .await
                .status()
                .as_u16(),
        );
    }
    // Six in the burst, wherever they landed; then both instances refuse.
    assert_eq!(codes.iter().filter(|&&s| s == 201).count(), 6, "{codes:?}");
    assert_eq!(&codes[6..], &[429, 429], "{codes:?}");
    assert_eq!(
        create_as(&c, &g[1].base, &ks_for("bob"), 10).await.status(),
        201
    );
}

/// With Redis state the bandwidth budget is shared too: alice's uploads through two
/// instances together get her rate, not twice it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_shared_across_instances_on_redis() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let state = redis.url();
    let extra = ["--state", &state, "--user-bandwidth", "2MiB/s"];
    let g = [gateway(dir.path(), &extra), gateway(dir.path(), &extra)];
    let c = client();
    let alice = ks_for("alice");
    let len = 4 << 20;
    let t = Instant::now();
    let a = tokio::spawn(timed_upload(
        c.clone(),
        g[0].base.clone(),
        alice.clone(),
        len,
    ));
    let b = tokio::spawn(timed_upload(
        c.clone(),
        g[1].base.clone(),
        alice.clone(),
        len,
    ));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let rate = (2 * len) as f64 / f64::from(1 << 20) / t.elapsed().as_secs_f64();
    println!(
        "user-bandwidth 2 MiB/s over two instances: alice {rate:.2} MiB/s in total \
         (uploads {a:.2} s and {b:.2} s)"
    );
    assert!(
        (1.5..2.5).contains(&rate),
        "alice got {rate:.2} MiB/s over two instances"
    );
}

/// `session.start` with a secret from a client behind a proxy: the code of the answer.
async fn start_from(c: &reqwest::Client, base: &str, client_ip: &str, secret: &str) -> String {
    let r = c
        .get(format!(
            "{base}/api_v3/service/session/action/start?format=1&partnerId={PARTNER}&secret={secret}"
        ))
        .header("X-Forwarded-For", format!("{client_ip}, 127.0.0.1"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    v["code"].as_str().unwrap_or("ok").to_owned()
}

/// Behind a trusted proxy the limit on failed session starts counts the address the
/// proxy names; from any other peer `X-Forwarded-For` is ignored (a client cannot pick
/// a fresh address for every guess).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxy_names_the_client_and_nobody_else_does() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &["--trusted-proxy", "127.0.0.0/8"]);
    for i in 0..10 {
        let code = start_from(&c, &gw.base, "198.51.100.1", &format!("guess{i}")).await;
        assert_eq!(code, "START_SESSION_ERROR");
    }
    assert_eq!(
        start_from(&c, &gw.base, "198.51.100.1", ADMIN_SECRET).await,
        "REQUEST_RATE_EXCEEDED",
        "the guessing client waits"
    );
    assert_eq!(
        start_from(&c, &gw.base, "198.51.100.2", ADMIN_SECRET).await,
        "ok",
        "another client behind the same proxy does not"
    );
    // No trusted proxy: the header is the client's own word, and ignored.
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &[]);
    for i in 0..10 {
        let ip = format!("203.0.113.{i}");
        let code = start_from(&c, &gw.base, &ip, &format!("guess{i}")).await;
        assert_eq!(code, "START_SESSION_ERROR");
    }
    assert_eq!(
        start_from(&c, &gw.base, "203.0.113.99", ADMIN_SECRET).await,
        "REQUEST_RATE_EXCEEDED"
    );
}
