//! The media catalog from a hostile user's side: oversized properties, too many
//! collaborators, another partner's user with the same name, a co-editor taking
//! ownership, an ordinary user setting admin tags. (The official client's flows for
//! metadata, collaborators and filters are in `tests/py/kaltura_flows.py`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use upgate_proto::form::form_encode;
use upgate_proto::kaltura::ks::{mint_v1, KsFields};

fn code(body: &str) -> Option<String> {
    between(body, "<code>", "</code>").map(str::to_owned)
}

async fn call(g: &Gateway, rest: &str) -> String {
    get_text(&g.url(&format!("/api_v3/service/{rest}"))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_refuses_what_it_should() {
    let g = Gateway::start().await;
    let alice = form_encode(&user_ks("alice", 0));
    let bob = form_encode(&user_ks("bob", 0));
    let add = |extra: &str| {
        format!("media/action/add?ks={alice}&entry:objectType=KalturaMediaEntry&entry:mediaType=1{extra}")
    };
    // Oversized properties and too many collaborators: refused, nothing stored.
    let long = "n".repeat(257);
    let body = call(&g, &add(&format!("&entry:name={long}"))).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PROPERTY_VALIDATION_MAX_LENGTH"),
        "{body}"
    );
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let body = call(
        &g,
        &add(&format!(
            "&entry:name=x&entry:entitledUsersEdit={}",
            many.join(",")
        )),
    )
    .await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PROPERTY_VALIDATION_MAX_LENGTH"),
        "{body}"
    );
    let listed = call(&g, &format!("media/action/list?ks={alice}")).await;
    assert!(listed.contains("<totalCount>0</totalCount>"), "{listed}");
    // Admin tags are for admin sessions.
    let body = call(&g, &add("&entry:name=x&entry:adminTags=zoomentry")).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PROPERTY_VALIDATION_ADMIN_PROPERTY"),
        "{body}"
    );
    // A shared entry: bob co-edits, cannot take it over or re-share it.
    let body = call(
        &g,
        &add("&entry:name=Shared&entry:entitledUsersEdit=%20bob%20,bob,"),
    )
    .await;
    assert_eq!(code(&body), None, "{body}");
    assert!(
        body.contains("<entitledUsersEdit>bob</entitledUsersEdit>"),
        "trimmed, once: {body}"
    );
    let id = between(&body, "<id>", "</id>").unwrap().to_owned();
    let update = |ks: &str, props: &str| {
        format!("media/action/update?ks={ks}&entryId={id}&mediaEntry:objectType=KalturaMediaEntry{props}")
    };
    let body = call(&g, &update(&bob, "&mediaEntry:userId=bob")).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PROPERTY_VALIDATION_NOT_UPDATABLE"),
        "{body}"
    );
    let body = call(&g, &update(&bob, "&mediaEntry:entitledUsersPublish=bob")).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PROPERTY_VALIDATION_NOT_UPDATABLE"),
        "{body}"
    );
    let body = call(&g, &update(&bob, "&mediaEntry:name=Renamed%20by%20bob")).await;
    assert_eq!(code(&body), None, "{body}");
    // "bob" of another partner is not this partner's bob.
    let other = mint_v1(
        ADMIN_SECRET_V1,
        &KsFields {
            partner_id: PARTNER_V1,
            expiry: upgate::model::now_secs() as i64 + 600,
            session_type: 0,
            user: "bob".into(),
            privileges: String::new(),
        },
        "7",
    );
    let other = form_encode(&other);
    let body = call(&g, &format!("media/action/get?ks={other}&entryId={id}")).await;
    assert_eq!(code(&body).as_deref(), Some("ENTRY_ID_NOT_FOUND"), "{body}");
    let body = call(&g, &format!("media/action/list?ks={other}")).await;
    assert!(body.contains("<totalCount>0</totalCount>"), "{body}");
    // Names come back escaped in every format.
    let body = call(
        &g,
        &update(&alice, "&mediaEntry:name=%3Cscript%3Ex%3C%2Fscript%3E"),
    )
    .await;
    assert!(
        body.contains("<name>&lt;script&gt;x&lt;/script&gt;</name>"),
        "{body}"
    );
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn galleries_stay_inside_their_partner() {
    let g = Gateway::start().await;
    let admin = form_encode(&user_ks("admin", 2));
    let alice = form_encode(&user_ks("alice", 0));
    let bob = form_encode(&user_ks("bob", 0));
    let body = call(&g, &format!("category/action/add?ks={admin}&category:objectType=KalturaCategory&category:name=Course")).await;
    let cat = between(&body, "<id>", "</id>").unwrap().to_owned();
    for bad in ["a%3Eb".to_owned(), "n".repeat(257)] {
        let body = call(&g, &format!("category/action/add?ks={admin}&category:objectType=KalturaCategory&category:name={bad}")).await;
        assert_eq!(
            code(&body).as_deref(),
            Some("PROPERTY_VALIDATION_MAX_LENGTH"),
            "{body}"
        );
    }
    let body = call(&g, &format!("category/action/add?ks={admin}&category:objectType=KalturaCategory&category:name=x&category:parentId=999")).await;
    assert_eq!(code(&body).as_deref(), Some("CATEGORY_NOT_FOUND"), "{body}");
    // Another partner's admin: not found, cannot publish there.
    let other = mint_v1(
        ADMIN_SECRET_V1,
        &KsFields {
            partner_id: PARTNER_V1,
            expiry: upgate::model::now_secs() as i64 + 600,
            session_type: 2,
            user: "admin".into(),
            privileges: String::new(),
        },
        "9",
    );
    let other = form_encode(&other);
    let body = call(&g, &format!("category/action/get?ks={other}&id={cat}")).await;
    assert_eq!(code(&body).as_deref(), Some("CATEGORY_NOT_FOUND"), "{body}");
    let body = call(&g, &format!("category/action/list?ks={other}")).await;
    assert!(body.contains("<totalCount>0</totalCount>"), "{body}");
    // A co-editor cannot publish through media.update either; a widget session at all.
    let body = call(&g, &format!("media/action/add?ks={alice}&entry:objectType=KalturaMediaEntry&entry:mediaType=1&entry:name=E&entry:entitledUsersEdit=bob")).await;
    let id = between(&body, "<id>", "</id>").unwrap().to_owned();
    let body = call(&g, &format!("media/action/update?ks={bob}&entryId={id}&mediaEntry:objectType=KalturaMediaEntry&mediaEntry:categoriesIds={cat}")).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PROPERTY_VALIDATION_NOT_UPDATABLE"),
        "{body}"
    );
    let widget = form_encode(&upgate_proto::kaltura::ks::mint_v2(
        ADMIN_SECRET,
        &KsFields {
            partner_id: PARTNER,
            expiry: upgate::model::now_secs() as i64 + 600,
            session_type: 0,
            user: String::new(),
            privileges: "widget:1,view:*".into(),
        },
        [1; 16],
    ));
    let body = call(&g, &format!("categoryEntry/action/add?ks={widget}&categoryEntry:objectType=KalturaCategoryEntry&categoryEntry:categoryId={cat}&categoryEntry:entryId={id}")).await;
    assert_eq!(code(&body).as_deref(), Some("SERVICE_FORBIDDEN"), "{body}");
    g.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captions_are_bounded_and_served_as_text() {
    let g = Gateway::start().await;
    let alice = form_encode(&user_ks("alice", 0));
    let body = call(&g, &format!("media/action/add?ks={alice}&entry:objectType=KalturaMediaEntry&entry:mediaType=1&entry:name=E")).await;
    let entry = between(&body, "<id>", "</id>").unwrap().to_owned();
    let add = format!("caption_captionasset/action/add?ks={alice}&entryId={entry}&captionAsset:objectType=KalturaCaptionAsset&captionAsset:language=English");
    let body = call(&g, &add).await;
    let id = between(&body, "<id>", "</id>").unwrap().to_owned();
    // Huge content: refused, and said so.
    let huge = format!(
        "1\n00:00:00,000 --> 00:00:01,000\n{}\n",
        "x".repeat(1 << 20)
    );
    let r = post_form(
        &g.url("/api_v3/service/caption_captionasset/action/setContent"),
        format!(
            "ks={alice}&id={id}&contentResource:objectType=KalturaStringResource&contentResource:content={}",
            form_encode(&huge)
        ),
    )
    .await;
    assert_eq!(
        code(&r).as_deref(),
        Some("UPLOAD_ERROR"),
        "a 1 MiB+ form is over the form limit: {r}"
    );
    let big = format!("1\n00:00:00,000 --> 00:00:01,000\n{}\n", "x".repeat(1000));
    let mut text = String::new();
    while text.len() <= 1 << 20 {
        text.push_str(&big);
    }
    let r = client()
        .post(g.url("/api_v3/service/caption_captionasset/action/setContent"))
        .header("Content-Type", "application/json")
        .body(serde_json::json!({"ks": user_ks("alice", 0), "id": id, "contentResource": {"objectType": "KalturaStringResource", "content": text}}).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(code(&r).is_some(), "refused: {r}");
    // Script in a caption: served as captions, never as HTML.
    let evil = "1\n00:00:00,000 --> 00:00:01,000\n<script>alert(1)</script>\n";
    let r = call(&g, &format!("caption_captionasset/action/setContent?ks={alice}&id={id}&contentResource:objectType=KalturaStringResource&contentResource:content={}", form_encode(evil))).await;
    assert_eq!(code(&r), None, "{r}");
    let r = client()
        .get(g.url(&format!(
            "/api_v3/service/caption_captionasset/action/serve?ks={alice}&captionAssetId={id}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/x-subrip; charset=utf-8"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.text().await.unwrap(), evil);
    // At most 50 captions per entry.
    for _ in 1..50 {
        assert_eq!(code(&call(&g, &add).await), None);
    }
    let body = call(&g, &add).await;
    assert_eq!(
        code(&body).as_deref(),
        Some("CAPTION_ASSETS_LIMIT"),
        "{body}"
    );
    // Another user: the caption is not there.
    let bob = form_encode(&user_ks("bob", 0));
    let body = call(
        &g,
        &format!("caption_captionasset/action/get?ks={bob}&captionAssetId={id}"),
    )
    .await;
    assert_eq!(
        code(&body).as_deref(),
        Some("CAPTION_ASSET_ID_NOT_FOUND"),
        "{body}"
    );
    g.shutdown().await;
}
