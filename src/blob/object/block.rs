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

use bytes::Bytes;
use memmap2::MmapMut;

use crate::blob::BlobError;

/// The smallest buffer given a mapping of its own.
pub(crate) const MAP_MIN: usize = 256 << 10;

/// A block being filled: `cap` bytes mapped, the first `len` written.
pub(crate) struct Block {
    map: MmapMut,
    len: usize,
}

/// A filled block, as the owner of the [`Bytes`] that share it.
struct Frozen {
    map: MmapMut,
    len: usize,
}

impl AsRef<[u8]> for Frozen {
    fn as_ref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl Block {
    /// An empty block of `cap` bytes (at least one).
    pub fn new(cap: usize) -> Result<Self, BlobError> {
        let map = MmapMut::map_anon(cap.max(1)).map_err(BlobError::Io)?;
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
        self.map.len() - self.len
    }

    /// Appends as much of `data` as fits; answers how much that was.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = self.room().min(data.len());
        self.map[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    /// The whole block, to be filled at once (e.g. by a file read); counted as written.
    pub fn fill_all(&mut self) -> &mut [u8] {
        self.len = self.map.len();
        &mut self.map[..]
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
        &self.map[..self.len]
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
