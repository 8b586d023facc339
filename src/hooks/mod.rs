//! Webhook delivery: every instance runs a dispatcher that sends the outbox's pending
//! deliveries (`core::hooks` queues them) as JSON `POST`s, signed with
//! `Upgate-Signature: sha256=<hex HMAC-SHA256 of the body>` when `--hook-secret` is set,
//! with `Upgate-Event` and `Upgate-Delivery` headers. A delivery is claimed by
//! compare-and-set (one instance sends it at a time; a claim lapses after twice the
//! timeout, so a dead instance's deliveries are sent by another), removed on a 2xx
//! answer, and otherwise retried with backoff (1 s doubling to 5 min) until
//! `--hook-max-age` has passed since the event, then given up (logged and counted).
//! Nothing here runs on a request's path: a slow or dead receiver never slows uploads.
//!
//! Also the pre-create hook (`--pre-create-hook`): asked before each upload is created;
//! a 2xx lets it through, a 4xx refuses it with the answer's text as the reason, and no
//! answer (timeout, 5xx, network) refuses it as "unavailable, retry".
//!
//! Must not: know a wire protocol.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;

use crate::core::hooks::{CreateGate, GateRefusal};
use crate::core::UploadService;
use crate::model::hook::Delivery;
use crate::model::import::now_ms;

/// Tunables of the dispatcher, with the defaults `upgate serve` documents.
#[derive(Debug, Clone)]
pub struct HookConfig {
    pub secret: Option<String>,
    /// One attempt's limit (connect and answer).
    pub timeout: Duration,
    /// A delivery not made this long after its event is given up.
    pub max_age: Duration,
    /// Deliveries sent at once by this instance.
    pub concurrency: usize,
    /// How often the outbox is looked at without a local event.
    pub poll: Duration,
}

impl Default for HookConfig {
    fn default() -> Self {
        Self {
            secret: None,
            timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(24 * 3600),
            concurrency: 8,
            poll: Duration::from_secs(1),
        }
    }
}

/// Longest wait between two attempts of one delivery.
const MAX_BACKOFF_MS: u64 = 300_000;
/// Shortest time between two looks at the outbox.
const SCAN_GAP: Duration = Duration::from_millis(100);
/// Longest time without a look at the outbox (another instance's events wake only it).
const MAX_IDLE: Duration = Duration::from_secs(5);

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("upgate-hooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Starts the dispatcher of this instance.
pub fn spawn(svc: UploadService, cfg: HookConfig) -> Result<tokio::task::JoinHandle<()>, String> {
    let http = client(cfg.timeout)?;
    Ok(tokio::spawn(dispatch(svc, cfg, http)))
}

async fn dispatch(svc: UploadService, cfg: HookConfig, http: reqwest::Client) {
    let slots = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let cfg = Arc::new(cfg);
    let mut wait = cfg.poll;
    loop {
        tokio::select! {
            _ = svc.hook_queued() => {}
            _ = tokio::time::sleep(wait) => {}
        }
        // One look at the outbox per SCAN_GAP at most, however many events wake us (a
        // long outage leaves many deliveries to list).
        tokio::time::sleep(SCAN_GAP).await;
        let mut pending = match svc.hook_deliveries().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "webhook outbox not read");
                continue;
            }
        };
        metrics::gauge!("upgate_hook_pending").set(pending.len() as f64);
        let now = now_ms();
        // Nothing due: sleep until the first delivery is (within poll and MAX_IDLE).
        let first = pending
            .iter()
            .map(|(d, _)| d.next_ms.max(d.claimed_until_ms))
            .min()
            .unwrap_or(u64::MAX);
        wait = Duration::from_millis(first.saturating_sub(now))
            .clamp(cfg.poll.min(MAX_IDLE), MAX_IDLE);
        pending.retain(|(d, _)| d.next_ms <= now && d.claimed_until_ms <= now);
        pending.sort_by_key(|(d, _)| d.created_ms);
        for (mut d, version) in pending {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            let claim = 2 * cfg.timeout.as_millis() as u64 + 5_000;
            d.claimed_until_ms = now_ms() + claim;
            let version = match svc.put_hook(&d, version).await {
                Ok(Some(v)) => v,
                // Another instance took it, or it is gone.
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery not claimed");
                    continue;
                }
            };
            let (svc, cfg, http) = (svc.clone(), cfg.clone(), http.clone());
            tokio::spawn(async move {
                let _permit = permit;
                deliver(&svc, &cfg, &http, d, version).await;
                svc.wake_hooks();
            });
        }
    }
}

/// One attempt, and what follows from it.
async fn deliver(
    svc: &UploadService,
    cfg: &HookConfig,
    http: &reqwest::Client,
    mut d: Delivery,
    version: u64,
) {
    if let Some(id) = d.sha256_of.take() {
        // Computed (once: the core caches it) before the first attempt, off the upload's path.
        if let Ok(digest) = svc.sha256(&id).await {
            if let Some(u) = d.payload.get_mut("upload").and_then(Value::as_object_mut) {
                u.insert(
                    "sha256".into(),
                    Value::String(upgate_proto::hex::hex(&digest)),
                );
            }
        }
    }
    let body = serde_json::to_vec(&d.payload).unwrap_or_default();
    let mut req = http
        .post(&d.url)
        .header("Content-Type", "application/json")
        .header("Upgate-Event", d.event.name())
        .header("Upgate-Delivery", &d.id);
    if let Some(secret) = &cfg.secret {
        req = req.header(
            "Upgate-Signature",
            upgate_proto::hmac::signature(secret.as_bytes(), &body),
        );
    }
    let started = std::time::Instant::now();
    let outcome = match req.body(body).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("answered {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err(format!("no answer within {:?}", cfg.timeout)),
        Err(e) => Err(format!("not reached ({})", error_chain(&e))),
    };
    metrics::histogram!("upgate_hook_delivery_seconds").record(started.elapsed().as_secs_f64());
    d.attempts += 1;
    match outcome {
        Ok(()) => {
            metrics::counter!("upgate_hook_deliveries_total", "outcome" => "delivered")
                .increment(1);
            if let Err(e) = svc.drop_hook(&d.id).await {
                // Sent, but still in the outbox: it will be sent again (at least once).
                tracing::warn!(error = %e, delivery = %d.id, "delivered webhook not removed");
            }
        }
        Err(why) => {
            let now = now_ms();
            if now.saturating_sub(d.created_ms) >= cfg.max_age.as_millis() as u64 {
                tracing::error!(delivery = %d.id, url = %d.url, event = d.event.name(), attempts = d.attempts, last = %why, "webhook given up");
                metrics::counter!("upgate_hook_deliveries_total", "outcome" => "given_up")
                    .increment(1);
                let _ = svc.drop_hook(&d.id).await;
                return;
            }
            tracing::info!(delivery = %d.id, url = %d.url, attempts = d.attempts, %why, "webhook attempt failed");
            metrics::counter!("upgate_hook_deliveries_total", "outcome" => "retried").increment(1);
            let backoff = (1000u64 << (d.attempts - 1).min(16)).min(MAX_BACKOFF_MS);
            d.next_ms = now + backoff;
            d.claimed_until_ms = 0;
            d.last_error = Some(why);
            if let Err(e) = svc.put_hook(&d, version).await {
                tracing::warn!(error = %e, delivery = %d.id, "webhook retry not recorded");
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// The pre-create hook.
pub struct PreCreateHook {
    url: String,
    secret: Option<String>,
    http: reqwest::Client,
}

impl PreCreateHook {
    pub fn new(url: &str, secret: Option<String>, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            url: url.to_owned(),
            secret,
            http: client(timeout)?,
        })
    }
}

/// At most this much of a refusal's text reaches the client, printable characters only.
const MAX_REASON: usize = 200;

fn reason(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect();
    match clean.trim() {
        "" => "refused by the operator's policy".to_owned(),
        t => t.to_owned(),
    }
}

#[async_trait::async_trait]
impl CreateGate for PreCreateHook {
    async fn check(&self, upload: &Value) -> Result<(), GateRefusal> {
        let body = serde_json::to_vec(&serde_json::json!({
            "event": "pre-create",
            "upload": upload,
        }))
        .unwrap_or_default();
        let mut req = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Upgate-Event", "pre-create");
        if let Some(secret) = &self.secret {
            req = req.header(
                "Upgate-Signature",
                upgate_proto::hmac::signature(secret.as_bytes(), &body),
            );
        }
        match req.body(body).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) if r.status().is_client_error() => {
                let text = r.text().await.unwrap_or_default();
                metrics::counter!("upgate_pre_create_refusals_total").increment(1);
                Err(GateRefusal::Refused(reason(&text)))
            }
            Ok(r) => Err(GateRefusal::Unavailable(format!("answered {}", r.status()))),
            Err(e) => Err(GateRefusal::Unavailable(error_chain(&e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn reasons_are_short_and_printable() {
        assert_eq!(reason("  quota\r\nexceeded "), "quota  exceeded");
        assert_eq!(reason(""), "refused by the operator's policy");
        assert_eq!(reason(&"x".repeat(1000)).len(), 200);
    }
}
