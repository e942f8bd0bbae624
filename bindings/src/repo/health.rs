//! What the repository says about its own health, as FFI records: the damage a backup found
//! and healed, the snapshot history with its damaged objects, a check's verdict and problems,
//! and what repair and unlock did. Counts are `i64` like everywhere in the FFI; every problem
//! carries the sentence the CLI prints for it, so an app never composes one itself.

use keepsake_core::repo::{
    self as core_repo,
    check::{Problem, Verdict},
    lock::UnlockReport as CoreUnlockReport,
    repair::SalvagedPack as CoreSalvagedPack,
    SnapshotId, SNAPSHOT_PREFIX,
};

use super::records::SnapshotInfo;
use crate::count::long;

/// What a backup found wrong in the store and healed on the way. A store that loses or damages
/// objects (a sync conflict, a cloud provider's incident) costs nothing once a backup ran: the
/// new snapshot holds fresh copies of everything it needs. Show the user that it happened
/// (`found_damage`), so a store that keeps doing it is noticed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct Healing {
    /// Whether anything below was found (everything but the verification counts).
    pub found_damage: bool,
    /// Packs the index names that the store no longer held: their chunks were uploaded again
    /// as far as this snapshot needs them.
    pub packs_lost: i64,
    /// Packs whose size differed from the index's record (cut short or replaced; not used).
    pub packs_resized: i64,
    /// Damaged index objects, replaced by an index of their packs read from the packs.
    pub index_objects_replaced: i64,
    /// Snapshot objects that are damaged (older backups that no longer restore; `repair`
    /// removes them).
    pub snapshots_damaged: i64,
    /// Index and snapshot objects the store had damaged, put back from this device's cache.
    pub objects_restored: i64,
    /// Chunk copies known damaged: this snapshot holds fresh copies where it needs them.
    pub chunks_damaged: i64,
    /// Packs read back and verified by this backup (a rolling share each time).
    pub packs_verified: i64,
    /// Bytes read to verify them.
    pub bytes_verified: i64,
    /// The store lacks the newest snapshot this device made (it was rolled back to an older
    /// state, or the snapshot deleted): this backup is whole, but later history was lost.
    pub store_rolled_back: bool,
}

impl From<core_repo::Healing> for Healing {
    fn from(h: core_repo::Healing) -> Self {
        Healing {
            found_damage: h.found_damage(),
            packs_lost: long(h.packs_lost),
            packs_resized: long(h.packs_resized),
            index_objects_replaced: long(h.index_objects_replaced),
            snapshots_damaged: long(h.snapshots_damaged),
            objects_restored: long(h.objects_restored),
            chunks_damaged: long(h.chunks_damaged),
            packs_verified: long(h.packs_verified),
            bytes_verified: long(h.bytes_verified),
            store_rolled_back: h.store_rolled_back,
        }
    }
}

/// A snapshot object that cannot be read: never "latest", never restored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DamagedSnapshot {
    /// The snapshot's id when the object's name gives one (compare it with a
    /// `RepoBackupReport.snapshotId` the app kept).
    pub id: Option<String>,
    /// The store object.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Every snapshot of the repository: the intact ones (what a restore can use) and the damaged
/// objects (what was lost), kept apart because a damaged object has no time, counts or parent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SnapshotHistory {
    /// Intact snapshots, oldest first; the last one is what a restore of "the latest" uses.
    pub snapshots: Vec<SnapshotInfo>,
    /// Snapshot objects that do not authenticate or decode, or whose sequence is broken.
    pub damaged: Vec<DamagedSnapshot>,
}

impl From<core_repo::History> for SnapshotHistory {
    fn from(history: core_repo::History) -> Self {
        SnapshotHistory {
            snapshots: history
                .snapshots
                .into_iter()
                .map(|s| s.info.into())
                .collect(),
            damaged: history
                .damaged
                .into_iter()
                .map(|d| DamagedSnapshot {
                    id: snapshot_of_object(&d.name),
                    name: d.name,
                    reason: d.reason,
                })
                .collect(),
        }
    }
}

/// The id in a snapshot object's name, if it is one.
fn snapshot_of_object(name: &str) -> Option<String> {
    name.strip_prefix(SNAPSHOT_PREFIX)
        .and_then(|id| id.parse::<SnapshotId>().ok())
        .map(|id| id.to_string())
}

/// A check's conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CheckVerdict {
    /// Nothing is wrong.
    Healthy,
    /// Something is damaged, but every snapshot restores whole (through other copies, or what
    /// a later backup uploaded again): `repair` and prune tidy it up.
    Healed,
    /// A snapshot, or some of its media, cannot be restored: `repair` removes what is lost, and
    /// the next backup stores everything on the device afresh.
    Broken,
}

impl From<Verdict> for CheckVerdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Healthy => CheckVerdict::Healthy,
            Verdict::Healed => CheckVerdict::Healed,
            Verdict::Broken => CheckVerdict::Broken,
        }
    }
}

/// What kind of problem a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProblemKind {
    /// An index object does not authenticate or decode; its packs are reached through their
    /// own trailers.
    DamagedIndexObject,
    /// A pack the index names is not in the store.
    LostPack,
    /// A pack's size differs from the index's record.
    ResizedPack,
    /// A pack no index names does not authenticate (junk, or damage).
    UnreadablePack,
    /// A pack's trailer does not authenticate, though the index names the pack.
    DamagedTrailer,
    /// A copy of a chunk is damaged (`healed` says whether another copy is intact).
    DamagedChunk,
    /// A snapshot object does not authenticate or decode.
    DamagedSnapshot,
    /// Chunks a snapshot needs are in packs no index names; the next backup indexes them.
    IndexIncomplete,
    /// A snapshot's chats cannot be restored.
    UnrestorableSnapshot,
    /// Some of a snapshot's media cannot be restored (its chats can).
    LostMedia,
    /// An object under `locks/` is not a readable lock.
    UnreadableLock,
    /// An object outside the repository's layout.
    StrayObject,
}

/// One thing a check found wrong.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckProblem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Whether it loses data: a snapshot, or some of its media, cannot be restored.
    pub loss: bool,
    /// Whether the damage costs nothing (another intact copy exists); false for losses.
    pub healed: bool,
    /// The store object concerned (a pack, index, snapshot or lock object), if one.
    pub object_name: Option<String>,
    /// The snapshot concerned, if one.
    pub snapshot_id: Option<String>,
    /// The problem as a sentence for a log or a details screen.
    pub detail: String,
}

impl From<&Problem> for CheckProblem {
    fn from(problem: &Problem) -> Self {
        let (kind, object, snapshot) = match problem {
            Problem::DamagedIndexObject { name, .. } => {
                (ProblemKind::DamagedIndexObject, Some(name), None)
            }
            Problem::LostPack { name } => (ProblemKind::LostPack, Some(name), None),
            Problem::ResizedPack { name } => (ProblemKind::ResizedPack, Some(name), None),
            Problem::UnreadablePack { name, .. } => (ProblemKind::UnreadablePack, Some(name), None),
            Problem::DamagedTrailer { name, .. } => (ProblemKind::DamagedTrailer, Some(name), None),
            Problem::DamagedChunk { copy, .. } => {
                (ProblemKind::DamagedChunk, Some(&copy.pack), None)
            }
            Problem::DamagedSnapshot { name, .. } => (
                ProblemKind::DamagedSnapshot,
                Some(name),
                snapshot_of_object(name),
            ),
            Problem::IndexIncomplete { id, .. } => {
                (ProblemKind::IndexIncomplete, None, Some(id.to_string()))
            }
            Problem::UnrestorableSnapshot { id, .. } => (
                ProblemKind::UnrestorableSnapshot,
                None,
                Some(id.to_string()),
            ),
            Problem::LostMedia { id, .. } => (ProblemKind::LostMedia, None, Some(id.to_string())),
            Problem::UnreadableLock { name } => (ProblemKind::UnreadableLock, Some(name), None),
            Problem::StrayObject { name } => (ProblemKind::StrayObject, Some(name), None),
        };
        let loss = problem.is_loss();
        CheckProblem {
            kind,
            loss,
            healed: match problem {
                Problem::DamagedChunk { healed, .. } => *healed,
                _ => !loss,
            },
            object_name: object.cloned(),
            snapshot_id: snapshot,
            detail: sentence(&problem.to_string()),
        }
    }
}

/// `clause` as a sentence: capitalized, with a full stop.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// What a check looked at and found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckReport {
    /// The conclusion: what to tell the user.
    pub verdict: CheckVerdict,
    /// Everything found wrong, in the order found (empty when healthy).
    pub problems: Vec<CheckProblem>,
    /// Intact snapshots checked.
    pub snapshots: i64,
    /// Packs named by the index.
    pub packs: i64,
    /// Chunks named by the index.
    pub chunks: i64,
    /// Packs read whole.
    pub packs_read: i64,
    /// Chunks decrypted and checked against their ids.
    pub chunks_authenticated: i64,
    /// Packs no index names whose trailers authenticate (left by interrupted backups: the next
    /// backup reuses them, prune removes the rest).
    pub unindexed_packs: i64,
}

impl From<core_repo::CheckReport> for CheckReport {
    fn from(r: core_repo::CheckReport) -> Self {
        CheckReport {
            verdict: r.verdict().into(),
            problems: r.problems.iter().map(Into::into).collect(),
            snapshots: long(r.snapshots),
            packs: long(r.packs),
            chunks: long(r.chunks),
            packs_read: long(r.packs_read),
            chunks_authenticated: long(r.chunks_authenticated),
            unindexed_packs: long(r.unindexed_packs),
        }
    }
}

/// A damaged pack and what repair saved of it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SalvagedPack {
    /// The damaged pack (a later prune deletes it).
    pub name: String,
    /// Chunks that authenticated and were copied into a new pack.
    pub chunks_kept: i64,
    /// Chunks that did not.
    pub chunks_lost: i64,
}

impl From<CoreSalvagedPack> for SalvagedPack {
    fn from(p: CoreSalvagedPack) -> Self {
        SalvagedPack {
            name: p.name,
            chunks_kept: long(p.chunks_kept),
            chunks_lost: long(p.chunks_lost),
        }
    }
}

/// A snapshot repair removed (or, in a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RemovedSnapshot {
    /// The snapshot's object.
    pub name: String,
    /// Why: the object is damaged, or a chunk its chats need has no intact copy.
    pub reason: String,
}

/// A snapshot repair kept although some of its media is lost.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SnapshotMediaLoss {
    /// The snapshot.
    pub snapshot_id: String,
    /// What is lost.
    pub reason: String,
}

/// What a repair did, or in a dry run (`apply` false) would do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RepairReport {
    /// Whether the repository was changed.
    pub applied: bool,
    /// Whether there was nothing to repair.
    pub nothing_to_repair: bool,
    /// Damaged index objects replaced by one new index.
    pub index_objects_replaced: Vec<String>,
    /// Packs no readable index named, indexed again from their trailers.
    pub packs_reindexed: i64,
    /// Damaged packs and what was saved of each.
    pub packs_salvaged: Vec<SalvagedPack>,
    /// Snapshots removed: damaged objects, and snapshots whose chats cannot be restored (the
    /// next backup stores whatever the device still has).
    pub snapshots_removed: Vec<RemovedSnapshot>,
    /// Snapshots kept although some of their media is lost (the chats and the other files
    /// restore).
    pub media_lost: Vec<SnapshotMediaLoss>,
    /// Unreadable objects removed from `locks/`.
    pub junk_removed: Vec<String>,
}

impl From<core_repo::RepairReport> for RepairReport {
    fn from(r: core_repo::RepairReport) -> Self {
        RepairReport {
            applied: r.applied,
            nothing_to_repair: r.is_empty(),
            index_objects_replaced: r.index_objects_replaced,
            packs_reindexed: long(r.packs_reindexed),
            packs_salvaged: r.packs_salvaged.into_iter().map(Into::into).collect(),
            snapshots_removed: r
                .snapshots_removed
                .into_iter()
                .map(|(name, reason)| RemovedSnapshot { name, reason })
                .collect(),
            media_lost: r
                .media_lost
                .into_iter()
                .map(|(id, reason)| SnapshotMediaLoss {
                    snapshot_id: id.to_string(),
                    reason,
                })
                .collect(),
            junk_removed: r.junk_removed,
        }
    }
}

/// What `Repository.unlock` removed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnlockReport {
    /// Locks removed, each described (holder, process, age).
    pub removed: Vec<String>,
    /// Objects under `locks/` that were not readable locks (removed too).
    pub junk: Vec<String>,
}

impl From<CoreUnlockReport> for UnlockReport {
    fn from(r: CoreUnlockReport) -> Self {
        UnlockReport {
            removed: r.removed,
            junk: r.junk,
        }
    }
}

#[cfg(test)]
mod tests {
    use keepsake_core::repo::damage::DamagedChunk;

    use super::*;

    #[test]
    fn problems_cross_with_their_kind_object_snapshot_and_a_sentence() {
        let id = SnapshotId([3; 16]);
        let lost: CheckProblem = (&Problem::LostPack {
            name: "data/ab".into(),
        })
            .into();
        assert_eq!(lost.kind, ProblemKind::LostPack);
        assert_eq!(lost.object_name.as_deref(), Some("data/ab"));
        assert!(!lost.loss && lost.healed);
        assert!(lost.detail.starts_with("Pack data/ab") && lost.detail.ends_with('.'));

        let name = format!("{SNAPSHOT_PREFIX}{id}");
        let damaged: CheckProblem = (&Problem::DamagedSnapshot {
            name: name.clone(),
            reason: "bad MAC".into(),
        })
            .into();
        assert_eq!(damaged.snapshot_id, Some(id.to_string()));
        assert!(damaged.loss && !damaged.healed);

        let chunk = |healed| -> CheckProblem {
            (&Problem::DamagedChunk {
                copy: DamagedChunk {
                    pack: "data/cd".into(),
                    offset: 64,
                    id: [0; 32],
                },
                healed,
            })
                .into()
        };
        assert!(chunk(true).healed && !chunk(false).healed);
        assert_eq!(chunk(false).object_name.as_deref(), Some("data/cd"));
        assert_eq!(snapshot_of_object("snapshots/not-hex"), None);
        assert_eq!(snapshot_of_object(&name), Some(id.to_string()));
    }
}
