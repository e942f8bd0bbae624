//! The incremental backup repository as an FFI object: daily backups that upload only what
//! changed, into the app's own storage (a [`BlobStore`] it implements, or a built-in one).
//!
//! Long calls block their thread like the single-file backup functions: run them off the UI
//! thread (the Kotlin and Swift layers do), observe them with a `ProgressListener`, stop them
//! with a `Cancellation`. Calls that only read (restore, media restore, fetching one
//! attachment, snapshots, check) run side by side on one `Repository` object; a backup, prune or
//! keyring change waits for them and runs alone. Across devices the repository's lock lets one writer in at a time; the others
//! fail with `KeepsakeError.RepositoryLocked`.

mod blob_store;
#[cfg(feature = "soft-authenticator")]
mod conformance;
mod health;
mod maintenance;
mod media;
mod records;

use std::{path::PathBuf, sync::Arc};

use keepsake_core::{
    backup::{self as core_backup, BackupOptions as CoreBackupOptions, RestoreOptions},
    media::MediaBackup,
    passkey as core_passkey,
    repo::{self as core_repo, RepoOptions},
};

pub(crate) use blob_store::ForeignBlobStore;
pub use blob_store::{
    directory_blob_store, memory_blob_store, BlobStore, BlobStoreError, ByteRange,
};
#[cfg(feature = "soft-authenticator")]
pub use conformance::{blob_store_conformance, blob_store_conformance_with_retries};
pub use health::{
    CheckProblem, CheckReport, CheckVerdict, DamagedSnapshot, Healing, ProblemKind,
    RemovedSnapshot, RepairReport, SalvagedPack, SnapshotHistory, SnapshotMediaLoss, UnlockReport,
};
pub use records::{KeyringAdoption, PruneReport, RepoBackupReport, RetentionPolicy, SnapshotInfo};

use crate::{
    backup::{restore_report, BackupOptions, RestoreReport},
    error::{guard, FfiResult, KeepsakeError},
    keyring::Keyring,
    lock::SharedGuarded,
    passkey::PasskeyUnlock,
    progress::{Cancellation, Observers, ProgressListener},
    secret::BackupSecret,
    store::ChatStore,
};

/// A backup repository in a blob store, opened with its keys.
#[derive(uniffi::Object)]
pub struct Repository {
    inner: SharedGuarded<core_repo::Repository>,
    /// The local cache that makes daily backups cheap (rebuilt from the store when lost).
    cache_dir: Option<PathBuf>,
    /// The device keyring it was created or opened with: every backup refuses to write while
    /// that keyring has moved to a newer generation the repository has not adopted (the known
    /// generation is derived from it, never a silent 0).
    device: Option<Arc<Keyring>>,
}

impl Repository {
    fn wrap(
        repo: core_repo::Repository,
        cache_dir: Option<String>,
        device: Option<Arc<Keyring>>,
    ) -> Arc<Self> {
        Arc::new(Repository {
            inner: SharedGuarded::new(repo, "repository"),
            cache_dir: cache_dir.map(PathBuf::from),
            device,
        })
    }
}

#[uniffi::export]
impl Repository {
    /// Creates a repository in an empty `store`, sealed by `keyring`'s key slots: any of its
    /// passkeys or its recovery key opens it later from a new device that has nothing but the
    /// store. `cache_dir` (app-private, e.g. the cache directory) holds the local cache.
    /// A store that already holds a repository fails with `InvalidArgument`.
    #[uniffi::constructor(default(cache_dir = None))]
    pub fn create(
        store: Arc<dyn BlobStore>,
        keyring: Arc<Keyring>,
        cache_dir: Option<String>,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let store = ForeignBlobStore::wrap(store);
            let repo =
                keyring.with(|k| core_repo::Repository::init(store, k, &RepoOptions::default()))?;
            Ok(Self::wrap(repo, cache_dir, Some(keyring)))
        })
    }

    /// Opens the repository in `store` with `secret`: a passkey (`PasskeyUnlock.forRepository`),
    /// the recovery key, a password, or the device's keyring. `WrongKey` when the secret opens no
    /// slot (or the device keyring is of another generation than the repository: see
    /// `adopt_keyring`), `WrongPassword` for a wrong password, `ObjectMissing` when the store
    /// holds no repository, `Corrupted` when its config was damaged, `Storage` when the store
    /// failed.
    #[uniffi::constructor(default(cache_dir = None))]
    pub fn open(
        store: Arc<dyn BlobStore>,
        secret: Arc<BackupSecret>,
        cache_dir: Option<String>,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let store = ForeignBlobStore::wrap(store);
            let repo = secret.unlock(|secret| core_repo::Repository::open(store, secret))?;
            Ok(Self::wrap(repo, cache_dir, secret.keyring_object()))
        })
    }

    /// The repository id, 32 hex digits (random, fixed at creation).
    pub fn id(&self) -> FfiResult<String> {
        guard(|| self.inner.with(|r| Ok(hex_id(&r.id()))))
    }

    /// The keyring the repository is sealed with, rebuilt from the secret that opened it: on a
    /// new device, seal its root key in the platform keystore and keep backing up with it.
    /// `UnauthenticatedKeyring` when the repository was opened through a version 2 slot (its
    /// config could be the store's forgery): restore from it, then set up new keys with
    /// `rekeyed_keyring` and `adopt_keyring`.
    pub fn keyring(&self) -> FfiResult<Arc<Keyring>> {
        guard(|| Ok(Keyring::wrap(self.inner.with(|r| r.adoptable_keyring())?)))
    }

    /// Whether the repository's keys are authenticated: false after opening it through a
    /// version 2 slot until a keyring is adopted. While false, it restores but refuses to back
    /// up or prune (`UnauthenticatedKeyring`).
    pub fn is_authenticated(&self) -> FfiResult<bool> {
        guard(|| self.inner.with(|r| Ok(r.is_authenticated())))
    }

    /// A new keyring that re-keys the repository's (fresh id, root key, authentication secret
    /// and PRF input; no slots yet): what a new device sets up when `keyring()` is refused.
    /// Renew the passkeys with `PasskeyUnlock.for_repository_renewal`, add a recovery key,
    /// then `adopt_keyring` it.
    pub fn rekeyed_keyring(&self) -> FfiResult<Arc<Keyring>> {
        guard(|| Ok(Keyring::wrap(self.inner.with(|r| r.keyring().rekey())?)))
    }

    /// Brings the repository up to the device's `keyring` after it changed: an added slot is
    /// written into the repository's config; a rotation (a removed slot, or
    /// `Keyring.rotateRootKey`) re-wraps the old keys under the new root key and starts a new
    /// key epoch, so a removed secret reads nothing written from now on. Call it right after
    /// the keyring changed, on a repository opened before the change: one left behind opens
    /// only with a passkey, the recovery key or a password (the device keyring gets `WrongKey`),
    /// then adopts the keyring the same way. An older keyring is `KeyringRolledBack`.
    pub fn adopt_keyring(&self, keyring: Arc<Keyring>) -> FfiResult<KeyringAdoption> {
        guard(|| {
            let adoption = self
                .inner
                .with_mut_ffi(|r| keyring.with(|k| r.adopt_keyring(k)))?;
            Ok(adoption.into())
        })
    }

    /// Every intact snapshot, oldest first (by `sequence`, then time): the ones a restore can
    /// use. Each one is authenticated; damaged snapshot objects are left out, `history` lists
    /// them.
    pub fn snapshots(&self) -> FfiResult<Vec<SnapshotInfo>> {
        guard(|| {
            let all = self.inner.with(|r| r.snapshots())?;
            Ok(all.into_iter().map(Into::into).collect())
        })
    }

    /// The intact snapshots (as `snapshots`) and the snapshot objects that are damaged, with
    /// why: what a backup list shows, marking what was lost. A restore of "the latest" uses the
    /// newest intact snapshot; a damaged object never blocks the others.
    pub fn history(&self) -> FfiResult<SnapshotHistory> {
        guard(|| Ok(self.inner.with(|r| r.history())?.into()))
    }

    /// How many store calls a backup or restore keeps in flight at once (pack uploads, ranged
    /// reads); 4 unless set.
    pub fn connections(&self) -> FfiResult<i64> {
        guard(|| {
            let n = self.inner.with(|r| Ok(r.connections()))?;
            Ok(i64::try_from(n).unwrap_or(i64::MAX))
        })
    }

    /// Sets how many store calls a backup or restore keeps in flight, 1 to 32: 1 for a store
    /// that must be called one call at a time, more for a cloud store over a link with latency.
    /// Each upload in flight holds one pack (a few MiB) in memory. Others are `InvalidArgument`.
    pub fn set_connections(&self, connections: i64) -> FfiResult<()> {
        guard(|| {
            let n = usize::try_from(connections).map_err(|_| {
                KeepsakeError::invalid(format!(
                    "connections {connections} is not within 1..={}",
                    core_repo::MAX_CONNECTIONS
                ))
            })?;
            self.inner.with_mut(|r| r.set_connections(n))
        })
    }

    /// Backs `store` up as a new snapshot, uploading only the chunks the repository lacks. A
    /// failure, a cancel or a killed process leaves no snapshot; the next backup reuses what
    /// was uploaded and completes. `backup_with_media` takes the attachments' files too.
    #[uniffi::method(default(options = None, listener = None, cancellation = None))]
    pub fn backup(
        &self,
        store: Arc<ChatStore>,
        options: Option<BackupOptions>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<RepoBackupReport> {
        guard(|| self.run_backup(&store, options, None, listener, cancellation))
    }

    /// Restores snapshot `snapshot_id` (the latest when null) into the database file
    /// `target_path`, through a temporary database that is checked (counts, digest, integrity)
    /// and renamed into place only then. A target with data fails with `TargetExists` unless
    /// `replace` (close the app's store first). On failure or cancel nothing is left behind.
    #[uniffi::method(default(snapshot_id = None, replace = false, listener = None, cancellation = None))]
    pub fn restore(
        &self,
        target_path: String,
        snapshot_id: Option<String>,
        replace: bool,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<RestoreReport> {
        guard(|| {
            let observers = Observers::new(listener, cancellation);
            observers.check()?;
            let id = records::snapshot_id(snapshot_id.as_deref())?;
            let report = self.inner.with(|r| {
                core_backup::restore_from_repo(
                    r,
                    id.as_ref(),
                    std::path::Path::new(&target_path),
                    &RestoreOptions { replace },
                    &observers.control(),
                )
            })?;
            Ok(restore_report(report))
        })
    }

    /// Releases the repository's keys now; later calls fail with `InvalidArgument`. Idempotent.
    pub fn close_repository(&self) -> FfiResult<()> {
        guard(|| {
            self.inner.take()?;
            Ok(())
        })
    }
}

/// Unlocking a repository with a passkey.
#[uniffi::export]
impl PasskeyUnlock {
    /// An assertion request for the backup repository in `store` (its config names the
    /// enrolled passkeys): a new device that has nothing but the store opens it this way.
    #[uniffi::constructor]
    pub fn for_repository(
        store: Arc<dyn BlobStore>,
        rp_id: String,
        discoverable: bool,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let store = ForeignBlobStore::wrap(store);
            let bytes = store.get(core_repo::CONFIG_NAME, None)?;
            let sealed = core_repo::config::SealedConfig::decode(&bytes)?;
            let flow = core_passkey::Unlock::for_slots(
                sealed.keyring_id,
                sealed.prf_input(),
                &sealed.slots,
                &rp_id,
                discoverable,
            )?;
            Ok(PasskeyUnlock::from_flow(flow))
        })
    }

    /// `for_renewal` for a re-key that starts from an open repository's keyring
    /// (`Repository.rekeyed_keyring` on a new device whose `Repository.keyring()` was refused):
    /// it names the repository's passkeys under `new_keyring`'s PRF input.
    #[uniffi::constructor]
    pub fn for_repository_renewal(
        repository: Arc<Repository>,
        new_keyring: Arc<Keyring>,
        rp_id: String,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let old_slots = repository
                .inner
                .with(|r| Ok(r.keyring().slots().to_vec()))?;
            let flow =
                new_keyring.with(|k| core_passkey::Unlock::for_renewal(&old_slots, k, &rp_id))?;
            Ok(PasskeyUnlock::from_flow(flow))
        })
    }
}

impl Repository {
    /// A backup, with media or without.
    fn run_backup(
        &self,
        store: &ChatStore,
        options: Option<BackupOptions>,
        media: Option<&MediaBackup<'_>>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<RepoBackupReport> {
        let observers = Observers::new(listener, cancellation);
        observers.check()?;
        let device_generation = match &self.device {
            Some(keyring) => keyring.with(|k| Ok(k.generation()))?,
            None => 0,
        };
        let mut options = options.map_or_else(
            || Ok(CoreBackupOptions::for_generation(device_generation)),
            |o| o.to_core(),
        )?;
        options.known_generation = options.known_generation.max(device_generation);
        let summary = store.with_store(|s| {
            self.inner.with_mut(|r| {
                core_backup::backup_store_with_media(
                    s,
                    r,
                    self.cache_dir.as_deref(),
                    &options,
                    media,
                    &observers.control(),
                )
            })
        })?;
        Ok(summary.into())
    }
}

fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod app_store;
#[cfg(test)]
mod heal_tests;
#[cfg(test)]
mod tests;
