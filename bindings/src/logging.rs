//! Forwarding the core's `log` records to the app's logger (Logcat, `os_log`).
//!
//! The `log` crate accepts one global logger per process, so a forwarding logger is installed
//! the first time and later calls only swap the foreign target and level. The core never logs
//! key material, so forwarding is safe.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, RwLock},
};

use crate::error::{guard, FfiResult};

/// Severity of a log record, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that was handled.
    Warn,
    /// Milestones of long operations.
    Info,
    /// Detail for debugging.
    Debug,
    /// Very detailed tracing.
    Trace,
}

impl LogLevel {
    fn to_filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }

    fn from_level(level: log::Level) -> Self {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

/// Implemented by the app: receives Keepsake's log records. Called on whatever thread logs. A
/// logger that throws loses that record; the code that logged goes on.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// One record: its level, the Rust module that wrote it, and the message.
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// The foreign logger currently installed, if any.
static TARGET: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);

/// The process-wide `log` logger; forwards to [`TARGET`].
struct Forwarder;

static FORWARDER: Forwarder = Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let logger = match TARGET.read() {
            Ok(guard) => guard.clone(),
            Err(_) => return,
        };
        if let Some(logger) = logger {
            // A logger that throws (a panic here: `log` has no error to return) loses this record;
            // it must not unwind through the code that logged.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                logger.log(
                    LogLevel::from_level(record.level()),
                    record.target().to_owned(),
                    record.args().to_string(),
                )
            }));
        }
    }

    fn flush(&self) {}
}

/// Send Keepsake's log records at `max_level` and more severe to `logger`. Call once at app
/// start; a later call replaces the logger and level.
#[uniffi::export]
pub fn install_logger(logger: Arc<dyn Logger>, max_level: LogLevel) -> FfiResult<()> {
    guard(|| {
        let mut slot = TARGET
            .write()
            .map_err(|_| crate::KeepsakeError::internal("logger lock poisoned"))?;
        *slot = Some(logger);
        drop(slot);
        // Fails only when some logger is installed already: ours from an earlier call, or the
        // host's own (then the host decides where records go).
        let _ = log::set_logger(&FORWARDER);
        log::set_max_level(max_level.to_filter());
        log::info!(
            "keepsake {} logging at {max_level:?}",
            env!("CARGO_PKG_VERSION")
        );
        Ok(())
    })
}
