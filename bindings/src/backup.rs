//! Backup, inspect, verify and restore as exported functions. Each long call blocks its thread:
//! run it off the UI thread (the Kotlin and Swift layers do), observe it with a
//! `ProgressListener`, stop it with a `Cancellation`.

use std::{collections::HashMap, path::Path, sync::Arc};

use keepsake_core::{
    backup::{self as core_backup, BackupOptions as CoreBackupOptions, RestoreOptions},
    format::PayloadKind as CorePayloadKind,
};

use crate::{
    count::{long, unsigned},
    error::{guard, FfiResult, KeepsakeError},
    keyring::{Keyring, SlotInfo},
    progress::{Cancellation, Observers, ProgressListener},
    secret::BackupSecret,
    store::{ChatStore, RecordCounts},
    streams::{ByteSink, ByteSource, SinkWriter, SourceReader},
};

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PayloadKind {
    /// The chat store's records (schema independent).
    ChatArchive,
    /// A snapshot of a SQLite file.
    SqliteSnapshot,
}

impl From<CorePayloadKind> for PayloadKind {
    fn from(kind: CorePayloadKind) -> Self {
        match kind {
            CorePayloadKind::ChatArchive => PayloadKind::ChatArchive,
            CorePayloadKind::SqliteSnapshot => PayloadKind::SqliteSnapshot,
        }
    }
}

/// Highest zstd level the mobile API takes. Levels 1 to 3 use zstd's fast and double-fast
/// strategies at every input size; the mobile libraries are built without the slower strategies
/// of the higher levels (scripts/mobile-cflags.sh), which chat text barely profits from.
pub(crate) const MAX_MOBILE_COMPRESSION_LEVEL: i32 = 3;

/// How a backup is written.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BackupOptions {
    /// zstd level 1 to 3 (3, the default, is fast and compresses chat text well), or 0 to store
    /// the payload uncompressed; any other level is `InvalidArgument`.
    #[uniffi(default = 3)]
    pub compression_level: i32,
    /// Public header entries (e.g. the app version): authenticated, NOT encrypted.
    pub extra_metadata: HashMap<String, String>,
    /// The keyring generation the app keeps with its root key (`Keyring.generation()` after the
    /// last rotation); a keyring of a lower generation is refused with `KeyringRolledBack`.
    /// The generation of the keyring the backup is made with (a file backup), or of the device
    /// keyring a repository was opened with, is always checked too, so 0 never disables it.
    #[uniffi(default = 0)]
    pub known_generation: i64,
    /// Repository backups: bytes of packs read back and verified before each backup, least
    /// recently verified first, so a store that damages what it holds is found (and healed) by
    /// the next backup rather than at restore. 0 turns it off; the default is 16 MiB
    /// (`keepsake_core::repo::writer::DEFAULT_VERIFY_BYTES`). Single-file backups ignore it.
    #[uniffi(default = 16777216)]
    pub verify_bytes: i64,
}

impl BackupOptions {
    pub(crate) fn to_core(&self) -> FfiResult<CoreBackupOptions> {
        if !(0..=MAX_MOBILE_COMPRESSION_LEVEL).contains(&self.compression_level) {
            return Err(KeepsakeError::invalid(format!(
                "compression level {}: use 0 (none) or 1 to {MAX_MOBILE_COMPRESSION_LEVEL} (zstd)",
                self.compression_level
            )));
        }
        Ok(CoreBackupOptions {
            compression_level: self.compression_level,
            extra_metadata: self.extra_metadata.clone().into_iter().collect(),
            verify_bytes: unsigned(self.verify_bytes, "verify_bytes")?,
            ..CoreBackupOptions::for_generation(unsigned(
                self.known_generation,
                "the known generation",
            )?)
        })
    }
}

/// The core's options for a backup made with `keyring`: the app's known generation, never below
/// the keyring's own.
fn backup_options(
    keyring: &Keyring,
    options: Option<BackupOptions>,
) -> FfiResult<CoreBackupOptions> {
    let generation = keyring.with(|k| Ok(k.generation()))?;
    let mut core = options.map_or_else(
        || Ok(CoreBackupOptions::for_generation(generation)),
        |o| o.to_core(),
    )?;
    core.known_generation = core.known_generation.max(generation);
    Ok(core)
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BackupReport {
    /// Records per kind.
    pub counts: Option<RecordCounts>,
    /// Plaintext bytes before compression.
    pub payload_bytes: i64,
    /// Bytes of the backup file or stream.
    pub container_bytes: i64,
}

impl From<core_backup::BackupSummary> for BackupReport {
    fn from(s: core_backup::BackupSummary) -> Self {
        BackupReport {
            counts: s.counts.map(Into::into),
            payload_bytes: long(s.payload_bytes),
            container_bytes: long(s.container_bytes),
        }
    }
}

/// What a backup declares publicly (nothing here is verified before unlocking).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BackupInfo {
    /// Container format version.
    pub format_version: u16,
    /// What it holds.
    pub payload_kind: PayloadKind,
    /// The keyring that made it.
    pub keyring_id: Vec<u8>,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: i64,
    /// The key slots that can open it (passkeys, recovery keys).
    pub slots: Vec<SlotInfo>,
    /// Public metadata entries.
    pub metadata: HashMap<String, String>,
    /// Record counts it declares.
    pub declared_counts: Option<RecordCounts>,
    /// File size, when inspected from a path.
    pub file_bytes: Option<i64>,
}

impl From<core_backup::BackupInfo> for BackupInfo {
    fn from(info: core_backup::BackupInfo) -> Self {
        let h = &info.header;
        BackupInfo {
            format_version: h.version(),
            payload_kind: h.payload_kind().into(),
            keyring_id: h.keyring_id().as_bytes().to_vec(),
            created_at: long(h.created_at()),
            slots: h.slots().iter().map(SlotInfo::from).collect(),
            metadata: h
                .metadata()
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            declared_counts: info.declared_counts.map(Into::into),
            file_bytes: info.file_bytes.map(long),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifyReport {
    /// What it holds.
    pub payload_kind: PayloadKind,
    /// Records decoded per kind.
    pub counts: Option<RecordCounts>,
    /// Records of a newer app version this build skipped.
    pub skipped_unknown: i64,
    /// Decrypted, decompressed bytes.
    pub payload_bytes: i64,
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RestoreReport {
    /// What it held.
    pub payload_kind: PayloadKind,
    /// Records restored per kind.
    pub counts: Option<RecordCounts>,
    /// Records of a newer app version this build skipped.
    pub skipped_unknown: i64,
    /// Size of the restored database file.
    pub database_bytes: i64,
}

/// Backs up `store` to the file `path`: written to a temporary file and renamed when complete;
/// on failure or cancel nothing is left and an older file at `path` is untouched.
#[uniffi::export(default(options = None, listener = None, cancellation = None))]
pub fn backup_to_path(
    store: Arc<ChatStore>,
    keyring: Arc<Keyring>,
    path: String,
    options: Option<BackupOptions>,
    listener: Option<Arc<dyn ProgressListener>>,
    cancellation: Option<Arc<Cancellation>>,
) -> FfiResult<BackupReport> {
    guard(|| {
        let observers = Observers::new(listener, cancellation);
        observers.check()?;
        let options = backup_options(&keyring, options)?;
        let summary = store.with_store(|s| {
            keyring.with(|k| {
                core_backup::backup_store_to_path(
                    s,
                    k,
                    Path::new(&path),
                    &options,
                    &observers.control(),
                )
            })
        })?;
        Ok(summary.into())
    })
}

/// Backs up `store` into the app's `sink` (an upload stream), in chunks of at most 64 KiB;
/// `sink.finish()` is called only after the last byte. On failure the sink holds an incomplete
/// backup that every reader rejects: discard the upload.
#[uniffi::export(default(options = None, listener = None, cancellation = None))]
pub fn backup_to_sink(
    store: Arc<ChatStore>,
    keyring: Arc<Keyring>,
    sink: Arc<dyn ByteSink>,
    options: Option<BackupOptions>,
    listener: Option<Arc<dyn ProgressListener>>,
    cancellation: Option<Arc<Cancellation>>,
) -> FfiResult<BackupReport> {
    guard(|| {
        let observers = Observers::new(listener, cancellation);
        observers.check()?;
        let options = backup_options(&keyring, options)?;
        let (writer, summary) = store.with_store(|s| {
            keyring.with(|k| {
                core_backup::backup_store(
                    s,
                    k,
                    SinkWriter::new(sink),
                    &options,
                    &observers.control(),
                )
            })
        })?;
        writer.finish().map_err(keepsake_core::Error::from)?;
        Ok(summary.into())
    })
}

/// Reads the public header of the backup file at `path`, without any secret.
#[uniffi::export]
pub fn inspect_backup(path: String) -> FfiResult<BackupInfo> {
    guard(|| Ok(core_backup::inspect_path(Path::new(&path))?.into()))
}

/// Reads the public header of a backup from the app's `source` (reads only the header).
#[uniffi::export]
pub fn inspect_backup_source(source: Arc<dyn ByteSource>) -> FfiResult<BackupInfo> {
    guard(|| Ok(core_backup::inspect(SourceReader::new(source))?.into()))
}

/// Authenticates and decodes the whole backup at `path` without writing anything.
#[uniffi::export(default(listener = None, cancellation = None))]
pub fn verify_backup(
    path: String,
    secret: Arc<BackupSecret>,
    listener: Option<Arc<dyn ProgressListener>>,
    cancellation: Option<Arc<Cancellation>>,
) -> FfiResult<VerifyReport> {
    guard(|| {
        let observers = Observers::new(listener, cancellation);
        observers.check()?;
        let report = secret.unlock(|secret| {
            core_backup::verify_path(Path::new(&path), secret, &observers.control())
        })?;
        Ok(VerifyReport {
            payload_kind: report.kind.into(),
            counts: report.counts.map(Into::into),
            skipped_unknown: long(report.skipped_unknown),
            payload_bytes: long(report.payload_bytes),
        })
    })
}

pub(crate) fn restore_report(report: core_backup::RestoreReport) -> RestoreReport {
    RestoreReport {
        payload_kind: report.kind.into(),
        counts: report.counts.map(Into::into),
        skipped_unknown: long(report.skipped_unknown),
        database_bytes: long(report.database_bytes),
    }
}

/// Restores the backup file at `backup_path` into the database file `target_path`. Nothing is
/// touched until the whole backup is authenticated, imported into a temporary database and
/// checked; then it is renamed into place. A target with data fails with `TargetExists` unless
/// `replace` (close the app's store first). On failure or cancel nothing is left behind.
#[uniffi::export(default(replace = false, listener = None, cancellation = None))]
pub fn restore_from_path(
    backup_path: String,
    secret: Arc<BackupSecret>,
    target_path: String,
    replace: bool,
    listener: Option<Arc<dyn ProgressListener>>,
    cancellation: Option<Arc<Cancellation>>,
) -> FfiResult<RestoreReport> {
    guard(|| {
        let observers = Observers::new(listener, cancellation);
        observers.check()?;
        let report = secret.unlock(|secret| {
            core_backup::restore_path(
                Path::new(&backup_path),
                secret,
                Path::new(&target_path),
                &RestoreOptions { replace },
                &observers.control(),
            )
        })?;
        Ok(restore_report(report))
    })
}

/// Restores from the app's `source` (a download stream) into `target_path`; as
/// `restore_from_path`.
#[uniffi::export(default(replace = false, listener = None, cancellation = None))]
pub fn restore_from_source(
    source: Arc<dyn ByteSource>,
    secret: Arc<BackupSecret>,
    target_path: String,
    replace: bool,
    listener: Option<Arc<dyn ProgressListener>>,
    cancellation: Option<Arc<Cancellation>>,
) -> FfiResult<RestoreReport> {
    guard(|| {
        let observers = Observers::new(listener, cancellation);
        observers.check()?;
        let report = secret.unlock(|secret| {
            core_backup::restore(
                SourceReader::new(source),
                secret,
                Path::new(&target_path),
                &RestoreOptions { replace },
                &observers.control(),
            )
        })?;
        Ok(restore_report(report))
    })
}

/// The keyring of the backup at `path`, rebuilt with `secret`: on a new device, seal its root
/// key and keep using it, so later backups stay openable by the same passkeys and recovery key.
#[uniffi::export]
pub fn keyring_from_backup(path: String, secret: Arc<BackupSecret>) -> FfiResult<Arc<Keyring>> {
    guard(|| {
        let file = std::fs::File::open(&path).map_err(|e| keepsake_core::Error::io_at(&path, e))?;
        let opened =
            secret.unlock(|secret| core_backup::unlock(std::io::BufReader::new(file), secret))?;
        Ok(Keyring::wrap(opened.keyring()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(compression_level: i32) -> BackupOptions {
        BackupOptions {
            compression_level,
            extra_metadata: HashMap::new(),
            known_generation: 0,
            verify_bytes: 0,
        }
    }

    #[test]
    fn the_mobile_api_takes_zstd_levels_0_to_3_only() {
        for level in [0, 1, 3] {
            assert_eq!(options(level).to_core().unwrap().compression_level, level);
        }
        // The mobile libraries are built without the strategies of the higher levels.
        for level in [-1, 4, 19] {
            match options(level).to_core() {
                Err(KeepsakeError::InvalidArgument { detail }) => {
                    assert!(detail.contains("1 to 3"), "{detail}")
                }
                other => panic!("level {level}: {other:?}"),
            }
        }
    }
}
