//! The Canvas-facing services API with API tokens created by `upgate token` through a
//! running gateway process (the embedded state store is held open by it), then the
//! Canvas flow: kaltura_session with include_upload_config → the PS2 URLs it names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;

fn token_cmd(base: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_upgate"))
        .arg("token")
        .args(args)
        .args([
            "--url",
            base,
            "--partner-id",
            "12345",
            "--secret",
            ADMIN_SECRET,
        ])
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_api_with_api_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let gw = ChildGateway::start(
        dir.path(),
        &["--partner", &partner, "--lms-root-account", "7"],
    );
    let base = gw.base.clone();
    let b2 = base.clone();
    let out =
        tokio::task::spawn_blocking(move || token_cmd(&b2, &["create", "--user", "teacher1"]))
            .await
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.starts_with("upg_"), "{token}");
    let c = client();
    // Configuration.
    let r = c
        .get(format!("{base}/api/v1/services/kaltura"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        (v["enabled"].as_bool(), v["partner_id"].as_str()),
        (Some(true), Some("12345"))
    );
    // A session with the upload configuration.
    let r = c
        .post(format!(
            "{base}/api/v1/services/kaltura_session?include_upload_config=1"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["uid"], "teacher1_7");
    assert_eq!(v["partner_id"], "12345");
    let ks = v["ks"].as_str().unwrap().to_owned();
    let setting = &v["kaltura_setting"];
    let upload_url = setting["uploadUrl"].as_str().unwrap();
    assert!(
        upload_url.ends_with("/index.php/partnerservices2/upload"),
        "{setting}"
    );
    assert!(setting["uiconfUrl"]
        .as_str()
        .unwrap()
        .ends_with("/getuiconf"));
    assert!(setting["max_file_size_bytes"].as_u64().unwrap() > 0);
    // The KS is a USER session of that user: it works on the Kaltura API.
    let r = c
        .get(format!(
            "{base}/api_v3/service/session/action/get?format=1&ks={}",
            upgate_proto::form::form_encode(&ks)
        ))
        .send()
        .await
        .unwrap();
    let s: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        (s["userId"].as_str(), s["sessionType"].as_i64()),
        (Some("teacher1_7"), Some(0))
    );
    let ui = format!(
        "{}?ks={}",
        setting["uiconfUrl"].as_str().unwrap(),
        upgate_proto::form::form_encode(&ks)
    );
    let conf = c.get(ui).send().await.unwrap();
    assert!(conf.text().await.unwrap().contains("<confFile>"));
    // Bad tokens; list; revoke.
    let r = c
        .get(format!("{base}/api/v1/services/kaltura"))
        .bearer_auth("upg_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!("{base}/api/v1/services/kaltura"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b2 = base.clone();
    let list = tokio::task::spawn_blocking(move || token_cmd(&b2, &["list"]))
        .await
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed[0]["user"], "teacher1");
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&token),
        "tokens are never listed"
    );
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let b2 = base.clone();
    let out = tokio::task::spawn_blocking(move || token_cmd(&b2, &["revoke", &id]))
        .await
        .unwrap();
    assert!(out.status.success());
    let r = c
        .get(format!("{base}/api/v1/services/kaltura"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Only ADMIN sessions manage tokens.
    let user_ks = upgate_proto::kaltura::ks::mint_v2(
        ADMIN_SECRET,
        &upgate_proto::kaltura::ks::KsFields {
            partner_id: PARTNER,
            expiry: upgate::model::now_secs() as i64 + 60,
            session_type: 0,
            user: "u".into(),
            privileges: String::new(),
        },
        [3; 16],
    );
    let r = c
        .get(format!("{base}/admin/tokens"))
        .bearer_auth(&user_ks)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // CORS preflight.
    let r = c
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/api/v1/services/kaltura_session"),
        )
        .header("Origin", "https://canvas.example.edu")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Authorization"));
}

/// The body of `r` as JSON.
async fn body_json<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> T {
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

trait ParseJson {
    fn parse_json<T: serde::de::DeserializeOwned>(&self) -> T;
}

impl ParseJson for String {
    fn parse_json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(self).unwrap_or_else(|e| panic!("{e}: {self}"))
    }
}

/// An entry of Kaltura user `user` with a finished 11-byte file, made through the
/// Kaltura API as Canvas's uploader would; returns its id.
async fn entry_of(g: &Gateway, user: &str, name: &str) -> String {
    let ks = upgate_proto::form::form_encode(&user_ks(user, 0));
    let get =
        |rest: String| async move { get_text(&g.url(&format!("/api_v3/service/{rest}"))).await };
    let body = get(format!("media/action/add?ks={ks}&entry:objectType=KalturaMediaEntry&entry:mediaType=1&entry:name={name}")).await;
    between(&body, "<id>", "</id>").unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_objects_and_tracks() {
    let g = Gateway::start().await;
    let teacher = api_token(&g, "teacher1").await;
    let student = api_token(&g, "student2").await;
    // The token's Kaltura user is `<user>_<root account>` (root account 1 here).
    let e1 = entry_of(&g, "teacher1_1", "Week%202").await;
    let e2 = entry_of(&g, "teacher1_1", "week%201").await;
    let c = client();
    let send = |m: reqwest::Method, path: &str, token: &str| {
        c.request(m, g.url(path)).bearer_auth(token.to_owned())
    };
    // Canvas records the object with its course after the upload.
    let long = "Z".repeat(300);
    let r = send(reqwest::Method::POST, "/media_objects", &teacher)
        .header("Content-Type", "application/json")
        .body(serde_json::json!({"id": e1, "context_code": "course_17", "type": "video", "title": "x", "user_entered_title": long}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let o: serde_json::Value = body_json(r).await;
    assert_eq!(
        o["user_entered_title"].as_str().unwrap().len(),
        255,
        "cut at 255"
    );
    for key in [
        "can_add_captions",
        "user_entered_title",
        "title",
        "media_id",
        "media_type",
        "media_tracks",
        "media_sources",
    ] {
        assert!(o.get(key).is_some(), "{key} missing in {o}");
    }
    assert_eq!(o["media_type"], "video");
    assert_eq!(o["can_add_captions"], true);
    // The user's own objects, sorted by title, paginated with Link headers.
    let r = send(
        reqwest::Method::GET,
        "/api/v1/media_objects?sort=title&order=asc&per_page=1&exclude[]=sources&exclude[]=tracks",
        &teacher,
    )
    .send()
    .await
    .unwrap();
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains("rel=\"next\"") && link.contains("per_page=1"),
        "{link}"
    );
    let page: Vec<serde_json::Value> = body_json(r).await;
    assert_eq!(page.len(), 1);
    assert_eq!(
        page[0]["media_id"],
        e2.as_str(),
        "`week 1` sorts before the long title"
    );
    assert!(page[0].get("media_tracks").is_none(), "excluded");
    // The course's objects: e1 only; a student sees the course, not the teacher's list.
    let course: Vec<serde_json::Value> = send(
        reqwest::Method::GET,
        "/api/v1/courses/17/media_objects",
        &student,
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap()
    .parse_json();
    assert_eq!(course.len(), 1);
    assert_eq!(course[0]["media_id"], e1.as_str());
    assert_eq!(course[0]["can_add_captions"], false);
    let mine: Vec<serde_json::Value> =
        send(reqwest::Method::GET, "/api/v1/media_objects", &student)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .parse_json();
    assert!(mine.is_empty());
    // Tracks: PUT replaces the set; SRT in, WebVTT out.
    let tracks = format!(
        "/api/v1/media_objects/{e1}/media_tracks?include[]=content&include[]=webvtt_content"
    );
    let put = |body: serde_json::Value, token: &str| {
        send(reqwest::Method::PUT, &tracks, token)
            .header("Content-Type", "application/json")
            .body(body.to_string())
    };
    let srt = "1\r\n0:00:00,000 --> 00:00:01,251\r\nThis is the content\r\n";
    let r = put(serde_json::json!([{"locale": "af", "kind": "captions", "content": srt}, {"locale": "es", "content": "1\n00:00:01,000 --> 00:00:02,000\nHola\n"}]), &teacher)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Vec<serde_json::Value> = body_json(r).await;
    assert_eq!(list.len(), 2);
    let af = list.iter().find(|t| t["locale"] == "af").unwrap();
    assert_eq!(af["kind"], "captions");
    assert_eq!(af["content"], srt);
    assert_eq!(
        af["webvtt_content"],
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.251\nThis is the content\n"
    );
    // Listed without content: untouched; not listed: deleted.
    let list: Vec<serde_json::Value> = put(serde_json::json!([{"locale": "af"}]), &teacher)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse_json();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["content"], srt);
    // The track for players: WebVTT.
    let id = list[0]["id"].as_u64().unwrap();
    let r = send(
        reqwest::Method::GET,
        &format!("/media_objects/{e1}/media_tracks/{id}"),
        &student,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.headers()["content-type"], "text/vtt; charset=utf-8");
    assert!(r.text().await.unwrap().starts_with("WEBVTT\n\n"));
    // Bad input, each refused with a clear 4xx.
    for (body, why) in [
        (
            serde_json::json!([{"locale": "en", "content": "<tt xmlns='http://www.w3.org/ns/ttml'/>"}]),
            "TTML",
        ),
        (
            serde_json::json!([{"locale": "en", "content": "not captions"}]),
            "malformed SRT",
        ),
        (
            serde_json::json!([{"locale": "en", "kind": "karaoke", "content": srt}]),
            "kind",
        ),
        (
            serde_json::json!([{"locale": "e n", "content": srt}]),
            "locale",
        ),
        (
            serde_json::json!([{"locale": "en", "content": srt}, {"locale": "en", "content": srt}]),
            "a locale twice",
        ),
        (
            serde_json::json!((0..10_000)
                .map(|i| serde_json::json!({"locale": format!("x{i}")}))
                .collect::<Vec<_>>()),
            "10,000 tracks",
        ),
        (serde_json::json!({"locale": "en"}), "not an array"),
    ] {
        let r = put(body, &teacher).send().await.unwrap();
        assert_eq!(r.status(), 400, "{why}: {}", r.text().await.unwrap());
    }
    // Another user's objects: not found, whatever they try.
    let r = put(serde_json::json!([]), &student).send().await.unwrap();
    assert_eq!(
        r.status(),
        403,
        "the student sees the course's object but may not edit it"
    );
    let r = send(
        reqwest::Method::PUT,
        &format!("/api/v1/media_objects/{e2}"),
        &student,
    )
    .header("Content-Type", "application/json")
    .body(serde_json::json!({"user_entered_title": "mine now"}).to_string())
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 404, "a private object looks missing");
    let r = send(
        reqwest::Method::DELETE,
        &format!("/media_objects/{e1}/media_tracks/{id}"),
        &student,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // The same track through the Kaltura caption API.
    let ks = upgate_proto::form::form_encode(&user_ks("teacher1_1", 0));
    let body = client()
        .get(g.url(&format!(
            "/api_v3/service/caption_captionasset/action/list?ks={ks}&filter:entryIdEqual={e1}"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<languageCode>af</languageCode>"), "{body}");
    // No token, no media.
    let r = c.get(g.url("/api/v1/media_objects")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    g.shutdown().await;
}

/// An ISO-BMFF box.
fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// A full box (version 0, `flags`).
fn mp4_full(kind: &[u8; 4], flags: u32, body: &[u8]) -> Vec<u8> {
    let mut b = flags.to_be_bytes().to_vec();
    b.extend_from_slice(body);
    mp4_box(kind, &b)
}

/// A small MP4: a 640×360 video track of 10 s (timescale 1000), `mdat` of `payload` bytes.
fn tiny_mp4(payload: usize) -> Vec<u8> {
    let be = |v: u32| v.to_be_bytes();
    let matrix: Vec<u8> = [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let mut mvhd = Vec::new();
    for v in [0, 0, 1000, 10_000, 0x0001_0000] {
        mvhd.extend_from_slice(&be(v));
    }
    mvhd.extend_from_slice(&[1, 0]);
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&matrix);
    mvhd.extend_from_slice(&[0; 24]);
    mvhd.extend_from_slice(&be(2));
    let mut tkhd = Vec::new();
    for v in [0, 0, 1, 0, 10_000] {
        tkhd.extend_from_slice(&be(v));
    }
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&[0; 8]); // layer, group, volume, reserved
    tkhd.extend_from_slice(&matrix);
    tkhd.extend_from_slice(&be(640 << 16));
    tkhd.extend_from_slice(&be(360 << 16));
    let mut mdhd = Vec::new();
    for v in [0, 0, 1000, 10_000] {
        mdhd.extend_from_slice(&be(v));
    }
    mdhd.extend_from_slice(&[0x55, 0xc4, 0, 0]);
    let mut hdlr = vec![0; 4];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0; 12]);
    hdlr.push(0);
    let empty_table = be(0);
    let stbl = [
        mp4_full(b"stsd", 0, &empty_table),
        mp4_full(b"stts", 0, &empty_table),
        mp4_full(b"stsc", 0, &empty_table),
        mp4_full(b"stsz", 0, &[0; 8]),
        mp4_full(b"stco", 0, &empty_table),
    ]
    .concat();
    let minf = [
        mp4_full(b"vmhd", 1, &[0; 8]),
        mp4_box(
            b"dinf",
            &mp4_full(
                b"dref",
                0,
                &[&be(1)[..], &mp4_full(b"url ", 1, &[])].concat(),
            ),
        ),
        mp4_box(b"stbl", &stbl),
    ]
    .concat();
    let mdia = [
        mp4_full(b"mdhd", 0, &mdhd),
        mp4_full(b"hdlr", 0, &hdlr),
        mp4_box(b"minf", &minf),
    ]
    .concat();
    let trak = [mp4_full(b"tkhd", 3, &tkhd), mp4_box(b"mdia", &mdia)].concat();
    let moov = [mp4_full(b"mvhd", 0, &mvhd), mp4_box(b"trak", &trak)].concat();
    let mut ftyp = b"isom".to_vec();
    ftyp.extend_from_slice(&be(512));
    ftyp.extend_from_slice(b"isomiso2mp41");
    // mdat first, moov last (a camera's file that is not "fast start").
    [
        mp4_box(b"ftyp", &ftyp),
        mp4_box(b"mdat", &vec![7u8; payload]),
        mp4_box(b"moov", &moov),
    ]
    .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_sources_read_from_the_file_and_download_with_ranges() {
    let g = Gateway::start().await;
    let teacher = api_token(&g, "teacher1").await;
    let file = tiny_mp4(200_000);
    // Upload it through the Kaltura API as the teacher's uploader would.
    let ks = user_ks("teacher1_1", 0);
    let enc = |s: &str| upgate_proto::form::form_encode(s);
    let get = |rest: String| {
        let url = g.url(&format!("/api_v3/service/{rest}"));
        async move { String::from_utf8_lossy(&fetch(client().get(url)).await).into_owned() }
    };
    let body = get(format!("uploadtoken/action/add?ks={}", enc(&ks))).await;
    let token = between(&body, "<id>", "</id>").unwrap().to_owned();
    let b = "mp4b";
    let r = client()
        .post(g.url("/api_v3/service/uploadtoken/action/upload"))
        .header("Content-Type", format!("multipart/form-data; boundary={b}"))
        .body(multipart(
            b,
            &[
                ("ks", None, ks.as_bytes()),
                ("uploadTokenId", None, token.as_bytes()),
                ("fileData", Some("week1.mp4"), &file),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<status>2</status>"));
    let entry = entry_of(&g, "teacher1_1", "Week%201").await;
    let body = get(format!(
        "media/action/addContent?ks={}&entryId={entry}&resource:objectType=KalturaUploadedFileTokenResource&resource:token={token}",
        enc(&ks)
    ))
    .await;
    assert!(body.contains("<status>2</status>"), "{body}");
    // The header is read once, in the background, after completion.
    let mut info = None;
    for _ in 0..100 {
        info = g
            .service
            .peek(&token)
            .await
            .unwrap()
            .and_then(|r| r.media());
        if info.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let info = info.expect("the MP4 header was read");
    assert_eq!(
        (info.width, info.height, info.duration_ms),
        (640, 360, 10_000)
    );
    assert_eq!(
        (info.content_type.as_str(), info.container.as_str()),
        ("video/mp4", "isom")
    );
    assert_eq!(info.bitrate_kbps, file.len() as u64 * 8 / 10_000);
    // Canvas's media object lists the source with those figures and Kaltura's URL form.
    let objects: Vec<serde_json::Value> = body_json(
        client()
            .get(g.url("/api/v1/media_objects"))
            .bearer_auth(&teacher)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let src = &objects[0]["media_sources"][0];
    assert_eq!(src["width"], "640");
    assert_eq!(src["height"], "360");
    assert_eq!(src["containerFormat"], "isom");
    assert_eq!(src["content_type"], "video/mp4");
    assert_eq!(src["isOriginal"], "1");
    assert_eq!(src["size"], (file.len() as u64).div_ceil(1024).to_string());
    let url = src["url"].as_str().unwrap().to_owned();
    assert!(
        url.contains(&format!(
            "/p/{PARTNER}/sp/{PARTNER}00/download/entry_id/{entry}/"
        )),
        "{url}"
    );
    // The URL serves the file, with ranges.
    let r = client()
        .get(&url)
        .header("Range", "bytes=0-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &file[..8]);
    assert_eq!(fetch(client().get(&url)).await, file);
    // That session downloads this entry only; another user's session sees nothing.
    let other = get(format!(
        "media/action/add?ks={}&entry:objectType=KalturaMediaEntry&entry:mediaType=1&entry:name=O",
        enc(&user_ks("teacher1_1", 0))
    ))
    .await;
    let other = between(&other, "<id>", "</id>").unwrap().to_owned();
    let stolen = url.replace(&entry, &other);
    let body = String::from_utf8_lossy(
        &client()
            .get(&stolen)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .into_owned();
    assert!(body.contains("ENTRY_ID_NOT_FOUND"), "{body}");
    let mallory = enc(&user_ks("mallory", 0));
    let ks_part = url
        .split("/ks/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let body = String::from_utf8_lossy(
        &client()
            .get(url.replace(&ks_part, &mallory))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .into_owned();
    assert!(body.contains("ENTRY_ID_NOT_FOUND"), "{body}");
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp3_and_unknown_files_are_described_or_left_alone() {
    let g = Gateway::start().await;
    let c = client();
    // 200 frames of MPEG1 Layer III at 128 kbit/s, 44.1 kHz: 83,400 bytes, 5.2 s.
    let mut mp3 = Vec::new();
    for _ in 0..200 {
        let mut f = vec![0xFF, 0xFB, 0x90, 0x00];
        f.resize(417, 0);
        mp3.extend(f);
    }
    for (data, want) in [
        (mp3.clone(), Some(("mp3", "audio/mpeg"))),
        (data(100_000, 9), None),
    ] {
        let id = create(&c, &g.base, data.len() as u64).await;
        let r = patch(&c, &g.base, &id, 0, data.clone()).await;
        assert_eq!(r.status(), 204);
        let id = id.trim_start_matches("/files/").to_owned();
        let mut info = None;
        for _ in 0..50 {
            info = g.service.peek(&id).await.unwrap().and_then(|r| r.media());
            if info.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        match want {
            Some((container, ctype)) => {
                let info = info.expect("described");
                assert_eq!(
                    (info.container.as_str(), info.content_type.as_str()),
                    (container, ctype)
                );
                assert_eq!(info.duration_ms, 83_400 * 8 / 128);
                assert_eq!(info.bitrate_kbps, 128);
            }
            None => assert!(info.is_none(), "random bytes are not described: {info:?}"),
        }
    }
    g.shutdown().await;
}
