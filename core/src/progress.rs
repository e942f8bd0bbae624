//! Progress reporting and cancellation for long operations (backup, verify, restore).
//!
//! Long work calls [`Reporter::advance`] between batches; the reporter forwards a [`Progress`] to
//! the caller's [`ProgressSink`] at most every [`Reporter::INTERVAL`] and fails fast with
//! [`Error::Cancelled`] once the [`CancellationToken`] has been cancelled from any thread.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// What a long operation is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Reading the database and writing the encrypted backup.
    Backup,
    /// Authenticating and decoding a backup without writing a database.
    Verify,
    /// Authenticating, decoding and importing a backup into a temporary database.
    Restore,
    /// Checking the restored database (counts, digest, integrity) before it is moved into place,
    /// or checking a repository.
    Check,
    /// Building the restored database's indexes, once, after its rows were imported.
    Index,
    /// Forgetting snapshots and reclaiming space in a repository.
    Prune,
    /// Backing up or restoring media files (after the chats): `done`/`total` count bytes and
    /// `files_done`/`files_total` count files.
    Media,
}

/// The unit of [`Progress::done`] and [`Progress::total`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Database rows or archive records.
    Rows,
    /// Bytes of a file or stream.
    Bytes,
}

/// One progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The phase this report belongs to.
    pub phase: Phase,
    /// Work done so far in this phase.
    pub done: u64,
    /// Total work of this phase, when known in advance (0 when unknown).
    pub total: u64,
    /// What `done` and `total` count.
    pub unit: Unit,
    /// Files done so far ([`Phase::Media`] only; 0 otherwise).
    pub files_done: u64,
    /// Files of the phase ([`Phase::Media`] only; 0 otherwise).
    pub files_total: u64,
}

/// Receives progress reports. Called on the thread doing the work; keep it quick.
pub trait ProgressSink: Send + Sync {
    /// One report; reports of one phase arrive with non-decreasing `done`.
    fn on_progress(&self, progress: Progress);
}

impl<F: Fn(Progress) + Send + Sync> ProgressSink for F {
    fn on_progress(&self, progress: Progress) {
        self(progress)
    }
}

/// A cancellation flag shared between the caller (any thread) and the work.
#[derive(Debug, Clone, Default)]
pub struct CancellationToken(Arc<AtomicBool>);

impl CancellationToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask the work to stop at its next check. Idempotent.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// `Err(Error::Cancelled)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Throttled progress plus cancellation checks for one phase of work.
pub struct Reporter<'a> {
    sink: Option<&'a dyn ProgressSink>,
    cancel: Option<&'a CancellationToken>,
    current: Progress,
    last_sent: Option<Instant>,
}

impl<'a> Reporter<'a> {
    /// Reports are sent at most this often (plus once at the start and once at the end of a phase).
    pub const INTERVAL: Duration = Duration::from_millis(100);

    /// A reporter for `phase`; either half may be absent.
    pub fn new(
        sink: Option<&'a dyn ProgressSink>,
        cancel: Option<&'a CancellationToken>,
        phase: Phase,
        unit: Unit,
        total: u64,
    ) -> Self {
        Reporter {
            sink,
            cancel,
            current: Progress {
                phase,
                done: 0,
                total,
                unit,
                files_done: 0,
                files_total: 0,
            },
            last_sent: None,
        }
    }

    /// A reporter that reports nothing and is never cancelled.
    pub fn silent(phase: Phase, unit: Unit) -> Reporter<'static> {
        Reporter::new(None, None, phase, unit, 0)
    }

    /// Start a new phase on the same sink and token; the new phase is reported at once.
    pub fn start_phase(&mut self, phase: Phase, unit: Unit, total: u64) -> Result<()> {
        self.current = Progress {
            phase,
            done: 0,
            total,
            unit,
            files_done: 0,
            files_total: 0,
        };
        self.last_sent = None;
        self.advance(0)
    }

    /// Add `amount` to the work done; reports if the interval has passed; fails if cancelled.
    pub fn advance(&mut self, amount: u64) -> Result<()> {
        self.current.done = self.current.done.saturating_add(amount);
        // A total known in advance is an estimate (a file grew since it was listed): never
        // report more done than total.
        if self.current.total != 0 && self.current.done > self.current.total {
            self.current.total = self.current.done;
        }
        if let Some(token) = self.cancel {
            token.check()?;
        }
        let due = self
            .last_sent
            .is_none_or(|sent| sent.elapsed() >= Self::INTERVAL);
        if due {
            self.send();
        }
        Ok(())
    }

    /// Report the current state now (end of a phase); fails if cancelled.
    pub fn finish_phase(&mut self) -> Result<()> {
        if let Some(token) = self.cancel {
            token.check()?;
        }
        self.send();
        Ok(())
    }

    /// Starts a [`Phase::Media`] phase of `bytes` bytes in `files` files.
    pub fn start_media(&mut self, bytes: u64, files: u64) -> Result<()> {
        self.current = Progress {
            phase: Phase::Media,
            done: 0,
            total: bytes,
            unit: Unit::Bytes,
            files_done: 0,
            // Set before the phase's first report, which would otherwise say "of 0 files".
            files_total: files,
        };
        self.last_sent = None;
        self.advance(0)
    }

    /// One more file done (in a [`Phase::Media`] phase).
    pub fn file_done(&mut self) -> Result<()> {
        self.current.files_done += 1;
        self.advance(0)
    }

    /// The work done so far in the current phase.
    pub fn done(&self) -> u64 {
        self.current.done
    }

    /// The cancellation token, for checks outside `advance`.
    pub fn check_cancelled(&self) -> Result<()> {
        self.cancel.map_or(Ok(()), CancellationToken::check)
    }

    fn send(&mut self) {
        if let Some(sink) = self.sink {
            sink.on_progress(self.current);
        }
        self.last_sent = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn throttles_reports_but_always_sends_first_and_last() {
        let seen = Mutex::new(Vec::new());
        let sink = |p: Progress| seen.lock().unwrap().push(p.done);
        let mut reporter = Reporter::new(Some(&sink), None, Phase::Backup, Unit::Rows, 1000);
        for _ in 0..1000 {
            reporter.advance(1).unwrap();
        }
        reporter.finish_phase().unwrap();
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.first(), Some(&1));
        assert_eq!(seen.last(), Some(&1000));
        assert!(
            seen.len() < 10,
            "a tight loop must be throttled, got {seen:?}"
        );
    }

    #[test]
    fn cancellation_from_another_thread_stops_the_work() {
        let token = CancellationToken::new();
        let remote = token.clone();
        std::thread::spawn(move || remote.cancel()).join().unwrap();
        let mut reporter = Reporter::new(None, Some(&token), Phase::Restore, Unit::Bytes, 0);
        assert!(matches!(reporter.advance(1), Err(Error::Cancelled)));
    }
}
