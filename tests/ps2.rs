//! Canvas's uploader flow over the legacy partnerservices2 endpoints, exactly as spec §8
//! describes it: session.start (as Canvas calls it) → getuiconf → upload (whole file,
//! multipart `Filedata`) → addEntry → the entry is visible through media.get and
//! downloadable. Plus its bad inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

fn error_code(xml: &str) -> Option<String> {
    between(xml, "<error>", "</error>")
        .and_then(|e| between(e, "<code>", "</code>"))
        .map(str::to_owned)
}

async fn start_session(g: &Gateway, user: &str) -> String {
    let url = format!(
        "{}/api_v3/?service=session&action=start&secret={USER_SECRET}&partnerId={PARTNER}&userId={user}_1&type=0",
        g.base
    );
    let body = get_text(&url).await;
    between(&body, "<result>", "</result>").unwrap().to_owned()
}

fn enc(s: &str) -> String {
    upgate_proto::form::form_encode(s)
}

fn session_query(ks: &str, user: &str) -> String {
    format!("ks={}&subp_id={PARTNER}00&partner_id={PARTNER}&uid={user}_1&serverTime=1700000000&ui_conf_id=1&kalsig=ignored", enc(ks))
}

async fn upload(g: &Gateway, query: &str, file: Option<&[u8]>) -> String {
    let b = "----k5boundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"Filename\"\r\n\r\nweek3 lecture.mp4\r\n").as_bytes());
    if let Some(data) = file {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"Filedata\"; filename=\"week3 lecture.mp4\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"Upload\"\r\n\r\nSubmit Query\r\n--{b}--\r\n").as_bytes());
    let r = client()
        .post(format!(
            "{}/index.php/partnerservices2/upload?{query}",
            g.base
        ))
        .header("Content-Type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    r.text().await.unwrap()
}

async fn get(url: String) -> String {
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canvas_uploader_flow() {
    let g = Gateway::start().await;
    let ks = start_session(&g, "teacher").await;
    let q = session_query(&ks, "teacher");
    // getuiconf: limits and file filters inside the escaped confFile.
    let conf = get(format!(
        "{}/index.php/partnerservices2/getuiconf?{q}",
        g.base
    ))
    .await;
    assert!(
        conf.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><xml><result><ui_conf>"),
        "{conf}"
    );
    assert_eq!(error_code(&conf), None);
    let file = between(&conf, "<confFile>", "</confFile>").unwrap();
    assert!(
        file.contains("&lt;limits maxUploads=") && file.contains("fileFilter id=&quot;video&quot;"),
        "{file}"
    );
    // upload: the whole file in one request, under the client's file id.
    let data = data(3 * 1024 * 1024 + 5, 77);
    let up = upload(&g, &format!("{q}&filename=clientFile42"), Some(&data)).await;
    assert_eq!(error_code(&up), None, "{up}");
    let ok = between(&up, "<result_ok>", "</result_ok>").unwrap();
    assert_eq!(
        between(ok, "<filename>", "</filename>"),
        Some("clientFile42")
    );
    assert_eq!(
        between(ok, "<origFilename>", "</origFilename>"),
        Some("week3 lecture.mp4")
    );
    // addEntry with the same session.
    let add = format!(
        "{}/index.php/partnerservices2/addEntry?{q}&entry1_name=Week%203&entry1_filename=clientFile42&entry1_realFilename=week3%20lecture.mp4&entry1_partnerData=%7B%22context%22%3A%22course_7%22%7D&entry1_conversionProfile=0&entry1_source=1&kshow_id=-1&quick_edit=true",
        g.base
    );
    let entry = get(add.clone()).await;
    assert_eq!(error_code(&entry), None, "{entry}");
    assert_eq!(
        between(&entry, "<new_entry_count>", "</new_entry_count>"),
        Some("1")
    );
    let id = between(&entry, "<id>", "</id>").unwrap().to_owned();
    assert!(
        entry.contains("<partnerData>{&quot;context&quot;:&quot;course_7&quot;}</partnerData>"),
        "{entry}"
    );
    // The entry through API v3, and its file.
    let got = get(format!(
        "{}/api_v3/service/media/action/get?format=1&entryId={id}&ks={}",
        g.base,
        enc(&ks)
    ))
    .await;
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(
        (v["status"].as_i64(), v["name"].as_str()),
        (Some(2), Some("Week 3")),
        "{v}"
    );
    let bytes = fetch(client().get(v["downloadUrl"].as_str().unwrap())).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&data));
    // The file was consumed: a second addEntry fails.
    assert_eq!(
        error_code(&get(add).await).as_deref(),
        Some("INVALID_FILE_NAME")
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canvas_uploader_bad_inputs() {
    let g = Gateway::start().await;
    let ks = start_session(&g, "alice").await;
    let other = start_session(&g, "bob").await;
    let small = data(1000, 5);
    // No KS, a forged KS, an expired-looking garbage KS.
    let no_ks = upload(&g, "partner_id=12345&filename=f1", Some(&small)).await;
    assert_eq!(error_code(&no_ks).as_deref(), Some("MISSING_KS"));
    assert!(no_ks.contains("Missing KS. Session not established"));
    let bad = upload(&g, "ks=bm90LWEta3M%3D&filename=f1", Some(&small)).await;
    assert_eq!(error_code(&bad).as_deref(), Some("INVALID_KS"));
    assert!(bad.contains("Error [-1,INVALID_STR]"), "{bad}");
    // Missing Filedata.
    let missing = upload(
        &g,
        &format!("{}&filename=f1", session_query(&ks, "alice")),
        None,
    )
    .await;
    assert_eq!(
        error_code(&missing).as_deref(),
        Some("MANDATORY_PARAMETER_MISSING")
    );
    assert!(missing.contains("Mandatory parameter missing [Filedata]"));
    // addEntry with another session's file.
    let up = upload(
        &g,
        &format!("{}&filename=mine", session_query(&ks, "alice")),
        Some(&small),
    )
    .await;
    assert_eq!(error_code(&up), None, "{up}");
    let steal = get(format!(
        "{}/index.php/partnerservices2/addentry?{}&entry1_filename=mine&entry1_name=x",
        g.base,
        session_query(&other, "bob")
    ))
    .await;
    assert_eq!(error_code(&steal).as_deref(), Some("INVALID_FILE_NAME"));
    // Unknown action; CORS preflight.
    let unknown = get(format!(
        "{}/index.php/partnerservices2/nosuch?{}",
        g.base,
        session_query(&ks, "alice")
    ))
    .await;
    assert_eq!(
        error_code(&unknown).as_deref(),
        Some("SERVICE_DOES_NOT_EXISTS")
    );
    let r = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/index.php/partnerservices2/upload", g.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    g.shutdown().await;
}
