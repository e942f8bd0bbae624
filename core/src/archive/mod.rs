//! The logical archive: every row of a [`ChatStore`] as a versioned record, streamed between a
//! store and bytes (`docs/SCHEMA.md` specifies the encoding).
//!
//! [`Export`] reads the store inside one read transaction, so a backup taken while the app keeps
//! writing is a consistent snapshot, and streams rows straight from SQLite statements into the
//! sink: memory stays constant whatever the database size. [`import`] loads an archive into an
//! empty store in one transaction (decoding on a second thread, inserting on the caller's) and
//! checks the trailer (counts, digest) before committing;
//! [`verify`] does the same checks without a database.

mod record;
mod row_encoding;
mod stream;
mod wire;

use std::{
    io::{Read, Write},
    sync::mpsc,
    thread,
};

use rusqlite::{ErrorCode, Row, Transaction};

pub use record::Record;
pub use stream::{
    ArchiveReader, ArchiveWriter, StreamSummary, HEADER_LEN, MAGIC, MAJOR_VERSION, MAX_RECORD_LEN,
    MINOR_VERSION,
};

pub use crate::store::RecordCounts;
use crate::{
    progress::Reporter,
    store::{self, database_error, ChatStore, Inserter, SqlResultExt},
    Error, Result,
};

/// Records between two progress reports and cancellation checks.
const BATCH: u64 = 4096;

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records per kind (equal to [`Export::counts`]).
    pub counts: RecordCounts,
    /// SHA-256 of the record stream, as written in the trailer.
    pub digest: [u8; 32],
}

/// What an import (or a verification) read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records per kind, checked against the trailer.
    pub counts: RecordCounts,
    /// Records of kinds unknown to this build (from a newer writer), skipped.
    pub skipped_unknown: u64,
    /// Unknown fields inside known records, skipped.
    pub skipped_unknown_fields: u64,
    /// SHA-256 of the record stream, checked against the trailer.
    pub digest: [u8; 32],
}

impl From<StreamSummary> for ImportSummary {
    fn from(s: StreamSummary) -> Self {
        ImportSummary {
            counts: s.counts,
            skipped_unknown: s.skipped_records,
            skipped_unknown_fields: s.skipped_fields,
            digest: s.digest,
        }
    }
}

/// An export in progress: one read transaction on the store, holding a consistent snapshot.
pub struct Export<'s> {
    tx: Transaction<'s>,
    counts: RecordCounts,
    store: &'s ChatStore,
}

impl<'s> Export<'s> {
    /// Opens the read transaction and counts the rows of the snapshot it sees. Writes made
    /// afterwards from other connections are not part of this export.
    pub fn begin(store: &'s ChatStore) -> Result<Export<'s>> {
        let at = |e: Error| match store.path() {
            Some(p) => e.with_path(p),
            None => e,
        };
        let tx = store
            .connection()
            .unchecked_transaction()
            .db()
            .map_err(at)?;
        // The first read fixes the snapshot (WAL), so the counts and the rows agree.
        let counts = store::count_rows(&tx).db().map_err(at)?;
        Ok(Export { tx, counts, store })
    }

    /// Rows per table in this snapshot: what the archive will hold.
    pub fn counts(&self) -> &RecordCounts {
        &self.counts
    }

    /// Streams every row as a record into `sink`, then the trailer. Calls
    /// `reporter.advance` every few thousand records (it fails with [`Error::Cancelled`] once
    /// cancelled). Nothing is collected in memory.
    pub fn write_to(
        self,
        sink: &mut dyn Write,
        reporter: &mut Reporter<'_>,
    ) -> Result<ExportSummary> {
        let mut writer = ArchiveWriter::new(sink);
        let mut pending = 0u64;
        let tables: [(&str, &str, &str, u64, EncodeRow); 5] = [
            (
                "conversations",
                store::CONVERSATION_COLUMNS,
                "id",
                record::KIND_CONVERSATION,
                row_encoding::conversation,
            ),
            (
                "participants",
                store::PARTICIPANT_COLUMNS,
                "conversation_id, user_id",
                record::KIND_PARTICIPANT,
                row_encoding::participant,
            ),
            (
                "messages",
                store::MESSAGE_COLUMNS,
                "id",
                record::KIND_MESSAGE,
                row_encoding::message,
            ),
            (
                "reactions",
                store::REACTION_COLUMNS,
                "message_id, sender, emoji",
                record::KIND_REACTION,
                row_encoding::reaction,
            ),
            (
                "attachments",
                store::ATTACHMENT_COLUMNS,
                "id",
                record::KIND_ATTACHMENT,
                row_encoding::attachment,
            ),
        ];
        for (table, columns, order, kind, encode) in tables {
            let sql = format!("SELECT {columns} FROM {table} ORDER BY {order}");
            let mut stmt = self.tx.prepare(&sql).db().map_err(|e| self.at(e))?;
            let mut rows = stmt.query([]).db().map_err(|e| self.at(e))?;
            while let Some(row) = rows.next().db().map_err(|e| self.at(e))? {
                writer.write_with(kind, |body| encode(row, body).db().map_err(|e| self.at(e)))?;
                pending += 1;
                if pending == BATCH {
                    reporter.advance(pending)?;
                    pending = 0;
                }
            }
        }
        if *writer.counts() != self.counts {
            return Err(self.at(Error::Database {
                message: format!(
                    "export read {:?} but counted {:?} in the same snapshot",
                    writer.counts(),
                    self.counts
                ),
                path: None,
            }));
        }
        reporter.advance(pending)?;
        let (_, summary) = writer.finish()?;
        Ok(ExportSummary {
            counts: summary.counts,
            digest: summary.digest,
        })
    }

    fn at(&self, err: Error) -> Error {
        match self.store.path() {
            Some(p) => err.with_path(p),
            None => err,
        }
    }
}

/// Encodes a row of a table as the body of its record.
type EncodeRow = fn(&Row<'_>, &mut Vec<u8>) -> rusqlite::Result<()>;

/// Loads an archive into `target`, which must be empty, in one transaction: either every record
/// is imported and the trailer's counts and digest match, or nothing is. A stream without its
/// trailer is [`Error::Truncated`]; damaged or inconsistent records are [`Error::Corrupted`];
/// a newer major version is [`Error::UnsupportedVersion`].
///
/// Decoding (stream parsing, digest, record decoding) runs on a second thread and hands
/// batches of records to the calling thread, which only inserts: the two overlap.
/// A store made by [`ChatStore::create_for_import`] checks references later, in
/// [`ChatStore::check_integrity_reporting`], not at commit.
pub fn import(
    source: &mut (dyn Read + Send),
    target: &mut ChatStore,
    reporter: &mut Reporter<'_>,
) -> Result<ImportSummary> {
    let existing = target.counts()?;
    if existing.total() != 0 {
        return Err(Error::InvalidArgument(format!(
            "an archive is imported into an empty store; this one holds {} rows",
            existing.total()
        )));
    }
    let path = target.path().map(|p| p.to_path_buf());
    let at = |e: Error| match &path {
        Some(p) => e.with_path(p),
        None => e,
    };
    let tx = target.connection_mut().transaction().db().map_err(at)?;
    // Checked at commit: a reply may point at a message with a higher id.
    tx.pragma_update(None, "defer_foreign_keys", true)
        .db()
        .map_err(at)?;
    let summary = {
        let mut inserter = Inserter::new(&tx).db().map_err(at)?;
        decoded_batches(source, |batch, inserted| {
            for record in batch {
                insert(&mut inserter, record)
                    .map_err(|e| import_error(e, inserted))
                    .map_err(at)?;
            }
            reporter.advance(batch.len() as u64)
        })?
    };
    tx.commit()
        .map_err(|e| import_error(e, summary.counts.total()))
        .map_err(at)?;
    Ok(summary.into())
}

/// Records per batch handed from the decoding thread to the inserting one (also the interval
/// of progress reports and cancellation checks).
const BATCH_RECORDS: usize = 1024;
/// A batch is also handed over once its records' encoded size reaches this, so that the
/// batches in flight stay small whatever the rows hold.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches queued at most between the two threads.
const BATCHES_IN_FLIGHT: usize = 2;

/// Decodes the archive on `source` on a second thread and calls `consume` on the calling
/// thread with each batch of records in order (and the number of records consumed before it).
/// Returns the checked trailer once `consume` has seen every record. Either side's error stops
/// the other; the first one is returned.
fn decoded_batches(
    source: &mut (dyn Read + Send),
    mut consume: impl FnMut(&[Record], u64) -> Result<()>,
) -> Result<StreamSummary> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Record>>(BATCHES_IN_FLIGHT);
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<Record>>(BATCHES_IN_FLIGHT + 1);
    thread::scope(|scope| {
        let decoder = scope.spawn(move || -> Result<Option<StreamSummary>> {
            let mut reader = ArchiveReader::new(source)?;
            let mut batch = Vec::with_capacity(BATCH_RECORDS);
            let mut bytes = 0;
            while let Some(record) = reader.next_record()? {
                batch.push(record);
                bytes += reader.last_record_len();
                if batch.len() == BATCH_RECORDS || bytes >= BATCH_BYTES {
                    let next = spare_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH_RECORDS));
                    if full_tx.send(std::mem::replace(&mut batch, next)).is_err() {
                        return Ok(None); // the consumer stopped; its error is the one to report
                    }
                    bytes = 0;
                }
            }
            if !batch.is_empty() && full_tx.send(batch).is_err() {
                return Ok(None);
            }
            Ok(reader.summary().copied())
        });
        let consumed = (|| -> Result<()> {
            let mut done = 0u64;
            for mut batch in full_rx.iter() {
                consume(&batch, done)?;
                done += batch.len() as u64;
                batch.clear();
                let _ = spare_tx.try_send(batch);
            }
            Ok(())
        })();
        // Wakes a decoder blocked on a full queue after a consumer error.
        drop(full_rx);
        let decoded = decoder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        consumed?;
        decoded?.ok_or_else(|| Error::Truncated {
            what: "archive trailer".into(),
        })
    })
}

/// Decodes a whole archive and checks its trailer without writing anything.
pub fn verify(source: &mut dyn Read, reporter: &mut Reporter<'_>) -> Result<ImportSummary> {
    let mut reader = ArchiveReader::new(source)?;
    let mut pending = 0u64;
    while reader.next_record()?.is_some() {
        pending += 1;
        if pending == BATCH {
            reporter.advance(pending)?;
            pending = 0;
        }
    }
    reporter.advance(pending)?;
    let summary = reader.summary().ok_or_else(|| Error::Truncated {
        what: "archive trailer".into(),
    })?;
    Ok((*summary).into())
}

fn insert(inserter: &mut Inserter<'_>, record: &Record) -> rusqlite::Result<()> {
    match record {
        Record::Conversation(c) => inserter.conversation(c),
        Record::Participant(p) => inserter.participant(p),
        Record::Message(m) => inserter.message(m),
        Record::Reaction(r) => inserter.reaction(r),
        Record::Attachment(a) => inserter.attachment(a),
    }
}

/// A record that breaks the schema (duplicate key, dangling reference, invalid JSON) means the
/// archive is corrupt; anything else is the database's own failure.
fn import_error(err: rusqlite::Error, records_before: u64) -> Error {
    match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => Error::Corrupted {
            what: format!(
                "archive record violates the chat schema after {records_before} records: {err}"
            ),
        },
        _ => database_error(err),
    }
}

#[cfg(test)]
mod tests;
