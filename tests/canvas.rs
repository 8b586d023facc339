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

/// Makes an API token for `user` through the admin API.
async fn api_token(g: &Gateway, user: &str) -> String {
    let r = client()
        .post(g.url("/admin/tokens"))
        .bearer_auth(user_ks("admin", 2))
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "user": user }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = body_json(r).await;
    v["token"].as_str().unwrap().to_owned()
}

/// An entry of Kaltura user `user` with a finished 11-byte file, made through the
/// Kaltura API as Canvas's uploader would; returns its id.
async fn entry_of(g: &Gateway, user: &str, name: &str) -> String {
    let ks = upgate_proto::form::form_encode(&user_ks(user, 0));
    let get = |rest: String| async move {
        client()
            .get(g.url(&format!("/api_v3/service/{rest}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
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
