//! What one push shares across protocols: the source file, its resume state, the
//! file's own SHA-256 computed beside the upload, the bytes sent, and the result being
//! filled in, with the final comparison against the server's digest.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::resume::{ResumeStore, Saved};
use super::source::Source;
use super::{empty_result, ClientError, PushOptions, PushResult};

/// A failure, with the result so far when there is one.
pub(crate) type Failure = (ClientError, Option<PushResult>);

pub(crate) struct Run {
    pub src: Source,
    pub file: String,
    pub store: ResumeStore,
    pub key: String,
    /// Body bytes that left this machine (re-sent ones counted again).
    pub sent: Arc<AtomicU64>,
    pub result: PushResult,
    local_sum: Option<tokio::task::JoinHandle<Result<String, ClientError>>>,
}

impl Run {
    /// Opens `path` and starts hashing it; `protocol` keys the resume state.
    pub fn start(path: &Path, opts: &PushOptions, protocol: &str) -> Result<Self, ClientError> {
        let mut src = Source::open(path)?;
        let file = path.display().to_string();
        let (tap, local_sum) = super::digest::spawn(&src);
        src.tap = Some(tap);
        Ok(Self {
            key: ResumeStore::key(&opts.url, protocol, &src),
            store: ResumeStore::new(&opts.state_dir),
            result: PushResult {
                size: src.size,
                ..empty_result(&file)
            },
            src,
            file,
            sent: Arc::new(AtomicU64::new(0)),
            local_sum: Some(local_sum),
        })
    }

    /// What was remembered about this file's upload.
    pub fn saved(&self) -> Saved {
        self.store.load(&self.key)
    }

    /// Remembers where the upload is (best effort: a failure only costs a resume).
    pub fn remember(&self, saved: &Saved) {
        let _ = self.store.save(&self.key, saved);
    }

    /// Forgets a remembered upload that is gone from the server.
    pub fn forget(&self) {
        self.store.remove(&self.key);
    }

    /// The upload to continue: the remembered URL with the offset `probe` finds on the
    /// server (`None`: gone, forgotten), else a new one from `create`, remembered.
    /// Recorded in the result.
    pub async fn upload_url<P, C>(
        &mut self,
        probe: impl FnOnce(String) -> P,
        create: impl FnOnce() -> C,
    ) -> Result<(String, u64), Failure>
    where
        P: std::future::Future<Output = Result<Option<u64>, ClientError>>,
        C: std::future::Future<Output = Result<String, ClientError>>,
    {
        let mut found = None;
        if let Some(u) = self.saved().upload_url {
            match probe(u.clone()).await {
                Ok(Some(offset)) => found = Some((u, offset)),
                Ok(None) => self.forget(),
                Err(e) => return Err(self.fail(e)),
            }
        }
        let (url, offset) = match found {
            Some(x) => x,
            None => {
                let u = create().await.map_err(|e| self.fail(e))?;
                self.remember(&Saved {
                    upload_url: Some(u.clone()),
                    token_id: None,
                });
                (u, 0)
            }
        };
        self.result.upload_url = Some(url.clone());
        self.result.resumed_from = offset;
        Ok((url, offset))
    }

    /// `e`, with the result so far.
    pub fn fail(&self, e: ClientError) -> Failure {
        let mut r = self.result.clone();
        r.bytes_sent = self.sent.load(Ordering::Relaxed);
        (e, Some(r))
    }

    /// The file's own SHA-256 (hex), recorded in the result.
    pub async fn local_sha256(&mut self) -> Result<String, Failure> {
        if let Some(tap) = &self.src.tap {
            tap.close().await;
        }
        let sum = match self.local_sum.take() {
            Some(task) => match task.await {
                Ok(r) => r,
                Err(e) => Err(ClientError::Protocol(e.to_string())),
            },
            None => Ok(self.result.sha256.clone()),
        };
        let local = sum.map_err(|e| self.fail(e))?;
        self.result.sha256 = local.clone();
        Ok(local)
    }

    /// Done once `server` (asking for the server's digest, hex) answers the file's: the
    /// question is asked while the file's own digest is finished.
    pub async fn verified_by(
        mut self,
        server: impl std::future::Future<Output = Result<String, ClientError>>,
    ) -> Result<PushResult, Failure> {
        let (local, server) = tokio::join!(self.local_sha256(), server);
        local?;
        let server = server.map_err(|e| self.fail(e))?;
        self.verified(&server).await
    }

    /// Done: the server's digest `server` (hex) must be the file's; the resume state
    /// is then forgotten.
    pub async fn verified(mut self, server: &str) -> Result<PushResult, Failure> {
        let local = self.local_sha256().await?;
        self.result.bytes_sent = self.sent.load(Ordering::Relaxed);
        if server != local {
            let server = server.to_owned();
            return Err((ClientError::Checksum { local, server }, Some(self.result)));
        }
        self.forget();
        self.result.status = "ok".into();
        Ok(self.result)
    }
}
