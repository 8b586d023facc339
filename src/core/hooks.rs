//! Webhook events into a durable outbox: when something an operator subscribed to
//! happens (`--hook-events`), one [`Delivery`] document per receiver (`--hook-url`) is
//! written to the state store (kind `hook`) before the answer goes out, so a crash or
//! a restart delivers it later (at least once; receivers drop repeats by delivery id).
//! Sending is the dispatcher's job (`crate::hooks`), off every request's path; this is
//! the bookkeeping every instance shares. The pre-create hook is a gate the service
//! asks before creating an upload ([`CreateGate`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{Error, Result, UploadService};
use crate::model::clock::rfc3339;
use crate::model::entry::MediaEntry;
use crate::model::hook::{Delivery, HookEvent};
use crate::model::import::now_ms;
use crate::model::{new_id, now_secs, UploadRecord};

const KIND: &str = "hook";

/// Where events go.
#[derive(Debug, Clone, Default)]
pub struct HookTargets {
    pub urls: Vec<String>,
    pub events: BTreeSet<HookEvent>,
}

impl HookTargets {
    fn wants(&self, e: HookEvent) -> bool {
        !self.urls.is_empty() && self.events.contains(&e)
    }
}

/// Asked before an upload is created; `Err` refuses it with a reason for the client.
#[async_trait::async_trait]
pub trait CreateGate: Send + Sync {
    async fn check(&self, upload: &Value) -> std::result::Result<(), GateRefusal>;
}

/// Why a gate refused.
#[derive(Debug, Clone)]
pub enum GateRefusal {
    /// The gate said no, with a reason the client may read.
    Refused(String),
    /// The gate could not be asked (so nothing is created).
    Unavailable(String),
}

/// The JSON form of an upload in events: id, sizes, owner, decoded `Upload-Metadata`.
pub fn upload_json(rec: &UploadRecord) -> Value {
    let metadata: serde_json::Map<String, Value> =
        upgate_proto::metadata::parse_metadata(&rec.metadata)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let v = v.map_or(Value::Null, |b| {
                    Value::String(String::from_utf8_lossy(&b).into_owned())
                });
                (k, v)
            })
            .collect();
    json!({
        "id": rec.id,
        "size": rec.length,
        "offset": rec.offset,
        "owner": rec.owner.as_ref().map(|o| json!({"partner": o.partner, "user": o.user})),
        "metadata": metadata,
        "created": rfc3339(rec.created_at),
    })
}

/// The JSON form of an entry in events.
pub fn entry_json(e: &MediaEntry) -> Value {
    json!({
        "id": e.id,
        "partner": e.partner,
        "user": e.user,
        "name": e.name,
        "upload_id": e.upload_id,
        "size": e.size,
        "file_name": e.file_name,
        "reference_id": e.reference_id,
    })
}

impl UploadService {
    /// True when some receiver wants `event` (callers skip gathering its fields if not).
    pub(crate) fn hooks_want(&self, event: HookEvent) -> bool {
        self.cfg.hooks.wants(event)
    }

    /// Queues `event` for every receiver that wants it. `fields` (built only then) are
    /// merged into the payload (`upload`, `entry`); `sha256_of` names an upload whose
    /// SHA-256 the dispatcher adds before sending. A failure to queue is logged and
    /// counted; it never fails the request that caused the event.
    pub(crate) async fn emit(
        &self,
        event: HookEvent,
        fields: impl FnOnce() -> Value,
        sha256_of: Option<&str>,
    ) {
        if !self.hooks_want(event) {
            return;
        }
        let fields = fields();
        for url in &self.cfg.hooks.urls {
            let id = new_id();
            let mut payload = json!({
                "event": event.name(),
                "delivery": id,
                "time": rfc3339(now_secs()),
            });
            if let (Some(p), Some(f)) = (payload.as_object_mut(), fields.as_object()) {
                p.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let d = Delivery {
                id: id.clone(),
                url: url.clone(),
                event,
                payload,
                sha256_of: sha256_of.map(str::to_owned),
                created_ms: now_ms(),
                next_ms: 0,
                claimed_until_ms: 0,
                attempts: 0,
                last_error: None,
            };
            match self.insert_typed(KIND, &id, &d).await {
                Ok(true) => {
                    metrics::counter!("upgate_hook_events_total", "event" => event.name())
                        .increment(1);
                }
                Ok(false) | Err(_) => {
                    tracing::warn!(event = event.name(), %url, "webhook event not queued");
                    metrics::counter!("upgate_hook_queue_failures_total").increment(1);
                }
            }
        }
        self.hook_wake.notify_one();
    }

    /// Asks the pre-create gate, if there is one, about an upload about to be created.
    pub(crate) async fn gate_create(&self, rec: &UploadRecord) -> Result<()> {
        let Some(gate) = &self.create_gate else {
            return Ok(());
        };
        match gate.check(&upload_json(rec)).await {
            Ok(()) => Ok(()),
            Err(GateRefusal::Refused(why)) => Err(Error::Refused(why)),
            Err(GateRefusal::Unavailable(why)) => {
                tracing::warn!(%why, "pre-create hook unavailable");
                Err(Error::Unavailable(
                    "the pre-create hook did not answer".into(),
                ))
            }
        }
    }

    /// Installs the pre-create gate.
    pub fn with_create_gate(mut self, gate: Arc<dyn CreateGate>) -> Self {
        self.create_gate = Some(gate);
        self
    }

    /// Every pending delivery with its document version.
    pub async fn hook_deliveries(&self) -> Result<Vec<(Delivery, u64)>> {
        let mut out = Vec::new();
        for (_, doc) in self.state.doc_list(KIND).await? {
            match serde_json::from_str::<Delivery>(&doc.body) {
                Ok(d) => out.push((d, doc.version)),
                Err(e) => tracing::warn!(error = %e, "unreadable webhook delivery"),
            }
        }
        Ok(out)
    }

    /// Writes `d` back if its document is still at `version`; the new version, or
    /// `None` when another instance changed or removed it meanwhile.
    pub async fn put_hook(&self, d: &Delivery, version: u64) -> Result<Option<u64>> {
        let body = serde_json::to_string(d).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(self
            .state
            .doc_put(KIND, &d.id, &body, Some(version))
            .await?)
    }

    /// Removes a delivery (sent, or given up).
    pub async fn drop_hook(&self, id: &str) -> Result<()> {
        self.state.doc_delete(KIND, id).await?;
        Ok(())
    }

    /// Wakes this instance's dispatcher (an attempt ended: its retry time is known).
    pub fn wake_hooks(&self) {
        self.hook_wake.notify_one();
    }

    /// Waits until an event is queued in this instance.
    pub async fn hook_queued(&self) {
        self.hook_wake.notified().await;
    }
}
