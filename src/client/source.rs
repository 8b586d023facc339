//! The file being uploaded: positional chunk reads on the blocking pool and the whole
//! file's SHA-256 (computed on its own thread while the upload runs).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::ClientError;

/// A regular file and what identifies its version (size, modification time).
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: u128,
}

fn file_err(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::File {
        path: path.display().to_string(),
        source: e,
    }
}

impl Source {
    pub fn open(path: &Path) -> Result<Self, ClientError> {
        let meta = std::fs::metadata(path).map_err(|e| file_err(path, e))?;
        if !meta.is_file() {
            return Err(file_err(path, std::io::Error::other("not a regular file")));
        }
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(Self {
            path: path.to_owned(),
            size: meta.len(),
            mtime_ns,
        })
    }

    /// The file name the server is told.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map_or_else(|| "upload".into(), |n| n.to_string_lossy().into_owned())
    }

    /// Reads `len` bytes at `offset`.
    pub async fn read(&self, offset: u64, len: u64) -> Result<Bytes, ClientError> {
        let path = self.path.clone();
        let out = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = std::fs::File::open(&path)?;
            f.seek(SeekFrom::Start(offset))?;
            let mut buf = vec![0u8; len as usize];
            f.read_exact(&mut buf)?;
            Ok::<_, std::io::Error>(Bytes::from(buf))
        })
        .await
        .map_err(|e| file_err(&self.path, std::io::Error::other(e.to_string())))?;
        out.map_err(|e| file_err(&self.path, e))
    }

    /// SHA-256 of the whole file, hex.
    pub async fn sha256(&self) -> Result<String, ClientError> {
        let path = self.path.clone();
        let out = tokio::task::spawn_blocking(move || {
            use sha2::Digest;
            use std::io::Read;
            let mut f = std::fs::File::open(&path)?;
            let mut h = sha2::Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            Ok::<_, std::io::Error>(upgate_proto::hex::hex(&h.finalize()))
        })
        .await
        .map_err(|e| file_err(&self.path, std::io::Error::other(e.to_string())))?;
        out.map_err(|e| file_err(&self.path, e))
    }
}
