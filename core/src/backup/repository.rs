//! Backups into a repository (`crate::repo`): the chat archive of a [`ChatStore`] written as a
//! snapshot, restored through the same atomic path as a single-file backup, plus prune and
//! check with progress and cancellation.
//!
//! A backup runs on three threads: the calling thread exports records (one read transaction)
//! into the bounded pipe; the second chunks and deduplicates; the packer (`repo::packer`)
//! compresses, seals and uploads.
//! A restore runs the repository reader (fetch, authenticate, decompress) on a second thread
//! and imports on the calling thread into a temporary database, which is checked (counts
//! against the snapshot, digest, integrity) and renamed over the target only then.

use std::{
    path::Path,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use super::{
    install::check_target,
    read::{import_checked, RestoreReport},
    write::export_through_pipe,
    BackupOptions, Control, RestoreOptions, Secret,
};
use crate::{
    archive::Export,
    crypto::RootKey,
    keyring::{
        unwrap_with_passkey, unwrap_with_password, unwrap_with_recovery_key, Authenticity,
        KeyringId, UnlockedRoot,
    },
    media::{
        write::write_media, MediaBackup, MediaBackupStats, MediaFilter, MediaRestore,
        MediaRestoreReport, MediaSink,
    },
    progress::{Phase, Reporter, Unit},
    repo::{
        check::{self, CheckOptions, CheckReport},
        prune::{self, PruneOptions, PruneReport, RetentionPolicy},
        BlobStore, Healing, Repository, SnapshotId, SnapshotMeta, SnapshotWriter, WriterOptions,
    },
    store::{ChatStore, RecordCounts},
    Error, Result,
};

/// What [`backup_store_to_repo`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoBackupSummary {
    /// The new snapshot.
    pub snapshot: SnapshotId,
    /// Records per kind.
    pub counts: RecordCounts,
    /// The archive's digest.
    pub digest: [u8; 32],
    /// Bytes of the archive stream read.
    pub bytes_read: u64,
    /// Data chunks in the stream.
    pub chunks: u64,
    /// Chunks that were new to the repository.
    pub new_chunks: u64,
    /// Bytes put into the store.
    pub bytes_uploaded: u64,
    /// Objects put into the store.
    pub objects_written: u64,
    /// Packs of an interrupted earlier run that this run adopted.
    pub packs_adopted: u64,
    /// What the media part did, when the backup had media.
    pub media: Option<MediaBackupStats>,
    /// What the backup found wrong in the store and healed (lost or damaged objects).
    pub healing: Healing,
}

impl Repository {
    /// Opens the repository in `store` with `secret`: a passkey's PRF output, the recovery key
    /// or a password (through the config's slots, from a new device), or the device's root key
    /// or keyring. A secret that opens no slot is [`Error::WrongKey`] ([`Error::WrongPassword`]
    /// for a password); a keyring of another repository too; the device's key of another
    /// generation than the config's is [`Error::OtherGeneration`]; a config that fails its MAC
    /// is [`Error::Corrupted`]. Opened with the device's keyring, the repository adopts it
    /// ([`Repository::adopt_keyring`]): slots added since are written into the config. Opened
    /// through a version 2 slot, it reads but refuses to write
    /// ([`Error::UnauthenticatedKeyring`]) until the device's keyring is adopted.
    pub fn open(store: Arc<dyn BlobStore>, secret: &Secret<'_>) -> Result<Repository> {
        let mut repo = Repository::open_with(store, |keyring_id, generation, slots| {
            let device_root = |id: &KeyringId, device: u64, root: &RootKey| {
                if id != keyring_id {
                    Err(Error::WrongKey)
                } else if device != generation {
                    Err(Error::OtherGeneration {
                        sealed: generation,
                        device,
                    })
                } else {
                    Ok(UnlockedRoot::device(root.clone()))
                }
            };
            match secret {
                Secret::RecoveryKey(key) => {
                    unwrap_with_recovery_key(keyring_id, generation, slots, key)
                }
                Secret::Passkey { credential_id, prf } => {
                    unwrap_with_passkey(keyring_id, generation, slots, credential_id, prf)
                }
                Secret::Password(password) => {
                    unwrap_with_password(keyring_id, generation, slots, password)
                }
                Secret::RootKey(root) => Ok(UnlockedRoot::device((*root).clone())),
                Secret::DeviceRootKey {
                    keyring_id: id,
                    generation: device,
                    root,
                } => device_root(id, *device, root),
                Secret::Keyring(keyring) => {
                    let mut unlocked =
                        device_root(keyring.id(), keyring.generation(), keyring.root_key())?;
                    if let Some(auth) = keyring.auth_secret() {
                        unlocked.authenticity = Authenticity::Sealed(auth.clone());
                    }
                    Ok(unlocked)
                }
            }
        })?;
        // The device's keyring may have gained slots since the config was written.
        if let Secret::Keyring(keyring) = secret {
            repo.adopt_keyring(keyring)?;
        }
        Ok(repo)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Backs up `store` into `repo` as a new snapshot. Only chunks the repository lacks are
/// uploaded. `cache_dir` keeps the local cache (index and snapshot copies, device id) that makes
/// the daily run cheap; without it everything is read from the store. A run that fails or is
/// killed leaves no snapshot; the next run reuses what it uploaded.
pub fn backup_store_to_repo(
    store: &ChatStore,
    repo: &mut Repository,
    cache_dir: Option<&Path>,
    options: &BackupOptions,
    control: &Control<'_>,
) -> Result<RepoBackupSummary> {
    backup_store_with_media(store, repo, cache_dir, options, None, control)
}

/// [`backup_store_to_repo`] with the attachments' bytes: after the chat archive, every
/// attachment's file is read from `media.source` (new and changed files only; see
/// `crate::media::write`) and its new chunks are uploaded in media packs. The snapshot, written
/// last, holds both; a run killed during the media part leaves no snapshot, and the next run
/// reuses every chunk already uploaded. Progress reports a [`Phase::Media`] phase in bytes and
/// files after the archive.
///
/// If a pack the snapshot needs disappears while it runs (another device pruned, the store
/// lost it), the backup is run once more from the start, and that run uploads what is missing
/// ([`Error::StoreChanged`] only if it happens twice).
pub fn backup_store_with_media(
    store: &ChatStore,
    repo: &mut Repository,
    cache_dir: Option<&Path>,
    options: &BackupOptions,
    media: Option<&MediaBackup<'_>>,
    control: &Control<'_>,
) -> Result<RepoBackupSummary> {
    repo.keyring()
        .check_not_rolled_back(options.known_generation)?;
    match backup_once(store, repo, cache_dir, options, media, control) {
        Err(Error::StoreChanged { what }) => {
            log::warn!("the repository changed during the backup ({what}); running it again");
            backup_once(store, repo, cache_dir, options, media, control)
        }
        other => other,
    }
}

fn backup_once(
    store: &ChatStore,
    repo: &Repository,
    cache_dir: Option<&Path>,
    options: &BackupOptions,
    media: Option<&MediaBackup<'_>>,
    control: &Control<'_>,
) -> Result<RepoBackupSummary> {
    let time = now();
    let export = Export::begin(store)?;
    let writer_options = WriterOptions {
        verify_bytes: options.verify_bytes,
    };
    let mut writer = repo.begin_snapshot(cache_dir, &writer_options)?;
    writer.set_compression_level(options.compression_level)?;
    let (summary, mut writer) = export_through_pipe(export, control, move |records_out| {
        let mut cancel_only = Reporter::new(None, control.cancel, Phase::Backup, Unit::Bytes, 0);
        let mut writer = writer;
        writer
            .write_stream(records_out, &mut cancel_only)
            .map(|()| writer)
    })?;
    if let Some(cancel) = control.cancel {
        cancel.check()?;
    }
    let media_stats = match media {
        Some(media) => {
            let mut reporter = Reporter::new(
                control.progress,
                control.cancel,
                Phase::Media,
                Unit::Bytes,
                0,
            );
            Some(write_media(&mut writer, store, media, &mut reporter)?)
        }
        None => None,
    };
    commit(writer, time, summary.counts, summary.digest, media_stats)
}

fn commit(
    writer: SnapshotWriter<'_>,
    time: u64,
    counts: RecordCounts,
    digest: [u8; 32],
    media: Option<MediaBackupStats>,
) -> Result<RepoBackupSummary> {
    let (info, stats) = writer.commit(SnapshotMeta {
        time,
        counts,
        digest,
        media: media.map(|m| m.summary),
    })?;
    Ok(RepoBackupSummary {
        snapshot: info.id,
        counts,
        digest,
        bytes_read: stats.stream_bytes,
        chunks: stats.chunks,
        new_chunks: stats.new_chunks,
        bytes_uploaded: stats.bytes_uploaded,
        objects_written: stats.objects_written,
        packs_adopted: stats.packs_adopted,
        media,
        healing: stats.healing,
    })
}

/// Restores snapshot `snapshot` (the latest when `None`) into the database file `target`,
/// through the same path as a single-file restore: a temporary database beside the target,
/// one import transaction, counts against the snapshot, the archive digest against the
/// snapshot's, `PRAGMA integrity_check` and `foreign_key_check`, then an atomic rename. On any
/// failure or cancel the target is untouched and no temporary file remains.
pub fn restore_from_repo(
    repo: &Repository,
    snapshot: Option<&SnapshotId>,
    target: &Path,
    options: &RestoreOptions,
    control: &Control<'_>,
) -> Result<RestoreReport> {
    check_target(target, options.replace)?;
    let (info, reader) = repo.read_snapshot(snapshot)?;
    import_checked(
        reader,
        &info.counts,
        target,
        options.replace,
        control,
        |summary| {
            if summary.digest == info.digest {
                Ok(())
            } else {
                Err(Error::Corrupted {
                    what: format!(
                        "snapshot {}: archive digest differs from the manifest",
                        info.id
                    ),
                })
            }
        },
    )
}

/// Restores the media of snapshot `snapshot` (the latest when `None`) through `sink`, after
/// the database restore: the attachments `filter` selects that earlier runs did not restore.
/// Resumable: the state is kept in `state_dir` (see [`MediaRestore`]). Lost attachments are
/// listed in the report; a store or sink failure, or a cancel, is an error and the next call
/// resumes.
pub fn restore_media_from_repo(
    repo: &Repository,
    snapshot: Option<&SnapshotId>,
    state_dir: &Path,
    filter: &MediaFilter,
    sink: &dyn MediaSink,
    control: &Control<'_>,
) -> Result<MediaRestoreReport> {
    let mut restore = MediaRestore::open(repo, snapshot, state_dir)?;
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Media,
        Unit::Bytes,
        0,
    );
    restore.run(filter, sink, &mut reporter)
}

/// Forgets the snapshots `policy` does not keep and reclaims their space (see
/// `crate::repo::prune` for the crash-safe order, the two-phase deletion and the guard
/// rails). Takes the repository's lock.
pub fn prune_repo(
    repo: &mut Repository,
    policy: &RetentionPolicy,
    options: &PruneOptions,
    control: &Control<'_>,
) -> Result<PruneReport> {
    // Deleting on the word of a config the store may have forged could lose real data.
    repo.check_writable()?;
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Prune,
        Unit::Rows,
        0,
    );
    prune::prune(repo, policy, options, &mut reporter)
}

/// Checks the repository's structure and, for `options.read_data_fraction` of the packs, every
/// chunk's content. Every problem is listed in the report, with a verdict (healthy, healed,
/// broken); damage found in chunks is noted in the store so the next backup heals it.
pub fn check_repo(
    repo: &Repository,
    options: &CheckOptions,
    control: &Control<'_>,
) -> Result<CheckReport> {
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Check,
        Unit::Rows,
        0,
    );
    check::check(repo, options, &mut reporter)
}
