//! Resumable Uploads for HTTP (draft-ietf-httpbis-resumable-upload) on `/files/`, per
//! interop version 3–8, from a raw HTTP/1.1 client that sees the `104 Upload
//! Resumption Supported` interim responses: creation (with content, empty, cut
//! half-way), offset retrieval, append, completion, cancellation, the problem types,
//! limits, digests, "a new request ends the older one", and a hostile client's side.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::raw_http::{Msg, Raw};
use common::*;
use upgate::core::CoreConfig;

const TYPES: &str = "https://iana.org/assignments/http-problem-types#";

fn v_header(v: u8) -> (&'static str, String) {
    ("Upload-Draft-Interop-Version", v.to_string())
}

/// This version's completeness header for `complete`.
fn complete_header(v: u8, complete: bool) -> (&'static str, String) {
    match v {
        3 => (
            "Upload-Incomplete",
            if complete { "?0" } else { "?1" }.into(),
        ),
        _ => ("Upload-Complete", if complete { "?1" } else { "?0" }.into()),
    }
}

/// What the answer says about completeness, in this version's header.
fn says_complete(v: u8, m: &Msg) -> Option<bool> {
    match v {
        3 => m.header("upload-incomplete").map(|x| x == "?0"),
        _ => m.header("upload-complete").map(|x| x == "?1"),
    }
}

fn last(msgs: &[Msg]) -> &Msg {
    msgs.last().expect("a final answer")
}

fn problem_type(m: &Msg) -> Option<String> {
    (m.header("content-type") == Some("application/problem+json"))
        .then(|| m.json()["type"].as_str().unwrap_or("").to_owned())
}

/// Every interop version, one upload each, over one keep-alive connection: the
/// version's headers, status codes, limits and problem types (the README's table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interop_version_walks_an_upload() {
    let g = Gateway::start().await;
    for v in 3u8..=8 {
        let data = data(300_000, u64::from(v));
        let mut raw = Raw::connect(g.addr).await;
        let vh = v_header(v);

        // OPTIONS: the limits (every version; defined from 6).
        let opt = raw
            .request("OPTIONS", "/files/", std::slice::from_ref(&vh), b"")
            .await;
        let limit = last(&opt).header("upload-limit").unwrap_or("").to_owned();
        assert!(limit.starts_with("max-size="), "v{v} OPTIONS: {limit}");

        // Creation with the first 100 000 bytes: 104 with the Location first.
        let msgs = raw
            .request(
                "POST",
                "/files/",
                &[
                    vh.clone(),
                    complete_header(v, false),
                    ("Upload-Length", data.len().to_string()),
                    ("Content-Type", "video/mp4".into()),
                    (
                        "Content-Disposition",
                        "inline; filename=\"lecture 1.mp4\"".into(),
                    ),
                ],
                &data[..100_000],
            )
            .await;
        assert_eq!(msgs.len(), 2, "v{v}: 104 then the final answer: {msgs:?}");
        let (interim, created) = (&msgs[0], &msgs[1]);
        assert_eq!(interim.status, 104, "v{v}");
        assert_eq!(
            interim.header("upload-draft-interop-version"),
            Some(&*v.to_string())
        );
        let location = interim.header("location").unwrap().to_owned();
        assert!(location.starts_with("/files/"));
        assert_eq!(created.status, 201, "v{v}: {created:?}");
        assert_eq!(created.header("location"), Some(location.as_str()));
        assert_eq!(created.header("upload-offset"), Some("100000"));
        assert_eq!(says_complete(v, created), Some(false), "v{v}");
        assert_eq!(interim.header("upload-limit").is_some(), v >= 6, "v{v}");

        // Offset retrieval.
        let head = raw
            .request("HEAD", &location, std::slice::from_ref(&vh), b"")
            .await;
        let h = last(&head);
        assert_eq!(h.status, 204, "v{v}");
        assert_eq!(h.header("upload-offset"), Some("100000"));
        assert_eq!(h.header("upload-length"), Some("300000"));
        assert_eq!(h.header("cache-control"), Some("no-store"));
        assert_eq!(says_complete(v, h), Some(false));
        let limit = h.header("upload-limit").unwrap_or("");
        match v {
            ..=5 => assert_eq!(limit, "", "v{v}"),
            6 => assert!(limit.contains("expires="), "v{v}: {limit}"),
            _ => assert!(
                limit.contains("max-age=") && !limit.contains("expires"),
                "v{v}: {limit}"
            ),
        }

        // A wrong offset: 409 with the right one (a problem type from 6).
        let partial = ("Content-Type", "application/partial-upload".to_owned());
        let wrong = raw
            .request(
                "PATCH",
                &location,
                &[
                    vh.clone(),
                    partial.clone(),
                    ("Upload-Offset", "5".into()),
                    complete_header(v, false),
                ],
                &data[5..10],
            )
            .await;
        let w = last(&wrong);
        assert_eq!(w.status, 409, "v{v}");
        assert_eq!(w.header("upload-offset"), Some("100000"));
        assert_eq!(says_complete(v, w), Some(false));
        if v >= 6 {
            assert_eq!(
                problem_type(w),
                Some(format!("{TYPES}mismatching-upload-offset"))
            );
            assert_eq!(w.json()["expected-offset"], 100_000);
            assert_eq!(w.json()["provided-offset"], 5);
        }

        // The media type: required from 6, any before.
        let mut append_headers = vec![
            vh.clone(),
            ("Upload-Offset", "100000".into()),
            complete_header(v, false),
        ];
        if v >= 6 {
            let bad = raw
                .request("PATCH", &location, &append_headers, &data[100_000..100_010])
                .await;
            assert_eq!(last(&bad).status, 415, "v{v}");
            append_headers.push(partial.clone());
        }
        let appended = raw
            .request("PATCH", &location, &append_headers, &data[100_000..200_000])
            .await;
        let a = last(&appended);
        assert_eq!(a.status, if v <= 6 { 201 } else { 204 }, "v{v}: {a:?}");
        assert_eq!(a.header("upload-offset"), Some("200000"));
        assert_eq!(says_complete(v, a), Some(false));

        // The rest, completing.
        let mut done_headers = vec![
            vh.clone(),
            ("Upload-Offset", "200000".into()),
            complete_header(v, true),
        ];
        if v >= 6 {
            done_headers.push(partial.clone());
        }
        done_headers.push(("Want-Repr-Digest", "sha-256=10".into()));
        let done = raw
            .request("PATCH", &location, &done_headers, &data[200_000..])
            .await;
        let d = last(&done);
        assert!(d.status == 201 || d.status == 204, "v{v}: {d:?}");
        assert_eq!(says_complete(v, d), Some(true), "v{v}");
        assert_eq!(
            d.header("repr-digest"),
            Some(upgate_proto::rufh::format_sha256_digest(&sha(&data)).as_str())
        );

        // Appending to a completed upload.
        let mut more = done_headers.clone();
        more[1] = ("Upload-Offset", "300000".into());
        let again = raw.request("PATCH", &location, &more, b"x").await;
        let ag = last(&again);
        assert_eq!(ag.status, 400, "v{v}: {ag:?}");
        if v >= 6 {
            assert_eq!(problem_type(ag), Some(format!("{TYPES}completed-upload")));
        }
        let head = raw
            .request("HEAD", &location, std::slice::from_ref(&vh), b"")
            .await;
        assert_eq!(says_complete(v, last(&head)), Some(true));

        // Lengths that disagree (a problem type from 7).
        let bad = raw
            .request(
                "POST",
                "/files/",
                &[
                    vh.clone(),
                    complete_header(v, true),
                    ("Upload-Length", "11".into()),
                ],
                b"0123456789",
            )
            .await;
        let b = last(&bad);
        assert_eq!(b.status, 400, "v{v}");
        assert_eq!(
            problem_type(b),
            (v >= 7).then(|| format!("{TYPES}inconsistent-upload-length"))
        );

        // The stored file, through tus's download; its metadata from the creation.
        let c = client();
        assert_eq!(download(&c, &g.base, &location).await, data, "v{v}");
        let tus_head = c
            .head(g.url(&location))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        let meta = header(&tus_head, "upload-metadata")
            .unwrap_or("")
            .to_owned();
        assert!(meta.contains("filename bGVjdHVyZSAxLm1wNA=="), "{meta}");
        assert!(meta.contains("filetype dmlkZW8vbXA0"), "{meta}");

        // Cancellation.
        let del = raw
            .request("DELETE", &location, std::slice::from_ref(&vh), b"")
            .await;
        assert_eq!(last(&del).status, 204);
        let gone = raw
            .request("HEAD", &location, std::slice::from_ref(&vh), b"")
            .await;
        assert_eq!(last(&gone).status, 404);
        println!("v{v}: walked (Upload-Limit on HEAD: {limit:?})");
    }
    g.shutdown().await;
}

fn sha(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}

/// Optimistic creation (`Upload-Complete: ?1` with the whole body) cut half-way: the
/// `104` came before any byte was sent, so the client resumes from what arrived and
/// the `Repr-Digest` it announced is checked on completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_creation_resumes_from_the_104_location() {
    let g = Gateway::start().await;
    let data = data(2_000_000, 7);
    let digest = upgate_proto::rufh::format_sha256_digest(&sha(&data));
    let mut raw = Raw::connect(g.addr).await;
    optimistic_create(&mut raw, data.len(), &[("Repr-Digest", digest.clone())]).await;
    // The 104 arrives before the client sends one byte of the body.
    let interim = raw.next().await.unwrap();
    assert_eq!(interim.status, 104);
    let location = interim.header("location").unwrap().to_owned();
    assert_eq!(
        interim
            .header("upload-limit")
            .map(|l| l.starts_with("max-size=")),
        Some(true)
    );
    raw.body(&data[..700_000]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(raw); // the network drops

    let mut raw = Raw::connect(g.addr).await;
    // The first answer counts every byte that arrived (the request that was writing
    // them is waited for while it commits).
    let h = raw.request("HEAD", &location, &[v_header(8)], b"").await;
    let h = last(&h);
    assert_eq!(h.status, 204);
    assert_eq!(
        h.header("upload-length"),
        Some("2000000"),
        "the length came with ?1 + Content-Length"
    );
    let offset: usize = h.header("upload-offset").unwrap().parse().unwrap();
    assert_eq!(offset, 700_000, "every byte that arrived was kept");
    let done = completing(&mut raw, &location, offset as u64, &data[offset..]).await;
    let d = last(&done);
    assert_eq!(d.status, 204, "{d:?}");
    assert_eq!(d.header("upload-complete"), Some("?1"));
    assert_eq!(download(&client(), &g.base, &location).await, data);
    println!(
        "cut creation: 104 before the body, {offset} of {} bytes kept, resumed, digest verified",
        data.len()
    );

    // Expect: 100-continue: the 104 and hyper's 100 are separate, whole messages.
    let mut raw = Raw::connect(g.addr).await;
    raw.head(
        "POST",
        "/files/",
        &[
            v_header(8),
            ("Upload-Complete", "?1".into()),
            ("Content-Length", "3".into()),
            ("Expect", "100-continue".into()),
        ],
    )
    .await;
    let first = raw.next().await.unwrap();
    assert_eq!(first.status, 104);
    let second = raw.next().await.unwrap();
    assert_eq!(second.status, 100);
    raw.body(b"abc").await;
    let fin = raw.until_final().await;
    assert_eq!(last(&fin).status, 201);
    assert_eq!(last(&fin).header("upload-complete"), Some("?1"));
    // The same connection serves the next request: the framing is intact.
    let h = raw
        .request(
            "HEAD",
            first.header("location").unwrap(),
            &[v_header(8)],
            b"",
        )
        .await;
    assert_eq!(last(&h).header("upload-offset"), Some("3"));
    g.shutdown().await;
}

/// A client that sends its creation's body at once (optimistic, as tus-js-client does)
/// and asks for the offset the moment the `104` gives it the upload's URL, on a second
/// connection while the first still carries the body, is told every byte that arrived:
/// the creating request is the upload's writer before its `104` goes out, so the offset
/// retrieval ends it once it has read what arrived. (Before, a retrieval that came
/// between the `104` and the start of the write answered 0, and the client re-sent
/// everything: tus-js-client's draft-03 run in `clients` once carried 2.5 MiB twice.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_asked_right_after_the_104_counts_the_body_in_flight() {
    let g = Gateway::start().await;
    let data = data(1_000_000, 11);
    let sent = 200_000;
    for round in 0..8 {
        let mut raw = Raw::connect(g.addr).await;
        optimistic_create(&mut raw, data.len(), &[]).await;
        raw.body(&data[..sent]).await;
        let interim = raw.next().await.unwrap();
        assert_eq!(interim.status, 104);
        let location = interim.header("location").unwrap().to_owned();
        let mut again = Raw::connect(g.addr).await;
        let h = again.request("HEAD", &location, &[v_header(8)], b"").await;
        let h = last(&h);
        assert_eq!(h.status, 204, "round {round}: {h:?}");
        assert_eq!(
            h.header("upload-offset"),
            Some(sent.to_string().as_str()),
            "round {round}: the first answer counts what arrived"
        );
        let done = completing(&mut again, &location, sent as u64, &data[sent..]).await;
        assert_eq!(last(&done).header("upload-complete"), Some("?1"));
        assert_eq!(download(&client(), &g.base, &location).await, data);
    }
    g.shutdown().await;
}

/// A careful creation (version 8, no content, `Upload-Complete: ?0`) of `length` bytes;
/// the upload's path.
async fn careful_create(raw: &mut Raw, length: usize) -> String {
    let c = raw
        .request(
            "POST",
            "/files/",
            &[
                v_header(8),
                ("Upload-Complete", "?0".into()),
                ("Upload-Length", length.to_string()),
            ],
            b"",
        )
        .await;
    assert_eq!(last(&c).status, 201, "{c:?}");
    last(&c).header("location").unwrap().to_owned()
}

/// Sends the head of an optimistic creation (version 8, `Upload-Complete: ?1`) of
/// `length` bytes with `extra` headers; the caller sends the content.
async fn optimistic_create(raw: &mut Raw, length: usize, extra: &[(&str, String)]) {
    let mut headers = vec![
        v_header(8),
        ("Upload-Complete", "?1".into()),
        ("Content-Length", length.to_string()),
    ];
    headers.extend_from_slice(extra);
    raw.head("POST", "/files/", &headers).await;
}

/// Completes upload `loc` with `content` from `offset` (version 8); every message
/// answered.
async fn completing(raw: &mut Raw, loc: &str, offset: u64, content: &[u8]) -> Vec<Msg> {
    let headers = [
        v_header(8),
        ("Content-Type", "application/partial-upload".into()),
        ("Upload-Offset", offset.to_string()),
        ("Upload-Complete", "?1".into()),
    ];
    raw.request("PATCH", loc, &headers, content).await
}

/// A completing append (version 8) of `content` at `offset`, chunked: no
/// `Content-Length`, so the length is where the content ends.
async fn completing_chunked(raw: &mut Raw, loc: &str, offset: u64, content: &[u8]) -> Vec<Msg> {
    let headers = [
        v_header(8),
        ("Content-Type", "application/partial-upload".into()),
        ("Upload-Offset", offset.to_string()),
        ("Upload-Complete", "?1".into()),
        ("Transfer-Encoding", "chunked".into()),
    ];
    raw.head("PATCH", loc, &headers).await;
    let mut body = format!("{:x}\r\n", content.len()).into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    raw.body(&body).await;
    raw.until_final().await
}

/// A representation that does not match the announced `Repr-Digest` is refused and
/// discarded; an empty completed creation, an unknown-length upload completed by its
/// last append, and HTTP/1.0 (no 1xx) work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_lengths_and_http10() {
    let g = Gateway::start().await;
    let mut raw = Raw::connect(g.addr).await;
    let wrong = upgate_proto::rufh::format_sha256_digest(&[1; 32]);
    let msgs = raw
        .request(
            "POST",
            "/files/",
            &[
                v_header(7),
                ("Upload-Complete", "?1".into()),
                ("Repr-Digest", wrong),
            ],
            b"some bytes",
        )
        .await;
    let location = msgs[0].header("location").unwrap().to_owned();
    let m = last(&msgs);
    assert_eq!(m.status, 400);
    assert_eq!(
        m.header("upload-complete"),
        Some("?1"),
        "the answer of processing it"
    );
    assert!(m.text().contains("Repr-Digest"));
    let h = raw.request("HEAD", &location, &[v_header(7)], b"").await;
    assert_eq!(last(&h).status, 404, "discarded");

    // Empty representation.
    let e = raw
        .request(
            "POST",
            "/files/",
            &[v_header(8), ("Upload-Complete", "?1".into())],
            b"",
        )
        .await;
    assert_eq!(e.len(), 2);
    assert_eq!(last(&e).header("upload-complete"), Some("?1"));
    assert_eq!(last(&e).header("upload-length"), Some("0"));

    // Length unknown until the last append says it is complete.
    let c = raw
        .request(
            "POST",
            "/files/",
            &[v_header(8), ("Upload-Complete", "?0".into())],
            b"",
        )
        .await;
    let loc = last(&c).header("location").unwrap().to_owned();
    assert_eq!(last(&c).header("upload-length"), None);
    let part = ("Content-Type", "application/partial-upload".to_owned());
    let a = raw
        .request(
            "PATCH",
            &loc,
            &[
                v_header(8),
                part.clone(),
                ("Upload-Offset", "0".into()),
                ("Upload-Complete", "?0".into()),
            ],
            b"hello ",
        )
        .await;
    assert_eq!(last(&a).header("upload-offset"), Some("6"));
    let fin = completing_chunked(&mut raw, &loc, 6, b"world").await;
    assert_eq!(last(&fin).header("upload-complete"), Some("?1"), "{fin:?}");
    assert_eq!(last(&fin).header("upload-length"), Some("11"));
    assert_eq!(download(&client(), &g.base, &loc).await, b"hello world");

    // A completing request shorter than the declared length.
    let loc = careful_create(&mut raw, 10).await;
    let short = completing_chunked(&mut raw, &loc, 0, b"abcd").await;
    let s = last(&short);
    assert_eq!(s.status, 400, "{s:?}");
    assert_eq!(
        problem_type(s),
        Some(format!("{TYPES}inconsistent-upload-length"))
    );
    assert_eq!(s.header("upload-offset"), Some("4"));

    // HTTP/1.0 gets no interim response.
    let mut old = Raw::connect(g.addr).await;
    old.head_version(
        "POST",
        "/files/",
        "HTTP/1.0",
        &[
            v_header(8),
            ("Upload-Complete", "?1".into()),
            ("Content-Length", "2".into()),
        ],
    )
    .await;
    old.body(b"ok").await;
    let m = old.next().await.unwrap();
    assert_eq!(m.status, 201, "no 104 to an HTTP/1.0 client: {m:?}");
    g.shutdown().await;
}

/// A new request on an upload ends the older one at once (what it received is kept)
/// instead of waiting for it to time out or stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_request_ends_the_older_one() {
    let core = CoreConfig {
        stall_after: Duration::from_secs(20),
        ..Default::default()
    };
    let g = Gateway::start_with(core, Duration::from_secs(60)).await;
    let data = data(1_000_000, 3);
    let mut raw = Raw::connect(g.addr).await;
    let loc = careful_create(&mut raw, data.len()).await;
    // An append whose connection goes silent (the client thinks it failed).
    let mut old = Raw::connect(g.addr).await;
    old.head(
        "PATCH",
        &loc,
        &[
            v_header(8),
            ("Content-Type", "application/partial-upload".into()),
            ("Upload-Offset", "0".into()),
            ("Upload-Complete", "?1".into()),
            ("Content-Length", data.len().to_string()),
        ],
    )
    .await;
    old.body(&data[..400_000]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let h = raw.request("HEAD", &loc, &[v_header(8)], b"").await;
    let took = t.elapsed();
    let h = last(&h);
    assert_eq!(h.header("upload-offset"), Some("400000"), "{h:?}");
    assert!(
        took < Duration::from_secs(5),
        "the older request was ended at once, not after the 20 s stall limit: {took:?}"
    );
    // The older request got its answer (or its connection closed).
    if let Some(m) = old.next().await {
        assert!(m.status >= 400, "{m:?}");
    }
    let done = completing(&mut raw, &loc, 400_000, &data[400_000..]).await;
    assert_eq!(last(&done).header("upload-complete"), Some("?1"));
    assert_eq!(download(&client(), &g.base, &loc).await, data);
    println!("offset retrieval during a silent append answered in {took:?} (stall limit 20 s)");
    g.shutdown().await;
}

/// From a hostile client's side: another user's upload answers exactly like a missing
/// one, malformed fields are clear 400s, a too-large upload is refused with the limits,
/// and a file name cannot carry a path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests() {
    let g = Gateway::start_files_auth().await;
    let alice = format!("Bearer {}", user_ks("alice", 0));
    let bob = format!("Bearer {}", user_ks("bob", 0));
    let mut raw = Raw::connect(g.addr).await;
    let c = raw
        .request(
            "POST",
            "/files/",
            &[
                v_header(8),
                ("Authorization", alice.clone()),
                ("Upload-Complete", "?0".into()),
                (
                    "Content-Disposition",
                    "inline; filename=\"../../etc/<script>x.mp4\"".into(),
                ),
            ],
            b"abc",
        )
        .await;
    assert_eq!(last(&c).status, 201);
    let loc = last(&c).header("location").unwrap().to_owned();
    let missing = "/files/0000000000000000000000000000dead";
    for (method, body) in [("HEAD", &b""[..]), ("DELETE", b""), ("PATCH", b"x")] {
        let headers = vec![
            v_header(8),
            ("Authorization", bob.clone()),
            ("Content-Type", "application/partial-upload".into()),
            ("Upload-Offset", "3".into()),
            ("Upload-Complete", "?0".into()),
        ];
        let theirs = raw.request(method, &loc, &headers, body).await;
        let none = raw.request(method, missing, &headers, body).await;
        assert_eq!(last(&theirs).status, 404, "{method}");
        assert_eq!(last(&theirs).status, last(&none).status, "{method}");
        assert_eq!(last(&theirs).body, last(&none).body, "{method}");
    }
    let no_ks = raw.request("HEAD", &loc, &[v_header(8)], b"").await;
    assert_eq!(last(&no_ks).status, 401);
    let mine = raw
        .request(
            "HEAD",
            &loc,
            &[v_header(8), ("Authorization", alice.clone())],
            b"",
        )
        .await;
    assert_eq!(last(&mine).header("upload-offset"), Some("3"));
    let tus = client()
        .head(g.url(&loc))
        .header("Tus-Resumable", "1.0.0")
        .header("Authorization", &alice)
        .send()
        .await
        .unwrap();
    let meta = header(&tus, "upload-metadata").unwrap_or("").to_owned();
    use base64::Engine;
    let name = base64::engine::general_purpose::STANDARD.encode("<script>x.mp4");
    assert!(
        meta.contains(&format!("filename {name}")),
        "only the last path segment: {meta}"
    );

    for (name, value) in [
        ("Upload-Offset", "-1"),
        ("Upload-Offset", "1e3"),
        ("Upload-Complete", "true"),
        ("Upload-Length", "99999999999999999999"),
    ] {
        let mut h = vec![
            v_header(8),
            ("Authorization", alice.clone()),
            ("Content-Type", "application/partial-upload".into()),
        ];
        if name != "Upload-Offset" {
            h.push(("Upload-Offset", "3".into()));
        }
        if name != "Upload-Complete" {
            h.push(("Upload-Complete", "?0".into()));
        }
        h.push((name, value.into()));
        let m = raw.request("PATCH", &loc, &h, b"").await;
        assert_eq!(last(&m).status, 400, "{name}: {value}");
    }
    let bad_digest = raw
        .request(
            "POST",
            "/files/",
            &[
                v_header(8),
                ("Authorization", alice.clone()),
                ("Upload-Complete", "?1".into()),
                ("Repr-Digest", "sha-256=:short:".into()),
            ],
            b"abc",
        )
        .await;
    assert_eq!(last(&bad_digest).status, 400);
    assert_eq!(bad_digest.len(), 1, "refused before an upload exists");
    let bad_version = raw
        .request(
            "POST",
            "/files/",
            &[
                ("Upload-Draft-Interop-Version", "eight".into()),
                ("Authorization", alice.clone()),
            ],
            b"",
        )
        .await;
    assert_eq!(last(&bad_version).status, 400);
    let huge = raw
        .request(
            "POST",
            "/files/",
            &[
                v_header(8),
                ("Authorization", alice.clone()),
                ("Upload-Complete", "?0".into()),
                ("Upload-Length", (200u64 << 30).to_string()),
            ],
            b"",
        )
        .await;
    let hm = last(&huge);
    assert_eq!(hm.status, 413, "{hm:?}");
    assert!(hm
        .header("upload-limit")
        .is_some_and(|l| l.starts_with("max-size=")));
    assert_eq!(huge.len(), 1, "no 104 for an upload that was never created");
    g.shutdown().await;
}

/// While content streams, each commit is announced by a `104` with `Upload-Offset`
/// (and never `Location`), on creation and on append; the final answer follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_interims_while_content_streams() {
    let core = CoreConfig {
        commit_every: 256 << 10,
        ..Default::default()
    };
    let g = Gateway::start_with(core, Duration::from_secs(30)).await;
    let data = data(2 << 20, 11);
    let mut raw = Raw::connect(g.addr).await;
    let created = raw
        .request(
            "POST",
            "/files/",
            &[
                v_header(8),
                ("Upload-Complete", "?0".into()),
                ("Upload-Length", data.len().to_string()),
            ],
            &data[..1 << 20],
        )
        .await;
    let loc = created[0].header("location").unwrap().to_owned();
    let progress = |msgs: &[Msg]| -> Vec<u64> {
        msgs.iter()
            .filter(|m| m.status == 104 && m.header("location").is_none())
            .map(|m| m.header("upload-offset").unwrap().parse().unwrap())
            .collect()
    };
    let during_creation = progress(&created);
    let appended = completing(&mut raw, &loc, 1 << 20, &data[1 << 20..]).await;
    let during_append = progress(&appended);
    println!("progress 104s: creation {during_creation:?}, append {during_append:?}");
    for (p, from, to) in [
        (&during_creation, 0, 1u64 << 20),
        (&during_append, 1 << 20, 2 << 20),
    ] {
        assert!(p.len() >= 2, "{p:?}");
        assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
        assert!(p.iter().all(|o| (from..=to).contains(o)), "{p:?}");
    }
    assert_eq!(last(&appended).header("upload-complete"), Some("?1"));
    assert!(appended
        .iter()
        .all(|m| m.status != 104 || m.header("location").is_none()));
    assert_eq!(download(&client(), &g.base, &loc).await, data);
    g.shutdown().await;
}

/// An append that resends from an offset the client was told, while the older request
/// it gave up on is still here and stored part of the same bytes: the older one is
/// ended, the overlap is compared and skipped, the rest appended. Different bytes for
/// the overlap are refused and nothing stored changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_append_skips_what_the_older_request_stored() {
    let g = Gateway::start().await;
    let data = data(1_000_000, 5);
    let mut raw = Raw::connect(g.addr).await;
    for (case, same) in [("same bytes", true), ("other bytes", false)] {
        let loc = careful_create(&mut raw, data.len()).await;
        let append = |n: usize| {
            vec![
                v_header(8),
                ("Content-Type", "application/partial-upload".to_owned()),
                ("Upload-Offset", "0".to_owned()),
                ("Upload-Complete", "?1".to_owned()),
                ("Content-Length", n.to_string()),
            ]
        };
        let mut old = Raw::connect(g.addr).await;
        old.head("PATCH", &loc, &append(data.len())).await;
        old.body(&data[..400_000]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut resent = data.clone();
        if !same {
            resent[1000] ^= 0xff;
        }
        let answer = raw
            .request("PATCH", &loc, &append(data.len()), &resent)
            .await;
        let a = last(&answer);
        let head = raw.request("HEAD", &loc, &[v_header(8)], b"").await;
        let offset = last(&head).header("upload-offset").unwrap().to_owned();
        println!("{case}: {} (offset then {offset})", a.status);
        if same {
            assert_eq!(a.status, 204, "{case}: {a:?}");
            assert_eq!(a.header("upload-complete"), Some("?1"));
            assert_eq!(download(&client(), &g.base, &loc).await, data);
        } else {
            assert_eq!(a.status, 409, "{case}: {a:?}");
            assert_eq!(
                offset, "400000",
                "the older request's bytes stay, nothing else"
            );
        }
        drop(old);
    }
    g.shutdown().await;
}
