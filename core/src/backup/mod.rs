//! Orchestration: backup to a path or sink, inspect, unlock, verify and restore, for the chat
//! archive and the SQLite snapshot payload kinds. Files are written atomically and a failed or
//! cancelled operation leaves nothing behind (see `docs/ARCHITECTURE.md`, data flow).

mod atomic;
mod install;
pub mod snapshot;
#[cfg(test)]
mod testing;

pub use atomic::AtomicFile;
