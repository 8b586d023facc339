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
}
