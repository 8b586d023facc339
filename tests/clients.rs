//! Real tus clients as protocol oracles: tus-js-client (npm) and tuspy (PyPI) upload
//! through `/files/`, one of each resuming after a connection cut mid-body by a proxy.
//! The clients are installed by `tests/run.sh`; a missing client fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;

const MIB: usize = 1 << 20;

fn node_client() -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = repo_root().join("tests/node");
    assert!(
        dir.join("node_modules/tus-js-client").exists(),
        "tus-js-client is not installed: run tests/run.sh (or npm ci in tests/node)"
    );
    (dir.join("tus_upload.mjs"), dir)
}

fn python() -> std::path::PathBuf {
    let py = repo_root().join("tests/.venv/bin/python");
    assert!(
        py.exists(),
        "tuspy is not installed: run tests/run.sh (creates tests/.venv)"
    );
    py
}

fn run(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("client runs");
    assert!(
        out.status.success(),
        "client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("client printed JSON")
}

async fn verify(g: &Gateway, url: &str, want: &[u8]) {
    let path = url.find("/files/").map(|i| &url[i..]).unwrap();
    let got = download(&client(), &g.base, path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(want));
}

fn write_file(dir: &std::path::Path, name: &str, d: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, d).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_uploads_and_resumes_after_cut() {
    let (script, dir) = node_client();
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let d = data(6 * MIB, 21);
    let file = write_file(tmp.path(), "lecture.mp4", &d);
    // One PATCH for the whole file (tus-js-client's default), cut after ~2.5 MiB.
    let proxy = CutProxy::start(g.addr, 5 * MIB as u64 / 2).await;
    let endpoint = format!("http://{}/files/", proxy.addr);
    let (s, f) = (script.clone(), file.clone());
    let v = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .current_dir(&dir)
            .arg(&s)
            .arg(&endpoint)
            .arg(&f))
    })
    .await
    .unwrap();
    assert!(proxy.was_cut(), "the proxy must have cut the connection");
    verify(&g, v["url"].as_str().unwrap(), &d).await;
    // Bytes re-sent after the cut are few: the resume started from the server's offset.
    let carried = proxy
        .upstream_bytes
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        carried < (d.len() + MIB) as u64,
        "carried {carried} bytes for a {} byte file",
        d.len()
    );
    g.shutdown().await;
}

/// tus-js-client's IETF draft modes (`ietf-draft-03`: interop version 5,
/// `ietf-draft-05`: version 6) upload, whole and in chunks, and resume after a cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_ietf_drafts() {
    let (script, dir) = node_client();
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let d = data(6 * MIB + 5, 24);
    let file = write_file(tmp.path(), "draft.mp4", &d);
    for protocol in ["ietf-draft-03", "ietf-draft-05"] {
        for chunk in [None, Some("1048576")] {
            // The whole file in the creation: cut once the client has the upload's URL.
            let proxy = match chunk {
                None => CutProxy::start_after_reply(g.addr, 5 * MIB as u64 / 2).await,
                Some(_) => CutProxy::start(g.addr, 5 * MIB as u64 / 2).await,
            };
            let endpoint = format!("http://{}/files/", proxy.addr);
            let (s, f, dir) = (script.clone(), file.clone(), dir.clone());
            let v = tokio::task::spawn_blocking(move || {
                let mut c = Command::new("node");
                c.current_dir(&dir)
                    .arg(&s)
                    .arg(&endpoint)
                    .arg(&f)
                    .args(["--protocol", protocol]);
                if let Some(n) = chunk {
                    c.args(["--chunk", n]);
                }
                run(&mut c)
            })
            .await
            .unwrap();
            assert!(
                proxy.was_cut(),
                "{protocol} {chunk:?}: the proxy must have cut"
            );
            verify(&g, v["url"].as_str().unwrap(), &d).await;
            let carried = proxy
                .upstream_bytes
                .load(std::sync::atomic::Ordering::Relaxed);
            println!(
                "tus-js-client {protocol} chunk {chunk:?}: {carried} bytes carried for {}",
                d.len()
            );
            assert!(
                carried < (d.len() + 2 * MIB) as u64,
                "{protocol}: re-sent too much"
            );
        }
    }
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_chunked_and_parallel_concatenation() {
    let (script, dir) = node_client();
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let d = data(5 * MIB + 777, 22);
    let file = write_file(tmp.path(), "talk.mp4", &d);
    let endpoint = g.url("/files/");
    for extra in [vec!["--chunk", "1048576"], vec!["--parallel", "3"]] {
        let (s, f, e, dir) = (script.clone(), file.clone(), endpoint.clone(), dir.clone());
        let v = tokio::task::spawn_blocking(move || {
            run(Command::new("node")
                .current_dir(&dir)
                .arg(&s)
                .arg(&e)
                .arg(&f)
                .args(&extra))
        })
        .await
        .unwrap();
        verify(&g, v["url"].as_str().unwrap(), &d).await;
    }
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_and_resumes_after_cut() {
    let py = python();
    let script = repo_root().join("tests/py/tus_upload.py");
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let d = data(5 * MIB + 3, 23);
    let file = write_file(tmp.path(), "seminar.mp4", &d);
    let proxy = CutProxy::start(g.addr, 3 * MIB as u64 / 2).await;
    let endpoint = format!("http://{}/files/", proxy.addr);
    let v = tokio::task::spawn_blocking(move || {
        run(Command::new(&py)
            .arg(&script)
            .arg(&endpoint)
            .arg(&file)
            .arg((MIB).to_string()))
    })
    .await
    .unwrap();
    assert!(proxy.was_cut());
    verify(&g, v["url"].as_str().unwrap(), &d).await;
    g.shutdown().await;
}

/// tus-js-client against a gateway process with the cluster backends and the default
/// settings: a session in `Authorization`, Redis state, S3 storage (chunked PATCHes
/// re-blocked into parts; parallel uploads concatenated from other objects).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_on_redis_and_s3_with_a_session() {
    let (script, dir) = node_client();
    let redis = common::redis_server::RedisServer::start();
    let s3 = common::s3_server::S3Server::start();
    let data_dir = tempfile::tempdir().unwrap();
    let g = ChildGateway::start_on(&redis, &s3, data_dir.path(), &[]);
    let ks = user_ks("alice", 0);
    let tmp = tempfile::tempdir().unwrap();
    let d = data(11 * MIB + 777, 23);
    let file = write_file(tmp.path(), "talk.mp4", &d);
    let endpoint = g.url("/files/");
    for extra in [vec!["--chunk", "3145728"], vec!["--parallel", "3"]] {
        let (s, f, e, dir, k) = (
            script.clone(),
            file.clone(),
            endpoint.clone(),
            dir.clone(),
            ks.clone(),
        );
        let v = tokio::task::spawn_blocking(move || {
            run(Command::new("node")
                .current_dir(&dir)
                .arg(&s)
                .arg(&e)
                .arg(&f)
                .args(&extra)
                .args(["--bearer", &k]))
        })
        .await
        .unwrap();
        let url = v["url"].as_str().unwrap();
        let got = fetch(client().get(url).bearer_auth(&ks)).await;
        assert_eq!(sha256_hex(&got), sha256_hex(&d));
    }
}
