//! Memory for the spool's 1 MiB blocks, mapped from the kernel for each block and
//! unmapped when its last reference goes, instead of allocated from the heap.
//!
//! glibc serves a large allocation from the heap once one of that size was freed (its
//! mmap threshold follows the largest block freed), and memory freed in the middle of a
//! heap stays with the process. A thousand slow uploads on object storage fill, send
//! and free these blocks out of order, so from the heap they would keep the process at
//! its high-water mark long after the blocks went. A mapping of its own goes back to
//! the system when its block does. Buffers below [`MAP_MIN`] still come from the heap
//! (a mapping costs two system calls and its page faults; glibc reuses small chunks
//! well).
//!
//! A few freed mappings of [`POOLED`] bytes (the spool's block size) are kept for the
//! next block instead of unmapped ([`POOL`], process-wide): a fresh mapping's pages
//! are zeroed and faulted in one by one, which with 64 fast uploads on object storage
//! was a tenth of the gateway's CPU (blocks read back from the spool to be sent).

use std::sync::Mutex;

use bytes::Bytes;
use memmap2::MmapMut;

use crate::blob::BlobError;

/// The smallest buffer given a mapping of its own.
pub(crate) const MAP_MIN: usize = 256 << 10;

/// The size of mapping kept for reuse.
pub(crate) const POOLED: usize = 1 << 20;

/// Freed mappings kept for reuse, at most (so at most 16 MiB resident while unused).
const POOL: usize = 16;

static FREE: Mutex<Vec<MmapMut>> = Mutex::new(Vec::new());

/// A mapping, back to [`FREE`] when dropped if it has the pooled size and there is room.
struct Mapping(Option<MmapMut>);

impl Mapping {
    fn new(len: usize) -> std::io::Result<Self> {
        let reused = match len {
            POOLED => FREE.lock().ok().and_then(|mut f| f.pop()),
            _ => None,
        };
        match reused {
            Some(m) => Ok(Self(Some(m))),
            None => MmapMut::map_anon(len).map(|m| Self(Some(m))),
        }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.0.as_deref_mut().unwrap_or_default()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let Some(m) = self.0.take() else { return };
        if m.len() == POOLED {
            if let Ok(mut free) = FREE.lock() {
                if free.len() < POOL {
                    free.push(m);
                }
            }
        }
    }
}

/// A block being filled: `cap` bytes mapped, the first `len` written (a reused
/// mapping holds old bytes past `len`, never shown).
pub(crate) struct Block {
    map: Mapping,
    len: usize,
}

/// A filled block, as the owner of the [`Bytes`] that share it.
struct Frozen {
    map: Mapping,
    len: usize,
}

impl AsRef<[u8]> for Frozen {
    fn as_ref(&self) -> &[u8] {
        &self.map.bytes()[..self.len]
    }
}

impl Block {
    /// An empty block of `cap` bytes (at least one).
    pub fn new(cap: usize) -> Result<Self, BlobError> {
        let map = Mapping::new(cap.max(1)).map_err(BlobError::Io)?;
        Ok(Self { map, len: 0 })
    }

    /// A copy of `data`, frozen: in a mapping of its own from [`MAP_MIN`] on.
    pub fn copy_of(data: &[u8]) -> Result<Bytes, BlobError> {
        if data.len() < MAP_MIN {
            return Ok(Bytes::copy_from_slice(data));
        }
        let mut b = Self::new(data.len())?;
        b.push(data);
        Ok(b.freeze())
    }

    /// `n` bytes of `file` at `pos`, frozen: in a mapping of its own from [`MAP_MIN`] on.
    pub fn read_at(file: &std::fs::File, n: usize, pos: u64) -> std::io::Result<Bytes> {
        use std::os::unix::fs::FileExt;
        if n < MAP_MIN {
            let mut buf = vec![0u8; n];
            file.read_exact_at(&mut buf, pos)?;
            return Ok(Bytes::from(buf));
        }
        let mut block = Self::new(n).map_err(std::io::Error::other)?;
        file.read_exact_at(block.fill_all(), pos)?;
        Ok(block.freeze())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Room left.
    pub fn room(&self) -> usize {
        self.map.bytes().len() - self.len
    }

    /// Appends as much of `data` as fits; answers how much that was.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = self.room().min(data.len());
        self.map.bytes_mut()[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    /// The whole block, to be filled at once (e.g. by a file read); counted as written.
    pub fn fill_all(&mut self) -> &mut [u8] {
        self.len = self.map.bytes().len();
        self.map.bytes_mut()
    }

    /// What was written, shared without a copy; unmapped when the last share goes.
    pub fn freeze(self) -> Bytes {
        match self.len {
            0 => Bytes::new(),
            len => Bytes::from_owner(Frozen { map: self.map, len }),
        }
    }
}

impl std::ops::Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map.bytes()[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_keeps_what_was_pushed_and_shares_it_once_frozen() {
        let mut b = Block::new(8).unwrap();
        assert_eq!(b.push(b"hello"), 5);
        assert_eq!(b.push(b" world"), 3);
        assert_eq!((b.len(), b.room()), (8, 0));
        assert_eq!(&b[..], b"hello wo");
        let frozen = b.freeze();
        let tail = frozen.slice(6..);
        drop(frozen);
        assert_eq!(&tail[..], b"wo");
        assert_eq!(&Block::copy_of(b"abc").unwrap()[..], b"abc");
        assert!(Block::copy_of(b"").unwrap().is_empty());
        let big: Vec<u8> = (0..MAP_MIN + 3).map(|i| i as u8).collect();
        assert_eq!(Block::copy_of(&big).unwrap(), big);
        assert!(Block::new(4).unwrap().freeze().is_empty());
    }

    #[test]
    fn a_reused_mapping_shows_only_what_its_new_block_wrote() {
        let mut b = Block::new(POOLED).unwrap();
        b.fill_all().fill(b'x');
        drop(b.freeze());
        // Whether or not this mapping is the one just freed (tests run in parallel),
        // nothing of the old bytes shows.
        let mut b = Block::new(POOLED).unwrap();
        assert_eq!((b.len(), b.room()), (0, POOLED));
        assert_eq!(b.push(b"new"), 3);
        assert_eq!(&b[..], b"new");
        assert_eq!(&b.freeze()[..], b"new");
        assert!(FREE.lock().unwrap().len() <= POOL);
    }

    #[test]
    fn reads_at_a_position_small_and_large() {
        use std::io::Write;
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..MAP_MIN * 2).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        assert_eq!(Block::read_at(&f, 10, 5).unwrap(), &data[5..15]);
        let n = MAP_MIN + 7;
        assert_eq!(Block::read_at(&f, n, 9).unwrap(), &data[9..9 + n]);
        assert!(Block::read_at(&f, 10, (MAP_MIN * 2) as u64).is_err());
    }
}
