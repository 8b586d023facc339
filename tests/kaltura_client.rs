//! The official Kaltura Python client (KalturaApiClient from PyPI, XML format) as the
//! oracle: `tests/py/kaltura_flows.py` runs every scenario of the Kaltura issue against
//! an in-process gateway and asserts what the client sees; this test then downloads
//! each file through the entry's download URL and checks its SHA-256 independently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_flows() {
    let g = Gateway::start().await;
    flows_against(&g.base).await;
    g.shutdown().await;
}

/// The same flows against a gateway process with the cluster backends and default
/// settings (sessions required on /files/, default request limits): Redis state and S3
/// storage, where the parallel final-first chunks are staged as objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_flows_on_redis_and_s3() {
    let redis = common::redis_server::RedisServer::start();
    let s3 = common::s3_server::S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let g = ChildGateway::start_on(&redis, &s3, dir.path(), &[]);
    flows_against(&g.base).await;
}

/// Runs `tests/py/kaltura_flows.py` against `base` and checks every file it uploaded.
async fn flows_against(base: &str) {
    let py = repo_root().join("tests/.venv/bin/python");
    assert!(
        py.exists(),
        "KalturaApiClient is not installed: run tests/run.sh (creates tests/.venv)"
    );
    let script = repo_root().join("tests/py/kaltura_flows.py");
    let base = base.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&py)
            .arg(&script)
            .arg(&base)
            .arg(PARTNER.to_string())
            .arg(USER_SECRET)
            .arg(ADMIN_SECRET)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kaltura_flows.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let files = v["files"].as_array().unwrap();
    let kinds: Vec<&str> = files.iter().map(|f| f["what"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sequential", "resumed", "parallel", "multirequest"]);
    let c = client();
    for f in files {
        let url = f["url"].as_str().unwrap();
        let got = sha256_hex(&fetch(c.get(url)).await);
        assert_eq!(got, f["sha256"].as_str().unwrap(), "{}", f["what"]);
    }
    // The cut chunk kept every byte that arrived: 1 MiB + 1.5 MiB.
    assert_eq!(v["resumed_from"], 1024 * 1024 + 1536 * 1024);
}
