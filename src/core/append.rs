//! Appending a body at the contiguous offset under the upload's lease (tus PATCH, and
//! the in-order case of ranged PUT). The shared pump [`UploadService::write_leased`]
//! streams frames into the blob writer, compares re-sent leading bytes, hashes for the
//! checksum extension, and commits at safe points.

use std::time::Instant;

use futures_util::StreamExt;

use upgate_proto::checksum::Checksum;

use super::body::HashPipe;
use super::compare::Comparer;
use super::running::RunningPipe;
use super::writers::Active;
use super::{Error, Result, UploadService};
use crate::blob::BlobWriter;
use crate::model::body::ChunkBody;
use crate::model::{core_attr, now_secs};
use crate::model::{Status, UploadRecord};
use crate::state::{Acquire, Commit, CommitOutcome, Lease, Update};

/// How long a request waits for the lease of an upload whose local writer is finishing
/// or was asked to stop, before it is answered `Locked`.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A tus PATCH as the core sees it.
#[derive(Debug, Clone, Default)]
pub struct AppendRequest {
    /// The client's `Upload-Offset`.
    pub offset: u64,
    /// `Content-Length` when the client sent one.
    pub declared_len: Option<u64>,
    /// `Upload-Checksum`: verified over this body; on mismatch nothing is kept.
    pub checksum: Option<Checksum>,
    /// `Upload-Length` sent with a PATCH of a deferred-length upload.
    pub set_length: Option<u64>,
    /// The body is the rest of the upload (RUFH `Upload-Complete: ?1`): when it ends
    /// cleanly the length is declared at its end (if none was), which completes it.
    pub complete: bool,
    /// This request ends the upload's local writer (RUFH: "a new request ends the
    /// older one"; see [`UploadService::end_writer`]) instead of being refused while it
    /// writes, and skips (comparing) what that writer stored of this same body.
    pub preempt: bool,
    /// Told the new offset after each commit made while the body streams (RUFH's
    /// progress interim responses).
    pub on_commit: Option<OnCommit>,
    /// Told the offset the body starts at once this request holds the upload's lease
    /// and is its registered writer, before a byte of the body is read (RUFH: the `104`
    /// that gives a creation's `Location` goes out then, so an offset retrieval that
    /// follows it finds this writer and counts what it receives, instead of answering
    /// the offset from before the write started).
    pub on_start: Option<OnCommit>,
    /// When the request arrived (default: when this call starts); orders requests for
    /// `preempt`.
    pub arrived: Option<Instant>,
}

/// A callback told each offset committed while a body streams.
#[derive(Clone)]
pub struct OnCommit(pub std::sync::Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for OnCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnCommit")
    }
}

/// What a body that overruns its allowance turns into.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Overrun {
    /// Past the declared upload length.
    Length(u64),
    /// Past the server's maximum size.
    Max(u64),
    /// Longer than its `Content-Range`.
    Range,
}

impl Overrun {
    fn error(self) -> Error {
        match self {
            Overrun::Length(length) => Error::PastLength { length },
            Overrun::Max(limit) => Error::TooLarge { limit },
            Overrun::Range => Error::BadRequest("body is longer than its Content-Range".into()),
        }
    }
}

/// How [`UploadService::write_leased`] treats a body.
pub(crate) struct WriteOpts {
    pub checksum: Option<Checksum>,
    /// Leading body bytes that are already stored: compared, not written.
    pub skip: u64,
    /// Absolute end no byte may pass.
    pub max_end: u64,
    pub overrun: Overrun,
    /// When given, the commit after the body ends is made even if no new bytes came,
    /// and carries these extras.
    pub finish: Option<FinalCommit>,
    /// Told each offset committed while the body streams.
    pub on_commit: Option<OnCommit>,
}

/// What the last commit of a write also does (see [`Commit`]).
pub(crate) struct FinalCommit {
    pub attrs: Vec<(String, String)>,
    /// Record the time as the last chunk a client sent (when the body ended cleanly or
    /// brought bytes: a cut chunk that brought nothing does not count as sent).
    pub touch: bool,
    /// Declare the length at the new offset (only when the body ended cleanly).
    pub declare_length: bool,
    /// Release the lease in the same step.
    pub release: bool,
}

impl UploadService {
    /// Appends `body` at `req.offset` (tus PATCH). Answers the new record; on an early
    /// end of the body, `Interrupted` with the offset that was kept.
    pub async fn append<B: ChunkBody>(
        &self,
        id: &str,
        req: AppendRequest,
        body: &mut B,
    ) -> Result<UploadRecord> {
        // RUFH: the older request still writing here is ended (after reading what had
        // arrived for it). When it stored part of this very body (the client gave up on
        // it and resent from an offset it had been told), that part is compared and
        // skipped instead of refused: the offset matched when this request came.
        let arrived = req.arrived.unwrap_or_else(Instant::now);
        let ended = req.preempt && self.end_writer(id, arrived).await;
        let mut rec = self.load(id).await?;
        let overlaps = ended
            && rec.status != Status::Complete
            && req.offset < rec.offset
            && req
                .declared_len
                .is_none_or(|n| req.offset.saturating_add(n) >= rec.offset);
        let skip = if overlaps { rec.offset - req.offset } else { 0 };
        if req.offset + skip != rec.offset && rec.status != Status::Complete {
            // Checked before a length is declared from the client's idea of the offset.
            return Err(Error::OffsetMismatch { offset: rec.offset });
        }
        if rec.status == Status::Complete && req.offset == rec.offset {
            // An empty PATCH at the end of a complete upload is harmless (clients
            // re-send their last request after a lost answer).
            return match body.next_chunk().await {
                Ok(None) => Ok(rec),
                _ => Err(Error::Complete),
            };
        }
        if let Some(len) = req.set_length {
            if len > self.cfg.max_upload_size {
                return Err(Error::TooLarge {
                    limit: self.cfg.max_upload_size,
                });
            }
            rec = match self.state.set_length(id, len).await? {
                Update::Done(r) => *r,
                Update::Missing => return Err(Error::NotFound),
                Update::Refused(why) => return Err(Error::InvalidLength(why)),
            };
        }
        if req.offset + skip != rec.offset {
            return Err(Error::OffsetMismatch { offset: rec.offset });
        }
        let overrun = match rec.length {
            Some(l) => Overrun::Length(l),
            None => Overrun::Max(self.cfg.max_upload_size),
        };
        let max_end = self.limit_of(&rec);
        if req
            .declared_len
            .is_some_and(|n| req.offset.saturating_add(n) > max_end)
        {
            return Err(overrun.error());
        }
        let (lease, rec) = self.lease(id, Some(req.offset + skip)).await?;
        let active = self.writers.register_since(id, &lease.holder, arrived);
        if let Some(f) = &req.on_start {
            (f.0)(rec.offset);
        }
        let opts = WriteOpts {
            checksum: req.checksum,
            skip,
            max_end,
            overrun,
            finish: req.complete.then(|| FinalCommit {
                attrs: Vec::new(),
                touch: false,
                declare_length: true,
                release: false,
            }),
            on_commit: req.on_commit,
        };
        let out = self.write_and_merge(&lease, &active, rec, body, opts).await;
        active.closing();
        self.release(lease).await;
        drop(active);
        out
    }

    /// Takes the lease. A local holder that is finishing is waited for (at most
    /// [`LEASE_WAIT`]); a stalled one (the client reconnected on a new connection) is
    /// stopped first.
    pub(crate) async fn lease(
        &self,
        id: &str,
        expected: Option<u64>,
    ) -> Result<(Lease, UploadRecord)> {
        let req = self.lease_request(expected);
        let mut stopping = false;
        let deadline = tokio::time::Instant::now() + LEASE_WAIT;
        loop {
            match self.state.acquire(id, &req).await? {
                Acquire::Granted(lease, rec) => return Ok((lease, *rec)),
                Acquire::Conflict { offset } => return Err(Error::OffsetMismatch { offset }),
                Acquire::Missing => return Err(Error::NotFound),
                Acquire::Complete => return Err(Error::Complete),
                Acquire::Held { .. } => {
                    if !stopping && self.writers.stop_if_stalled(id, self.cfg.stall_after) {
                        metrics::counter!("upgate_lease_takeovers_total").increment(1);
                        stopping = true;
                    }
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if !stopping || left.is_zero() {
                        return Err(Error::Locked);
                    }
                    // Woken when the local holder goes (no polling: a thousand clients
                    // retrying at once must not spin); without one (the lease is
                    // between two steps of a finishing writer), a short sleep.
                    if !self.writers.wait_gone(id, left).await {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
        }
    }

    /// Releases the lease, then merges ranges that were staged while it was held
    /// (their writers could not take the lease, so they rely on this check).
    pub(crate) async fn release(&self, lease: Lease) {
        if let Err(e) = self.state.release(&lease).await {
            tracing::warn!(id = %lease.id, error = %e, "lease release failed; it expires by TTL");
        }
        if let Err(e) = self.try_merge(&lease.id).await {
            tracing::debug!(id = %lease.id, error = %e, "merge after release did not run");
        }
    }

    /// Writes the body, then merges staged ranges and finalizes when full.
    pub(crate) async fn write_and_merge<B: ChunkBody>(
        &self,
        lease: &Lease,
        active: &Active,
        rec: UploadRecord,
        body: &mut B,
        opts: WriteOpts,
    ) -> Result<UploadRecord> {
        let (rec, writer, stop) = self.write_leased(lease, active, rec, body, opts).await?;
        let rec = self.merge_staged(lease, rec, Some(writer)).await?;
        match stop {
            Some(Error::Interrupted { .. }) => Err(Error::Interrupted { offset: rec.offset }),
            Some(e) => Err(e),
            None => Ok(rec),
        }
    }

    /// The pump: body → blob writer, with commits. Returns the committed record, the
    /// writer (positioned at the committed offset) and why the body stopped early, if it
    /// did. A checksum failure or an interrupted checksummed body commits nothing.
    pub(crate) async fn write_leased<B: ChunkBody>(
        &self,
        lease: &Lease,
        active: &Active,
        rec: UploadRecord,
        body: &mut B,
        opts: WriteOpts,
    ) -> Result<(UploadRecord, Box<dyn BlobWriter>, Option<Error>)> {
        let id = rec.id.clone();
        let mut compare = match opts.skip {
            0 => None,
            n => Some(Comparer::of(
                self.blobs
                    .read(&id, rec.offset - n, rec.offset, false)
                    .await,
            )?),
        };
        let mut skip = opts.skip;
        let mut writer = self.blobs.open(&id, rec.offset, &rec.assembly).await?;
        if opts.checksum.is_none() {
            // Nothing left to verify: a crash may keep these bytes (see `status`).
            writer.trust_tail().await?;
        }
        let mut hasher = opts.checksum.as_ref().map(|c| HashPipe::spawn(c.algorithm));
        let mut running = RunningPipe::resume(&rec);
        let mut committed = rec;
        let mut pos = committed.offset;
        let start = pos;
        let mut last_commit = Instant::now();
        let mut last_renew = Instant::now();
        // A store that cannot recover uncommitted bytes after a crash asks for commits
        // at least this often, also while the client pauses (the body's read stays
        // pending across such a commit, inside the stream: nothing it holds is dropped).
        // Ticks every half interval, each making durable what is older than half an
        // interval: a byte waits at most one interval (plus the commit) to be stored.
        let idle_commit = self.blobs.commit_interval();
        let interval = idle_commit.map_or(self.cfg.commit_interval, |d| {
            (d / 2).min(self.cfg.commit_interval)
        });
        let chunks = futures_util::stream::unfold(&mut *body, |b| async move {
            let r = b.next_chunk().await;
            Some((r, b))
        });
        tokio::pin!(chunks);
        // Whether the writer was told the client paused, since the last frame.
        let mut idle = true;
        let stop = loop {
            let tick = match idle_commit {
                Some(_) if hasher.is_none() && pos > committed.offset => {
                    Some(tokio::time::Instant::from_std(last_commit + interval))
                }
                _ => None,
            };
            let event = tokio::select! {
                biased;
                _ = active.cancel.cancelled() => Event::Cancelled,
                _ = sleep_until(tick) => Event::Tick,
                r = chunks.next() => Event::Chunk(r.unwrap_or(Ok(None))),
                // The client pauses: the writer and the hashes take the frames gathered.
                _ = tokio::time::sleep(IDLE), if !idle => Event::Idle,
            };
            let next = match event {
                Event::Cancelled => Err(true),
                Event::Idle => {
                    self.keeping(lease, writer.idle()).await?;
                    if let Some(h) = hasher.as_mut() {
                        h.idle().await;
                    }
                    if let Some(r) = running.as_mut() {
                        r.idle().await;
                    }
                    idle = true;
                    continue;
                }
                Event::Tick => {
                    committed = self
                        .commit_writer(lease, &mut writer, committed, Some(interval), &mut running)
                        .await?;
                    last_commit = Instant::now();
                    if let Some(f) = &opts.on_commit {
                        (f.0)(committed.offset);
                    }
                    continue;
                }
                Event::Chunk(r) => r.map_err(|_| false),
            };
            let mut data = match next {
                Ok(Some(d)) => d,
                Ok(None) => break None,
                Err(true) if self.writers.is_shutting_down() => {
                    break Some(Error::Unavailable("server is shutting down".into()))
                }
                Err(_) => break Some(Error::Interrupted { offset: 0 }),
            };
            active.progress();
            if last_renew.elapsed() >= self.cfg.lease_ttl / 3 {
                // Bytes still arrive: keep the lease. A stalled or dead holder stops
                // renewing, so another instance can take the upload over after the TTL.
                if !self.state.renew(lease, self.cfg.lease_ttl).await? {
                    break Some(Error::Locked);
                }
                last_renew = Instant::now();
            }
            if skip > 0 {
                let n = (skip as usize).min(data.len());
                let head = data.split_to(n);
                if let Some(cmp) = compare.as_mut() {
                    if !cmp.same(&head).await? {
                        break Some(Error::RangeConflict {
                            at: committed.offset - skip,
                        });
                    }
                }
                skip -= n as u64;
                if data.is_empty() {
                    continue;
                }
            }
            if pos + data.len() as u64 > opts.max_end {
                break Some(opts.overrun.error());
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&data).await;
            }
            if let Some(r) = running.as_mut() {
                r.update(&data).await;
            }
            pos += data.len() as u64;
            self.keeping(lease, writer.write(data)).await?;
            idle = false;
            let due = pos - committed.offset >= self.cfg.commit_every
                || last_commit.elapsed() >= interval;
            if hasher.is_none() && due {
                committed = self
                    .commit_writer(lease, &mut writer, committed, Some(interval), &mut running)
                    .await?;
                last_commit = Instant::now();
                if let Some(f) = &opts.on_commit {
                    (f.0)(committed.offset);
                }
            }
        };
        active.closing();
        if let (Some(h), Some(want)) = (hasher, opts.checksum) {
            if stop.is_some() {
                return Err(match stop {
                    Some(Error::Interrupted { .. }) => Error::Interrupted {
                        offset: committed.offset,
                    },
                    Some(e) => e,
                    None => Error::ChecksumMismatch,
                });
            }
            if h.finish().await.as_deref() != Some(&want.digest[..]) {
                return Err(Error::ChecksumMismatch);
            }
        }
        match opts.finish {
            Some(f) => {
                let t = Instant::now();
                let point = match pos > committed.offset {
                    true => {
                        let p = self.keeping(lease, writer.commit()).await?;
                        metrics::histogram!("upgate_storage_commit_seconds")
                            .record(t.elapsed().as_secs_f64());
                        p
                    }
                    false => crate::blob::CommitPoint {
                        offset: committed.offset,
                        assembly: None,
                    },
                };
                let clean = stop.is_none();
                let mut attrs = f.attrs;
                if point.offset > committed.offset {
                    attrs.extend(running_at(&mut running, point.offset).await);
                }
                if f.touch && (clean || point.offset > start) {
                    attrs.push((core_attr::TOUCHED.to_owned(), now_secs().to_string()));
                }
                let c = Commit {
                    expected_offset: committed.offset,
                    new_offset: point.offset,
                    assembly: point.assembly,
                    expires_at: Some(self.expiry_from_now()),
                    attrs,
                    declare_length: f.declare_length && clean,
                    release: f.release,
                    ..Default::default()
                };
                committed = self.apply(lease, &c).await?;
            }
            None if pos > committed.offset => {
                committed = self
                    .commit_writer(lease, &mut writer, committed, None, &mut running)
                    .await?;
            }
            None => {}
        }
        Ok((committed, writer, stop))
    }

    /// fsync the writer, then CAS the offset forward (renewing the lease and expiry).
    /// `aged`: a commit asked for by time, which may leave out bytes younger than that
    /// (see [`BlobWriter::commit_aged`]); the writer then stays ahead of the record.
    /// `running`: the write's running digest, stored with the offset when it is there.
    pub(crate) async fn commit_writer(
        &self,
        lease: &Lease,
        writer: &mut Box<dyn BlobWriter>,
        rec: UploadRecord,
        aged: Option<std::time::Duration>,
        running: &mut Option<RunningPipe>,
    ) -> Result<UploadRecord> {
        let t = Instant::now();
        let point = match aged {
            Some(age) => self.keeping(lease, writer.commit_aged(age)).await?,
            None => self.keeping(lease, writer.commit()).await?,
        };
        if point.offset == rec.offset && point.assembly.is_none() {
            return Ok(rec);
        }
        metrics::histogram!("upgate_storage_commit_seconds").record(t.elapsed().as_secs_f64());
        let attrs = match point.offset > rec.offset {
            true => running_at(running, point.offset)
                .await
                .into_iter()
                .collect(),
            false => Vec::new(),
        };
        let c = Commit {
            expected_offset: rec.offset,
            new_offset: point.offset,
            assembly: point.assembly,
            expires_at: Some(self.expiry_from_now()),
            attrs,
            ..Default::default()
        };
        self.apply(lease, &c).await
    }

    /// Runs a storage step under `lease`, renewing the lease while the step lasts: a
    /// step may wait a long time for the process's budget of bytes in flight (a
    /// thousand uploads finishing at once), and a holder that lost its lease meanwhile
    /// would do the work for nothing (its commit fenced), again and again as each new
    /// holder waits as long. A holder whose client went silent does not renew (it runs
    /// no step), so it can still be taken over after the TTL. The step is dropped if
    /// the lease was lost anyway.
    pub(crate) async fn keeping<T, E>(
        &self,
        lease: &Lease,
        step: impl std::future::Future<Output = std::result::Result<T, E>>,
    ) -> Result<T>
    where
        Error: From<E>,
    {
        tokio::pin!(step);
        // Most steps (a frame handed to a writer) are done at once: no timer for them.
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(step.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(r) = first {
            return Ok(r?);
        }
        let every = self.cfg.lease_ttl / 3;
        loop {
            tokio::select! {
                r = &mut step => return Ok(r?),
                _ = tokio::time::sleep(every) => {
                    if !self.state.renew(lease, self.cfg.lease_ttl).await? {
                        return Err(Error::Locked);
                    }
                }
            }
        }
    }

    /// One fenced commit, outcomes mapped to errors.
    pub(crate) async fn apply(&self, lease: &Lease, c: &Commit) -> Result<UploadRecord> {
        let t = Instant::now();
        let out = self.state.commit(lease, c, self.cfg.lease_ttl).await;
        metrics::histogram!("upgate_state_commit_seconds").record(t.elapsed().as_secs_f64());
        match out? {
            CommitOutcome::Done(r) => {
                let stored = c.new_offset.saturating_sub(c.expected_offset);
                metrics::counter!("upgate_bytes_stored_total").increment(stored);
                Ok(*r)
            }
            CommitOutcome::Missing => Err(Error::NotFound),
            CommitOutcome::Fenced => Err(Error::Locked),
            CommitOutcome::Conflict { offset } => Err(Error::Internal(format!(
                "offset moved to {offset} under a held lease"
            ))),
        }
    }
}

/// The running digest's attribute for a commit at `at`, when there is one exactly there.
async fn running_at(running: &mut Option<RunningPipe>, at: u64) -> Option<(String, String)> {
    running.as_mut()?.attr_at(at).await
}

/// How long the client may pause before the writer hands on the frames it gathered
/// ([`BlobWriter::idle`]).
const IDLE: std::time::Duration = std::time::Duration::from_millis(5);

/// What the pump waited for.
enum Event<T> {
    Cancelled,
    /// No frame came for `IDLE`.
    Idle,
    /// Uncommitted bytes waited the store's commit interval.
    Tick,
    Chunk(T),
}

/// Sleeps until `t`, or forever.
async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
