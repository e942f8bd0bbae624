//! The repository's housekeeping: prune, check, repair and removing locks. A check reports
//! every problem with a verdict instead of throwing at the first one; what throws is what stops
//! the work itself (the store failing, a cancel, a lock held by a live writer).

use std::sync::Arc;

use keepsake_core::{
    backup as core_backup,
    repo::{CheckOptions, PruneOptions, RepairOptions},
};

use super::{CheckReport, PruneReport, RepairReport, Repository, RetentionPolicy, UnlockReport};
use crate::{
    count::long,
    error::{guard, FfiResult, KeepsakeError},
    progress::{Cancellation, Observers, ProgressListener},
};

#[uniffi::export]
impl Repository {
    /// Forgets the snapshots `policy` does not keep and reclaims their space: packs no kept
    /// snapshot uses are condemned, and deleted by a later prune an hour or more afterwards
    /// (a backup running meanwhile on another device keeps what it uploaded); mostly-unused
    /// packs are repacked. With `dry_run` it reports what it would do and changes nothing.
    /// Safe to kill at any point: every kept snapshot stays restorable. While a snapshot object
    /// is damaged it forgets but reclaims nothing (`PruneReport.notReclaimed` says why).
    #[uniffi::method(default(dry_run = false, listener = None, cancellation = None))]
    pub fn prune(
        &self,
        policy: RetentionPolicy,
        dry_run: bool,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<PruneReport> {
        guard(|| {
            let policy = policy.to_core()?;
            let observers = Observers::new(listener, cancellation);
            observers.check()?;
            let options = PruneOptions {
                dry_run,
                ..PruneOptions::default()
            };
            let report = self.inner.with_mut(|r| {
                core_backup::prune_repo(r, &policy, &options, &observers.control())
            })?;
            Ok(report.into())
        })
    }

    /// Checks the repository: its structure, whether every snapshot still restores, and, for
    /// `read_data_fraction` (0 to 1) of the packs, every chunk's bytes. Every problem found is
    /// in the report with a verdict (healthy, healed, broken); damaged chunks found are noted in
    /// the store so the next backup uploads fresh copies. Throws only when the check itself
    /// cannot run: `Storage` (the store failed), `Cancelled`, `InvalidArgument`.
    #[uniffi::method(default(read_data_fraction = 0.0, listener = None, cancellation = None))]
    pub fn check(
        &self,
        read_data_fraction: f64,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<CheckReport> {
        guard(|| {
            if !(0.0..=1.0).contains(&read_data_fraction) {
                return Err(KeepsakeError::invalid(format!(
                    "read_data_fraction {read_data_fraction} is not between 0 and 1"
                )));
            }
            let observers = Observers::new(listener, cancellation);
            observers.check()?;
            let options = CheckOptions { read_data_fraction };
            let report = self
                .inner
                .with(|r| core_backup::check_repo(r, &options, &observers.control()))?;
            Ok(report.into())
        })
    }

    /// Makes a damaged repository consistent again, keeping everything that authenticates: one
    /// new index replaces damaged ones, the intact chunks of damaged packs are copied into new
    /// packs, damaged snapshot objects and snapshots whose chats can no longer be restored are
    /// removed (the next backup stores what the device has), snapshots that lost only some
    /// media are kept and listed. Without `apply` it is a dry run: the report says what would
    /// change and nothing does. Takes the repository's lock (`RepositoryLocked` while another
    /// writer runs).
    #[uniffi::method(default(apply = false))]
    pub fn repair(&self, apply: bool) -> FfiResult<RepairReport> {
        guard(|| {
            let report = self
                .inner
                .with_mut(|r| r.repair(&RepairOptions { apply }))?;
            Ok(report.into())
        })
    }

    /// Removes the repository's writer locks that are stale (their process is gone, or they
    /// were not refreshed for 30 minutes) and unreadable objects under `locks/`. A live lock
    /// is `RepositoryLocked`, naming its holder, unless `force`: only for a user who knows that
    /// writer is gone (the phone it ran on was reset). Not to be confused with unlocking the
    /// repository with a secret, which `open` does.
    #[uniffi::method(default(force = false))]
    pub fn unlock(&self, force: bool) -> FfiResult<UnlockReport> {
        guard(|| Ok(self.inner.with(|r| r.unlock(force))?.into()))
    }

    /// Removes every lock object, whoever holds it: `unlock(force = true)`, counted. Only when
    /// the app knows no other device is writing (a lock left by a crashed device expires by
    /// itself). Returns how many were removed.
    pub fn break_locks(&self) -> FfiResult<i64> {
        guard(|| {
            let removed = self.inner.with(|r| r.break_locks())?;
            Ok(long(u64::try_from(removed).unwrap_or(u64::MAX)))
        })
    }
}
