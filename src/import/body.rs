//! A source's response body as the core's [`ChunkBody`]: each chunk waits at most the
//! stall timeout, is paced by the user's bandwidth budgets (imports count against
//! `--user-bandwidth` like uploads), and is counted; leading bytes the source sent again
//! (it ignored `Range`) are dropped; a lost job lease ends the body, so the core commits
//! what arrived and stops.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::model::body::{BodyError, ChunkBody};
use crate::ratelimit::{Limits, Subject};

pub struct SourceBody {
    pub resp: reqwest::Response,
    /// Leading bytes to drop.
    pub skip: u64,
    pub stall: Duration,
    pub pace: Option<(Limits, Subject)>,
    /// Set when the job's lease was lost.
    pub lost: Arc<AtomicBool>,
    /// Bytes received from the source (all attempts of the job).
    pub fetched: Arc<AtomicU64>,
    /// Why the body stopped early, when it did.
    pub stopped: Option<String>,
}

impl ChunkBody for SourceBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            if self.lost.load(Ordering::Relaxed) {
                return Err(self.stop(BodyError::Disconnected("import lease lost".into())));
            }
            let mut chunk = match tokio::time::timeout(self.stall, self.resp.chunk()).await {
                Err(_) => {
                    let why = format!("the source sent nothing for {:?}", self.stall);
                    self.stopped = Some(why);
                    return Err(BodyError::Timeout);
                }
                Ok(Err(e)) => {
                    let why = format!("the source connection broke: {e}");
                    return Err(self.stop(BodyError::Disconnected(why)));
                }
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(b))) => b,
            };
            self.fetched
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            metrics::counter!("upgate_import_bytes_total").increment(chunk.len() as u64);
            if let Some((limits, subject)) = &self.pace {
                limits.pace(subject, chunk.len()).await;
            }
            if self.skip > 0 {
                let drop = self.skip.min(chunk.len() as u64) as usize;
                self.skip -= drop as u64;
                chunk = chunk.slice(drop..);
                if chunk.is_empty() {
                    continue;
                }
            }
            return Ok(Some(chunk));
        }
    }
}

impl SourceBody {
    fn stop(&mut self, e: BodyError) -> BodyError {
        self.stopped = Some(e.to_string());
        e
    }
}
