//! The one public error type of the bindings, and the guard every entry point runs in.
//!
//! The variants are stable API for Kotlin (a sealed `KeepsakeException`) and Swift (an enum
//! `KeepsakeError`): apps switch on them, so add variants deliberately and never reuse one for a
//! different meaning. Each carries a human-readable `detail`: the core's message as a sentence
//! (capital letter, final period), which Kotlin uses as the exception's message and Swift as
//! `localizedDescription`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use keepsake_core::{Error as CoreError, StorageErrorKind};

/// Everything that can go wrong, as seen by an app.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeepsakeError {
    /// The secret is well formed but opens no key slot: a wrong recovery key or passkey, or the
    /// device keyring of another generation than the backup's (made before a rotation).
    #[error("{detail}")]
    WrongKey {
        /// What was tried.
        detail: String,
    },
    /// The recovery key has a typing mistake (checksum, length or character): ask the user to
    /// check it rather than saying it is wrong.
    #[error("{detail}")]
    RecoveryKeyTypo {
        /// Which mistake.
        detail: String,
    },
    /// The passkey provider has no WebAuthn PRF support: offer the recovery key instead.
    #[error("{detail}")]
    PrfUnsupported {
        /// The provider's answer.
        detail: String,
    },
    /// The PRF output is not 32 bytes or is all zero.
    #[error("{detail}")]
    BadPrfOutput {
        /// Why it was rejected.
        detail: String,
    },
    /// The passkey used has no slot in this backup or keyring.
    #[error("{detail}")]
    NoMatchingSlot {
        /// Which credential.
        detail: String,
    },
    /// A WebAuthn response JSON (or typed value) could not be used.
    #[error("{detail}")]
    MalformedWebAuthn {
        /// The offending field and what was wrong.
        detail: String,
    },
    /// The backup was modified or damaged (authentication failed, invalid structure).
    #[error("{detail}")]
    Corrupted {
        /// Where the damage was found.
        detail: String,
    },
    /// The backup ends early.
    #[error("{detail}")]
    Truncated {
        /// What is missing.
        detail: String,
    },
    /// The backup was written by a newer or unknown format version or algorithm.
    #[error("{detail}")]
    UnsupportedVersion {
        /// Which identifier and what this build supports.
        detail: String,
    },
    /// The operation was cancelled through a `Cancellation`.
    #[error("{detail}")]
    Cancelled {
        /// Always "cancelled".
        detail: String,
    },
    /// A file or stream failed (including a foreign sink or source that threw).
    #[error("{detail}")]
    Io {
        /// The path and the OS error.
        detail: String,
    },
    /// The chat database failed (SQLite error, integrity check).
    #[error("{detail}")]
    Database {
        /// The SQLite message.
        detail: String,
    },
    /// An argument passed by the app is invalid (bad length, closed object, ...).
    #[error("{detail}")]
    InvalidArgument {
        /// Which argument and why.
        detail: String,
    },
    /// The restore or backup target already exists and would be overwritten.
    #[error("{detail}")]
    TargetExists {
        /// The path.
        detail: String,
    },
    /// A backup repository object is missing: the store holds no repository (offer to create
    /// one), or it lost an object a snapshot needs.
    #[error("{detail}")]
    ObjectMissing {
        /// The object's name.
        detail: String,
    },
    /// The app's blob store failed; the bytes were not judged. Nothing is lost: run the
    /// operation again and it resumes. `kind` says when: `Transient` and `Throttled` failures
    /// were already retried a few times (wait, then schedule the work again, after
    /// `retryAfterMs` when the service said), `QuotaExceeded` needs the user to free space,
    /// `Unauthorized` needs them to sign in to the storage again.
    #[error("{detail}")]
    Storage {
        /// The store call, the object and the store's message.
        detail: String,
        /// What kind of failure stopped the operation.
        kind: StorageFailure,
        /// How long the service asked to wait before trying again, when it said (throttling).
        retry_after_ms: Option<i64>,
    },
    /// Another device or process is writing to the repository; try again later.
    #[error("{detail}")]
    RepositoryLocked {
        /// Who holds the lock, as far as it says.
        detail: String,
    },
    /// The password opens no password slot: say "wrong password" (not "wrong recovery key").
    #[error("{detail}")]
    WrongPassword {
        /// What was tried.
        detail: String,
    },
    /// An older keyring than the app knows was offered (stored public bytes, or the keyring of
    /// an old backup): it may hold slots revoked since. Keep the current keyring.
    #[error("{detail}")]
    KeyringRolledBack {
        /// The offered and the known generation.
        detail: String,
    },
    /// The slot cannot be removed without `force`: it is the last one a new phone could use.
    #[error("{detail}")]
    LastSlot {
        /// Which rule would be broken.
        detail: String,
    },
    /// An attachment's bytes cannot be restored: the backup does not hold them (they were not
    /// on the old phone, or the media options left them out), or they were lost to damage.
    /// Show the attachment as unavailable; everything else restores.
    #[error("{detail}")]
    MediaUnavailable {
        /// The attachment (`attachments.id`).
        attachment_id: i64,
        /// Why.
        detail: String,
    },
    /// The keyring was opened through a version 2 key slot, whose root-key seal anyone holding
    /// the backup or repository could have made. Its data restores, but never keep or write
    /// under its keys: set up a new keyring (`Keyring.create`, or `Keyring.rekey` of the
    /// repository's keyring with `Repository.rekeyed_keyring`), enroll the passkey again and
    /// show a new recovery key.
    #[error("{detail}")]
    UnauthenticatedKeyring {
        /// What to do.
        detail: String,
    },
    /// A version 1 or 2 key slot blocks a rotation: ask the user to unlock once with that
    /// slot's secret and call `Keyring.upgrade_slots` with it, or remove the slot.
    #[error("{detail}")]
    LegacySlot {
        /// Which slot.
        detail: String,
    },
    /// A bug: a panic or broken invariant inside Keepsake. Please report it.
    #[error("{detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

/// What kind of failure a blob store call met (the `kind` of `KeepsakeError.Storage`, and what
/// an app's own store reports through `BlobStoreError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StorageFailure {
    /// The network or the service failed for now (timeout, reset, 5xx): retried, then worth
    /// scheduling again soon.
    Transient,
    /// The service asked to slow down (429, rate limit): retried after the pause it asked for.
    Throttled,
    /// The storage is full or over quota: not retried; the user must free space.
    QuotaExceeded,
    /// The credentials were refused: not retried; the user must sign in again.
    Unauthorized,
    /// Anything else the store reported: not retried.
    Other,
}

impl StorageFailure {
    /// The core's kind as the app's, with the pause asked for in milliseconds.
    pub(crate) fn from_core(kind: StorageErrorKind) -> (StorageFailure, Option<i64>) {
        match kind {
            StorageErrorKind::Transient => (StorageFailure::Transient, None),
            StorageErrorKind::Throttled { retry_after } => (
                StorageFailure::Throttled,
                retry_after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            ),
            StorageErrorKind::QuotaExceeded => (StorageFailure::QuotaExceeded, None),
            StorageErrorKind::Unauthorized => (StorageFailure::Unauthorized, None),
            _ => (StorageFailure::Other, None),
        }
    }
}

impl KeepsakeError {
    /// An [`KeepsakeError::InvalidArgument`] with this detail.
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        KeepsakeError::InvalidArgument {
            detail: sentence(detail.into()),
        }
    }

    /// An [`KeepsakeError::Internal`] with this detail.
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        KeepsakeError::Internal {
            detail: sentence(detail.into()),
        }
    }
}

/// `message` as a sentence for an app's error UI: first letter capitalized, ending with a period.
fn sentence(message: String) -> String {
    let mut chars = message.trim().chars();
    let Some(first) = chars.next() else {
        return "Something went wrong.".to_owned();
    };
    let mut text: String = first.to_uppercase().chain(chars).collect();
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

impl From<CoreError> for KeepsakeError {
    fn from(err: CoreError) -> Self {
        let detail = match err {
            CoreError::Cancelled => "The operation was cancelled.".to_owned(),
            _ => sentence(err.to_string()),
        };
        match err {
            // The device key of another generation: the app asks for a slot's secret, as for
            // a wrong key; the detail says why.
            CoreError::WrongKey | CoreError::OtherGeneration { .. } => {
                KeepsakeError::WrongKey { detail }
            }
            CoreError::WrongPassword => KeepsakeError::WrongPassword { detail },
            // A config put back from before a rotation is a rollback of the repository's keys:
            // the app's reaction is the same, keep the current keyring and adopt nothing.
            CoreError::KeyringRolledBack { .. } | CoreError::RepositoryRolledBack { .. } => {
                KeepsakeError::KeyringRolledBack { detail }
            }
            CoreError::UnauthenticatedKeyring => KeepsakeError::UnauthenticatedKeyring { detail },
            CoreError::LegacySlot { .. } => KeepsakeError::LegacySlot { detail },
            CoreError::LastSlot { .. } => KeepsakeError::LastSlot { detail },
            CoreError::RecoveryKeyTypo { .. } => KeepsakeError::RecoveryKeyTypo { detail },
            CoreError::PrfUnsupported => KeepsakeError::PrfUnsupported { detail },
            CoreError::BadPrfOutput { .. } => KeepsakeError::BadPrfOutput { detail },
            CoreError::NoMatchingSlot => KeepsakeError::NoMatchingSlot { detail },
            CoreError::MalformedWebAuthn { .. } => KeepsakeError::MalformedWebAuthn { detail },
            // Limits protect the parser from hostile headers: to the user the file is damaged.
            CoreError::Corrupted { .. } | CoreError::LimitExceeded { .. } => {
                KeepsakeError::Corrupted { detail }
            }
            CoreError::Truncated { .. } => KeepsakeError::Truncated { detail },
            CoreError::UnsupportedVersion { .. } => KeepsakeError::UnsupportedVersion { detail },
            CoreError::Cancelled => KeepsakeError::Cancelled { detail },
            CoreError::InvalidArgument(_) => KeepsakeError::InvalidArgument { detail },
            CoreError::Io { .. } => KeepsakeError::Io { detail },
            CoreError::Database { .. } => KeepsakeError::Database { detail },
            CoreError::TargetExists { .. } => KeepsakeError::TargetExists { detail },
            CoreError::ObjectMissing { .. } => KeepsakeError::ObjectMissing { detail },
            CoreError::Storage { kind, .. } => {
                let (kind, retry_after_ms) = StorageFailure::from_core(kind);
                KeepsakeError::Storage {
                    detail,
                    kind,
                    retry_after_ms,
                }
            }
            // A store that changed under a backup: running it again reads the store anew.
            CoreError::StoreChanged { .. } => KeepsakeError::Storage {
                detail,
                kind: StorageFailure::Transient,
                retry_after_ms: None,
            },
            CoreError::RepositoryLocked { .. } => KeepsakeError::RepositoryLocked { detail },
            CoreError::MediaUnavailable { attachment_id, .. } => KeepsakeError::MediaUnavailable {
                attachment_id,
                detail,
            },
            CoreError::Randomness => KeepsakeError::Internal { detail },
            // The core's enum is non-exhaustive; a variant added there without a mapping here
            // still reaches the app, with its message.
            _ => KeepsakeError::Internal { detail },
        }
    }
}

/// A foreign callback (sink, source) threw something other than a `KeepsakeError`.
impl From<uniffi::UnexpectedUniFFICallbackError> for KeepsakeError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeepsakeError::Io {
            detail: sentence(format!("the app's callback failed: {}", err.reason)),
        }
    }
}

/// Result of every exported call.
pub type FfiResult<T> = Result<T, KeepsakeError>;

/// Runs one entry point, turning a panic into [`KeepsakeError::Internal`] so that no panic
/// unwinds into Kotlin or Swift (UniFFI would otherwise raise an untyped internal error).
pub(crate) fn guard<T>(body: impl FnOnce() -> FfiResult<T>) -> FfiResult<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(KeepsakeError::internal(format!(
            "internal error (please report): {what}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal() {
        let result: FfiResult<()> = guard(|| panic!("boom"));
        match result {
            Err(KeepsakeError::Internal { detail }) => assert!(detail.contains("boom")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn core_errors_keep_their_meaning_and_message() {
        let mapped = KeepsakeError::from(CoreError::RecoveryKeyTypo {
            detail: "group 3".into(),
        });
        match mapped {
            KeepsakeError::RecoveryKeyTypo { detail } => assert!(detail.contains("group 3")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            KeepsakeError::from(CoreError::Cancelled),
            KeepsakeError::Cancelled { .. }
        ));
        assert!(matches!(
            KeepsakeError::from(CoreError::UnauthenticatedKeyring),
            KeepsakeError::UnauthenticatedKeyring { detail } if detail.contains("new keyring")
        ));
        assert!(matches!(
            KeepsakeError::from(CoreError::RepositoryRolledBack {
                config_epoch: 0,
                found_epoch: 1
            }),
            KeepsakeError::KeyringRolledBack { .. }
        ));
    }

    #[test]
    fn storage_failures_keep_their_kind_and_pause() {
        let throttled = KeepsakeError::from(keepsake_core::repo::storage_error_of(
            StorageErrorKind::Throttled {
                retry_after: Some(std::time::Duration::from_millis(2500)),
            },
            "put",
            "data/ab",
            "slow down",
        ));
        assert!(matches!(
            throttled,
            KeepsakeError::Storage { kind: StorageFailure::Throttled, retry_after_ms: Some(2500), ref detail }
                if detail.contains("slow down")
        ));
        for (core, app) in [
            (
                StorageErrorKind::QuotaExceeded,
                StorageFailure::QuotaExceeded,
            ),
            (StorageErrorKind::Unauthorized, StorageFailure::Unauthorized),
            (StorageErrorKind::Transient, StorageFailure::Transient),
            (StorageErrorKind::Other, StorageFailure::Other),
        ] {
            let err = keepsake_core::repo::storage_error_of(core, "get", "config", "x");
            assert!(matches!(
                KeepsakeError::from(err),
                KeepsakeError::Storage { kind, retry_after_ms: None, .. } if kind == app
            ));
        }
    }

    #[test]
    fn details_read_as_sentences() {
        let KeepsakeError::WrongKey { detail } = KeepsakeError::from(CoreError::WrongKey) else {
            panic!("not WrongKey")
        };
        assert!(detail.starts_with("Wrong key"), "{detail}");
        assert!(detail.ends_with('.'), "{detail}");
        assert_eq!(sentence("done?".into()), "Done?");
        assert_eq!(sentence("  ".into()), "Something went wrong.");
        let KeepsakeError::InvalidArgument { detail } =
            KeepsakeError::invalid("the keyring is closed")
        else {
            panic!("not InvalidArgument")
        };
        assert_eq!(detail, "The keyring is closed.");
    }
}
