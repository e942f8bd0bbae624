//! Reading packs back to find damage before a restore needs them: the backup's rolling
//! verification, `check`'s data pass and `repair`'s salvage all open every chunk a pack holds
//! here.
//!
//! A daily backup verifies a few packs within a byte budget, those verified longest ago first
//! (never verified, then oldest; the times are kept in the device's cache), before it writes
//! anything: a chunk found damaged is noted (`repo::damage`) and dropped from the index the
//! backup deduplicates against, so the backup itself uploads a fresh copy. Over a week or a
//! month of backups every pack is read once, so a bit that flipped in the cloud is found and
//! healed by the device that still has the data, not by the new phone that needs it.

use std::collections::{HashMap, HashSet};

use super::{
    cache::Cache,
    damage::DamagedChunk,
    index::{Index, Location},
    keys::ChunkId,
    pack,
    resolve::is_damage,
    Repository,
};
use crate::{Error, Result};

/// What reading one pack found.
#[derive(Debug, Default)]
pub struct PackCheck {
    /// Chunks that opened and matched their ids.
    pub chunks_ok: u64,
    /// Copies that did not.
    pub damaged: Vec<DamagedChunk>,
    /// The pack's trailer failed (its chunks may still be sound).
    pub trailer_error: Option<String>,
    /// Bytes read.
    pub bytes: u64,
}

/// The chunks `index` places in pack number `number`, with their locations.
pub fn chunks_in(index: &Index, number: u32) -> Vec<(ChunkId, Location)> {
    let mut chunks: Vec<(ChunkId, Location)> = index
        .iter_all()
        .filter(|(_, l)| l.pack == number)
        .map(|(id, l)| (*id, l))
        .collect();
    chunks.sort_by_key(|(_, l)| l.offset);
    chunks
}

/// Reads pack number `number` whole and opens every chunk the index places in it, and its
/// trailer. A pack the store lost, or that is shorter than the index says, makes every copy in
/// it damaged. Store failures are errors.
pub fn check_pack(repo: &Repository, index: &Index, number: u32) -> Result<PackCheck> {
    let info = index.pack(number);
    let mut result = PackCheck::default();
    let chunks = chunks_in(index, number);
    let bytes = match repo.store().get(&info.name, None) {
        Ok(bytes) => bytes,
        Err(Error::ObjectMissing { .. }) => {
            result.damaged = chunks
                .iter()
                .map(|(id, l)| DamagedChunk::at(index, id, l))
                .collect();
            result.trailer_error = Some("the pack is missing".into());
            return Ok(result);
        }
        Err(err) => return Err(err),
    };
    result.bytes = bytes.len() as u64;
    if let Err(err) = pack::split_pack(repo.keys(), &info.name, &bytes) {
        result.trailer_error = Some(err.to_string());
    }
    let keys = repo
        .keys()
        .epoch(info.epoch, &format!("pack {}", info.name))?;
    for (id, location) in &chunks {
        let start = location.offset as usize;
        let opened = bytes
            .get(start..start + location.length as usize)
            .ok_or_else(|| Error::Corrupted {
                what: format!(
                    "pack {}: ends before chunk {} (damaged or replaced)",
                    info.name,
                    hex::encode(id)
                ),
            })
            .and_then(|sealed| pack::open_chunk(keys, id, location.raw_len, sealed));
        match opened {
            Ok(_) => result.chunks_ok += 1,
            Err(err) if is_damage(&err) => {
                log::warn!(
                    "pack {}: chunk {} damaged: {err}",
                    info.name,
                    hex::encode(id)
                );
                result.damaged.push(DamagedChunk::at(index, id, location));
            }
            Err(err) => return Err(err),
        }
    }
    Ok(result)
}

/// Compares the store's copies of cached index and snapshot objects with this device's, least
/// recently verified first, within `budget` bytes: a store copy that differs and does not
/// authenticate is put back from the cache. Cheap where a pack read is not (the objects are
/// small and each comparison is one get), and it catches a damaged object the listing cannot
/// show (same size). Returns how many objects were read and how many healed.
pub fn cached_objects(
    repo: &Repository,
    cache: &Cache,
    inventory: &super::inventory::Inventory,
    budget: u64,
) -> Result<(u64, u64)> {
    if budget == 0 {
        return Ok((0, 0));
    }
    let mut times = cache.verified();
    times.retain(|name, _| {
        name.starts_with(super::DATA_PREFIX)
            || inventory.indexes.contains_key(name)
            || inventory.snapshots.contains_key(name)
    });
    let mut candidates: Vec<(u64, &String, u64)> = inventory
        .indexes
        .iter()
        .chain(inventory.snapshots.iter())
        .filter(|(name, _)| cache.get(name).is_some())
        .map(|(name, size)| (times.get(name.as_str()).copied().unwrap_or(0), name, *size))
        .collect();
    candidates.sort();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (mut read, mut healed, mut bytes) = (0u64, 0u64, 0u64);
    for (_, name, size) in candidates {
        if read > 0 && bytes + size > budget {
            break;
        }
        let stored = match repo.store().get(name, None) {
            Ok(stored) => stored,
            Err(Error::ObjectMissing { .. }) => continue,
            Err(err) => return Err(err),
        };
        read += 1;
        bytes += size;
        times.insert(name.clone(), now);
        if cache.get(name).as_deref() == Some(stored.as_slice()) {
            continue;
        }
        let accept = |bytes: &[u8]| -> Result<()> {
            if name.starts_with(super::INDEX_PREFIX) {
                super::index::decode(repo.keys(), name, bytes).map(|_| ())
            } else {
                super::snapshot::decode(repo, name, bytes).map(|_| ())
            }
        };
        if accept(&stored).is_err() && cache.restore_to(repo.store().as_ref(), name, accept)? {
            healed += 1;
        }
    }
    cache.set_verified(&times);
    Ok((read, healed))
}

/// What a backup's rolling verification did.
#[derive(Debug, Default)]
pub struct Verified {
    /// Packs read.
    pub packs: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Damaged copies found (already noted in the store by the caller).
    pub damaged: Vec<DamagedChunk>,
}

/// Verifies packs of `index` within `budget` bytes, least recently verified first.
pub fn rolling(
    repo: &Repository,
    index: &Index,
    cache: Option<&Cache>,
    budget: u64,
) -> Result<Verified> {
    let mut verified = Verified::default();
    if budget == 0 || index.pack_count() == 0 {
        return Ok(verified);
    }
    let mut times: HashMap<String, u64> = cache.map(Cache::verified).unwrap_or_default();
    let mut order: Vec<(u64, u64, u32)> = Vec::with_capacity(index.pack_count());
    for number in 0..index.pack_count() as u32 {
        let name = &index.pack(number).name;
        let last = times.get(name).copied().unwrap_or(0);
        // Ties (never verified) in a random order, so devices without a cache spread out.
        let shuffle = u64::from_be_bytes(crate::crypto::random_bytes()?);
        order.push((last, shuffle, number));
    }
    order.sort_unstable();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (_, _, number) in order {
        let size = index.pack(number).size.unwrap_or(0);
        if verified.packs > 0 && verified.bytes + size > budget {
            break;
        }
        let checked = check_pack(repo, index, number)?;
        verified.packs += 1;
        verified.bytes += checked.bytes.max(size);
        verified.damaged.extend(checked.damaged);
        times.insert(index.pack(number).name.clone(), now);
    }
    if let Some(cache) = cache {
        let present: HashSet<&str> = (0..index.pack_count() as u32)
            .map(|n| index.pack(n).name.as_str())
            .collect();
        times.retain(|name, _| {
            !name.starts_with(super::DATA_PREFIX) || present.contains(name.as_str())
        });
        cache.set_verified(&times);
    }
    Ok(verified)
}
