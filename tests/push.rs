//! `upgate push` end to end, as a user runs it: every protocol (native, Kaltura, IETF), directories, JSON
//! results, resume after `kill -9` of the CLI, a connection cut mid-chunk, a server
//! restart mid-upload, and clear failures for bad input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

const MIB: usize = 1 << 20;

fn push(args: &[&str], state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upgate"));
    c.arg("push")
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env("UPGATE_LOG", "warn");
    c
}

/// `c` with the test user's credentials (a session started with the user secret).
fn as_user(mut c: Command) -> Command {
    c.args([
        "--partner-id",
        "12345",
        "--secret",
        USER_SECRET,
        "--user",
        "u",
    ]);
    c
}

fn results(out: &Output) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|_| {
        panic!(
            "not JSON: {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn write(dir: &Path, name: &str, len: usize, seed: u64) -> (std::path::PathBuf, Vec<u8>) {
    let d = data(len, seed);
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, &d).unwrap();
    (p, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_protocols_and_directories() {
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (file, d) = write(tmp.path(), "a/lecture.mp4", 5 * MIB + 17, 1);
    let (_, d2) = write(tmp.path(), "a/sub/second.mp4", 2 * MIB + 3, 2);
    let state = tmp.path().join("state");
    let out = run(push(
        &[
            file.to_str().unwrap(),
            "--url",
            &g.base,
            "--json",
            "--chunk-size",
            "1MiB",
        ],
        &state,
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = &results(&out)[0];
    assert_eq!(
        (r["status"].as_str(), r["resumed_from"].as_u64()),
        (Some("ok"), Some(0))
    );
    assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d));
    let url = r["upload_url"].as_str().unwrap();
    assert_eq!(sha256_hex(&fetch(client().get(url)).await), sha256_hex(&d));
    // A directory over Kaltura, sequential, with per-file media entries.
    let dir = tmp.path().join("a");
    let args = [
        dir.to_str().unwrap(),
        "--url",
        &g.base,
        "--json",
        "--protocol",
        "kaltura",
        "--partner-id",
        "12345",
        "--secret",
        USER_SECRET,
        "--user",
        "prof",
        "--create-entry",
        "--parallel",
        "3",
        "--chunk-size",
        "1MiB",
    ];
    let out = run(push(&args, &state)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rs = results(&out);
    assert_eq!(rs.len(), 2);
    for (r, want) in rs.iter().zip([&d, &d2]) {
        assert_eq!(r["status"], "ok");
        assert!(r["entry_id"].as_str().unwrap().starts_with("0_"));
        assert!(r["token_id"].as_str().unwrap().starts_with("0_"));
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(want));
    }
    // Sequential PATCH with per-chunk checksums.
    let out = run(push(
        &[
            file.to_str().unwrap(),
            "--url",
            &g.base,
            "--json",
            "--parallel",
            "1",
            "--checksum",
            "sha256",
        ],
        &state,
    ))
    .await;
    assert!(out.status.success());
    assert_eq!(results(&out)[0]["status"], "ok");
    // Resumable Uploads for HTTP: verified by the server's Repr-Digest.
    let out = run(push(
        &[
            file.to_str().unwrap(),
            "--url",
            &g.base,
            "--json",
            "--protocol",
            "ietf",
            "--chunk-size",
            "2MiB",
        ],
        &state,
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = &results(&out)[0];
    assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d));
    let url = r["upload_url"].as_str().unwrap();
    assert_eq!(sha256_hex(&fetch(client().get(url)).await), sha256_hex(&d));
    g.shutdown().await;
}

/// kill -9 of the CLI mid-upload; the same command again continues from the server's
/// offset: the second run sends about what was missing, not the whole file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_cli_resumes() {
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (file, d) = write(tmp.path(), "big.mp4", 24 * MIB, 3);
    let state = tmp.path().join("state");
    for (protocol, parallel) in [
        ("files", "1"),
        ("files", "4"),
        ("kaltura", "4"),
        ("ietf", "1"),
    ] {
        let common = [
            file.to_str().unwrap(),
            "--url",
            &g.base,
            "--json",
            "--protocol",
            protocol,
            "--parallel",
            parallel,
            "--chunk-size",
            "1MiB",
            "--partner-id",
            "12345",
            "--secret",
            USER_SECRET,
            "--user",
            "u",
        ];
        let mut slow = push(&common, &state);
        slow.args(["--limit-rate", "6MiB"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = slow.spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(1800)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let out = run(push(&common, &state)).await;
        assert!(
            out.status.success(),
            "{protocol}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = &results(&out)[0];
        let resumed = r["resumed_from"].as_u64().unwrap();
        let sent = r["bytes_sent"].as_u64().unwrap();
        let size = d.len() as u64;
        println!("{protocol} x{parallel}: resumed from {resumed}, sent {sent} of {size}");
        assert!(
            resumed >= 4 * MIB as u64,
            "{protocol}: the first run's bytes were kept ({resumed})"
        );
        let slack = parallel.parse::<u64>().unwrap() * MIB as u64;
        assert!(
            sent <= size - resumed + slack,
            "{protocol}: sent {sent}, missing was {}",
            size - resumed
        );
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d));
    }
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_mid_chunk() {
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (file, d) = write(tmp.path(), "cut.mp4", 12 * MIB, 4);
    for (protocol, cut) in [
        ("files", 5 * MIB as u64 / 2),
        ("kaltura", 7 * MIB as u64 / 2),
        ("ietf", 5 * MIB as u64 / 2),
    ] {
        let proxy = CutProxy::start(g.addr, cut).await;
        let base = format!("http://{}", proxy.addr);
        let args = [
            file.to_str().unwrap(),
            "--url",
            &base,
            "--json",
            "--protocol",
            protocol,
            "--parallel",
            "2",
            "--chunk-size",
            "2MiB",
            "--partner-id",
            "12345",
            "--secret",
            USER_SECRET,
            "--user",
            "u",
        ];
        let out = run(push(&args, &tmp.path().join(protocol))).await;
        assert!(
            out.status.success(),
            "{protocol}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(proxy.was_cut());
        let r = &results(&out)[0];
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d));
        let sent = r["bytes_sent"].as_u64().unwrap();
        assert!(
            sent < (d.len() + 4 * MIB) as u64,
            "{protocol}: re-sent too much ({sent})"
        );
    }
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_mid_upload() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (file, d) = write(tmp.path(), "restart.mp4", 16 * MIB, 5);
    // The default gateway: the native protocol needs a session, which the CLI starts
    // with the partner's user secret.
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let mut gw = ChildGateway::start(dir.path(), &["--partner", &partner]);
    let port = gw.addr.port().to_string();
    let mut cli = push(
        &[
            file.to_str().unwrap(),
            "--url",
            &gw.base,
            "--json",
            "--chunk-size",
            "1MiB",
            "--parallel",
            "2",
            "--limit-rate",
            "4MiB",
            "--partner-id",
            &PARTNER.to_string(),
            "--secret",
            USER_SECRET,
            "--user",
            "alice",
        ],
        &tmp.path().join("s"),
    );
    cli.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cli.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gw.kill9();
    tokio::time::sleep(Duration::from_millis(800)).await; // the CLI meets refused connections
    let listen = format!("127.0.0.1:{port}");
    let _gw2 = ChildGateway::start(dir.path(), &["--listen", &listen, "--partner", &partner]);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = &results(&out)[0];
    assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d));
    // Without a session the upload is not even visible; alice's session reads it.
    let url = r["upload_url"].as_str().unwrap();
    assert_eq!(client().get(url).send().await.unwrap().status(), 401);
    let alice = user_ks("alice", 0);
    let got = fetch(client().get(url).bearer_auth(&alice)).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gives_clear_messages() {
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (file, _) = write(tmp.path(), "f.mp4", 1000, 6);
    let f = file.to_str().unwrap();
    let state = tmp.path().join("s");
    // Nothing listens on port 1.
    let out = run(push(
        &[f, "--url", "http://127.0.0.1:1", "--retries", "2"],
        &state,
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FAILED") && err.contains("cannot reach"),
        "{err}"
    );
    // A forged KS.
    let out = run(push(
        &[
            f,
            "--url",
            &g.base,
            "--protocol",
            "kaltura",
            "--ks",
            "bm90LWEta3M=",
        ],
        &state,
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID_KS"));
    // A wrong partner secret.
    let out = run(push(
        &[
            f,
            "--url",
            &g.base,
            "--protocol",
            "kaltura",
            "--partner-id",
            "12345",
            "--secret",
            "nope",
        ],
        &state,
    ))
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("START_SESSION_ERROR"));
    // Kaltura without credentials.
    let out = run(push(
        &[f, "--url", &g.base, "--protocol", "kaltura"],
        &state,
    ))
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --ks"));
    // A missing file.
    let out = run(push(&["/no/such/file.mp4", "--url", &g.base], &state)).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such file"));
    g.shutdown().await;
}

/// A network that goes away without closing anything: every connection open at that
/// moment stops moving (a frozen proxy), forever. The client notices that its request
/// body made no progress for `--stall` and continues on a fresh connection from the
/// server's offset, on both protocols, instead of waiting for its request timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_abandoned() {
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (file, d) = write(tmp.path(), "lecture.mp4", 24 * MIB, 7);
    for (protocol, parallel) in [("files", "1"), ("kaltura", "3"), ("ietf", "1")] {
        let proxy = common::freeze::FreezeProxy::start(g.addr).await;
        let base = format!("http://{}", proxy.addr);
        let state = tmp.path().join(format!("state-{protocol}"));
        let args = [
            file.to_str().unwrap(),
            "--url",
            &base,
            "--json",
            "--protocol",
            protocol,
            "--parallel",
            parallel,
            "--chunk-size",
            "4MiB",
            "--limit-rate",
            "8MiB",
            "--stall",
            "1s",
        ];
        let started = std::time::Instant::now();
        let cli = tokio::spawn(run(as_user(push(&args, &state))));
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let before = proxy.connections.load(std::sync::atomic::Ordering::SeqCst);
        proxy.freeze();
        let out = cli.await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{protocol}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = &results(&out)[0];
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d), "{protocol}");
        let after = proxy.connections.load(std::sync::atomic::Ordering::SeqCst);
        println!(
            "{protocol} x{parallel}: {before} connections frozen at 1.2 s, {after} in all; \
             done in {secs:.1} s, {} bytes sent for {}",
            r["bytes_sent"],
            d.len()
        );
        assert!(after > before, "{protocol}: no fresh connection");
        // 3 s of bytes at the limited rate, a stall noticed within seconds; the old
        // behaviour waited for the request timeout (30 s and more).
        assert!(secs < 20.0, "{protocol}: {secs:.1} s");
    }
    g.shutdown().await;
}

/// The client's own pacing is not a stall: at `--limit-rate 32KiB` every 64 KiB piece
/// waits 2 s, twice `--stall`, and nothing is abandoned or sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_limit_rate_is_not_a_stall() {
    let g = Gateway::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (file, d) = write(tmp.path(), "slow.mp4", 96 * 1024, 8);
    for protocol in ["files", "kaltura"] {
        let args = [
            file.to_str().unwrap(),
            "--url",
            &g.base,
            "--json",
            "--protocol",
            protocol,
            "--limit-rate",
            "32KiB",
            "--stall",
            "1s",
        ];
        let out = run(as_user(push(
            &args,
            &tmp.path().join(format!("state-{protocol}")),
        )))
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = &results(&out)[0];
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_hex(&d));
        assert_eq!(
            r["bytes_sent"].as_u64().unwrap(),
            d.len() as u64,
            "{protocol}: {r}"
        );
    }
    g.shutdown().await;
}
