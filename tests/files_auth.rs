//! `--files-auth required`: every `/files/` request needs a KS (Bearer or `?ks=`); an
//! upload belongs to its creator; other users (and other partners) get 404; an ADMIN KS
//! of the same partner sees the partner's uploads; widget sessions cannot upload;
//! expired, forged and ended sessions get 401.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use upgate_proto::kaltura::ks::{mint_v1, mint_v2, KsFields};

fn ks(partner: i64, secret: &str, user: &str, t: i32, privileges: &str, expiry_in: i64) -> String {
    let f = KsFields {
        partner_id: partner,
        expiry: upgate::model::now_secs() as i64 + expiry_in,
        session_type: t,
        user: user.into(),
        privileges: privileges.into(),
    };
    mint_v2(secret, &f, [5; 16])
}

async fn create_as(c: &reqwest::Client, g: &Gateway, k: &str, len: u64) -> reqwest::Response {
    c.post(g.url("/files/"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string())
        .bearer_auth(k)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_ownership() {
    let g = Gateway::start_files_auth().await;
    let c = client();
    let alice = ks(PARTNER, ADMIN_SECRET, "alice", 0, "", 600);
    let bob = ks(PARTNER, ADMIN_SECRET, "bob", 0, "", 600);
    let admin = ks(PARTNER, ADMIN_SECRET, "ops", 2, "", 600);
    let other_admin = {
        let f = KsFields {
            partner_id: PARTNER_V1,
            expiry: upgate::model::now_secs() as i64 + 600,
            session_type: 2,
            user: "x".into(),
            privileges: String::new(),
        };
        mint_v1(ADMIN_SECRET_V1, &f, "1")
    };
    // No session, forged, expired, widget.
    let r = c
        .post(g.url("/files/"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        create_as(&c, &g, &ks(PARTNER, "wrong", "a", 0, "", 600), 5)
            .await
            .status(),
        401
    );
    assert_eq!(
        create_as(&c, &g, &ks(PARTNER, ADMIN_SECRET, "a", 0, "", -5), 5)
            .await
            .status(),
        401
    );
    assert_eq!(
        create_as(
            &c,
            &g,
            &ks(PARTNER, ADMIN_SECRET, "0", 0, "view:*,widget:1", 600),
            5
        )
        .await
        .status(),
        403
    );
    // Alice's upload.
    let r = create_as(&c, &g, &alice, 10).await;
    assert_eq!(r.status(), 201);
    let up = header(&r, "location").unwrap().to_owned();
    let patch_as = |k: String, offset: u64, body: &'static [u8]| {
        let c = c.clone();
        let url = g.url(&up);
        async move {
            c.patch(url)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", offset.to_string())
                .header("Content-Type", "application/offset+octet-stream")
                .bearer_auth(k)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(patch_as(alice.clone(), 0, b"01234").await, 204);
    // Bob and another partner's admin see nothing; the partner's admin may write.
    assert_eq!(patch_as(bob.clone(), 5, b"56789").await, 404);
    assert_eq!(patch_as(other_admin.clone(), 5, b"56789").await, 404);
    let head = |k: String| {
        let c = c.clone();
        let url = g.url(&up);
        async move {
            c.head(url)
                .header("Tus-Resumable", "1.0.0")
                .bearer_auth(k)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(head(bob.clone()).await, 404);
    assert_eq!(head(admin.clone()).await, 200);
    assert_eq!(patch_as(admin.clone(), 5, b"56789").await, 204);
    // Browsers may pass the KS in the query string; the owner downloads.
    let enc = upgate_proto::form::form_encode(&alice);
    let got = c
        .get(format!("{}?ks={enc}", g.url(&up)))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), b"0123456789");
    assert_eq!(c.get(g.url(&up)).send().await.unwrap().status(), 401);
    let r = c
        .delete(g.url(&up))
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // An ended session stops working.
    let r = c
        .get(format!(
            "{}/api_v3/service/session/action/end?ks={enc}",
            g.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(head(alice.clone()).await, 401);
    // OPTIONS needs no session.
    let r = c
        .request(reqwest::Method::OPTIONS, g.url("/files/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    g.shutdown().await;
}

/// A media entry's `downloadUrl` carries the caller's session, so it works where
/// `/files/` needs one; the bare URL does not, nor does it with another user's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_download_url_carries_the_session() {
    let g = Gateway::start_files_auth().await;
    let c = client();
    let alice = ks(PARTNER, ADMIN_SECRET, "alice", 0, "", 600);
    let bob = ks(PARTNER, ADMIN_SECRET, "bob", 0, "", 600);
    let api = |path: &str, k: &str| {
        format!(
            "{}/api_v3/service/{path}&format=1&ks={}",
            g.base,
            upgate_proto::form::form_encode(k)
        )
    };
    let get = |url: String| {
        let c = c.clone();
        async move {
            let t = c.get(url).send().await.unwrap().text().await.unwrap();
            serde_json::from_str::<serde_json::Value>(&t).unwrap()
        }
    };
    let tok = get(api(
        "uploadtoken/action/add?uploadToken:fileName=a.mp4",
        &alice,
    ))
    .await;
    let token = tok["id"].as_str().unwrap().to_owned();
    let body = data(300_000, 61);
    let mut form =
        b"--b\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"a.mp4\"\r\n\r\n"
            .to_vec();
    form.extend_from_slice(&body);
    form.extend_from_slice(b"\r\n--b--\r\n");
    let up = c
        .post(api(
            &format!("uploadtoken/action/upload?uploadTokenId={token}"),
            &alice,
        ))
        .header("Content-Type", "multipart/form-data; boundary=b")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 200);
    let entry = get(api(
        "media/action/add?entry:objectType=KalturaMediaEntry&entry:name=A&entry:mediaType=1",
        &alice,
    ))
    .await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let e = get(api(
        &format!("media/action/addContent?entryId={id}&resource:objectType=KalturaUploadedFileTokenResource&resource:token={token}"),
        &alice,
    ))
    .await;
    let url = e["downloadUrl"].as_str().unwrap().to_owned();
    let got = fetch(c.get(&url)).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
    let bare = url.split('?').next().unwrap();
    assert_eq!(c.get(bare).send().await.unwrap().status(), 401);
    let as_bob = c.get(bare).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(as_bob.status(), 404, "another user's file");
}
