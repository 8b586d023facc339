//! Embedded durable state in one redb file: the single-machine default.
//!
//! Records live in the `uploads` table as JSON, keyed by id. Every mutation is one
//! write transaction (durable on commit: redb fsyncs), so the offset compare-and-set is
//! atomic and survives `kill -9`. redb locks its file to one process, so leases can live
//! in memory: they only matter while this process runs. The lease map's mutex is held
//! across a commit's fence check and its write transaction, so a taken-over holder can
//! never commit after its successor started writing.
//!
//! Blocking redb calls run on tokio's blocking pool. Open uploads that can expire are
//! also indexed by `(expires_at, id)` in the `expiry` table, kept in the same
//! transaction as the record, so the sweep reads only the expired ones, oldest first,
//! however many records there are (a database from before the index gets it built once
//! at start-up).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{
    Acquire, Commit, CommitOutcome, Doc, Lease, LeaseRequest, StateError, StateStore, Update,
};
use crate::model::{ListFilter, StagedRange, Status, UploadRecord};

const UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("uploads");
/// Generic documents: key `kind \0 id`, value = 8-byte little-endian version ‖ body.
const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("docs");
/// Open uploads by `(expires_at, id)`.
const EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("expiry");
/// The `DOCS` key saying the expiry index covers every record.
const EXPIRY_INDEXED: &str = "\0meta\0expiry-index";

/// The expiry index key of a record, if it can expire.
fn expiry_key(rec: &UploadRecord) -> Option<u64> {
    (rec.status == Status::Open && rec.expires_at != 0).then_some(rec.expires_at)
}

struct Held {
    holder: String,
    fence: u64,
    until: Instant,
}

struct Inner {
    db: Database,
    leases: Mutex<HashMap<String, Held>>,
    next_fence: std::sync::atomic::AtomicU64,
    /// Operations on the blocking pool at once. redb runs one write transaction at a
    /// time, so a thousand concurrent commits would park a thousand threads waiting for
    /// it (each with its stack and allocator arena); they wait here instead, as tasks.
    ops: Arc<tokio::sync::Semaphore>,
    /// Creations waiting for the next group commit (see [`RedbStore::insert`]).
    inserts: Mutex<Vec<PendingInsert>>,
}

/// A creation and who waits for its outcome.
type PendingInsert = (
    UploadRecord,
    tokio::sync::oneshot::Sender<Result<(), StateError>>,
);

/// What a group commit of creations came to: one outcome per creation, or the error
/// that failed them all.
type InsertOutcomes = Result<Vec<Result<(), StateError>>, StateError>;

/// Blocking threads the store uses at most.
const BLOCKING_OPS: usize = 8;

/// The redb-backed [`StateStore`].
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

fn unavailable(e: impl std::fmt::Display) -> StateError {
    StateError::Unavailable(e.to_string())
}

fn decode(bytes: &[u8]) -> Result<UploadRecord, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt(e.to_string()))
}

fn encode(rec: &UploadRecord) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(rec).map_err(|e| StateError::Corrupt(e.to_string()))
}

/// Page cache when none is given (`--state-cache`): bounded well below redb's 1 GiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

impl RedbStore {
    /// Opens (or creates) the database file with [`DEFAULT_CACHE_BYTES`] of page cache;
    /// parent directories are created.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the database file with at most `cache_bytes` of page cache.
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Self, StateError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            let uploads = txn.open_table(UPLOADS).map_err(unavailable)?;
            let mut docs = txn.open_table(DOCS).map_err(unavailable)?;
            let mut expiry = txn.open_table(EXPIRY).map_err(unavailable)?;
            if docs.get(EXPIRY_INDEXED).map_err(unavailable)?.is_none() {
                for item in uploads.iter().map_err(unavailable)? {
                    let (k, v) = item.map_err(unavailable)?;
                    if let Some(at) = expiry_key(&decode(v.value())?) {
                        expiry.insert((at, k.value()), ()).map_err(unavailable)?;
                    }
                }
                docs.insert(EXPIRY_INDEXED, [0u8; 8].as_slice())
                    .map_err(unavailable)?;
            }
        }
        txn.commit().map_err(unavailable)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                leases: Mutex::new(HashMap::new()),
                next_fence: std::sync::atomic::AtomicU64::new(1),
                ops: Arc::new(tokio::sync::Semaphore::new(BLOCKING_OPS)),
                inserts: Mutex::new(Vec::new()),
            }),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StateError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let permit = inner
            .ops
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StateError::Unavailable(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&inner)
        })
        .await
        .map_err(|e| StateError::Unavailable(format!("state task failed: {e}")))?
    }
}

impl Inner {
    fn leases(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        // A poisoned lock only means another thread panicked mid-update of an in-memory
        // map; the map itself is still consistent enough to continue.
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(UPLOADS).map_err(unavailable)?;
        let got = table.get(id).map_err(unavailable)?;
        got.map(|v| decode(v.value())).transpose()
    }

    /// The creations queued so far.
    fn take_inserts(&self) -> Vec<PendingInsert> {
        std::mem::take(&mut *self.inserts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// One group commit: takes every creation queued by the time the write transaction
    /// is ours, inserts each (or answers `AlreadyExists`), commits once, and only then
    /// answers them all — a creation is answered after it is durable, as before, but a
    /// burst of creations shares one fsync instead of paying one each.
    fn insert_batch(&self) -> (Vec<PendingInsert>, InsertOutcomes) {
        let txn = self.db.begin_write();
        let batch = self.take_inserts();
        let outcomes = txn.map_err(unavailable).and_then(|txn| {
            let outcomes = write_inserts(&txn, &batch)?;
            txn.commit().map_err(unavailable)?;
            Ok(outcomes)
        });
        metrics::histogram!("upgate_state_group_commit_size").record(batch.len() as f64);
        (batch, outcomes)
    }

    /// Read-modify-write of one record in one write transaction. `f` returns the new
    /// record to store (or `None` to leave it) and the outcome.
    fn update<T>(
        &self,
        id: &str,
        f: impl FnOnce(Option<UploadRecord>) -> (Option<UploadRecord>, T),
    ) -> Result<T, StateError> {
        let txn = self.db.begin_write().map_err(unavailable)?;
        let out = {
            let mut table = txn.open_table(UPLOADS).map_err(unavailable)?;
            let current = table
                .get(id)
                .map_err(unavailable)?
                .map(|v| decode(v.value()))
                .transpose()?;
            let before = current.as_ref().and_then(expiry_key);
            let (new, out) = f(current);
            if let Some(rec) = new {
                table
                    .insert(id, encode(&rec)?.as_slice())
                    .map_err(unavailable)?;
                let after = expiry_key(&rec);
                if before != after {
                    let mut expiry = txn.open_table(EXPIRY).map_err(unavailable)?;
                    if let Some(at) = before {
                        expiry.remove((at, id)).map_err(unavailable)?;
                    }
                    if let Some(at) = after {
                        expiry.insert((at, id), ()).map_err(unavailable)?;
                    }
                }
            }
            out
        };
        txn.commit().map_err(unavailable)?;
        Ok(out)
    }
}

/// Inserts each queued creation (or notes `AlreadyExists`) in `txn`.
fn write_inserts(
    txn: &redb::WriteTransaction,
    batch: &[PendingInsert],
) -> Result<Vec<Result<(), StateError>>, StateError> {
    let mut table = txn.open_table(UPLOADS).map_err(unavailable)?;
    let mut expiry = txn.open_table(EXPIRY).map_err(unavailable)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (rec, _) in batch {
        if table.get(rec.id.as_str()).map_err(unavailable)?.is_some() {
            outcomes.push(Err(StateError::AlreadyExists));
            continue;
        }
        table
            .insert(rec.id.as_str(), encode(rec)?.as_slice())
            .map_err(unavailable)?;
        if let Some(at) = expiry_key(rec) {
            expiry
                .insert((at, rec.id.as_str()), ())
                .map_err(unavailable)?;
        }
        outcomes.push(Ok(()));
    }
    Ok(outcomes)
}

/// Answers each queued creation: its own outcome, or the error of the whole group.
fn answer_inserts(batch: Vec<PendingInsert>, outcomes: InsertOutcomes) {
    match outcomes {
        Ok(outcomes) => {
            for ((_, tx), out) in batch.into_iter().zip(outcomes) {
                let _ = tx.send(out);
            }
        }
        Err(e) => {
            for (_, tx) in batch {
                let _ = tx.send(Err(e.clone()));
            }
        }
    }
}

#[async_trait]
impl StateStore for RedbStore {
    /// Queues the creation for the next group commit; the one that finds the queue
    /// empty runs it (the queue then fills while that commit waits for the write
    /// transaction, so concurrent creations share it).
    async fn insert(&self, rec: &UploadRecord) -> Result<(), StateError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lead = {
            let mut q = self.inner.inserts.lock().unwrap_or_else(|p| p.into_inner());
            q.push((rec.clone(), tx));
            q.len() == 1
        };
        if lead {
            // Detached: the commit runs even if this caller goes away meanwhile (others
            // may be queued behind it).
            let store = self.clone();
            tokio::spawn(async move {
                let (batch, outcomes) = match store.run(|inner| Ok(inner.insert_batch())).await {
                    Ok(done) => done,
                    Err(e) => (store.inner.take_inserts(), Err(e)),
                };
                // Answered once this task holds the database no more: a caller that
                // drops its store after its creation finds the file closed (and may
                // open it again at once).
                drop(store);
                answer_inserts(batch, outcomes);
            });
        }
        rx.await
            .map_err(|_| StateError::Unavailable("creation dropped before its commit".into()))?
    }

    async fn get(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        let id = id.to_owned();
        self.run(move |inner| inner.read(&id)).await
    }

    async fn acquire(&self, id: &str, req: &LeaseRequest) -> Result<Acquire, StateError> {
        let (id, req) = (id.to_owned(), req.clone());
        self.run(move |inner| {
            let mut leases = inner.leases();
            let now = Instant::now();
            let Some(rec) = inner.read(&id)? else {
                return Ok(Acquire::Missing);
            };
            if req.owner.as_ref().is_some_and(|o| !o.allows(&rec)) {
                return Ok(Acquire::Missing); // not yours answers like not there
            }
            if let Some(h) = leases.get(&id) {
                if h.until > now {
                    return Ok(Acquire::Held {
                        holder: h.holder.clone(),
                    });
                }
            }
            if rec.status == Status::Complete {
                return Ok(Acquire::Complete);
            }
            if let Some(want) = req.expected_offset {
                if want != rec.offset {
                    return Ok(Acquire::Conflict { offset: rec.offset });
                }
            }
            let fence = inner
                .next_fence
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            leases.insert(
                id.clone(),
                Held {
                    holder: req.holder.clone(),
                    fence,
                    until: now + req.ttl,
                },
            );
            Ok(Acquire::Granted(
                Lease {
                    id,
                    holder: req.holder,
                    fence,
                },
                Box::new(rec),
            ))
        })
        .await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        let lease = lease.clone();
        self.run(move |inner| {
            let mut leases = inner.leases();
            if leases
                .get(&lease.id)
                .is_some_and(|h| h.fence == lease.fence)
            {
                leases.remove(&lease.id);
            }
            Ok(())
        })
        .await
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError> {
        let lease = lease.clone();
        self.run(move |inner| {
            let mut leases = inner.leases();
            let now = Instant::now();
            Ok(match leases.get_mut(&lease.id) {
                Some(h) if h.fence == lease.fence && h.until > now => {
                    h.until = now + ttl;
                    true
                }
                _ => false,
            })
        })
        .await
    }

    async fn commit(
        &self,
        lease: &Lease,
        c: &Commit,
        ttl: Duration,
    ) -> Result<CommitOutcome, StateError> {
        let (lease, c) = (lease.clone(), c.clone());
        self.run(move |inner| {
            let mut leases = inner.leases();
            match leases.get_mut(&lease.id) {
                Some(h) if h.fence == lease.fence => h.until = Instant::now() + ttl,
                _ => return Ok(CommitOutcome::Fenced),
            }
            let out = inner.update(&lease.id, |cur| {
                let Some(mut rec) = cur else {
                    return (None, CommitOutcome::Missing);
                };
                if rec.offset != c.expected_offset {
                    return (None, CommitOutcome::Conflict { offset: rec.offset });
                }
                apply_commit(&mut rec, &c);
                (Some(rec.clone()), CommitOutcome::Done(Box::new(rec)))
            })?;
            if c.release && matches!(out, CommitOutcome::Done(_)) {
                leases.remove(&lease.id);
            }
            Ok(out)
        })
        .await
    }

    async fn add_range(&self, id: &str, range: &StagedRange) -> Result<Update, StateError> {
        let (id, range) = (id.to_owned(), range.clone());
        self.run(move |inner| {
            inner.update(&id, |cur| match cur {
                None => (None, Update::Missing),
                Some(rec) if rec.status == Status::Complete => {
                    (None, Update::Refused("upload is complete".into()))
                }
                Some(mut rec) => {
                    rec.ranges.push(range);
                    (Some(rec.clone()), Update::Done(Box::new(rec)))
                }
            })
        })
        .await
    }

    async fn set_length(&self, id: &str, length: u64) -> Result<Update, StateError> {
        let id = id.to_owned();
        self.run(move |inner| {
            inner.update(&id, |cur| match cur {
                None => (None, Update::Missing),
                Some(mut rec) => match check_set_length(&rec, length) {
                    Err(why) => (None, Update::Refused(why)),
                    Ok(()) => {
                        rec.length = Some(length);
                        (Some(rec.clone()), Update::Done(Box::new(rec)))
                    }
                },
            })
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        let id = id.to_owned();
        self.run(move |inner| {
            let txn = inner.db.begin_write().map_err(unavailable)?;
            let old = {
                let mut table = txn.open_table(UPLOADS).map_err(unavailable)?;
                let removed = table.remove(id.as_str()).map_err(unavailable)?;
                let old = removed.map(|v| decode(v.value())).transpose()?;
                if let Some(at) = old.as_ref().and_then(expiry_key) {
                    let mut expiry = txn.open_table(EXPIRY).map_err(unavailable)?;
                    expiry.remove((at, id.as_str())).map_err(unavailable)?;
                }
                old
            };
            txn.commit().map_err(unavailable)?;
            inner.leases().remove(&id);
            Ok(old)
        })
        .await
    }

    async fn expired(&self, now: u64, limit: usize) -> Result<Vec<String>, StateError> {
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let expiry = txn.open_table(EXPIRY).map_err(unavailable)?;
            let mut out = Vec::new();
            for item in expiry.range((0, "")..(now, "")).map_err(unavailable)? {
                let (k, _) = item.map_err(unavailable)?;
                out.push(k.value().1.to_owned());
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_attrs(
        &self,
        id: &str,
        expect: Option<(String, Option<String>)>,
        set: Vec<(String, String)>,
    ) -> Result<Update, StateError> {
        let id = id.to_owned();
        self.run(move |inner| {
            inner.update(&id, |cur| match cur {
                None => (None, Update::Missing),
                Some(mut rec) => {
                    if let Some((k, want)) = &expect {
                        if rec.attrs.get(k) != want.as_ref() {
                            return (None, Update::Refused(format!("attribute {k} changed")));
                        }
                    }
                    rec.attrs.extend(set);
                    (Some(rec.clone()), Update::Done(Box::new(rec)))
                }
            })
        })
        .await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<UploadRecord>, StateError> {
        let filter = filter.clone();
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(UPLOADS).map_err(unavailable)?;
            let mut out = Vec::new();
            for item in table.iter().map_err(unavailable)? {
                let (_, v) = item.map_err(unavailable)?;
                let rec = decode(v.value())?;
                if filter.matches(&rec) {
                    out.push(rec);
                }
            }
            out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(out)
        })
        .await
    }

    async fn doc_get(&self, kind: &str, id: &str) -> Result<Option<Doc>, StateError> {
        let key = doc_key(kind, id);
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(DOCS).map_err(unavailable)?;
            let got = table.get(key.as_str()).map_err(unavailable)?;
            got.map(|v| decode_doc(v.value())).transpose()
        })
        .await
    }

    async fn doc_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        expect: Option<u64>,
    ) -> Result<Option<u64>, StateError> {
        let (key, body) = (doc_key(kind, id), body.to_owned());
        self.run(move |inner| {
            let txn = inner.db.begin_write().map_err(unavailable)?;
            let out = {
                let mut table = txn.open_table(DOCS).map_err(unavailable)?;
                let current = table
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|v| decode_doc(v.value()))
                    .transpose()?;
                if current.as_ref().map(|d| d.version) != expect {
                    None
                } else {
                    let version = expect.unwrap_or(0) + 1;
                    let mut bytes = version.to_le_bytes().to_vec();
                    bytes.extend_from_slice(body.as_bytes());
                    table
                        .insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                    Some(version)
                }
            };
            txn.commit().map_err(unavailable)?;
            Ok(out)
        })
        .await
    }

    async fn doc_delete(&self, kind: &str, id: &str) -> Result<bool, StateError> {
        let key = doc_key(kind, id);
        self.run(move |inner| {
            let txn = inner.db.begin_write().map_err(unavailable)?;
            let existed = {
                let mut table = txn.open_table(DOCS).map_err(unavailable)?;
                let removed = table.remove(key.as_str()).map_err(unavailable)?;
                removed.is_some()
            };
            txn.commit().map_err(unavailable)?;
            Ok(existed)
        })
        .await
    }

    async fn doc_list(&self, kind: &str) -> Result<Vec<(String, Doc)>, StateError> {
        let prefix = doc_key(kind, "");
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(DOCS).map_err(unavailable)?;
            let mut out = Vec::new();
            for item in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (k, v) = item.map_err(unavailable)?;
                let Some(id) = k.value().strip_prefix(prefix.as_str()).map(str::to_owned) else {
                    break;
                };
                out.push((id, decode_doc(v.value())?));
            }
            Ok(out)
        })
        .await
    }
}

fn doc_key(kind: &str, id: &str) -> String {
    format!("{kind}\0{id}")
}

fn decode_doc(bytes: &[u8]) -> Result<Doc, StateError> {
    if bytes.len() < 8 {
        return Err(StateError::Corrupt("short document".into()));
    }
    let (v, body) = bytes.split_at(8);
    let mut ver = [0u8; 8];
    ver.copy_from_slice(v);
    Ok(Doc {
        version: u64::from_le_bytes(ver),
        body: String::from_utf8(body.to_vec()).map_err(|e| StateError::Corrupt(e.to_string()))?,
    })
}

/// Applies a checked commit to a record (shared with other backends' tests).
pub(crate) fn apply_commit(rec: &mut UploadRecord, c: &Commit) {
    rec.offset = c.new_offset;
    if let Some(a) = &c.assembly {
        rec.assembly.clone_from(a);
    }
    if let Some(t) = c.expires_at {
        rec.expires_at = t;
    }
    if !c.drop_ranges.is_empty() {
        rec.ranges.retain(|r| !c.drop_ranges.contains(&r.key));
    }
    if c.declare_length && rec.length.is_none() && check_set_length(rec, rec.offset).is_ok() {
        rec.length = Some(rec.offset);
    }
    for (k, v) in &c.attrs {
        rec.attrs.insert(k.clone(), v.clone());
    }
    if c.complete && rec.is_filled() {
        rec.status = Status::Complete;
        rec.ranges.clear();
    }
}

/// Whether a deferred length may be set to `length`.
pub(crate) fn check_set_length(rec: &UploadRecord, length: u64) -> Result<(), String> {
    match rec.length {
        Some(l) if l == length => Ok(()),
        Some(l) => Err(format!("length already declared as {l}")),
        None if length < rec.offset => Err(format!(
            "length {length} is below the stored {}",
            rec.offset
        )),
        None if rec.ranges.iter().any(|r| r.end > length) => {
            Err("length is below a stored range".into())
        }
        None => Ok(()),
    }
}
