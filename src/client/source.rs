//! The file being uploaded: positional chunk reads on the blocking pool, each offered
//! to the file's own SHA-256 ([`super::digest`]).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::ClientError;

/// A regular file and what identifies its version (size, modification time).
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: u128,
    /// Where chunks read are offered for the file's digest.
    pub tap: Option<super::digest::Tap>,
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
            tap: None,
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
        let data = out.map_err(|e| file_err(&self.path, e))?;
        if let Some(t) = &self.tap {
            t.offer(offset, &data);
        }
        Ok(data)
    }

    /// SHA-256 of the whole file, hex (read on the blocking pool).
    pub async fn sha256(&self) -> Result<String, ClientError> {
        let (tap, task) = super::digest::spawn(self);
        tap.close().await;
        task.await
            .map_err(|e| self.error(std::io::Error::other(e.to_string())))?
    }

    /// What identifies this version of the file.
    pub fn version(&self) -> (u64, u128) {
        (self.size, self.mtime_ns)
    }

    /// An I/O error on this file.
    pub fn error(&self, e: std::io::Error) -> ClientError {
        file_err(&self.path, e)
    }
}

/// Sequential chunk reads, the next chunk read while the current one is sent.
pub struct ReadAhead {
    src: Source,
    chunk: u64,
    /// The chunk being read ahead: its offset, length and read.
    ahead: Option<(u64, u64, Read)>,
}

/// A chunk read on its own task.
type Read = tokio::task::JoinHandle<Result<Bytes, ClientError>>;

impl ReadAhead {
    pub fn new(src: &Source, chunk: u64) -> Self {
        Self {
            src: src.clone(),
            chunk,
            ahead: None,
        }
    }

    /// Bytes `[offset, offset + len)`, then starts reading the chunk after them.
    pub async fn read(&mut self, offset: u64, len: u64) -> Result<Bytes, ClientError> {
        let data = match self.ahead.take() {
            Some((o, l, task)) if (o, l) == (offset, len) => task
                .await
                .map_err(|e| self.src.error(std::io::Error::other(e.to_string())))??,
            _ => self.src.read(offset, len).await?,
        };
        let next = offset + len;
        if next < self.src.size {
            let (src, n) = (self.src.clone(), self.chunk.min(self.src.size - next));
            let task = tokio::spawn(async move { src.read(next, n).await });
            self.ahead = Some((next, n, task));
        }
        Ok(data)
    }
}
