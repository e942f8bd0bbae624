//! Damage notes: where a chunk failed to authenticate, remembered in the store so that every
//! device, and every later run, stops trusting that copy.
//!
//! A restore, a one-photo fetch, a check or a backup's rolling verification that finds a chunk
//! whose sealed bytes do not open writes a note `damage/<32 hex>` (sealed-object envelope, kind
//! damage). Readers skip noted locations and use another copy; the next backup does not
//! deduplicate against them, so it uploads a fresh copy, which the index then prefers; prune
//! and repair drop the noted locations from the index they write and delete the notes once
//! the damaged pack is gone. A note is only a hint: a store that deletes or replays notes can
//! at worst make a backup upload a chunk again, since every copy is authenticated when read.
//!
//! Note content: `u32 count || count x (pack id (16) || u32 offset || chunk id (32))`.

use std::collections::HashSet;

use super::{
    codec::Reader,
    index::{pack_id, Index, Location},
    inventory::Inventory,
    keys::ChunkId,
    object::{self, Kind},
    Repository, DAMAGE_PREFIX, DATA_PREFIX,
};
use crate::{Error, Result};

/// Most entries one note may hold.
const MAX_ENTRIES: u64 = 1 << 20;
/// Largest note accepted.
const MAX_NOTE_LEN: usize = 64 * 1024 * 1024;

/// One chunk copy found damaged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DamagedChunk {
    /// The pack holding the copy.
    pub pack: String,
    /// The copy's offset in the pack.
    pub offset: u32,
    /// The chunk's id.
    pub id: ChunkId,
}

impl DamagedChunk {
    /// The damaged copy of chunk `id` at `location` of `index`.
    pub fn at(index: &Index, id: &ChunkId, location: &Location) -> DamagedChunk {
        DamagedChunk {
            pack: index.pack(location.pack).name.clone(),
            offset: location.offset,
            id: *id,
        }
    }
}

/// Every damaged copy the notes name, and the notes themselves.
#[derive(Debug, Clone, Default)]
pub struct DamageSet {
    /// The damaged copies.
    pub chunks: HashSet<DamagedChunk>,
    /// The note objects read.
    pub notes: Vec<String>,
}

impl DamageSet {
    /// A set of copies just found damaged.
    pub fn of(chunks: Vec<DamagedChunk>) -> DamageSet {
        DamageSet {
            chunks: chunks.into_iter().collect(),
            notes: Vec::new(),
        }
    }

    /// Whether the copy of `id` at `location` is known damaged.
    pub fn contains(&self, index: &Index, id: &ChunkId, location: &Location) -> bool {
        !self.chunks.is_empty() && self.chunks.contains(&DamagedChunk::at(index, id, location))
    }

    /// Drops every noted location from `index` (spares take their places).
    pub fn apply(&self, index: &mut Index) {
        for damaged in &self.chunks {
            let Some(pack) = index.pack_number(&damaged.pack) else {
                continue;
            };
            let noted: Vec<Location> = index
                .locations(&damaged.id)
                .filter(|l| l.pack == pack && l.offset == damaged.offset)
                .collect();
            for location in noted {
                index.drop_location(&damaged.id, &location);
            }
        }
    }
}

fn encode(chunks: &[DamagedChunk]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4 + chunks.len() * 52);
    out.extend_from_slice(&(chunks.len() as u32).to_be_bytes());
    for chunk in chunks {
        out.extend_from_slice(&pack_id(&chunk.pack)?);
        out.extend_from_slice(&chunk.offset.to_be_bytes());
        out.extend_from_slice(&chunk.id);
    }
    Ok(out)
}

fn decode(content: &[u8]) -> Result<Vec<DamagedChunk>> {
    let mut r = Reader::new(content, "damage note");
    let count = r.u32("count")?;
    let count = r.count(count.into(), 52, MAX_ENTRIES, "count")?;
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        let pack: [u8; 16] = r.array("pack id")?;
        chunks.push(DamagedChunk {
            pack: format!("{DATA_PREFIX}{}", hex::encode(pack)),
            offset: r.u32("offset")?,
            id: r.array("chunk id")?,
        });
    }
    r.finish()?;
    Ok(chunks)
}

/// Reads every note the inventory lists. A note that does not authenticate is ignored (it
/// can only have been meant to make a backup upload more), with a warning.
pub fn load(repo: &Repository, inventory: &Inventory) -> Result<DamageSet> {
    let mut set = DamageSet::default();
    for name in inventory.damage.keys() {
        let bytes = match repo.store().get(name, None) {
            Ok(bytes) => bytes,
            Err(Error::ObjectMissing { .. }) => continue,
            Err(err) => return Err(err),
        };
        match object::open(repo.keys(), Kind::Damage, name, &bytes, MAX_NOTE_LEN)
            .and_then(|opened| decode(&opened.content))
        {
            Ok(chunks) => {
                set.chunks.extend(chunks);
                set.notes.push(name.clone());
            }
            Err(err) => log::warn!("damage note {name} ignored: {err}"),
        }
    }
    Ok(set)
}

/// Writes a note naming `chunks`. Best effort for readers, which hold no lock and may run
/// against a store they cannot write: a failure is logged and returned.
pub fn record(repo: &Repository, chunks: &[DamagedChunk]) -> Result<()> {
    if chunks.is_empty() {
        return Ok(());
    }
    let id: [u8; 16] = crate::crypto::random_bytes()?;
    let name = format!("{DAMAGE_PREFIX}{}", hex::encode(id));
    let sealed = object::seal(repo.keys().current(), Kind::Damage, &name, &encode(chunks)?)?;
    repo.store().put(&name, &sealed).inspect_err(|err| {
        log::warn!("could not record damaged chunks in the store: {err}");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip() {
        let chunks = vec![DamagedChunk {
            pack: format!("{DATA_PREFIX}{}", "ab".repeat(16)),
            offset: 77,
            id: [9; 32],
        }];
        assert_eq!(decode(&encode(&chunks).unwrap()).unwrap(), chunks);
        assert!(matches!(
            decode(&[0, 0, 0, 2]),
            Err(Error::Truncated { .. })
        ));
    }
}
