//! Prune: forget snapshots outside a retention policy, then reclaim space: delete packs no kept
//! snapshot uses, repack packs that are mostly garbage, and rewrite the index as one object.
//!
//! Crash safety, step by step (a prune killed anywhere leaves every kept snapshot restorable):
//! 1. delete the forgotten snapshots (nothing else depends on them);
//! 2. copy the live chunks of mostly-garbage packs, sealed bytes verbatim, into new packs;
//! 3. write one new index object naming every live chunk at its (new) place;
//! 4. delete the old index objects (the new one already covers every kept snapshot);
//! 5. delete the packs the new index does not name.
//!
//! Killed after 2, the new packs are unindexed (the next backup adopts them, the next prune
//! deletes them); after 3, two indexes name live chunks in packs that all still exist; after 4
//! or during 5, the packs left over are named by no index and are deleted by the next prune.

use std::collections::{hash_map::Entry, HashMap, HashSet};

use super::{
    catalog,
    index::{self, Index, PackEntries},
    keys::ChunkId,
    lock::Lock,
    pack::{self, PackBuilder},
    reader::{load_index, read_list},
    snapshot, Repository, SnapshotId, SnapshotInfo, DATA_PREFIX, SNAPSHOT_PREFIX,
};
use crate::{
    progress::{Phase, Reporter, Unit},
    Error, Result,
};

/// A pack is repacked when less than this share (percent) of its bytes is live.
pub const REPACK_BELOW_LIVE_PERCENT: u64 = 50;

/// Which snapshots to keep; a snapshot kept by any rule is kept. At least one rule must be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep the newest N snapshots.
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the last N days (UTC) that have one.
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the last N weeks (UTC, Monday first) that have one.
    pub keep_weekly: Option<u32>,
}

/// What a prune did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Snapshots kept.
    pub snapshots_kept: u64,
    /// Snapshots forgotten (deleted).
    pub snapshots_removed: u64,
    /// Packs deleted (unused, repacked, or left by interrupted runs).
    pub packs_deleted: u64,
    /// Packs whose live chunks were copied into new packs.
    pub packs_repacked: u64,
    /// Bytes of the deleted packs.
    pub bytes_deleted: u64,
    /// Bytes written (new packs and the new index).
    pub bytes_written: u64,
}

/// The ids `policy` keeps among `snapshots`.
pub fn select(snapshots: &[SnapshotInfo], policy: &RetentionPolicy) -> Result<HashSet<SnapshotId>> {
    if policy.keep_last.is_none() && policy.keep_daily.is_none() && policy.keep_weekly.is_none() {
        return Err(Error::InvalidArgument(
            "a retention policy needs keep_last, keep_daily or keep_weekly".into(),
        ));
    }
    let mut newest_first: Vec<&SnapshotInfo> = snapshots.iter().collect();
    newest_first.sort_by_key(|s| std::cmp::Reverse(s.order_key()));
    let mut keep = HashSet::new();
    if let Some(n) = policy.keep_last {
        keep.extend(newest_first.iter().take(n as usize).map(|s| s.id));
    }
    let mut by_bucket = |n: Option<u32>, bucket: fn(u64) -> u64| {
        let Some(n) = n else { return };
        let mut seen = HashSet::new();
        for s in &newest_first {
            if seen.len() >= n as usize {
                break;
            }
            if seen.insert(bucket(s.time)) {
                keep.insert(s.id);
            }
        }
    };
    by_bucket(policy.keep_daily, |t| t / 86_400);
    // 1970-01-01 was a Thursday: shift by 3 days so weeks start on Monday.
    by_bucket(policy.keep_weekly, |t| (t / 86_400 + 3) / 7);
    Ok(keep)
}

/// Applies `policy` and reclaims space; takes the lock.
pub fn prune(
    repo: &Repository,
    policy: &RetentionPolicy,
    reporter: &mut Reporter<'_>,
) -> Result<PruneReport> {
    let mut lock = Lock::acquire(repo, repo.holder())?;
    let store = repo.store().as_ref();
    let mut report = PruneReport::default();

    // 1. Forget.
    let mut snapshots = Vec::new();
    for name in store.list_names(SNAPSHOT_PREFIX)? {
        snapshots.push(snapshot::load(repo, &name)?);
    }
    let infos: Vec<SnapshotInfo> = snapshots.iter().map(|s| s.info.clone()).collect();
    let keep = select(&infos, policy)?;
    reporter.start_phase(Phase::Prune, Unit::Rows, snapshots.len() as u64)?;
    for snap in &snapshots {
        if !keep.contains(&snap.info.id) {
            store.delete(&snap.info.id.object_name())?;
            report.snapshots_removed += 1;
        }
        reporter.advance(1)?;
    }
    snapshots.retain(|s| keep.contains(&s.info.id));
    report.snapshots_kept = snapshots.len() as u64;

    // Live chunks: every kept snapshot's list chunks and the data chunks they name, and its
    // media catalog's chunks and the media chunks it names.
    let index = std::sync::Arc::new(load_index(repo)?);
    let mut live: HashSet<ChunkId> = HashSet::new();
    // Media file chunks are repacked apart from chat chunks, as the writer packs them, so a
    // damaged pack never costs both.
    let mut media: HashSet<ChunkId> = HashSet::new();
    for snap in &snapshots {
        for list in &snap.lists {
            live.insert(*list);
            live.extend(read_list(repo, &index, list)?);
            reporter.advance(0)?;
        }
        catalog::media_chunks(repo, &index, snap, &mut |id, file_chunk| {
            live.insert(*id);
            if file_chunk {
                media.insert(*id);
            }
            reporter.advance(0)
        })?;
    }

    // Per pack: live and total sealed bytes.
    let mut usage: HashMap<u32, (u64, u64)> = HashMap::new();
    for (id, loc) in index.iter() {
        let entry = usage.entry(loc.pack).or_default();
        entry.1 += u64::from(loc.length);
        if live.contains(id) {
            entry.0 += u64::from(loc.length);
        }
    }
    let mut new_index = Index::default();
    let mut to_repack: Vec<u32> = Vec::new();
    for (number, (live_bytes, total)) in &usage {
        if *live_bytes == 0 {
            continue;
        }
        if live_bytes * 100 < total * REPACK_BELOW_LIVE_PERCENT {
            to_repack.push(*number);
        }
    }
    to_repack.sort_unstable();
    let repack_set: HashSet<u32> = to_repack.iter().copied().collect();

    // 2. Repack: live chunks copied verbatim (still sealed, same epoch) into new packs.
    let target = repo.options().pack_target_bytes as usize;
    let mut builders: HashMap<(u32, bool), PackBuilder> = HashMap::new();
    for number in &to_repack {
        let (name, epoch) = index.pack_name(*number);
        let bytes = store.get(name, None)?;
        let (_, chunks) = pack::split_pack(repo.keys(), name, &bytes)?;
        for (entry, sealed) in chunks {
            let live_here =
                live.contains(&entry.id) && index.get(&entry.id).is_some_and(|l| l.pack == *number);
            if !live_here {
                continue;
            }
            let key = (epoch, media.contains(&entry.id));
            let builder = match builders.entry(key) {
                Entry::Occupied(existing) => existing.into_mut(),
                Entry::Vacant(slot) => slot.insert(PackBuilder::new(epoch, target + 1024 * 1024)?),
            };
            builder.push_sealed(entry.id, entry.raw_len, sealed)?;
            if builder.len() >= target {
                if let Some(full) = builders.remove(&key) {
                    write_pack(repo, full, epoch, &mut new_index, &mut report)?;
                }
            }
        }
        lock.refresh_if_due()?;
        report.packs_repacked += 1;
        reporter.advance(0)?;
    }
    let mut rest: Vec<((u32, bool), PackBuilder)> = builders.into_iter().collect();
    rest.sort_by_key(|(key, _)| *key);
    for ((epoch, _), builder) in rest {
        write_pack(repo, builder, epoch, &mut new_index, &mut report)?;
    }

    // 3. One index naming every live chunk not repacked, at its old place.
    for pack in index.to_packs() {
        let number = index_number(&index, &pack.pack);
        if repack_set.contains(&number) {
            continue;
        }
        let entries: Vec<_> = pack
            .entries
            .into_iter()
            .filter(|e| live.contains(&e.id))
            .collect();
        if !entries.is_empty() {
            new_index.add_pack(&PackEntries {
                pack: pack.pack,
                epoch: pack.epoch,
                entries,
            });
        }
    }
    let name = index::new_index_name()?;
    let bytes = index::encode(repo.keys(), &name, &new_index.to_packs())?;
    store.put(&name, &bytes)?;
    report.bytes_written += bytes.len() as u64;

    // 4. Old index objects go.
    for old in &index.objects {
        store.delete(old)?;
    }

    // 5. Packs no index names go, including those of interrupted runs.
    for pack_name in store.list_names(DATA_PREFIX)? {
        if new_index.has_pack(&pack_name) {
            continue;
        }
        report.bytes_deleted += store.stat(&pack_name)?.unwrap_or(0);
        store.delete(&pack_name)?;
        report.packs_deleted += 1;
        reporter.advance(0)?;
    }
    reporter.finish_phase()?;
    drop(lock);
    Ok(report)
}

fn index_number(index: &Index, name: &str) -> u32 {
    (0..index.pack_count() as u32)
        .find(|n| index.pack_name(*n).0 == name)
        .unwrap_or(u32::MAX)
}

fn write_pack(
    repo: &Repository,
    builder: PackBuilder,
    epoch: u32,
    new_index: &mut Index,
    report: &mut PruneReport,
) -> Result<()> {
    if builder.is_empty() {
        return Ok(());
    }
    let keys = repo.keys().epoch(epoch, "repack")?;
    let (name, bytes, entries) = builder.finish(keys)?;
    repo.store().put(&name, &bytes)?;
    report.bytes_written += bytes.len() as u64;
    new_index.add_pack(&PackEntries {
        pack: name,
        epoch,
        entries,
    });
    Ok(())
}
