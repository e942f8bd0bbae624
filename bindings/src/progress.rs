//! Progress reports and cancellation across the FFI.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use keepsake_core::progress::{CancellationToken, Phase, Progress, ProgressSink, Unit};

use crate::error::{guard, FfiResult};

/// What a long operation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProgressPhase {
    /// Reading the database and writing the encrypted backup.
    Backup,
    /// Authenticating and decoding a backup without writing a database.
    Verify,
    /// Authenticating, decoding and importing a backup.
    Restore,
    /// Checking the restored database before it is moved into place.
    Check,
    /// Building the restored database's indexes, once, after its rows were imported.
    Index,
}

/// What `done` and `total` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProgressUnit {
    /// Database rows or archive records.
    Rows,
    /// Bytes.
    Bytes,
}

/// One progress report; `total` is 0 when unknown.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProgressReport {
    /// The phase.
    pub phase: ProgressPhase,
    /// Work done in this phase.
    pub done: u64,
    /// Total work of this phase, 0 when unknown.
    pub total: u64,
    /// Unit of `done` and `total`.
    pub unit: ProgressUnit,
}

impl From<Progress> for ProgressReport {
    fn from(p: Progress) -> Self {
        ProgressReport {
            phase: match p.phase {
                Phase::Backup => ProgressPhase::Backup,
                Phase::Verify => ProgressPhase::Verify,
                Phase::Restore => ProgressPhase::Restore,
                Phase::Check => ProgressPhase::Check,
                Phase::Index => ProgressPhase::Index,
            },
            done: p.done,
            total: p.total,
            unit: match p.unit {
                Unit::Rows => ProgressUnit::Rows,
                Unit::Bytes => ProgressUnit::Bytes,
            },
        }
    }
}

/// Implemented by the app to observe progress. Called on the thread doing the work, at most
/// about ten times a second per phase; keep it quick (post to the UI thread).
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// One report.
    fn on_progress(&self, report: ProgressReport);
}

/// Forwards core progress to a foreign listener.
///
/// A listener that throws reaches Rust as a panic (its method returns nothing, so UniFFI has no
/// error to give). It is caught here, on the foreign call itself, so it never unwinds through
/// the core or through the lock of the object being backed up or restored: the listener is
/// dropped for the rest of the operation, a warning is logged and the operation goes on.
pub(crate) struct ListenerSink {
    listener: Arc<dyn ProgressListener>,
    failed: AtomicBool,
}

impl ListenerSink {
    pub(crate) fn new(listener: Arc<dyn ProgressListener>) -> Self {
        ListenerSink {
            listener,
            failed: AtomicBool::new(false),
        }
    }
}

impl ProgressSink for ListenerSink {
    fn on_progress(&self, progress: Progress) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        let report = ProgressReport::from(progress);
        let call = catch_unwind(AssertUnwindSafe(|| self.listener.on_progress(report)));
        if call.is_err() {
            self.failed.store(true, Ordering::Relaxed);
            log::warn!("the progress listener threw; it gets no more reports for this operation");
        }
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

    /// The sink, as the core takes it.
    pub(crate) fn sink(&self) -> Option<&dyn ProgressSink> {
        self.sink.as_ref().map(|s| s as &dyn ProgressSink)
    }

    /// The token, as the core takes it.
    pub(crate) fn token(&self) -> Option<&CancellationToken> {
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
