//! Pack objects: many sealed chunks in one object of several MiB, so the store sees few objects
//! and no individual chunk sizes, and a pack trailer listing its chunks so a pack whose index
//! was never written (a killed backup) can be adopted by the next run.
//!
//! # Layout
//!
//! ```text
//! pack    = chunk_1 || ... || chunk_n || trailer || u32 BE trailer length || "KSPK"
//! chunk   = nonce (12) || AES-256-GCM(codec (1) || body) || tag (16)
//!           AAD = REPO_CHUNK_AAD || epoch (u32 BE) || chunk id (32)
//!           codec 0: body is the plaintext; codec 1: body is one zstd frame of it
//! trailer = sealed-object envelope (magic KSPT, name = the pack's object name) of
//!           u32 BE count || count x (chunk id (32) || u32 offset || u32 length || u32 raw length)
//! ```
//!
//! Random padding may lie between the last chunk and the trailer (no entry points into it):
//! the last media pack of a backup is padded to a [`padme`] size, so that a day with one new
//! photo does not show the photo's size.

use subtle::ConstantTimeEq;

use super::{
    chunker::MAX_CHUNK_LEN,
    codec::Reader,
    index::IndexEntry,
    keys::{ChunkId, EpochKeys, KeySet, SEAL_OVERHEAD},
    object, BlobStore, ByteRange, DATA_PREFIX,
};
use crate::{crypto::labels, Error, Result};

/// Magic at the very end of a pack.
pub const PACK_MAGIC: &[u8; 4] = b"KSPK";
/// Magic of the pack trailer envelope.
pub const TRAILER_MAGIC: &[u8; 4] = b"KSPT";
/// Default pack size: large enough to keep the object count near stored bytes / 8 MiB, small
/// enough to hold one pack in memory on a phone.
pub const DEFAULT_PACK_TARGET: u32 = 8 * 1024 * 1024;
/// Smallest and largest pack targets a config may declare.
pub const PACK_TARGET_RANGE: (u32, u32) = (64 * 1024, 64 * 1024 * 1024);
/// Most chunks a pack trailer may list.
pub const MAX_PACK_CHUNKS: u64 = 1 << 20;
/// Codec byte: stored.
pub const CODEC_STORED: u8 = 0;
/// Codec byte: zstd.
pub const CODEC_ZSTD: u8 = 1;
/// Bytes of one trailer or index entry.
pub const ENTRY_LEN: usize = 32 + 4 + 4 + 4;
/// Bytes after the trailer: its length and the pack magic.
const TAIL_LEN: usize = 8;

/// Checks a configured pack target.
pub fn validate_target(target: u32) -> Result<()> {
    if (PACK_TARGET_RANGE.0..=PACK_TARGET_RANGE.1).contains(&target) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "pack target {target} bytes outside {}..={}",
            PACK_TARGET_RANGE.0, PACK_TARGET_RANGE.1
        )))
    }
}

/// A new pack's object name: `data/` and 32 random hex digits.
pub fn new_pack_name() -> Result<String> {
    let id: [u8; 16] = crate::crypto::random_bytes()?;
    Ok(format!("{DATA_PREFIX}{}", hex::encode(id)))
}

fn chunk_aad(epoch: u32, id: &ChunkId) -> Vec<u8> {
    [labels::REPO_CHUNK_AAD, &epoch.to_be_bytes(), id].concat()
}

/// Seals one chunk as it is stored in a pack: `body` is already compressed when `codec` says so.
pub fn seal_chunk(
    keys: &EpochKeys,
    id: &ChunkId,
    codec: u8,
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    seal_chunk_with_nonce(keys, id, codec, body, crate::crypto::random_bytes()?, out)
}

/// [`seal_chunk`] with a given nonce: for vectors only.
#[doc(hidden)]
pub fn seal_chunk_with_nonce(
    keys: &EpochKeys,
    id: &ChunkId,
    codec: u8,
    body: &[u8],
    nonce: [u8; super::keys::NONCE_LEN],
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut plain = Vec::with_capacity(body.len() + 1);
    plain.push(codec);
    plain.extend_from_slice(body);
    keys.seal_with_nonce(&chunk_aad(keys.epoch(), id), &plain, nonce, out)
}

/// Opens a sealed chunk, decompresses it and checks that its keyed MAC is `id`.
pub fn open_chunk(keys: &EpochKeys, id: &ChunkId, raw_len: u32, sealed: &[u8]) -> Result<Vec<u8>> {
    let what = || format!("chunk {}", hex::encode(id));
    if raw_len > MAX_CHUNK_LEN {
        return Err(Error::LimitExceeded {
            what: format!("{} length", what()),
            found: raw_len.into(),
            limit: MAX_CHUNK_LEN.into(),
        });
    }
    let plain = keys.open(&chunk_aad(keys.epoch(), id), sealed, &what())?;
    let (codec, body) = plain.split_first().ok_or_else(|| Error::Corrupted {
        what: format!("{}: no codec byte", what()),
    })?;
    let data = match *codec {
        CODEC_STORED => body.to_vec(),
        CODEC_ZSTD => {
            zstd::bulk::decompress(body, raw_len as usize).map_err(|err| Error::Corrupted {
                what: format!("{}: zstd: {err}", what()),
            })?
        }
        other => {
            return Err(Error::UnsupportedVersion {
                what: format!("{} codec", what()),
                found: other.into(),
                supported: "0 (stored) and 1 (zstd)".into(),
            })
        }
    };
    if data.len() != raw_len as usize || !bool::from(keys.chunk_id(&data).ct_eq(id)) {
        return Err(Error::Corrupted {
            what: format!("{}: content does not match its id", what()),
        });
    }
    Ok(data)
}

/// A pack being filled in memory.
pub struct PackBuilder {
    name: String,
    epoch: u32,
    bytes: Vec<u8>,
    entries: Vec<IndexEntry>,
}

impl PackBuilder {
    /// An empty pack with a fresh name; `capacity` bytes are reserved once.
    pub fn new(epoch: u32, capacity: usize) -> Result<PackBuilder> {
        Ok(PackBuilder {
            name: new_pack_name()?,
            epoch,
            bytes: Vec::with_capacity(capacity),
            entries: Vec::new(),
        })
    }

    /// Bytes of sealed chunks so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no chunk was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The object name this pack will have.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends a chunk sealed elsewhere (`sealed` as [`seal_chunk`] made it), e.g. copied
    /// verbatim from another pack by a repack.
    pub fn push_sealed(&mut self, id: ChunkId, raw_len: u32, sealed: &[u8]) -> Result<()> {
        let offset = u32::try_from(self.bytes.len()).map_err(|_| too_big())?;
        let length = u32::try_from(sealed.len()).map_err(|_| too_big())?;
        self.bytes.extend_from_slice(sealed);
        self.entries.push(IndexEntry {
            id,
            offset,
            length,
            raw_len,
        });
        Ok(())
    }

    /// Seals and appends a chunk.
    pub fn push(
        &mut self,
        keys: &EpochKeys,
        id: ChunkId,
        raw_len: u32,
        codec: u8,
        body: &[u8],
    ) -> Result<()> {
        let offset = u32::try_from(self.bytes.len()).map_err(|_| too_big())?;
        seal_chunk(keys, &id, codec, body, &mut self.bytes)?;
        let length = u32::try_from(self.bytes.len() - offset as usize).map_err(|_| too_big())?;
        self.entries.push(IndexEntry {
            id,
            offset,
            length,
            raw_len,
        });
        Ok(())
    }

    /// Appends the trailer; returns the name, the whole object and its entries. The buffer is
    /// returned for reuse by the next pack.
    pub fn finish(self, keys: &EpochKeys) -> Result<(String, Vec<u8>, Vec<IndexEntry>)> {
        self.finish_with_nonce(keys, crate::crypto::random_bytes()?)
    }

    /// [`finish`](Self::finish), with random padding before the trailer so the whole object is
    /// [`padme`]`(length)` bytes.
    pub fn finish_padded(mut self, keys: &EpochKeys) -> Result<(String, Vec<u8>, Vec<IndexEntry>)> {
        let trailer_len = object::MIN_LEN + 4 + self.entries.len() * ENTRY_LEN;
        let unpadded = (self.bytes.len() + trailer_len + TAIL_LEN) as u64;
        let padding = (padme(unpadded) - unpadded) as usize;
        let start = self.bytes.len();
        self.bytes.resize(start + padding, 0);
        crate::crypto::fill_random(&mut self.bytes[start..])?;
        let finished = self.finish(keys)?;
        debug_assert_eq!(finished.1.len() as u64, padme(unpadded));
        Ok(finished)
    }

    /// Gives the pack a chosen name: for vectors only.
    #[doc(hidden)]
    pub fn rename(&mut self, name: String) {
        self.name = name;
    }

    /// [`finish`](Self::finish) with a given trailer nonce: for vectors only.
    #[doc(hidden)]
    pub fn finish_with_nonce(
        mut self,
        keys: &EpochKeys,
        nonce: [u8; super::keys::NONCE_LEN],
    ) -> Result<(String, Vec<u8>, Vec<IndexEntry>)> {
        debug_assert_eq!(keys.epoch(), self.epoch);
        let mut plain = Vec::with_capacity(4 + self.entries.len() * ENTRY_LEN);
        plain.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for entry in &self.entries {
            entry.encode(&mut plain);
        }
        let trailer = object::seal_with_nonce(keys, TRAILER_MAGIC, &self.name, &plain, nonce)?;
        self.bytes.extend_from_slice(&trailer);
        self.bytes
            .extend_from_slice(&(trailer.len() as u32).to_be_bytes());
        self.bytes.extend_from_slice(PACK_MAGIC);
        Ok((self.name, self.bytes, self.entries))
    }
}

/// Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
/// Communication with PURBs", PETS 2019): `len` rounded up so that only about log2(log2(len))
/// of its bits are free, which is at most 12 % more and about 3 % at a few MiB.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let exponent = 63 - u64::from(len.leading_zeros());
    let exponent_bits = 64 - u64::from(exponent.leading_zeros());
    let mask = (1u64 << (exponent - exponent_bits)) - 1;
    (len + mask) & !mask
}

fn too_big() -> Error {
    Error::LimitExceeded {
        what: "pack size".into(),
        found: u64::from(u32::MAX) + 1,
        limit: u32::MAX.into(),
    }
}

/// Decodes a pack trailer's entries and checks they lie inside the pack's chunk area.
pub fn decode_trailer(plain: &[u8], chunk_area: u64, name: &str) -> Result<Vec<IndexEntry>> {
    let mut r = Reader::new(plain, "pack trailer");
    let count = r.u32("count")?;
    let count = r.count(count.into(), ENTRY_LEN, MAX_PACK_CHUNKS, "count")?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let entry = IndexEntry::decode(&mut r)?;
        if u64::from(entry.offset) + u64::from(entry.length) > chunk_area {
            return Err(Error::Corrupted {
                what: format!("pack {name}: trailer entry beyond the chunk area"),
            });
        }
        entries.push(entry);
    }
    r.finish()?;
    Ok(entries)
}

/// Reads and authenticates the trailer of pack `name` (two ranged gets at most). Returns the
/// pack's epoch, its entries and its size.
pub fn read_trailer(
    store: &dyn BlobStore,
    keys: &KeySet,
    name: &str,
) -> Result<(u32, Vec<IndexEntry>, u64)> {
    let size = store.stat(name)?.ok_or_else(|| Error::ObjectMissing {
        name: name.to_owned(),
    })?;
    let tail_guess = size.min(64 * 1024);
    let tail = store.get(
        name,
        Some(ByteRange {
            offset: size - tail_guess,
            len: tail_guess,
        }),
    )?;
    let (trailer_len, tail_start) = parse_tail(&tail, size, name)?;
    let trailer_start = size - TAIL_LEN as u64 - trailer_len;
    let trailer = if trailer_start >= size - tail_guess {
        let from = (trailer_start - (size - tail_guess)) as usize;
        tail.get(from..tail_start).unwrap_or_default().to_vec()
    } else {
        store.get(
            name,
            Some(ByteRange {
                offset: trailer_start,
                len: trailer_len,
            }),
        )?
    };
    let max = object::MIN_LEN + 4 + MAX_PACK_CHUNKS as usize * ENTRY_LEN;
    let (epoch, plain) = object::open(keys, TRAILER_MAGIC, name, &trailer, max, "pack trailer")?;
    Ok((epoch, decode_trailer(&plain, trailer_start, name)?, size))
}

/// Parses the last 8 bytes of a pack held in `tail` (the last `tail.len()` bytes of a pack of
/// `size` bytes): returns the trailer length and where the 8 tail bytes start in `tail`.
fn parse_tail(tail: &[u8], size: u64, name: &str) -> Result<(u64, usize)> {
    let tail_start = tail
        .len()
        .checked_sub(TAIL_LEN)
        .ok_or_else(|| Error::Truncated {
            what: format!("pack {name}: {size} bytes, too short for a trailer"),
        })?;
    let mut r = Reader::new(tail.get(tail_start..).unwrap_or_default(), "pack tail");
    let trailer_len = u64::from(r.u32("trailer length")?);
    if r.take(4, "magic")? != PACK_MAGIC {
        return Err(Error::Corrupted {
            what: format!("pack {name}: bad magic at its end, not a Keepsake pack"),
        });
    }
    if trailer_len + TAIL_LEN as u64 > size || trailer_len < object::MIN_LEN as u64 {
        return Err(Error::Corrupted {
            what: format!("pack {name}: trailer length {trailer_len} does not fit"),
        });
    }
    Ok((trailer_len, tail_start))
}

/// A pack's chunks as (entry, sealed bytes), borrowed from the pack held in memory.
pub type SealedChunks<'p> = Vec<(IndexEntry, &'p [u8])>;

/// Every chunk of a whole pack held in memory, as (entry, sealed bytes): for check and repack.
pub fn split_pack<'p>(
    keys: &KeySet,
    name: &str,
    pack: &'p [u8],
) -> Result<(u32, SealedChunks<'p>)> {
    let size = pack.len() as u64;
    let (trailer_len, tail_start) = parse_tail(pack, size, name)?;
    let trailer_start = tail_start - trailer_len as usize;
    let max = object::MIN_LEN + 4 + MAX_PACK_CHUNKS as usize * ENTRY_LEN;
    let (epoch, plain) = object::open(
        keys,
        TRAILER_MAGIC,
        name,
        pack.get(trailer_start..tail_start).unwrap_or_default(),
        max,
        "pack trailer",
    )?;
    let entries = decode_trailer(&plain, trailer_start as u64, name)?;
    let chunks = entries
        .into_iter()
        .map(|e| {
            let start = e.offset as usize;
            let sealed = pack
                .get(start..start + e.length as usize)
                .unwrap_or_default();
            (e, sealed)
        })
        .collect();
    Ok((epoch, chunks))
}

/// Smallest sealed chunk: codec byte, nonce and tag.
pub const MIN_SEALED_CHUNK: usize = 1 + SEAL_OVERHEAD;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::{keys::KeySet, MemStore};

    #[test]
    fn padme_rounds_up_by_at_most_twelve_percent_and_keeps_few_free_bits() {
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        // 2.3 MB: exponent 21, 5 bits for it, so a multiple of 2^16.
        assert_eq!(padme(2_300_000), 2_359_296);
        let mut previous = 0;
        for len in (1..40_000_000u64).step_by(9_973) {
            let padded = padme(len);
            assert!(padded >= len && padded >= previous);
            assert!(padded - len <= len / 8 + 1, "{len} -> {padded}");
            previous = padded;
        }
    }

    #[test]
    fn a_padded_pack_is_its_padme_size_and_reads_as_the_unpadded_one() {
        let keys = EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap();
        let mut builder = PackBuilder::new(0, 1 << 20).unwrap();
        let data = vec![9u8; 123_457];
        let id = keys.chunk_id(&data);
        builder
            .push(&keys, id, data.len() as u32, CODEC_STORED, &data)
            .unwrap();
        let (name, bytes, entries) = builder.finish_padded(&keys).unwrap();
        assert_eq!(bytes.len() as u64, padme(bytes.len() as u64));
        assert!(bytes.len() > data.len() + 28 + 44);
        let store = MemStore::new();
        store.put(&name, &bytes).unwrap();
        let set = KeySet::new(vec![keys.duplicate(&[1; 16]).unwrap()]).unwrap();
        let (_, read, _) = read_trailer(&store, &set, &name).unwrap();
        assert_eq!(read, entries);
        let entry = &read[0];
        let sealed = &bytes[entry.offset as usize..(entry.offset + entry.length) as usize];
        assert_eq!(open_chunk(&keys, &id, entry.raw_len, sealed).unwrap(), data);
    }
}
