//! The `upgate` binary's command line: `--print-config` merges flags, `UPGATE_*`
//! environment twins and defaults; bad values are refused with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn upgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_upgate"))
}

#[test]
fn print_config_merges_env_flags_and_defaults() {
    let out = upgate()
        .args([
            "serve",
            "--print-config",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/tmp/x",
        ])
        .env("UPGATE_MAX_UPLOAD_SIZE", "1GiB")
        .env("UPGATE_UPLOAD_EXPIRY", "2h")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["max_upload_size"], 1 << 30);
    assert_eq!(v["upload_expiry"], "7200s");
    assert_eq!(v["listen"], "127.0.0.1:0");
    assert_eq!(v["state"], "redb:///tmp/x/state.redb");
    assert_eq!(v["store"], "file:///tmp/x/blobs");
    assert_eq!(v["body_timeout"], "60s");
}

#[test]
fn bad_values_are_refused_clearly() {
    let out = upgate()
        .args(["serve", "--max-upload-size", "12 parsecs"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown unit"));
    let dir = tempfile::tempdir().unwrap();
    let out = upgate()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "postgres://nope",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported state URL"));
    // Cluster settings: each mistake named at start, never a hang.
    let gone = dir.path().join("no-such-redis.sock");
    let cases: [(&[&str], &str); 10] = [
        (&["--store", "ftp://x"], "unsupported store URL"),
        (&["--hook-url", "ftp://receiver"], "not an http(s) URL"),
        (
            &["--hook-url", "http://r", "--hook-events", "finished,done"],
            "unknown --hook-events value \"done\"",
        ),
        (&["--pre-create-hook", "not a url"], "not an http(s) URL"),
        (&["--trusted-proxy", "10.0.0.0/40"], "bad prefix length"),
        (
            &[
                "--tls-cert",
                "/nonexistent/cert.pem",
                "--tls-key",
                "/nonexistent/key.pem",
            ],
            "/nonexistent/cert.pem",
        ),
        (&["--store", "s3://?region=x"], "no bucket"),
        (
            &["--state", &format!("redis+unix://{}", gone.display())],
            "cannot open state store",
        ),
        (&["--user-bandwidth", "fast"], "invalid value 'fast'"),
        (&["--lease-ttl", "soon"], "invalid value 'soon'"),
    ];
    for (args, want) in cases {
        let out = upgate()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// `serve` with no partner creates a development partner once, keeps it, and prints a
/// ready `upgate ks` line; that command's KS works against the running gateway.
#[test]
fn dev_partner_and_ks_command() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut child = upgate()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("UPGATE_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let (mut e1, mut e2) = (String::new(), String::new());
        err.read_line(&mut e1).unwrap();
        err.read_line(&mut e2).unwrap();
        (
            child,
            line.trim().trim_start_matches("listening on ").to_owned(),
            e1,
            e2,
        )
    };
    let (mut child, base, e1, e2) = start();
    assert!(e1.contains("created development partner 100"), "{e1}");
    let cmd = e2.trim();
    assert!(
        cmd.starts_with("upgate ks --partner-id 100 --secret "),
        "{cmd}"
    );
    let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let ks = String::from_utf8(upgate().args(&args).output().unwrap().stdout).unwrap();
    let ks = ks.trim();
    assert!(ks.starts_with("djJ8"), "{ks}");
    let _ = child.kill();
    let _ = child.wait();
    // Second start: the same partner is reused, so the KS still verifies.
    let (mut child, base2, e1, _) = start();
    assert!(e1.contains("using development partner 100"), "{e1}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        reqwest::get(format!(
            "{base2}/api_v3/service/uploadtoken/action/add?ks={ks}"
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
    });
    assert!(
        body.contains("<objectType>KalturaUploadToken</objectType>"),
        "{body}"
    );
    assert!(body.contains("<userId>you@example.edu</userId>"), "{body}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = base;
}

#[test]
fn ks_command_mints_v1_and_admin() {
    let out = upgate()
        .args([
            "ks",
            "--partner-id",
            "12345",
            "--secret",
            "0123456789abcdef0123456789abcdef",
            "--user",
            "u",
            "--admin",
            "--v1",
        ])
        .output()
        .unwrap();
    let ks = String::from_utf8(out.stdout).unwrap();
    let parsed =
        upgate_proto::kaltura::ks::verify(ks.trim(), &["0123456789abcdef0123456789abcdef"])
            .unwrap();
    assert_eq!(
        (parsed.version, parsed.session_type, parsed.user.as_str()),
        (1, 2, "u")
    );
}
