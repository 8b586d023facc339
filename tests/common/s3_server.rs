//! A private S3-compatible server for one test: `moto_server` from `tests/.venv`
//! (installed by `tests/run.sh`) on 127.0.0.1 port 0, its real port read from its log,
//! stopped by PID on drop. A missing server fails the test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

pub const BUCKET: &str = "uploads";
pub const KEY_ID: &str = "test";
pub const SECRET: &str = "testsecret";

impl S3Server {
    pub fn start() -> Self {
        let bin = super::repo_root().join("tests/.venv/bin/moto_server");
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); run tests/run.sh to install it",
                    bin.display()
                )
            });
        let err = child.stderr.take().unwrap();
        let mut lines = BufReader::new(err).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("moto_server exited before listening")
                .unwrap();
            if let Some(url) = line.split("Running on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let s = Self { child, endpoint };
        let r = Command::new("curl")
            .args(["-sf", "-X", "PUT", &format!("{}/{BUCKET}", s.endpoint)])
            .status()
            .unwrap();
        assert!(r.success(), "bucket not created");
        s
    }

    /// The `--store` URL.
    pub fn store_url(&self) -> String {
        format!("s3://{BUCKET}?endpoint={}&region=us-east-1", self.endpoint)
    }

    /// An object_store client of the bucket.
    pub fn client(&self) -> Arc<object_store::aws::AmazonS3> {
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_bucket_name(BUCKET)
                .with_region("us-east-1")
                .with_access_key_id(KEY_ID)
                .with_secret_access_key(SECRET)
                .build()
                .unwrap(),
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
