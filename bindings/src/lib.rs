//! UniFFI bindings over `keepsake-core` for Kotlin and Swift.
//!
//! Thin wrappers only: objects over the core's types, records for reports, one public error
//! enum ([`KeepsakeError`]), and foreign traits so apps can observe progress, stream backups into
//! their own upload/download APIs, keep a backup repository in their own storage
//! ([`BlobStore`]) and receive log records. The core knows nothing of FFI.
//!
//! Every exported function runs inside [`error::guard`], so no panic crosses the FFI.

uniffi::setup_scaffolding!();

mod backup;
mod count;
mod error;
mod keyring;
mod lock;
mod logging;
mod media;
mod passkey;
mod progress;
mod repo;
mod secret;
#[cfg(feature = "soft-authenticator")]
mod soft;
mod store;
mod streams;

pub use backup::{
    backup_to_path, backup_to_sink, inspect_backup, inspect_backup_source, keyring_from_backup,
    restore_from_path, restore_from_source, verify_backup, BackupInfo, BackupOptions, BackupReport,
    PayloadKind, RestoreReport, VerifyReport,
};
pub use error::{KeepsakeError, StorageFailure};
pub use keyring::{normalize_recovery_key, Keyring, NewRecoveryKey, SlotInfo, SlotKind};
pub use logging::{install_logger, LogLevel, Logger};
pub use media::{
    directory_media_sink, directory_media_source, FileStamp, LostMedia, MediaBackupReport,
    MediaFileWriter, MediaFilter, MediaItem, MediaKind, MediaOptions, MediaRef, MediaRestoreReport,
    MediaSink, MediaSource, MediaStream, MediaSummary,
};
pub use passkey::{
    AssertionRequestInfo, EnrollmentOutcome, PasskeyAssertion, PasskeyEnrollment,
    PasskeyRegistration, PasskeyUnlock, RegistrationRequestInfo,
};
pub use progress::{Cancellation, ProgressListener, ProgressPhase, ProgressReport, ProgressUnit};
#[cfg(feature = "soft-authenticator")]
pub use repo::{blob_store_conformance, blob_store_conformance_with_retries};
pub use repo::{
    directory_blob_store, memory_blob_store, BlobStore, BlobStoreError, ByteRange, CheckProblem,
    CheckReport, CheckVerdict, DamagedSnapshot, Healing, ProblemKind, PruneReport, RemovedSnapshot,
    RepairReport, RepoBackupReport, Repository, RetentionPolicy, SalvagedPack, SnapshotHistory,
    SnapshotInfo, SnapshotMediaLoss, UnlockReport,
};
pub use secret::{BackupSecret, RecoveryKeyText};
#[cfg(feature = "soft-authenticator")]
pub use soft::{SoftAuthenticator, SoftAuthenticatorMode};
pub use store::{
    Attachment, ChatStore, Conversation, ConversationKind, DeliveryState, Message, MessageKind,
    Participant, ParticipantRole, RecordCounts, TimelineCursor, TimelinePage,
};
pub use streams::{ByteSink, ByteSource};

/// The version of this Keepsake build (the crate version), for diagnostics.
#[uniffi::export]
pub fn keepsake_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
