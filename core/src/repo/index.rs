//! The index: which pack holds each chunk, at which offset and length, so a restore fetches
//! exactly the bytes it needs and never scans packs.
//!
//! Each backup writes one index object for the packs it added (a delta); several small deltas
//! are merged into one by the next backup, so the number of index objects stays small.
//!
//! # Index object plaintext (inside the sealed-object envelope, magic `KSIX`)
//!
//! ```text
//! u32 BE pack count
//! per pack: pack id (16, the hex of its name) || u32 epoch || u32 chunk count
//!           || count x (chunk id (32) || u32 offset || u32 length || u32 raw length)
//! ```

use std::collections::HashMap;

use super::{
    codec::Reader,
    keys::{ChunkId, KeySet},
    object,
    pack::{ENTRY_LEN, MAX_PACK_CHUNKS},
    BlobStore, DATA_PREFIX, INDEX_PREFIX,
};
use crate::{Error, Result};

/// Magic of an index object.
pub const MAGIC: &[u8; 4] = b"KSIX";
/// Largest index object accepted.
pub const MAX_INDEX_LEN: usize = 256 * 1024 * 1024;
/// Most packs one index object may list.
pub const MAX_INDEX_PACKS: u64 = 1 << 20;

/// Where a chunk lies in its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// The chunk id.
    pub id: ChunkId,
    /// Offset of the sealed chunk in the pack.
    pub offset: u32,
    /// Length of the sealed chunk.
    pub length: u32,
    /// Length of the plaintext.
    pub raw_len: u32,
}

impl IndexEntry {
    /// Appends the 44-byte encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
        out.extend_from_slice(&self.raw_len.to_be_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<IndexEntry> {
        let entry = IndexEntry {
            id: r.array("chunk id")?,
            offset: r.u32("offset")?,
            length: r.u32("length")?,
            raw_len: r.u32("raw length")?,
        };
        if entry.raw_len > super::chunker::MAX_CHUNK_LEN
            || (entry.length as usize) < super::pack::MIN_SEALED_CHUNK
        {
            return Err(Error::Corrupted {
                what: format!(
                    "index entry of chunk {}: impossible lengths",
                    hex::encode(entry.id)
                ),
            });
        }
        Ok(entry)
    }
}

/// The chunks of one pack, as an index object lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackEntries {
    /// The pack's object name (`data/<hex>`).
    pub pack: String,
    /// The key epoch its chunks are sealed under.
    pub epoch: u32,
    /// Its chunks.
    pub entries: Vec<IndexEntry>,
}

/// A chunk's location, with the pack as a number into [`Index::pack_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Pack number.
    pub pack: u32,
    /// Offset of the sealed chunk.
    pub offset: u32,
    /// Length of the sealed chunk.
    pub length: u32,
    /// Plaintext length.
    pub raw_len: u32,
}

/// Every chunk the loaded index objects know.
#[derive(Debug, Default)]
pub struct Index {
    packs: Vec<(String, u32)>,
    pack_numbers: HashMap<String, u32>,
    chunks: HashMap<ChunkId, Location>,
    /// Index objects this index was loaded from.
    pub objects: Vec<String>,
}

impl Index {
    /// Adds a pack's entries; a chunk already known keeps its first location.
    pub fn add_pack(&mut self, pack: &PackEntries) {
        let number = match self.pack_numbers.get(&pack.pack) {
            Some(n) => *n,
            None => {
                let n = self.packs.len() as u32;
                self.packs.push((pack.pack.clone(), pack.epoch));
                self.pack_numbers.insert(pack.pack.clone(), n);
                n
            }
        };
        for e in &pack.entries {
            self.chunks.entry(e.id).or_insert(Location {
                pack: number,
                offset: e.offset,
                length: e.length,
                raw_len: e.raw_len,
            });
        }
    }

    /// The location of chunk `id`.
    pub fn get(&self, id: &ChunkId) -> Option<Location> {
        self.chunks.get(id).copied()
    }

    /// Whether chunk `id` is known.
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.chunks.contains_key(id)
    }

    /// The object name and epoch of pack number `n`.
    pub fn pack_name(&self, n: u32) -> (&str, u32) {
        self.packs
            .get(n as usize)
            .map_or(("", 0), |(name, epoch)| (name.as_str(), *epoch))
    }

    /// Whether pack `name` is indexed.
    pub fn has_pack(&self, name: &str) -> bool {
        self.pack_numbers.contains_key(name)
    }

    /// Number of packs.
    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Every chunk with its location.
    pub fn iter(&self) -> impl Iterator<Item = (&ChunkId, &Location)> {
        self.chunks.iter()
    }

    /// Every pack's entries (each chunk under the pack that holds its location).
    pub fn to_packs(&self) -> Vec<PackEntries> {
        let mut packs: Vec<PackEntries> = self
            .packs
            .iter()
            .map(|(name, epoch)| PackEntries {
                pack: name.clone(),
                epoch: *epoch,
                entries: Vec::new(),
            })
            .collect();
        for (id, loc) in &self.chunks {
            if let Some(pack) = packs.get_mut(loc.pack as usize) {
                pack.entries.push(IndexEntry {
                    id: *id,
                    offset: loc.offset,
                    length: loc.length,
                    raw_len: loc.raw_len,
                });
            }
        }
        for pack in &mut packs {
            pack.entries.sort_by_key(|e| e.offset);
        }
        packs.retain(|p| !p.entries.is_empty());
        packs
    }

    /// Loads every index object of the store (through `fetch`, which may serve from a cache).
    pub fn load(
        store: &dyn BlobStore,
        keys: &KeySet,
        mut fetch: impl FnMut(&str) -> Result<Vec<u8>>,
    ) -> Result<Index> {
        let mut index = Index::default();
        let mut names = store.list_names(INDEX_PREFIX)?;
        names.sort();
        for name in names {
            let bytes = fetch(&name)?;
            for pack in decode(keys, &name, &bytes)? {
                index.add_pack(&pack);
            }
            index.objects.push(name);
        }
        Ok(index)
    }
}

/// A new index object's name.
pub fn new_index_name() -> Result<String> {
    let id: [u8; 16] = crate::crypto::random_bytes()?;
    Ok(format!("{INDEX_PREFIX}{}", hex::encode(id)))
}

/// The plaintext of an index object listing `packs`.
pub fn encode_plain(packs: &[PackEntries]) -> Result<Vec<u8>> {
    let total: usize = packs.iter().map(|p| 24 + p.entries.len() * ENTRY_LEN).sum();
    let mut out = Vec::with_capacity(4 + total);
    out.extend_from_slice(&(packs.len() as u32).to_be_bytes());
    for pack in packs {
        out.extend_from_slice(&pack_id(&pack.pack)?);
        out.extend_from_slice(&pack.epoch.to_be_bytes());
        out.extend_from_slice(&(pack.entries.len() as u32).to_be_bytes());
        for e in &pack.entries {
            e.encode(&mut out);
        }
    }
    Ok(out)
}

/// Seals an index object listing `packs` under the current epoch.
pub fn encode(keys: &KeySet, name: &str, packs: &[PackEntries]) -> Result<Vec<u8>> {
    object::seal(keys.current(), MAGIC, name, &encode_plain(packs)?)
}

/// Opens and decodes index object `name`.
pub fn decode(keys: &KeySet, name: &str, bytes: &[u8]) -> Result<Vec<PackEntries>> {
    let (_, plain) = object::open(keys, MAGIC, name, bytes, MAX_INDEX_LEN, "index")?;
    decode_plain(&plain)
}

/// Decodes an index object's plaintext.
pub fn decode_plain(plain: &[u8]) -> Result<Vec<PackEntries>> {
    let mut r = Reader::new(plain, "index");
    let count = r.u32("pack count")?;
    let count = r.count(count.into(), 24, MAX_INDEX_PACKS, "pack count")?;
    let mut packs = Vec::with_capacity(count);
    for _ in 0..count {
        let id: [u8; 16] = r.array("pack id")?;
        let epoch = r.u32("epoch")?;
        let n = r.u32("chunk count")?;
        let n = r.count(n.into(), ENTRY_LEN, MAX_PACK_CHUNKS, "chunk count")?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            entries.push(IndexEntry::decode(&mut r)?);
        }
        packs.push(PackEntries {
            pack: format!("{DATA_PREFIX}{}", hex::encode(id)),
            epoch,
            entries,
        });
    }
    r.finish()?;
    Ok(packs)
}

/// The 16 bytes a pack name `data/<32 hex>` stands for.
pub fn pack_id(name: &str) -> Result<[u8; 16]> {
    let mut id = [0u8; 16];
    name.strip_prefix(DATA_PREFIX)
        .and_then(|hex_part| hex::decode_to_slice(hex_part, &mut id).ok())
        .ok_or_else(|| Error::Corrupted {
            what: format!("{name:?} is not a pack name"),
        })?;
    Ok(id)
}
