//! Reading what a finished file is from its own header, once, after it completes: the
//! top-level ISO-BMFF boxes are walked with ranged reads (an `mdat` of gigabytes is
//! skipped, not read), then `ftyp` and `moov` alone go through Mozilla's `mp4parse`
//! (the parser Firefox uses). MP4, MOV and M4A are read that way; WebM/Matroska and MP3
//! from the file's first 256 KiB by [`upgate_proto::media`]. Other files get no
//! [`MediaInfo`] and their entries list with what is known (size, extension).
//! The result is stored on the upload record (`core.media`).

use std::io::Cursor;

use crate::model::{core_attr, MediaInfo};

use super::{Result, UploadService};

/// Largest `moov` box read (headers of hours of video fit in a few MiB).
const MAX_MOOV: u64 = 16 << 20;
/// Most top-level boxes walked before giving up.
const MAX_BOXES: usize = 64;

impl UploadService {
    /// Reads `[start, end)` of a completed upload into memory (small ranges only).
    async fn read_small(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let mut rx = self.blobs.read(id, start, end, true).await?;
        let mut out = Vec::with_capacity((end - start) as usize);
        while let Some(chunk) = rx.recv().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// What the completed upload `id` of `len` bytes is, if its header says so.
    pub async fn probe(&self, id: &str, len: u64) -> Result<Option<MediaInfo>> {
        let head = self
            .read_small(id, 0, len.min(upgate_proto::media::HEAD_BYTES as u64))
            .await?;
        if head.get(4..8) != Some(b"ftyp") {
            // WebM/Matroska or MP3, from the head alone.
            return Ok(upgate_proto::media::probe(&head, len).map(|h| MediaInfo {
                container: h.container,
                content_type: h.content_type,
                ext: h.ext,
                width: h.width,
                height: h.height,
                duration_ms: h.duration_ms,
                bitrate_kbps: len
                    .saturating_mul(8)
                    .checked_div(h.duration_ms)
                    .unwrap_or(0),
            }));
        }
        self.probe_mp4(id, len).await
    }

    /// The ISO-BMFF path (MP4, MOV, M4A).
    async fn probe_mp4(&self, id: &str, len: u64) -> Result<Option<MediaInfo>> {
        let mut pos = 0u64;
        // (offset, size) of the two boxes needed.
        let mut ftyp: Option<(u64, u64)> = None;
        let mut moov: Option<(u64, u64)> = None;
        for _ in 0..MAX_BOXES {
            if pos + 8 > len || (ftyp.is_some() && moov.is_some()) {
                break;
            }
            let head = self.read_small(id, pos, (pos + 16).min(len)).await?;
            let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
            let kind = &head[4..8];
            let size = match size32 {
                0 => len - pos,
                1 if head.len() >= 16 => u64::from_be_bytes([
                    head[8], head[9], head[10], head[11], head[12], head[13], head[14], head[15],
                ]),
                n => n,
            };
            if size < 8 || pos + size > len {
                return Ok(None); // not ISO-BMFF, or truncated
            }
            match kind {
                b"ftyp" => ftyp = Some((pos, size)),
                b"moov" => moov = Some((pos, size)),
                _ => {}
            }
            pos += size;
        }
        let (Some((fp, fs)), Some((mp, ms))) = (ftyp, moov) else {
            return Ok(None);
        };
        if fs > 4096 || ms > MAX_MOOV {
            return Ok(None);
        }
        let mut bytes = self.read_small(id, fp, fp + fs).await?;
        let brand = String::from_utf8_lossy(bytes.get(8..12).unwrap_or(b""))
            .trim()
            .to_owned();
        bytes.extend(self.read_small(id, mp, mp + ms).await?);
        let Ok(ctx) = mp4parse::read_mp4(&mut Cursor::new(bytes)) else {
            return Ok(None);
        };
        let mut info = MediaInfo {
            container: brand.clone(),
            ..Default::default()
        };
        let mut has_video = false;
        for t in ctx.tracks.iter() {
            if let (Some(d), Some(ts)) = (&t.duration, &t.timescale) {
                if let Some(ms) = d.0.saturating_mul(1000).checked_div(ts.0) {
                    info.duration_ms = info.duration_ms.max(ms);
                }
            }
            if matches!(t.track_type, mp4parse::TrackType::Video) {
                has_video = true;
                if let Some(h) = &t.tkhd {
                    info.width = h.width >> 16;
                    info.height = h.height >> 16;
                }
            }
        }
        info.bitrate_kbps = len
            .saturating_mul(8)
            .checked_div(info.duration_ms)
            .unwrap_or(0);
        (info.content_type, info.ext) = match (brand.as_str(), has_video) {
            ("qt", _) => ("video/quicktime".into(), "mov".into()),
            ("M4A" | "M4B", _) | (_, false) => ("audio/mp4".into(), "m4a".into()),
            _ => ("video/mp4".into(), "mp4".into()),
        };
        Ok(Some(info))
    }

    /// Probes a just-completed upload and records what it is (best effort, in the
    /// background: an unreadable file is simply not described).
    pub(crate) fn describe_later(&self, id: &str, len: u64) {
        let svc = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            match svc.probe(&id, len).await {
                Ok(Some(info)) => {
                    if let Ok(json) = serde_json::to_string(&info) {
                        let set = vec![(core_attr::MEDIA.to_owned(), json)];
                        if let Err(e) = svc.set_attrs(&id, None, set).await {
                            tracing::debug!(%id, error = %e, "media description not stored");
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(%id, error = %e, "media probe failed"),
            }
        });
    }
}
