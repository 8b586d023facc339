//! The `Assembler` conformance suite: public functions every implementation must pass
//! (local directory here; object storage in the distributed setup). Sizes are chosen so
//! object stores see several parts, a short tail and out-of-order staging.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test suite: failing loudly is its job

use std::sync::Arc;

use bytes::Bytes;

use super::{Assembler, BlobError};
use crate::model::{new_id, StagedRange};

/// Deterministic test bytes: position-dependent so misplaced bytes are caught.
pub fn pattern(start: u64, len: usize) -> Vec<u8> {
    (start..start + len as u64)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

async fn read_all(
    a: &dyn Assembler,
    id: &str,
    start: u64,
    end: u64,
    complete: bool,
) -> Result<Vec<u8>, BlobError> {
    let mut rx = a.read(id, start, end, complete).await?;
    let mut out = Vec::new();
    while let Some(chunk) = rx.recv().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Completes the upload, checks it reads back as `data`, removes it.
async fn complete_read_delete(a: &dyn Assembler, id: &str, asm: &str, data: &[u8]) {
    let len = data.len() as u64;
    a.complete(id, len, asm).await.expect("complete");
    assert_eq!(read_all(a, id, 0, len, true).await.expect("read"), data);
    a.delete(id, asm).await.expect("delete");
}

/// Feeds `data` to a writer in pieces of `piece` bytes.
async fn feed(w: &mut Box<dyn super::BlobWriter>, data: &[u8], piece: usize) {
    for c in data.chunks(piece) {
        w.write(Bytes::copy_from_slice(c)).await.expect("write");
    }
}

/// Runs every check below with `mib` as the unit size (1 for local; 6 for S3 so parts
/// pass the 5 MiB minimum).
pub async fn run_all(a: Arc<dyn Assembler>, unit: usize) {
    append_commit_complete(&*a, unit).await;
    many_small_commits(&*a, unit).await;
    aged_commits(&*a, unit).await;
    restart_from_zero(&*a, unit).await;
    uncommitted_bytes_are_overwritten(&*a, unit).await;
    staged_ranges_are_absorbed(&*a, unit).await;
    concatenation(&*a, unit).await;
    delete_removes_everything(&*a, unit).await;
}

pub async fn append_commit_complete(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let len = 2 * unit + 1234;
    let data = pattern(0, len);
    let asm = a.create(&id, Some(len as u64)).await.expect("create");
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    feed(&mut w, &data[..unit + 7], 64 * 1024 + 3).await;
    let p1 = w.commit().await.expect("commit");
    assert_eq!(p1.offset, (unit + 7) as u64);
    let asm = p1.assembly.unwrap_or(asm);
    drop(w);
    // A later request continues from the committed point (another instance could).
    let mut w = a.open(&id, p1.offset, &asm).await.expect("reopen");
    feed(&mut w, &data[unit + 7..], 100_000).await;
    let p2 = w.commit().await.expect("commit");
    assert_eq!(p2.offset, len as u64);
    let asm = p2.assembly.unwrap_or(asm);
    a.complete(&id, len as u64, &asm).await.expect("complete");
    a.complete(&id, len as u64, &asm)
        .await
        .expect("complete is idempotent");
    assert_eq!(
        read_all(a, &id, 0, len as u64, true).await.expect("read"),
        data
    );
    assert_eq!(
        read_all(a, &id, 10, 20, true).await.expect("read"),
        data[10..20]
    );
    a.delete(&id, &asm).await.expect("delete");
}

/// A slow client's upload: a commit every few hundred KiB (each committed tail reopened
/// by a fresh writer, as after a crash, every few commits, with garbage written past
/// it first), across part boundaries and more commits than a tail keeps pieces.
pub async fn many_small_commits(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let step = unit / 40 + 4097;
    let len = 2 * unit + unit / 3;
    let data = pattern(0, len);
    let mut asm = a.create(&id, Some(len as u64)).await.expect("create");
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    let mut at = 0;
    let mut commits = 0;
    while at < len {
        let end = (at + step).min(len);
        feed(&mut w, &data[at..end], 64 * 1024).await;
        let p = w.commit().await.expect("commit");
        assert_eq!(p.offset, end as u64);
        asm = p.assembly.unwrap_or(asm);
        at = end;
        commits += 1;
        if commits % 7 == 0 && at < len {
            feed(&mut w, &vec![0xEE; 5000], 5000).await;
            drop(w);
            w = a.open(&id, at as u64, &asm).await.expect("reopen");
        }
    }
    assert!(commits > 80, "{commits} commits");
    drop(w);
    complete_read_delete(a, &id, &asm, &data).await;
}

/// Commits asked for by time: with a long `age` a store may stop short of young bytes
/// (never before the last commit, never past what was written), with no age it covers
/// everything; either point is a valid place to reopen from.
pub async fn aged_commits(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let len = 2 * unit + 999;
    let data = pattern(0, len);
    let asm = a.create(&id, Some(len as u64)).await.expect("create");
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    let first = unit + unit / 2;
    feed(&mut w, &data[..first], 64 * 1024).await;
    let p = w
        .commit_aged(std::time::Duration::from_secs(3600))
        .await
        .expect("aged commit");
    assert!(p.offset <= first as u64, "past what was written");
    let asm = p.assembly.unwrap_or(asm);
    drop(w);
    // A crash now: the next writer continues from the aged point.
    let mut w = a.open(&id, p.offset, &asm).await.expect("reopen");
    feed(&mut w, &data[p.offset as usize..first + 10], 64 * 1024).await;
    let q = w
        .commit_aged(std::time::Duration::ZERO)
        .await
        .expect("commit with no age");
    assert_eq!(q.offset, (first + 10) as u64, "no age: everything");
    let asm = q.assembly.unwrap_or(asm);
    feed(&mut w, &data[first + 10..], 64 * 1024).await;
    let r = w
        .commit_aged(std::time::Duration::from_secs(3600))
        .await
        .expect("aged commit");
    assert!(r.offset >= q.offset && r.offset <= len as u64);
    let asm = r.assembly.unwrap_or(asm);
    let e = w.commit().await.expect("commit");
    assert_eq!(e.offset, len as u64);
    let asm = e.assembly.unwrap_or(asm);
    drop(w);
    complete_read_delete(a, &id, &asm, &data).await;
}

/// A client restarting an upload from byte 0 (Kaltura `resume=false` on a token that
/// holds bytes): after [`Assembler::reset`] a writer at 0 replaces everything, across a
/// part boundary and a tail.
pub async fn restart_from_zero(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let old = pattern(7, unit + unit / 2);
    let asm = a.create(&id, None).await.expect("create");
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    feed(&mut w, &old, 64 * 1024).await;
    let p = w.commit().await.expect("commit");
    let asm = p.assembly.unwrap_or(asm);
    drop(w);
    let asm = a.reset(&asm).expect("reset").unwrap_or(asm);
    let len = unit / 2 + 99;
    let data = pattern(0, len);
    let mut w = a.open(&id, 0, &asm).await.expect("open at 0 after a reset");
    feed(&mut w, &data, 64 * 1024).await;
    let p = w.commit().await.expect("commit");
    assert_eq!(p.offset, len as u64);
    let asm = p.assembly.unwrap_or(asm);
    drop(w);
    complete_read_delete(a, &id, &asm, &data).await;
}

pub async fn uncommitted_bytes_are_overwritten(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let len = unit + 100;
    let data = pattern(0, len);
    let asm = a.create(&id, Some(len as u64)).await.expect("create");
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    feed(&mut w, &data[..unit / 2], 50_000).await;
    let p = w.commit().await.expect("commit");
    let asm = p.assembly.unwrap_or(asm);
    // Garbage written past the commit point and never committed (a crash or a failed checksum).
    feed(&mut w, &vec![0xEE; unit / 3], 50_000).await;
    drop(w);
    let mut w = a.open(&id, p.offset, &asm).await.expect("reopen");
    feed(&mut w, &data[unit / 2..], 70_000).await;
    let p = w.commit().await.expect("commit");
    let asm = p.assembly.unwrap_or(asm);
    complete_read_delete(a, &id, &asm, &data).await;
}

pub async fn staged_ranges_are_absorbed(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let len = 3 * unit;
    let data = pattern(0, len);
    let asm = a.create(&id, Some(len as u64)).await.expect("create");
    // Stage [unit/2, 3*unit) out of order, then write [0, unit) and absorb the rest.
    let start = (unit / 2) as u64;
    let mut s = a.stage(&id, start).await.expect("stage");
    for c in data[unit / 2..].chunks(80_000) {
        s.write(Bytes::copy_from_slice(c))
            .await
            .expect("stage write");
    }
    let key = s.finish().await.expect("finish");
    let range = StagedRange {
        start,
        end: len as u64,
        key: key.clone(),
    };
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    feed(&mut w, &data[..unit], 64 * 1024).await;
    w.absorb(&range, unit as u64).await.expect("absorb");
    let p = w.commit().await.expect("commit");
    assert_eq!(p.offset, len as u64);
    let asm = p.assembly.unwrap_or(asm);
    a.discard_staged(&id, &key).await.expect("discard");
    a.discard_staged(&id, &key)
        .await
        .expect("discard twice is fine");
    complete_read_delete(a, &id, &asm, &data).await;
}

pub async fn concatenation(a: &dyn Assembler, unit: usize) {
    let (p1, p2, fin) = (new_id(), new_id(), new_id());
    let (d1, d2) = (pattern(0, unit + 11), pattern(99, unit + 5));
    let mut asms = Vec::new();
    for (id, d) in [(&p1, &d1), (&p2, &d2)] {
        let asm = a.create(id, Some(d.len() as u64)).await.expect("create");
        let mut w = a.open(id, 0, &asm).await.expect("open");
        feed(&mut w, d, 1 << 20).await;
        let asm = w.commit().await.expect("commit").assembly.unwrap_or(asm);
        a.complete(id, d.len() as u64, &asm)
            .await
            .expect("complete");
        asms.push(asm);
    }
    let total = (d1.len() + d2.len()) as u64;
    let asm = a.create(&fin, Some(total)).await.expect("create");
    let mut w = a.open(&fin, 0, &asm).await.expect("open");
    w.absorb_upload(&p1, d1.len() as u64)
        .await
        .expect("absorb 1");
    w.absorb_upload(&p2, d2.len() as u64)
        .await
        .expect("absorb 2");
    let p = w.commit().await.expect("commit");
    assert_eq!(p.offset, total);
    let asm = p.assembly.unwrap_or(asm);
    a.complete(&fin, total, &asm).await.expect("complete");
    let mut want = d1.clone();
    want.extend_from_slice(&d2);
    assert_eq!(read_all(a, &fin, 0, total, true).await.expect("read"), want);
    for (id, asm) in [(&p1, &asms[0]), (&p2, &asms[1]), (&fin, &asm)] {
        a.delete(id, asm).await.expect("delete");
    }
}

pub async fn delete_removes_everything(a: &dyn Assembler, unit: usize) {
    let id = new_id();
    let asm = a.create(&id, None).await.expect("create");
    let mut w = a.open(&id, 0, &asm).await.expect("open");
    feed(&mut w, &pattern(0, unit), 1 << 20).await;
    let asm = w.commit().await.expect("commit").assembly.unwrap_or(asm);
    let mut s = a.stage(&id, 2 * unit as u64).await.expect("stage");
    s.write(Bytes::from(pattern(0, 1000))).await.expect("write");
    s.finish().await.expect("finish");
    a.delete(&id, &asm).await.expect("delete");
    assert!(read_all(a, &id, 0, 10, false).await.is_err());
    assert!(read_all(a, &id, 0, 10, true).await.is_err());
}
