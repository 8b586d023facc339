//! The `StateStore` conformance suite: public functions that every implementation must
//! pass (redb here; Redis in the distributed setup). Each takes a fresh, empty store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test suite: failing loudly is its job

use std::sync::Arc;
use std::time::Duration;

use super::{Acquire, Commit, CommitOutcome, LeaseRequest, StateError, StateStore, Update};
use crate::model::{
    new_id, now_secs, ListFilter, Owner, OwnerCheck, StagedRange, Status, UploadRecord,
};

fn record(length: Option<u64>) -> UploadRecord {
    UploadRecord {
        id: new_id(),
        length,
        offset: 0,
        status: Status::Open,
        metadata: "filename YS5tcDQ=".into(),
        concat: Default::default(),
        created_at: now_secs(),
        expires_at: now_secs() + 3600,
        ranges: vec![],
        assembly: String::new(),
        owner: None,
        attrs: Default::default(),
    }
}

fn req(expected: Option<u64>, ttl: Duration) -> LeaseRequest {
    LeaseRequest {
        holder: new_id(),
        expected_offset: expected,
        ttl,
        owner: None,
    }
}

/// Runs every check below.
pub async fn run_all(store: Arc<dyn StateStore>) {
    insert_get_delete(&*store).await;
    concurrent_inserts(store.clone()).await;
    lease_and_commit(&*store).await;
    expired_lease_is_taken_over_and_fenced(&*store).await;
    concurrent_acquire_has_one_winner(store.clone()).await;
    ranges_and_length(&*store).await;
    expiry_listing(&*store).await;
    attrs_compare_and_set(&*store).await;
    owner_checked_lease(&*store).await;
    commit_with_attrs_length_and_release(&*store).await;
    listing_by_owner(&*store).await;
    documents(store.clone()).await;
}

/// Many creations at once (redb commits them in groups): each answered once, each
/// readable after its answer, and of two with the same id exactly one wins.
pub async fn concurrent_inserts(s: Arc<dyn StateStore>) {
    let recs: Vec<UploadRecord> = (0..200).map(|_| record(Some(10))).collect();
    let twin = recs[7].clone();
    let mut tasks = Vec::new();
    for rec in recs.iter().cloned().chain([twin]) {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let out = s.insert(&rec).await;
            let seen = s.get(&rec.id).await.expect("get");
            (out, seen.is_some())
        }));
    }
    let (mut ok, mut exists) = (0, 0);
    for t in tasks {
        let (out, seen) = t.await.expect("task");
        match out {
            Ok(()) => ok += 1,
            Err(StateError::AlreadyExists) => exists += 1,
            Err(e) => panic!("insert failed: {e}"),
        }
        assert!(seen, "a record is readable once its creation is answered");
    }
    assert_eq!((ok, exists), (200, 1));
    for rec in &recs {
        s.delete(&rec.id).await.expect("delete");
    }
}

pub async fn insert_get_delete(s: &dyn StateStore) {
    let rec = record(Some(10));
    s.insert(&rec).await.expect("insert");
    assert!(matches!(
        s.insert(&rec).await,
        Err(StateError::AlreadyExists)
    ));
    assert_eq!(s.get(&rec.id).await.expect("get").as_ref(), Some(&rec));
    assert_eq!(s.delete(&rec.id).await.expect("delete"), Some(rec.clone()));
    assert_eq!(s.get(&rec.id).await.expect("get"), None);
    assert_eq!(s.delete(&rec.id).await.expect("delete"), None);
}

pub async fn lease_and_commit(s: &dyn StateStore) {
    let rec = record(Some(10));
    s.insert(&rec).await.expect("insert");
    let ttl = Duration::from_secs(30);
    assert_eq!(
        s.acquire(&rec.id, &req(Some(3), ttl))
            .await
            .expect("acquire"),
        Acquire::Conflict { offset: 0 }
    );
    let Acquire::Granted(lease, _) = s
        .acquire(&rec.id, &req(Some(0), ttl))
        .await
        .expect("acquire")
    else {
        panic!("lease not granted")
    };
    assert!(matches!(
        s.acquire(&rec.id, &req(Some(0), ttl))
            .await
            .expect("acquire"),
        Acquire::Held { .. }
    ));
    let c = Commit {
        expected_offset: 0,
        new_offset: 4,
        assembly: Some("a1".into()),
        ..Default::default()
    };
    let CommitOutcome::Done(r) = s.commit(&lease, &c, ttl).await.expect("commit") else {
        panic!("commit refused")
    };
    assert_eq!((r.offset, r.assembly.as_str()), (4, "a1"));
    // A stale expected offset is refused and changes nothing.
    assert_eq!(
        s.commit(&lease, &c, ttl).await.expect("commit"),
        CommitOutcome::Conflict { offset: 4 }
    );
    let done = Commit {
        expected_offset: 4,
        new_offset: 10,
        complete: true,
        ..Default::default()
    };
    let CommitOutcome::Done(r) = s.commit(&lease, &done, ttl).await.expect("commit") else {
        panic!("refused")
    };
    assert_eq!(r.status, Status::Complete);
    s.release(&lease).await.expect("release");
    assert_eq!(
        s.acquire(&rec.id, &req(None, ttl)).await.expect("acquire"),
        Acquire::Complete
    );
    assert_eq!(
        s.acquire("nope", &req(None, ttl)).await.expect("acquire"),
        Acquire::Missing
    );
}

pub async fn expired_lease_is_taken_over_and_fenced(s: &dyn StateStore) {
    let rec = record(Some(10));
    s.insert(&rec).await.expect("insert");
    // Wide enough margins that a loaded machine (CI) does not miss a renewal.
    let short = Duration::from_millis(300);
    let Acquire::Granted(old, _) = s
        .acquire(&rec.id, &req(Some(0), short))
        .await
        .expect("acquire")
    else {
        panic!("not granted")
    };
    // Renewal keeps a lease alive past its first TTL.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(
            s.renew(&old, short).await.expect("renew"),
            "live lease renewed"
        );
    }
    assert!(matches!(
        s.acquire(&rec.id, &req(Some(0), short))
            .await
            .expect("acquire"),
        Acquire::Held { .. }
    ));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let Acquire::Granted(new, _) = s
        .acquire(&rec.id, &req(Some(0), Duration::from_secs(30)))
        .await
        .expect("acquire")
    else {
        panic!("expired lease not taken over")
    };
    assert!(new.fence > old.fence);
    let c = Commit {
        expected_offset: 0,
        new_offset: 5,
        ..Default::default()
    };
    assert_eq!(
        s.commit(&old, &c, short).await.expect("commit"),
        CommitOutcome::Fenced
    );
    assert!(
        !s.renew(&old, short).await.expect("renew"),
        "taken-over lease not renewed"
    );
    // Releasing a stale lease does not free the new holder's.
    s.release(&old).await.expect("release");
    assert!(matches!(
        s.acquire(&rec.id, &req(None, short))
            .await
            .expect("acquire"),
        Acquire::Held { .. }
    ));
    assert!(matches!(
        s.commit(&new, &c, short).await.expect("commit"),
        CommitOutcome::Done(_)
    ));
    s.release(&new).await.expect("release");
}

pub async fn concurrent_acquire_has_one_winner(s: Arc<dyn StateStore>) {
    let rec = record(Some(10));
    s.insert(&rec).await.expect("insert");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (s, id) = (s.clone(), rec.id.clone());
        tasks.push(tokio::spawn(async move {
            s.acquire(&id, &req(Some(0), Duration::from_secs(30))).await
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if matches!(
            t.await.expect("join").expect("acquire"),
            Acquire::Granted(..)
        ) {
            granted += 1;
        }
    }
    assert_eq!(granted, 1);
}

pub async fn ranges_and_length(s: &dyn StateStore) {
    let rec = record(None);
    s.insert(&rec).await.expect("insert");
    let r = StagedRange {
        start: 5,
        end: 9,
        key: "k1".into(),
    };
    let Update::Done(got) = s.add_range(&rec.id, &r).await.expect("add") else {
        panic!("refused")
    };
    assert_eq!(got.ranges, vec![r.clone()]);
    assert!(matches!(
        s.set_length(&rec.id, 8).await.expect("len"),
        Update::Refused(_)
    ));
    assert!(matches!(
        s.set_length(&rec.id, 9).await.expect("len"),
        Update::Done(_)
    ));
    assert!(matches!(
        s.set_length(&rec.id, 9).await.expect("len"),
        Update::Done(_)
    ));
    assert!(matches!(
        s.set_length(&rec.id, 12).await.expect("len"),
        Update::Refused(_)
    ));
    assert_eq!(
        s.add_range("missing", &r).await.expect("add"),
        Update::Missing
    );
    let Acquire::Granted(lease, _) = s
        .acquire(&rec.id, &req(None, Duration::from_secs(5)))
        .await
        .expect("a")
    else {
        panic!("not granted")
    };
    let c = Commit {
        expected_offset: 0,
        new_offset: 0,
        drop_ranges: vec!["k1".into()],
        ..Default::default()
    };
    let CommitOutcome::Done(got) = s
        .commit(&lease, &c, Duration::from_secs(5))
        .await
        .expect("c")
    else {
        panic!("refused")
    };
    assert!(got.ranges.is_empty());
    s.release(&lease).await.expect("release");
}

pub async fn expiry_listing(s: &dyn StateStore) {
    let mut old = record(Some(1));
    old.expires_at = 1;
    s.insert(&old).await.expect("insert");
    let fresh = record(Some(1));
    s.insert(&fresh).await.expect("insert");
    let ids = s.expired(now_secs(), 100).await.expect("expired");
    assert!(ids.contains(&old.id));
    assert!(!ids.contains(&fresh.id));
    // Bounded by `limit`, and only open uploads: deleted, completed and renewed ones
    // leave the listing.
    let mut more = Vec::new();
    for at in [2, 3, 4] {
        let mut r = record(Some(1));
        r.expires_at = at;
        s.insert(&r).await.expect("insert");
        more.push(r);
    }
    let two = s.expired(now_secs(), 2).await.expect("expired");
    assert_eq!(two.len(), 2, "at most the limit");
    s.delete(&more[0].id).await.expect("delete");
    let lease = match s
        .acquire(&more[1].id, &req(Some(0), Duration::from_secs(5)))
        .await
        .expect("acquire")
    {
        Acquire::Granted(l, _) => l,
        other => panic!("{other:?}"),
    };
    let c = Commit {
        expected_offset: 0,
        new_offset: 0,
        assembly: None,
        drop_ranges: vec![],
        expires_at: Some(now_secs() + 3600),
        declare_length: false,
        complete: false,
        release: true,
        attrs: vec![],
    };
    s.commit(&lease, &c, Duration::from_secs(5))
        .await
        .expect("renew expiry");
    let ids = s.expired(now_secs(), 100).await.expect("expired");
    assert!(!ids.contains(&more[0].id), "deleted");
    assert!(!ids.contains(&more[1].id), "renewed");
    assert!(ids.contains(&more[2].id));
    for r in [&old, &more[2]] {
        s.delete(&r.id).await.expect("delete");
    }
}

pub async fn attrs_compare_and_set(s: &dyn StateStore) {
    let rec = record(None);
    s.insert(&rec).await.expect("insert");
    let set = vec![("closed".to_owned(), "0_entry".to_owned())];
    let expect_absent = Some(("closed".to_owned(), None));
    assert!(matches!(
        s.update_attrs(&rec.id, expect_absent.clone(), set.clone())
            .await
            .expect("attrs"),
        Update::Done(_)
    ));
    // Exactly once: the second compare-and-set is refused.
    assert!(matches!(
        s.update_attrs(&rec.id, expect_absent, set)
            .await
            .expect("attrs"),
        Update::Refused(_)
    ));
    let got = s.get(&rec.id).await.expect("get").expect("exists");
    assert_eq!(got.attrs.get("closed").map(String::as_str), Some("0_entry"));
    assert_eq!(
        s.update_attrs("missing", None, vec![])
            .await
            .expect("attrs"),
        Update::Missing
    );
}

/// A lease asked with an owner check is granted to that owner (or an admin of its
/// partner) only, and only for records of the asked kind; anyone else gets `Missing`,
/// even while the lease is held (no "held" answer tells the upload exists).
pub async fn owner_checked_lease(s: &dyn StateStore) {
    let mut rec = record(Some(10));
    rec.owner = Some(Owner {
        partner: 7,
        user: "alice".into(),
    });
    rec.attrs.insert("k.token".into(), "1".into());
    s.insert(&rec).await.expect("insert");
    let ttl = Duration::from_secs(30);
    let as_ = |partner: i64, user: Option<&str>, kind: Option<&str>| LeaseRequest {
        owner: Some(OwnerCheck {
            partner,
            user: user.map(str::to_owned),
            kind: kind.map(str::to_owned),
        }),
        ..req(None, ttl)
    };
    for (who, why) in [
        (as_(7, Some("bob"), None), "another user"),
        (as_(8, Some("alice"), None), "another partner"),
        (as_(8, None, None), "another partner's admin"),
        (as_(7, Some("alice"), Some("ps2")), "another kind"),
    ] {
        assert_eq!(
            s.acquire(&rec.id, &who).await.expect("acquire"),
            Acquire::Missing,
            "{why}"
        );
    }
    let Acquire::Granted(lease, _) = s
        .acquire(&rec.id, &as_(7, Some("alice"), Some("k.token")))
        .await
        .expect("acquire")
    else {
        panic!("the owner is granted");
    };
    assert_eq!(
        s.acquire(&rec.id, &as_(7, Some("bob"), None))
            .await
            .expect("acquire"),
        Acquire::Missing,
        "held, and still not yours"
    );
    s.release(&lease).await.expect("release");
    assert!(matches!(
        s.acquire(&rec.id, &as_(7, None, None))
            .await
            .expect("acquire"),
        Acquire::Granted(..)
    ));
    // An upload without an owner: admins only.
    let anon = record(Some(10));
    s.insert(&anon).await.expect("insert");
    assert_eq!(
        s.acquire(&anon.id, &as_(7, Some("alice"), None))
            .await
            .expect("acquire"),
        Acquire::Missing
    );
}

/// One commit sets attributes, declares the length at the new offset, completes and
/// releases; a declared length never lands below a staged range.
pub async fn commit_with_attrs_length_and_release(s: &dyn StateStore) {
    let rec = record(None);
    s.insert(&rec).await.expect("insert");
    let ttl = Duration::from_secs(30);
    let Acquire::Granted(lease, _) = s.acquire(&rec.id, &req(None, ttl)).await.expect("acquire")
    else {
        panic!("granted");
    };
    let c = Commit {
        expected_offset: 0,
        new_offset: 4,
        attrs: vec![("a".into(), "1".into()), ("b".into(), "two".into())],
        release: true,
        ..Default::default()
    };
    let CommitOutcome::Done(r) = s.commit(&lease, &c, ttl).await.expect("commit") else {
        panic!("committed");
    };
    assert_eq!((r.offset, r.length), (4, None));
    assert_eq!(r.attrs.get("a").map(String::as_str), Some("1"));
    assert_eq!(r.attrs.get("b").map(String::as_str), Some("two"));
    // Released: another holder is granted at once, and the old lease is fenced.
    let Acquire::Granted(lease2, _) = s.acquire(&rec.id, &req(None, ttl)).await.expect("acquire")
    else {
        panic!("released with the commit");
    };
    assert_eq!(
        s.commit(&lease, &c, ttl).await.expect("commit"),
        CommitOutcome::Fenced
    );
    // A staged range past 6 keeps the length from being declared there.
    let range = StagedRange {
        start: 8,
        end: 12,
        key: "k8".into(),
    };
    s.add_range(&rec.id, &range).await.expect("range");
    let c = Commit {
        expected_offset: 4,
        new_offset: 6,
        declare_length: true,
        complete: true,
        ..Default::default()
    };
    let CommitOutcome::Done(r) = s.commit(&lease2, &c, ttl).await.expect("commit") else {
        panic!("committed");
    };
    assert_eq!((r.offset, r.length, r.status), (6, None, Status::Open));
    let c = Commit {
        expected_offset: 6,
        new_offset: 12,
        drop_ranges: vec!["k8".into()],
        declare_length: true,
        complete: true,
        release: true,
        ..Default::default()
    };
    let CommitOutcome::Done(r) = s.commit(&lease2, &c, ttl).await.expect("commit") else {
        panic!("committed");
    };
    assert_eq!(
        (r.offset, r.length, r.status),
        (12, Some(12), Status::Complete)
    );
    assert!(r.ranges.is_empty());
    assert_eq!(
        s.acquire(&rec.id, &req(None, ttl)).await.expect("acquire"),
        Acquire::Complete
    );
}

pub async fn listing_by_owner(s: &dyn StateStore) {
    let partner = 900_000 + (now_secs() % 1000) as i64;
    let mut ids = Vec::new();
    for user in ["ann", "bob", "ann"] {
        let mut rec = record(Some(1));
        rec.owner = Some(Owner {
            partner,
            user: user.into(),
        });
        s.insert(&rec).await.expect("insert");
        ids.push(rec.id);
    }
    let ann = s
        .list(&ListFilter {
            partner: Some(partner),
            user: Some("ann".into()),
        })
        .await
        .expect("list");
    assert_eq!(ann.len(), 2);
    let all = s
        .list(&ListFilter {
            partner: Some(partner),
            user: None,
        })
        .await
        .expect("list");
    assert_eq!(all.len(), 3);
    let other = s
        .list(&ListFilter {
            partner: Some(partner + 1),
            user: None,
        })
        .await
        .expect("list");
    assert!(other.is_empty());
}

pub async fn documents(s: Arc<dyn StateStore>) {
    let kind = "entry";
    let id = new_id();
    assert_eq!(s.doc_get(kind, &id).await.expect("get"), None);
    assert_eq!(
        s.doc_put(kind, &id, "v1", None).await.expect("put"),
        Some(1)
    );
    assert_eq!(
        s.doc_put(kind, &id, "again", None).await.expect("put"),
        None,
        "create twice"
    );
    assert_eq!(
        s.doc_put(kind, &id, "v2", Some(1)).await.expect("put"),
        Some(2)
    );
    assert_eq!(
        s.doc_put(kind, &id, "stale", Some(1)).await.expect("put"),
        None,
        "stale version"
    );
    let d = s.doc_get(kind, &id).await.expect("get").expect("exists");
    assert_eq!((d.version, d.body.as_str()), (2, "v2"));
    s.doc_put("other", &id, "x", None).await.expect("put");
    let listed = s.doc_list(kind).await.expect("list");
    assert!(listed.iter().any(|(k, d)| k == &id && d.body == "v2"));
    assert!(
        !listed.iter().any(|(_, d)| d.body == "x"),
        "kinds are separate"
    );
    // Racing writers on one version: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, id) = (s.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            s.doc_put("entry", &id, &format!("w{i}"), Some(2)).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("join").expect("put").is_some() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert!(s.doc_delete(kind, &id).await.expect("delete"));
    assert!(!s.doc_delete(kind, &id).await.expect("delete"));
}
