//! A private S3-compatible server for one test on 127.0.0.1 port 0 (the real port read
//! from its log), stopped by PID on drop: `moto_server` from `tests/.venv` (in memory),
//! or `s3s-fs` (data on disk, so it can be restarted mid-upload; `$UPGATE_S3S_FS`, else
//! `~/.cache/upgate-tools/bin/s3s-fs`). `tests/run.sh` installs both; a missing server
//! fails the test.

use std::process::{Child, Command};
use std::sync::Arc;

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    /// s3s-fs only: its data directory (kept across restarts).
    root: Option<tempfile::TempDir>,
}

pub const BUCKET: &str = "uploads";
pub const KEY_ID: &str = "test";
pub const SECRET: &str = "testsecret";

/// The credentials a gateway process needs in its environment.
pub fn credentials() -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ]
}

impl S3Server {
    pub fn start() -> Self {
        let bin = super::repo_root().join("tests/.venv/bin/moto_server");
        let (child, endpoint) = super::spawn_listening(
            Command::new(bin).args(["-H", "127.0.0.1", "-p", "0"]),
            super::LogOn::Stderr,
            "Running on ",
        );
        let s = Self {
            child,
            endpoint,
            root: None,
        };
        s.create_bucket();
        s
    }

    /// `PUT /BUCKET` (moto checks no signature).
    fn create_bucket(&self) {
        let answer = super::raw_request(&self.endpoint, &format!("PUT /{BUCKET} HTTP/1.1"));
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "bucket not created: {answer}"
        );
    }

    /// s3s-fs with a fresh data directory holding the bucket.
    pub fn start_s3s_fs() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(BUCKET)).unwrap();
        let (child, endpoint) = spawn_s3s_fs(root.path(), 0);
        Self {
            child,
            endpoint,
            root: Some(root),
        }
    }

    /// Kills s3s-fs (SIGKILL) and starts it again on the same port and data.
    pub fn restart(&mut self) {
        let root = self.root.as_ref().expect("only s3s-fs restarts").path();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port: u16 = self.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        let (child, endpoint) = spawn_s3s_fs(root, port);
        assert_eq!(endpoint, self.endpoint);
        self.child = child;
    }

    /// Kills the server and leaves it down (requests meanwhile fail).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// s3s-fs only: the directory holding its buckets, objects and multipart parts.
    pub fn root_dir(&self) -> std::path::PathBuf {
        self.root
            .as_ref()
            .expect("only s3s-fs keeps its data in a directory")
            .path()
            .to_owned()
    }

    /// The `--store` URL.
    pub fn store_url(&self) -> String {
        format!(
            "s3://{BUCKET}?endpoint={}&region=us-east-1&retry_timeout=1s",
            self.endpoint
        )
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

fn s3s_fs_bin() -> std::path::PathBuf {
    std::env::var_os("UPGATE_S3S_FS").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            std::path::PathBuf::from(home).join(".cache/upgate-tools/bin/s3s-fs")
        },
        Into::into,
    )
}

fn spawn_s3s_fs(root: &std::path::Path, port: u16) -> (Child, String) {
    super::spawn_listening(
        Command::new(s3s_fs_bin())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", KEY_ID, "--secret-key", SECRET])
            .arg(root)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1"),
        super::LogOn::Stdout,
        "server is running at ",
    )
}
