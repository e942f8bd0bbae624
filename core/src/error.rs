//! The core's error type: one variant per meaning, so callers (and the FFI layer, which maps
//! these onto a small stable public enum) can react precisely.
//!
//! Errors raised inside `std::io::Read`/`Write` adapters travel wrapped in an `io::Error`;
//! [`Error::from`] on such an `io::Error` recovers the original typed error.

use std::{fmt, io, path::PathBuf, time::Duration};

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Keepsake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The secret was well formed but opens no key slot of this backup or keyring.
    #[error("wrong key: the secret opens no key slot of this backup")]
    WrongKey,

    /// The password opens no password slot of this backup or keyring. Distinct from
    /// [`Error::WrongKey`] so an app can say "wrong password" rather than "wrong key".
    #[error("wrong password: it opens no password slot of this backup")]
    WrongPassword,

    /// A keyring older than the one the app already knows was offered (a stored public keyring
    /// or one rebuilt from an old backup): it may still hold slots that were revoked since.
    #[error("keyring rolled back: generation {found} is older than the known generation {known}")]
    KeyringRolledBack {
        /// The offered keyring's generation.
        found: u64,
        /// The generation the app keeps with its root key.
        known: u64,
    },

    /// The device's root key is of another generation than the one that sealed this backup or
    /// repository (it was made before a rotation, or the repository has not adopted the
    /// rotation yet): the device key cannot open it, a slot's secret can.
    #[error(
        "sealed with keyring generation {sealed}, but this device's keyring is at generation \
         {device}: unlock it with a passkey, the recovery key or a password"
    )]
    OtherGeneration {
        /// The generation of the root key that sealed it.
        sealed: u64,
        /// The generation of the device's root key.
        device: u64,
    },

    /// The root key came through a version 2 key slot, whose HPKE base-mode seal anyone holding
    /// the public header or repository config could have made: the data it opens may be read,
    /// but its keyring must never be adopted (the store may know its root key).
    #[error(
        "this keyring cannot be trusted: it was opened through a version 2 key slot, whose \
         root-key seal anyone holding the backup could have made. Its data can still be \
         restored, but do not keep its keys: set up a new keyring on this device (re-key: \
         enroll the passkey again and make a new recovery key)"
    )]
    UnauthenticatedKeyring,

    /// A version 1 or 2 slot cannot take a new root key without its secret, so the keyring
    /// cannot rotate while it remains.
    #[error(
        "key slot {slot} ({label:?}) is a version {version} slot, which cannot take a new root \
         key without its secret: unlock once with that secret on this device (which upgrades \
         the slot) or remove the slot, then rotate"
    )]
    LegacySlot {
        /// The slot id (hex).
        slot: String,
        /// The slot's label.
        label: String,
        /// Its encoding version (1 or 2).
        version: u8,
    },

    /// The repository's config is older than objects the store holds (an old config put back
    /// after a key rotation): adopting keys on it would make everything written since
    /// unreadable.
    #[error(
        "the repository's config was put back to an older state: it knows key epochs up to \
         {config_epoch}, but the store holds objects of key epoch {found_epoch}, written after \
         a later key change; refusing to overwrite the newer keys"
    )]
    RepositoryRolledBack {
        /// The newest epoch the config holds.
        config_epoch: u32,
        /// The newer epoch an object in the store is sealed under.
        found_epoch: u32,
    },

    /// The last key slot (or the last one a new device could use) would go: a backup without
    /// one could never be restored on a new phone. Removal needs `force`.
    #[error("{reason}")]
    LastSlot {
        /// Which rule would be broken.
        reason: String,
    },

    /// The recovery key failed its checksum: a typing mistake, not a wrong key.
    #[error("the recovery key has a typo: {detail}")]
    RecoveryKeyTypo {
        /// What was wrong (bad character, wrong length, checksum mismatch).
        detail: String,
    },

    /// The passkey provider does not implement the WebAuthn PRF extension.
    #[error(
        "this passkey provider does not support the PRF extension, so it cannot protect a backup; \
         choose a provider with PRF support or use the recovery key"
    )]
    PrfUnsupported,

    /// The PRF output is not exactly 32 bytes or is all zero.
    #[error("the passkey returned an unusable PRF output: {reason}")]
    BadPrfOutput {
        /// Why the output was rejected.
        reason: String,
    },

    /// The passkey used has no slot in this backup or keyring.
    #[error("this passkey was not enrolled for this backup")]
    NoMatchingSlot,

    /// A WebAuthn request or response could not be used.
    #[error("malformed WebAuthn data at {path}: {reason}")]
    MalformedWebAuthn {
        /// JSON path of the offending field, e.g. `clientExtensionResults.prf.results.first`.
        path: String,
        /// What was wrong with it.
        reason: String,
    },

    /// Authentication failed or a structure is invalid: the data was modified or damaged.
    #[error("corrupted backup: {what}")]
    Corrupted {
        /// Where the damage was detected (header field, slot, segment number, record).
        what: String,
    },

    /// The data ends before its declared or authenticated end.
    #[error("truncated backup: {what}")]
    Truncated {
        /// What was missing.
        what: String,
    },

    /// A version or algorithm identifier this build does not understand.
    #[error("unsupported {what} {found}; this build supports {supported}")]
    UnsupportedVersion {
        /// Which identifier (format version, AEAD algorithm, archive version, ...).
        what: String,
        /// The value found.
        found: u64,
        /// What this build supports, in words.
        supported: String,
    },

    /// A declared size or count exceeds the format's limits.
    #[error("limit exceeded: {what} is {found}, at most {limit} allowed")]
    LimitExceeded {
        /// Which field.
        what: String,
        /// The declared value.
        found: u64,
        /// The limit.
        limit: u64,
    },

    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,

    /// An argument passed by the caller is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An I/O error, with the path involved where there is one.
    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file involved, if known.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed")]
    Randomness,

    /// The chat database failed (SQLite error, constraint, busy, disk full).
    #[error("database error{}: {message}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Database {
        /// SQLite's description of the failure.
        message: String,
        /// The database file involved, if known.
        path: Option<PathBuf>,
    },

    /// A restore target already holds data and the caller did not ask to replace it.
    #[error("{} already exists and is not empty; restore with replace to overwrite it", path.display())]
    TargetExists {
        /// The existing target.
        path: PathBuf,
    },

    /// A repository object the operation needs is not in the blob store.
    #[error("repository object {name} is missing")]
    ObjectMissing {
        /// The object's name in the store (e.g. `data/<hex>`).
        name: String,
    },

    /// The blob store failed (network, throttling, quota, permission): the bytes were not
    /// judged. `kind` says whether waiting and trying again can help.
    #[error("blob store {op} of {name} failed ({kind}): {message}")]
    Storage {
        /// The store call: `put`, `get`, `create`, `list`, `delete` or `stat`.
        op: String,
        /// The object name (or prefix, for `list`).
        name: String,
        /// The store's description of the failure.
        message: String,
        /// What kind of failure it was: what a retry policy and the user can do about it.
        kind: StorageErrorKind,
    },

    /// The store changed under a backup in a way it cannot finish through: a pack its snapshot
    /// needs disappeared while it ran (another device's prune, or the store lost it). Nothing
    /// was committed; the next run (the backup retries once by itself) uploads what is
    /// missing.
    #[error("the repository changed during the backup: {what}")]
    StoreChanged {
        /// What changed.
        what: String,
    },

    /// Another writer holds the repository's lock.
    #[error("the repository is locked by another writer: {holder}")]
    RepositoryLocked {
        /// Who holds it and since when, as far as the lock says.
        holder: String,
    },

    /// An attachment's bytes cannot be restored: the backup does not hold them (absent from
    /// the old device, or left out by the media options), or they were lost to damage.
    #[error("attachment {attachment_id} cannot be restored: {reason}")]
    MediaUnavailable {
        /// `attachments.id`.
        attachment_id: i64,
        /// Why.
        reason: String,
    },
}

/// What kind of failure a blob store call met. A retry policy
/// ([`crate::repo::RetryingStore`]) retries [`Transient`](Self::Transient) and
/// [`Throttled`](Self::Throttled) failures and nothing else; apps and the CLI tell the user which
/// one stopped an operation (no network, wait, the storage is full, sign in again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The network or the service failed for now (connection reset, timeout, 5xx): trying
    /// again soon may succeed.
    Transient,
    /// The service asks the client to slow down (HTTP 429, S3 `SlowDown`, Drive's rate limit),
    /// possibly saying how long to wait (`Retry-After`).
    Throttled {
        /// How long the service asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The storage is full or the account's quota is spent (HTTP 507, S3 `QuotaExceeded`):
    /// retrying cannot help until the user frees space.
    QuotaExceeded,
    /// The credentials were refused or do not allow the call (HTTP 401/403): the user must
    /// sign in again or fix the permissions.
    Unauthorized,
    /// Anything else (a bad request, a local disk error, a store bug): not retried.
    Other,
}

impl StorageErrorKind {
    /// Whether waiting and trying the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient | Self::Throttled { .. })
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient => f.write_str("transient"),
            Self::Throttled {
                retry_after: Some(wait),
            } => write!(f, "throttled, retry after {:.1} s", wait.as_secs_f64()),
            Self::Throttled { retry_after: None } => f.write_str("throttled"),
            Self::QuotaExceeded => f.write_str("quota exceeded"),
            Self::Unauthorized => f.write_str("unauthorized"),
            Self::Other => f.write_str("failed"),
        }
    }
}

impl Error {
    /// The kind of a [`Error::Storage`]; None for every other error.
    pub fn storage_kind(&self) -> Option<StorageErrorKind> {
        match self {
            Error::Storage { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// An I/O error on a known path.
    pub fn io_at(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::from(source).with_path(path)
    }

    /// Attach a path to an I/O or database error that has none; other errors pass through.
    pub fn with_path(self, path: impl Into<PathBuf>) -> Self {
        match self {
            Error::Io { path: None, source } => Error::Io {
                path: Some(path.into()),
                source,
            },
            Error::Database {
                message,
                path: None,
            } => Error::Database {
                message,
                path: Some(path.into()),
            },
            other => other,
        }
    }

    /// Wrap this error in an `io::Error` so it can cross a `Read`/`Write` boundary.
    pub fn into_io(self) -> io::Error {
        match self {
            Error::Io { source, path: None } => source,
            other => io::Error::other(other),
        }
    }
}

impl From<io::Error> for Error {
    /// Recovers a typed error carried through an `io::Error`, or wraps a genuine I/O error.
    fn from(err: io::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(typed) => typed,
            Err(err) => Error::Io {
                path: None,
                source: err,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_errors_survive_an_io_round_trip() {
        let io_err = Error::WrongKey.into_io();
        assert!(matches!(Error::from(io_err), Error::WrongKey));
    }

    #[test]
    fn plain_io_errors_stay_io_and_take_a_path() {
        let err = Error::io_at("/tmp/x", io::Error::new(io::ErrorKind::StorageFull, "full"));
        match err {
            Error::Io {
                path: Some(p),
                source,
            } => {
                assert_eq!(p, PathBuf::from("/tmp/x"));
                assert_eq!(source.kind(), io::ErrorKind::StorageFull);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
