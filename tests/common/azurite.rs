//! A private Azurite blob server (npm `azurite`, installed by `tests/run.sh` into
//! `tests/node`) on 127.0.0.1 port 0, stopped by PID on drop, with one container made
//! by a SharedKey-signed `PUT ?restype=container` (object_store cannot create one).

use std::process::{Child, Command};

use base64::Engine;
use sha2::{Digest, Sha256};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub const CONTAINER: &str = "uploads";

pub struct Azurite {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Azurite {
    pub fn start() -> Self {
        let bin = super::repo_root().join("tests/node/node_modules/.bin/azurite-blob");
        let dir = tempfile::tempdir().unwrap();
        let (child, base) = super::spawn_listening(
            Command::new(bin)
                .args(["--blobHost", "127.0.0.1", "--blobPort", "0", "--location"])
                .arg(dir.path())
                .args(["--skipApiVersionCheck", "--loose", "--silent"]),
            super::LogOn::Stdout,
            "listens on ",
        );
        let a = Self {
            child,
            base,
            _dir: dir,
        };
        a.create_container();
        a
    }

    /// The account endpoint (path-style, as Azurite serves it).
    pub fn endpoint(&self) -> String {
        format!("{}/{ACCOUNT}", self.base)
    }

    /// An object_store client of the container.
    pub fn client(&self) -> std::sync::Arc<object_store::azure::MicrosoftAzure> {
        std::sync::Arc::new(
            object_store::azure::MicrosoftAzureBuilder::new()
                .with_account(ACCOUNT)
                .with_access_key(KEY)
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .with_container_name(CONTAINER)
                .build()
                .unwrap(),
        )
    }

    fn create_container(&self) {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let version = "2021-08-06";
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{ACCOUNT}/{ACCOUNT}/{CONTAINER}\nrestype:container"
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(KEY)
            .unwrap();
        let sig =
            base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, to_sign.as_bytes()));
        let answer = super::raw_request(
            &self.base,
            &format!(
                "PUT /{ACCOUNT}/{CONTAINER}?restype=container HTTP/1.1\r\nx-ms-date: {date}\r\n\
                 x-ms-version: {version}\r\nAuthorization: SharedKey {ACCOUNT}:{sig}"
            ),
        );
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "container not created: {answer}"
        );
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
