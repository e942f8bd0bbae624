//! Pack objects: many sealed chunks in one object of several MiB, so the store sees few objects
//! and no individual chunk sizes, and a pack trailer listing its chunks so a pack whose index
//! was never written (a killed backup) can be adopted by the next run.
//!
//! # Layout (format 2)
//!
//! ```text
//! pack    = chunk_1 || ... || chunk_n || padding || trailer || tail
//! chunk   = nonce (12) || AES-256-GCM(codec (1) || body) || tag (16)
//!           AAD = REPO_CHUNK_AAD || epoch (u32 BE) || chunk id (32)
//!           codec 0: body is the plaintext; codec 1: body is one zstd frame of it
//! trailer = sealed-object envelope (kind trailer, name = the pack's object name) of
//!           u32 BE count || count x (chunk id (32) || u32 offset || u32 length || u32 raw length)
//! tail    = u32 BE (trailer length XOR tail mask) || u32 BE epoch || "KSP2"
//! ```
//!
//! The tail mask ([`EpochKeys::tail_mask`]) keeps the trailer's length, and with it the chunk
//! count, from the store. Random padding (no entry points into it) makes every full media pack
//! exactly [`media_pack_len`] bytes and rounds the last pack of a backup up (media: to a
//! multiple of [`MEDIA_PAD_UNIT`]; chat: to a [`padme`] size), so that pack sizes tell neither a
//! known file's size nor how many attachments a day added.
//!
//! Format 1 packs (read only) end `trailer || u32 BE trailer length || "KSPK"` instead.

use subtle::ConstantTimeEq;

use super::{
    chunker::MAX_CHUNK_LEN,
    codec::Reader,
    index::IndexEntry,
    keys::{ChunkId, EpochKeys, KeySet, SEAL_OVERHEAD},
    object::{self, Kind},
    BlobStore, ByteRange, DATA_PREFIX,
};
use crate::{crypto::labels, Error, Result};

/// Magic at the very end of a format 2 pack.
pub const PACK_MAGIC: &[u8; 4] = b"KSP2";
/// Magic at the very end of a format 1 pack (read only).
pub const PACK_MAGIC_V1: &[u8; 4] = b"KSPK";
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
/// Bytes after the trailer of a format 2 pack: masked length, epoch, magic.
const TAIL_LEN: usize = 12;
/// Bytes after the trailer of a format 1 pack: length, magic.
const TAIL_LEN_V1: usize = 8;
/// The last media pack of a backup is padded to a multiple of this.
pub const MEDIA_PAD_UNIT: usize = 1024 * 1024;
/// Room a media pack keeps beyond its chunk area for the trailer and tail: 1,400 entries.
const MEDIA_PACK_SLACK: usize = 64 * 1024;

/// The size of every full media pack of a repository whose pack target is `target`: the
/// target (at least one largest chunk) rounded up to [`MEDIA_PAD_UNIT`], plus room for the
/// trailer, so that whole 1 MiB media blocks fill it exactly.
pub fn media_pack_len(target: u32) -> usize {
    let area = (target.max(MAX_CHUNK_LEN) as usize).div_ceil(MEDIA_PAD_UNIT) * MEDIA_PAD_UNIT;
    area + MEDIA_PACK_SLACK
}

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

    /// The size of the finished pack if a chunk of `sealed_len` bytes were added, unpadded.
    pub fn len_with(&self, sealed_len: usize) -> usize {
        self.bytes.len() + sealed_len + trailer_len(self.entries.len() + 1) + TAIL_LEN
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

    /// Appends the trailer and tail; returns the name, the whole object and its entries.
    pub fn finish(self, keys: &EpochKeys) -> Result<(String, Vec<u8>, Vec<IndexEntry>)> {
        self.finish_to(keys, crate::crypto::random_bytes()?)
    }

    /// [`finish`](Self::finish), with random padding before the trailer so the whole object
    /// is `padded(unpadded length)` bytes (never less than unpadded).
    pub fn finish_padded(
        mut self,
        keys: &EpochKeys,
        padded: impl Fn(usize) -> usize,
    ) -> Result<(String, Vec<u8>, Vec<IndexEntry>)> {
        let unpadded = self.bytes.len() + trailer_len(self.entries.len()) + TAIL_LEN;
        let padding = padded(unpadded).saturating_sub(unpadded);
        let start = self.bytes.len();
        self.bytes.resize(start + padding, 0);
        crate::crypto::fill_random(&mut self.bytes[start..])?;
        let finished = self.finish(keys)?;
        debug_assert_eq!(finished.1.len(), padded(unpadded).max(unpadded));
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
        self,
        keys: &EpochKeys,
        nonce: [u8; super::keys::NONCE_LEN],
    ) -> Result<(String, Vec<u8>, Vec<IndexEntry>)> {
        self.finish_to(keys, nonce)
    }

    fn finish_to(
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
        let trailer = object::seal_with_nonce(keys, Kind::Trailer, &self.name, &plain, nonce)?;
        let masked = (trailer.len() as u32) ^ keys.tail_mask(&self.name);
        self.bytes.extend_from_slice(&trailer);
        self.bytes.extend_from_slice(&masked.to_be_bytes());
        self.bytes.extend_from_slice(&self.epoch.to_be_bytes());
        self.bytes.extend_from_slice(PACK_MAGIC);
        Ok((self.name, self.bytes, self.entries))
    }
}

/// The sealed length of a trailer listing `count` chunks.
fn trailer_len(count: usize) -> usize {
    object::MIN_LEN + 4 + 4 + count * ENTRY_LEN
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

/// Where a pack's trailer is, from its last bytes: the trailer's length and epoch (format 2;
/// format 1 packs do not say their epoch outside the trailer) and how many bytes end the pack.
struct Tail {
    trailer_len: u64,
    tail_len: usize,
}

/// Parses the tail of a pack of `size` bytes whose last `tail.len()` bytes are `tail`.
fn parse_tail(keys: &KeySet, tail: &[u8], size: u64, name: &str) -> Result<Tail> {
    let short = || Error::Truncated {
        what: format!("pack {name}: {size} bytes, too short for a trailer"),
    };
    let magic_at = tail.len().checked_sub(4).ok_or_else(short)?;
    let magic = tail.get(magic_at..).unwrap_or_default();
    let (trailer_len, tail_len) = if magic == PACK_MAGIC {
        let start = tail.len().checked_sub(TAIL_LEN).ok_or_else(short)?;
        let mut r = Reader::new(tail.get(start..).unwrap_or_default(), "pack tail");
        let masked = r.u32("trailer length")?;
        let epoch = r.u32("epoch")?;
        let epoch_keys = keys.epoch(epoch, &format!("pack {name}"))?;
        (u64::from(masked ^ epoch_keys.tail_mask(name)), TAIL_LEN)
    } else if magic == PACK_MAGIC_V1 {
        let start = tail.len().checked_sub(TAIL_LEN_V1).ok_or_else(short)?;
        let mut r = Reader::new(tail.get(start..).unwrap_or_default(), "pack tail");
        (u64::from(r.u32("trailer length")?), TAIL_LEN_V1)
    } else {
        return Err(Error::Corrupted {
            what: format!("pack {name}: bad magic at its end, not a Keepsake pack"),
        });
    };
    if trailer_len + tail_len as u64 > size || trailer_len < object::MIN_LEN as u64 {
        return Err(Error::Corrupted {
            what: format!("pack {name}: trailer length does not fit the pack"),
        });
    }
    Ok(Tail {
        trailer_len,
        tail_len,
    })
}

/// The largest trailer a pack may have.
const MAX_TRAILER_LEN: usize = object::MIN_LEN + 8 + MAX_PACK_CHUNKS as usize * ENTRY_LEN;

/// Opens a trailer's bytes: its epoch and entries, checked to lie in the chunk area.
fn open_trailer(
    keys: &KeySet,
    name: &str,
    trailer: &[u8],
    chunk_area: u64,
) -> Result<(u32, Vec<IndexEntry>)> {
    let opened = object::open(keys, Kind::Trailer, name, trailer, MAX_TRAILER_LEN)?;
    Ok((
        opened.epoch,
        decode_trailer(&opened.content, chunk_area, name)?,
    ))
}

/// Reads and authenticates the trailer of pack `name` of `size` bytes (the listing's size):
/// one ranged get of its last 64 KiB, a second only for a larger trailer. Returns the pack's
/// epoch and entries.
pub fn read_trailer(
    store: &dyn BlobStore,
    keys: &KeySet,
    name: &str,
    size: u64,
) -> Result<(u32, Vec<IndexEntry>)> {
    let tail_guess = size.min(64 * 1024);
    let tail = store.get(
        name,
        Some(ByteRange {
            offset: size - tail_guess,
            len: tail_guess,
        }),
    )?;
    if (tail.len() as u64) < tail_guess {
        return Err(Error::Truncated {
            what: format!("pack {name}: shorter than its listed size {size}"),
        });
    }
    let parsed = parse_tail(keys, &tail, size, name)?;
    let trailer_start = size - parsed.tail_len as u64 - parsed.trailer_len;
    let tail_start = tail.len() - parsed.tail_len;
    let trailer = if trailer_start >= size - tail_guess {
        let from = (trailer_start - (size - tail_guess)) as usize;
        tail.get(from..tail_start).unwrap_or_default().to_vec()
    } else {
        store.get(
            name,
            Some(ByteRange {
                offset: trailer_start,
                len: parsed.trailer_len,
            }),
        )?
    };
    open_trailer(keys, name, &trailer, trailer_start)
}

/// A pack's chunks as (entry, sealed bytes), borrowed from the pack held in memory.
pub type SealedChunks<'p> = Vec<(IndexEntry, &'p [u8])>;

/// Every chunk of a whole pack held in memory, as (entry, sealed bytes): for check, repair
/// and repack.
pub fn split_pack<'p>(
    keys: &KeySet,
    name: &str,
    pack: &'p [u8],
) -> Result<(u32, SealedChunks<'p>)> {
    let size = pack.len() as u64;
    let parsed = parse_tail(keys, pack, size, name)?;
    let tail_start = pack.len() - parsed.tail_len;
    let trailer_start = tail_start - parsed.trailer_len as usize;
    let (epoch, entries) = open_trailer(
        keys,
        name,
        pack.get(trailer_start..tail_start).unwrap_or_default(),
        trailer_start as u64,
    )?;
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

    fn one_chunk_pack(keys: &EpochKeys, len: usize) -> (PackBuilder, ChunkId, Vec<u8>) {
        let mut builder = PackBuilder::new(0, 1 << 20).unwrap();
        let data = vec![9u8; len];
        let id = keys.chunk_id(&data);
        builder
            .push(keys, id, data.len() as u32, CODEC_STORED, &data)
            .unwrap();
        (builder, id, data)
    }

    #[test]
    fn a_padded_pack_is_its_padded_size_and_reads_as_the_unpadded_one() {
        let keys = EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap();
        let (builder, id, data) = one_chunk_pack(&keys, 123_457);
        let (name, bytes, entries) = builder
            .finish_padded(&keys, |len| len.div_ceil(MEDIA_PAD_UNIT) * MEDIA_PAD_UNIT)
            .unwrap();
        assert_eq!(bytes.len(), MEDIA_PAD_UNIT);
        let store = MemStore::new();
        store.put(&name, &bytes).unwrap();
        let set = KeySet::new(vec![keys.duplicate(&[1; 16]).unwrap()]).unwrap();
        let (_, read) = read_trailer(&store, &set, &name, bytes.len() as u64).unwrap();
        assert_eq!(read, entries);
        let entry = &read[0];
        let sealed = &bytes[entry.offset as usize..(entry.offset + entry.length) as usize];
        assert_eq!(open_chunk(&keys, &id, entry.raw_len, sealed).unwrap(), data);
        let (_, split) = split_pack(&set, &name, &bytes).unwrap();
        assert_eq!(split[0].1, sealed);
    }

    #[test]
    fn the_tail_hides_the_trailer_length_and_binds_it_to_the_key() {
        let keys = EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap();
        let set = KeySet::new(vec![keys.duplicate(&[1; 16]).unwrap()]).unwrap();
        let (builder, _, _) = one_chunk_pack(&keys, 1000);
        let (name, bytes, _) = builder.finish(&keys).unwrap();
        let tail = &bytes[bytes.len() - TAIL_LEN..];
        let stored = u32::from_be_bytes(tail[..4].try_into().unwrap());
        let trailer = trailer_len(1) as u32;
        assert_ne!(stored, trailer, "the length is masked");
        assert_eq!(stored ^ keys.tail_mask(&name), trailer);
        assert_eq!(&tail[8..], PACK_MAGIC);
        // Under another key the mask differs, so the trailer is not found.
        let other = EpochKeys::derive(&[1; 16], 0, [3; 32]).unwrap();
        let other_set = KeySet::new(vec![other]).unwrap();
        assert!(matches!(
            split_pack(&other_set, &name, &bytes),
            Err(Error::Corrupted { .. })
        ));
        assert!(split_pack(&set, &name, &bytes).is_ok());
    }

    #[test]
    fn a_media_pack_holds_whole_media_blocks_exactly() {
        for target in [64 * 1024, 8 * 1024 * 1024] {
            let len = media_pack_len(target);
            let blocks = (len - MEDIA_PACK_SLACK) / MAX_CHUNK_LEN as usize;
            let sealed_block = MAX_CHUNK_LEN as usize + MIN_SEALED_CHUNK;
            assert!(blocks * sealed_block + trailer_len(blocks) + TAIL_LEN <= len);
            assert!(
                (blocks + 1) * sealed_block > len,
                "no room is left for another block"
            );
        }
    }
}
