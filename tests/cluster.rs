//! Several gateway processes sharing one private `redis-server` (state) and one data
//! directory (file data on shared storage): any instance continues any upload, a
//! killed instance's upload is taken over by another, racing writers on different
//! instances have exactly one winner, and a Redis restart loses nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use common::s3_server::{self, S3Server};
use common::*;
use upgate_proto::form::form_encode;

/// A PATCH while a dependency (Redis, S3) is down: 503 with `Retry-After`.
async fn refused_for_now(c: &reqwest::Client, base: &str, path: &str, at: usize, data: &[u8]) {
    let r = patch(c, base, path, at as u64, data.to_vec()).await;
    assert_eq!(r.status(), 503, "PATCH while a dependency is down");
    assert!(
        header(&r, "retry-after").is_some(),
        "503 without Retry-After"
    );
}

/// `n` gateways on one Redis and one S3 server (or, without one, one shared data
/// directory), with a short lease TTL so a dead instance's lease runs out quickly.
fn cluster(
    redis: &RedisServer,
    s3: Option<&S3Server>,
    dir: &std::path::Path,
    n: usize,
) -> Vec<ChildGateway> {
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let state = redis.url();
    // Unsigned payloads here (what an `https://` endpoint gets by default), signed in
    // the other tests (the default on `http://`): both kinds against moto and s3s-fs.
    let store = s3.map(|s| format!("{}&payload=unsigned", s.store_url()));
    let mut args = vec![
        "--state",
        &state,
        "--partner",
        &partner,
        "--lease-ttl",
        "2s",
        // Raw tus requests below; sessions are covered by tests/files_auth.rs.
        "--files-auth",
        "off",
    ];
    if let Some(url) = &store {
        args.extend(["--store", url]);
    }
    let env = s3_server::credentials();
    (0..n)
        .map(|_| ChildGateway::start_env(dir, &args, &env))
        .collect()
}

/// PATCH with the retries a tus client does (423 while a lease runs out, 503 while
/// the state store is away), re-reading the offset from `base` each time.
async fn patch_retrying(c: &reqwest::Client, base: &str, path: &str, data: &[u8], end: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c
            .head(format!("{base}{path}"))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let off: usize = header(&r, "upload-offset").unwrap().parse().unwrap();
            if off >= end {
                return;
            }
            let r = patch(c, base, path, off as u64, data[off..end].to_vec()).await;
            if r.status() == 204 {
                continue;
            }
            assert!(
                [409, 423, 503].contains(&r.status().as_u16()),
                "PATCH answered {}",
                r.status()
            );
        } else {
            assert_eq!(r.status(), 503, "HEAD answered {}", r.status());
        }
        assert!(Instant::now() < deadline, "no progress within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_round_robin_with_an_instance_killed_mid_chunk() {
    let redis = RedisServer::start();
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut gw = cluster(&redis, Some(&s3), dir.path(), 3);
    let c = client();
    let chunk = 4 << 20;
    let body = data(6 * chunk, 51);
    let keep = [("Want-Digest", "sha-256")];
    let path = create_with(&c, &gw[0].base, body.len() as u64, &keep).await;
    for i in 0..6 {
        let (start, end) = (i * chunk, (i + 1) * chunk);
        let g = i % 3;
        if i == 2 {
            // Half the chunk reaches instance 1, which then dies with SIGKILL.
            let _open = open_patch(
                gw[1].addr,
                &path,
                start as u64,
                &body[start..start + chunk / 2],
                chunk,
            )
            .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            gw[1].kill9();
            // The client continues on instance 2 (after the dead holder's lease ran out).
            let t = Instant::now();
            patch_retrying(&c, &gw[2].base, &path, &body, end).await;
            println!(
                "instance 1 killed mid-chunk: instance 2 continued within {:.1} s",
                t.elapsed().as_secs_f64()
            );
            continue;
        }
        let live = if g == 1 { 2 } else { g };
        let r = patch(
            &c,
            &gw[live].base,
            &path,
            start as u64,
            body[start..end].to_vec(),
        )
        .await;
        assert_eq!(r.status(), 204, "chunk {i} on instance {live}");
    }
    // Any live instance serves the finished file.
    let got = download(&c, &gw[0].base, &path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
    assert_eq!(head_offset(&c, &gw[2].base, &path).await, body.len() as u64);
    // The digest kept across instances (and the kill) is the file's.
    let url = format!("{}{path}", gw[2].base);
    assert_eq!(head_sha256(&c, &url).await, sha256_hex(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_on_different_instances_one_winner() {
    let redis = RedisServer::start();
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let gw = cluster(&redis, Some(&s3), dir.path(), 3);
    let c = client();
    let body = data(2 << 20, 52);
    for round in 0..3 {
        let path = create(&c, &gw[round].base, body.len() as u64).await;
        let tasks: Vec<_> = (0..9)
            .map(|i| {
                let (c, base, path, chunk) = (
                    c.clone(),
                    gw[i % 3].base.clone(),
                    path.clone(),
                    body[..1 << 20].to_vec(),
                );
                tokio::spawn(async move { patch(&c, &base, &path, 0, chunk).await.status() })
            })
            .collect();
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap().as_u16());
        }
        let wins = codes.iter().filter(|&&s| s == 204).count();
        assert_eq!(wins, 1, "round {round}: {codes:?}");
        assert!(
            codes.iter().all(|s| [204, 409, 423].contains(s)),
            "{codes:?}"
        );
        assert_eq!(head_offset(&c, &gw[2].base, &path).await, 1 << 20);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_mid_upload_loses_nothing() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let gw = cluster(&redis, None, dir.path(), 2);
    let c = client();
    let chunk = 2 << 20;
    let body = data(4 * chunk, 53);
    let path = create(&c, &gw[0].base, body.len() as u64).await;
    let r = patch(&c, &gw[0].base, &path, 0, body[..chunk].to_vec()).await;
    assert_eq!(r.status(), 204);
    redis.kill();
    // While Redis is away: 503 with Retry-After, on both protocols.
    refused_for_now(&c, &gw[1].base, &path, chunk, &body[chunk..2 * chunk]).await;
    let ks = user_ks("alice", 2);
    let k = c
        .get(gw[0].url(&format!(
            "/api_v3/service/uploadtoken/action/add?ks={}",
            form_encode(&ks)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(k.status(), 200);
    assert!(header(&k, "retry-after").is_some());
    let text = k.text().await.unwrap();
    assert!(text.contains("<code>SERVICE_UNAVAILABLE</code>"), "{text}");
    redis.restart();
    patch_retrying(&c, &gw[1].base, &path, &body, body.len()).await;
    let got = download(&c, &gw[0].base, &path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
}

/// The browser pattern across instances: chunk 0 alone, then the final chunk first on
/// one instance (it waits for the missing bytes), the middle chunks on the other two
/// (staged as S3 objects, merged by whichever instance holds the lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaltura_final_chunk_first_on_another_instance() {
    let redis = RedisServer::start();
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let gw = cluster(&redis, Some(&s3), dir.path(), 3);
    let ks = form_encode(&user_ks("alice", 0));
    let add = format!(
        "{}/api_v3/service/uploadtoken/action/add?format=1&ks={ks}",
        gw[0].base
    );
    let tok: serde_json::Value = serde_json::from_str(
        &client()
            .get(add)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let token = tok["id"].as_str().unwrap().to_owned();
    let chunk = 4 << 20;
    let body = data(4 * chunk + 4321, 56);
    let v = upload_chunk(&gw[1].base, &ks, &token, &body[..chunk], 0, false).await;
    assert_eq!(
        v["uploadedFileSize"].as_str(),
        Some(chunk.to_string().as_str())
    );
    let final_chunk = {
        let (base, ks, token, part) = (
            gw[0].base.clone(),
            ks.clone(),
            token.clone(),
            body[3 * chunk..].to_vec(),
        );
        tokio::spawn(async move { upload_chunk(&base, &ks, &token, &part, 3 * chunk, true).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !final_chunk.is_finished(),
        "the final chunk waits for the missing bytes"
    );
    let middle: Vec<_> = [(1, 1), (2, 2)]
        .into_iter()
        .map(|(i, g)| {
            let (base, ks, token, part) = (
                gw[g].base.clone(),
                ks.clone(),
                token.clone(),
                body[i * chunk..(i + 1) * chunk].to_vec(),
            );
            tokio::spawn(
                async move { upload_chunk(&base, &ks, &token, &part, i * chunk, false).await },
            )
        })
        .collect();
    for m in middle {
        m.await.unwrap();
    }
    let done = final_chunk.await.unwrap();
    assert_eq!(
        done["uploadedFileSize"].as_str(),
        Some(body.len().to_string().as_str()),
        "{done}"
    );
    assert_eq!(done["status"].as_i64(), Some(2), "FULL_UPLOAD: {done}");
    // The assembled object, read from the bucket itself.
    use object_store::ObjectStoreExt;
    let objects = s3.client();
    let mut found = None;
    let mut list = object_store::ObjectStore::list(&*objects, Some(&"uploads".into()));
    use futures_util::StreamExt;
    while let Some(meta) = list.next().await {
        let meta = meta.unwrap();
        if meta.size == body.len() as u64 {
            found = Some(
                objects
                    .get(&meta.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap(),
            );
        }
    }
    let got = found.expect("the final object in the bucket");
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
}

/// Kaltura `uploadToken.upload` chunks going round-robin to three instances, the
/// entry created on one and downloaded from another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaltura_chunks_round_robin() {
    let redis = RedisServer::start();
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let gw = cluster(&redis, Some(&s3), dir.path(), 3);
    let c = client();
    let ks = user_ks("alice", 0);
    let ks = form_encode(&ks);
    let api =
        |g: &ChildGateway, path: &str| format!("{}/api_v3/service/{path}&format=1&ks={ks}", g.base);
    let json = |s: String| -> serde_json::Value { serde_json::from_str(&s).unwrap() };
    let get_json = |url: String| {
        let c = c.clone();
        async move { json(c.get(url).send().await.unwrap().text().await.unwrap()) }
    };
    let tok = get_json(api(
        &gw[0],
        "uploadtoken/action/add?uploadToken:fileName=lecture.mp4",
    ))
    .await;
    let token = tok["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{tok}"))
        .to_owned();
    let chunk = 3 << 20;
    let body = data(5 * chunk + 12345, 54);
    let chunks: Vec<&[u8]> = body.chunks(chunk).collect();
    for (i, part) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let v = upload_chunk(&gw[i % 3].base, &ks, &token, part, i * chunk, last).await;
        assert_eq!(
            v["uploadedFileSize"].as_str(),
            Some((i * chunk + part.len()).to_string().as_str()),
            "chunk {i}: {v}"
        );
    }
    let got = get_json(api(
        &gw[1],
        &format!("uploadtoken/action/get?uploadTokenId={token}"),
    ))
    .await;
    assert_eq!(got["status"].as_i64(), Some(2), "FULL_UPLOAD: {got}");
    let entry = get_json(api(
        &gw[2],
        "media/action/add?entry:objectType=KalturaMediaEntry&entry:name=L1&entry:mediaType=1",
    ))
    .await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let added = get_json(api(
            &gw[0],
            &format!("media/action/addContent?entryId={id}&resource:objectType=KalturaUploadedFileTokenResource&resource:token={token}"),
        )).await;
    assert_eq!(added["id"].as_str(), Some(id.as_str()), "{added}");
    let e = get_json(api(&gw[1], &format!("media/action/get?entryId={id}"))).await;
    let bytes = fetch(c.get(e["downloadUrl"].as_str().unwrap())).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&body));
}

/// The S3 server (s3s-fs, data on disk) and then Redis are restarted during an upload
/// spread over two instances: requests during each outage get 503, the client retries,
/// and the finished object equals the source byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_and_redis_restarts_mid_upload() {
    let mut redis = RedisServer::start();
    let mut s3 = S3Server::start_s3s_fs();
    let dir = tempfile::tempdir().unwrap();
    let gw = cluster(&redis, Some(&s3), dir.path(), 2);
    let c = client();
    let chunk = 3 << 20;
    let body = data(7 * chunk + 999, 55);
    let path = create(&c, &gw[0].base, body.len() as u64).await;
    let r = patch(&c, &gw[0].base, &path, 0, body[..chunk].to_vec()).await;
    assert_eq!(r.status(), 204);
    // S3 down: a chunk that needs it (a tail write at least) is refused with 503.
    s3.stop();
    refused_for_now(&c, &gw[1].base, &path, chunk, &body[chunk..2 * chunk]).await;
    s3.restart();
    patch_retrying(&c, &gw[1].base, &path, &body, 4 * chunk).await;
    // Redis restarts (AOF) with three parts and a tail stored.
    redis.restart();
    patch_retrying(&c, &gw[0].base, &path, &body, body.len()).await;
    let got = download(&c, &gw[1].base, &path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
}

/// `--store az://CONTAINER?endpoint=…` through a gateway process (Azurite, credentials
/// from the environment): an upload in chunks, downloaded back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_store_through_a_gateway() {
    let redis = RedisServer::start();
    let az = common::azurite::Azurite::start();
    let dir = tempfile::tempdir().unwrap();
    let store = format!(
        "az://{}?endpoint={}",
        common::azurite::CONTAINER,
        az.endpoint()
    );
    let state = redis.url();
    let g = ChildGateway::start_env(
        dir.path(),
        &["--state", &state, "--store", &store, "--files-auth", "off"],
        &[
            ("AZURE_STORAGE_ACCOUNT_NAME", common::azurite::ACCOUNT),
            ("AZURE_STORAGE_ACCOUNT_KEY", common::azurite::KEY),
        ],
    );
    let c = client();
    let body = data(9 << 20, 57);
    let path = create(&c, &g.base, body.len() as u64).await;
    for (i, part) in body.chunks(3 << 20).enumerate() {
        let r = patch(&c, &g.base, &path, (i * (3 << 20)) as u64, part.to_vec()).await;
        assert_eq!(r.status(), 204, "chunk {i}");
    }
    let got = download(&c, &g.base, &path).await;
    assert_eq!(sha256_hex(&got), sha256_hex(&body));
}

/// A Kaltura client restarting a token from byte 0 (`resume=0` after bytes were stored)
/// on object storage: the multipart state restarts with the offset (found by the fault
/// campaign: `upgate-loadtest chaos --seed 2026 --run 44` answered SERVICE_UNAVAILABLE
/// until the client gave up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaltura_restart_from_zero_on_s3() {
    let s3 = S3Server::start_s3s_fs();
    let dir = tempfile::tempdir().unwrap();
    let partner = format!("{PARTNER}:{ADMIN_SECRET}:{USER_SECRET}");
    let store = s3.store_url();
    let gw = ChildGateway::start_env(
        dir.path(),
        &["--partner", &partner, "--store", &store],
        &s3_server::credentials(),
    );
    let c = client();
    let ks = form_encode(&user_ks("alice", 0));
    let api = |path: &str| format!("{}/api_v3/service/{path}&format=1&ks={ks}", gw.base);
    let json = |s: String| -> serde_json::Value { serde_json::from_str(&s).unwrap() };
    let tok = json(
        c.get(api("uploadtoken/action/add?uploadToken:fileName=a.mp4"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let token = tok["id"].as_str().unwrap().to_owned();
    let first = data(3 << 20, 21);
    let v = upload_chunk(&gw.base, &ks, &token, &first, 0, false).await;
    assert_eq!(v["uploadedFileSize"], "3145728", "{v}");
    // The client starts over with other bytes, shorter, and says it is the whole file.
    let again = data((1 << 20) + 5, 22);
    let v = upload_chunk(&gw.base, &ks, &token, &again, 0, true).await;
    assert_eq!(
        v["uploadedFileSize"],
        again.len().to_string().as_str(),
        "{v}"
    );
    let got = fetch(
        c.get(format!("{}/files/{token}", gw.base))
            .bearer_auth(user_ks("alice", 0)),
    )
    .await;
    assert_eq!(sha256_hex(&got), sha256_hex(&again));
}
