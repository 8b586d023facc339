//! The real shaped link of `loadtest/real-link.sh` in its short CI mode: the gateway and
//! the client in network namespaces joined by a router whose links `tc tbf` shapes to
//! 10 Mbit/s, with an outage made by taking the router's links down (packets vanish;
//! nothing is closed). `upgate push` on both protocols and the upload page in Chromium
//! must finish with the file's SHA-256 close to the link's floor. The long runs (250 MB,
//! three 5 s drops) are the README's commands; their figures go in the closing note.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

fn real_link(args: &[&str]) -> serde_json::Value {
    let script = common::repo_root().join("loadtest/real-link.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(["--size", "6MB", "--drops", "1", "--drop-secs", "3"])
        .args(["--upgate", env!("CARGO_BIN_EXE_upgate")])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "real-link.sh failed (needs root, iproute2's ip and tc):\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.lines().last().unwrap())
        .unwrap_or_else(|_| panic!("not JSON: {stdout}\n{stderr}"))
}

#[test]
fn uploads_over_a_shaped_link_with_an_outage() {
    for args in [
        &["--client", "push", "--protocol", "files", "--stall", "1s"][..],
        &[
            "--client",
            "push",
            "--protocol",
            "kaltura",
            "--parallel",
            "3",
            "--stall",
            "1s",
        ],
        &["--client", "page"],
    ] {
        let v = real_link(args);
        let r = &v["reported"];
        println!(
            "{args:?}: {} s, floor {} s, {} bytes sent of {}",
            v["seconds"], v["floor_seconds"], r["bytes_sent"], v["size"]
        );
        assert_eq!(r["status"], "ok", "{v:#}");
        let (secs, floor) = (
            v["seconds"].as_f64().unwrap(),
            v["floor_seconds"].as_f64().unwrap(),
        );
        assert!(secs >= floor - 0.5, "faster than the link allows: {v:#}");
        assert!(
            secs < floor + 6.0,
            "{secs} s against a {floor} s floor: {v:#}"
        );
        if args[1] == "push" {
            // The client's own check: the server's SHA-256 equals the file's.
            assert_eq!(r["sha256"].as_str().unwrap().len(), 64, "{v:#}");
        }
    }
}
