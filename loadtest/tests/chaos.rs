//! The fault campaign's short CI mode, through the `upgate-loadtest` binary: a few
//! seeded runs over a real cluster (private redis-server, s3s-fs, three gateways),
//! each with faults; every upload must end complete and byte-identical (checked by
//! the client and by downloading it back), none stuck. The long campaign (≥ 100 runs)
//! is the README's command; its figures go in the closing note.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn a_short_seeded_campaign_loses_and_corrupts_nothing() {
    let out = Command::new(env!("CARGO_BIN_EXE_upgate-loadtest"))
        .args([
            "chaos",
            "--runs",
            "5",
            "--seed",
            "2026",
            "--max-size",
            "12MiB",
        ])
        .args(["--deadline", "120", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stderr}");
    let v: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no report: {stderr}")),
    )
    .unwrap();
    println!("{v:#}");
    assert!(out.status.success(), "campaign failed: {v:#}");
    assert_eq!(v["runs"], 5);
    assert_eq!(v["sha_mismatch"], 0);
    assert_eq!(v["stuck"], 0);
    assert_eq!(v["harness_errors"], 0);
    // These faults are all survivable by a resuming client: nothing should fail.
    assert_eq!(v["ok"], 5, "{:#}", v["failed"]);
    let faults: u64 = v["faults"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(faults >= 5, "every run has at least one fault: {v:#}");
}
