//! Prune: forget snapshots outside a retention policy, then reclaim space: repack packs that are
//! mostly garbage, rewrite the index as one object, and delete unreferenced packs in two phases.
//!
//! Steps (a prune killed anywhere leaves every kept snapshot restorable):
//! 1. delete the forgotten snapshots (nothing else depends on them);
//! 2. copy the live chunks of mostly-garbage packs, each opened and checked on the way (a
//!    damaged copy is never copied), into new packs;
//! 3. write one new index object naming every live chunk at its (new) place, and *condemning*
//!    every pack it does not name;
//! 4. delete the old index objects (the new one already covers every kept snapshot) and the
//!    damage notes (the new index no longer names a noted copy);
//! 5. delete the packs that an earlier prune condemned at least [`PruneOptions::grace`] ago and
//!    that are still unreferenced. A pack condemned now is deleted by a later prune, so a backup
//!    that was suspended while this one ran still finds the packs it uploaded or deduplicated
//!    against, and its index then saves them.
//!
//! Guard rails: a policy that would forget every snapshot is refused unless it says so
//! ([`RetentionPolicy::allow_forget_all`]); a dry run reports without writing; and prune never
//! deletes what it cannot account for: while any snapshot object is damaged, or a kept
//! snapshot cannot be read whole, snapshots are forgotten but no space is reclaimed.

use std::{
    collections::{hash_map::Entry, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use super::{
    catalog,
    damage::{self, DamageSet},
    fetch::ChunkFetcher,
    history::History,
    index::{self, Condemned, Index, IndexObject, PackEntries},
    inventory::Inventory,
    keys::ChunkId,
    lock::{machine_holder, Lock},
    pack::{self, PackBuilder},
    resolve, verify, Repository, Snapshot, SnapshotId, SnapshotInfo,
};
use crate::{
    progress::{Phase, Reporter, Unit},
    Error, Result,
};

/// A pack is repacked when less than this share (percent) of its bytes is live.
pub const REPACK_BELOW_LIVE_PERCENT: u64 = 50;
/// How long a pack stays condemned before a prune deletes it, by default.
pub const GRACE: Duration = Duration::from_secs(60 * 60);

/// Which snapshots to keep; a snapshot kept by any rule is kept. At least one rule must be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep the newest N snapshots.
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the last N days (UTC) that have one.
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the last N weeks (UTC, Monday first) that have one.
    pub keep_weekly: Option<u32>,
    /// Allow the policy to forget every snapshot (otherwise that is refused: `keep_last: 0`
    /// is more often a typo than a wish to delete the whole backup).
    pub allow_forget_all: bool,
}

/// How prune runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneOptions {
    /// Report what would be done, change nothing.
    pub dry_run: bool,
    /// How long a pack stays condemned before deletion.
    pub grace: Duration,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            dry_run: false,
            grace: GRACE,
        }
    }
}

/// What a prune did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
    /// Snapshots kept.
    pub snapshots_kept: u64,
    /// Snapshots forgotten (deleted).
    pub snapshots_removed: u64,
    /// Packs deleted (condemned by an earlier prune at least the grace period ago).
    pub packs_deleted: u64,
    /// Packs condemned by this prune (deleted by a later one).
    pub packs_condemned: u64,
    /// Packs whose live chunks were copied into new packs.
    pub packs_repacked: u64,
    /// Bytes of the deleted packs.
    pub bytes_deleted: u64,
    /// Bytes written (new packs and the new index).
    pub bytes_written: u64,
    /// Why no space was reclaimed, when none was (damaged snapshots, an unreadable one).
    pub not_reclaimed: Option<String>,
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
    if keep.is_empty() && !snapshots.is_empty() && !policy.allow_forget_all {
        return Err(Error::InvalidArgument(format!(
            "this policy keeps none of the {} snapshots: the whole backup would be deleted; \
             allow it explicitly (`--forget-all`, `allow_forget_all`) if that is meant",
            snapshots.len()
        )));
    }
    Ok(keep)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Applies `policy` and reclaims space; takes the lock.
pub fn prune(
    repo: &Repository,
    policy: &RetentionPolicy,
    options: &PruneOptions,
    reporter: &mut Reporter<'_>,
) -> Result<PruneReport> {
    let lock = Lock::acquire(repo, machine_holder()?, None)?;
    super::reseal::finish_pending(repo)?;
    let store = repo.store().as_ref();
    let mut report = PruneReport {
        dry_run: options.dry_run,
        ..PruneReport::default()
    };
    let inventory = Inventory::take(store)?;
    let history = History::load(repo, &inventory, None)?;
    let infos: Vec<SnapshotInfo> = history.snapshots.iter().map(|s| s.info.clone()).collect();
    let keep = select(&infos, policy)?;

    // 1. Forget.
    reporter.start_phase(Phase::Prune, Unit::Rows, infos.len() as u64)?;
    lock.verify()?;
    for info in &infos {
        if !keep.contains(&info.id) {
            if !options.dry_run {
                store.delete(&info.id.object_name())?;
            }
            report.snapshots_removed += 1;
        }
        reporter.advance(1)?;
    }
    let kept: Vec<&Snapshot> = history
        .snapshots
        .iter()
        .filter(|s| keep.contains(&s.info.id))
        .collect();
    report.snapshots_kept = kept.len() as u64;
    if let Some(first) = history.damaged.first() {
        report.not_reclaimed = Some(format!(
            "{} snapshot object(s) are damaged ({}: {}) and may reference any pack; run \
             `repo repair` first",
            history.damaged.len(),
            first.name,
            first.reason
        ));
        reporter.finish_phase()?;
        return Ok(report);
    }

    let damage = damage::load(repo, &inventory)?;
    let resolved = resolve::resolve(repo, &inventory, None, &damage)?;
    let index = Arc::new(resolved.index);
    let live = match live_chunks(repo, &index, &kept, reporter) {
        Ok(live) => live,
        Err(err) if resolve::is_damage(&err) || matches!(err, Error::ObjectMissing { .. }) => {
            report.not_reclaimed = Some(format!(
                "a kept snapshot cannot be read whole ({err}); run `repo check` and `repo repair`"
            ));
            reporter.finish_phase()?;
            return Ok(report);
        }
        Err(err) => return Err(err),
    };
    reclaim(
        repo,
        &lock,
        &inventory,
        &index,
        &live,
        &resolved.condemned,
        &damage,
        options,
        &mut report,
        reporter,
    )?;
    reporter.finish_phase()?;
    drop(lock);
    Ok(report)
}

/// The chunks the kept snapshots use: list chunks and the data chunks they name, catalog
/// chunks, and media chunks (the `bool` of the map: a media file's chunk, repacked apart).
fn live_chunks(
    repo: &Repository,
    index: &Arc<Index>,
    kept: &[&Snapshot],
    reporter: &mut Reporter<'_>,
) -> Result<HashMap<ChunkId, bool>> {
    let fetcher = Arc::new(ChunkFetcher::new(repo, index.clone()));
    let mut live: HashMap<ChunkId, bool> = HashMap::new();
    for snap in kept {
        for list in &snap.lists {
            live.entry(*list).or_insert(false);
            for id in fetcher.read_list(list)? {
                live.entry(id).or_insert(false);
            }
            reporter.advance(0)?;
        }
        catalog::media_chunks(&fetcher, snap, &mut |id, file_chunk| {
            let media = live.entry(*id).or_insert(false);
            *media |= file_chunk;
            reporter.advance(0)
        })?;
    }
    for id in live.keys() {
        if !index.contains(id) {
            return Err(Error::ObjectMissing {
                name: format!("chunk {} (no intact copy)", hex::encode(id)),
            });
        }
    }
    Ok(live)
}

/// Steps 2 to 5.
#[allow(clippy::too_many_arguments)]
fn reclaim(
    repo: &Repository,
    lock: &Lock<'_>,
    inventory: &Inventory,
    index: &Index,
    live: &HashMap<ChunkId, bool>,
    condemned_before: &[Condemned],
    damage: &DamageSet,
    options: &PruneOptions,
    report: &mut PruneReport,
    reporter: &mut Reporter<'_>,
) -> Result<()> {
    let store = repo.store().as_ref();
    // Per pack: live and total sealed bytes (preferred copies only: spares are garbage).
    let mut usage: HashMap<u32, (u64, u64)> = HashMap::new();
    for (id, loc) in index.iter_all() {
        let entry = usage.entry(loc.pack).or_default();
        entry.1 += u64::from(loc.length);
        if live.contains_key(id) && index.get(id) == Some(loc) {
            entry.0 += u64::from(loc.length);
        }
    }
    let mut to_repack: Vec<u32> = usage
        .iter()
        .filter(|(_, (live_bytes, total))| {
            *live_bytes > 0 && live_bytes * 100 < total * REPACK_BELOW_LIVE_PERCENT
        })
        .map(|(number, _)| *number)
        .collect();
    to_repack.sort_unstable();
    let repack_set: HashSet<u32> = to_repack.iter().copied().collect();

    // 2. Repack: live chunks checked and copied (still sealed, same epoch) into new packs.
    let mut new_index = Index::default();
    let target = repo.options().pack_target_bytes as usize;
    let mut builders: HashMap<(u32, bool), PackBuilder> = HashMap::new();
    let mut moved: HashSet<ChunkId> = HashSet::new();
    for number in &to_repack {
        let info = index.pack(*number).clone();
        report.packs_repacked += 1;
        if options.dry_run {
            continue;
        }
        let bytes = store.get(&info.name, None)?;
        let keys = repo
            .keys()
            .epoch(info.epoch, &format!("pack {}", info.name))?;
        for (id, location) in verify::chunks_in(index, *number) {
            let preferred_here = index.get(&id) == Some(location);
            let Some(media) = live.get(&id) else { continue };
            if !preferred_here || moved.contains(&id) {
                continue;
            }
            let start = location.offset as usize;
            let Some(sealed) = bytes.get(start..start + location.length as usize) else {
                continue;
            };
            if pack::open_chunk(keys, &id, location.raw_len, sealed).is_err() {
                continue; // damaged: the chunk has no copy here worth keeping
            }
            let key = (info.epoch, *media);
            let builder = match builders.entry(key) {
                Entry::Occupied(existing) => existing.into_mut(),
                Entry::Vacant(slot) => {
                    slot.insert(PackBuilder::new(info.epoch, target + 1024 * 1024)?)
                }
            };
            builder.push_sealed(id, location.raw_len, sealed)?;
            moved.insert(id);
            if builder.len() >= target {
                if let Some(full) = builders.remove(&key) {
                    write_pack(repo, full, info.epoch, &mut new_index, report)?;
                }
            }
        }
        reporter.advance(0)?;
    }
    let mut rest: Vec<((u32, bool), PackBuilder)> = builders.into_iter().collect();
    rest.sort_by_key(|(key, _)| *key);
    for ((epoch, _), builder) in rest {
        write_pack(repo, builder, epoch, &mut new_index, report)?;
    }

    // 3. One index naming every live chunk not moved, at its preferred place, and condemning
    //    every pack it does not name.
    for pack in index.to_packs() {
        if index
            .pack_number(&pack.pack)
            .is_some_and(|n| repack_set.contains(&n))
        {
            continue;
        }
        let entries: Vec<_> = pack
            .entries
            .into_iter()
            .filter(|e| live.contains_key(&e.id) && !moved.contains(&e.id))
            .collect();
        if !entries.is_empty() {
            new_index.add_pack(&PackEntries { entries, ..pack });
        }
    }
    let since: HashMap<&str, u64> = condemned_before
        .iter()
        .map(|c| (c.pack.as_str(), c.since))
        .collect();
    let t = now();
    let mut condemned = Vec::new();
    let mut deletable = Vec::new();
    let mut unreferenced: Vec<(&String, u64)> = inventory
        .packs
        .iter()
        .filter(|(name, _)| !new_index.has_pack(name))
        .map(|(name, size)| (name, *size))
        .collect();
    unreferenced.sort();
    for (name, size) in unreferenced {
        match since.get(name.as_str()) {
            Some(when) if t.saturating_sub(*when) >= options.grace.as_secs() => {
                deletable.push((name.clone(), size));
            }
            Some(when) => condemned.push(Condemned {
                pack: name.clone(),
                since: *when,
            }),
            None => {
                report.packs_condemned += 1;
                condemned.push(Condemned {
                    pack: name.clone(),
                    since: t,
                });
            }
        }
    }
    if options.dry_run {
        report.packs_deleted = deletable.len() as u64;
        report.bytes_deleted = deletable.iter().map(|(_, size)| size).sum();
        return Ok(());
    }
    let name = index::new_index_name()?;
    let object = IndexObject {
        packs: new_index.to_packs(),
        condemned,
    };
    let bytes = index::encode(repo.keys(), &name, &object)?;
    lock.verify()?;
    store.put(&name, &bytes)?;
    report.bytes_written += bytes.len() as u64;

    // 4. Old index objects and the damage notes go.
    for old in inventory.indexes.keys() {
        store.delete(old)?;
    }
    for note in &damage.notes {
        store.delete(note)?;
    }

    // 5. Packs condemned long enough go.
    lock.verify()?;
    for (pack_name, size) in deletable {
        store.delete(&pack_name)?;
        report.packs_deleted += 1;
        report.bytes_deleted += size;
        reporter.advance(0)?;
    }
    Ok(())
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
        size: Some(bytes.len() as u64),
        entries,
    });
    Ok(())
}
