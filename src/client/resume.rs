//! Resume state of `upgate push`: one small JSON file per (server, protocol, file path,
//! size, modification time), holding the upload URL or token id. Re-running the same
//! command after Ctrl-C, `kill -9`, a sleep or a server restart finds it and continues
//! from the server's offset; a changed file gets a new upload.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::source::Source;

/// What is remembered about an unfinished upload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Saved {
    #[serde(default)]
    pub upload_url: Option<String>,
    #[serde(default)]
    pub token_id: Option<String>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct ResumeStore {
    dir: PathBuf,
}

/// Default state directory: `$XDG_STATE_HOME/upgate`, else `~/.local/state/upgate`.
pub fn default_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("upgate");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/state/upgate"),
        None => PathBuf::from(".upgate-state"),
    }
}

impl ResumeStore {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    /// The key of one file version on one server.
    pub fn key(server: &str, protocol: &str, src: &Source) -> String {
        let canonical = std::fs::canonicalize(&src.path).unwrap_or_else(|_| src.path.clone());
        let mut h = sha2::Sha256::new();
        for part in [
            server.trim_end_matches('/'),
            protocol,
            &canonical.to_string_lossy(),
            &src.size.to_string(),
            &src.mtime_ns.to_string(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        upgate_proto::hex::hex(&h.finalize()[..16])
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    pub fn load(&self, key: &str) -> Saved {
        std::fs::read_to_string(self.path(key))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Saves atomically (write + rename), so a kill never leaves a torn file.
    pub fn save(&self, key: &str, saved: &Saved) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!("{key}.json.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec(saved).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, self.path(key))
    }

    pub fn remove(&self, key: &str) {
        let _ = std::fs::remove_file(self.path(key));
    }
}
