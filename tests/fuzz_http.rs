//! Randomized requests against every endpoint (deterministic seed): whatever a client
//! sends — odd methods, malformed headers, truncated multipart, garbage KS — the gateway
//! answers with a client error or a protocol error envelope, never a 500, never HTML
//! outside the page, always with `nosniff`, and stays up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_500() {
    let g = Gateway::start().await;
    let c = client();
    let upload = create(&c, &g.base, 1000).await;
    let upload = upload.as_str();
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let methods = [
        "GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "TRACE", "PROPFIND",
    ];
    let paths = [
        "/files/",
        "/files",
        upload,
        "/files/0_deadbeef",
        "/files/%2e%2e",
        "/files/a/b",
        "/api_v3/service/uploadtoken/action/upload",
        "/api_v3/service/uploadtoken/action/add",
        "/api_v3/?service=multirequest",
        "/api_v3/service/uploadtoken/action/add?format=3&uploadToken:fileName=%3Cscript%3E",
        "/api_v3/service/session/action/get?format=9&callback=alert(1)//",
        "/api_v3/?service=multirequest&1:service=session&1:action=start&1:secret=x&2:service=session&2:action=start&2:secret=y",
        "/api_v3/service/media/action/get?entryId=0_zzzzzzzz&ks=djJ8MDEyMzQ1fA",
        "/api_v3/service/media/action/list",
        "/api/service/session/action/start",
        "/index.php/partnerservices2/upload",
        "/index.php/partnerservices2/addentry",
        "/api/v1/services/kaltura",
        "/api/v1/services/kaltura_session",
        "/admin/tokens",
        "/admin/tokens/x",
        "/",
        "/upload.js",
        "/nope",
    ];
    let values = [
        "",
        "0",
        "-1",
        "18446744073709551615",
        "99999999999999999999",
        "abc",
        "1.0.0",
        "bytes 0-9/10",
        "bytes */*",
        "bytes 9-0/10",
        "bytes 0-999/1000",
        "sha256 AAAA",
        "md5 1B2M2Y8AsgTpgAmY7PhCfg==",
        "filename ,,,",
        "final;/files/x",
        "final;/files/x /files/x /files/x",
        "djJ8MTIzNDV8==",
        "Bearer djJ8MDEyMzQ1fA",
        "partial",
        "application/offset+octet-stream",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/json",
        "Bearer djJ8MTIzNDV8",
        "Bearer upg_nope",
        "\u{7f}",
        "a b c",
        "bytes=0-",
    ];
    let headers = [
        "tus-resumable",
        "upload-offset",
        "upload-length",
        "upload-defer-length",
        "upload-metadata",
        "upload-checksum",
        "upload-concat",
        "content-range",
        "content-type",
        "authorization",
        "range",
        "x-http-method-override",
        "want-digest",
    ];
    let bodies: [&[u8]; 6] = [
        b"",
        b"hello",
        b"--xyz\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{\"ks\":\"x\"}\r\n--xyz\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"a\"\r\n\r\nDATA",
        b"{\"service\":\"session\",\"action\":\"start\",\"secret\":[1,2],\"partnerId\":{\"a\":1}}",
        b"service=uploadtoken&action=upload&ks=%ZZ&1:service=x&uploadToken[fileName][x]=1",
        b"--xyz--",
    ];
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..3000 {
        let method = reqwest::Method::from_bytes(r.pick(&methods).as_bytes()).unwrap();
        let path = r.pick(&paths);
        let mut rb = c.request(method.clone(), g.url(path));
        for _ in 0..(r.next() % 5) {
            let (h, v) = (r.pick(&headers), r.pick(&values));
            if let Ok(val) = reqwest::header::HeaderValue::from_str(v) {
                rb = rb.header(h, val);
            }
        }
        if method != reqwest::Method::GET && method != reqwest::Method::HEAD {
            rb = rb.body(bodies[(r.next() % bodies.len() as u64) as usize].to_vec());
        }
        let resp = match rb.send().await {
            Ok(resp) => resp,
            Err(e) => panic!("request {i} {method} {path}: transport error {e}"),
        };
        let status = resp.status().as_u16();
        // Whatever was asked, no answer may be sniffed into something a browser runs,
        // and none is HTML but the page itself.
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "request {i}: {method} {path}"
        );
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // (`/files/%2e%2e` is normalized to `/` by the client: the page.)
        assert!(
            !ctype.starts_with("text/html") || resp.url().path() == "/",
            "request {i}: {method} {path} answered {ctype}"
        );
        assert_ne!(
            status,
            500,
            "request {i}: {method} {path} → 500: {}",
            resp.text().await.unwrap_or_default()
        );
        *statuses.entry(status).or_insert(0) += 1;
    }
    println!("status histogram: {statuses:?}");
    // Still alive and correct.
    let r = c.get(g.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        patch(
            &c,
            &g.base,
            upload,
            head_offset(&c, &g.base, upload).await,
            vec![]
        )
        .await
        .status()
        .as_u16()
            / 100,
        2
    );
    g.shutdown().await;
}
