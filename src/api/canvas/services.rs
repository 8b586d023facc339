//! `GET /api/v1/services/kaltura` and `POST /api/v1/services/kaltura_session`, as
//! Canvas's ServicesApiController answers them, for the holder of an API token.

use http::StatusCode;

use super::{body_fields, json, problem, CanvasApi};
use crate::core::record::now_secs;
use crate::server::{Req, Resp};

pub async fn handle(api: &CanvasApi, req: Req) -> Resp {
    let Some(token) = api.token_user(req.headers()).await else {
        return problem(StatusCode::UNAUTHORIZED, "Invalid access token.");
    };
    let subject = crate::ratelimit::Subject::User {
        partner: token.partner,
        user: token.user.clone(),
    };
    if let Err(d) = api.limits.admit(&subject).await {
        return crate::api::limit::too_many(d);
    }
    let (proto, host) = crate::api::origin_of(&req);
    let partner = api
        .partner
        .filter(|p| *p == token.partner)
        .and_then(|p| api.partners.get(p));
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/api/v1/services/kaltura") => match partner {
            None => json(StatusCode::OK, &serde_json::json!({ "enabled": false })),
            Some(p) => json(
                StatusCode::OK,
                &serde_json::json!({
                    "enabled": true,
                    "domain": host,
                    "resource_domain": host,
                    "rtmp_domain": host,
                    "partner_id": p.id.to_string(),
                }),
            ),
        },
        ("POST", "/api/v1/services/kaltura_session") => {
            let Some(p) = partner else {
                return problem(StatusCode::NOT_FOUND, "Kaltura is not enabled");
            };
            let query = req
                .uri()
                .query()
                .map(upgate_proto::kaltura::ks::parse_query)
                .unwrap_or_default();
            let (parts, body) = req.into_parts();
            let mut fields = body_fields(&parts.headers, body).await;
            fields.extend(query);
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
                    "max_file_size_bytes": api.service.config().max_upload_size,
                    "domain": host,
                    "resource_domain": host,
                    "rtmp_domain": host,
                    "partner_id": p.id.to_string(),
                    "subpartner_id": format!("{}00", p.id),
                });
            }
            json(StatusCode::OK, &v)
        }
        _ => problem(StatusCode::NOT_FOUND, "not found"),
    }
}
