//! Progress reports and cancellation across the FFI.

use std::sync::Arc;

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
    /// Checking the restored database before it is moved into place, or checking a repository.
    Check,
    /// Forgetting snapshots and reclaiming space in a repository.
    Prune,
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
                Phase::Prune => ProgressPhase::Prune,
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
pub(crate) struct ListenerSink(pub(crate) Arc<dyn ProgressListener>);

impl ProgressSink for ListenerSink {
    fn on_progress(&self, progress: Progress) {
        self.0.on_progress(progress.into());
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
            sink: listener.map(ListenerSink),
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
