//! Black-box tests of the native protocol at `/files/` (tus 1.0 + ranged PUT) against an
//! in-process gateway on 127.0.0.1:0 with the embedded defaults.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::*;
use reqwest::Method;

const V: (&str, &str) = ("Tus-Resumable", "1.0.0");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_advertises_extensions_and_cors() {
    let g = Gateway::start().await;
    let c = client();
    let r = c
        .request(Method::OPTIONS, g.url("/files/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "tus-version"), Some("1.0.0"));
    let ext = header(&r, "tus-extension").unwrap();
    for e in [
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
        "concatenation",
    ] {
        assert!(ext.split(',').any(|x| x == e), "{e} missing from {ext}");
    }
    assert_eq!(
        header(&r, "tus-checksum-algorithm"),
        Some("sha256,sha1,md5,crc32c")
    );
    assert!(header(&r, "tus-max-size").unwrap().parse::<u64>().unwrap() > 0);
    // Browser preflight.
    let r = c
        .request(Method::OPTIONS, g.url("/files/abc"))
        .header("Origin", "https://canvas.example.edu")
        .header("Access-Control-Request-Method", "PATCH")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), Some("*"));
    assert!(header(&r, "access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));
    assert!(header(&r, "access-control-allow-headers")
        .unwrap()
        .contains("Upload-Offset"));
    // Exposed headers on ordinary answers.
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Length", "5")
        .header("Origin", "https://x")
        .send()
        .await
        .unwrap();
    assert!(header(&r, "access-control-expose-headers")
        .unwrap()
        .contains("Location"));
    g.shutdown().await;
}

/// Bad input: every case gets its precise status, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_table() {
    let g = Gateway::start().await;
    let c = client();
    let up = create(&c, &g.base, 10).await;
    let unknown = "/files/0123456789abcdef0123456789abcdef";
    let oct = ("Content-Type", "application/offset+octet-stream");
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a [u8], u16);
    let cases: Vec<Case> = vec![
        ("POST", "/files/".into(), vec![], b"", 412),
        (
            "POST",
            "/files/".into(),
            vec![("Tus-Resumable", "0.2.2"), ("Upload-Length", "1")],
            b"",
            412,
        ),
        ("POST", "/files/".into(), vec![V], b"", 400),
        (
            "POST",
            "/files/".into(),
            vec![V, ("Upload-Length", "abc")],
            b"",
            400,
        ),
        (
            "POST",
            "/files/".into(),
            vec![V, ("Upload-Length", "999999999999999")],
            b"",
            413,
        ),
        (
            "POST",
            "/files/".into(),
            vec![V, ("Upload-Length", "5"), ("Upload-Metadata", "k !!!")],
            b"",
            400,
        ),
        (
            "POST",
            "/files/".into(),
            vec![V, ("Upload-Concat", "final;/files/nope")],
            b"",
            400,
        ),
        ("GET", "/files/".into(), vec![], b"", 405),
        ("HEAD", unknown.into(), vec![V], b"", 404),
        ("HEAD", "/files/a.b".into(), vec![V], b"", 404),
        (
            "PATCH",
            up.clone(),
            vec![V, ("Upload-Offset", "0")],
            b"abc",
            415,
        ),
        ("PATCH", up.clone(), vec![V, oct], b"abc", 400),
        (
            "PATCH",
            up.clone(),
            vec![V, oct, ("Upload-Offset", "3")],
            b"abc",
            409,
        ),
        (
            "PATCH",
            up.clone(),
            vec![V, oct, ("Upload-Offset", "0")],
            b"01234567890",
            413,
        ),
        (
            "PATCH",
            up.clone(),
            vec![
                V,
                oct,
                ("Upload-Offset", "0"),
                ("Upload-Checksum", "whirlpool AAAA"),
            ],
            b"abc",
            400,
        ),
        (
            "PATCH",
            unknown.into(),
            vec![V, oct, ("Upload-Offset", "0")],
            b"abc",
            404,
        ),
        ("PUT", up.clone(), vec![], b"abc", 400),
        (
            "PUT",
            up.clone(),
            vec![("Content-Range", "bytes 0-2")],
            b"abc",
            400,
        ),
        (
            "PUT",
            up.clone(),
            vec![("Content-Range", "bytes 0-2/11")],
            b"abc",
            400,
        ),
        (
            "PUT",
            up.clone(),
            vec![("Content-Range", "bytes 8-10/10")],
            b"abc",
            400,
        ),
        (
            "PUT",
            up.clone(),
            vec![("Content-Range", "bytes 0-1/10")],
            b"abc",
            400,
        ),
        ("GET", up.clone(), vec![], b"", 409),
        ("GET", unknown.into(), vec![], b"", 404),
        ("DELETE", unknown.into(), vec![V], b"", 404),
        ("DELETE", up.clone(), vec![], b"", 412),
        ("TRACE", up.clone(), vec![], b"", 405),
    ];
    for (m, path, hs, body, want) in cases {
        let mut rb = c
            .request(Method::from_bytes(m.as_bytes()).unwrap(), g.url(&path))
            .body(body.to_vec());
        for (k, v) in &hs {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status().as_u16(), want, "{m} {path} {hs:?}");
        assert_eq!(header(&r, "tus-resumable"), Some("1.0.0"));
    }
    // Nothing of the refused writes was stored.
    assert_eq!(head_offset(&c, &g.base, &up).await, 0);
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_patch_head_download() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(300_000, 1);
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Length", d.len().to_string())
        .header("Upload-Metadata", "filename bGVjdHVyZS5tcDQ=,private")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let up = header(&r, "location").unwrap().to_owned();
    assert!(header(&r, "upload-expires").is_some());
    let r = patch(&c, &g.base, &up, 0, d[..100_000].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "upload-offset"), Some("100000"));
    let r = c.head(g.url(&up)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(header(&r, "upload-offset"), Some("100000"));
    assert_eq!(header(&r, "upload-length"), Some("300000"));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert_eq!(
        header(&r, "upload-metadata"),
        Some("filename bGVjdHVyZS5tcDQ=,private")
    );
    let r = patch(&c, &g.base, &up, 100_000, d[100_000..].to_vec()).await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "upload-offset")),
        (204, Some("300000"))
    );
    assert_eq!(download(&c, &g.base, &up).await, d);
    // An empty PATCH at the end of a complete upload is fine; more bytes are not.
    assert_eq!(patch(&c, &g.base, &up, 300_000, vec![]).await.status(), 204);
    assert_eq!(
        patch(&c, &g.base, &up, 300_000, vec![1]).await.status(),
        409
    );
    // Ranged download.
    let r = c
        .get(g.url(&up))
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), Some("bytes 10-19/300000"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), d[10..20]);
    let r = c
        .get(g.url(&up))
        .header("Range", "bytes=400000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_with_upload_and_defer_length() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(50_000, 2);
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Defer-Length", "1")
        .header("Content-Type", "application/offset+octet-stream")
        .body(d[..20_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "upload-offset"), Some("20000"));
    let up = header(&r, "location").unwrap().to_owned();
    let r = c.head(g.url(&up)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(header(&r, "upload-defer-length"), Some("1"));
    assert!(header(&r, "upload-length").is_none());
    // The length arrives with a later PATCH; a contradicting one is refused.
    let r = c
        .patch(g.url(&up))
        .header(V.0, V.1)
        .header("Upload-Offset", "20000")
        .header("Upload-Length", "10")
        .header("Content-Type", "application/offset+octet-stream")
        .body(vec![0u8; 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .patch(g.url(&up))
        .header(V.0, V.1)
        .header("Upload-Offset", "20000")
        .header("Upload-Length", d.len().to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(d[20_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(download(&c, &g.base, &up).await, d);
    // A zero-length upload is complete at once.
    let z = create(&c, &g.base, 0).await;
    assert!(download(&c, &g.base, &z).await.is_empty());
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksums_verified_while_streaming() {
    use sha2::Digest;
    let g = Gateway::start().await;
    let c = client();
    let d = data(200_000, 3);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let chunk = &d[..50_000];
    let good = [
        format!("sha256 {}", b64(&sha2::Sha256::digest(chunk))),
        format!("sha1 {}", b64(&sha1::Sha1::digest(chunk))),
        format!("md5 {}", b64(&md5::Md5::digest(chunk))),
        format!("crc32c {}", b64(&crc32c::crc32c(chunk).to_be_bytes())),
    ];
    for sum in &good {
        let up = create(&c, &g.base, d.len() as u64).await;
        // A wrong digest of the right length: 460 and nothing kept.
        let mut bad = chunk.to_vec();
        bad[777] ^= 1;
        let r = c
            .patch(g.url(&up))
            .header(V.0, V.1)
            .header("Upload-Offset", "0")
            .header("Upload-Checksum", sum.as_str())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 460, "{sum}");
        assert_eq!(head_offset(&c, &g.base, &up).await, 0, "{sum}");
        let r = c
            .patch(g.url(&up))
            .header(V.0, V.1)
            .header("Upload-Offset", "0")
            .header("Upload-Checksum", sum.as_str())
            .header("Content-Type", "application/offset+octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{sum}");
        assert_eq!(head_offset(&c, &g.base, &up).await, 50_000, "{sum}");
        assert_eq!(
            patch(&c, &g.base, &up, 50_000, d[50_000..].to_vec())
                .await
                .status(),
            204
        );
        assert_eq!(download(&c, &g.base, &up).await, d);
    }
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_and_expiration() {
    let core = upgate::core::CoreConfig {
        upload_expiry: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let g = Gateway::start_with(core, std::time::Duration::from_secs(30)).await;
    let c = client();
    let up = create(&c, &g.base, 10).await;
    assert_eq!(
        patch(&c, &g.base, &up, 0, b"01234".to_vec()).await.status(),
        204
    );
    let r = c.delete(g.url(&up)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = c.head(g.url(&up)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // Expiry: an untouched upload answers 410 after its deadline and the sweep removes it.
    let up = create(&c, &g.base, 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = c.head(g.url(&up)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(g.service.sweep_expired().await.unwrap() >= 1);
    let r = c.head(g.url(&up)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(r.status(), 404);
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concatenation_of_partial_uploads() {
    let g = Gateway::start().await;
    let c = client();
    let (a, b) = (data(70_000, 4), data(30_000, 5));
    let mut parts = Vec::new();
    for d in [&a, &b] {
        let r = c
            .post(g.url("/files/"))
            .header(V.0, V.1)
            .header("Upload-Length", d.len().to_string())
            .header("Upload-Concat", "partial")
            .send()
            .await
            .unwrap();
        let p = header(&r, "location").unwrap().to_owned();
        assert_eq!(patch(&c, &g.base, &p, 0, d.to_vec()).await.status(), 204);
        parts.push(p);
    }
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header(
            "Upload-Concat",
            format!("final;{} {}{}", parts[0], g.base, parts[1]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let fin = header(&r, "location").unwrap().to_owned();
    let r = c.head(g.url(&fin)).header(V.0, V.1).send().await.unwrap();
    assert_eq!(header(&r, "upload-length"), Some("100000"));
    assert!(header(&r, "upload-concat").unwrap().starts_with("final;"));
    let mut want = a.clone();
    want.extend_from_slice(&b);
    assert_eq!(download(&c, &g.base, &fin).await, want);
    // An incomplete partial cannot be concatenated; a non-partial neither.
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Length", "5")
        .header("Upload-Concat", "partial")
        .send()
        .await
        .unwrap();
    let unfinished = header(&r, "location").unwrap().to_owned();
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Concat", format!("final;{unfinished}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Concat", format!("final;{fin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    g.shutdown().await;
}

async fn put_range(
    c: &reqwest::Client,
    url: &str,
    a: usize,
    b: usize,
    total: &str,
    body: &[u8],
) -> reqwest::Response {
    c.put(url)
        .header("Content-Range", format!("bytes {a}-{}/{total}", b - 1))
        .body(body[a..b].to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_put_out_of_order_and_idempotent() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(1_000_000, 6);
    let up = create(&c, &g.base, d.len() as u64).await;
    let url = g.url(&up);
    // Last chunk first: stored, but the prefix is still empty.
    let r = put_range(&c, &url, 750_000, 1_000_000, "1000000", &d).await;
    assert_eq!(r.status(), 308);
    assert!(header(&r, "range").is_none());
    let r = put_range(&c, &url, 0, 250_000, "1000000", &d).await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "range")),
        (308, Some("bytes=0-249999"))
    );
    // Re-sending a stored range with the same bytes is a no-op success.
    let r = put_range(&c, &url, 0, 250_000, "1000000", &d).await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "range")),
        (308, Some("bytes=0-249999"))
    );
    // ... with other bytes it is a conflict, and nothing changes.
    let mut other = d.clone();
    other[1000] ^= 0xff;
    let r = put_range(&c, &url, 0, 250_000, "1000000", &other).await;
    assert_eq!(r.status(), 409);
    // Overlapping chunk: the stored part is compared, the rest appended.
    let r = put_range(&c, &url, 200_000, 500_000, "1000000", &d).await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "range")),
        (308, Some("bytes=0-499999"))
    );
    // Status query.
    let r = c
        .put(&url)
        .header("Content-Range", "bytes */1000000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "range")),
        (308, Some("bytes=0-499999"))
    );
    // The gap is filled: staged tail merged, upload complete.
    let r = put_range(&c, &url, 500_000, 750_000, "1000000", &d).await;
    assert_eq!(r.status(), 201);
    assert_eq!(download(&c, &g.base, &up).await, d);
    // After completion: same bytes fine, other bytes a conflict, status 201.
    assert_eq!(
        put_range(&c, &url, 0, 1000, "1000000", &d).await.status(),
        201
    );
    assert_eq!(
        put_range(&c, &url, 0, 2000, "1000000", &other)
            .await
            .status(),
        409
    );
    // A different total is refused.
    assert_eq!(
        put_range(&c, &url, 0, 1000, "2000000", &d).await.status(),
        400
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_put_parallel_chunks_unknown_total() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(4_000_000, 7);
    let r = c
        .post(g.url("/files/"))
        .header(V.0, V.1)
        .header("Upload-Defer-Length", "1")
        .send()
        .await
        .unwrap();
    let up = header(&r, "location").unwrap().to_owned();
    let url = g.url(&up);
    let chunk = 250_000;
    let n = d.len() / chunk;
    let mut tasks = Vec::new();
    // Every chunk in parallel; only the last one tells the total.
    for i in (0..n).rev() {
        let (c, url, d) = (c.clone(), url.clone(), d.clone());
        tasks.push(tokio::spawn(async move {
            let total = if i == n - 1 {
                d.len().to_string()
            } else {
                "*".into()
            };
            put_range(&c, &url, i * chunk, (i + 1) * chunk, &total, &d)
                .await
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert!(codes.iter().all(|&s| s == 308 || s == 201), "{codes:?}");
    assert!(eventually(|| async { head_offset(&c, &g.base, &up).await == d.len() as u64 }).await);
    assert_eq!(
        sha256_hex(&download(&c, &g.base, &up).await),
        sha256_hex(&d)
    );
    // Nothing staged is left behind.
    let staged = std::fs::read_dir(g.dir.path().join("blobs/staged"))
        .unwrap()
        .count();
    assert_eq!(staged, 0);
    g.shutdown().await;
}

/// A writer that holds the lease and stalls (a PATCH whose body stops coming) does not
/// hold up a ranged PUT of the bytes at its offset for long: the PUT waits briefly for
/// the lease, then is staged apart and answered. Once the stalled request dies, its
/// bytes and the staged ones make the file, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_behind_a_stalled_writer_is_staged_not_held_up() {
    let g = Gateway::start().await;
    let c = client();
    let d = data(2 << 20, 43);
    let (total, half, first) = (d.len(), 1 << 20, 100_000);
    let up = create(&c, &g.base, total as u64).await;
    let stalled = open_patch(g.addr, &up, 0, &d[..first], half).await;
    assert!(eventually(|| async { metric(&g.base, "upgate_writers_active").await == 1.0 }).await);

    let t = std::time::Instant::now();
    let url = g.url(&up);
    let r = put_range(&c, &url, 0, half, &total.to_string(), &d).await;
    assert_eq!(r.status(), 308);
    // Not until the stalled body's timeout (30 s here): the wait for the lease is short.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        metric(&g.base, "upgate_staged_bytes_total").await,
        half as f64
    );

    drop(stalled);
    assert!(eventually(|| async { head_offset(&c, &g.base, &up).await == half as u64 }).await);
    let r = put_range(&c, &url, half, total, &total.to_string(), &d).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        sha256_hex(&download(&c, &g.base, &up).await),
        sha256_hex(&d)
    );
    g.shutdown().await;
}

/// The SHA-256 a `HEAD` with `Want-Digest` answers (hex), and the bytes the gateway
/// read back so far to answer digests (its metric).
async fn digest_and_read_back(g: &Gateway, path: &str) -> (String, f64) {
    let d = head_sha256(&client(), &g.url(path)).await;
    (
        d,
        metric(&g.base, "upgate_digest_read_back_bytes_total").await,
    )
}

/// `Want-Digest: sha-256` on the creation: the digest is kept as bytes arrive in order
/// (across requests, cuts and resumes), so it is answered without reading the file
/// back; bytes staged out of order are hashed as they are merged; the answer is right
/// either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_digest_answers_without_reading_the_file_back() {
    let g = Gateway::start().await;
    let c = client();
    let payload = data(3 << 20, 41);
    let want = sha256_hex(&payload);
    let keep = [("Want-Digest", "sha-256")];
    let len = payload.len() as u64;

    // In order: a whole PATCH, a cut one, then the rest from the offset the server says.
    let id = create_with(&c, &g.base, len, &keep).await;
    let first = 1 << 20;
    assert_eq!(
        patch(&c, &g.base, &id, 0, payload[..first].to_vec())
            .await
            .status(),
        204
    );
    cut_patch(
        g.addr,
        &id,
        first as u64,
        &payload[first..first + 333_333],
        1 << 20,
    )
    .await;
    let at = head_offset(&c, &g.base, &id).await as usize;
    assert!(at > first, "the cut request kept what arrived: {at}");
    assert_eq!(
        patch(&c, &g.base, &id, at as u64, payload[at..].to_vec())
            .await
            .status(),
        204
    );
    assert_eq!(digest_and_read_back(&g, &id).await, (want.clone(), 0.0));

    // Without asking at creation: read back whole, same answer.
    let id = create(&c, &g.base, payload.len() as u64).await;
    assert_eq!(
        patch(&c, &g.base, &id, 0, payload.clone()).await.status(),
        204
    );
    let all = len as f64;
    assert_eq!(digest_and_read_back(&g, &id).await, (want.clone(), all));
    // Cached once computed.
    assert_eq!(digest_and_read_back(&g, &id).await, (want.clone(), all));

    // Out of order: the tail is staged first, then hashed as it is merged after the
    // head arrives (in the merge's commit), so nothing is read back to answer.
    let id = create_with(&c, &g.base, len, &keep).await;
    let half = payload.len() / 2;
    let total = payload.len();
    let (url, n) = (g.url(&id), total.to_string());
    let r = put_range(&c, &url, half, total, &n, &payload).await;
    assert_eq!(r.status(), 308);
    let r = put_range(&c, &url, 0, half, &n, &payload).await;
    assert_eq!(r.status(), 201);
    let (d, read_back) = digest_and_read_back(&g, &id).await;
    assert_eq!(d, want);
    assert_eq!(read_back, all);
    // The tail, and only it, was stored twice (staged, then copied in).
    let staged = metric(&g.base, "upgate_staged_bytes_total").await;
    assert_eq!(staged, (total - half) as f64);
    g.shutdown().await;
}
