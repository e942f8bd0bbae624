//! Content-defined chunking of the archive stream with FastCDC (the `fastcdc` crate, 2020
//! algorithm, normalization level 1), so an edit changes only the chunks around it and the
//! rest deduplicate against the previous snapshot.
//!
//! The default sizes were chosen by measurement on the chat archive stream (see
//! `docs/REPOSITORY.md`, "Chunk sizes").

use std::io::Read;

use fastcdc::v2020;

use crate::{Error, Result};

/// Largest chunk any repository may use; bounds memory and the decoder's allocations.
pub const MAX_CHUNK_LEN: u32 = 1024 * 1024;

/// FastCDC's minimum, average and maximum chunk sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerParams {
    /// No cut before this many bytes (except at the end of the stream).
    pub min: u32,
    /// The normal size FastCDC aims for.
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
    /// Sizes for media files: 256 KiB / 512 KiB / 1 MiB. Media is already compressed and is
    /// rarely edited in place, so deduplication is mostly of whole files (a photo forwarded to
    /// ten chats); large chunks keep the index and the catalog small (a 2 GB media set is about
    /// 4,000 chunks) while the 1 MiB ceiling ([`MAX_CHUNK_LEN`]) bounds memory per chunk.
    pub const MEDIA: ChunkerParams = ChunkerParams {
        min: 256 * 1024,
        avg: 512 * 1024,
        max: 1024 * 1024,
    };

    /// Checks `min < avg < max`, FastCDC's own bounds and [`MAX_CHUNK_LEN`].
    pub fn validate(&self) -> Result<()> {
        let ok = self.min >= v2020::MINIMUM_MIN
            && self.avg >= v2020::AVERAGE_MIN
            && self.max >= v2020::MAXIMUM_MIN
            && self.min < self.avg
            && self.avg < self.max
            && self.max <= MAX_CHUNK_LEN;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "chunker sizes min {} avg {} max {} must satisfy {} <= min < avg < max <= {}, \
                 avg >= {}",
                self.min,
                self.avg,
                self.max,
                v2020::MINIMUM_MIN,
                MAX_CHUNK_LEN,
                v2020::AVERAGE_MIN
            )))
        }
    }

    /// An iterator over the chunks of `source`.
    pub fn chunks<R: Read>(&self, source: R) -> impl Iterator<Item = Result<Vec<u8>>> {
        ReadChunks {
            cutter: Cutter::new(*self),
            source,
            buffer: vec![0; 2 * self.max as usize],
            start: 0,
            end: 0,
            eof: false,
        }
    }
}

/// FastCDC 2020's cut point with normalization level 1 (the `fastcdc` crate's default), with
/// its masks computed once.
#[derive(Debug, Clone, Copy)]
struct Cutter {
    params: ChunkerParams,
    mask_s: u64,
    mask_l: u64,
}

impl Cutter {
    fn new(params: ChunkerParams) -> Cutter {
        let bits = v2020::logarithm2(params.avg) as usize;
        let level = v2020::Normalization::Level1.bits() as usize;
        let mask = |i: usize| v2020::MASKS.get(i).copied().unwrap_or(u64::MAX);
        Cutter {
            params,
            mask_s: mask(bits + level),
            mask_l: mask(bits.saturating_sub(level)),
        }
    }

    /// The length of the first chunk of `data`; it depends only on the first `max` bytes, and
    /// is all of `data` when that is shorter than `min`.
    fn first_cut(&self, data: &[u8]) -> usize {
        let p = self.params;
        let window = data.get(..data.len().min(p.max as usize)).unwrap_or(data);
        let (_, count) = v2020::cut(
            window,
            p.min as usize,
            p.avg as usize,
            p.max as usize,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
        );
        count.max(1).min(data.len())
    }
}

/// Chunks of a `Read`, cut where the `fastcdc` crate's `StreamCDC` cuts, with one copy per
/// byte besides the read (`StreamCDC` shifts its whole buffer after every chunk).
struct ReadChunks<R> {
    cutter: Cutter,
    source: R,
    /// Holds up to two maximum chunks: the bytes `start..end` are not cut yet.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> ReadChunks<R> {
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

impl<R: Read> Iterator for ReadChunks<R> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

/// Content-defined chunking of a stream that arrives in pieces (the media catalog, written
/// record by record): cuts exactly where [`ChunkerParams::chunks`] would cut the same bytes,
/// since FastCDC's first cut depends only on the first `max` bytes.
pub struct PushChunker {
    params: ChunkerParams,
    cutter: Cutter,
    pending: Vec<u8>,
}

impl PushChunker {
    /// A chunker with `params` (already validated).
    pub fn new(params: ChunkerParams) -> PushChunker {
        PushChunker {
            params,
            cutter: Cutter::new(params),
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
        while self.pending.len() >= self.params.max as usize {
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

    #[test]
    fn chunks_cover_the_stream_within_bounds_and_resync_after_an_edit() {
        let params = ChunkerParams::default();
        let data = pseudo_random(1 << 20, 1);
        let chunks: Vec<Vec<u8>> = params.chunks(&data[..]).map(|c| c.unwrap()).collect();
        assert_eq!(chunks.concat(), data);
        for chunk in &chunks[..chunks.len() - 1] {
            assert!(chunk.len() >= params.min as usize && chunk.len() <= params.max as usize);
        }
        let mut edited = data.clone();
        edited[500_000] ^= 0xff;
        let after: Vec<Vec<u8>> = params.chunks(&edited[..]).map(|c| c.unwrap()).collect();
        let unchanged = after.iter().filter(|c| chunks.contains(c)).count();
        assert!(
            unchanged + 3 >= chunks.len(),
            "an edit changes only nearby chunks"
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
    fn cuts_are_the_fastcdc_crates_for_every_read_size_and_chunker() {
        // The cut points are the repository's format: existing repositories deduplicate only
        // if they never move. The crate's own stream chunker is the reference.
        let data = pseudo_random(3 << 20, 9);
        for params in [ChunkerParams::default(), ChunkerParams::MEDIA] {
            let reference: Vec<Vec<u8>> =
                v2020::StreamCDC::new(&data[..], params.min, params.avg, params.max)
                    .map(|c| c.unwrap().data)
                    .collect();
            for step in [1 << 20, 4096, 777] {
                let ours: Vec<Vec<u8>> = params
                    .chunks(Trickle { data: &data, step })
                    .map(|c| c.unwrap())
                    .collect();
                assert_eq!(ours, reference, "read size {step}");
            }
        }
        assert_eq!(ChunkerParams::default().chunks(&[][..]).count(), 0);
    }

    #[test]
    fn pushed_pieces_are_cut_where_a_whole_stream_is() {
        let params = ChunkerParams::default();
        let data = pseudo_random(300_000, 7);
        let whole: Vec<Vec<u8>> = params.chunks(&data[..]).map(|c| c.unwrap()).collect();
        let mut pushed = Vec::new();
        let mut chunker = PushChunker::new(params);
        let mut emit = |chunk: Vec<u8>| -> Result<()> {
            pushed.push(chunk);
            Ok(())
        };
        for piece in data.chunks(777) {
            chunker.push(piece, &mut emit).unwrap();
        }
        chunker.finish(&mut emit).unwrap();
        assert_eq!(pushed, whole);
        assert!(whole.len() > 10);
        ChunkerParams::MEDIA.validate().unwrap();
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
