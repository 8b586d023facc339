//! `--store` URLs for object storage:
//! `s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:9000&region=us-east-1`,
//! `gs://BUCKET[/PREFIX]`, `az://CONTAINER[/PREFIX][?endpoint=…|emulator=true]`. Credentials come
//! from the usual environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, …). Plain-HTTP endpoints are
//! allowed when the endpoint says `http://`.
//!
//! S3 request bodies are sent with `UNSIGNED-PAYLOAD` over TLS (TLS already protects
//! them; signing each part hashed every stored byte with SHA-256 once more, 40 % of the
//! gateway's CPU with 64 uploads at once) and signed over plain HTTP, where the
//! signature is the only check against a changed body; `&payload=signed|unsigned`
//! chooses otherwise.
//!
//! Failed storage requests are retried (with backoff) for at most `retry_timeout`
//! (default 15 s, e.g. `&retry_timeout=2s`); after that the client gets `503` +
//! `Retry-After` and retries itself, instead of a request hanging for minutes.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::RetryConfig;

use super::ObjectAssembler;
use crate::blob::BlobError;

fn bad(why: impl std::fmt::Display) -> BlobError {
    BlobError::Backend(format!("store URL: {why}"))
}

/// Opens the object-store assembler a URL names; `None` when it is not an object-store
/// URL.
pub fn open_url(url: &str, max_size: u64) -> Option<Result<ObjectAssembler, BlobError>> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "s3" | "gs" | "az") {
        return None;
    }
    Some(build(scheme, rest, max_size))
}

fn build(scheme: &str, rest: &str, max_size: u64) -> Result<ObjectAssembler, BlobError> {
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    if bucket.is_empty() {
        return Err(bad("no bucket"));
    }
    let params = upgate_proto::form::parse_query(query);
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let retry_timeout = match param("retry_timeout") {
        Some(t) => upgate_proto::size::parse_duration(&t).map_err(bad)?,
        None => std::time::Duration::from_secs(15),
    };
    let retry = RetryConfig {
        max_retries: 5,
        retry_timeout,
        ..RetryConfig::default()
    };
    match scheme {
        "s3" => {
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(retry);
            let endpoint = param("endpoint");
            let plain = endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://"));
            if let Some(e) = endpoint {
                b = b.with_allow_http(plain).with_endpoint(e);
            }
            let unsigned = match param("payload").as_deref() {
                None => !plain,
                Some("unsigned") => true,
                Some("signed") => false,
                Some(other) => return Err(bad(format!("payload={other}: signed or unsigned"))),
            };
            b = b.with_unsigned_payload(unsigned);
            if let Some(r) = param("region") {
                b = b.with_region(r);
            }
            let s = Arc::new(b.build().map_err(bad)?);
            Ok(ObjectAssembler::new(s.clone(), s, prefix, max_size))
        }
        "gs" => {
            let s = Arc::new(
                GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .build()
                    .map_err(bad)?,
            );
            Ok(ObjectAssembler::new(s.clone(), s, prefix, max_size))
        }
        _ => {
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .with_retry(retry);
            if param("emulator").as_deref() == Some("true") {
                b = b.with_use_emulator(true);
            }
            if let Some(e) = param("endpoint") {
                b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
            }
            let s = Arc::new(b.build().map_err(bad)?);
            Ok(ObjectAssembler::new(s.clone(), s, prefix, max_size))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_or_say_why_not() {
        assert!(open_url("file:///tmp/x", 1).is_none());
        assert!(open_url("ftp://bucket", 1).is_none());
        let err = |u: &str| match open_url(u, 1) {
            Some(Err(e)) => e.to_string(),
            other => panic!("{u}: {:?}", other.map(|r| r.is_ok())),
        };
        assert!(err("s3://?region=x").contains("no bucket"));
        assert!(err("s3://b?endpoint=http://127.0.0.1:9&retry_timeout=soon").contains("store URL"));
        assert!(err("s3://b?region=x&payload=maybe").contains("signed or unsigned"));
        // Builders need no network: these succeed offline.
        for ok in [
            "s3://b/some/prefix?endpoint=http://127.0.0.1:9&region=us-east-1&retry_timeout=2s",
            "s3://b?endpoint=http://127.0.0.1:9&region=us-east-1&payload=unsigned",
            "s3://b?endpoint=https://s3.example.edu&region=us-east-1&payload=signed",
            "az://container?emulator=true",
        ] {
            assert!(matches!(open_url(ok, 1 << 30), Some(Ok(_))), "{ok}");
        }
    }
}
