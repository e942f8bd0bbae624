//! Writing backups: a chat archive of a [`ChatStore`] or a snapshot of any SQLite file, into a
//! container, to any sink or atomically to a path.
//!
//! A chat backup runs on two threads joined by a bounded [`pipe`]: the calling thread scans the
//! store in one read transaction and encodes records; a second thread compresses and encrypts
//! them into the sink. Either side's failure stops the other; the first real error is returned.

use std::{
    io::{self, Write},
    path::Path,
    thread,
};

use super::{
    metadata_with_counts,
    pipe::{pick_error, pipe, PipeReader},
    snapshot::write_snapshot,
    BackupOptions, Control,
};
use crate::atomic::AtomicFile;
use crate::{
    archive::{Export, ExportSummary},
    format::{ContainerWriter, PayloadKind, WriteOptions},
    keyring::Keyring,
    progress::{Phase, Reporter, Unit},
    store::{ChatStore, RecordCounts},
    Error, Result,
};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The payload kind.
    pub kind: PayloadKind,
    /// Records per kind (chat archive only); also in the header metadata.
    pub counts: Option<RecordCounts>,
    /// Digest of the record stream (chat archive only); also at the end of the payload.
    pub digest: Option<[u8; 32]>,
    /// Plaintext payload bytes before compression.
    pub payload_bytes: u64,
    /// Bytes of the whole container written to the sink.
    pub container_bytes: u64,
}

/// Backs up `store` into `sink` as a chat archive; returns the sink and a summary.
///
/// The export is one read transaction, so the backup is the state of the store when it began,
/// even while the app keeps writing. On error the sink holds a partial, unauthenticated
/// container that any reader rejects; use [`backup_store_to_path`] to leave nothing behind.
pub fn backup_store<W: Write + Send>(
    store: &ChatStore,
    keyring: &Keyring,
    sink: W,
    options: &BackupOptions,
    control: &Control<'_>,
) -> Result<(W, BackupSummary)> {
    let export = Export::begin(store)?;
    let counts = *export.counts();
    let metadata = metadata_with_counts(&options.extra_metadata, Some(&counts))?;
    let container = ContainerWriter::new(
        CountingWriter::new(sink),
        keyring,
        PayloadKind::ChatArchive,
        &metadata,
        &write_options(options),
    )?;
    let (summary, (counting, payload_bytes)) =
        export_through_pipe(export, control, move |records_out| {
            let mut container = container;
            let payload_bytes = records_out.drain_into(&mut container)?;
            Ok((container.finish()?, payload_bytes))
        })?;
    let (sink, container_bytes) = counting.into_parts();
    Ok((
        sink,
        BackupSummary {
            kind: PayloadKind::ChatArchive,
            counts: Some(summary.counts),
            digest: Some(summary.digest),
            payload_bytes,
            container_bytes,
        },
    ))
}

/// Runs a chat backup's two halves: `consume` reads the record stream on a second thread while
/// this one exports `export` into the bounded pipe, reporting rows on `control`. The pipe's
/// writing end is moved into the export, so it is dropped (waking the consumer) on any error;
/// the first real error of either side is returned.
pub(super) fn export_through_pipe<T: Send>(
    export: Export<'_>,
    control: &Control<'_>,
    consume: impl FnOnce(&mut PipeReader) -> Result<T> + Send,
) -> Result<(ExportSummary, T)> {
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Backup,
        Unit::Rows,
        export.counts().total(),
    );
    let (mut records_in, mut records_out) = pipe();
    let (exported, consumed) = thread::scope(|scope| {
        let consumer = scope.spawn(move || consume(&mut records_out));
        let exported = (move || {
            let summary = export.write_to(&mut records_in, &mut reporter)?;
            records_in.finish()?;
            reporter.finish_phase()?;
            Ok(summary)
        })();
        let consumed = consumer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (exported, consumed)
    });
    pick_error(exported, consumed)
}

/// Backs up `store` to the file `path`: written to a temporary file beside it, fsynced and
/// renamed only when complete. On error or cancel nothing is left and an old file is untouched.
pub fn backup_store_to_path(
    store: &ChatStore,
    keyring: &Keyring,
    path: &Path,
    options: &BackupOptions,
    control: &Control<'_>,
) -> Result<BackupSummary> {
    write_atomically(path, |sink| {
        backup_store(store, keyring, sink, options, control)
    })
}

/// Runs `backup` into a buffered temporary file beside `path`, then fsyncs and renames it into
/// place; on any error the temporary file is removed and `path` is untouched.
fn write_atomically(
    path: &Path,
    backup: impl FnOnce(io::BufWriter<AtomicFile>) -> Result<(io::BufWriter<AtomicFile>, BackupSummary)>,
) -> Result<BackupSummary> {
    let file = AtomicFile::create(path)?;
    let sink = io::BufWriter::with_capacity(super::pipe::BUFFER_SIZE, file);
    let (sink, summary) = backup(sink).map_err(|e| e.with_path(path))?;
    let file = sink
        .into_inner()
        .map_err(|err| Error::io_at(path, err.into_error()))?;
    file.commit()?;
    Ok(summary)
}

/// Backs up the SQLite database at `source` (any schema) into `sink` as a snapshot, using
/// SQLite's online backup API so the copy is consistent while other connections write.
pub fn backup_sqlite_file<W: Write + Send>(
    source: &Path,
    keyring: &Keyring,
    sink: W,
    options: &BackupOptions,
    control: &Control<'_>,
) -> Result<(W, BackupSummary)> {
    let metadata = metadata_with_counts(&options.extra_metadata, None)?;
    let mut container = ContainerWriter::new(
        CountingWriter::new(sink),
        keyring,
        PayloadKind::SqliteSnapshot,
        &metadata,
        &write_options(options),
    )?;
    let mut reporter = Reporter::new(
        control.progress,
        control.cancel,
        Phase::Backup,
        Unit::Bytes,
        0,
    );
    let payload_bytes = write_snapshot(
        source,
        options.temp_dir.as_deref(),
        &mut container,
        &mut reporter,
    )?;
    let (sink, container_bytes) = container.finish()?.into_parts();
    Ok((
        sink,
        BackupSummary {
            kind: PayloadKind::SqliteSnapshot,
            counts: None,
            digest: None,
            payload_bytes,
            container_bytes,
        },
    ))
}

/// [`backup_sqlite_file`] to the file `path`, atomically.
pub fn backup_sqlite_file_to_path(
    source: &Path,
    keyring: &Keyring,
    path: &Path,
    options: &BackupOptions,
    control: &Control<'_>,
) -> Result<BackupSummary> {
    write_atomically(path, |sink| {
        backup_sqlite_file(source, keyring, sink, options, control)
    })
}

fn write_options(options: &BackupOptions) -> WriteOptions {
    WriteOptions {
        compression_level: options.compression_level,
        known_generation: options.known_generation,
    }
}

/// Counts the bytes written through it.
struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> CountingWriter<W> {
    fn new(inner: W) -> Self {
        CountingWriter { inner, written: 0 }
    }

    fn into_parts(self) -> (W, u64) {
        (self.inner, self.written)
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
