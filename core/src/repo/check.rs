//! Check: the repository's structure, and optionally the content of all or a fraction of packs.
//!
//! Structure: every index object authenticates; every indexed pack exists and is long enough;
//! every snapshot authenticates, its list chunks open, and every chunk they name is indexed.
//! Data (a fraction of packs chosen at random, all with 1.0): the whole pack is read, its
//! trailer authenticated and matched against the index, and every chunk opened, decompressed
//! and checked against its id. The first problem found is returned as a typed error.

use std::collections::{HashMap, HashSet};

use super::{
    catalog,
    keys::ChunkId,
    pack,
    reader::{load_index, read_list},
    snapshot, Repository, DATA_PREFIX, SNAPSHOT_PREFIX,
};
use crate::{
    crypto::random_bytes,
    progress::{Phase, Reporter, Unit},
    Error, Result,
};

/// How much to check.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CheckOptions {
    /// Share of packs to read and authenticate chunk by chunk, `0.0..=1.0`.
    pub read_data_fraction: f64,
}

/// What a check looked at (all of it sound, or the check would have failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Snapshots checked.
    pub snapshots: u64,
    /// Packs named by the index.
    pub packs: u64,
    /// Chunks named by the index.
    pub chunks: u64,
    /// Packs read whole.
    pub packs_read: u64,
    /// Chunks opened and checked against their ids.
    pub chunks_authenticated: u64,
    /// Packs in the store that no index names (left by interrupted runs; prune removes them).
    pub unindexed_packs: u64,
}

/// Runs the check.
pub fn check(
    repo: &Repository,
    options: &CheckOptions,
    reporter: &mut Reporter<'_>,
) -> Result<CheckReport> {
    if !(0.0..=1.0).contains(&options.read_data_fraction) {
        return Err(Error::InvalidArgument(format!(
            "read_data_fraction {} is not within 0..=1",
            options.read_data_fraction
        )));
    }
    let store = repo.store().as_ref();
    let mut report = CheckReport::default();
    let index = std::sync::Arc::new(load_index(repo)?);
    report.packs = index.pack_count() as u64;
    report.chunks = index.chunk_count() as u64;

    // Packs: present and long enough for what the index says they hold.
    let mut extent: HashMap<u32, u64> = HashMap::new();
    for (_, loc) in index.iter() {
        let end = u64::from(loc.offset) + u64::from(loc.length);
        let e = extent.entry(loc.pack).or_default();
        *e = (*e).max(end);
    }
    let listed: HashSet<String> = store.list_names(DATA_PREFIX)?.into_iter().collect();
    reporter.start_phase(Phase::Check, Unit::Rows, report.packs)?;
    let mut numbers: Vec<u32> = extent.keys().copied().collect();
    numbers.sort_unstable();
    for number in &numbers {
        let (name, _) = index.pack_name(*number);
        let size = store.stat(name)?.ok_or_else(|| Error::ObjectMissing {
            name: name.to_owned(),
        })?;
        if size < extent.get(number).copied().unwrap_or(0) {
            return Err(Error::Truncated {
                what: format!("pack {name}: {size} bytes, the index needs more"),
            });
        }
        reporter.advance(1)?;
    }
    report.unindexed_packs = listed.iter().filter(|n| !index.has_pack(n)).count() as u64;

    // Snapshots: every list chunk opens and names only indexed chunks.
    for name in store.list_names(SNAPSHOT_PREFIX)? {
        let snap = snapshot::load(repo, &name)?;
        let mut chunks = 0u64;
        for list in &snap.lists {
            for id in read_list(repo, &index, list)? {
                if !index.contains(&id) {
                    return Err(missing_chunk(&name, &id));
                }
                chunks += 1;
            }
            reporter.advance(0)?;
        }
        if chunks != snap.info.chunks {
            return Err(Error::Corrupted {
                what: format!(
                    "{name}: lists {chunks} chunks, the manifest says {}",
                    snap.info.chunks
                ),
            });
        }
        // The media catalog reads whole (its own byte and chunk counts are checked at its
        // end) and names only indexed chunks.
        catalog::media_chunks(repo, &index, &snap, &mut |id, _| {
            if index.contains(id) {
                reporter.advance(0)
            } else {
                Err(missing_chunk(&name, id))
            }
        })?;
        report.snapshots += 1;
    }

    // Data: a random share of packs, read whole.
    let wanted = (options.read_data_fraction * numbers.len() as f64).ceil() as usize;
    if wanted > 0 {
        let mut order: Vec<(u64, u32)> = Vec::with_capacity(numbers.len());
        for n in &numbers {
            order.push((u64::from_be_bytes(random_bytes()?), *n));
        }
        order.sort_unstable();
        for (_, number) in order.into_iter().take(wanted) {
            report.chunks_authenticated += check_pack(repo, &index, number)?;
            report.packs_read += 1;
            reporter.advance(0)?;
        }
    }
    reporter.finish_phase()?;
    Ok(report)
}

fn missing_chunk(snapshot: &str, id: &ChunkId) -> Error {
    Error::ObjectMissing {
        name: format!("chunk {} of {snapshot} (not in the index)", hex::encode(id)),
    }
}

/// Reads pack `number` whole and opens every chunk the index places in it.
fn check_pack(repo: &Repository, index: &super::index::Index, number: u32) -> Result<u64> {
    let (name, epoch) = index.pack_name(number);
    let bytes = repo.store().get(name, None)?;
    let (trailer_epoch, chunks) = pack::split_pack(repo.keys(), name, &bytes)?;
    if trailer_epoch != epoch {
        return Err(Error::Corrupted {
            what: format!("pack {name}: trailer epoch {trailer_epoch}, index says {epoch}"),
        });
    }
    let keys = repo.keys().epoch(epoch, &format!("pack {name}"))?;
    let mut by_id: HashMap<ChunkId, (u32, u32, &[u8])> = HashMap::new();
    for (entry, sealed) in &chunks {
        by_id.insert(entry.id, (entry.offset, entry.length, sealed));
    }
    let mut opened = 0;
    for (id, loc) in index.iter().filter(|(_, l)| l.pack == number) {
        match by_id.get(id) {
            Some((offset, length, sealed)) if *offset == loc.offset && *length == loc.length => {
                pack::open_chunk(keys, id, loc.raw_len, sealed)?;
                opened += 1;
            }
            _ => {
                return Err(Error::Corrupted {
                    what: format!(
                        "pack {name}: trailer does not list chunk {} where the index puts it",
                        hex::encode(id)
                    ),
                })
            }
        }
    }
    Ok(opened)
}
