//! Upload state in Redis, shared by every gateway instance (`--state redis://…` or
//! `redis+unix:///path/redis.sock`).
//!
//! # Key layout (prefix `P`, default `upgate:`, set with `--redis-prefix`)
//!
//! | key | type | content | TTL |
//! |---|---|---|---|
//! | `P u:{ID}` | hash | one upload (fields below) | none; removed by delete or the expiry sweep |
//! | `P u:{ID}:lease` | string | `"<fence> <holder>"` | the lease TTL (PX), renewed by each commit |
//! | `P expiry` | sorted set | open uploads by `expires_at` | none |
//! | `P uploads` | sorted set | every upload by `created_at` (listing) | none |
//! | `P doc:KIND` | hash | documents: id → `"<version> <body>"` | none |
//!
//! Upload hash fields: `static` (the record's JSON as inserted: metadata, owner,
//! concatenation role, creation time), `offset`, `status` (`open`|`complete`), `length`
//! (`""` while deferred), `expires`, `assembly`, `fence` (last lease fence), `r:<key>` =
//! `"<start> <end>"` per staged range, `a:<name>` per attribute. The dynamic
//! fields win over the copies inside `static`.
//!
//! Every mutation is one Lua script (`scripts.rs`) so preconditions (fence, expected
//! offset, status) are checked where the data is. The `{ID}` hash tag keeps one
//! upload's keys in one slot, but the index keys live elsewhere, so scripts touch two
//! slots: run a single primary (with replicas / Sentinel), not Redis Cluster.
//!
//! # Failures
//! Connection errors become [`StateError::Unavailable`] (the protocols answer 503 +
//! `Retry-After`). The connection manager reconnects in the background. Operations that
//! are safe to repeat (reads, acquire by the same holder, a commit whose offset already
//! moved to the new value under the same fence, ranges, length, release) are retried
//! once after a dropped connection; the others (insert, delete, attribute and document
//! compare-and-set) are not, because a lost reply makes a retry ambiguous.
//!
//! # Persistence
//! A commit is acknowledged when Redis has applied the script, not when it reached
//! disk. Run Redis with `appendonly yes` and `appendfsync everysec` (at most one second
//! of commits lost on a Redis crash; those uploads are resumed from an earlier offset
//! and their bytes re-sent) or `appendfsync always` (nothing lost, slower). Without
//! persistence a Redis restart forgets every upload.

mod scripts;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script};

use super::{
    Acquire, Commit, CommitOutcome, Doc, Lease, LeaseRequest, StateError, StateStore, Update,
};
use crate::model::{ListFilter, StagedRange, Status, UploadRecord};

/// The Redis-backed [`StateStore`].
#[derive(Clone)]
pub struct RedisStore {
    con: ConnectionManager,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
}

struct Scripts {
    acquire: Script,
    release: Script,
    renew: Script,
    commit: Script,
    insert: Script,
    add_range: Script,
    set_length: Script,
    update_attrs: Script,
    delete: Script,
    doc_put: Script,
}

fn unavailable(e: RedisError) -> StateError {
    StateError::Unavailable(format!("redis: {e}"))
}

fn corrupt(what: impl std::fmt::Display) -> StateError {
    StateError::Corrupt(format!("redis: {what}"))
}

/// Whether a failed command may be repeated once (the connection broke or timed out).
fn transient(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout()
}

impl RedisStore {
    /// Connects (failing fast when the server cannot be reached at start); later
    /// outages are survived by reconnecting.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StateError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_millis(500));
        let con = tokio::time::timeout(
            Duration::from_secs(10),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StateError::Unavailable(format!("redis at {url}: connect timed out")))?
        .map_err(unavailable)?;
        Ok(Self {
            con,
            prefix: prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts {
                acquire: Script::new(scripts::ACQUIRE),
                release: Script::new(scripts::RELEASE),
                renew: Script::new(scripts::RENEW),
                commit: Script::new(scripts::COMMIT),
                insert: Script::new(scripts::INSERT),
                add_range: Script::new(scripts::ADD_RANGE),
                set_length: Script::new(scripts::SET_LENGTH),
                update_attrs: Script::new(scripts::UPDATE_ATTRS),
                delete: Script::new(scripts::DELETE),
                doc_put: Script::new(scripts::DOC_PUT),
            }),
        })
    }

    /// A connection handle (cheap clone of the multiplexed manager).
    pub fn connection(&self) -> ConnectionManager {
        self.con.clone()
    }

    /// The key prefix in force.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn rec_key(&self, id: &str) -> String {
        format!("{}u:{{{id}}}", self.prefix)
    }
    fn lease_key(&self, id: &str) -> String {
        format!("{}u:{{{id}}}:lease", self.prefix)
    }
    fn expiry_key(&self) -> String {
        format!("{}expiry", self.prefix)
    }
    fn all_key(&self) -> String {
        format!("{}uploads", self.prefix)
    }
    fn doc_key(&self, kind: &str) -> String {
        format!("{}doc:{kind}", self.prefix)
    }

    /// Runs `script` with keys and args; with `retry`, repeats it once after a dropped
    /// connection (only for scripts whose second run is harmless).
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
        retry: bool,
    ) -> Result<T, StateError> {
        self.eval_retry(script, keys, args, retry.then_some(args))
            .await
    }

    /// Runs `script`; after a dropped connection, once more with `retry_args` if given.
    async fn eval_retry<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
        retry_args: Option<&[String]>,
    ) -> Result<T, StateError> {
        match (self.invoke(script, keys, args).await, retry_args) {
            (Err(e), Some(again)) if transient(&e) => {
                self.invoke(script, keys, again).await.map_err(unavailable)
            }
            (first, _) => first.map_err(unavailable),
        }
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> redis::RedisResult<T> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(k);
        }
        for a in args {
            inv.arg(a);
        }
        inv.invoke_async(&mut self.con.clone()).await
    }

    /// Runs a read command, once more after a dropped connection.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T, StateError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match f(self.con.clone()).await {
            Err(e) if transient(&e) => f(self.con.clone()).await.map_err(unavailable),
            other => other.map_err(unavailable),
        }
    }

    async fn hgetall(&self, id: &str) -> Result<Vec<String>, StateError> {
        let key = self.rec_key(id);
        self.read(|mut con| {
            let key = key.clone();
            async move { con.hgetall(key).await }
        })
        .await
    }
}

/// The hash fields of a new record.
fn to_fields(rec: &UploadRecord) -> Result<Vec<String>, StateError> {
    let mut stat = rec.clone();
    stat.ranges.clear();
    stat.attrs.clear();
    stat.assembly.clear();
    let json = serde_json::to_string(&stat).map_err(corrupt)?;
    let mut f = vec![
        "static".into(),
        json,
        "offset".into(),
        rec.offset.to_string(),
        "status".into(),
        status_str(rec.status).into(),
        "length".into(),
        rec.length.map(|l| l.to_string()).unwrap_or_default(),
        "expires".into(),
        rec.expires_at.to_string(),
        "assembly".into(),
        rec.assembly.clone(),
        "fence".into(),
        "0".into(),
    ];
    for r in &rec.ranges {
        f.push(format!("r:{}", r.key));
        f.push(format!("{} {}", r.start, r.end));
    }
    for (k, v) in &rec.attrs {
        f.push(format!("a:{k}"));
        f.push(v.clone());
    }
    Ok(f)
}

fn status_str(s: Status) -> &'static str {
    match s {
        Status::Open => "open",
        Status::Complete => "complete",
    }
}

fn num(v: &str, what: &str) -> Result<u64, StateError> {
    v.parse()
        .map_err(|_| corrupt(format_args!("{what} is not a number: {v:?}")))
}

/// Rebuilds a record from `HGETALL` output (field, value, field, value, …).
fn from_fields(flat: &[String]) -> Result<UploadRecord, StateError> {
    let mut map: BTreeMap<&str, &str> = BTreeMap::new();
    for pair in flat.chunks(2) {
        if let [k, v] = pair {
            map.insert(k, v);
        }
    }
    let stat = map
        .get("static")
        .ok_or_else(|| corrupt("record without static"))?;
    let mut rec: UploadRecord = serde_json::from_str(stat).map_err(corrupt)?;
    rec.ranges.clear();
    rec.attrs.clear();
    for (k, v) in &map {
        match *k {
            "offset" => rec.offset = num(v, "offset")?,
            "status" => {
                rec.status = match *v {
                    "complete" => Status::Complete,
                    _ => Status::Open,
                }
            }
            "length" if v.is_empty() => rec.length = None,
            "length" => rec.length = Some(num(v, "length")?),
            "expires" => rec.expires_at = num(v, "expires")?,
            "assembly" => rec.assembly = (*v).to_owned(),
            _ => {
                if let Some(key) = k.strip_prefix("r:") {
                    let (s, e) = v
                        .split_once(' ')
                        .ok_or_else(|| corrupt(format_args!("bad range {v:?}")))?;
                    rec.ranges.push(StagedRange {
                        start: num(s, "range start")?,
                        end: num(e, "range end")?,
                        key: key.to_owned(),
                    });
                } else if let Some(name) = k.strip_prefix("a:") {
                    rec.attrs.insert(name.to_owned(), (*v).to_owned());
                }
            }
        }
    }
    rec.ranges
        .sort_by(|a, b| (a.start, a.end, &a.key).cmp(&(b.start, b.end, &b.key)));
    Ok(rec)
}

/// Splits a script reply into its tag and the rest.
fn tagged(reply: &[String]) -> Result<(&str, &[String]), StateError> {
    match reply.split_first() {
        Some((tag, rest)) => Ok((tag.as_str(), rest)),
        None => Err(corrupt("empty script reply")),
    }
}

fn update_from(reply: &[String]) -> Result<Update, StateError> {
    match tagged(reply)? {
        ("done", fields) => Ok(Update::Done(Box::new(from_fields(fields)?))),
        ("missing", _) => Ok(Update::Missing),
        ("refused", why) => Ok(Update::Refused(why.first().cloned().unwrap_or_default())),
        (other, _) => Err(corrupt(format_args!("unexpected reply {other:?}"))),
    }
}

fn ms(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

#[async_trait]
impl StateStore for RedisStore {
    async fn insert(&self, rec: &UploadRecord) -> Result<(), StateError> {
        let indexed = rec.status == Status::Open && rec.expires_at != 0;
        let mut args = vec![
            rec.id.clone(),
            rec.created_at.to_string(),
            if indexed {
                rec.expires_at.to_string()
            } else {
                String::new()
            },
        ];
        args.extend(to_fields(rec)?);
        let keys = [self.rec_key(&rec.id), self.expiry_key(), self.all_key()];
        let reply: Vec<String> = self.eval(&self.scripts.insert, &keys, &args, false).await?;
        match tagged(&reply)?.0 {
            "done" => Ok(()),
            "exists" => Err(StateError::AlreadyExists),
            other => Err(corrupt(format_args!("unexpected reply {other:?}"))),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        let flat = self.hgetall(id).await?;
        if flat.is_empty() {
            return Ok(None);
        }
        from_fields(&flat).map(Some)
    }

    async fn acquire(&self, id: &str, req: &LeaseRequest) -> Result<Acquire, StateError> {
        let keys = [self.rec_key(id), self.lease_key(id)];
        let (mode, partner, user) = match &req.owner {
            None => ("", String::new(), String::new()),
            Some(o) => match &o.user {
                Some(u) => ("user", o.partner.to_string(), u.clone()),
                None => ("admin", o.partner.to_string(), String::new()),
            },
        };
        let kind = req
            .owner
            .as_ref()
            .and_then(|o| o.kind.clone())
            .unwrap_or_default();
        let args = [
            req.holder.clone(),
            req.expected_offset
                .map(|o| o.to_string())
                .unwrap_or_default(),
            ms(req.ttl),
            mode.to_owned(),
            partner,
            user,
            kind,
        ];
        let reply: Vec<String> = self.eval(&self.scripts.acquire, &keys, &args, true).await?;
        match tagged(&reply)? {
            ("granted", rest) => {
                let (fence, fields) = rest
                    .split_first()
                    .ok_or_else(|| corrupt("grant without fence"))?;
                Ok(Acquire::Granted(
                    Lease {
                        id: id.to_owned(),
                        holder: req.holder.clone(),
                        fence: num(fence, "fence")?,
                    },
                    Box::new(from_fields(fields)?),
                ))
            }
            ("held", rest) => Ok(Acquire::Held {
                holder: rest.first().cloned().unwrap_or_default(),
            }),
            ("conflict", rest) => Ok(Acquire::Conflict {
                offset: num(rest.first().map_or("", String::as_str), "offset")?,
            }),
            ("missing", _) => Ok(Acquire::Missing),
            ("complete", _) => Ok(Acquire::Complete),
            (other, _) => Err(corrupt(format_args!("unexpected reply {other:?}"))),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        let keys = [self.lease_key(&lease.id)];
        let args = [lease.fence.to_string()];
        let _: i64 = self.eval(&self.scripts.release, &keys, &args, true).await?;
        Ok(())
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError> {
        let keys = [self.lease_key(&lease.id)];
        let args = [lease.fence.to_string(), ms(ttl)];
        let n: i64 = self.eval(&self.scripts.renew, &keys, &args, true).await?;
        Ok(n == 1)
    }

    async fn commit(
        &self,
        lease: &Lease,
        c: &Commit,
        ttl: Duration,
    ) -> Result<CommitOutcome, StateError> {
        let keys = [
            self.rec_key(&lease.id),
            self.lease_key(&lease.id),
            self.expiry_key(),
        ];
        let mut args = vec![
            lease.fence.to_string(),
            c.expected_offset.to_string(),
            c.new_offset.to_string(),
            ms(ttl),
            if c.assembly.is_some() { "1" } else { "0" }.into(),
            c.assembly.clone().unwrap_or_default(),
            c.expires_at.map(|t| t.to_string()).unwrap_or_default(),
            if c.complete { "1" } else { "0" }.into(),
            lease.id.clone(),
            "0".into(),
            if c.declare_length { "1" } else { "0" }.into(),
            if c.release { "1" } else { "0" }.into(),
            c.attrs.len().to_string(),
        ];
        for (k, v) in &c.attrs {
            args.push(k.clone());
            args.push(v.clone());
        }
        args.extend(c.drop_ranges.iter().cloned());
        let mut again = args.clone();
        again[9] = "1".into();
        let reply: Vec<String> = self
            .eval_retry(&self.scripts.commit, &keys, &args, Some(&again))
            .await?;
        match tagged(&reply)? {
            ("done", fields) => Ok(CommitOutcome::Done(Box::new(from_fields(fields)?))),
            ("fenced", _) => Ok(CommitOutcome::Fenced),
            ("conflict", rest) => Ok(CommitOutcome::Conflict {
                offset: num(rest.first().map_or("", String::as_str), "offset")?,
            }),
            ("missing", _) => Ok(CommitOutcome::Missing),
            (other, _) => Err(corrupt(format_args!("unexpected reply {other:?}"))),
        }
    }

    async fn add_range(&self, id: &str, range: &StagedRange) -> Result<Update, StateError> {
        let keys = [self.rec_key(id)];
        let args = [
            range.key.clone(),
            range.start.to_string(),
            range.end.to_string(),
        ];
        let reply: Vec<String> = self
            .eval(&self.scripts.add_range, &keys, &args, true)
            .await?;
        update_from(&reply)
    }

    async fn set_length(&self, id: &str, length: u64) -> Result<Update, StateError> {
        let keys = [self.rec_key(id)];
        let args = [length.to_string()];
        let reply: Vec<String> = self
            .eval(&self.scripts.set_length, &keys, &args, true)
            .await?;
        update_from(&reply)
    }

    async fn delete(&self, id: &str) -> Result<Option<UploadRecord>, StateError> {
        let keys = [
            self.rec_key(id),
            self.lease_key(id),
            self.expiry_key(),
            self.all_key(),
        ];
        let args = [id.to_owned()];
        let reply: Vec<String> = self.eval(&self.scripts.delete, &keys, &args, false).await?;
        match tagged(&reply)? {
            ("done", fields) => Ok(Some(from_fields(fields)?)),
            ("missing", _) => Ok(None),
            (other, _) => Err(corrupt(format_args!("unexpected reply {other:?}"))),
        }
    }

    async fn expired(&self, now: u64, limit: usize) -> Result<Vec<String>, StateError> {
        // Scores are `expires_at`; the index may hold ids whose record changed since,
        // so each candidate is checked against its record.
        let key = self.expiry_key();
        let ids: Vec<String> = self
            .read(|mut con| {
                let key = key.clone();
                async move {
                    con.zrangebyscore_limit(key, "-inf", format!("({now}"), 0, limit as isize)
                        .await
                }
            })
            .await?;
        let mut con = self.con.clone();
        let mut out = Vec::new();
        for id in ids {
            match self.get(&id).await? {
                Some(rec)
                    if rec.status == Status::Open
                        && rec.expires_at != 0
                        && rec.expires_at < now =>
                {
                    out.push(id)
                }
                Some(rec) if rec.status == Status::Open && rec.expires_at != 0 => {
                    // Extended since it was indexed: fix the score.
                    let _: Result<i64, _> = con.zadd(self.expiry_key(), &id, rec.expires_at).await;
                }
                _ => {
                    // Completed or deleted since it was indexed.
                    let _: Result<i64, _> = con.zrem(self.expiry_key(), &id).await;
                }
            }
        }
        Ok(out)
    }

    async fn update_attrs(
        &self,
        id: &str,
        expect: Option<(String, Option<String>)>,
        set: Vec<(String, String)>,
    ) -> Result<Update, StateError> {
        let keys = [self.rec_key(id)];
        let mut args = match expect {
            None => vec!["0".into(), String::new(), String::new()],
            Some((k, None)) => vec!["1".into(), k, String::new()],
            Some((k, Some(v))) => vec!["2".into(), k, v],
        };
        for (k, v) in set {
            args.push(k);
            args.push(v);
        }
        let reply: Vec<String> = self
            .eval(&self.scripts.update_attrs, &keys, &args, false)
            .await?;
        update_from(&reply)
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<UploadRecord>, StateError> {
        let key = self.all_key();
        let ids: Vec<String> = self
            .read(|mut con| {
                let key = key.clone();
                async move { con.zrange(key, 0, -1).await }
            })
            .await?;
        let mut con = self.con.clone();
        let mut out = Vec::new();
        for batch in ids.chunks(256) {
            let mut pipe = redis::pipe();
            for id in batch {
                pipe.hgetall(self.rec_key(id));
            }
            let rows: Vec<Vec<String>> = pipe.query_async(&mut con).await.map_err(unavailable)?;
            for flat in rows.iter().filter(|f| !f.is_empty()) {
                let rec = from_fields(flat)?;
                if filter.matches(&rec) {
                    out.push(rec);
                }
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn doc_get(&self, kind: &str, id: &str) -> Result<Option<Doc>, StateError> {
        let (key, id) = (self.doc_key(kind), id.to_owned());
        let got: Option<String> = self
            .read(|mut con| {
                let (key, id) = (key.clone(), id.clone());
                async move { con.hget(key, id).await }
            })
            .await?;
        got.map(|v| decode_doc(&v)).transpose()
    }

    async fn doc_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        expect: Option<u64>,
    ) -> Result<Option<u64>, StateError> {
        let keys = [self.doc_key(kind)];
        let args = [
            id.to_owned(),
            expect.map(|v| v.to_string()).unwrap_or_default(),
            body.to_owned(),
        ];
        self.eval(&self.scripts.doc_put, &keys, &args, false).await
    }

    async fn doc_delete(&self, kind: &str, id: &str) -> Result<bool, StateError> {
        let mut con = self.con.clone();
        let n: i64 = con
            .hdel(self.doc_key(kind), id)
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn doc_list(&self, kind: &str) -> Result<Vec<(String, Doc)>, StateError> {
        let key = self.doc_key(kind);
        let all: BTreeMap<String, String> = self
            .read(|mut con| {
                let key = key.clone();
                async move { con.hgetall(key).await }
            })
            .await?;
        all.into_iter()
            .map(|(id, v)| Ok((id, decode_doc(&v)?)))
            .collect()
    }
}

fn decode_doc(v: &str) -> Result<Doc, StateError> {
    let (ver, body) = v
        .split_once(' ')
        .ok_or_else(|| corrupt("document without version"))?;
    Ok(Doc {
        version: num(ver, "document version")?,
        body: body.to_owned(),
    })
}
