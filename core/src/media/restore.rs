//! The media restore, after the chats: a resumable run over the attachments a filter selects,
//! and one attachment on demand.
//!
//! Opening a [`MediaRestore`] copies the snapshot's media catalog into a small SQLite state
//! file in the app's state directory (`media-<snapshot id>.sqlite`, one transaction, so a
//! killed open leaves nothing half-built). Each restored or lost file is recorded there as it
//! is committed, so a run killed at any moment resumes with the next file; the catalog is not
//! read again and memory stays flat whatever the number of attachments.
//!
//! A file's chunks are fetched by byte range from their packs and streamed into the sink; the
//! file is committed only when its size and SHA-256 match the catalog. A chunk that is
//! missing or fails to authenticate costs that attachment only: it is recorded as lost with
//! the reason, and the run goes on. A failing store (offline) or sink (disk full) stops the
//! run with its error; the next run resumes.

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::Arc,
};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{MediaFilter, MediaItem, MediaKind, MediaSink, MediaWriter};
use crate::{
    progress::Reporter,
    repo::{
        catalog::{self, EntryState},
        fetch::{ChunkFetcher, ReadAhead},
        inventory::Inventory,
        keys::{ChunkId, CHUNK_ID_LEN},
        reader::find_snapshot,
        Repository, SnapshotId,
    },
    Error, Result,
};

/// Attachments read from the state file at a time.
const PAGE: i64 = 256;

/// State of an attachment in the state file.
const PENDING: i64 = 0;
const RESTORED: i64 = 1;
const LOST: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    state           INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    sha256          BLOB NOT NULL,
    mime            TEXT NOT NULL,
    local_ref       TEXT NOT NULL,
    chunks          BLOB NOT NULL,
    status          INTEGER NOT NULL DEFAULT 0,
    reason          TEXT
);
";

/// An attachment that could not be restored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostMedia {
    /// `attachments.id`.
    pub attachment_id: i64,
    /// What went wrong (a missing or damaged pack, a size or digest mismatch).
    pub reason: String,
}

/// What a media restore run did and what is left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaRestoreReport {
    /// Files restored by this run.
    pub files_restored: u64,
    /// Bytes restored by this run.
    pub bytes_restored: u64,
    /// Files of the selection restored by earlier runs (or fetched on demand).
    pub files_already_restored: u64,
    /// Attachments of the selection whose bytes the backup does not hold: absent from the old
    /// device, or left out by the backup's media options.
    pub files_not_in_backup: u64,
    /// Attachments of the selection lost to damage, with the reason (this run's and earlier).
    pub lost: Vec<LostMedia>,
}

/// One attachment's row in the state file.
struct Row {
    item: MediaItem,
    stored: bool,
    chunks: Vec<ChunkId>,
    status: i64,
}

/// A media restore of one snapshot, resumable through its state file.
pub struct MediaRestore<'r> {
    fetcher: Arc<ChunkFetcher<'r>>,
    snapshot: SnapshotId,
    state: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for MediaRestore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaRestore")
            .field("snapshot", &self.snapshot)
            .field("state", &self.path)
            .finish_non_exhaustive()
    }
}

/// Opens the state file: WAL without a sync per commit (a kill loses no committed row, a power
/// cut at most the last few, whose files are then restored once more), a 30 s wait for another
/// writer (a fetch on demand opens the same state while a run goes on), and the schema.
fn open_state(path: &Path) -> rusqlite::Result<Connection> {
    let state = Connection::open(path)?;
    state.busy_timeout(std::time::Duration::from_secs(30))?;
    // Setting the journal mode and creating the tables can meet another connection doing the
    // same on a new file, which SQLite reports as busy without waiting.
    when_not_busy(|| {
        state.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
        state.execute_batch(SCHEMA)
    })?;
    Ok(state)
}

/// Runs `step` again while SQLite answers busy or locked, for up to 30 s.
fn when_not_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn db<T>(result: rusqlite::Result<T>, path: &Path) -> Result<T> {
    result.map_err(|err| Error::Database {
        message: err.to_string(),
        path: Some(path.to_path_buf()),
    })
}

impl<'r> MediaRestore<'r> {
    /// Opens the media restore of snapshot `id` (the latest when `None`), with its state file
    /// in `state_dir` (created when needed; keep it out of backups, like a cache). The first
    /// open reads the media catalog; later ones resume from the state file.
    pub fn open(
        repo: &'r Repository,
        id: Option<&SnapshotId>,
        state_dir: &Path,
    ) -> Result<MediaRestore<'r>> {
        let inventory = Inventory::take(repo.store().as_ref())?;
        let snapshot = find_snapshot(repo, &inventory, id)?;
        let fetcher = Arc::new(ChunkFetcher::open_with(repo, &inventory)?);
        std::fs::create_dir_all(state_dir).map_err(|e| Error::io_at(state_dir, e))?;
        let path = state_dir.join(format!("media-{}.sqlite", snapshot.info.id));
        let mut state = db(open_state(&path), &path)?;
        let tx = db(
            state.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
            &path,
        )?;
        let complete: Option<String> = db(
            tx.query_row("SELECT value FROM meta WHERE key = 'complete'", [], |r| {
                r.get(0)
            })
            .optional(),
            &path,
        )?;
        if complete.is_none() {
            db(tx.execute("DELETE FROM items", []), &path)?;
            let mut insert = db(
                tx.prepare(
                    "INSERT INTO items (id, conversation_id, sent_at, state, size, sha256, \
                     mime, local_ref, chunks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                ),
                &path,
            )?;
            for entry in catalog::entries(fetcher.clone(), &snapshot) {
                let entry = entry?;
                let chunks: Vec<u8> = entry.chunks.concat();
                db(
                    insert.execute(params![
                        entry.attachment_id,
                        entry.conversation_id,
                        entry.sent_at,
                        i64::from(entry.state == EntryState::Stored),
                        entry.size as i64,
                        &entry.sha256[..],
                        entry.mime,
                        entry.local_ref,
                        chunks,
                    ]),
                    &path,
                )?;
            }
            drop(insert);
            db(
                tx.execute("INSERT INTO meta (key, value) VALUES ('complete', '1')", []),
                &path,
            )?;
        }
        db(tx.commit(), &path)?;
        Ok(MediaRestore {
            fetcher,
            snapshot: snapshot.info.id,
            state,
            path,
        })
    }

    /// The snapshot being restored.
    pub fn snapshot(&self) -> SnapshotId {
        self.snapshot
    }

    /// Where the state file is (delete it, or the whole state directory, once done).
    pub fn state_path(&self) -> &Path {
        &self.path
    }

    /// Restores every selected attachment not restored yet, in id order, through `sink`.
    /// `reporter` gets a [`crate::progress::Phase::Media`] phase in bytes and files; a cancel
    /// stops after the file in progress is dropped, and the next run resumes.
    pub fn run(
        &mut self,
        filter: &MediaFilter,
        sink: &dyn MediaSink,
        reporter: &mut Reporter<'_>,
    ) -> Result<MediaRestoreReport> {
        let mut report = MediaRestoreReport::default();
        let (mut files, mut bytes) = (0u64, 0u64);
        self.each_selected(filter, &mut |row| {
            match (row.stored, row.status) {
                (false, _) => report.files_not_in_backup += 1,
                (true, PENDING) => {
                    files += 1;
                    bytes += row.item.size;
                }
                _ => {}
            }
            Ok(())
        })?;
        reporter.start_media(bytes, files)?;
        // The next files' reads are in flight while one file is written (`ReadAhead`).
        let mut ahead = ReadAhead::new(self.fetcher.clone())?;
        let mut planned: VecDeque<(Row, Result<usize>)> = VecDeque::new();
        let mut after = i64::MIN;
        loop {
            let page = self.page(after, "status = 0 AND state = 1")?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.item.attachment_id;
            let mut rows: VecDeque<Row> = page
                .into_iter()
                .filter(|r| selected(filter, &r.item))
                .collect();
            while !rows.is_empty() || !planned.is_empty() {
                while ahead.has_room() {
                    let Some(row) = rows.pop_front() else { break };
                    let runs = self.push_runs(&row, &mut ahead);
                    planned.push_back((row, runs));
                }
                let Some((row, runs)) = planned.pop_front() else {
                    continue;
                };
                let mut left = *runs.as_ref().unwrap_or(&0);
                let mut chunks = |out: &mut Vec<Vec<u8>>| -> Result<bool> {
                    if let Err(err) = &runs {
                        return Err(restate(err));
                    }
                    if left == 0 {
                        return Ok(false);
                    }
                    left -= 1;
                    ahead.pop(out)
                };
                let outcome = self.restore_row(&row, sink, reporter, &mut chunks);
                // A lost file's remaining reads are in the queue: take them out.
                while left > 0 {
                    left -= 1;
                    match ahead.pop(&mut Vec::new()) {
                        Err(err) if !is_damage(&err) => return Err(err),
                        _ => {}
                    }
                }
                if outcome?.is_none() {
                    report.files_restored += 1;
                    report.bytes_restored += row.item.size;
                }
                reporter.file_done()?;
            }
        }
        reporter.finish_phase()?;
        // Counted at the end: a file fetched on demand during the run is restored, not by it.
        let mut restored = 0u64;
        self.each_selected(filter, &mut |row| {
            match row.status {
                RESTORED => restored += 1,
                LOST => report.lost.push(LostMedia {
                    attachment_id: row.item.attachment_id,
                    reason: String::new(),
                }),
                _ => {}
            }
            Ok(())
        })?;
        report.files_already_restored = restored.saturating_sub(report.files_restored);
        for lost in &mut report.lost {
            lost.reason = self.reason(lost.attachment_id)?;
        }
        Ok(report)
    }

    /// Restores attachment `attachment_id` now (the user opened a photo not restored yet),
    /// reading only the byte ranges of the packs that hold it. Returns where it was recorded.
    /// An attachment the backup does not hold, or whose chunks are lost, is
    /// [`Error::MediaUnavailable`].
    pub fn fetch(&self, attachment_id: i64, sink: &dyn MediaSink) -> Result<MediaItem> {
        let row = self
            .row(attachment_id)?
            .ok_or_else(|| Error::MediaUnavailable {
                attachment_id,
                reason: format!("not in snapshot {}", self.snapshot),
            })?;
        if !row.stored {
            return Err(Error::MediaUnavailable {
                attachment_id,
                reason: "the backup does not hold its bytes (absent from the device, or left \
                         out by the media options)"
                    .into(),
            });
        }
        let mut quiet =
            Reporter::silent(crate::progress::Phase::Media, crate::progress::Unit::Bytes);
        let mut start = 0;
        let mut batches = |out: &mut Vec<Vec<u8>>| -> Result<bool> {
            if start == row.chunks.len() {
                return Ok(false);
            }
            let end = start + self.fetcher.batch_len(&row.chunks[start..]);
            self.fetcher.fetch(&row.chunks[start..end], out)?;
            start = end;
            Ok(true)
        };
        match self.restore_row(&row, sink, &mut quiet, &mut batches)? {
            None => Ok(row.item),
            Some(reason) => Err(Error::MediaUnavailable {
                attachment_id,
                reason,
            }),
        }
    }

    /// Starts the reads of `row`'s chunks; returns how many runs it asked for, or why its
    /// chunks cannot be read (no intact copy).
    fn push_runs(&self, row: &Row, ahead: &mut ReadAhead<'_>) -> Result<usize> {
        let runs = self.fetcher.plan(&row.chunks)?;
        let count = runs.len();
        for run in runs {
            ahead.push(run)?;
        }
        Ok(count)
    }

    /// Restores one row from `chunks`, which appends the row's next chunks in order and says
    /// false at its end; `Some(reason)` when it is lost (recorded as such).
    fn restore_row(
        &self,
        row: &Row,
        sink: &dyn MediaSink,
        reporter: &mut Reporter<'_>,
        chunks: &mut dyn FnMut(&mut Vec<Vec<u8>>) -> Result<bool>,
    ) -> Result<Option<String>> {
        let mut writer = sink.begin(&row.item)?;
        let streamed = Self::stream(writer.as_mut(), reporter, chunks);
        let lost = match streamed {
            Ok((size, sha256)) if size == row.item.size && sha256 == row.item.sha256 => {
                writer.commit()?;
                self.set_status(row.item.attachment_id, RESTORED, None)?;
                return Ok(None);
            }
            Ok((size, _)) if size != row.item.size => {
                format!(
                    "restored {size} bytes, the backup recorded {}",
                    row.item.size
                )
            }
            Ok(_) => "the restored bytes' SHA-256 differs from the backup's".to_string(),
            Err(err) if is_damage(&err) => err.to_string(),
            Err(err) => {
                writer.abort();
                return Err(err);
            }
        };
        writer.abort();
        log::warn!("attachment {} lost: {lost}", row.item.attachment_id);
        self.set_status(row.item.attachment_id, LOST, Some(&lost))?;
        Ok(Some(lost))
    }

    /// Writes a row's chunks, as `chunks` gives them, to `writer`; returns size and digest.
    fn stream(
        writer: &mut dyn MediaWriter,
        reporter: &mut Reporter<'_>,
        chunks: &mut dyn FnMut(&mut Vec<Vec<u8>>) -> Result<bool>,
    ) -> Result<(u64, [u8; 32])> {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut out = Vec::new();
        loop {
            out.clear();
            if !chunks(&mut out)? {
                break;
            }
            for chunk in &out {
                hasher.update(chunk);
                size += chunk.len() as u64;
                writer.write(chunk)?;
                reporter.advance(chunk.len() as u64)?;
            }
        }
        Ok((size, hasher.finalize().into()))
    }

    fn set_status(&self, id: i64, status: i64, reason: Option<&str>) -> Result<()> {
        db(
            self.state.execute(
                "UPDATE items SET status = ?2, reason = ?3 WHERE id = ?1",
                params![id, status, reason],
            ),
            &self.path,
        )?;
        Ok(())
    }

    fn reason(&self, id: i64) -> Result<String> {
        db(
            self.state.query_row(
                "SELECT coalesce(reason, '') FROM items WHERE id = ?1",
                [id],
                |r| r.get(0),
            ),
            &self.path,
        )
    }

    fn row(&self, id: i64) -> Result<Option<Row>> {
        let rows = self.query("id = ?2", params![i64::MIN, id])?;
        Ok(rows.into_iter().next())
    }

    fn page(&self, after: i64, condition: &str) -> Result<Vec<Row>> {
        self.query(condition, params![after])
    }

    /// Calls `each` for every row the filter selects, in id order.
    fn each_selected(
        &self,
        filter: &MediaFilter,
        each: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let mut after = i64::MIN;
        loop {
            let page = self.page(after, "1")?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.item.attachment_id;
            for row in page.iter().filter(|r| selected(filter, &r.item)) {
                each(row)?;
            }
        }
    }

    fn query(&self, condition: &str, params: impl rusqlite::Params) -> Result<Vec<Row>> {
        let sql = format!(
            "SELECT id, conversation_id, sent_at, state, size, sha256, mime, local_ref, chunks, \
             status FROM items WHERE id > ?1 AND {condition} ORDER BY id LIMIT {PAGE}"
        );
        let mut stmt = db(self.state.prepare_cached(&sql), &self.path)?;
        let rows = db(
            stmt.query_map(params, |r| {
                let sha: Vec<u8> = r.get(5)?;
                let chunks: Vec<u8> = r.get(8)?;
                Ok((
                    MediaItem {
                        attachment_id: r.get(0)?,
                        conversation_id: r.get(1)?,
                        sent_at: r.get(2)?,
                        mime: r.get(6)?,
                        local_ref: r.get(7)?,
                        size: r.get::<_, i64>(4)? as u64,
                        sha256: sha.try_into().unwrap_or([0; 32]),
                    },
                    r.get::<_, i64>(3)? == 1,
                    chunks,
                    r.get::<_, i64>(9)?,
                ))
            }),
            &self.path,
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (item, stored, chunks, status) = db(row, &self.path)?;
            out.push(Row {
                item,
                stored,
                chunks: chunks
                    .chunks_exact(CHUNK_ID_LEN)
                    .map(|c| {
                        let mut id = [0u8; CHUNK_ID_LEN];
                        id.copy_from_slice(c);
                        id
                    })
                    .collect(),
                status,
            });
        }
        Ok(out)
    }
}

fn selected(filter: &MediaFilter, item: &MediaItem) -> bool {
    filter.selects(
        item.conversation_id,
        item.sent_at,
        MediaKind::of_mime(&item.mime),
    )
}

/// Whether `err` means this attachment's data is gone or damaged (lose the attachment, go on)
/// rather than that the store or the sink failed (stop; a later run resumes).
/// The same failure again (a row's planning error, met when its turn comes).
fn restate(err: &Error) -> Error {
    match err {
        Error::ObjectMissing { name } => Error::ObjectMissing { name: name.clone() },
        other => Error::Corrupted {
            what: other.to_string(),
        },
    }
}

fn is_damage(err: &Error) -> bool {
    matches!(
        err,
        Error::ObjectMissing { .. }
            | Error::Corrupted { .. }
            | Error::Truncated { .. }
            | Error::LimitExceeded { .. }
            | Error::UnsupportedVersion { .. }
    )
}
