//! Repair: make a damaged repository consistent again, keeping everything that authenticates.
//!
//! `check` finds damage (and notes damaged chunk copies in the store); `repair` acts on it,
//! as a dry run by default that reports what it would do, or for real with
//! [`RepairOptions::apply`] (under the lock):
//! 1. **index**: one new index object names every chunk copy that is known good: the readable
//!    index objects' entries, packs no readable index covers (from their trailers, which a
//!    damaged index object made necessary), and salvaged chunks; it replaces every old index
//!    object, damaged ones included;
//! 2. **damaged packs** (a noted damaged copy, a size that differs from the index's record):
//!    every chunk of the pack that still opens and matches its id is copied into a new pack;
//!    the damaged pack is condemned (a later prune deletes it);
//! 3. **snapshots**: damaged snapshot objects are removed, and so are snapshots whose chats
//!    cannot be restored any more (a chunk they need has no intact copy: the next backup
//!    writes a whole new one); snapshots that only lost some media are kept (their chats and
//!    the other files restore; the lost files are reported) and listed;
//! 4. damage notes (now obsolete) and unreadable objects under `locks/` are removed.
//!
//! The next backup then uploads fresh copies of whatever it still has on the device.

use std::{collections::HashSet, sync::Arc};

use super::{
    check::{self, Problem},
    damage::{self, DamagedChunk},
    fetch::ChunkFetcher,
    history::History,
    index::{self, Condemned, IndexObject, PackEntries},
    inventory::Inventory,
    lock::{machine_holder, Lock},
    pack::{self, PackBuilder},
    resolve, Repository, SnapshotId,
};
use crate::{Error, Result};

/// How repair runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairOptions {
    /// Change the repository (otherwise only report what would change).
    pub apply: bool,
}

/// A damaged pack and what was saved of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalvagedPack {
    /// The damaged pack (condemned).
    pub name: String,
    /// Chunks that authenticated and were copied.
    pub chunks_kept: u64,
    /// Chunks that did not.
    pub chunks_lost: u64,
}

/// What a repair did (or, without `apply`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Whether the repository was changed.
    pub applied: bool,
    /// Damaged index objects replaced by the new index.
    pub index_objects_replaced: Vec<String>,
    /// Packs no readable index named, now indexed from their trailers.
    pub packs_reindexed: u64,
    /// Damaged packs and what was saved of each.
    pub packs_salvaged: Vec<SalvagedPack>,
    /// Snapshots removed, with why: damaged objects, and snapshots whose chats cannot be
    /// restored.
    pub snapshots_removed: Vec<(String, String)>,
    /// Snapshots kept although some of their media is lost, with what.
    pub media_lost: Vec<(SnapshotId, String)>,
    /// Unreadable objects removed from `locks/`.
    pub junk_removed: Vec<String>,
}

impl RepairReport {
    /// Whether there was anything to repair.
    pub fn is_empty(&self) -> bool {
        self.index_objects_replaced.is_empty()
            && self.packs_reindexed == 0
            && self.packs_salvaged.is_empty()
            && self.snapshots_removed.is_empty()
            && self.media_lost.is_empty()
            && self.junk_removed.is_empty()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs the repair.
pub fn repair(repo: &Repository, options: &RepairOptions) -> Result<RepairReport> {
    let lock = Lock::acquire(repo, machine_holder()?, None)?;
    super::reseal::finish_pending(repo)?;
    let store = repo.store().as_ref();
    let apply = options.apply;
    let mut report = RepairReport {
        applied: apply,
        ..RepairReport::default()
    };
    let inventory = Inventory::take(store)?;
    let damage = damage::load(repo, &inventory)?;
    let resolved = resolve::resolve(repo, &inventory, None, &damage)?;
    report.index_objects_replaced = resolved
        .damaged_indexes
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    report.packs_reindexed = resolved.adopted.len() as u64;
    let mut index = resolved.index;

    // 2. Salvage damaged packs: those with noted copies, and those whose size changed.
    let mut damaged_packs: Vec<PackEntries> = resolved.resized_entries.clone();
    let noted: HashSet<&str> = damage.chunks.iter().map(|c| c.pack.as_str()).collect();
    for name in noted {
        if let Some(number) = index.pack_number(name) {
            let info = index.pack(number).clone();
            let entries = super::verify::chunks_in(&index, number)
                .into_iter()
                .map(|(id, l)| index::IndexEntry {
                    id,
                    offset: l.offset,
                    length: l.length,
                    raw_len: l.raw_len,
                })
                .collect();
            damaged_packs.push(PackEntries {
                pack: info.name,
                epoch: info.epoch,
                size: info.size,
                entries,
            });
        }
    }
    let mut condemned: Vec<Condemned> = resolved.condemned.clone();
    for damaged in &damaged_packs {
        let (salvaged, kept, lost) = salvage(repo, damaged, apply)?;
        match kept {
            // The good chunks moved: the damaged pack is not named any more.
            Some(kept) => {
                if let Some(number) = index.pack_number(&damaged.pack) {
                    for (id, location) in super::verify::chunks_in(&index, number) {
                        index.drop_location(&id, &location);
                    }
                }
                index.add_pack(&kept);
            }
            // A dry run: the good chunks would move, the lost ones are gone.
            None => damage::DamageSet::of(lost).apply(&mut index),
        }
        condemned.push(Condemned {
            pack: damaged.pack.clone(),
            since: now(),
        });
        report.packs_salvaged.push(salvaged);
    }

    // 3. Snapshots: which restore with this index.
    let history = History::load(repo, &inventory, None)?;
    for bad in &history.damaged {
        report
            .snapshots_removed
            .push((bad.name.clone(), bad.reason.clone()));
    }
    let index = Arc::new(index);
    let fetcher = Arc::new(ChunkFetcher::new(repo, index.clone()));
    let mut problems = Vec::new();
    for snap in &history.snapshots {
        check::check_snapshot(&fetcher, &index, &HashSet::new(), snap, &mut problems)?;
    }
    drop(fetcher);
    for problem in problems {
        match problem {
            Problem::UnrestorableSnapshot { id, reason } => {
                report.snapshots_removed.push((id.object_name(), reason));
            }
            Problem::LostMedia { id, reason } => report.media_lost.push((id, reason)),
            _ => {}
        }
    }
    for name in inventory.locks.keys() {
        if super::lock::read_body(repo, name)?.is_some_and(|body| body.is_err()) {
            report.junk_removed.push(name.clone());
        }
    }
    let changes_index = !report.index_objects_replaced.is_empty()
        || report.packs_reindexed > 0
        || !report.packs_salvaged.is_empty()
        || !damage.notes.is_empty();
    if !apply {
        return Ok(report);
    }

    // 1. and 4.: the new index, then the old objects go.
    lock.verify()?;
    if changes_index {
        let name = index::new_index_name()?;
        let live_packs: HashSet<String> = index.to_packs().into_iter().map(|p| p.pack).collect();
        condemned.retain(|c| !live_packs.contains(&c.pack));
        let object = IndexObject {
            packs: index.to_packs(),
            condemned,
        };
        store.put(&name, &index::encode(repo.keys(), &name, &object)?)?;
        for old in inventory.indexes.keys() {
            store.delete(old)?;
        }
        for note in &damage.notes {
            store.delete(note)?;
        }
    }
    for (name, _) in &report.snapshots_removed {
        store.delete(name)?;
    }
    for name in &report.junk_removed {
        store.delete(name)?;
    }
    drop(lock);
    Ok(report)
}

/// What salvaging a pack gives: the report, the new pack's entries (when written) and the
/// copies that were lost.
type Salvage = (SalvagedPack, Option<PackEntries>, Vec<DamagedChunk>);

/// Copies the chunks of damaged pack `damaged` that still open into a new pack (written when
/// `apply`).
fn salvage(repo: &Repository, damaged: &PackEntries, apply: bool) -> Result<Salvage> {
    let mut salvaged = SalvagedPack {
        name: damaged.pack.clone(),
        chunks_kept: 0,
        chunks_lost: 0,
    };
    let bytes = match repo.store().get(&damaged.pack, None) {
        Ok(bytes) => bytes,
        Err(Error::ObjectMissing { .. }) => {
            salvaged.chunks_lost = damaged.entries.len() as u64;
            let lost = damaged
                .entries
                .iter()
                .map(|e| DamagedChunk {
                    pack: damaged.pack.clone(),
                    offset: e.offset,
                    id: e.id,
                })
                .collect();
            return Ok((salvaged, None, lost));
        }
        Err(err) => return Err(err),
    };
    let keys = repo
        .keys()
        .epoch(damaged.epoch, &format!("pack {}", damaged.pack))?;
    let mut builder = PackBuilder::new(damaged.epoch, bytes.len())?;
    let mut lost: Vec<DamagedChunk> = Vec::new();
    for entry in &damaged.entries {
        let start = entry.offset as usize;
        let sealed = bytes.get(start..start + entry.length as usize);
        let good = sealed
            .is_some_and(|sealed| pack::open_chunk(keys, &entry.id, entry.raw_len, sealed).is_ok());
        match sealed {
            Some(sealed) if good => {
                builder.push_sealed(entry.id, entry.raw_len, sealed)?;
                salvaged.chunks_kept += 1;
            }
            _ => {
                salvaged.chunks_lost += 1;
                lost.push(DamagedChunk {
                    pack: damaged.pack.clone(),
                    offset: entry.offset,
                    id: entry.id,
                });
            }
        }
    }
    if builder.is_empty() || !apply {
        return Ok((salvaged, None, lost));
    }
    let (name, packed, entries) = builder.finish(keys)?;
    repo.store().put(&name, &packed)?;
    Ok((
        salvaged,
        Some(PackEntries {
            pack: name,
            epoch: damaged.epoch,
            size: Some(packed.len() as u64),
            entries,
        }),
        lost,
    ))
}
