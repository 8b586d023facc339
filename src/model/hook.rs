//! Completion webhooks: the events an operator can subscribe to, and one pending
//! delivery as the outbox in the state store keeps it (one document per event and
//! receiver, so a restarted gateway or another instance delivers what was pending).

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookEvent {
    /// An upload was created.
    Created,
    /// An upload holds all its bytes.
    Finished,
    /// An upload was deleted by its owner (not by expiry).
    Terminated,
    /// A URL import brought its whole source.
    Imported,
    /// A media entry became READY (content attached or imported).
    EntryReady,
}

impl HookEvent {
    pub const ALL: [HookEvent; 5] = [
        HookEvent::Created,
        HookEvent::Finished,
        HookEvent::Terminated,
        HookEvent::Imported,
        HookEvent::EntryReady,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Created => "created",
            HookEvent::Finished => "finished",
            HookEvent::Terminated => "terminated",
            HookEvent::Imported => "imported",
            HookEvent::EntryReady => "entry-ready",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == s.trim())
    }
}

/// One event for one receiver, until it is delivered or given up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Also the `Upgate-Delivery` header: receivers drop repeats by it.
    pub id: String,
    pub url: String,
    pub event: HookEvent,
    /// The JSON object sent (its `sha256` is added before the first attempt when
    /// `sha256_of` names the upload: hashing never delays the request that finished it).
    pub payload: serde_json::Value,
    #[serde(default)]
    pub sha256_of: Option<String>,
    /// Unix milliseconds.
    pub created_ms: u64,
    /// Not before this time (unix milliseconds): the backoff after a failed attempt.
    #[serde(default)]
    pub next_ms: u64,
    /// An instance is sending it until then (unix milliseconds).
    #[serde(default)]
    pub claimed_until_ms: u64,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::HookEvent;

    #[test]
    fn event_names_round_trip() {
        for e in HookEvent::ALL {
            assert_eq!(HookEvent::parse(e.name()), Some(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.name());
        }
        assert_eq!(HookEvent::parse("finish"), None);
    }
}
