//! Memory for the spool's 1 MiB blocks, mapped from the kernel for each block and
//! unmapped when its last reference goes, instead of allocated from the heap.
//!
//! glibc serves a large allocation from the heap once one of that size was freed (its
//! mmap threshold follows the largest block freed), and memory freed in the middle of a
//! heap stays with the process. A thousand slow uploads on object storage fill, send
//! and free these blocks out of order, so from the heap they would keep the process at
//! its high-water mark long after the blocks went. A mapping of its own goes back to
//! the system when its block does. This module must hold nothing smaller than a block
//! (a mapping costs a system call and its page faults).

use bytes::Bytes;
use memmap2::MmapMut;

use crate::blob::BlobError;

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

    /// A block holding a copy of `data`, frozen.
    pub fn copy_of(data: &[u8]) -> Result<Bytes, BlobError> {
        if data.is_empty() {
            return Ok(Bytes::new());
        }
        let mut b = Self::new(data.len())?;
        b.push(data);
        Ok(b.freeze())
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
        assert!(Block::new(4).unwrap().freeze().is_empty());
    }
}
