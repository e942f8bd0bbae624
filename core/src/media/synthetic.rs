//! Synthetic media files for a synthetic chat store (tests, `keepsake seed --media`, the
//! benchmark): one file per attachment at its `local_ref` under a directory, of a realistic
//! size for its kind, incompressible like real photos, videos and voice notes (documents are
//! half text). Some attachments are forwards (the same bytes as an earlier one) and some are
//! not on the device; once the byte budget is spent, the remaining attachments have no file
//! (old media a phone no longer holds). The rows' `size` and `sha256` are set to the files'.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use super::{path_under, MediaKind};
use crate::{
    store::{synthetic::Rng, ChatStore},
    Error, Result,
};

/// What media to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaSpec {
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// Stop making files once this many bytes are written.
    pub total_bytes: u64,
    /// Videos of 50 to 200 MB (before scaling); other videos are short clips of 1 to 8 MB.
    pub long_videos: u32,
    /// Every n-th attachment has no file (0: none).
    pub absent_every: u64,
    /// Every n-th attachment is a forward of the last file made (0: none).
    pub forward_every: u64,
    /// Sizes are divided by this (1: realistic; tests use 1000 or more).
    pub size_divisor: u64,
}

impl MediaSpec {
    /// A realistic set of about `total_bytes`: two long videos, 1 in 20 attachments not on the
    /// device, 1 in 10 a forward.
    pub fn realistic(seed: u64, total_bytes: u64) -> MediaSpec {
        MediaSpec {
            seed,
            total_bytes,
            long_videos: 2,
            absent_every: 20,
            forward_every: 10,
            size_divisor: 1,
        }
    }
}

/// What [`write_media_files`] made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaSet {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Attachments with no file.
    pub absent: u64,
    /// Files that repeat an earlier file's bytes.
    pub forwards: u64,
}

/// Writes the files of `store`'s attachments under `dir` as `spec` says.
pub fn write_media_files(store: &mut ChatStore, dir: &Path, spec: &MediaSpec) -> Result<MediaSet> {
    let mut rng = Rng(spec.seed ^ 0x006d_6564_6961);
    let mut set = MediaSet::default();
    let mut long_videos = 0;
    let mut last: Option<PathBuf> = None;
    let mut updates: Vec<(i64, u64, [u8; 32])> = Vec::new();
    let mut after = i64::MIN;
    loop {
        let page = store.attachments_after(after, 256)?;
        let Some(tail) = page.last() else {
            break;
        };
        after = tail.attachment.id;
        for place in page {
            let a = place.attachment;
            let Some(path) = a.local_ref.as_deref().and_then(|r| path_under(dir, r)) else {
                continue;
            };
            let n = a.id as u64;
            if set.bytes >= spec.total_bytes
                || (spec.absent_every > 0 && n.is_multiple_of(spec.absent_every))
            {
                set.absent += 1;
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io_at(parent, e))?;
            }
            let forward = spec.forward_every > 0 && n.is_multiple_of(spec.forward_every);
            let (size, sha256) = match last.as_ref().filter(|_| forward) {
                Some(earlier) => {
                    std::fs::copy(earlier, &path).map_err(|e| Error::io_at(&path, e))?;
                    set.forwards += 1;
                    digest_file(&path)?
                }
                None => {
                    let kind = MediaKind::of_mime(&a.mime);
                    let long = kind == MediaKind::Video && long_videos < spec.long_videos;
                    long_videos += u32::from(long);
                    let size = file_size(&mut rng, kind, long) / spec.size_divisor.max(1);
                    write_file(&mut rng, &path, size, kind == MediaKind::Document)?
                }
            };
            set.files += 1;
            set.bytes += size;
            updates.push((a.id, size, sha256));
            last = Some(path);
        }
    }
    store.set_attachment_files(&updates)?;
    Ok(set)
}

/// A realistic size for a file of `kind`.
fn file_size(rng: &mut Rng, kind: MediaKind, long_video: bool) -> u64 {
    let (lo, hi) = match kind {
        MediaKind::Image => (100_000, 4_000_000),
        MediaKind::Audio => (5_000, 500_000),
        MediaKind::Video if long_video => (50_000_000, 200_000_000),
        MediaKind::Video => (1_000_000, 8_000_000),
        MediaKind::Document => (20_000, 2_000_000),
    };
    rng.between(lo, hi) as u64
}

/// Writes `size` pseudo-random bytes (half of them a repeated phrase when `text_like`);
/// returns the size and SHA-256.
fn write_file(rng: &mut Rng, path: &Path, size: u64, text_like: bool) -> Result<(u64, [u8; 32])> {
    let file = File::create(path).map_err(|e| Error::io_at(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        let buf = &mut block[..n];
        for (i, word) in buf.chunks_mut(8).enumerate() {
            let bytes = if text_like && i % 2 == 0 {
                *b"keepsake"
            } else {
                rng.next_u64().to_le_bytes()
            };
            word.copy_from_slice(&bytes[..word.len()]);
        }
        hasher.update(&*buf);
        out.write_all(buf).map_err(|e| Error::io_at(path, e))?;
        left -= n as u64;
    }
    out.flush().map_err(|e| Error::io_at(path, e))?;
    Ok((size, hasher.finalize().into()))
}

fn digest_file(path: &Path) -> Result<(u64, [u8; 32])> {
    let mut file = File::open(path).map_err(|e| Error::io_at(path, e))?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io_at(path, e))?;
    Ok((size, hasher.finalize().into()))
}
