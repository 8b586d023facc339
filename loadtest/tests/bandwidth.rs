//! The bandwidth model end to end, through the `upgate-loadtest` binary.
//! Virtual time (deterministic, fast): 250 MB over 10 Mbit/s with 3 drops of 5 s must
//! complete within 225 s of modeled time (floor 215 s), byte-identical, with at most 1 %
//! re-sent — for both protocols — and a restart-from-zero client must be slower.
//! Real time (scaled down): 25 MB at 10 Mbit/s with one drop through a gateway process.
//! Time figures are printed; only the modeled ones are asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn loadtest(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_upgate-loadtest"))
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

fn show(v: &serde_json::Value) {
    println!(
        "{} {} {}: {:.1} s modeled (floor {:.1}), {:.2} s wall, re-sent {:.2} %",
        v["protocol"],
        v["clock"],
        v["client"],
        v["modeled_seconds"].as_f64().unwrap(),
        v["floor_seconds"].as_f64().unwrap(),
        v["wall_seconds"].as_f64().unwrap(),
        v["resent_percent"].as_f64().unwrap()
    );
}

#[test]
fn headline_250mb_over_10mbit_with_three_drops() {
    let common = [
        "bandwidth",
        "--clock",
        "virtual",
        "--size",
        "250MB",
        "--link-mbps",
        "10",
        "--drops",
        "3",
        "--drop-secs",
        "5",
    ];
    let mut resumable = 0.0;
    for protocol in ["files", "kaltura"] {
        let mut args = common.to_vec();
        args.extend(["--protocol", protocol]);
        let v = loadtest(&args);
        show(&v);
        assert_eq!(v["sha256_match"], true);
        let modeled = v["modeled_seconds"].as_f64().unwrap();
        assert!(modeled <= 225.0, "{protocol}: {modeled} s modeled");
        assert!(
            modeled >= 215.0,
            "{protocol}: faster than physics? {modeled}"
        );
        assert!(
            v["resent_percent"].as_f64().unwrap() <= 1.0,
            "{protocol}: {}",
            v["resent_percent"]
        );
        assert_eq!(v["drops"].as_array().unwrap().len(), 3);
        resumable = modeled;
    }
    // The same link with a client that starts over after every drop.
    let mut args = common.to_vec();
    args.extend(["--client", "naive"]);
    let v = loadtest(&args);
    show(&v);
    assert_eq!(v["sha256_match"], true);
    let naive = v["modeled_seconds"].as_f64().unwrap();
    assert!(
        naive > resumable + 60.0,
        "restart-from-zero {naive} s vs resumable {resumable} s"
    );
    assert!(v["resent_percent"].as_f64().unwrap() > 20.0);
}

#[test]
fn real_time_scaled_run_through_a_gateway_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Command::new(env!("CARGO_BIN_EXE_upgate-loadtest"))
        .args(["gateway", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(gw.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let plot = dir.path().join("real.svg");
    let v = loadtest(&[
        "bandwidth",
        "--clock",
        "real",
        "--url",
        &url,
        "--size",
        "25MB",
        "--link-mbps",
        "10",
        "--drops",
        "1",
        "--drop-secs",
        "2",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let _ = gw.kill();
    let _ = gw.wait();
    show(&v);
    assert_eq!(v["sha256_match"], true);
    assert_eq!(v["clock"], "real");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
    // A non-loopback target is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_upgate-loadtest"))
        .args(["bandwidth", "--url", "http://192.0.2.1:80", "--size", "1MB"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing non-loopback"));
}

/// Every scenario runs, bounded and small, and reports a byte-identical result.
#[test]
fn every_scenario_runs() {
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "parallel",
            "--link-mbps",
            "0",
            "--uploads",
            "6",
            "--size",
            "8MiB",
            "--chunk-size",
            "2MiB",
        ],
        vec![
            "burst",
            "--bursts",
            "2",
            "--per-burst",
            "6",
            "--small",
            "300KB",
            "--large",
            "4MB",
            "--large-every",
            "3",
            "--gap-secs",
            "5",
        ],
        vec![
            "resume-storm",
            "--clients",
            "6",
            "--size",
            "4MB",
            "--drops",
            "3",
            "--drop-secs",
            "1",
            "--chunk-size",
            "1MiB",
        ],
        vec![
            "kaltura-browser",
            "--size",
            "20MB",
            "--chunk-size",
            "2MB",
            "--drops",
            "1",
            "--drop-secs",
            "2",
        ],
        vec![
            "bandwidth",
            "--protocol",
            "kaltura",
            "--size",
            "10MB",
            "--uploads",
            "2",
            "--drops",
            "2",
            "--drop-seed",
            "9",
        ],
    ];
    for args in runs {
        let v = loadtest(&args);
        show(&v);
        assert_eq!(v["sha256_match"], true, "{args:?}");
        assert!(
            v["latency"].as_object().unwrap().len() >= 2,
            "{args:?}: latency per request kind"
        );
        let floor = v["floor_seconds"].as_f64().unwrap();
        assert!(
            v["modeled_seconds"].as_f64().unwrap() + 1e-6 >= floor,
            "{args:?}: below the physical floor"
        );
    }
    let v = loadtest(&["create-storm", "--duration", "1", "--concurrency", "4"]);
    assert!(v["requests"].as_u64().unwrap() > 10);
    assert!(v["errors_by_status"].as_object().unwrap().is_empty(), "{v}");
    println!(
        "create-storm: {:.0} req/s",
        v["requests_per_second"].as_f64().unwrap()
    );
}
