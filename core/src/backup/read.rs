//! Reading backups: inspect (no secret), unlock, verify (authenticate and decode everything,
//! write nothing) and restore (into a temporary database that is checked, then renamed).
//!
//! Verify and restore run on two threads joined by a bounded [`pipe`]: a second thread
//! authenticates, decrypts and decompresses the payload; the calling thread decodes records
//! (a restore decodes on a third thread, see [`archive::import`], and inserts on the calling
//! one). A restore then builds the indexes ([`Phase::Index`]) and checks the database
//! ([`Phase::Check`]), each with a progress estimate that moves evenly.

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::Path,
    thread,
};

use super::{
    check_counts, counts_from_metadata,
    install::{check_target, install},
    pipe::{pick_error, pipe, PipeReader},
    snapshot::{read_sqlite_magic, restore_snapshot, SQLITE_MAGIC},
    Control, RestoreOptions, Secret,
};
use crate::atomic::{sweep_leftovers, TempPath};
use crate::{
    archive::{self, ImportSummary},
    format::{self, Header, OpenedContainer, PayloadKind},
    progress::{Phase, Reporter, Unit},
    store::{ChatStore, RecordCounts},
    Error, Result,
};

/// What a backup declares publicly, readable without any secret (nothing here is verified
/// until the backup is unlocked).
#[derive(Debug, Clone)]
pub struct BackupInfo {
    /// The container header: version, payload kind, key slots (public fields), metadata,
    /// creation time.
    pub header: Header,
    /// Record counts declared in the metadata (chat archive).
    pub declared_counts: Option<RecordCounts>,
    /// Size of the backup file, when inspected from a path.
    pub file_bytes: Option<u64>,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The payload kind.
    pub kind: PayloadKind,
    /// Records decoded per kind (chat archive only), equal to the header's declared counts.
    pub counts: Option<RecordCounts>,
    /// Records of a newer writer that this build skipped (chat archive only).
    pub skipped_unknown: u64,
    /// Digest of the record stream, checked against the archive trailer (chat archive only).
    pub digest: Option<[u8; 32]>,
    /// Decrypted, decompressed payload bytes.
    pub payload_bytes: u64,
}

/// What [`restore`] put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The payload kind.
    pub kind: PayloadKind,
    /// Records restored per kind (chat archive only).
    pub counts: Option<RecordCounts>,
    /// Records of a newer writer that this build skipped (chat archive only).
    pub skipped_unknown: u64,
    /// Size of the restored database file in bytes.
    pub database_bytes: u64,
}

/// Reads the public header of a backup.
pub fn inspect<R: Read>(source: R) -> Result<BackupInfo> {
    let sealed = format::open(source)?;
    let header = sealed.header().clone();
    let declared_counts = counts_from_metadata(header.metadata())?;
    Ok(BackupInfo {
        header,
        declared_counts,
        file_bytes: None,
    })
}

/// [`inspect`] of a backup file.
pub fn inspect_path(path: &Path) -> Result<BackupInfo> {
    let file = File::open(path).map_err(|e| Error::io_at(path, e))?;
    let size = file.metadata().map_err(|e| Error::io_at(path, e))?.len();
    let mut info = inspect(BufReader::new(file)).map_err(|e| e.with_path(path))?;
    info.file_bytes = Some(size);
    Ok(info)
}

/// Opens a backup with `secret`: parses the header, unwraps the root key from the matching slot
/// and verifies the header MAC. The payload is authenticated as it is read.
pub fn unlock<R: Read>(source: R, secret: &Secret<'_>) -> Result<OpenedContainer<R>> {
    let sealed = format::open(source)?;
    match secret {
        Secret::RecoveryKey(key) => sealed.unlock_with_recovery_key(key),
        Secret::Passkey { credential_id, prf } => sealed.unlock_with_passkey(credential_id, prf),
        Secret::Password(password) => sealed.unlock_with_password(password),
        Secret::RootKey(root) => sealed.unlock_with_root_key(root),
        Secret::DeviceRootKey {
            keyring_id,
            generation,
            root,
        } => sealed.unlock_with_keyring_root(keyring_id, *generation, root),
        Secret::Keyring(keyring) => sealed.unlock_with_keyring(keyring),
    }
}

/// Authenticates and decodes a whole backup without writing a database, and checks the decoded
/// counts against the header and the digest against the archive trailer.
pub fn verify<R: Read + Send>(
    source: R,
    secret: &Secret<'_>,
    control: &Control<'_>,
) -> Result<VerifyReport> {
    let opened = unlock(source, secret)?;
    let kind = opened.header().payload_kind();
    let declared = counts_from_metadata(opened.header().metadata())?;
    let total = declared.as_ref().map_or(0, RecordCounts::total);
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Verify,
        Unit::Rows,
        total,
    );
    match kind {
        PayloadKind::ChatArchive => {
            let declared = declared.ok_or_else(missing_counts)?;
            let (summary, payload_bytes) = overlapped(opened.into_payload()?, |records| {
                archive::verify(records, &mut reporter)
            })?;
            check_counts("verify", &declared, &summary.counts)?;
            reporter.finish_phase()?;
            Ok(VerifyReport {
                kind,
                counts: Some(summary.counts),
                skipped_unknown: summary.skipped_unknown,
                digest: Some(summary.digest),
                payload_bytes,
            })
        }
        PayloadKind::SqliteSnapshot => {
            reporter.start_phase(Phase::Verify, Unit::Bytes, 0)?;
            let mut payload = opened.into_payload()?;
            read_sqlite_magic(&mut payload)?;
            let payload_bytes =
                drain_checked(&mut payload, &mut reporter)? + SQLITE_MAGIC.len() as u64;
            reporter.finish_phase()?;
            Ok(VerifyReport {
                kind,
                counts: None,
                skipped_unknown: 0,
                digest: None,
                payload_bytes,
            })
        }
    }
}

/// [`verify`] of a backup file.
pub fn verify_path(
    path: &Path,
    secret: &Secret<'_>,
    control: &Control<'_>,
) -> Result<VerifyReport> {
    let file = File::open(path).map_err(|e| Error::io_at(path, e))?;
    verify(BufReader::new(file), secret, control).map_err(|e| e.with_path(path))
}

/// Restores a backup into the database file `target`.
///
/// Everything goes into a temporary database beside `target`, in one transaction; it is then
/// checked (counts against the header, digest against the trailer, `PRAGMA integrity_check`,
/// `PRAGMA foreign_key_check`), fsynced and renamed over `target`. On any failure or cancel,
/// `target` is untouched and no temporary file remains. A `target` holding data is refused
/// with [`Error::TargetExists`] unless `options.replace`.
pub fn restore<R: Read + Send>(
    source: R,
    secret: &Secret<'_>,
    target: &Path,
    options: &RestoreOptions,
    control: &Control<'_>,
) -> Result<RestoreReport> {
    check_target(target, options.replace)?;
    let opened = unlock(source, secret)?;
    let kind = opened.header().payload_kind();
    match kind {
        PayloadKind::ChatArchive => restore_archive(opened, target, options.replace, control),
        PayloadKind::SqliteSnapshot => {
            let mut reporter = Reporter::new(
                control.progress,
                control.cancel,
                Phase::Restore,
                Unit::Bytes,
                0,
            );
            let mut payload = opened.into_payload()?;
            let database_bytes =
                restore_snapshot(&mut payload, target, options.replace, &mut reporter)?;
            Ok(RestoreReport {
                kind,
                counts: None,
                skipped_unknown: 0,
                database_bytes,
            })
        }
    }
}

/// [`restore`] from a backup file.
pub fn restore_path(
    backup: &Path,
    secret: &Secret<'_>,
    target: &Path,
    options: &RestoreOptions,
    control: &Control<'_>,
) -> Result<RestoreReport> {
    let file = File::open(backup).map_err(|e| Error::io_at(backup, e))?;
    restore(BufReader::new(file), secret, target, options, control)
}

fn restore_archive<R: Read + Send>(
    opened: OpenedContainer<R>,
    target: &Path,
    replace: bool,
    control: &Control<'_>,
) -> Result<RestoreReport> {
    let declared = counts_from_metadata(opened.header().metadata())?.ok_or_else(missing_counts)?;
    // The archive's own trailer carries its digest, which the import checks.
    import_checked(
        opened.into_payload()?,
        &declared,
        target,
        replace,
        control,
        |_| Ok(()),
    )
}

/// The restore of a chat archive, wherever its bytes come from (a container's payload, a
/// repository snapshot): import into a temporary database beside `target` (`Phase::Restore`),
/// build its indexes (`Phase::Index`), check the counts against `declared`, run `check_summary`
/// (a caller's extra check, such as a manifest digest), `integrity_check` and
/// `foreign_key_check` (`Phase::Check`), then install it. On any failure or cancel the target is
/// untouched and the temporary file removed.
pub(crate) fn import_checked(
    payload: impl Read + Send,
    declared: &RecordCounts,
    target: &Path,
    replace: bool,
    control: &Control<'_>,
    check_summary: impl FnOnce(&ImportSummary) -> Result<()>,
) -> Result<RestoreReport> {
    sweep_leftovers(target)?;
    let temp = TempPath::unique_name(target)?;
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Restore,
        Unit::Rows,
        declared.total(),
    );
    let mut store = ChatStore::create_for_import(temp.path())?;
    let (summary, _) = overlapped(payload, |records| {
        archive::import(records, &mut store, &mut reporter)
    })?;
    reporter.finish_phase()?;
    store.finish_import(&mut reporter)?;

    reporter.start_phase(Phase::Check, Unit::Rows, declared.total())?;
    check_counts("restore", declared, &summary.counts)?;
    check_summary(&summary)?;
    check_counts("restored database", declared, &store.counts()?)?;
    store.check_integrity_reporting(&mut reporter)?;
    store.close()?;
    reporter.finish_phase()?;
    let database_bytes = std::fs::metadata(temp.path())
        .map_err(|e| Error::io_at(temp.path(), e))?
        .len();
    install(temp, replace)?;
    Ok(RestoreReport {
        kind: PayloadKind::ChatArchive,
        counts: Some(summary.counts),
        skipped_unknown: summary.skipped_unknown,
        database_bytes,
    })
}

/// Runs `decode` on the calling thread over the payload, which a second thread authenticates,
/// decrypts and decompresses. After `decode` the payload must be at its authenticated end:
/// bytes after the archive's end are corruption, not something to ignore.
pub(crate) fn overlapped(
    payload: impl Read + Send,
    decode: impl FnOnce(&mut (dyn Read + Send)) -> Result<ImportSummary>,
) -> Result<(ImportSummary, u64)> {
    let (mut plain_in, mut plain_out) = pipe();
    let (decoded, opened) = thread::scope(|scope| {
        let opener = scope.spawn(move || -> Result<u64> {
            let mut payload = payload;
            let bytes = io::copy(&mut payload, &mut plain_in)?;
            plain_in.finish()?;
            Ok(bytes)
        });
        let decoded = decode(&mut plain_out).and_then(|summary| {
            expect_end(&mut plain_out)?;
            Ok(summary)
        });
        // Dropping the reading end stops the opener if decoding ended early.
        drop(plain_out);
        let opened = opener
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (decoded, opened)
    });
    pick_error(decoded, opened)
}

pub(crate) fn expect_end(records: &mut PipeReader) -> Result<()> {
    let mut extra = [0u8; 1];
    match records.read(&mut extra)? {
        0 => Ok(()),
        _ => Err(Error::Corrupted {
            what: "data after the end of the archive".into(),
        }),
    }
}

/// Reads a payload to its authenticated end, checking cancellation per buffer.
fn drain_checked(payload: &mut dyn Read, reporter: &mut Reporter<'_>) -> Result<u64> {
    let mut buffer = vec![0u8; super::pipe::BUFFER_SIZE];
    let mut total = 0u64;
    loop {
        match payload.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                total += n as u64;
                reporter.advance(n as u64)?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
}

fn missing_counts() -> Error {
    Error::Corrupted {
        what: "chat archive header declares no record counts".into(),
    }
}
