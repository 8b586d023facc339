//! Randomized requests against every endpoint (deterministic seed): whatever a client
//! sends — odd methods, malformed headers, truncated multipart, garbage KS — the gateway
//! answers with a client error or a protocol error envelope, never a 500, never HTML
//! outside the page, always with `nosniff`, and stays up. A second run sends Kaltura
//! calls with valid sessions (admin, two users, another partner's) and real ids, so the
//! random parameters reach the actions themselves: none may end in an internal error.
//! A third does the same for Canvas's services and media API (API tokens) and the
//! legacy `partnerservices2` uploader API (sessions, uploaded files).
//!
//! Long mode: `FUZZ_HTTP_ITERS=100000 FUZZ_HTTP_SEED=N cargo test --test fuzz_http
//! -- --nocapture` (each test prints its seed and a histogram of its answers; a
//! failure names the request number, so the same seed replays it).

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

/// Requests per test (`FUZZ_HTTP_ITERS`, else `default`) and the seed (`FUZZ_HTTP_SEED`,
/// else the test's fixed one).
fn campaign(default: usize, seed: u64) -> (usize, Rng) {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let iters = env("FUZZ_HTTP_ITERS").map_or(default, |n| n as usize);
    let seed = env("FUZZ_HTTP_SEED").map_or(seed, |s| s.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    println!("seed {seed:#x}, {iters} requests");
    (iters, Rng(seed))
}

/// Sends one fuzzed request and checks what a browser could make of the answer: never
/// sniffed (`nosniff`), never HTML — but the page itself when `page_ok` (the first
/// campaign asks for `/`, and the client normalizes `/files/%2e%2e` to it). `what` names
/// the request in failures.
async fn send_checked(rb: reqwest::RequestBuilder, what: &str, page_ok: bool) -> reqwest::Response {
    let resp = match rb.send().await {
        Ok(resp) => resp,
        Err(e) => panic!("{what}: transport error {e}"),
    };
    assert_eq!(
        header(&resp, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    let ctype = header(&resp, "content-type").unwrap_or("");
    assert!(
        !ctype.starts_with("text/html") || (page_ok && resp.url().path() == "/"),
        "{what} answered {ctype}"
    );
    resp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_500() {
    let g = Gateway::start().await;
    let c = client();
    let upload = create(&c, &g.base, 1000).await;
    let upload = upload.as_str();
    let (iters, mut r) = campaign(3000, 0x5eed_1234_abcd_0001);
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
    let mut deleted = false;
    for i in 0..iters {
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
        // Whatever was asked, no answer may be sniffed into something a browser runs.
        let resp = send_checked(rb, &format!("request {i}: {method} {path}"), true).await;
        let status = resp.status().as_u16();
        assert_ne!(
            status,
            500,
            "request {i}: {method} {path} → 500: {}",
            resp.text().await.unwrap_or_default()
        );
        deleted |= method == reqwest::Method::DELETE && path == upload && status == 204;
        *statuses.entry(status).or_insert(0) += 1;
    }
    println!("status histogram: {statuses:?}");
    // Still alive and correct: the upload still takes an append at its offset, unless a
    // random DELETE removed it (long runs do), and then it answers as gone; a new upload
    // takes its bytes.
    let r = c.get(g.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    if deleted {
        let r = c
            .head(g.url(upload))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "HEAD of the deleted upload");
    } else {
        let offset = head_offset(&c, &g.base, upload).await;
        let r = patch(&c, &g.base, upload, offset, vec![]).await;
        assert_eq!(r.status().as_u16() / 100, 2);
    }
    let fresh = create(&c, &g.base, 5).await;
    let r = patch(&c, &g.base, &fresh, 0, b"hello".to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(download(&c, &g.base, &fresh).await, b"hello");
    g.shutdown().await;
}

/// The text between the first `<id>` and `</id>` of a Kaltura XML answer.
fn first_id(body: &str) -> String {
    between(body, "<id>", "</id>")
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_owned()
}

/// A fresh session of the test partner (`n` makes it unique).
fn fresh_ks(user: &str, session_type: i32, n: u64) -> String {
    let mut rand = [7u8; 16];
    rand[..8].copy_from_slice(&n.to_le_bytes());
    ks_v2(user, session_type, rand)
}

/// Ids for the random calls to aim at: alice's upload token, entry and caption, and a
/// category, made anew with fresh sessions (`n` makes them unique).
async fn real_ids(g: &Gateway, n: u64) -> [String; 4] {
    use upgate_proto::form::form_encode;
    let api = |rest: String| g.url(&format!("/api_v3/service/{rest}"));
    let alice = form_encode(&fresh_ks("alice", 0, n));
    let admin = form_encode(&fresh_ks("admin", 2, n));
    let token = first_id(&get_text(&api(format!("uploadtoken/action/add?ks={alice}"))).await);
    let entry = first_id(
        &get_text(&api(format!(
            "media/action/add?ks={alice}&entry:objectType=KalturaMediaEntry&entry:mediaType=1&entry:name=e"
        )))
        .await,
    );
    let category = first_id(
        &get_text(&api(format!(
            "category/action/add?ks={admin}&category:name=c{n}"
        )))
        .await,
    );
    let caption = first_id(
        &get_text(&api(format!(
            "caption_captionasset/action/add?ks={alice}&entryId={entry}&captionAsset:language=English&captionAsset:format=1"
        )))
        .await,
    );
    [token, entry, category, caption]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaltura_calls_with_sessions_never_fail_inside() {
    use upgate_proto::form::form_encode;
    use upgate_proto::kaltura::ks::{mint_v1, KsFields};

    let g = Gateway::start().await;
    let c = client();
    let admin = user_ks("admin", 2);
    let alice = user_ks("alice", 0);
    let bob = user_ks("bob", 0);
    let other = mint_v1(
        ADMIN_SECRET_V1,
        &KsFields {
            partner_id: PARTNER_V1,
            expiry: upgate::model::now_secs() as i64 + 3600,
            session_type: 2,
            user: "alice".into(),
            privileges: String::new(),
        },
        "9",
    );
    let (iters, mut r) = campaign(1500, 0x5eed_1234_abcd_0002);
    let sessions = [
        admin.as_str(),
        alice.as_str(),
        bob.as_str(),
        other.as_str(),
        "djJ8MTIzNDV8",
        "",
    ];
    let calls = [
        ("session", "start"),
        ("session", "end"),
        ("session", "get"),
        ("uploadtoken", "add"),
        ("uploadtoken", "get"),
        ("uploadtoken", "list"),
        ("uploadtoken", "delete"),
        ("uploadtoken", "upload"),
        ("media", "add"),
        ("media", "addContent"),
        ("media", "addFromUploadedFile"),
        ("media", "addFromUrl"),
        ("media", "get"),
        ("media", "list"),
        ("media", "update"),
        ("media", "delete"),
        ("category", "add"),
        ("category", "get"),
        ("category", "list"),
        ("categoryentry", "add"),
        ("categoryentry", "delete"),
        ("categoryentry", "list"),
        ("caption_captionasset", "add"),
        ("caption_captionasset", "setContent"),
        ("caption_captionasset", "get"),
        ("caption_captionasset", "list"),
        ("caption_captionasset", "serve"),
        ("caption_captionasset", "delete"),
        ("nope", "get"),
    ];
    let names = [
        "entryId",
        "uploadTokenId",
        "id",
        "categoryId",
        "captionAssetId",
        "resume",
        "resumeAt",
        "finalChunk",
        "privileges",
        "type",
        "expiry",
        "userId",
        "secret",
        "partnerId",
        "url",
        "fileData",
        "entry:name",
        "entry:mediaType",
        "entry:objectType",
        "entry:categories",
        "entry:categoriesIds",
        "entry:entitledUsersEdit",
        "entry:entitledUsersPublish",
        "entry:adminTags",
        "entry:referenceId",
        "entry:tags",
        "entry:description",
        "entry:userId",
        "entry:partnerData",
        "uploadToken:fileName",
        "uploadToken:fileSize",
        "uploadToken:autoFinalize",
        "filter:idIn",
        "filter:idEqual",
        "filter:entryIdEqual",
        "filter:entryIdIn",
        "filter:nameLike",
        "filter:orderBy",
        "filter:statusIn",
        "filter:statusEqual",
        "filter:createdAtGreaterThanOrEqual",
        "filter:categoriesIdsMatchOr",
        "filter:categoryIdEqual",
        "filter:categoryIdIn",
        "filter:parentIdEqual",
        "filter:fullNameStartsWith",
        "filter:userIdEqual",
        "filter:entitledUsersEditMatchAnd",
        "filter:objectType",
        "pager:pageSize",
        "pager:pageIndex",
        "category:name",
        "category:parentId",
        "category:privacyContext",
        "categoryEntry:categoryId",
        "categoryEntry:entryId",
        "captionAsset:language",
        "captionAsset:format",
        "captionAsset:label",
        "captionAsset:isDefault",
        "contentResource:objectType",
        "contentResource:token",
        "contentResource:content",
        "contentResource:url",
        "resource:objectType",
        "resource:token",
        "resource:url",
        "resource:content",
        "mediaEntry:name",
        "mediaEntry:mediaType",
        "format",
        "callback",
    ];
    let long = "x".repeat(300);
    let fixed = [
        "0_zzzzzzzz",
        "1_abc",
        "",
        "-1",
        "0",
        "1",
        "2",
        "7",
        "99999999999999999999",
        "1e9",
        "NaN",
        "true",
        "false",
        "<script>alert(1)</script>",
        "a,b,,c",
        "%00",
        "..",
        "../../etc/passwd",
        long.as_str(),
        "é🎥",
        "KalturaMediaEntry",
        "KalturaUploadedFileTokenResource",
        "KalturaUrlResource",
        "KalturaStringResource",
        "KalturaNope",
        "http://127.0.0.1:1/x",
        "http://169.254.169.254/latest",
        "file:///etc/passwd",
        "+createdAt",
        "-name",
        "+nope",
        "1700000000",
        "{1:result:id}",
        "alice",
        "bob",
        "1 --> 2\n\nhello",
        "WEBVTT\n\n00:00.000 --> 00:01.000\nhi",
    ];
    let mut ids = real_ids(&g, 0).await;
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..iters {
        if i % 100 == 99 {
            ids = real_ids(&g, i as u64).await; // the random calls delete them
        }
        let [token, entry, category, caption] = &ids;
        let (service, action) = calls[(r.next() % calls.len() as u64) as usize];
        let mut params: Vec<(String, String)> = Vec::new();
        // Mostly a fresh session (random calls end sessions: `session.end`), sometimes
        // one of the fixed ones, ended or not by now.
        let ks = match r.next() % 8 {
            0..=4 => {
                let who = r.pick(&["admin", "alice", "bob"]);
                fresh_ks(who, if who == "admin" { 2 } else { 0 }, r.next())
            }
            _ => r.pick(&sessions).to_owned(),
        };
        if !ks.is_empty() {
            params.push(("ks".into(), ks));
        }
        match r.next() % 6 {
            0 => params.push(("format".into(), "1".into())),
            1 => params.push(("format".into(), "3".into())),
            2 => {
                params.push(("format".into(), "9".into()));
                params.push(("callback".into(), r.pick(&["cb", "alert(1)//", ""]).into()));
            }
            _ => {}
        }
        if r.next() % 4 != 0 {
            // The ids the actions ask for, real ones: the calls get past their checks.
            let id = r.pick(&[token, entry, category, caption]);
            for (k, v) in [
                ("entryId", entry.as_str()),
                ("uploadTokenId", token),
                ("id", id),
                ("categoryId", category),
                ("categoryEntry:entryId", entry),
                ("categoryEntry:categoryId", category),
            ] {
                params.push((k.into(), v.into()));
            }
        }
        for _ in 0..(r.next() % 7) {
            // Real ids half the time, one of the odd values otherwise.
            let v = match r.next() % 2 {
                0 => r.pick(&[token, entry, category, caption]),
                _ => r.pick(&fixed),
            };
            params.push((r.pick(&names).into(), v.into()));
        }
        let multi = r.next() % 10 == 0;
        let path = if multi {
            // The same call as the first of a multi-request, a second one after it.
            let mut inner: Vec<(String, String)> = vec![
                ("1:service".into(), service.into()),
                ("1:action".into(), action.into()),
            ];
            inner.extend(params.drain(..).map(|(k, v)| match k.as_str() {
                "ks" | "format" | "callback" => (k, v),
                _ => (format!("1:{k}"), v),
            }));
            let (s2, a2) = calls[(r.next() % calls.len() as u64) as usize];
            inner.push(("2:service".into(), s2.into()));
            inner.push(("2:action".into(), a2.into()));
            inner.push(("2:entryId".into(), "{1:result:id}".into()));
            params = inner;
            "/api_v3/service/multirequest".to_owned()
        } else {
            format!("/api_v3/service/{service}/action/{action}")
        };
        let encoded = || -> String {
            params
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        };
        let rb = match r.next() % 4 {
            // Multipart with a file part, as uploads and caption contents come.
            0 => {
                let file = data((r.next() % 5000) as usize, r.next());
                let mut fields: Vec<(&str, Option<&str>, &[u8])> = params
                    .iter()
                    .map(|(k, v)| (k.as_str(), None, v.as_bytes()))
                    .collect();
                fields.push(("fileData", Some("f.mp4"), &file));
                c.post(g.url(&path))
                    .header("Content-Type", "multipart/form-data; boundary=fuzzfuzz")
                    .body(multipart("fuzzfuzz", &fields))
            }
            1 => c.get(format!("{}?{}", g.url(&path), encoded())),
            _ => c
                .post(g.url(&path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encoded()),
        };
        let resp = send_checked(rb, &format!("request {i}: {path}"), false).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            status < 500 && !body.contains("INTERNAL_SERVERL_ERROR"),
            "request {i}: {path} {params:?} → {status}: {body}"
        );
        // What the calls came to: a Kaltura error code, or a result.
        let code = between(&body, "<code>", "</code>")
            .or_else(|| between(&body, "\"code\":\"", "\""))
            .unwrap_or("(result)")
            .to_owned();
        *statuses.entry(code).or_insert(0) += 1;
    }
    println!("answers: {statuses:?}");
    let r = c.get(g.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    g.shutdown().await;
}

/// Canvas's endpoints as the campaign calls them (`{id}`: an entry id or an odd value,
/// `{track}`: a track id, `{n}`: a course or group), each with its method.
const CANVAS_PATHS: [(&str, &str); 16] = [
    ("GET", "/api/v1/services/kaltura"),
    ("POST", "/api/v1/services/kaltura_session"),
    ("POST", "/media_objects"),
    ("GET", "/api/v1/media_objects"),
    ("GET", "/api/v1/media_attachments"),
    ("GET", "/api/v1/courses/{n}/media_objects"),
    ("GET", "/api/v1/groups/{n}/media_attachments"),
    ("PUT", "/api/v1/media_objects/{id}"),
    ("PUT", "/api/v1/media_attachments/{id}"),
    ("GET", "/api/v1/media_objects/{id}/media_tracks"),
    ("PUT", "/api/v1/media_attachments/{id}/media_tracks"),
    ("POST", "/media_objects/{id}/media_tracks"),
    ("GET", "/media_objects/{id}/media_tracks/{track}"),
    ("DELETE", "/media_objects/{id}/media_tracks/{track}"),
    ("GET", "/api/v1/services/kaltura_session"),
    ("PATCH", "/media_objects/{id}"),
];

/// A random JSON value: a string from `strings`, a number, a bool, null, or (while
/// `depth` lasts) an array or an object with keys from `keys`.
fn json_value(r: &mut Rng, strings: &[&str], keys: &[&str], depth: u32) -> serde_json::Value {
    use serde_json::Value;
    match r.next() % if depth == 0 { 5 } else { 7 } {
        0 | 1 => Value::from(r.pick(strings)),
        2 => Value::from(r.next() as i64 % 100_000),
        3 => Value::from(r.next().is_multiple_of(2)),
        4 => Value::Null,
        5 => (0..r.next() % 3)
            .map(|_| json_value(r, strings, keys, depth - 1))
            .collect(),
        _ => json_object(r, strings, keys, depth - 1),
    }
}

/// A random JSON object with up to six keys from `keys`.
fn json_object(r: &mut Rng, strings: &[&str], keys: &[&str], depth: u32) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for _ in 0..(r.next() % 7) {
        let k = r.pick(keys).to_owned();
        m.insert(k, json_value(r, strings, keys, depth));
    }
    m.into()
}

/// Fewer than `most` random `name=value` pairs, form-encoded.
fn random_form(r: &mut Rng, most: u64, names: &[&str], values: &[&str]) -> String {
    use upgate_proto::form::form_encode;
    (0..r.next() % most)
        .map(|_| {
            format!(
                "{}={}",
                form_encode(r.pick(names)),
                form_encode(r.pick(values))
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds a subtitles track in `locale` to `entry` as the holder of API token `token` (a
/// 400 when the entry has one in that locale already); its id.
async fn add_track(g: &Gateway, token: &str, entry: &str, locale: &str) -> Option<String> {
    let r = client()
        .post(g.url(&format!("/media_objects/{entry}/media_tracks")))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(
            serde_json::json!({"locale": locale, "kind": "subtitles",
                "content": "1\n00:00:01,000 --> 00:00:02,000\nhi\n"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    if r.status() == 400 {
        return None;
    }
    assert!(r.status().is_success(), "track: {}", r.status());
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    Some(v["id"].to_string().trim_matches('"').to_owned())
}

/// Canvas's two APIs with valid credentials: random calls on the services API and the
/// media objects and tracks endpoints (a teacher's and a student's API tokens, a
/// revoked one, a Kaltura session in a token's place, garbage, none) aimed at real
/// entries and tracks, with JSON, form and garbage bodies; and random
/// `partnerservices2` calls (getuiconf, upload, addEntry) with fresh and fixed
/// sessions, aimed at files really uploaded. Never an internal error, never without
/// `nosniff`, never HTML; Canvas answers JSON (or nothing), PS2 answers XML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canvas_and_ps2_calls_with_sessions_never_fail_inside() {
    use upgate_proto::form::form_encode;

    let g = Gateway::start().await;
    let c = client();
    let teacher = api_token(&g, "teacher1").await;
    let student = api_token(&g, "student2").await;
    let gone = api_token_record(&g, "teacher3").await;
    let r = c
        .delete(g.url(&format!("/admin/tokens/{}", gone["id"].as_str().unwrap())))
        .bearer_auth(user_ks("admin", 2))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "revoke: {}", r.status());
    let revoked = gone["token"].as_str().unwrap().to_owned();
    let ks = user_ks("teacher1_1", 0);
    let credentials = [
        teacher.as_str(),
        teacher.as_str(),
        teacher.as_str(),
        student.as_str(),
        student.as_str(),
        revoked.as_str(),
        ks.as_str(),
        "upg_nope",
        "",
    ];
    // Entries of the teacher (some with a track) and of another user.
    let mut entries = Vec::new();
    let mut tracks = vec!["1".to_owned(), "99999999999".to_owned()];
    for (n, user) in ["teacher1_1", "teacher1_1", "alice"].iter().enumerate() {
        let k = form_encode(&user_ks(user, 0));
        let body = get_text(&g.url(&format!(
            "/api_v3/service/media/action/add?ks={k}&entry:objectType=KalturaMediaEntry&entry:mediaType=1&entry:name=e{n}"
        )))
        .await;
        entries.push(first_id(&body));
    }
    for e in &entries[..2] {
        tracks.extend(add_track(&g, &teacher, e, "en").await);
    }
    let long = "y".repeat(300);
    let strings = [
        "",
        "0",
        "-1",
        "course_17",
        "group_3",
        "user_5",
        "course_",
        "course_x",
        "video",
        "audio",
        "en",
        "zz-ZZ",
        "subtitles",
        "captions",
        "chapters",
        "<script>alert(1)</script>",
        "\"quoted\"",
        "1\n00:00:01,000 --> 00:00:02,000\nhi\n",
        "WEBVTT\n\n00:00.000 --> 00:01.000\nhi",
        "<tt xmlns=\"http://www.w3.org/ns/ttml\"/>",
        long.as_str(),
        "é🎥",
        "0_zzzzzzzz",
        "99999999999999999999",
        "title",
        "created_at",
        "desc",
    ];
    let keys = [
        "id",
        "title",
        "user_entered_title",
        "context_code",
        "type",
        "media_type",
        "locale",
        "kind",
        "content",
        "media_tracks",
        "include_upload_config",
        "user",
    ];
    let queries = [
        "sort",
        "order",
        "per_page",
        "page",
        "exclude[]",
        "include[]",
        "include_upload_config",
        "context_code",
    ];
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    let ps2_actions = ["getuiconf", "upload", "addEntry", "addentry", "nope"];
    let ps2_names = [
        "filename",
        "Filename",
        "entry1_name",
        "entry1_filename",
        "entry1_realFilename",
        "entry1_partnerData",
        "entry1_mediaType",
        "entry1_tags",
        "entry1_conversionProfile",
        "ui_conf_id",
        "partner_id",
        "partnerId",
        "uid",
        "kshow_id",
        "quick_edit",
    ];
    // File ids the random uploads register (and addEntry consumes).
    let file_ids = ["clientFile1", "clientFile2", "clientFile3"];
    let (iters, mut r) = campaign(1500, 0x5eed_1234_abcd_0003);
    let mut answers = std::collections::BTreeMap::new();
    for i in 0..iters {
        if i % 100 == 99 {
            // Random calls delete and replace tracks: one more to aim at.
            let locale = ["en", "fr", "de", "es"][i / 100 % 4];
            tracks.extend(add_track(&g, &teacher, &entries[0], locale).await);
        }
        let (what, rb, ps2) = if r.next() % 10 < 7 {
            let (mut method, template) =
                CANVAS_PATHS[(r.next() % CANVAS_PATHS.len() as u64) as usize];
            if r.next() % 8 == 0 {
                method = r.pick(&methods);
            }
            let id = match r.next() % 4 {
                0 => r.pick(&strings).to_owned(),
                _ => entries[(r.next() % entries.len() as u64) as usize].clone(),
            };
            let track = &tracks[(r.next() % tracks.len() as u64) as usize];
            let mut path = template
                .replace("{id}", &form_encode(&id))
                .replace("{track}", track)
                .replace("{n}", r.pick(&["17", "0", "x", "99999999999999999999"]));
            let query = random_form(&mut r, 4, &queries, &strings);
            if !query.is_empty() {
                path = format!("{path}?{query}");
            }
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut rb = c.request(method.clone(), g.url(&path));
            let cred = r.pick(&credentials);
            if !cred.is_empty() {
                rb = rb.bearer_auth(cred);
            }
            rb = match r.next() % 5 {
                0 | 1 => rb
                    .header("Content-Type", "application/json")
                    .body(json_object(&mut r, &strings, &keys, 2).to_string()),
                2 => {
                    // Tracks as Canvas's PUT sends them: an array of objects.
                    let tracks: Vec<serde_json::Value> = (0..r.next() % 4)
                        .map(|_| json_object(&mut r, &strings, &keys, 1))
                        .collect();
                    rb.header("Content-Type", "application/json")
                        .body(serde_json::Value::from(tracks).to_string())
                }
                3 => rb
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(random_form(&mut r, 5, &keys, &strings)),
                _ => rb
                    .header(
                        "Content-Type",
                        r.pick(&["application/json", "text/plain", ""]),
                    )
                    .body(
                        r.pick(&["{", "[1,", "null", "\"x\"", "{\"id\":{\"$gt\":1}}", "\u{0}"])
                            .to_owned(),
                    ),
            };
            (format!("request {i}: {method} {path}"), rb, false)
        } else {
            let action = r.pick(&ps2_actions);
            let session = match r.next() % 6 {
                0..=2 => fresh_ks(r.pick(&["teacher1_1", "alice"]), 0, r.next()),
                3 => ks.clone(),
                4 => "djJ8MTIzNDV8".to_owned(),
                _ => String::new(),
            };
            let mut params: Vec<(String, String)> = Vec::new();
            if !session.is_empty() {
                params.push(("ks".into(), session));
            }
            for _ in 0..(r.next() % 6) {
                let v = match r.next() % 3 {
                    0 => r.pick(&file_ids),
                    _ => r.pick(&strings),
                };
                params.push((r.pick(&ps2_names).into(), v.into()));
            }
            let query = params
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let path = format!("/index.php/partnerservices2/{action}?{query}");
            let rb = if r.next() % 2 == 0 {
                c.get(g.url(&path))
            } else {
                let file = data((r.next() % 5000) as usize, r.next());
                let mut fields: Vec<(&str, Option<&str>, &[u8])> =
                    vec![("Filename", None, r.pick(&strings).as_bytes())];
                if r.next() % 4 != 0 {
                    fields.push((
                        "Filedata",
                        Some(r.pick(&["a.mp4", "", "../x", "é.mp3"])),
                        &file,
                    ));
                }
                c.post(g.url(&path))
                    .header("Content-Type", "multipart/form-data; boundary=ps2fuzz")
                    .body(multipart("ps2fuzz", &fields))
            };
            (format!("request {i}: PS2 {path}"), rb, true)
        };
        let resp = send_checked(rb, &what, false).await;
        let status = resp.status().as_u16();
        let ctype = header(&resp, "content-type").unwrap_or("").to_owned();
        let body = resp.text().await.unwrap_or_default();
        assert!(status < 500, "{what} → {status}: {body}");
        if ctype.starts_with("text/vtt") {
            // A track's file, served as Canvas does: only a track that exists.
            assert!(
                status == 200 && what.contains("GET /media_objects/") && body.starts_with("WEBVTT"),
                "{what} → {status} {ctype}: {body}"
            );
            *answers
                .entry("canvas 200 (a track's WebVTT)".into())
                .or_insert(0) += 1;
        } else if ps2 {
            assert!(body.starts_with("<?xml"), "{what} → {status}: {body}");
            let code = between(&body, "<code>", "</code>").unwrap_or("(result)");
            *answers.entry(format!("ps2 {code}")).or_insert(0) += 1;
        } else if !body.is_empty() {
            let v: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{what} → {status}: not JSON ({e}): {body}"));
            let msg = v["errors"][0]["message"].as_str().map(str::to_owned);
            *answers
                .entry(format!("canvas {status} {}", msg.unwrap_or_default()))
                .or_insert(0) += 1;
        } else {
            *answers
                .entry(format!("canvas {status} (empty)"))
                .or_insert(0) += 1;
        }
    }
    println!("answers: {answers:#?}");
    let r = c.get(g.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    g.shutdown().await;
}
