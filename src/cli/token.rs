//! `upgate token create|list|revoke`: API tokens for the Canvas-facing endpoints,
//! managed through a running gateway's `/admin/tokens` with an ADMIN session (the
//! embedded state store is held open by the gateway, so the CLI does not touch it).

use crate::auth::{mint, Partner};
use crate::config::{AdminConn, TokenCmd};

fn admin_ks(c: &AdminConn) -> Result<String, String> {
    if let Some(ks) = &c.ks {
        return Ok(ks.clone());
    }
    match (c.partner_id, &c.secret) {
        (Some(id), Some(secret)) => {
            let p = Partner {
                id,
                admin_secrets: vec![secret.clone()],
                user_secret: None,
                ks_version: 2,
            };
            let f = upgate_proto::kaltura::ks::KsFields {
                partner_id: id,
                expiry: crate::model::now_secs() as i64 + 600,
                session_type: 2,
                user: "upgate-cli".into(),
                privileges: String::new(),
            };
            Ok(mint(&p, &f))
        }
        _ => Err("give --ks ADMIN_KS, or --partner-id and --secret ADMIN_SECRET".into()),
    }
}

/// Runs the command; returns the exit code.
pub async fn run(cmd: TokenCmd) -> u8 {
    let http = reqwest::Client::new();
    let conn = match &cmd {
        TokenCmd::Create { conn, .. } | TokenCmd::List { conn } | TokenCmd::Revoke { conn, .. } => {
            conn
        }
    };
    let ks = match admin_ks(conn) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("upgate token: {e}");
            return 2;
        }
    };
    let base = format!("{}/admin/tokens", conn.url.trim_end_matches('/'));
    let rb = match &cmd {
        TokenCmd::Create {
            user,
            partner,
            admin,
            ..
        } => {
            let mut body = serde_json::json!({ "user": user, "admin": admin.to_string() });
            if let Some(p) = partner {
                body["partner"] = p.to_string().into();
            }
            http.post(&base)
                .header("Content-Type", "application/json")
                .body(body.to_string())
        }
        TokenCmd::List { .. } => http.get(&base),
        TokenCmd::Revoke { id, .. } => http.delete(format!("{base}/{id}")),
    };
    let resp = match rb
        .header("Authorization", format!("Bearer {ks}"))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("upgate token: cannot reach {}: {e}", conn.url);
            return 1;
        }
    };
    let ok = resp.status().is_success();
    let text = resp.text().await.unwrap_or_default();
    if !ok {
        eprintln!("upgate token: {text}");
        return 1;
    }
    match cmd {
        TokenCmd::Create { .. } => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            eprintln!(
                "token {} for user {} (shown once; only its hash is stored):",
                v["id"], v["user"]
            );
            println!("{}", v["token"].as_str().unwrap_or(""));
        }
        _ => println!("{text}"),
    }
    0
}
