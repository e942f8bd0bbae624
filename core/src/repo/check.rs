//! Check: what is wrong with a repository, and whether every snapshot still restores.
//!
//! Structure: every index object, snapshot object and lock is read; every pack the index names
//! is in the store at its recorded size; every pack no index names has a trailer that
//! authenticates; every snapshot's list chunks open and every chunk they name (and every media
//! chunk its catalog names) has an intact copy. Data (a share of packs chosen at random, all
//! with 1.0): the whole pack is read and every chunk opened, decompressed and checked against
//! its id; damage found is noted in the store (`repo::damage`), so the next backup uploads a
//! fresh copy.
//!
//! Nothing stops at the first problem: the report lists them all and gives a [`Verdict`]:
//! *healthy* (nothing wrong), *healed* (damage exists but every snapshot restores whole, through
//! other copies, re-uploaded chunks or pack trailers; `repo repair` and prune clean it up) or
//! *broken* (a snapshot or some of its media cannot be restored).

use std::{collections::HashSet, sync::Arc};

use super::{
    catalog,
    damage::{self, DamagedChunk},
    fetch::ChunkFetcher,
    history::History,
    index::Index,
    inventory::Inventory,
    keys::ChunkId,
    resolve, verify, Repository, Snapshot, SnapshotId,
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

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An index object does not authenticate or decode; its packs are reached through their
    /// trailers.
    DamagedIndexObject {
        /// The object.
        name: String,
        /// Why.
        reason: String,
    },
    /// A pack the index names is not in the store.
    LostPack {
        /// The pack.
        name: String,
    },
    /// A pack's size differs from what the index recorded (truncated or replaced).
    ResizedPack {
        /// The pack.
        name: String,
    },
    /// A pack no index names whose trailer does not authenticate (junk, or damage).
    UnreadablePack {
        /// The pack.
        name: String,
        /// Why.
        reason: String,
    },
    /// A pack whose trailer does not authenticate, though the index names it.
    DamagedTrailer {
        /// The pack.
        name: String,
        /// Why.
        reason: String,
    },
    /// A copy of a chunk is damaged.
    DamagedChunk {
        /// Where.
        copy: DamagedChunk,
        /// Whether another intact copy exists.
        healed: bool,
    },
    /// A snapshot object does not authenticate or decode.
    DamagedSnapshot {
        /// The object.
        name: String,
        /// Why.
        reason: String,
    },
    /// Chunks a snapshot needs are in packs no index object names (its index object was lost
    /// or damaged): readers find them through the packs' trailers; the next backup indexes
    /// them again.
    IndexIncomplete {
        /// The snapshot.
        id: SnapshotId,
        /// Its chunks found only through pack trailers.
        chunks: u64,
    },
    /// A snapshot's chats cannot be restored: a chunk it needs has no intact copy.
    UnrestorableSnapshot {
        /// The snapshot.
        id: SnapshotId,
        /// Why.
        reason: String,
    },
    /// Some of a snapshot's media cannot be restored (its chats can).
    LostMedia {
        /// The snapshot.
        id: SnapshotId,
        /// What is missing.
        reason: String,
    },
    /// An object under `locks/` that is not a readable lock.
    UnreadableLock {
        /// The object.
        name: String,
    },
    /// An object outside the repository's layout.
    StrayObject {
        /// The object.
        name: String,
    },
}

impl Problem {
    /// Whether this problem means lost data (a snapshot, or media, that cannot be restored).
    pub fn is_loss(&self) -> bool {
        matches!(
            self,
            Problem::DamagedSnapshot { .. }
                | Problem::UnrestorableSnapshot { .. }
                | Problem::LostMedia { .. }
        )
    }

    /// The problem as the typed error an operation meeting it would give.
    pub fn to_error(&self) -> Error {
        match self {
            Problem::LostPack { name } => Error::ObjectMissing { name: name.clone() },
            Problem::ResizedPack { name } => Error::Corrupted {
                what: format!("pack {name}: its size differs from the index's record"),
            },
            Problem::UnrestorableSnapshot { id, reason } => Error::Corrupted {
                what: format!("snapshot {id} cannot be restored: {reason}"),
            },
            Problem::LostMedia { id, reason } => Error::Corrupted {
                what: format!("snapshot {id}: media lost: {reason}"),
            },
            other => Error::Corrupted {
                what: format!("{other:?}"),
            },
        }
    }
}

/// The check's conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing is wrong.
    Healthy,
    /// Something is damaged, but every snapshot restores whole.
    Healed,
    /// A snapshot, or some of its media, cannot be restored.
    Broken,
}

/// What a check looked at and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Intact snapshots checked.
    pub snapshots: u64,
    /// Packs named by the index.
    pub packs: u64,
    /// Chunks named by the index.
    pub chunks: u64,
    /// Packs read whole.
    pub packs_read: u64,
    /// Chunks opened and checked against their ids.
    pub chunks_authenticated: u64,
    /// Packs in the store that no index names but whose trailers authenticate (left by
    /// interrupted runs; the next backup adopts them, prune removes them).
    pub unindexed_packs: u64,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// The conclusion.
    pub fn verdict(&self) -> Verdict {
        if self.problems.iter().any(Problem::is_loss) {
            Verdict::Broken
        } else if self.problems.is_empty() {
            Verdict::Healthy
        } else {
            Verdict::Healed
        }
    }

    /// The report when every snapshot restores; for a broken repository, the first loss as a
    /// typed error.
    pub fn into_result(self) -> Result<CheckReport> {
        match self.problems.iter().find(|p| p.is_loss()) {
            Some(loss) => Err(loss.to_error()),
            None => Ok(self),
        }
    }
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
    let inventory = Inventory::take(repo.store().as_ref())?;
    let damage = damage::load(repo, &inventory)?;
    let resolved = resolve::resolve(repo, &inventory, None, &damage)?;
    let mut report = CheckReport::default();
    let problems = &mut report.problems;
    for (name, err) in &resolved.damaged_indexes {
        problems.push(Problem::DamagedIndexObject {
            name: name.clone(),
            reason: err.to_string(),
        });
    }
    problems.extend(
        resolved
            .lost_packs
            .iter()
            .map(|name| Problem::LostPack { name: name.clone() }),
    );
    problems.extend(
        resolved
            .resized_packs
            .iter()
            .map(|name| Problem::ResizedPack { name: name.clone() }),
    );
    for (name, err) in &resolved.unreadable_packs {
        problems.push(Problem::UnreadablePack {
            name: name.clone(),
            reason: err.to_string(),
        });
    }
    report.unindexed_packs = resolved.adopted.len() as u64;
    let mut index = resolved.index;
    let adopted: HashSet<u32> = resolved
        .adopted
        .iter()
        .filter_map(|p| index.pack_number(&p.pack))
        .collect();
    report.packs = index.pack_count() as u64;
    report.chunks = index.chunk_count() as u64;

    // Data: a random share of packs, read whole; damage found is dropped from the index and
    // noted in the store.
    reporter.start_phase(Phase::Check, Unit::Rows, report.packs)?;
    let mut damaged: Vec<DamagedChunk> = damage.chunks.iter().cloned().collect();
    let wanted = (options.read_data_fraction * index.pack_count() as f64).ceil() as usize;
    let mut order: Vec<(u64, u32)> = Vec::new();
    for n in 0..index.pack_count() as u32 {
        order.push((u64::from_be_bytes(random_bytes()?), n));
    }
    order.sort_unstable();
    let mut found = Vec::new();
    for (_, number) in order.into_iter().take(wanted) {
        let checked = verify::check_pack(repo, &index, number)?;
        report.packs_read += 1;
        report.chunks_authenticated += checked.chunks_ok;
        if let Some(reason) = checked.trailer_error {
            problems.push(Problem::DamagedTrailer {
                name: index.pack(number).name.clone(),
                reason,
            });
        }
        found.extend(checked.damaged);
        reporter.advance(1)?;
    }
    if !found.is_empty() {
        let _ = damage::record(repo, &found);
        damage::DamageSet::of(found.clone()).apply(&mut index);
        damaged.extend(found);
    }
    for copy in damaged {
        let healed = index.contains(&copy.id);
        problems.push(Problem::DamagedChunk { copy, healed });
    }

    let history = History::load(repo, &inventory, None)?;
    for bad in &history.damaged {
        problems.push(Problem::DamagedSnapshot {
            name: bad.name.clone(),
            reason: bad.reason.clone(),
        });
    }
    let index = Arc::new(index);
    let fetcher = Arc::new(ChunkFetcher::new(repo, index.clone()));
    for snap in &history.snapshots {
        check_snapshot(&fetcher, &index, &adopted, snap, problems)?;
        report.snapshots += 1;
        reporter.advance(0)?;
    }
    for name in inventory.locks.keys() {
        if super::lock::read_body(repo, name)?.is_none_or(|body| body.is_err()) {
            problems.push(Problem::UnreadableLock { name: name.clone() });
        }
    }
    problems.extend(
        inventory
            .other
            .iter()
            .map(|name| Problem::StrayObject { name: name.clone() }),
    );
    reporter.finish_phase()?;
    Ok(report)
}

/// Every chunk `snap` needs has an intact copy: its archive (reading its list chunks), its
/// catalog and its media; chunks found only in `unindexed` packs (numbers of `index`) are
/// counted as [`Problem::IndexIncomplete`].
pub(crate) fn check_snapshot(
    fetcher: &Arc<ChunkFetcher<'_>>,
    index: &Index,
    unindexed: &HashSet<u32>,
    snap: &Snapshot,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let id = snap.info.id;
    let only_unindexed = |chunk: &ChunkId| {
        !unindexed.is_empty() && index.locations(chunk).all(|l| unindexed.contains(&l.pack))
    };
    let mut through_trailers = 0u64;
    let unrestorable = |reason: String| Problem::UnrestorableSnapshot { id, reason };
    let mut chunks = 0u64;
    for list in &snap.lists {
        let ids = match fetcher.read_list(list) {
            Ok(ids) => ids,
            Err(err) if resolve::is_damage(&err) || matches!(err, Error::ObjectMissing { .. }) => {
                problems.push(unrestorable(format!(
                    "list chunk {}: {err}",
                    hex::encode(list)
                )));
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        if let Some(missing) = ids.iter().find(|id| !index.contains(id)) {
            problems.push(unrestorable(format!(
                "chunk {} has no intact copy",
                hex::encode(missing)
            )));
            return Ok(());
        }
        through_trailers += u64::from(only_unindexed(list));
        through_trailers += ids.iter().filter(|c| only_unindexed(c)).count() as u64;
        chunks += ids.len() as u64;
    }
    if chunks != snap.info.chunks {
        problems.push(unrestorable(format!(
            "lists {chunks} chunks, the manifest says {}",
            snap.info.chunks
        )));
        return Ok(());
    }
    let mut lost_media: HashSet<ChunkId> = HashSet::new();
    let mut catalog_broken = None;
    let walked = catalog::media_chunks(fetcher, snap, &mut |chunk, file_chunk| {
        through_trailers += u64::from(only_unindexed(chunk));
        if !index.contains(chunk) {
            if file_chunk {
                lost_media.insert(*chunk);
            } else {
                catalog_broken = Some(hex::encode(chunk));
            }
        }
        Ok(())
    });
    let lost = |reason: String| Problem::LostMedia { id, reason };
    match walked {
        Ok(()) => {}
        Err(err) if resolve::is_damage(&err) || matches!(err, Error::ObjectMissing { .. }) => {
            problems.push(lost(format!("the media catalog cannot be read: {err}")));
            return Ok(());
        }
        Err(err) => return Err(err),
    }
    if through_trailers > 0 {
        problems.push(Problem::IndexIncomplete {
            id,
            chunks: through_trailers,
        });
    }
    if let Some(chunk) = catalog_broken {
        problems.push(lost(format!(
            "media catalog chunk {chunk} has no intact copy"
        )));
    } else if !lost_media.is_empty() {
        problems.push(lost(format!(
            "{} media chunk(s) have no intact copy",
            lost_media.len()
        )));
    }
    Ok(())
}
