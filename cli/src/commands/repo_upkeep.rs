//! Keeping a repository in shape: what a backup healed (its report's `healing`), `repo prune`
//! (with `--dry-run` and `--forget-all`), `repo repair` (a dry run unless `--apply`) and
//! `repo unlock` (a live writer's lock only with `--force`).

use std::{
    io::{self, Write},
    time::Instant,
};

use keepsake_core::{
    backup,
    repo::{Healing, PruneOptions, RepairOptions, RetentionPolicy},
};
use serde::Serialize;

use super::{
    repo::{control, open},
    views::seconds,
};
use crate::{
    cli::{RepoPruneArgs, RepoRepairArgs, RepoUnlockArgs},
    error::CliResult,
    output::{human_bytes, Report},
    Context,
};

/// What a backup found lost or damaged in the store, and healed.
#[derive(Serialize)]
pub struct HealingView {
    /// Whether anything below was found (the verification counts aside).
    pub found_damage: bool,
    /// Packs the store no longer held; their chunks were stored again.
    pub packs_lost: u64,
    /// Packs whose size differed from the index's record.
    pub packs_resized: u64,
    /// Damaged index objects replaced.
    pub index_objects_replaced: u64,
    /// Snapshot objects that are damaged (older snapshots that no longer restore).
    pub snapshots_damaged: u64,
    /// Index and snapshot objects put back from the local cache.
    pub objects_restored: u64,
    /// Chunk copies known damaged; the new snapshot holds fresh copies.
    pub chunks_damaged: u64,
    /// Packs read back and verified.
    pub packs_verified: u64,
    /// Bytes read to verify them.
    pub bytes_verified: u64,
    /// The store lacks the newest snapshot this device made (rolled back, or deleted).
    pub store_rolled_back: bool,
}

impl From<&Healing> for HealingView {
    fn from(h: &Healing) -> Self {
        HealingView {
            found_damage: h.found_damage(),
            packs_lost: h.packs_lost,
            packs_resized: h.packs_resized,
            index_objects_replaced: h.index_objects_replaced,
            snapshots_damaged: h.snapshots_damaged,
            objects_restored: h.objects_restored,
            chunks_damaged: h.chunks_damaged,
            packs_verified: h.packs_verified,
            bytes_verified: h.bytes_verified,
            store_rolled_back: h.store_rolled_back,
        }
    }
}

impl HealingView {
    /// The lines `repo backup` prints about it: nothing when nothing was wrong.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let found: Vec<String> = [
            (self.packs_lost, "pack(s) lost"),
            (self.packs_resized, "pack(s) cut short or replaced"),
            (
                self.index_objects_replaced,
                "damaged index object(s) replaced",
            ),
            (self.chunks_damaged, "damaged chunk copies"),
            (self.objects_restored, "object(s) put back from the cache"),
            (self.snapshots_damaged, "damaged snapshot object(s)"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !found.is_empty() {
            writeln!(
                out,
                "Healed: the repository's store had lost or damaged data ({}); this backup stored \
                 what it needs again and restores whole. Run `keepsake repo check` to see \
                 whether older snapshots do; `keepsake repo repair --apply` and the next \
                 `keepsake repo prune` tidy up (until then each backup reports it again).",
                found.join(", ")
            )?;
        }
        if self.store_rolled_back {
            writeln!(out, "Warning: {STORE_ROLLED_BACK}.")?;
        }
        Ok(())
    }
}

/// What a store rollback means, for the warning on stderr and in the report.
pub const STORE_ROLLED_BACK: &str = "the repository lacks the newest snapshot this device \
     made: its store was rolled back to an older state, or the snapshot was deleted; this \
     backup is whole, but the history after the rollback is lost";

/// What `repo prune` did, or with `--dry-run` would do.
#[derive(Serialize)]
pub struct PruneView {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Snapshots kept.
    pub snapshots_kept: u64,
    /// Snapshots forgotten.
    pub snapshots_removed: u64,
    /// Packs deleted (condemned by an earlier prune at least an hour before).
    pub packs_deleted: u64,
    /// Packs condemned now (a later prune deletes them).
    pub packs_condemned: u64,
    /// Packs repacked.
    pub packs_repacked: u64,
    /// Bytes deleted.
    pub bytes_deleted: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Why no space was reclaimed, when none was.
    pub not_reclaimed: Option<String>,
    /// Wall time.
    pub seconds: f64,
}

impl Report for PruneView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let (keeps, forgets) = if self.dry_run {
            ("Dry run, nothing changed: would keep", "forget")
        } else {
            ("Kept", "forgot")
        };
        writeln!(
            out,
            "{keeps} {} snapshot(s), {forgets} {}; deleted {} pack(s) ({}), condemned {} for a \
             later prune, repacked {}, wrote {} in {:.2} s.",
            self.snapshots_kept,
            self.snapshots_removed,
            self.packs_deleted,
            human_bytes(self.bytes_deleted),
            self.packs_condemned,
            self.packs_repacked,
            human_bytes(self.bytes_written),
            self.seconds
        )?;
        if let Some(why) = &self.not_reclaimed {
            writeln!(out, "No space was reclaimed: {why}.")?;
        }
        Ok(())
    }
}

/// `repo prune`.
pub fn prune(args: &RepoPruneArgs, context: &Context) -> CliResult<PruneView> {
    let only_forget_all =
        args.keep_last.is_none() && args.keep_daily.is_none() && args.keep_weekly.is_none();
    let policy = RetentionPolicy {
        // `--forget-all` alone is the policy that keeps nothing.
        keep_last: if only_forget_all {
            Some(0)
        } else {
            args.keep_last
        },
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        allow_forget_all: args.forget_all,
    };
    let (mut repo, _, _) = open(&args.open)?;
    let bar = context.bar();
    let started = Instant::now();
    let report = backup::prune_repo(
        &mut repo,
        &policy,
        &PruneOptions {
            dry_run: args.dry_run,
            ..PruneOptions::default()
        },
        &control(&bar, context),
    )?;
    bar.clear();
    Ok(PruneView {
        dry_run: report.dry_run,
        snapshots_kept: report.snapshots_kept,
        snapshots_removed: report.snapshots_removed,
        packs_deleted: report.packs_deleted,
        packs_condemned: report.packs_condemned,
        packs_repacked: report.packs_repacked,
        bytes_deleted: report.bytes_deleted,
        bytes_written: report.bytes_written,
        not_reclaimed: report.not_reclaimed,
        seconds: seconds(started.elapsed()),
    })
}

/// A damaged pack and what repair saved of it.
#[derive(Serialize)]
pub struct SalvagedView {
    /// The pack.
    pub pack: String,
    /// Chunks copied into a new pack.
    pub chunks_kept: u64,
    /// Chunks that did not authenticate.
    pub chunks_lost: u64,
}

/// Something repair removes or keeps, with why.
#[derive(Serialize)]
pub struct ReasonView {
    /// The snapshot object or id.
    pub snapshot: String,
    /// Why.
    pub reason: String,
}

/// What `repo repair` did, or without `--apply` would do.
#[derive(Serialize)]
pub struct RepairView {
    /// Whether the repository was changed.
    pub applied: bool,
    /// Whether there was nothing to repair.
    pub nothing_to_repair: bool,
    /// Damaged index objects replaced by one new index.
    pub index_objects_replaced: Vec<String>,
    /// Packs indexed again from their trailers.
    pub packs_reindexed: u64,
    /// Damaged packs and what was saved of each.
    pub packs_salvaged: Vec<SalvagedView>,
    /// Snapshot objects removed (damaged, or their chats cannot be restored).
    pub snapshots_removed: Vec<ReasonView>,
    /// Snapshots kept although some of their media is lost.
    pub media_lost: Vec<ReasonView>,
    /// Unreadable objects removed from `locks/`.
    pub junk_removed: Vec<String>,
}

impl Report for RepairView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.nothing_to_repair {
            return writeln!(out, "Nothing to repair.");
        }
        let (intro, verb) = if self.applied {
            ("Repaired:", "")
        } else {
            (
                "Dry run, nothing changed; `keepsake repo repair --apply` would:",
                "would ",
            )
        };
        writeln!(out, "{intro}")?;
        if !self.index_objects_replaced.is_empty() {
            writeln!(
                out,
                "  {verb}replace {} damaged index object(s) with one new index",
                self.index_objects_replaced.len()
            )?;
        }
        if self.packs_reindexed > 0 {
            writeln!(
                out,
                "  {verb}index {} pack(s) again from their trailers",
                self.packs_reindexed
            )?;
        }
        for p in &self.packs_salvaged {
            writeln!(
                out,
                "  {verb}salvage pack {}: {} chunk(s) kept, {} lost",
                p.pack, p.chunks_kept, p.chunks_lost
            )?;
        }
        for s in &self.snapshots_removed {
            writeln!(out, "  {verb}remove {}: {}", s.snapshot, s.reason)?;
        }
        for s in &self.media_lost {
            writeln!(
                out,
                "  {verb}keep snapshot {} although some media is lost: {}",
                s.snapshot, s.reason
            )?;
        }
        for junk in &self.junk_removed {
            writeln!(out, "  {verb}remove {junk} from locks/")?;
        }
        if self.applied {
            writeln!(
                out,
                "The next backup stores what this device has again; a later prune deletes the \
                 damaged packs."
            )?;
        }
        Ok(())
    }
}

/// `repo repair`.
pub fn repair(args: &RepoRepairArgs) -> CliResult<RepairView> {
    let (repo, _, _) = open(&args.open)?;
    let report = repo.repair(&RepairOptions { apply: args.apply })?;
    Ok(RepairView {
        applied: report.applied,
        nothing_to_repair: report.is_empty(),
        index_objects_replaced: report.index_objects_replaced,
        packs_reindexed: report.packs_reindexed,
        packs_salvaged: report
            .packs_salvaged
            .into_iter()
            .map(|p| SalvagedView {
                pack: p.name,
                chunks_kept: p.chunks_kept,
                chunks_lost: p.chunks_lost,
            })
            .collect(),
        snapshots_removed: report
            .snapshots_removed
            .into_iter()
            .map(|(snapshot, reason)| ReasonView { snapshot, reason })
            .collect(),
        media_lost: report
            .media_lost
            .into_iter()
            .map(|(id, reason)| ReasonView {
                snapshot: id.to_string(),
                reason,
            })
            .collect(),
        junk_removed: report.junk_removed,
    })
}

/// What `repo unlock` removed.
#[derive(Serialize)]
pub struct UnlockView {
    /// Locks removed, each described.
    pub removed: Vec<String>,
    /// Unreadable objects removed from `locks/`.
    pub junk: Vec<String>,
}

impl Report for UnlockView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.removed.is_empty() && self.junk.is_empty() {
            return writeln!(out, "No lock to remove.");
        }
        for lock in &self.removed {
            writeln!(out, "Removed the lock {lock}.")?;
        }
        for junk in &self.junk {
            writeln!(out, "Removed {junk}, which was not a readable lock.")?;
        }
        Ok(())
    }
}

/// `repo unlock`: a live writer's lock is exit 21 (naming the holder) unless `--force`.
pub fn unlock(args: &RepoUnlockArgs) -> CliResult<UnlockView> {
    let (repo, _, _) = open(&args.open)?;
    let report = repo.unlock(args.force)?;
    Ok(UnlockView {
        removed: report.removed,
        junk: report.junk,
    })
}
