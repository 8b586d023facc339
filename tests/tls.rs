//! TLS and HTTP/2 on a gateway process: HTTP/1.1 and HTTP/2 chosen by ALPN, HTTP/2 by
//! prior knowledge on plain TCP, uploads and downloads over each, and the certificate
//! reloaded on SIGHUP (a file that does not load keeps the current one). Certificates
//! are made with the `openssl` command.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A self-signed certificate for 127.0.0.1 into `dir/NAME.{cert,key}.pem`.
fn make_cert(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.cert.pem")),
        dir.join(format!("{name}.key.pem")),
    );
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        // A server certificate, not a CA (webpki refuses a CA as the end entity).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn client_trusting(cert: &Path) -> reqwest::ClientBuilder {
    let pem = std::fs::read(cert).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .tls_info(true)
}

/// Creates, sends in one PATCH and downloads `body` over `c`; the HTTP version used and
/// the seconds the PATCH took.
async fn round_trip(c: &reqwest::Client, base: &str, body: &[u8]) -> (reqwest::Version, f64) {
    let r = c
        .post(format!("{base}/files/"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", body.len().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let version = r.version();
    let path = header(&r, "location").unwrap().to_owned();
    let t = Instant::now();
    let r = patch(c, base, &path, 0, body.to_vec()).await;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.status(), 204, "PATCH over {version:?}");
    assert_eq!(r.version(), version);
    let got = download(c, base, &path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(body), "over {version:?}");
    (version, secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_http2_over_tls_and_h2c() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "one");
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let gw = ChildGateway::start(
        &data_dir,
        &[
            "--files-auth",
            "off",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        gw.base.starts_with("https://127.0.0.1:"),
        "start line: {}",
        gw.base
    );
    let body = data(32 << 20, 7);
    let h2 = client_trusting(&cert).build().unwrap();
    let (v, h2_secs) = round_trip(&h2, &gw.base, &body).await;
    assert_eq!(v, reqwest::Version::HTTP_2, "ALPN chose h2");
    let h1 = client_trusting(&cert).http1_only().build().unwrap();
    let (v, h1_secs) = round_trip(&h1, &gw.base, &body).await;
    assert_eq!(v, reqwest::Version::HTTP_11);
    // Plain HTTP is refused on the TLS port (no downgrade).
    let plain = client()
        .get(format!("http://{}/healthz", gw.addr))
        .send()
        .await;
    assert!(plain.map_or(true, |r| !r.status().is_success()));
    // Plain TCP: HTTP/2 by prior knowledge, HTTP/1.1 as before.
    let dir2 = tempfile::tempdir().unwrap();
    let plain_gw = ChildGateway::start(dir2.path(), &["--files-auth", "off"]);
    assert!(plain_gw.base.starts_with("http://"));
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let (v, h2c_secs) = round_trip(&h2c, &plain_gw.base, &body).await;
    assert_eq!(v, reqwest::Version::HTTP_2);
    let (v, plain_secs) = round_trip(&client(), &plain_gw.base, &body).await;
    assert_eq!(v, reqwest::Version::HTTP_11);
    let mbs = |s: f64| body.len() as f64 / s / 1e6;
    println!(
        "32 MiB PATCH (debug build, one stream): TLS h2 {:.0} MB/s, TLS http/1.1 {:.0} MB/s, \
         h2c {:.0} MB/s, plain http/1.1 {:.0} MB/s",
        mbs(h2_secs),
        mbs(h1_secs),
        mbs(h2c_secs),
        mbs(plain_secs)
    );
}

fn peer_cert(r: &reqwest::Response) -> Vec<u8> {
    r.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap()
}

fn pem_der(cert: &Path) -> Vec<u8> {
    use base64::Engine;
    let text = std::fs::read_to_string(cert).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_a_bad_file_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "live");
    let (cert2, key2) = make_cert(dir.path(), "next");
    let first = pem_der(&cert);
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let gw = ChildGateway::start(
        &data_dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let get = |c: reqwest::Client| {
        let url = format!("{}/healthz", gw.base);
        async move { c.get(url).send().await }
    };
    let r = get(client_trusting(&cert).build().unwrap()).await.unwrap();
    assert_eq!(peer_cert(&r), first);
    // New files in place, then SIGHUP: new connections get the new certificate.
    std::fs::copy(&cert2, &cert).unwrap();
    std::fs::copy(&key2, &key).unwrap();
    let hup = |pid: u32| {
        let ok = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    hup(gw.pid());
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = pem_der(&cert2);
    loop {
        if let Ok(r) = get(client_trusting(&cert2).build().unwrap()).await {
            assert_eq!(peer_cert(&r), second);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        get(client_trusting(dir.path().join("live.cert.pem").as_path())
            .build()
            .unwrap())
        .await
        .is_ok(),
        "the files hold the new certificate"
    );
    // A broken file: SIGHUP keeps the current certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    hup(gw.pid());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = get(client_trusting(&cert2).build().unwrap()).await.unwrap();
    assert_eq!(peer_cert(&r), second);
}

/// A client that opens TLS connections and never finishes the handshake (or sends
/// garbage) is dropped after `--header-timeout`, and does not hold the port for others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_garbage_handshakes_are_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "hs");
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let gw = ChildGateway::start(
        &data_dir,
        &[
            "--header-timeout",
            "1s",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let mut silent = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let mut garbage = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("the silent connection was not dropped")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), garbage.read_to_end(&mut rest)).await;
    assert!(
        !rest.starts_with(b"HTTP/1.1 200"),
        "plain HTTP answered on TLS"
    );
    // Meanwhile a real client is served.
    let r = client_trusting(&cert)
        .build()
        .unwrap()
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Resumable Uploads for HTTP's `104 Upload Resumption Supported` over TLS: curl (a
/// client that reports interim responses) sees it on HTTP/1.1, before the final `201`
/// with the same `Location`; on HTTP/2 there is none (hyper's server has no 1xx API;
/// the upload still works, the client learns the URL from the final answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rufh_104_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "rufh");
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let gw = ChildGateway::start(
        &data_dir,
        &[
            "--files-auth",
            "off",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let file = dir.path().join("body.bin");
    let body = data(3 << 20, 9);
    std::fs::write(&file, &body).unwrap();
    for (flag, want_104) in [("--http1.1", true), ("--http2", false)] {
        let out = Command::new("curl")
            .args(["-sS", "-v", flag, "--cacert", cert.to_str().unwrap()])
            .args([
                "-H",
                "Upload-Draft-Interop-Version: 8",
                "-H",
                "Upload-Complete: ?1",
            ])
            .args(["-H", "Content-Type: video/mp4"])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(format!("{}/files/", gw.base))
            .output()
            .expect("curl (Debian package curl)");
        let log = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(out.status.success(), "{flag}: {log}");
        let answers: Vec<&str> = log.lines().filter(|l| l.starts_with("< http/")).collect();
        let locations: Vec<&str> = log
            .lines()
            .filter_map(|l| l.strip_prefix("< location: "))
            .map(str::trim)
            .collect();
        println!("{flag}: {answers:?}, locations {locations:?}");
        match want_104 {
            true => {
                assert!(answers[0].starts_with("< http/1.1 104"), "{answers:?}");
                assert!(answers.last().unwrap().starts_with("< http/1.1 201"));
                assert_eq!(locations.len(), 2);
                assert_eq!(
                    locations[0], locations[1],
                    "the same Location in 104 and 201"
                );
            }
            false => {
                assert_eq!(answers.len(), 1, "{answers:?}");
                assert!(answers[0].starts_with("< http/2 201"), "{answers:?}");
            }
        }
        let got = client_trusting(&cert)
            .build()
            .unwrap()
            .get(format!("{}{}", gw.base, locations.last().unwrap()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&got), sha256_hex(&body), "{flag}");
    }
}
