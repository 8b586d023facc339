//! What an operator sees: `/metrics` counting what happened, `/readyz` following the
//! state store, request ids in answers and in JSON log lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::redis_server::RedisServer;
use common::*;

/// The value of the first sample of `metric` whose labels contain all of `labels`.
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(metric) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_bytes_and_uploads() {
    let g = Gateway::start().await;
    let c = client();
    let payload = data(300_000, 3);
    let id = create(&c, &g.base, payload.len() as u64).await;
    assert_eq!(
        patch(&c, &g.base, &id, 0, payload.clone()).await.status(),
        204
    );
    let _ = c.get(g.url("/files/nope")).send().await.unwrap();
    let r = c.get(g.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    let created = sample(
        &text,
        "upgate_requests_total",
        &["api=\"files\"", "method=\"POST\"", "status=\"201\""],
    );
    assert!(created >= Some(1.0), "{text}");
    assert!(sample(&text, "upgate_requests_total", &["status=\"404\""]) >= Some(1.0));
    assert!(
        sample(&text, "upgate_bytes_stored_total", &[]) >= Some(payload.len() as f64),
        "{text}"
    );
    assert!(sample(&text, "upgate_body_bytes_received_total", &[]) >= Some(payload.len() as f64));
    assert!(sample(&text, "upgate_uploads_completed_total", &[]) >= Some(1.0));
    assert!(sample(&text, "upgate_request_seconds_bucket", &["api=\"files\""]).is_some());
    assert!(sample(&text, "upgate_state_commit_seconds_count", &[]) >= Some(1.0));
    assert_eq!(
        sample(&text, "upgate_writers_active", &[]),
        Some(0.0),
        "{text}"
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_answered() {
    let g = Gateway::start().await;
    let c = client();
    let r = c.get(g.url("/healthz")).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let r = c
        .get(g.url("/healthz"))
        .header("X-Request-ID", "trace-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-request-id"],
        "trace-42.a_b",
        "a client's id is kept"
    );
    let r = c
        .get(g.url("/healthz"))
        .header("X-Request-ID", "<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.headers()["x-request-id"],
        "<script>",
        "an unsafe one is replaced"
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_state_store() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let url = redis.url();
    let g = ChildGateway::start(dir.path(), &["--partner", &partner, "--state", &url]);
    let c = client();
    assert_eq!(c.get(g.url("/readyz")).send().await.unwrap().status(), 200);
    redis.kill();
    let r = c.get(g.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("state store"));
    assert_eq!(
        c.get(g.url("/healthz")).send().await.unwrap().status(),
        200,
        "still alive"
    );
    redis.restart();
    assert!(
        eventually(|| async { c.get(g.url("/readyz")).send().await.unwrap().status() == 200 })
            .await,
        "ready again once Redis is back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_upgate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("UPGATE_LOG", "upgate=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let r = client()
        .get(format!("{base}/healthz"))
        .header("X-Request-ID", "ops-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let answered = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "answered")
        .unwrap_or_else(|| panic!("no JSON 'answered' line in:\n{stderr}"));
    assert_eq!(answered["span"]["id"], "ops-test-1", "{answered}");
    assert_eq!(answered["fields"]["status"], 200);
}
