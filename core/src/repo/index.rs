//! The index: which pack holds each chunk, at which offset and length, so a restore fetches
//! exactly the bytes it needs and never scans packs.
//!
//! Each backup writes one index object for the packs it added (a delta); several small deltas
//! are merged into one by the next backup, so the number of index objects stays small. Which
//! objects and packs are trusted, and in which order locations are preferred, is
//! `repo::resolve`'s job; this module is the format and the in-memory map.
//!
//! # Index object content (sealed-object envelope, kind index)
//!
//! ```text
//! u32 BE pack count
//! per pack: pack id (16, the hex of its name) || u32 epoch || u64 size (format 2 only)
//!           || u32 chunk count || count x (chunk id (32) || u32 offset || u32 length
//!           || u32 raw length)
//! format 2 only: u32 condemned count || count x (pack id (16) || u64 since, unix seconds)
//! ```
//!
//! A pack's size lets a reader tell from one listing that a pack was truncated or replaced.
//! *Condemned* packs are packs a prune found unreferenced: they are deleted by a later prune
//! once condemned for [`crate::repo::prune::GRACE`], so a backup that was suspended while
//! prune ran still finds the packs it uploaded or deduplicated against (`docs/REPOSITORY.md`
//! §9).

use std::collections::HashMap;

use super::{
    codec::Reader,
    keys::{ChunkId, KeySet},
    object::{self, Kind},
    pack::{ENTRY_LEN, MAX_PACK_CHUNKS},
    DATA_PREFIX, INDEX_PREFIX,
};
use crate::{Error, Result};

/// Largest index object accepted.
pub const MAX_INDEX_LEN: usize = 256 * 1024 * 1024;
/// Most packs (or condemned packs) one index object may list.
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

    /// The first byte after the chunk.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.length)
    }
}

/// The chunks of one pack, as an index object lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackEntries {
    /// The pack's object name (`data/<hex>`).
    pub pack: String,
    /// The key epoch its chunks are sealed under.
    pub epoch: u32,
    /// The pack's size in bytes (unknown in format 1 index objects).
    pub size: Option<u64>,
    /// Its chunks.
    pub entries: Vec<IndexEntry>,
}

/// A pack a prune found unreferenced, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condemned {
    /// The pack's object name.
    pub pack: String,
    /// When it was first condemned, unix seconds.
    pub since: u64,
}

/// The content of one index object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexObject {
    /// The packs it names, with their chunks.
    pub packs: Vec<PackEntries>,
    /// Packs condemned by the prune that wrote it.
    pub condemned: Vec<Condemned>,
}

/// A chunk's location, with the pack as a number into [`Index::pack`].
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

/// A pack the index knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackInfo {
    /// Its object name.
    pub name: String,
    /// The epoch of its chunks.
    pub epoch: u32,
    /// Its size, when an index object or the listing said it.
    pub size: Option<u64>,
}

/// Every chunk the loaded index objects know, each at its preferred location, with the other
/// copies kept as spares: a reader falls back to a spare when a copy fails to authenticate.
#[derive(Debug, Default)]
pub struct Index {
    packs: Vec<PackInfo>,
    pack_numbers: HashMap<String, u32>,
    chunks: HashMap<ChunkId, Location>,
    spares: HashMap<ChunkId, Vec<Location>>,
    /// Index objects this index was loaded from.
    pub objects: Vec<String>,
}

impl Index {
    /// The number of pack `name`, adding it if it is new.
    fn number(&mut self, name: &str, epoch: u32, size: Option<u64>) -> u32 {
        if let Some(n) = self.pack_numbers.get(name) {
            let info = &mut self.packs[*n as usize];
            info.size = info.size.or(size);
            return *n;
        }
        let n = self.packs.len() as u32;
        self.packs.push(PackInfo {
            name: name.to_owned(),
            epoch,
            size,
        });
        self.pack_numbers.insert(name.to_owned(), n);
        n
    }

    /// Adds a pack's entries. A chunk already known keeps its location; this one becomes a
    /// spare (unless it is the same place).
    pub fn add_pack(&mut self, pack: &PackEntries) {
        let number = self.number(&pack.pack, pack.epoch, pack.size);
        for e in &pack.entries {
            let location = Location {
                pack: number,
                offset: e.offset,
                length: e.length,
                raw_len: e.raw_len,
            };
            match self.chunks.get(&e.id) {
                None => {
                    self.chunks.insert(e.id, location);
                }
                Some(first) if *first == location => {}
                Some(_) => {
                    let spares = self.spares.entry(e.id).or_default();
                    if !spares.contains(&location) {
                        spares.push(location);
                    }
                }
            }
        }
    }

    /// The preferred location of chunk `id`.
    pub fn get(&self, id: &ChunkId) -> Option<Location> {
        self.chunks.get(id).copied()
    }

    /// Every location of chunk `id`, the preferred one first.
    pub fn locations(&self, id: &ChunkId) -> impl Iterator<Item = Location> + '_ {
        self.chunks
            .get(id)
            .into_iter()
            .chain(self.spares.get(id).into_iter().flatten())
            .copied()
    }

    /// Forgets one location of chunk `id` (found damaged); a spare takes its place. Returns
    /// whether another location remains.
    pub fn drop_location(&mut self, id: &ChunkId, location: &Location) -> bool {
        if self.chunks.get(id) == Some(location) {
            let next = self
                .spares
                .get_mut(id)
                .and_then(|spares| (!spares.is_empty()).then(|| spares.remove(0)));
            match next {
                Some(next) => {
                    self.chunks.insert(*id, next);
                }
                None => {
                    self.chunks.remove(id);
                }
            }
        } else if let Some(spares) = self.spares.get_mut(id) {
            spares.retain(|spare| spare != location);
        }
        if self.spares.get(id).is_some_and(Vec::is_empty) {
            self.spares.remove(id);
        }
        self.chunks.contains_key(id)
    }

    /// Whether chunk `id` is known.
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.chunks.contains_key(id)
    }

    /// Pack number `n`.
    pub fn pack(&self, n: u32) -> &PackInfo {
        static NONE: PackInfo = PackInfo {
            name: String::new(),
            epoch: 0,
            size: None,
        };
        self.packs.get(n as usize).unwrap_or(&NONE)
    }

    /// The number of pack `name`, if indexed.
    pub fn pack_number(&self, name: &str) -> Option<u32> {
        self.pack_numbers.get(name).copied()
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

    /// Every chunk with its preferred location.
    pub fn iter(&self) -> impl Iterator<Item = (&ChunkId, &Location)> {
        self.chunks.iter()
    }

    /// Every chunk with every location it has.
    pub fn iter_all(&self) -> impl Iterator<Item = (&ChunkId, Location)> {
        self.chunks.iter().map(|(id, l)| (id, *l)).chain(
            self.spares
                .iter()
                .flat_map(|(id, spares)| spares.iter().map(move |l| (id, *l))),
        )
    }

    /// Every pack's entries (each chunk under the pack of its preferred location).
    pub fn to_packs(&self) -> Vec<PackEntries> {
        let mut packs: Vec<PackEntries> = self
            .packs
            .iter()
            .map(|info| PackEntries {
                pack: info.name.clone(),
                epoch: info.epoch,
                size: info.size,
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
}

/// A new index object's name.
pub fn new_index_name() -> Result<String> {
    let id: [u8; 16] = crate::crypto::random_bytes()?;
    Ok(format!("{INDEX_PREFIX}{}", hex::encode(id)))
}

/// The format 2 content of an index object.
pub fn encode_content(object: &IndexObject) -> Result<Vec<u8>> {
    let total: usize = object
        .packs
        .iter()
        .map(|p| 32 + p.entries.len() * ENTRY_LEN)
        .sum();
    let mut out = Vec::with_capacity(8 + total + object.condemned.len() * 24);
    out.extend_from_slice(&(object.packs.len() as u32).to_be_bytes());
    for pack in &object.packs {
        out.extend_from_slice(&pack_id(&pack.pack)?);
        out.extend_from_slice(&pack.epoch.to_be_bytes());
        out.extend_from_slice(&pack.size.unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&(pack.entries.len() as u32).to_be_bytes());
        for e in &pack.entries {
            e.encode(&mut out);
        }
    }
    out.extend_from_slice(&(object.condemned.len() as u32).to_be_bytes());
    for c in &object.condemned {
        out.extend_from_slice(&pack_id(&c.pack)?);
        out.extend_from_slice(&c.since.to_be_bytes());
    }
    Ok(out)
}

/// Seals an index object under the current epoch.
pub fn encode(keys: &KeySet, name: &str, object: &IndexObject) -> Result<Vec<u8>> {
    object::seal(keys.current(), Kind::Index, name, &encode_content(object)?)
}

/// Opens and decodes index object `name`.
pub fn decode(keys: &KeySet, name: &str, bytes: &[u8]) -> Result<IndexObject> {
    let opened = object::open(keys, Kind::Index, name, bytes, MAX_INDEX_LEN)?;
    decode_content(&opened.content, opened.version)
}

/// Decodes an index object's content of envelope `version` (1: no sizes, no condemned list).
pub fn decode_content(content: &[u8], version: u8) -> Result<IndexObject> {
    let v2 = version >= object::VERSION_2;
    let mut r = Reader::new(content, "index");
    let count = r.u32("pack count")?;
    let pack_len = if v2 { 32 } else { 24 };
    let count = r.count(count.into(), pack_len, MAX_INDEX_PACKS, "pack count")?;
    let mut packs = Vec::with_capacity(count);
    for _ in 0..count {
        let id: [u8; 16] = r.array("pack id")?;
        let epoch = r.u32("epoch")?;
        let size = if v2 { Some(r.u64("pack size")?) } else { None };
        let n = r.u32("chunk count")?;
        let n = r.count(n.into(), ENTRY_LEN, MAX_PACK_CHUNKS, "chunk count")?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let entry = IndexEntry::decode(&mut r)?;
            if size.is_some_and(|size| entry.end() > size) {
                return Err(Error::Corrupted {
                    what: "index: a chunk lies beyond the end of its pack".into(),
                });
            }
            entries.push(entry);
        }
        packs.push(PackEntries {
            pack: format!("{DATA_PREFIX}{}", hex::encode(id)),
            epoch,
            size,
            entries,
        });
    }
    let mut condemned = Vec::new();
    if v2 {
        let n = r.u32("condemned count")?;
        let n = r.count(n.into(), 24, MAX_INDEX_PACKS, "condemned count")?;
        for _ in 0..n {
            let id: [u8; 16] = r.array("condemned pack id")?;
            condemned.push(Condemned {
                pack: format!("{DATA_PREFIX}{}", hex::encode(id)),
                since: r.u64("condemned since")?,
            });
        }
    }
    r.finish()?;
    Ok(IndexObject { packs, condemned })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u8, offset: u32) -> IndexEntry {
        IndexEntry {
            id: [id; 32],
            offset,
            length: 100,
            raw_len: 50,
        }
    }

    fn pack(n: u8, entries: Vec<IndexEntry>) -> PackEntries {
        PackEntries {
            pack: format!("{DATA_PREFIX}{}", hex::encode([n; 16])),
            epoch: 0,
            size: Some(10_000),
            entries,
        }
    }

    #[test]
    fn a_second_copy_is_a_spare_that_takes_over_when_the_first_is_dropped() {
        let mut index = Index::default();
        index.add_pack(&pack(1, vec![entry(7, 0), entry(8, 100)]));
        index.add_pack(&pack(2, vec![entry(7, 0)]));
        index.add_pack(&pack(1, vec![entry(7, 0)])); // the same place again: no spare
        let all: Vec<Location> = index.locations(&[7; 32]).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(index.pack(all[0].pack).name, pack(1, vec![]).pack);
        assert!(index.drop_location(&[7; 32], &all[0]));
        assert_eq!(index.get(&[7; 32]), Some(all[1]));
        assert!(!index.drop_location(&[7; 32], &all[1]));
        assert!(!index.contains(&[7; 32]));
        assert!(index.contains(&[8; 32]));
    }

    #[test]
    fn format_2_content_round_trips_and_format_1_still_decodes() {
        let object = IndexObject {
            packs: vec![pack(1, vec![entry(7, 0), entry(8, 100)])],
            condemned: vec![Condemned {
                pack: pack(3, vec![]).pack,
                since: 1_700_000_000,
            }],
        };
        let content = encode_content(&object).unwrap();
        assert_eq!(decode_content(&content, 2).unwrap(), object);
        // Format 1: no size, no condemned list.
        let mut v1 = Vec::new();
        v1.extend_from_slice(&1u32.to_be_bytes());
        v1.extend_from_slice(&[1; 16]);
        v1.extend_from_slice(&0u32.to_be_bytes());
        v1.extend_from_slice(&1u32.to_be_bytes());
        entry(7, 0).encode(&mut v1);
        let decoded = decode_content(&v1, 1).unwrap();
        assert_eq!(decoded.packs[0].size, None);
        assert_eq!(decoded.packs[0].entries, vec![entry(7, 0)]);
    }

    #[test]
    fn an_entry_beyond_its_packs_size_is_corrupted() {
        let mut too_far = pack(1, vec![entry(7, 9_950)]);
        too_far.size = Some(10_000);
        let content = encode_content(&IndexObject {
            packs: vec![too_far],
            condemned: vec![],
        })
        .unwrap();
        assert!(matches!(
            decode_content(&content, 2),
            Err(Error::Corrupted { .. })
        ));
    }
}
