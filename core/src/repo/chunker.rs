//! Content-defined chunking of the archive stream: a gear hash with FastCDC's normalized cut
//! (Xia et al., "The Design of Fast Content-Defined Chunking", 2020, normalization level 1), so
//! an edit changes only the chunks around it and the rest deduplicate against the previous
//! snapshot.
//!
//! The gear table is secret: 256 words derived from the epoch's chunker key
//! ([`EpochKeys::gear_table`](super::keys::EpochKeys::gear_table)), so cut points, and with them
//! chunk and pack sizes, cannot be predicted from a known plaintext. Public tables let a store
//! fingerprint known content from chunk lengths ("Breaking and Fixing Content-Defined Chunking",
//! Truong et al., RWC 2025; "Chunking Attacks on File Backup Services using Content-Defined
//! Chunking", ePrint 2025/532); the same papers show that a secret table alone leaks the table
//! to an adversary who sees many chunk lengths of known data, which is why Keepsake never shows
//! them: chunks are sealed inside packs whose trailer is encrypted and whose trailer length is
//! masked, and reads are aligned (`docs/REPOSITORY.md` §14.4). Media files are not cut by
//! content at all (`crate::media::write`: fixed blocks).
//!
//! The hash is `h = (h << 1) + gear[byte]`; a cut is made where the top bits of `h` are zero,
//! more bits before the average size and fewer after it (normalization), never before `min`
//! and always at `max`. The default sizes were chosen by measurement on the chat archive stream
//! (see `docs/REPOSITORY.md`, "Chunk sizes").

use std::io::Read;

use crate::{Error, Result};

/// Largest chunk any repository may use; bounds memory and the decoder's allocations.
pub const MAX_CHUNK_LEN: u32 = 1024 * 1024;
/// Smallest `min` a config may declare.
const MIN_MIN: u32 = 64;
/// Smallest `avg` a config may declare.
const MIN_AVG: u32 = 256;

/// The chunker's minimum, average and maximum chunk sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerParams {
    /// No cut before this many bytes (except at the end of the stream).
    pub min: u32,
    /// The normal size the cut aims for.
    pub avg: u32,
    /// A cut is forced at this many bytes.
    pub max: u32,
}

impl Default for ChunkerParams {
    /// 2 KiB / 8 KiB / 32 KiB: see `docs/REPOSITORY.md` for the measurements behind it.
    fn default() -> Self {
        ChunkerParams {
            min: 2 * 1024,
            avg: 8 * 1024,
            max: 32 * 1024,
        }
    }
}

impl ChunkerParams {
    /// Checks `min < avg < max`, the smallest sizes and [`MAX_CHUNK_LEN`].
    pub fn validate(&self) -> Result<()> {
        let ok = self.min >= MIN_MIN
            && self.avg >= MIN_AVG
            && self.min < self.avg
            && self.avg < self.max
            && self.max <= MAX_CHUNK_LEN;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "chunker sizes min {} avg {} max {} must satisfy {MIN_MIN} <= min < avg < max \
                 <= {MAX_CHUNK_LEN}, avg >= {MIN_AVG}",
                self.min, self.avg, self.max
            )))
        }
    }
}

/// The cut rule of one repository epoch: sizes, masks and the secret gear table.
#[derive(Clone)]
pub struct Cutter {
    params: ChunkerParams,
    gear: Box<[u64; 256]>,
    /// Mask used before the average size: one bit more than the average's logarithm.
    mask_small: u64,
    /// Mask used after it: one bit fewer.
    mask_large: u64,
}

impl std::fmt::Debug for Cutter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cutter")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// A mask of the top `bits` bits: they depend on the last 64 bytes hashed.
fn top_bits(bits: u32) -> u64 {
    match bits {
        0 => 0,
        64.. => u64::MAX,
        n => !(u64::MAX >> n),
    }
}

impl Cutter {
    /// A cutter with `params` (already validated) and the epoch's gear table.
    pub fn new(params: ChunkerParams, gear: Box<[u64; 256]>) -> Cutter {
        let bits = params.avg.ilog2();
        Cutter {
            params,
            gear,
            mask_small: top_bits(bits + 1),
            mask_large: top_bits(bits.saturating_sub(1)),
        }
    }

    /// The length of the first chunk of `data`; it depends only on the first `max` bytes, and
    /// is all of `data` when that is shorter than `min`.
    pub fn first_cut(&self, data: &[u8]) -> usize {
        let p = self.params;
        let end = data.len().min(p.max as usize);
        let min = p.min as usize;
        if end <= min {
            return end;
        }
        let center = (p.avg as usize).min(end);
        let mut hash = 0u64;
        let gear = &*self.gear;
        for (i, byte) in data.iter().enumerate().take(center).skip(min) {
            hash = (hash << 1).wrapping_add(gear[usize::from(*byte)]);
            if hash & self.mask_small == 0 {
                return i + 1;
            }
        }
        for (i, byte) in data.iter().enumerate().take(end).skip(center.max(min)) {
            hash = (hash << 1).wrapping_add(gear[usize::from(*byte)]);
            if hash & self.mask_large == 0 {
                return i + 1;
            }
        }
        end
    }

    /// An iterator over the chunks of `source`.
    pub fn chunks<'a, R: Read + 'a>(
        &'a self,
        source: R,
    ) -> impl Iterator<Item = Result<Vec<u8>>> + 'a {
        ReadChunks {
            cutter: self,
            source,
            buffer: vec![0; 2 * self.params.max as usize],
            start: 0,
            end: 0,
            eof: false,
        }
    }
}

/// Chunks of a `Read`, with one copy per byte besides the read.
struct ReadChunks<'c, R> {
    cutter: &'c Cutter,
    source: R,
    /// Holds up to two maximum chunks: the bytes `start..end` are not cut yet.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> ReadChunks<'_, R> {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let max = self.cutter.params.max as usize;
        if self.end - self.start < max && !self.eof {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            while self.end < max && !self.eof {
                match self.source.read(&mut self.buffer[self.end..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.end += n,
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(Error::from(err)),
                }
            }
        }
        let pending = &self.buffer[self.start..self.end];
        if pending.is_empty() {
            return Ok(None);
        }
        let cut = self.cutter.first_cut(pending);
        let chunk = pending[..cut].to_vec();
        self.start += cut;
        Ok(Some(chunk))
    }
}

impl<R: Read> Iterator for ReadChunks<'_, R> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

/// Content-defined chunking of a stream that arrives in pieces (the media catalog, written
/// record by record): cuts exactly where [`Cutter::chunks`] would cut the same bytes, since
/// the first cut depends only on the first `max` bytes.
pub struct PushChunker {
    cutter: Cutter,
    pending: Vec<u8>,
}

impl PushChunker {
    /// A chunker cutting with `cutter`.
    pub fn new(cutter: Cutter) -> PushChunker {
        PushChunker {
            cutter,
            pending: Vec::new(),
        }
    }

    /// Appends `bytes`; every chunk that is now certain goes to `emit`.
    pub fn push(
        &mut self,
        bytes: &[u8],
        emit: &mut dyn FnMut(Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        while self.pending.len() >= self.cutter.params.max as usize {
            self.emit_first(emit)?;
        }
        Ok(())
    }

    /// Ends the stream: the remaining bytes become the last chunks.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<()> {
        while !self.pending.is_empty() {
            self.emit_first(emit)?;
        }
        Ok(())
    }

    fn emit_first(&mut self, emit: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<()> {
        let cut = self.cutter.first_cut(&self.pending);
        let rest = self.pending.split_off(cut);
        emit(std::mem::replace(&mut self.pending, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::keys::EpochKeys;

    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn cutter(params: ChunkerParams, key: u8) -> Cutter {
        let keys = EpochKeys::derive(&[1; 16], 0, [key; 32]).unwrap();
        Cutter::new(params, keys.gear_table())
    }

    #[test]
    fn chunks_cover_the_stream_within_bounds_and_resync_after_an_edit() {
        let params = ChunkerParams::default();
        let cut = cutter(params, 2);
        let data = pseudo_random(1 << 20, 1);
        let chunks: Vec<Vec<u8>> = cut.chunks(&data[..]).map(|c| c.unwrap()).collect();
        assert_eq!(chunks.concat(), data);
        for chunk in &chunks[..chunks.len() - 1] {
            assert!(chunk.len() >= params.min as usize && chunk.len() <= params.max as usize);
        }
        // The sizes centre on the average.
        let mean = data.len() / chunks.len();
        assert!((6 * 1024..12 * 1024).contains(&mean), "mean chunk {mean}");
        let mut edited = data.clone();
        edited[500_000] ^= 0xff;
        let after: Vec<Vec<u8>> = cut.chunks(&edited[..]).map(|c| c.unwrap()).collect();
        let unchanged = after.iter().filter(|c| chunks.contains(c)).count();
        assert!(
            unchanged + 3 >= chunks.len(),
            "an edit changes only nearby chunks"
        );
    }

    #[test]
    fn cut_points_depend_on_the_key() {
        let data = pseudo_random(1 << 20, 3);
        let lengths = |key| -> Vec<usize> {
            cutter(ChunkerParams::default(), key)
                .chunks(&data[..])
                .map(|c| c.unwrap().len())
                .collect()
        };
        let (a, b) = (lengths(2), lengths(3));
        assert_eq!(a, lengths(2), "the same key cuts the same way");
        let mut ends_a = std::collections::HashSet::new();
        let mut end = 0;
        for len in &a {
            end += len;
            ends_a.insert(end);
        }
        let mut shared = 0;
        end = 0;
        for len in &b {
            end += len;
            shared += usize::from(ends_a.contains(&end));
        }
        assert!(
            shared * 10 < b.len(),
            "another key shares few cut points ({shared} of {})",
            b.len()
        );
    }

    /// A reader that returns at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn cuts_do_not_depend_on_read_sizes_or_push_pieces() {
        let data = pseudo_random(3 << 20, 9);
        let cut = cutter(ChunkerParams::default(), 5);
        let whole: Vec<Vec<u8>> = cut.chunks(&data[..]).map(|c| c.unwrap()).collect();
        for step in [1 << 20, 4096, 777] {
            let ours: Vec<Vec<u8>> = cut
                .chunks(Trickle { data: &data, step })
                .map(|c| c.unwrap())
                .collect();
            assert_eq!(ours, whole, "read size {step}");
        }
        let mut pushed = Vec::new();
        let mut chunker = PushChunker::new(cut.clone());
        let mut emit = |chunk: Vec<u8>| -> Result<()> {
            pushed.push(chunk);
            Ok(())
        };
        for piece in data.chunks(777) {
            chunker.push(piece, &mut emit).unwrap();
        }
        chunker.finish(&mut emit).unwrap();
        assert_eq!(pushed, whole);
        assert_eq!(cut.chunks(&[][..]).count(), 0);
        assert_eq!(cut.first_cut(&[1]), 1);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let bad = |min, avg, max| ChunkerParams { min, avg, max }.validate().is_err();
        assert!(bad(4096, 4096, 8192));
        assert!(bad(1, 4096, 8192));
        assert!(bad(1024, 4096, 2 * MAX_CHUNK_LEN));
        ChunkerParams::default().validate().unwrap();
    }
}
