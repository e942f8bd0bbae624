//! `ChatStore`: the chat database (SQLite through rusqlite, bundled). The schema is documented in
//! `docs/SCHEMA.md`; the typed rows are in [`model`]. Apps use it as their message store, or fill
//! it from their own database before a backup.
//!
//! A store opened from a path uses WAL, so readers (a backup's export) and a writer (the app) run
//! side by side; foreign keys are always on. SQLite's page cache is left at its default on
//! purpose: a backup or restore must stay within a few MiB whatever the database size.

mod bulk;
mod model;
mod rows;
mod schema;
pub mod synthetic;

use std::{
    fs::{File, OpenOptions},
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::{params, Connection, OptionalExtension};

pub use model::{
    Attachment, AttachmentPlace, Conversation, ConversationKind, DeliveryState, Message,
    MessageKind, Participant, Reaction, RecordCounts, Role, TimelineCursor, TimelinePage,
};
pub use schema::SCHEMA_VERSION;

pub(crate) use rows::*;

use crate::{Error, Result};

/// How long a statement waits for another connection's lock before failing with a busy error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Converts rusqlite's errors into [`Error::Database`], keeping rusqlite out of the public error.
pub(crate) trait SqlResultExt<T> {
    /// The result with a rusqlite error mapped onto [`Error::Database`] (no path).
    fn db(self) -> Result<T>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(database_error)
    }
}

/// A rusqlite error as [`Error::Database`] without a path; a full disk is what it is for every
/// other file, an I/O error of kind `StorageFull` (so a restore that fills the disk says so,
/// rather than blaming the database).
pub(crate) fn database_error(err: rusqlite::Error) -> Error {
    if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return Error::Io {
            path: None,
            source: std::io::Error::new(std::io::ErrorKind::StorageFull, err.to_string()),
        };
    }
    Error::Database {
        message: err.to_string(),
        path: None,
    }
}

/// The chat database: one SQLite connection with the chat schema at [`SCHEMA_VERSION`].
pub struct ChatStore {
    conn: Connection,
    path: Option<PathBuf>,
    /// Opened by [`ChatStore::create_for_import`]: no fsyncs until [`ChatStore::close`].
    bulk_load: bool,
    /// What the bulk load put off until [`ChatStore::finish_import`] (empty otherwise).
    deferred: bulk::Deferred,
}

impl std::fmt::Debug for ChatStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ChatStore {
    /// Opens the database at `path`, creating it if missing, and migrates it to
    /// [`SCHEMA_VERSION`]. A database written by a newer build fails with
    /// [`Error::UnsupportedVersion`] and is left untouched.
    pub fn open(path: &Path) -> Result<ChatStore> {
        let conn = Connection::open(path).db().map_err(|e| e.with_path(path))?;
        let store = ChatStore {
            conn,
            path: Some(path.to_path_buf()),
            bulk_load: false,
            deferred: bulk::Deferred::default(),
        };
        store.finish_open("WAL", "NORMAL")
    }

    /// A private database in memory (tests, verification scratch space).
    pub fn open_in_memory() -> Result<ChatStore> {
        let conn = Connection::open_in_memory().db()?;
        let store = ChatStore {
            conn,
            path: None,
            bulk_load: false,
            deferred: bulk::Deferred::default(),
        };
        store.finish_open("MEMORY", "OFF")
    }

    /// Creates a NEW database file at `path` for a bulk load (a restore's temporary database);
    /// fails if the file exists. Until [`close`](Self::close) it uses a rollback journal and no
    /// fsyncs, a fixed larger page cache, no per-row foreign key checks and (where SQLite can
    /// sort on disk) no secondary indexes: see `store/bulk.rs`. After the import,
    /// [`finish_import`](Self::finish_import) rebuilds the indexes and
    /// [`check_integrity_reporting`](Self::check_integrity_reporting) checks every reference;
    /// `close` switches it to WAL and syncs it to disk, so an app opens it like any other store.
    /// The file is created readable and writable by its owner only (0600 on Unix), and SQLite
    /// gives its journal the same mode: restored chats are never world-readable.
    pub fn create_for_import(path: &Path) -> Result<ChatStore> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path).map_err(|e| Error::io_at(path, e))?;
        let conn = Connection::open(path).db().map_err(|e| e.with_path(path))?;
        let store = ChatStore {
            conn,
            path: Some(path.to_path_buf()),
            bulk_load: true,
            deferred: bulk::Deferred::default(),
        };
        let mut store = store.finish_open("DELETE", "OFF")?;
        store.deferred = bulk::begin(&store.conn).map_err(|e| store.at(e))?;
        Ok(store)
    }

    fn finish_open(mut self, journal_mode: &str, synchronous: &str) -> Result<ChatStore> {
        let result = (|| {
            self.conn.busy_timeout(BUSY_TIMEOUT).db()?;
            self.conn.pragma_update(None, "foreign_keys", true).db()?;
            let mode: String = self
                .conn
                .pragma_update_and_check(None, "journal_mode", journal_mode, |r| r.get(0))
                .db()?;
            if !mode.eq_ignore_ascii_case(journal_mode) {
                return Err(Error::Database {
                    message: format!("journal mode {journal_mode} unavailable, got {mode}"),
                    path: None,
                });
            }
            self.conn
                .pragma_update(None, "synchronous", synchronous)
                .db()?;
            schema::migrate(&mut self.conn, schema::MIGRATIONS)
        })();
        match result {
            Ok(()) => Ok(self),
            Err(err) => Err(self.at(err)),
        }
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Attaches this store's path to a database or I/O error.
    fn at(&self, err: Error) -> Error {
        match &self.path {
            Some(path) => err.with_path(path),
            None => err,
        }
    }

    fn sql<T>(&self, result: rusqlite::Result<T>) -> Result<T> {
        result.db().map_err(|e| self.at(e))
    }

    /// The connection, for the archive's export and import.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for the archive's import and the generator (transactions need `&mut`).
    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Inserts a conversation or updates every field of an existing one with the same id.
    pub fn upsert_conversation(&mut self, conversation: &Conversation) -> Result<()> {
        self.sql(upsert_conversation(&self.conn, conversation))
    }

    /// Inserts a participant or updates an existing `(conversation_id, user_id)`.
    pub fn upsert_participant(&mut self, participant: &Participant) -> Result<()> {
        self.sql(upsert_participant(&self.conn, participant))
    }

    /// Inserts a batch of new messages in one transaction: all or none. Ids must be new; a
    /// `reply_to` must name a message already stored or earlier in the batch.
    pub fn insert_messages(&mut self, batch: &[Message]) -> Result<()> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            for message in batch {
                insert_message(&tx, message)?;
            }
            tx.commit()
        })();
        self.sql(result)
    }

    /// Inserts a batch of new attachments in one transaction: all or none.
    pub fn insert_attachments(&mut self, batch: &[Attachment]) -> Result<()> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            for attachment in batch {
                insert_attachment(&tx, attachment)?;
            }
            tx.commit()
        })();
        self.sql(result)
    }

    /// Replaces the body of a message that is not deleted and records the edit time.
    pub fn edit_message(&mut self, id: i64, body: &str, edited_at: i64) -> Result<()> {
        let changed = self.sql(self.conn.execute(
            "UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, body, edited_at],
        ))?;
        if changed == 0 {
            return Err(Error::InvalidArgument(format!(
                "message {id} does not exist or is deleted"
            )));
        }
        Ok(())
    }

    /// Deletes a message's content, keeping a tombstone: the row stays (replies still point at
    /// it) with no body and `deleted_at` set; its reactions and attachment metadata are removed.
    /// Deleting a tombstone again changes nothing.
    pub fn delete_message(&mut self, id: i64, deleted_at: i64) -> Result<()> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            let exists = tombstone_message(&tx, id, deleted_at)?;
            tx.commit()?;
            Ok(exists)
        })();
        if !self.sql(result)? {
            return Err(Error::InvalidArgument(format!(
                "message {id} does not exist"
            )));
        }
        Ok(())
    }

    /// Sets the delivery state of a message.
    pub fn set_delivery(&mut self, id: i64, state: DeliveryState) -> Result<()> {
        let changed = self.sql(self.conn.execute(
            "UPDATE messages SET delivery = ?2 WHERE id = ?1",
            params![id, state.code()],
        ))?;
        if changed == 0 {
            return Err(Error::InvalidArgument(format!(
                "message {id} does not exist"
            )));
        }
        Ok(())
    }

    /// Adds a reaction (or refreshes its time if the same sender already reacted so).
    pub fn react(&mut self, reaction: &Reaction) -> Result<()> {
        self.sql(upsert_reaction(&self.conn, reaction))
    }

    /// Removes a reaction; returns whether there was one.
    pub fn unreact(&mut self, message_id: i64, sender: &str, emoji: &str) -> Result<bool> {
        let removed = self.sql(self.conn.execute(
            "DELETE FROM reactions WHERE message_id = ?1 AND sender = ?2 AND emoji = ?3",
            params![message_id, sender, emoji],
        ))?;
        Ok(removed > 0)
    }

    /// One page of a conversation, newest first: up to `limit` messages sent strictly before
    /// `before` (or the newest ones when `before` is `None`). Served by the
    /// `messages_timeline` index.
    pub fn timeline(
        &self,
        conversation_id: i64,
        before: Option<TimelineCursor>,
        limit: u32,
    ) -> Result<TimelinePage> {
        if limit == 0 {
            return Err(Error::InvalidArgument(
                "a timeline page needs a limit of at least 1".into(),
            ));
        }
        let before = before.unwrap_or(TimelineCursor {
            sent_at: i64::MAX,
            id: i64::MAX,
        });
        let result = (|| {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation_id = ?1 AND (sent_at, id) < (?2, ?3)
                 ORDER BY sent_at DESC, id DESC LIMIT ?4"
            ))?;
            let fetch = i64::from(limit) + 1;
            let rows = stmt.query_map(
                params![conversation_id, before.sent_at, before.id, fetch],
                message_from_row,
            )?;
            rows.collect::<rusqlite::Result<Vec<Message>>>()
        })();
        let mut messages = self.sql(result)?;
        let next = if messages.len() > limit as usize {
            messages.truncate(limit as usize);
            messages.last().map(|m| TimelineCursor {
                sent_at: m.sent_at,
                id: m.id,
            })
        } else {
            None
        };
        Ok(TimelinePage { messages, next })
    }

    /// The message with this id.
    pub fn message(&self, id: i64) -> Result<Option<Message>> {
        let result = (|| {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
            ))?;
            stmt.query_row([id], message_from_row).optional()
        })();
        self.sql(result)
    }

    /// The conversation with this id.
    pub fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let result = (|| {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"
            ))?;
            stmt.query_row([id], conversation_from_row).optional()
        })();
        self.sql(result)
    }

    /// The participants of a conversation, by user id.
    pub fn participants(&self, conversation_id: i64) -> Result<Vec<Participant>> {
        let result = (|| {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE conversation_id = ?1
                 ORDER BY user_id"
            ))?;
            let rows = stmt.query_map([conversation_id], participant_from_row)?;
            rows.collect()
        })();
        self.sql(result)
    }

    /// The reactions to a message, by sender and emoji.
    pub fn reactions(&self, message_id: i64) -> Result<Vec<Reaction>> {
        let result = (|| {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {REACTION_COLUMNS} FROM reactions WHERE message_id = ?1
                 ORDER BY sender, emoji"
            ))?;
            let rows = stmt.query_map([message_id], reaction_from_row)?;
            rows.collect()
        })();
        self.sql(result)
    }

    /// The attachments of a message, by id.
    pub fn attachments(&self, message_id: i64) -> Result<Vec<Attachment>> {
        let result = (|| {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([message_id], attachment_from_row)?;
            rows.collect()
        })();
        self.sql(result)
    }

    /// Up to `limit` attachments with ids above `after`, in id order, each with its message's
    /// conversation and time: the media backup pages through them with flat memory.
    pub fn attachments_after(&self, after: i64, limit: usize) -> Result<Vec<AttachmentPlace>> {
        let result = (|| {
            let columns = ATTACHMENT_COLUMNS
                .split(", ")
                .map(|c| format!("a.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {columns}, m.conversation_id, m.sent_at FROM attachments a \
                 JOIN messages m ON m.id = a.message_id WHERE a.id > ?1 ORDER BY a.id LIMIT ?2"
            ))?;
            let width = ATTACHMENT_COLUMNS.split(',').count();
            let rows = stmt.query_map(params![after, limit as i64], |row| {
                Ok(AttachmentPlace {
                    attachment: attachment_from_row(row)?,
                    conversation_id: row.get(width)?,
                    sent_at: row.get(width + 1)?,
                })
            })?;
            rows.collect()
        })();
        self.sql(result)
    }

    /// Sets attachments' `size` and `sha256` (id, size, digest) in one transaction: what the
    /// app does once a file is downloaded (and the synthetic media generator does).
    pub fn set_attachment_files(&mut self, files: &[(i64, u64, [u8; 32])]) -> Result<()> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            {
                let mut stmt =
                    tx.prepare("UPDATE attachments SET size = ?2, sha256 = ?3 WHERE id = ?1")?;
                for (id, size, sha256) in files {
                    stmt.execute(params![id, *size as i64, &sha256[..]])?;
                }
            }
            tx.commit()
        })();
        self.sql(result)
    }

    /// How many attachments there are and the sum of their recorded sizes (for progress).
    pub fn attachment_totals(&self) -> Result<(u64, u64)> {
        let result = self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM attachments",
            [],
            |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
        );
        self.sql(result)
    }

    /// Row counts of every table.
    pub fn counts(&self) -> Result<RecordCounts> {
        self.sql(count_rows(&self.conn))
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; any finding is
    /// [`Error::Corrupted`] naming the first problems.
    pub fn check_integrity(&self) -> Result<()> {
        findings_to_result(self.sql(integrity_findings(&self.conn))?)
    }

    /// Closes the connection, reporting errors that dropping would hide. A store made by
    /// [`create_for_import`](Self::create_for_import) is switched to WAL and synced to disk
    /// first, so the caller can rename it into place.
    pub fn close(self) -> Result<()> {
        let path = self.path.clone();
        if self.bulk_load {
            self.sql(
                self.conn
                    .pragma_update_and_check(None, "journal_mode", "WAL", |r| {
                        r.get::<_, String>(0)
                    }),
            )?;
        }
        let bulk_load = self.bulk_load;
        self.conn.close().map_err(|(_, err)| {
            let err = database_error(err);
            match &path {
                Some(p) => err.with_path(p),
                None => err,
            }
        })?;
        if let (true, Some(path)) = (bulk_load, path) {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io_at(&path, e))?;
        }
        Ok(())
    }
}

/// The first problems `PRAGMA integrity_check` and `PRAGMA foreign_key_check` find on `conn`.
fn integrity_findings(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut problems = integrity_check_findings(conn)?;
    problems.extend(foreign_key_findings(conn)?);
    problems.truncate(MAX_FINDINGS);
    Ok(problems)
}

/// Findings named in an error at most.
const MAX_FINDINGS: usize = 5;

/// What `PRAGMA integrity_check` reports (pages, B-trees, every index against its table).
fn integrity_check_findings(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let line: String = row.get(0)?;
        if line != "ok" && problems.len() < MAX_FINDINGS {
            problems.push(line);
        }
    }
    Ok(problems)
}

/// The rows `PRAGMA foreign_key_check` finds referring to a missing parent row.
fn foreign_key_findings(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let table: String = row.get(0)?;
        let rowid: Option<i64> = row.get(1)?;
        let parent: String = row.get(2)?;
        if problems.len() < MAX_FINDINGS {
            problems.push(format!(
                "{table} row {} refers to a missing {parent} row",
                rowid.map_or_else(|| "?".to_string(), |r| r.to_string())
            ));
        }
    }
    Ok(problems)
}

/// No findings, or [`Error::Corrupted`] naming them.
fn findings_to_result(findings: Vec<String>) -> Result<()> {
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Corrupted {
            what: format!("database check: {}", findings.join("; ")),
        })
    }
}

/// Counts the rows of every table on `conn` (inside the caller's transaction, if any).
pub(crate) fn count_rows(conn: &Connection) -> rusqlite::Result<RecordCounts> {
    let count = |table: &str| -> rusqlite::Result<u64> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
    };
    Ok(RecordCounts {
        conversations: count("conversations")?,
        participants: count("participants")?,
        messages: count("messages")?,
        reactions: count("reactions")?,
        attachments: count("attachments")?,
    })
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
