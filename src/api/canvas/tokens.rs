//! `/admin/tokens`: API tokens for the Canvas-facing endpoints, managed with an ADMIN KS
//! of the partner. `POST` creates (the token is shown once), `GET` lists, `DELETE
//! /admin/tokens/{id}` revokes.

use http::{Method, StatusCode};
use sha2::Digest;

use super::{body_fields, json, problem, CanvasApi, TokenRecord, TOKENS};
use crate::auth::session::{verify_session, SessionError};
use crate::core::record::now_secs;
use crate::server::{Req, Resp};

/// SHA-256 hex of a token: the only form in which tokens are stored.
pub fn digest(token: &str) -> String {
    crate::client::hex(&sha2::Sha256::digest(token.as_bytes()))
}

pub async fn handle(api: &CanvasApi, req: Req) -> Resp {
    let Some(ks_text) = super::bearer(req.headers()) else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "an ADMIN KS is required (Authorization: Bearer KS)",
        );
    };
    let ks = match verify_session(&api.partners, &api.service, &ks_text, now_secs() as i64).await {
        Ok(ks) if ks.is_admin() => ks,
        Ok(_) => return problem(StatusCode::FORBIDDEN, "the KS is not an ADMIN session"),
        Err(SessionError::Ks(_)) => {
            return problem(StatusCode::UNAUTHORIZED, "invalid or expired KS")
        }
        Err(SessionError::Unavailable(_)) => {
            return problem(StatusCode::SERVICE_UNAVAILABLE, "session store unavailable")
        }
    };
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (parts, body) = req.into_parts();
    let fail = |e: crate::core::Error| {
        tracing::error!(error = %e, "token store");
        problem(StatusCode::SERVICE_UNAVAILABLE, "token store unavailable")
    };
    match (method, path.trim_end_matches('/')) {
        (Method::POST, "/admin/tokens") => {
            let fields = body_fields(&parts.headers, body).await;
            let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let Some(user) = field("user").filter(|u| !u.is_empty() && u.len() <= 256) else {
                return problem(StatusCode::BAD_REQUEST, "missing user");
            };
            let partner = field("partner")
                .and_then(|p| p.parse().ok())
                .unwrap_or(ks.partner_id);
            if partner != ks.partner_id {
                return problem(StatusCode::FORBIDDEN, "the KS belongs to another partner");
            }
            let admin = field("admin").is_some_and(|a| a == "1" || a == "true");
            let mut raw = [0u8; 24];
            let _ = getrandom::fill(&mut raw);
            let token = format!("upg_{}", crate::client::hex(&raw));
            let d = digest(&token);
            let rec = TokenRecord {
                id: d[..12].to_owned(),
                user,
                partner,
                admin,
                created_at: now_secs(),
            };
            let body = serde_json::to_string(&rec).unwrap_or_default();
            if let Err(e) = api.service.put_doc(TOKENS, &d, &body).await {
                return fail(e);
            }
            let mut v = serde_json::to_value(&rec).unwrap_or_default();
            v["token"] = token.into();
            json(StatusCode::CREATED, &v)
        }
        (Method::GET, "/admin/tokens") => match api.service.list_docs(TOKENS).await {
            Ok(docs) => {
                let list: Vec<serde_json::Value> = docs
                    .iter()
                    .filter_map(|b| serde_json::from_str::<TokenRecord>(b).ok())
                    .filter(|t| t.partner == ks.partner_id)
                    .map(|t| serde_json::to_value(t).unwrap_or_default())
                    .collect();
                json(StatusCode::OK, &serde_json::Value::Array(list))
            }
            Err(e) => fail(e),
        },
        (Method::DELETE, p) if p.starts_with("/admin/tokens/") => {
            let id = p.trim_start_matches("/admin/tokens/");
            let docs = match api.service.list_docs_with_ids(TOKENS).await {
                Ok(d) => d,
                Err(e) => return fail(e),
            };
            for (key, body) in docs {
                let Ok(t) = serde_json::from_str::<TokenRecord>(&body) else {
                    continue;
                };
                if t.id == id && t.partner == ks.partner_id {
                    return match api.service.delete_doc(TOKENS, &key).await {
                        Ok(_) => json(StatusCode::OK, &serde_json::json!({ "revoked": id })),
                        Err(e) => fail(e),
                    };
                }
            }
            problem(StatusCode::NOT_FOUND, "no such token")
        }
        _ => problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST, GET or DELETE /admin/tokens[/ID]",
        ),
    }
}
