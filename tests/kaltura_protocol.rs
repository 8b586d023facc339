//! API v3 over HTTP: every URL form and parameter source, CORS, formats, and bad input.
//! Every failure is HTTP 200 with the exact Kaltura error (never a panic, never a
//! non-Kaltura body: the official clients crash on those).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use upgate_proto::kaltura::ks::{mint_v1, mint_v2, KsFields};

/// The error code of an XML answer, or `None` for a success.
fn code(xml: &str) -> Option<String> {
    between(xml, "<error>", "</error>")
        .and_then(|e| between(e, "<code>", "</code>"))
        .map(str::to_owned)
}

fn result(xml: &str) -> String {
    between(xml, "<result>", "</result>")
        .unwrap_or("")
        .to_owned()
}

async fn get(url: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let r = client().get(url).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.text().await.unwrap(), headers)
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> String {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    let r = client()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn ks(partner: i64, secret: &str, user: &str, t: i32, expiry: i64, v2: bool) -> String {
    let f = KsFields {
        partner_id: partner,
        expiry,
        session_type: t,
        user: user.into(),
        privileges: String::new(),
    };
    if v2 {
        mint_v2(secret, &f, [7; 16])
    } else {
        mint_v1(secret, &f, "4242")
    }
}

fn now() -> i64 {
    upgate::model::now_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_forms_and_parameter_sources() {
    let g = Gateway::start().await;
    let q = format!("secret={USER_SECRET}&partnerId={PARTNER}&userId=alice");
    for url in [
        format!("{}/api_v3/?service=session&action=start&{q}", g.base),
        format!("{}/api_v3/index.php?service=session&action=start&{q}", g.base),
        format!("{}/api_v3/service/session/action/start?{q}", g.base),
        format!("{}/api_v3/service/SESSION/action/Start?{q}", g.base),
        format!("{}//api_v3/service/session/action/start?{q}", g.base),
        format!("{}/api_v3/index.php/service/session/action/start?{q}", g.base),
        format!("{}/api/service/session/action/start?{q}", g.base),
        format!("{}/api_v3/service/session/action/start/partnerId/{PARTNER}/secret/{USER_SECRET}/userId/alice", g.base),
    ] {
        let (status, body, h) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(code(&body), None, "{url}: {body}");
        assert!(result(&body).starts_with("djJ8"), "{url}: v2 KS expected, got {body}");
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(h["content-type"], "text/xml");
    }
    // Service and action in the body; JSON with a charset; bracket and colon nesting.
    let body = post_form(
        &format!("{}/api_v3/", g.base),
        &[
            ("service", "session"),
            ("action", "start"),
            ("secret", USER_SECRET),
            ("partnerId", "12345"),
            ("format", "1"),
        ],
    )
    .await;
    assert!(body.starts_with("\"djJ8"), "{body}");
    let user = ks(PARTNER, ADMIN_SECRET, "alice", 0, now() + 600, true);
    let r = client()
        .post(format!("{}/api_v3/service/uploadtoken/action/add", g.base))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(serde_json::json!({"ks": user, "format": 1, "uploadToken": {"objectType": "KalturaUploadToken", "fileName": "j.mp4"}}).to_string())
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["fileName"], "j.mp4", "{v}");
    assert_eq!(v["status"], 0);
    assert_eq!(v["objectType"], "KalturaUploadToken");
    for key in ["uploadToken[fileName]", "uploadToken:fileName"] {
        let body = post_form(
            &format!("{}/api_v3/service/uploadtoken/action/add", g.base),
            &[("ks", &user), (key, "b.mp4")],
        )
        .await;
        assert!(body.contains("<fileName>b.mp4</fileName>"), "{key}: {body}");
    }
    // Path pairs override the query string.
    let (_, body, _) = get(&format!(
        "{}/api_v3/service/session/action/start/format/1?format=2&{q}",
        g.base
    ))
    .await;
    assert!(body.starts_with('"'), "{body}");
    // v1 partners get v1 sessions.
    let (_, body, _) = get(&format!("{}/api_v3/?service=session&action=start&secret={ADMIN_SECRET_V1}&partnerId={PARTNER_V1}&type=2", g.base)).await;
    let v1 = result(&body);
    assert!(!v1.starts_with("djJ8") && !v1.is_empty(), "{body}");
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_cors_and_multirequest() {
    let g = Gateway::start().await;
    let user = ks(PARTNER, ADMIN_SECRET, "alice", 0, now() + 600, false);
    let r = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api_v3/service/uploadtoken/action/add", g.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-methods"],
        "POST, GET, HEAD, OPTIONS"
    );
    let base = format!(
        "{}/api_v3/service/uploadtoken/action/get?ks={user}&uploadTokenId=0_nope",
        g.base
    );
    let (_, json, h) = get(&format!("{base}&format=1")).await;
    assert_eq!(h["x-kaltura"], "error-UPLOAD_TOKEN_NOT_FOUND");
    assert_eq!(
        json,
        r#"{"code":"UPLOAD_TOKEN_NOT_FOUND","message":"Upload token not found","objectType":"KalturaAPIException","args":[]}"#
    );
    let (_, php, _) = get(&format!("{base}&format=3")).await;
    assert!(
        php.starts_with("a:4:{s:4:\"code\";s:22:\"UPLOAD_TOKEN_NOT_FOUND\""),
        "{php}"
    );
    let (_, jsonp, h) = get(&format!("{base}&format=9&callback=my.cb_1")).await;
    assert!(
        jsonp.starts_with("my.cb_1({") && jsonp.ends_with("});"),
        "{jsonp}"
    );
    assert_eq!(h["content-type"], "application/javascript");
    let (status, empty, h) = get(&format!("{base}&format=7")).await;
    assert_eq!((status, empty.as_str()), (200, ""));
    assert_eq!(h["x-kaltura"], "error-UNKNOWN_RESPONSE_FORMAT");
    // Multi-request with flat 1-based keys, a result reference, and a failing slot.
    let body = post_form(
        &format!("{}/api_v3/service/multirequest", g.base),
        &[
            ("ks", &user),
            ("1:service", "uploadtoken"),
            ("1:action", "add"),
            ("1:uploadToken:fileName", "m.mp4"),
            ("2:service", "uploadtoken"),
            ("2:action", "get"),
            ("2:uploadTokenId", "{1:result:id}"),
            ("3:service", "uploadtoken"),
            ("3:action", "get"),
            ("3:uploadTokenId", "0_missing"),
            ("5:service", "never"),
        ],
    )
    .await;
    let items: Vec<&str> = body.split("<item>").skip(1).collect();
    assert_eq!(items.len(), 3, "processing stops at the first gap: {body}");
    let id = between(items[0], "<id>", "</id>").unwrap();
    assert_eq!(between(items[1], "<id>", "</id>"), Some(id));
    assert_eq!(code(items[2]).as_deref(), Some("UPLOAD_TOKEN_NOT_FOUND"));
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sessions() {
    let g = Gateway::start().await;
    let list = |k: &str| {
        format!(
            "{}/api_v3/service/uploadtoken/action/list?ks={}",
            g.base,
            urlencode(k)
        )
    };
    let cases: Vec<(String, &str, &str)> = vec![
        ("not-a-ks".into(), "INVALID_KS", "not-a-ks"),
        (
            ks(PARTNER, "wrong-secret", "u", 0, now() + 600, false),
            "INVALID_KS",
            "-1,INVALID_STR",
        ),
        (
            ks(PARTNER, "wrong-secret", "u", 0, now() + 600, true),
            "INVALID_KS",
            "-1,INVALID_STR",
        ),
        (
            ks(PARTNER, ADMIN_SECRET, "u", 0, now() - 1, false),
            "INVALID_KS",
            "Invalid KS &quot;EXPIRED&quot;",
        ),
        (
            ks(PARTNER, ADMIN_SECRET, "u", 0, now() - 1, true),
            "INVALID_KS",
            "Invalid KS &quot;EXPIRED&quot;",
        ),
        (
            ks(55555, ADMIN_SECRET, "u", 0, now() + 600, true),
            "INVALID_KS",
            "-1,INVALID_STR",
        ),
    ];
    for (k, want, text) in cases {
        let (status, body, _) = get(&list(&k)).await;
        assert_eq!(status, 200);
        assert_eq!(code(&body).as_deref(), Some(want), "{k}: {body}");
        assert!(body.contains(text), "{k}: {body}");
    }
    let (_, body, _) = get(&format!(
        "{}/api_v3/service/uploadtoken/action/list",
        g.base
    ))
    .await;
    assert_eq!(code(&body).as_deref(), Some("MISSING_KS"));
    let (_, body, _) = get(&format!(
        "{}/api_v3/service/uploadtoken/action/add?partnerId={PARTNER}",
        g.base
    ))
    .await;
    assert_eq!(code(&body).as_deref(), Some("SERVICE_FORBIDDEN"));
    assert!(body.contains("uploadtoken-&gt;add"), "{body}");
    // A valid KS of one partner used with another partner id.
    let other = ks(PARTNER_V1, ADMIN_SECRET_V1, "u", 0, now() + 600, false);
    let (_, body, _) = get(&format!("{}&partnerId={PARTNER}", list(&other))).await;
    assert_eq!(code(&body).as_deref(), Some("SERVICE_FORBIDDEN"));
    // Widget sessions may list but not upload.
    let f = KsFields {
        partner_id: PARTNER,
        expiry: now() + 600,
        session_type: 0,
        user: "0".into(),
        privileges: "view:*,widget:1".into(),
    };
    let widget = mint_v2(ADMIN_SECRET, &f, [1; 16]);
    let (_, body, _) = get(&list(&widget)).await;
    assert_eq!(code(&body), None, "{body}");
    let (_, body, _) = get(&format!(
        "{}/api_v3/service/uploadtoken/action/add?ks={}",
        g.base,
        urlencode(&widget)
    ))
    .await;
    assert_eq!(code(&body).as_deref(), Some("SERVICE_FORBIDDEN"));
    // session.start errors.
    for q in [
        "secret=nope&partnerId=12345",
        "secret=x&partnerId=abc",
        "secret=usersecret0123456789&partnerId=12345&type=2",
    ] {
        let (_, body, _) = get(&format!(
            "{}/api_v3/service/session/action/start?{q}",
            g.base
        ))
        .await;
        assert_eq!(
            code(&body).as_deref(),
            Some("START_SESSION_ERROR"),
            "{q}: {body}"
        );
    }
    let (_, body, _) = get(&format!(
        "{}/api_v3/service/session/action/start?secret=x&partnerId=12345&type=7",
        g.base
    ))
    .await;
    assert_eq!(code(&body).as_deref(), Some("INVALID_ENUM_VALUE"));
    g.shutdown().await;
}

fn urlencode(s: &str) -> String {
    upgate_proto::form::form_encode(s)
}

async fn post_multipart(g: &Gateway, action: &str, boundary: &str, body: Vec<u8>) -> String {
    let r = client()
        .post(format!(
            "{}/api_v3/service/uploadtoken/action/{action}",
            g.base
        ))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_and_uploads() {
    let g = Gateway::start().await;
    let alice = ks(PARTNER, ADMIN_SECRET, "alice", 0, now() + 600, true);
    let bob = ks(PARTNER, ADMIN_SECRET, "bob", 0, now() + 600, true);
    let add = format!(
        "{}/api_v3/service/uploadtoken/action/add?ks={}",
        g.base,
        urlencode(&alice)
    );
    let (_, body, _) = get(&add).await;
    let token = between(&body, "<id>", "</id>").unwrap().to_owned();
    let api = |rest: &str| format!("{}/api_v3/service/{rest}", g.base);
    let e = |s: &str| urlencode(s);
    let cases: Vec<(String, &str)> = vec![
        (
            api("uploadtoken/action/get?ks=") + &e(&alice),
            "MISSING_MANDATORY_PARAMETER",
        ),
        (
            api("uploadtoken/action/get?uploadTokenId=") + &token + "&ks=" + &e(&bob),
            "UPLOAD_TOKEN_NOT_FOUND",
        ),
        (
            api("uploadtoken/action/delete?uploadTokenId=") + &token + "&ks=" + &e(&bob),
            "UPLOAD_TOKEN_NOT_FOUND",
        ),
        (
            add.clone() + "&uploadToken:id=0_x",
            "PROPERTY_VALIDATION_NOT_UPDATABLE",
        ),
        (
            add.clone() + "&uploadToken:status=2",
            "PROPERTY_VALIDATION_NOT_UPDATABLE",
        ),
        (
            add.clone() + "&uploadToken:autoFinalize=1",
            "UPLOAD_TOKEN_MISSING_FILE_SIZE",
        ),
        (
            api("media/action/add?ks=") + &e(&alice) + "&entry:mediaType=99",
            "INVALID_ENUM_VALUE",
        ),
        (
            api("media/action/add?ks=") + &e(&alice) + "&entry:id=0_x",
            "PROPERTY_VALIDATION_NOT_UPDATABLE",
        ),
        (
            api("media/action/add?ks=") + &e(&alice),
            "MISSING_MANDATORY_PARAMETER",
        ),
        (
            api("media/action/get?entryId=0_nothere1&ks=") + &e(&alice),
            "ENTRY_ID_NOT_FOUND",
        ),
        (
            api("media/action/addContent?entryId=0_nothere1&ks=") + &e(&alice),
            "ENTRY_ID_NOT_FOUND",
        ),
        (
            api("nosuch/action/x?ks=") + &e(&alice),
            "SERVICE_DOES_NOT_EXISTS",
        ),
        (
            format!("{}/api_v3/?action=get", g.base),
            "SERVICE_NOT_SPECIFIED",
        ),
        (
            format!("{}/api_v3/?service=media", g.base),
            "ACTION_NOT_SPECIFIED",
        ),
        (
            api("uploadtoken/action/upload?uploadTokenId=") + &token + "&ks=" + &e(&alice),
            "MISSING_MANDATORY_PARAMETER",
        ),
    ];
    for (url, want) in cases {
        let (status, body, _) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(code(&body).as_deref(), Some(want), "{url}: {body}");
    }
    // fileData as a plain field (no filename) is a failed upload.
    let b = "b0undary";
    let body = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, token.as_bytes()),
            ("fileData", None, b"plain"),
        ],
    );
    assert_eq!(
        code(&post_multipart(&g, "upload", b, body).await).as_deref(),
        Some("UPLOAD_ERROR")
    );
    // Truncated multipart: the answer is still a Kaltura error, and nothing is corrupted.
    let mut body = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, token.as_bytes()),
            ("fileData", Some("a.bin"), &[7u8; 100_000]),
        ],
    );
    body.truncate(60_000);
    let r = client()
        .post(api("uploadtoken/action/upload"))
        .header("Content-Type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        code(&r.text().await.unwrap()).as_deref(),
        Some("UPLOAD_ERROR")
    );
    // A huge field name and a huge field: refused with a Kaltura error, not a crash.
    let huge = "k".repeat(2 << 20);
    let body = multipart(b, &[("ks", None, alice.as_bytes()), (&huge, None, b"x")]);
    assert_eq!(
        code(&post_multipart(&g, "list", b, body).await).as_deref(),
        Some("UPLOAD_ERROR")
    );
    let body = multipart(
        b,
        &[("ks", None, alice.as_bytes()), ("x", None, huge.as_bytes())],
    );
    assert_eq!(
        code(&post_multipart(&g, "list", b, body).await).as_deref(),
        Some("UPLOAD_ERROR")
    );
    // Node's multipart quirks: a CRLF preamble and no CRLF after the closing boundary.
    let json = serde_json::json!({"ks": alice, "uploadTokenId": token, "resume": false, "finalChunk": true, "format": 1}).to_string();
    let mut body = b"\r\n".to_vec();
    body.extend_from_slice(&multipart(
        b,
        &[
            ("json", None, json.as_bytes()),
            ("fileData", Some("chunk"), b"hello world"),
        ],
    ));
    body.truncate(body.len() - 2);
    let text = post_multipart(&g, "upload", b, body).await;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!(
        (v["status"].as_i64(), v["uploadedFileSize"].as_str()),
        (Some(2), Some("11")),
        "{v}"
    );
    // The name came from the first (truncated) upload: Kaltura keeps it even when that fails.
    assert_eq!(v["fileName"], "a.bin");
    // Finished tokens refuse more bytes.
    let body = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, token.as_bytes()),
            ("fileData", Some("a"), b"x"),
        ],
    );
    assert_eq!(
        code(&post_multipart(&g, "upload", b, body).await).as_deref(),
        Some("UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD")
    );
    // Resume on a token that never received bytes.
    let (_, fresh, _) = get(&add).await;
    let fresh = between(&fresh, "<id>", "</id>").unwrap().to_owned();
    let body = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, fresh.as_bytes()),
            ("resume", None, b"true"),
            ("fileData", Some("a"), b"x"),
        ],
    );
    assert_eq!(
        code(&post_multipart(&g, "upload", b, body).await).as_deref(),
        Some("UPLOAD_TOKEN_CANNOT_RESUME")
    );
    // A final positional chunk whose gap never fills: CANNOT_MATCH (after the wait), retryable.
    let body = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, fresh.as_bytes()),
            ("finalChunk", None, b"false"),
            ("fileData", Some("a"), b"0123"),
        ],
    );
    assert_eq!(code(&post_multipart(&g, "upload", b, body).await), None);
    let gap = |payload: &'static [u8], at: &'static [u8], fin: &'static [u8]| {
        multipart(
            b,
            &[
                ("ks", None, alice.as_bytes()),
                ("uploadTokenId", None, fresh.as_bytes()),
                ("resume", None, b"1"),
                ("resumeAt", None, at),
                ("finalChunk", None, fin),
                ("fileData", Some("a"), payload),
            ],
        )
    };
    let started = std::time::Instant::now();
    assert_eq!(
        code(&post_multipart(&g, "upload", b, gap(b"89", b"8", b"1")).await).as_deref(),
        Some("UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE")
    );
    println!(
        "final chunk waited {:?} before CANNOT_MATCH",
        started.elapsed()
    );
    // Zero-byte non-final chunk past the end: silently ignored.
    assert_eq!(
        code(&post_multipart(&g, "upload", b, gap(b"", b"20", b"0")).await),
        None
    );
    // The missing middle arrives; the retried final chunk then completes the file.
    assert_eq!(
        code(&post_multipart(&g, "upload", b, gap(b"4567", b"4", b"0")).await),
        None
    );
    let done = post_multipart(&g, "upload", b, gap(b"89", b"8", b"1")).await;
    assert_eq!(code(&done), None, "{done}");
    assert!(
        done.contains("<status>2</status>")
            && done.contains("<uploadedFileSize>10</uploadedFileSize>"),
        "{done}"
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_window_and_paging() {
    let g = Gateway::start_full(Default::default(), std::time::Duration::from_secs(30), 1).await;
    let alice = ks(PARTNER, ADMIN_SECRET, "alice", 0, now() + 600, true);
    let b = "b0undary";
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, body, _) = get(&format!(
            "{}/api_v3/service/uploadtoken/action/add?ks={}&uploadToken:fileName=f{i}",
            g.base,
            urlencode(&alice)
        ))
        .await;
        ids.push(between(&body, "<id>", "</id>").unwrap().to_owned());
    }
    let page = |size: u32, index: u32| {
        format!("{}/api_v3/service/uploadtoken/action/list?ks={}&pager:pageSize={size}&pager:pageIndex={index}&filter:orderBy=%2BcreatedAt", g.base, urlencode(&alice))
    };
    let (_, body, _) = get(&page(2, 3)).await;
    assert_eq!(between(&body, "<totalCount>", "</totalCount>"), Some("5"));
    assert_eq!(
        body.matches("<objectType>KalturaUploadToken</objectType>")
            .count(),
        1,
        "{body}"
    );
    let (_, body, _) = get(&format!("{}&filter:fileNameEqual=f3", page(30, 1))).await;
    assert_eq!(between(&body, "<totalCount>", "</totalCount>"), Some("1"));
    // A PARTIAL token idle past the resume window can no longer be resumed.
    let first = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, ids[0].as_bytes()),
            ("finalChunk", None, b"0"),
            ("fileData", Some("a"), b"abc"),
        ],
    );
    assert_eq!(code(&post_multipart(&g, "upload", b, first).await), None);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let more = multipart(
        b,
        &[
            ("ks", None, alice.as_bytes()),
            ("uploadTokenId", None, ids[0].as_bytes()),
            ("resume", None, b"1"),
            ("fileData", Some("a"), b"def"),
        ],
    );
    let body = post_multipart(&g, "upload", b, more).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED")
    );
    assert!(
        body.contains("Max resume time of 1 seconds reached"),
        "{body}"
    );
    g.shutdown().await;
}

/// A final chunk sent first is held while the bytes before it keep arriving, even past
/// `--final-chunk-wait` (which restarts whenever the contiguous size grows), and
/// completes the file; with nothing arriving it still gives up after the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_chunk_is_held_while_the_upload_progresses() {
    let dir = tempfile::tempdir().unwrap();
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let g = ChildGateway::start(
        dir.path(),
        &["--partner", &partner, "--final-chunk-wait", "2s"],
    );
    let ks = user_ks("alice", 0);
    let enc = urlencode(&ks);
    let api = |a: &str| g.url(&format!("/api_v3/service/uploadtoken/action/{a}"));
    let new_token = || {
        let url = format!("{}?ks={enc}", api("add"));
        async move {
            let body = get_text(&url).await;
            between(&body, "<id>", "</id>").unwrap().to_owned()
        }
    };
    // One `uploadToken.upload` chunk: (resume, resumeAt, finalChunk, data).
    let upload =
        |token: String, resume: &'static [u8], at: Option<u64>, last: bool, data: Vec<u8>| {
            let (ks, url) = (ks.clone(), api("upload"));
            async move {
                let b = "holdb";
                let at = at.map(|n| n.to_string());
                let mut fields = vec![
                    ("ks", None, ks.as_bytes()),
                    ("uploadTokenId", None, token.as_bytes()),
                    ("resume", None, resume),
                ];
                if let Some(at) = &at {
                    fields.push(("resumeAt", None, at.as_bytes()));
                }
                fields.push(("finalChunk", None, if last { b"1" } else { b"0" }));
                fields.push(("fileData", Some("c"), &data));
                client()
                    .post(url)
                    .header("Content-Type", format!("multipart/form-data; boundary={b}"))
                    .body(multipart(b, &fields))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
    let token = new_token().await;
    let chunk = |i: usize| vec![i as u8; 100_000];
    let send = |i: usize, last: bool| {
        let resume: &'static [u8] = if i == 0 { b"0" } else { b"1" };
        upload(
            token.clone(),
            resume,
            Some(i as u64 * 100_000),
            last,
            chunk(i),
        )
    };
    assert!(send(0, false).await.contains("<status>1</status>"));
    let started = std::time::Instant::now();
    let fin = tokio::spawn(send(4, true));
    // Gaps well inside the 2 s wait (a loaded machine adds to each), together longer.
    for i in 1..4 {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        assert!(send(i, false).await.contains("<status>"), "chunk {i}");
    }
    let done = fin.await.unwrap();
    assert!(
        done.contains("<status>2</status>")
            && done.contains("<uploadedFileSize>500000</uploadedFileSize>"),
        "held {:?} and completed: {done}",
        started.elapsed()
    );
    assert!(
        started.elapsed() > std::time::Duration::from_millis(2500),
        "longer than one wait"
    );
    // Nothing arriving: the wait ends (retryable), as before.
    let token2 = new_token().await;
    let first = upload(token2.clone(), b"0", None, false, chunk(0)).await;
    assert!(first.contains("<status>1</status>"), "{first}");
    let t = std::time::Instant::now();
    let r = upload(token2, b"1", Some(200_000), true, b"tail".to_vec()).await;
    assert!(r.contains("UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"), "{r}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
}
