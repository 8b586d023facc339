//! `--store` URLs for object storage:
//! `s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:9000&region=us-east-1`,
//! `gs://BUCKET[/PREFIX]`, `az://CONTAINER[/PREFIX][?emulator=true]`. Credentials come
//! from the usual environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, …). Plain-HTTP endpoints are
//! allowed when the endpoint says `http://`.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;

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
    let params = upgate_proto::kaltura::ks::parse_query(query);
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    match scheme {
        "s3" => {
            let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(e) = param("endpoint") {
                b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
            }
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
                    .build()
                    .map_err(bad)?,
            );
            Ok(ObjectAssembler::new(s.clone(), s, prefix, max_size))
        }
        _ => {
            let mut b = MicrosoftAzureBuilder::from_env().with_container_name(bucket);
            if param("emulator").as_deref() == Some("true") {
                b = b.with_use_emulator(true);
            }
            let s = Arc::new(b.build().map_err(bad)?);
            Ok(ObjectAssembler::new(s.clone(), s, prefix, max_size))
        }
    }
}
