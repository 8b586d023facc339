//! Regression tests for the holes a hostile review found (one test per finding), from
//! an attacker's side: content served back to a browser, ended sessions re-encoded,
//! write amplification, uploads claimed across users, limits bypassed in bulk, widget
//! sessions writing, existence oracles, CORS and oversized heads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::*;
use upgate_proto::form::form_encode;
use upgate_proto::kaltura::ks::{mint_v1, mint_v2, KsFields};

fn enc(s: &str) -> String {
    form_encode(s)
}

fn ks_v2(user: &str, privileges: &str) -> String {
    mint_v2(
        ADMIN_SECRET,
        &KsFields {
            partner_id: PARTNER,
            expiry: upgate::model::now_secs() as i64 + 3600,
            session_type: 0,
            user: user.into(),
            privileges: privileges.into(),
        },
        [5; 16],
    )
}

fn ks_v1(user: &str, rand: &str) -> String {
    mint_v1(
        ADMIN_SECRET_V1,
        &KsFields {
            partner_id: PARTNER_V1,
            expiry: upgate::model::now_secs() as i64 + 3600,
            session_type: 0,
            user: user.into(),
            privileges: String::new(),
        },
        rand,
    )
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

fn code(body: &str) -> Option<String> {
    between(body, "<code>", "</code>").map(str::to_owned)
}

/// Finding 1: answers that carry user strings never run as HTML on the gateway's origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_strings_never_render_as_html() {
    let g = Gateway::start_files_auth().await;
    let ks = enc(&ks_v2("alice", ""));
    let evil = enc("<img src=x onerror=alert(document.domain)>");
    let api = g.url("/api_v3/service/uploadtoken/action/add");
    // format=3 (PHP serialize) echoes the file name raw: served as plain text.
    let r = get(&format!(
        "{api}?format=3&ks={ks}&uploadToken:fileName={evil}"
    ))
    .await;
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.text().await.unwrap().contains("<img src=x onerror"));
    // JSONP: only dotted identifiers are echoed as the callback.
    for (cb, kept) in [
        ("cb", true),
        ("jQuery.x_1", true),
        ("alert(1)//", false),
        ("a;b", false),
        ("1abc", false),
        ("a..b", false),
    ] {
        let r = get(&format!("{api}?format=9&ks={ks}&callback={}", enc(cb))).await;
        assert_eq!(r.headers()["content-type"], "application/javascript");
        let body = r.text().await.unwrap();
        assert_eq!(body.starts_with(&format!("{cb}(")), kept, "{cb}: {body}");
        if !kept {
            assert!(body.starts_with('('), "{cb}: {body}");
        }
    }
    // The page: a strict CSP, never framed.
    let r = get(&g.url("/")).await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for want in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(want), "{csp}");
    }
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    // Downloads are attachments with a safe name, never sniffed.
    let name = base64::engine::general_purpose::STANDARD.encode("x\"><script>.html");
    let c = client();
    let r = c
        .post(g.url("/files/"))
        .bearer_auth(ks_v2("alice", ""))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .header("Upload-Metadata", format!("filename {name}"))
        .header("Content-Type", "application/offset+octet-stream")
        .body("<b>x")
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let r = c
        .patch(g.url(&loc))
        .bearer_auth(ks_v2("alice", ""))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "4")
        .header("Content-Type", "application/offset+octet-stream")
        .body("!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .get(g.url(&loc))
        .bearer_auth(ks_v2("alice", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let cd = r.headers()["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"x___script_.html\""),
        "{cd}"
    );
    // Every answer, even a 404 nobody routes, says nosniff.
    for path in ["/nope", "/files/nope", "/api/v1/services/nope", "/healthz"] {
        let r = get(&g.url(path)).await;
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    g.shutdown().await;
}

/// Re-spells a KS: strips or adds padding, swaps the alphabet, or rewrites the v2
/// partner header.
fn respell(ks: &str) -> Vec<(String, &'static str)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(ks.trim_end_matches('='))
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(ks.trim_end_matches('='))
        })
        .unwrap();
    let std_pad = base64::engine::general_purpose::STANDARD.encode(&raw);
    let url_pad = base64::engine::general_purpose::URL_SAFE.encode(&raw);
    let url_nopad = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
    let std_nopad = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw);
    vec![
        (std_pad.clone(), "standard, padded"),
        (url_pad, "URL-safe, padded"),
        (url_nopad, "URL-safe, no padding"),
        (std_nopad, "standard, no padding"),
        (format!("{std_pad}=="), "extra padding"),
    ]
}

fn with_partner_header(ks: &str, header: &str) -> String {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(ks.trim_end_matches('='))
        .unwrap();
    let prefix = format!("v2|{PARTNER}|");
    assert!(raw.starts_with(prefix.as_bytes()));
    let mut out = format!("v2|{header}|").into_bytes();
    out.extend_from_slice(&raw[prefix.len()..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
}

/// Finding 2: `session.end` ends the session, not one spelling of its text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_sessions_stay_ended_in_every_spelling() {
    let g = Gateway::start().await;
    let api = |rest: &str| g.url(&format!("/api_v3/service/{rest}"));
    for ks in [ks_v2("alice", ""), ks_v1("alice", "4242")] {
        // Before the end every spelling works (the official clients send several).
        for (spelling, what) in respell(&ks) {
            if what == "extra padding" {
                continue;
            }
            let body = get(&api(&format!("session/action/get?ks={}", enc(&spelling))))
                .await
                .text()
                .await
                .unwrap();
            assert_eq!(code(&body), None, "{what}: {body}");
        }
        let body = get(&api(&format!("session/action/end?ks={}", enc(&ks))))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(code(&body), None, "{body}");
        for (spelling, what) in respell(&ks) {
            let body = get(&api(&format!(
                "uploadtoken/action/list?ks={}",
                enc(&spelling)
            )))
            .await
            .text()
            .await
            .unwrap();
            assert_eq!(code(&body).as_deref(), Some("INVALID_KS"), "{what}: {body}");
        }
    }
    // A v2 partner header written another way is not the same session: refused.
    let ks = ks_v2("bob", "");
    for header in [
        format!("0{PARTNER}"),
        format!("+{PARTNER}"),
        format!("000{PARTNER}"),
    ] {
        let other = with_partner_header(&ks, &header);
        let body = get(&api(&format!("uploadtoken/action/list?ks={}", enc(&other))))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            code(&body).as_deref(),
            Some("INVALID_KS"),
            "{header}: {body}"
        );
    }
    let body = get(&api(&format!("uploadtoken/action/list?ks={}", enc(&ks))))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(code(&body), None, "the canonical spelling works: {body}");
    g.shutdown().await;
}

async fn create_partial(c: &reqwest::Client, g: &Gateway, ks: &str, data: &[u8]) -> String {
    let r = c
        .post(g.url("/files/"))
        .bearer_auth(ks)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", data.len().to_string())
        .header("Upload-Concat", "partial")
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn create_final(c: &reqwest::Client, g: &Gateway, ks: &str, parts: &[&str]) -> (u16, String) {
    let r = c
        .post(g.url("/files/"))
        .bearer_auth(ks)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Concat", format!("final;{}", parts.join(" ")))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Findings 3 and 7 (concatenation): a partial listed twice or reused is refused, and
/// another user's partial answers exactly like a missing one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concatenation_cannot_amplify_or_probe() {
    let g = Gateway::start_files_auth().await;
    let c = client();
    let alice = ks_v2("alice", "");
    let p = create_partial(&c, &g, &alice, &[1u8; 1024]).await;
    let q = create_partial(&c, &g, &alice, &[2u8; 512]).await;
    let (status, body) = create_final(&c, &g, &alice, &[&p, &p, &p]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("more than once"), "{body}");
    let (status, _) = create_final(&c, &g, &alice, &[&p, &q]).await;
    assert_eq!(status, 201);
    // Consumed: a second final cannot reuse them.
    let (status, body) = create_final(&c, &g, &alice, &[&q]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("already concatenated"), "{body}");
    // Bob naming alice's (complete, partial) upload sees what a missing id gives.
    let bob = ks_v2("bob", "");
    let r = create_partial(&c, &g, &alice, &[3u8; 10]).await;
    let (s1, b1) = create_final(&c, &g, &bob, &[&r]).await;
    let (s2, b2) = create_final(&c, &g, &bob, &["/files/00000000000000000000000000000000"]).await;
    assert_eq!(s1, s2);
    assert_eq!(
        b1.replace(r.trim_start_matches("/files/"), "ID"),
        b2.replace("00000000000000000000000000000000", "ID")
    );
    g.shutdown().await;
}

/// Finding 7 (Kaltura): another user's entry answers `ENTRY_ID_NOT_FOUND`, as a
/// missing one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_entry_looks_missing() {
    let g = Gateway::start().await;
    let api = |rest: &str| g.url(&format!("/api_v3/service/{rest}"));
    let alice = enc(&ks_v2("alice", ""));
    let bob = enc(&ks_v2("bob", ""));
    let body = get(&api(&format!(
        "media/action/add?ks={alice}&entry:objectType=KalturaMediaEntry&entry:name=A&entry:mediaType=1"
    )))
    .await
    .text()
    .await
    .unwrap();
    let id = between(&body, "<id>", "</id>").unwrap().to_owned();
    let theirs = get(&api(&format!("media/action/get?ks={bob}&entryId={id}")))
        .await
        .text()
        .await
        .unwrap();
    let missing = get(&api(&format!(
        "media/action/get?ks={bob}&entryId=0_zzzzzzzz"
    )))
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(code(&theirs).as_deref(), Some("ENTRY_ID_NOT_FOUND"));
    let strip = |s: &str| {
        s.replace(&id, "ID")
            .replace("0_zzzzzzzz", "ID")
            .split("<executionTime>")
            .next()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(strip(&theirs), strip(&missing));
    g.shutdown().await;
}

async fn ps2(g: &Gateway, action: &str, query: &str, file: Option<&[u8]>) -> String {
    let b = "psb";
    let url = g.url(&format!("/index.php/partnerservices2/{action}?{query}"));
    let r = match file {
        Some(d) => {
            client()
                .post(url)
                .header("Content-Type", format!("multipart/form-data; boundary={b}"))
                .body(multipart(b, &[("Filedata", Some("a.mp4"), d)]))
                .send()
                .await
        }
        None => client().get(url).send().await,
    };
    r.unwrap().text().await.unwrap()
}

/// Findings 4 and 6: PS2 files are keyed by partner, user, session and file id, so
/// another user with the same random field cannot claim them; widget sessions cannot
/// upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps2_uploads_stay_with_their_session() {
    let g = Gateway::start().await;
    let (alice, bob) = (ks_v1("alice", "1"), ks_v1("bob", "1"));
    let q = |ks: &str| format!("ks={}&filename=clip", enc(ks));
    let up = ps2(&g, "upload", &q(&alice), Some(b"alice's lecture")).await;
    assert!(up.contains("<result_ok>"), "{up}");
    // Bob (same partner, same rand, same client file id) cannot take it.
    let steal = ps2(
        &g,
        "addEntry",
        &format!("ks={}&entry1_filename=clip", enc(&bob)),
        None,
    )
    .await;
    assert_eq!(
        between(&steal, "<code>", "</code>"),
        Some("INVALID_FILE_NAME"),
        "{steal}"
    );
    let mine = ps2(
        &g,
        "addEntry",
        &format!("ks={}&entry1_filename=clip", enc(&alice)),
        None,
    )
    .await;
    assert!(mine.contains("<entry1_>"), "{mine}");
    // A widget session may not upload or create entries.
    let widget = ks_v2("", "widget:1,view:*");
    let w = ps2(&g, "upload", &q(&widget), Some(b"x")).await;
    assert_eq!(
        between(&w, "<code>", "</code>"),
        Some("SERVICE_FORBIDDEN"),
        "{w}"
    );
    let w = ps2(
        &g,
        "addEntry",
        &format!("ks={}&entry1_filename=clip", enc(&widget)),
        None,
    )
    .await;
    assert_eq!(
        between(&w, "<code>", "</code>"),
        Some("SERVICE_FORBIDDEN"),
        "{w}"
    );
    g.shutdown().await;
}

fn limited_gateway(dir: &std::path::Path, extra: &[&str]) -> ChildGateway {
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let mut args = vec!["--partner", &partner];
    args.extend_from_slice(extra);
    ChildGateway::start(dir, &args)
}

/// Finding 5: every sub-request of a multi-request counts against the caller, a
/// multi-request has a cap, and failed `session.start`s are limited per address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_requests_do_not_bypass_limits() {
    let dir = tempfile::tempdir().unwrap();
    let g = limited_gateway(dir.path(), &["--user-requests", "1", "--user-burst", "5"]);
    let ks = enc(&ks_v2("alice", ""));
    let mut q = format!("service=multirequest&ks={ks}");
    for i in 1..=20 {
        q.push_str(&format!("&{i}:service=uploadtoken&{i}:action=add"));
    }
    let body = post_form(&g.url("/api_v3/"), q).await;
    let made = body
        .matches("<objectType>KalturaUploadToken</objectType>")
        .count();
    let refused = body.matches("REQUEST_RATE_EXCEEDED").count();
    assert!(made <= 5, "{made} tokens under a burst of 5");
    assert_eq!(made + refused, 20, "{body}");
    // Too many sub-requests: refused whole.
    let mut q = String::from("service=multirequest");
    for i in 1..=101 {
        q.push_str(&format!("&{i}:service=session&{i}:action=get"));
    }
    let body = post_form(&g.url("/api_v3/"), q).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("MULTIREQUEST_TOO_LARGE"),
        "{body}"
    );
    // Secret guessing: after 10 failures from this address, even the right secret waits.
    let mut q = String::from("service=multirequest");
    for i in 1..=30 {
        q.push_str(&format!(
            "&{i}:service=session&{i}:action=start&{i}:partnerId={PARTNER}&{i}:secret=guess{i}"
        ));
    }
    let body = post_form(&g.url("/api_v3/"), q).await;
    assert_eq!(body.matches("START_SESSION_ERROR").count(), 10, "{body}");
    assert_eq!(body.matches("REQUEST_RATE_EXCEEDED").count(), 20, "{body}");
    let r = get(&g.url(&format!(
        "/api_v3/service/session/action/start?partnerId={PARTNER}&secret={ADMIN_SECRET}"
    )))
    .await;
    assert!(r.headers().contains_key("retry-after"));
    let body = r.text().await.unwrap();
    assert_eq!(
        code(&body).as_deref(),
        Some("REQUEST_RATE_EXCEEDED"),
        "{body}"
    );
}

/// Finding 8: `--cors-origins` holds on every API, and a request head over 256 KiB is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origins_everywhere_and_bounded_heads() {
    let dir = tempfile::tempdir().unwrap();
    let g = limited_gateway(dir.path(), &["--cors-origins", "https://lms.example.edu"]);
    let c = client();
    for path in [
        "/api_v3/service/session/action/get",
        "/index.php/partnerservices2/getuiconf",
        "/files/",
        "/api/v1/services/kaltura",
    ] {
        let r = c
            .get(g.url(path))
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert!(
            !r.headers().contains_key("access-control-allow-origin"),
            "{path} allowed an unlisted origin"
        );
        let r = c
            .get(g.url(path))
            .header("Origin", "https://lms.example.edu")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://lms.example.edu",
            "{path}"
        );
    }
    let big = "a".repeat(410 << 10);
    let r = c.get(g.url("/healthz")).header("X-Big", big).send().await;
    match r {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => panic!("expected a 431 answer, got {e}"),
    }
    let r = c.get(g.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "still serving");
}

fn ks_typed(user: &str, session_type: i32, privileges: &str) -> String {
    mint_v2(
        ADMIN_SECRET,
        &KsFields {
            partner_id: PARTNER,
            expiry: upgate::model::now_secs() as i64 + 3600,
            session_type,
            user: user.into(),
            privileges: privileges.into(),
        },
        [6; 16],
    )
}

/// Finding 9: the KS privileges an upload service must honour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ks_privileges_are_enforced() {
    let g = Gateway::start_files_auth().await;
    let api = |rest: &str| g.url(&format!("/api_v3/service/{rest}"));
    let call = |rest: String| async move { get(&rest).await.text().await.unwrap() };
    let list = |ks: &str| api(&format!("uploadtoken/action/list?ks={}", enc(ks)));
    let ks_arg =
        |body: &str| between(body, "<name>KSID</name><value>", "</value>").map(str::to_owned);
    // iprestrict: only from the named address.
    let body = call(list(&ks_v2("alice", "iprestrict:10.9.9.9"))).await;
    assert_eq!(
        ks_arg(&body).as_deref(),
        Some("EXCEEDED_RESTRICTED_IP"),
        "{body}"
    );
    assert_eq!(
        code(&call(list(&ks_v2("alice", "iprestrict:127.0.0.1"))).await),
        None
    );
    let r = client()
        .post(g.url("/files/"))
        .bearer_auth(ks_v2("alice", "iprestrict:10.9.9.9"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // urirestrict: only the named paths.
    let files_only = ks_v2("alice", "urirestrict:/files/*");
    let body = call(list(&files_only)).await;
    assert_eq!(
        ks_arg(&body).as_deref(),
        Some("EXCEEDED_RESTRICTED_URI"),
        "{body}"
    );
    let r = client()
        .post(g.url("/files/"))
        .bearer_auth(&files_only)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // actionslimit: three actions, then refused, in every spelling and in bulk.
    let three = ks_v2("carol", "actionslimit:3");
    for i in 0..3 {
        assert_eq!(code(&call(list(&three)).await), None, "action {i}");
    }
    let body = call(list(&three)).await;
    assert_eq!(
        ks_arg(&body).as_deref(),
        Some("EXCEEDED_ACTIONS_LIMIT"),
        "{body}"
    );
    let two = ks_typed("dave", 0, "actionslimit:2");
    let mut q = format!("service=multirequest&ks={}", enc(&two));
    for i in 1..=4 {
        q.push_str(&format!("&{i}:service=uploadtoken&{i}:action=list"));
    }
    let body = post_form(&g.url("/api_v3/"), q).await;
    assert_eq!(
        body.matches("<value>EXCEEDED_ACTIONS_LIMIT</value>")
            .count(),
        2,
        "{body}"
    );
    // Role privileges on a USER session are refused; an ADMIN session may carry them.
    let body = call(list(&ks_typed("erin", 0, "setrole:1"))).await;
    assert_eq!(code(&body).as_deref(), Some("INVALID_KS"), "{body}");
    let body = call(list(&ks_typed("erin", 0, "disableentitlement"))).await;
    assert_eq!(code(&body).as_deref(), Some("INVALID_KS"), "{body}");
    assert_eq!(
        code(&call(list(&ks_typed("erin", 2, "setrole:1,disableentitlement"))).await),
        None
    );
    // edit / sview name entries a USER session may reach without owning them.
    let alice = enc(&ks_v2("alice", ""));
    let body = call(api(&format!(
        "media/action/add?ks={alice}&entry:objectType=KalturaMediaEntry&entry:name=A&entry:mediaType=1"
    )))
    .await;
    let id = between(&body, "<id>", "</id>").unwrap().to_owned();
    let as_bob = |p: &str| enc(&ks_typed("bob", 0, p));
    let get_as = |p: &str| api(&format!("media/action/get?ks={}&entryId={id}", as_bob(p)));
    let update_as = |p: &str| {
        api(&format!(
            "media/action/update?ks={}&entryId={id}&mediaEntry:objectType=KalturaMediaEntry&mediaEntry:name=B",
            as_bob(p)
        ))
    };
    let delete_as = |p: &str| {
        api(&format!(
            "media/action/delete?ks={}&entryId={id}",
            as_bob(p)
        ))
    };
    assert_eq!(
        code(&call(get_as("")).await).as_deref(),
        Some("ENTRY_ID_NOT_FOUND")
    );
    assert_eq!(code(&call(get_as(&format!("sview:{id}"))).await), None);
    assert_eq!(
        code(&call(get_as("download:0_other/0_x")).await).as_deref(),
        Some("ENTRY_ID_NOT_FOUND")
    );
    assert_eq!(
        code(&call(update_as(&format!("sview:{id}"))).await).as_deref(),
        Some("INVALID_KS"),
        "sview does not grant edit (seen, so the server's refusal, not not-found)"
    );
    let body = call(update_as(&format!("edit:0_x/{id}"))).await;
    assert_eq!(code(&body), None, "{body}");
    assert!(body.contains("<name>B</name>"), "{body}");
    assert_eq!(
        code(&call(delete_as(&format!("edit:{id}"))).await).as_deref(),
        Some("INVALID_KS"),
        "edit does not grant delete"
    );
    // privacycontext is carried (the session reports it), not enforced.
    let body = call(api(&format!(
        "session/action/get?ks={}",
        enc(&ks_v2("alice", "privacycontext:course7"))
    )))
    .await;
    assert!(body.contains("privacycontext:course7"), "{body}");
    g.shutdown().await;
}
