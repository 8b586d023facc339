//! `GET /api/v1/services/kaltura`, as Canvas's ServicesApiController answers it.

use http::request::Parts;
use http::StatusCode;

use crate::api::json::json;
use crate::auth::Partner;
use crate::server::Resp;

pub fn config(head: &Parts, partner: Option<&Partner>) -> Resp {
    let (_, host) = crate::api::origin_of(&head.headers);
    match partner {
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
    }
}
