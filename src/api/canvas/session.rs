//! `POST /api/v1/services/kaltura_session`: a USER KS for the token's user
//! (`<user>_<root account>`), and with `include_upload_config=1` the uploader's URLs
//! pointing at upgate's PS2 endpoints.

use http::request::Parts;
use http::StatusCode;

use super::{CanvasApi, CanvasError};
use crate::api::json::{body_fields, json};
use crate::auth::tokens::TokenRecord;
use crate::auth::Partner;
use crate::model::now_secs;
use crate::server::{HyperBody, Resp};

pub async fn start(
    api: &CanvasApi,
    head: &Parts,
    body: &mut HyperBody,
    token: &TokenRecord,
    partner: Option<&Partner>,
) -> Result<Resp, CanvasError> {
    let Some(p) = partner else {
        return Err(CanvasError::NotFound("Kaltura is not enabled"));
    };
    let (proto, host) = crate::api::origin_of(&head.headers);
    let mut fields = body_fields(&head.headers, body)
        .await
        .ok_or(CanvasError::TooLarge)?;
    fields.extend(
        head.uri
            .query()
            .map(upgate_proto::form::parse_query)
            .unwrap_or_default(),
    );
    let upload_config = fields
        .iter()
        .any(|(k, v)| k == "include_upload_config" && (v == "1" || v == "true"));
    let uid = format!("{}_{}", token.user, api.root_account);
    let now = now_secs() as i64;
    let fields_ks = upgate_proto::kaltura::ks::KsFields {
        partner_id: p.id,
        expiry: now + 86_400,
        session_type: 0,
        user: uid.clone(),
        privileges: String::new(),
    };
    let ks = crate::auth::mint(p, &fields_ks);
    let mut v = serde_json::json!({
        "ks": ks,
        "subp_id": format!("{}00", p.id),
        "partner_id": p.id.to_string(),
        "uid": uid,
        "serverTime": now,
    });
    if upload_config {
        let base = format!("{proto}://{host}/index.php/partnerservices2");
        v["kaltura_setting"] = serde_json::json!({
            "uploadUrl": format!("{base}/upload"),
            "entryUrl": format!("{base}/addEntry"),
            "uiconfUrl": format!("{base}/getuiconf"),
            "partner_data": { "root_account_id": api.root_account, "sis_source_id": null, "sis_user_id": token.user },
            "max_file_size_bytes": api.gate.service.config().max_upload_size,
            "domain": host,
            "resource_domain": host,
            "rtmp_domain": host,
            "partner_id": p.id.to_string(),
            "subpartner_id": format!("{}00", p.id),
        });
    }
    Ok(json(StatusCode::OK, &v))
}
