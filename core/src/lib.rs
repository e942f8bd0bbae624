//! Keepsake core: end-to-end encrypted chat backups unlocked by a passkey.
//!
//! The crate is layered; each module depends only on the ones listed before it
//! (see `docs/ARCHITECTURE.md`):
//!
//! 1. [`crypto`]: zeroizing key types, HKDF labels, AES-256-GCM key wrap, the STREAM cipher.
//! 2. [`keyring`]: the root key, key slots (passkey, recovery key) and the recovery key itself.
//! 3. [`format`]: the container: header, slots table, header MAC, encrypted payload.
//! 4. [`passkey`]: WebAuthn PRF requests and responses, enrollment and unlock flows.
//! 5. [`store`]: `ChatStore`, the chat database.
//! 6. [`archive`]: the logical record stream between a store and bytes.
//! 7. [`repo`]: the backup repository engine: blob stores, chunks, packs, index, snapshots,
//!    prune, check.
//! 8. [`backup`]: orchestration: backup, inspect, verify, restore, progress, cancellation.
//!
//! The crate knows nothing of FFI; `keepsake-ffi` wraps it.

pub mod archive;
mod atomic;
pub mod backup;
pub mod crypto;
pub mod error;
pub mod format;
pub mod keyring;
pub mod media;
pub mod passkey;
pub mod progress;
pub mod repo;
pub mod store;

pub use error::{Error, Result, StorageErrorKind};
