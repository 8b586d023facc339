//! URL import jobs: a media entry's content pulled by the gateway from a source URL
//! (Kaltura's `KalturaUrlResource`, `media.addFromUrl`; Zoom recordings). A job is a
//! document of the state store, leased by the instance running it, so a restarted
//! gateway or another instance continues it from the upload's committed offset.

use serde::{Deserialize, Serialize};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a runner (or for its backoff to pass).
    Queued,
    /// Leased by a runner (the lease may have expired: then it is taken over).
    Running,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
        }
    }
}

/// One import: everything needed to continue it anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportJob {
    /// The entry the content goes to (also the job's id: one import per entry).
    pub entry_id: String,
    pub partner: i64,
    pub user: String,
    pub url: String,
    /// Request headers for the source (its authorization): sent to the source's host
    /// only, never to another host a redirect names.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub state: JobState,
    /// The upload receiving the bytes, once the source answered.
    #[serde(default)]
    pub upload_id: Option<String>,
    /// The source's validator (`ETag`, else `Last-Modified`) when the bytes started.
    #[serde(default)]
    pub validator: Option<String>,
    /// The runner holding the job and until when (unix milliseconds).
    #[serde(default)]
    pub holder: Option<String>,
    #[serde(default)]
    pub lease_until_ms: u64,
    /// Not before this time (unix milliseconds): the backoff after a failed attempt.
    #[serde(default)]
    pub not_before_ms: u64,
    /// Failed attempts in a row (reset when an attempt brings bytes).
    #[serde(default)]
    pub failures: u32,
    /// Times the source changed and the import started over.
    #[serde(default)]
    pub restarts: u32,
    /// Bytes received from the source in all, counting bytes fetched again.
    #[serde(default)]
    pub fetched: u64,
    /// The last attempt's problem (kept for the job view while it retries).
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_at: u64,
}

impl ImportJob {
    /// A queued job filling `entry_id` (of `user`) from `url`.
    pub fn new(
        entry_id: &str,
        partner: i64,
        user: &str,
        url: String,
        headers: Vec<(String, String)>,
        created_at: u64,
    ) -> Self {
        Self {
            entry_id: entry_id.to_owned(),
            partner,
            user: user.to_owned(),
            url,
            headers,
            state: JobState::Queued,
            upload_id: None,
            validator: None,
            holder: None,
            lease_until_ms: 0,
            not_before_ms: 0,
            failures: 0,
            restarts: 0,
            fetched: 0,
            last_error: None,
            created_at,
        }
    }

    /// Whether a runner may take the job at `now_ms`.
    pub fn claimable(&self, now_ms: u64) -> bool {
        self.not_before_ms <= now_ms
            && (self.state == JobState::Queued || self.lease_until_ms <= now_ms)
    }

    /// Whether another runner holds it at `now_ms`.
    pub fn held(&self, now_ms: u64) -> bool {
        self.state == JobState::Running && self.lease_until_ms > now_ms
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> ImportJob {
        ImportJob::new("0_abc", 1, "u", "http://x/".into(), vec![], 0)
    }

    #[test]
    fn claims_follow_state_lease_and_backoff() {
        let mut j = job();
        assert!(j.claimable(10));
        j.not_before_ms = 20;
        assert!(!j.claimable(10) && j.claimable(20));
        j.state = JobState::Running;
        j.lease_until_ms = 30;
        assert!(j.held(25) && !j.claimable(25));
        assert!(!j.held(30) && j.claimable(30));
    }
}
