//! The token operations of the admin API, each under an ADMIN KS of the partner.

use http::request::Parts;
use http::{HeaderMap, StatusCode};
use upgate_proto::kaltura::ks::Ks;

use super::AdminError;
use crate::api::gate::{context, peer_of, Gate};
use crate::api::json::{bearer, body_fields, json};
use crate::auth::session::SessionError;
use crate::auth::tokens;
use crate::server::{HyperBody, Resp};

/// The caller's ADMIN session (`Authorization: Bearer KS`).
pub async fn admin_session(gate: &Gate, head: &Parts) -> Result<Ks, AdminError> {
    let Some(text) = bearer(&head.headers) else {
        return Err(AdminError::Unauthorized(
            "an ADMIN KS is required (Authorization: Bearer KS)",
        ));
    };
    let peer = peer_of(&head.extensions);
    match gate.session(&text, &context(&peer, head)).await {
        Ok(ks) if ks.is_admin() => Ok(ks),
        Ok(_) => Err(AdminError::Forbidden("the KS is not an ADMIN session")),
        Err(SessionError::Ks(_)) => Err(AdminError::Unauthorized("invalid or expired KS")),
        Err(SessionError::Unavailable(e)) => Err(e.into()),
    }
}

/// `POST /admin/tokens` (`user`, `partner`, `admin`): the token, shown once.
pub async fn create(
    gate: &Gate,
    ks: &Ks,
    h: &HeaderMap,
    body: &mut HyperBody,
) -> Result<Resp, AdminError> {
    let fields = body_fields(h, body).await.ok_or(AdminError::TooLarge)?;
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(user) = field("user").filter(|u| !u.is_empty() && u.len() <= 256) else {
        return Err(AdminError::BadRequest("missing user"));
    };
    let partner = field("partner")
        .and_then(|p| p.parse().ok())
        .unwrap_or(ks.partner_id);
    if partner != ks.partner_id {
        return Err(AdminError::Forbidden("the KS belongs to another partner"));
    }
    let admin = field("admin").is_some_and(|a| a == "1" || a == "true");
    let (token, rec) = tokens::create(&gate.service, partner, user, admin).await?;
    let mut v = serde_json::to_value(&rec).unwrap_or_default();
    v["token"] = token.into();
    Ok(json(StatusCode::CREATED, &v))
}

/// `GET /admin/tokens`: the partner's tokens (never the tokens themselves).
pub async fn list(gate: &Gate, ks: &Ks) -> Result<Resp, AdminError> {
    let list: Vec<serde_json::Value> = tokens::list(&gate.service, ks.partner_id)
        .await?
        .iter()
        .map(|t| serde_json::to_value(t).unwrap_or_default())
        .collect();
    Ok(json(StatusCode::OK, &serde_json::Value::Array(list)))
}

/// `DELETE /admin/tokens/{id}`.
pub async fn revoke(gate: &Gate, ks: &Ks, id: &str) -> Result<Resp, AdminError> {
    match tokens::revoke(&gate.service, ks.partner_id, id).await? {
        true => Ok(json(StatusCode::OK, &serde_json::json!({ "revoked": id }))),
        false => Err(AdminError::NotFound("no such token")),
    }
}
