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
