//! Progress reports and cancellation across the FFI.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

use keepsake_core::{
    backup::Control,
    progress::{CancellationToken, Phase, Progress, ProgressSink, Unit},
};

use crate::{
    count::long,
    error::{guard, FfiResult, KeepsakeError},
};

/// What a long operation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProgressPhase {
    /// Reading the database and writing the encrypted backup.
    Backup,
    /// Authenticating and decoding a backup without writing a database.
    Verify,
    /// Authenticating, decoding and importing a backup.
    Restore,
    /// Checking the restored database before it is moved into place, or checking a repository.
    Check,
    /// Building the restored database's indexes, once, after its rows were imported.
    Index,
    /// Forgetting snapshots and reclaiming space in a repository.
    Prune,
    /// Backing up or restoring media files, after the chats (bytes; files in `files_done`).
    Media,
}

/// What `done` and `total` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProgressUnit {
    /// Database rows or archive records.
    Rows,
    /// Bytes.
    Bytes,
}

/// One progress report of an operation that may run several phases (a restore imports, then
/// checks). `done` counts the whole operation and never decreases, so a progress bar never jumps
/// back; `phase_done`/`phase_total` count the current phase alone. Counts are `i64` (Kotlin
/// `Long`, Swift `Int64`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProgressReport {
    /// The current phase.
    pub phase: ProgressPhase,
    /// Work done in this operation so far (finished phases plus `phase_done`); never decreases.
    pub done: i64,
    /// `done` plus the work left in the current phase; 0 while the phase's total is unknown.
    /// Grows when a later phase starts.
    pub total: i64,
    /// Work done in the current phase.
    pub phase_done: i64,
    /// Total work of the current phase, 0 when unknown.
    pub phase_total: i64,
    /// Unit of the counts.
    pub unit: ProgressUnit,
    /// Files done in the current phase (the `Media` phase; 0 in others).
    pub files_done: i64,
    /// Files of the current phase (the `Media` phase; 0 in others).
    pub files_total: i64,
}

fn phase(p: Phase) -> ProgressPhase {
    match p {
        Phase::Backup => ProgressPhase::Backup,
        Phase::Verify => ProgressPhase::Verify,
        Phase::Restore => ProgressPhase::Restore,
        Phase::Check => ProgressPhase::Check,
        Phase::Index => ProgressPhase::Index,
        Phase::Prune => ProgressPhase::Prune,
        Phase::Media => ProgressPhase::Media,
    }
}

fn unit(u: Unit) -> ProgressUnit {
    match u {
        Unit::Rows => ProgressUnit::Rows,
        Unit::Bytes => ProgressUnit::Bytes,
    }
}

/// Implemented by the app to observe progress. Called on the thread doing the work, at most
/// about ten times a second per phase; keep it quick (post to the UI thread).
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// One report. An implementation need not throw; if it does, the operation goes on without
    /// it: the listener gets no more reports of that operation and the failure is logged as a
    /// warning through the `Logger`.
    fn on_progress(&self, report: ProgressReport) -> Result<(), KeepsakeError>;
}

/// Where the current phase started within the operation.
#[derive(Default)]
struct Position {
    /// The phase being reported (with its unit: one phase may restart in another unit).
    current: Option<(Phase, Unit)>,
    /// Work of the phases before it.
    base: u64,
    /// Last `done` of the current phase.
    phase_done: u64,
}

/// Forwards core progress to a foreign listener as one monotonic count per operation: the core
/// counts each phase from 0, this adds the work of the phases already finished.
///
/// A listener that throws (an error, from Kotlin or Swift) or panics (a Rust implementation) is
/// dropped for the rest of the operation, which goes on; the failure is logged as a warning
/// (through the app's `Logger`), never printed. The method is declared throwing so that a foreign
/// exception arrives as an error: a callback without an error type turns it into a panic, which
/// the default hook prints on stderr. The panic is still caught here, on the call itself, so it
/// never unwinds through the core or through the lock of the object being backed up.
pub(crate) struct ListenerSink {
    listener: Arc<dyn ProgressListener>,
    failed: AtomicBool,
    position: Mutex<Position>,
}

impl ListenerSink {
    pub(crate) fn new(listener: Arc<dyn ProgressListener>) -> Self {
        ListenerSink {
            listener,
            failed: AtomicBool::new(false),
            position: Mutex::new(Position::default()),
        }
    }

    /// The report for `progress`, advancing the operation's position.
    fn report(&self, progress: Progress) -> ProgressReport {
        let mut position = self
            .position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (progress.phase, progress.unit);
        if position.current != Some(key) {
            if position.current.is_some() {
                position.base = position.base.saturating_add(position.phase_done);
            }
            position.current = Some(key);
            position.phase_done = 0;
        }
        // Reports of one phase never go back; keep it so even if one did.
        position.phase_done = position.phase_done.max(progress.done);
        let done = position.base.saturating_add(position.phase_done);
        let total = if progress.total == 0 {
            0
        } else {
            position
                .base
                .saturating_add(progress.total.max(position.phase_done))
        };
        ProgressReport {
            phase: phase(progress.phase),
            done: long(done),
            total: long(total),
            phase_done: long(position.phase_done),
            phase_total: long(progress.total),
            unit: unit(progress.unit),
            files_done: long(progress.files_done),
            files_total: long(progress.files_total),
        }
    }
}

impl ProgressSink for ListenerSink {
    fn on_progress(&self, progress: Progress) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        let report = self.report(progress);
        let failure = match catch_unwind(AssertUnwindSafe(|| self.listener.on_progress(report))) {
            Ok(Ok(())) => return,
            Ok(Err(err)) => err.to_string(),
            Err(_) => "it panicked".to_owned(),
        };
        self.failed.store(true, Ordering::Relaxed);
        log::warn!(
            "the progress listener failed and gets no more reports for this operation: {failure}"
        );
    }
}

/// A cancellation flag for one or more operations. `cancel()` may be called from any thread;
/// the operation stops at its next check with `KeepsakeError.Cancelled` and leaves nothing behind.
#[derive(Debug, Default, uniffi::Object)]
pub struct Cancellation {
    token: CancellationToken,
}

#[uniffi::export]
impl Cancellation {
    /// A flag that has not been raised.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Ask every operation using this flag to stop. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel()` has been called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl Cancellation {
    /// The core token behind this object.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// Options shared by long operations: an optional listener and cancellation flag.
pub(crate) struct Observers {
    sink: Option<ListenerSink>,
    cancellation: Option<Arc<Cancellation>>,
}

impl Observers {
    pub(crate) fn new(
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Self {
        Observers {
            sink: listener.map(ListenerSink::new),
            cancellation,
        }
    }

    /// The listener and the cancellation flag as the core's operations take them.
    pub(crate) fn control(&self) -> Control<'_> {
        Control {
            progress: self.sink.as_ref().map(|s| s as &dyn ProgressSink),
            cancel: self.token(),
        }
    }

    /// The token, as the core takes it.
    fn token(&self) -> Option<&CancellationToken> {
        self.cancellation.as_deref().map(Cancellation::token)
    }

    /// `Err(Cancelled)` when cancelled already, so work that has not started yet does not start.
    pub(crate) fn check(&self) -> FfiResult<()> {
        guard(|| {
            self.token()
                .map_or(Ok(()), CancellationToken::check)
                .map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder(Mutex<Vec<ProgressReport>>);

    impl ProgressListener for Recorder {
        fn on_progress(&self, report: ProgressReport) -> Result<(), KeepsakeError> {
            self.0.lock().unwrap().push(report);
            Ok(())
        }
    }

    fn progress(phase: Phase, unit: Unit, done: u64, total: u64) -> Progress {
        Progress {
            phase,
            done,
            total,
            unit,
            files_done: 0,
            files_total: 0,
        }
    }

    #[test]
    fn done_never_goes_back_across_phases() {
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let sink = ListenerSink::new(recorder.clone());
        for (phase, done) in [
            (Phase::Restore, 0),
            (Phase::Restore, 60),
            (Phase::Restore, 100),
        ] {
            sink.on_progress(progress(phase, Unit::Rows, done, 100));
        }
        for done in [0, 100] {
            sink.on_progress(progress(Phase::Check, Unit::Rows, done, 100));
        }
        let reports = recorder.0.lock().unwrap();
        let done: Vec<i64> = reports.iter().map(|r| r.done).collect();
        assert_eq!(done, [0, 60, 100, 100, 200]);
        assert_eq!(reports[3].phase_done, 0, "the phase itself starts at 0");
        assert_eq!(reports[3].phase, ProgressPhase::Check);
        assert_eq!(reports[4].total, 200);
        assert_eq!(reports[1].total, 100);
    }

    #[test]
    fn an_unknown_total_stays_unknown_and_a_new_unit_is_a_new_phase() {
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let sink = ListenerSink::new(recorder.clone());
        sink.on_progress(progress(Phase::Backup, Unit::Bytes, 4096, 0));
        sink.on_progress(progress(Phase::Backup, Unit::Rows, 10, 0));
        let reports = recorder.0.lock().unwrap();
        assert_eq!(reports[0].total, 0);
        assert_eq!(reports[1].done, 4106);
        assert_eq!(reports[1].phase_done, 10);
    }
}
