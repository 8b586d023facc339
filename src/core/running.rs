//! The running SHA-256 of an upload, kept with its offset, so the digest of a finished
//! upload (`Want-Digest`, `Want-Repr-Digest`, hooks, imports) is answered without
//! reading the whole file back.
//!
//! An upload created with [`super::CreateRequest::keep_digest`] carries
//! [`SHA256_RUN`] = `<pos>:<hex>`: the serialized SHA-256 state of bytes `[0, pos)`.
//! The write pump resumes it when it starts appending at exactly `pos`, hashes beside
//! the write (on the blocking pool) and stores the new state in the same fenced commit
//! that moves the offset — only when the commit point is exactly where the hash is (a
//! commit by age that stops short keeps the older state). A staged range merged while
//! the state is at the offset is read back and hashed in the merge's commit
//! ([`RunningPipe::carried_over`]), so parallel ranged `PUT`s keep it too. Every other
//! way the offset moves (a merge on a store that cannot read parts back, a tail kept
//! after a crash, concatenation) leaves the state behind, which stays true of its
//! prefix: stored bytes below the offset never change, except by a Kaltura restart
//! from byte 0, which clears it. [`UploadService::sha256`]
//! then reads back only `[pos, offset)`. The state lives in the state store, so it
//! follows the upload across instances.
//!
//! [`UploadService::sha256`]: super::UploadService::sha256

use bytes::Bytes;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::Sha256;

use super::body::Pipe;
use crate::model::UploadRecord;

/// The record attribute holding the running state (empty: none kept).
pub const SHA256_RUN: &str = "core.sha256_run";

/// A SHA-256 state and the offset it has hashed up to.
pub(crate) struct Running {
    pub pos: u64,
    pub hash: Sha256,
}

impl Running {
    /// The attribute value that starts keeping a digest at byte 0.
    pub fn start() -> (String, String) {
        (SHA256_RUN.to_owned(), encode(0, &Sha256::default()))
    }

    /// The attribute value that stops keeping one (the bytes it covered were replaced).
    pub fn clear() -> (String, String) {
        (SHA256_RUN.to_owned(), String::new())
    }

    /// The state `rec` keeps, when it has a valid one within its offset.
    pub fn of(rec: &UploadRecord) -> Option<Self> {
        let (pos, state) = rec.attrs.get(SHA256_RUN)?.split_once(':')?;
        let pos: u64 = pos.parse().ok()?;
        let bytes = upgate_proto::hex::unhex(state)?;
        let state = SerializedState::<Sha256>::try_from(&bytes[..]).ok()?;
        let hash = Sha256::deserialize(&state).ok()?;
        (pos <= rec.offset).then_some(Self { pos, hash })
    }
}

fn encode(pos: u64, hash: &Sha256) -> String {
    format!("{pos}:{}", upgate_proto::hex::hex(&hash.serialize()))
}

/// The running hash of one write, resumed where the record's state ends.
pub(crate) struct RunningPipe {
    pipe: Pipe<Sha256>,
    pos: u64,
}

impl RunningPipe {
    /// Resumes `rec`'s state when it ends exactly at the offset the write starts at.
    pub fn resume(rec: &UploadRecord) -> Option<Self> {
        let r = Running::of(rec).filter(|r| r.pos == rec.offset)?;
        Some(Self {
            pipe: Pipe::start(r.hash),
            pos: r.pos,
        })
    }

    /// Hashes the next bytes written.
    pub async fn update(&mut self, data: &Bytes) {
        self.pos += data.len() as u64;
        self.pipe.update(data).await;
    }

    /// The body pauses: hashes what was gathered.
    pub async fn idle(&mut self) {
        self.pipe.idle().await;
    }

    /// The state carried over bytes `[rec.offset, to)` that reached the upload another
    /// way (a staged range merged under the lease): read back from storage (just
    /// written, so from the page cache on a local disk) and hashed, when `rec`'s state
    /// is exactly at its offset. `None` when it is not, or the store cannot read them
    /// back yet (object-store parts): the state then stays behind as before. Each byte
    /// is hashed once this way, in the commit that merges it.
    pub async fn carried_over(
        blobs: &dyn crate::blob::Assembler,
        rec: &UploadRecord,
        to: u64,
    ) -> Option<(String, String)> {
        let mut pipe = Self::resume(rec)?;
        let mut rx = blobs.read(&rec.id, rec.offset, to, false).await.ok()?;
        while let Some(chunk) = rx.recv().await {
            pipe.update(&chunk.ok()?).await;
        }
        pipe.attr_at(to).await
    }

    /// The attribute to commit with the offset `at`: only when the hash is exactly there.
    pub async fn attr_at(&mut self, at: u64) -> Option<(String, String)> {
        if at != self.pos {
            return None;
        }
        let pos = self.pos;
        let value = self.pipe.look(move |h| encode(pos, h)).await?;
        Some((SHA256_RUN.to_owned(), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn rec(offset: u64, run: Option<String>) -> UploadRecord {
        let mut r = crate::core::merge::tests::rec(offset, None, &[]);
        if let Some(v) = run {
            r.attrs.insert(SHA256_RUN.to_owned(), v);
        }
        r
    }

    #[tokio::test]
    async fn a_state_saved_mid_block_resumes_to_the_same_digest() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole: [u8; 32] = Sha256::digest(&data).into();
        // Cut at odd places so the saved state holds a partial block.
        let mut saved = Running::start().1;
        let mut offset = 0u64;
        for cut in [0usize, 1, 63, 64, 65, 4097, 150_001, 200_000] {
            let r = rec(offset, Some(saved.clone()));
            let mut pipe = RunningPipe::resume(&r).expect("resumes at its offset");
            let chunk = Bytes::copy_from_slice(&data[offset as usize..cut]);
            pipe.update(&chunk).await;
            assert_eq!(pipe.attr_at(cut as u64 + 1).await, None, "not there");
            saved = pipe.attr_at(cut as u64).await.expect("exactly there").1;
            offset = cut as u64;
        }
        let end = Running::of(&rec(offset, Some(saved))).expect("valid");
        assert_eq!(end.pos, 200_000);
        let got: [u8; 32] = end.hash.finalize().into();
        assert_eq!(got, whole);
    }

    #[test]
    fn only_a_state_within_the_offset_counts() {
        let (_, start) = Running::start();
        assert!(Running::of(&rec(0, Some(start.clone()))).is_some());
        assert!(RunningPipe::resume(&rec(5, Some(start.clone()))).is_none());
        let later = format!("10:{}", start.split_once(':').unwrap().1);
        assert!(Running::of(&rec(9, Some(later.clone()))).is_none());
        assert!(Running::of(&rec(10, Some(later))).is_some());
        for bad in ["", "x:00", "0:zz", "0:00", "0"] {
            assert!(Running::of(&rec(0, Some(bad.into()))).is_none(), "{bad:?}");
        }
        assert!(Running::of(&rec(0, None)).is_none());
    }
}
