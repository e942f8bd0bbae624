//! Bulk-load mode of a restore's private database ([`ChatStore::create_for_import`]).
//!
//! Nobody else can see that database until it has passed its checks and been renamed into
//! place, so while it is filled it can run with the settings of a bulk load: no fsyncs, a
//! larger page cache (a fixed budget, whatever the backup size), foreign keys checked once at
//! the end by `PRAGMA foreign_key_check` instead of at every insert, and the secondary indexes
//! dropped and rebuilt after the rows by `CREATE INDEX` (one sort instead of a random B-tree
//! insert per row). [`ChatStore::finish_import`] puts the schema back exactly as the migrations
//! wrote it (same `CREATE INDEX` text) and turns foreign keys back on.
//!
//! Index builds and checks are single SQLite statements that can run for seconds; they are
//! watched by SQLite's progress handler, which gives an even progress estimate (virtual machine
//! steps per row are fixed by the schema) and turns a cancel into an interrupt.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread,
    time::Duration,
};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{ChatStore, SqlResultExt};
use crate::{
    progress::{Phase, Reporter, Unit},
    Error, Result,
};

/// Page cache of the import connection while rows are appended and indexes built, in KiB:
/// appends only touch the right edge of each B-tree, and SQLite's sorter (index builds) keeps
/// up to about twice this in memory (one run being filled, one being written by its helper
/// thread) before it spills sorted runs to disk. Fixed, so memory does not grow with the backup.
const LOAD_CACHE_KIB: i64 = 4 * 1024;
/// Page cache while the restored database is checked: `integrity_check` looks up every row's
/// index entries, at random places in the indexes; the sorter's memory is free again by then.
const CHECK_CACHE_KIB: i64 = 16 * 1024;

/// SQLite virtual machine instructions between two calls of the progress handler.
const OPS_PER_TICK: i32 = 1000;

/// Progress-handler ticks per table row of a `CREATE INDEX`, measured on this schema
/// (`bulk::tests` checks them): what turns the handler's tick count into a done/total that
/// moves evenly.
const INDEX_TICKS_PER_ROW: f64 = 0.011;
/// The same for a partial index (`... WHERE`), which mostly scans and sorts few rows.
const PARTIAL_INDEX_TICKS_PER_ROW: f64 = 0.0035;
/// Ticks per row of all tables for `PRAGMA integrity_check`.
const INTEGRITY_TICKS_PER_ROW: f64 = 0.042;
/// Ticks per row of all tables for `PRAGMA foreign_key_check`.
const FOREIGN_KEY_TICKS_PER_ROW: f64 = 0.010;

/// What bulk-load mode deferred until [`ChatStore::finish_import`].
#[derive(Debug, Default)]
pub(super) struct Deferred {
    /// `(table, CREATE INDEX statement)` of every secondary index dropped for the load.
    indexes: Vec<(String, String)>,
}

/// Switches a new, empty, migrated database to bulk-load settings and drops its secondary
/// indexes (remembering their exact SQL) when SQLite can build them again in bounded memory.
pub(super) fn begin(conn: &Connection) -> Result<Deferred> {
    conn.pragma_update(None, "cache_size", -LOAD_CACHE_KIB)
        .db()?;
    conn.pragma_update(None, "foreign_keys", false).db()?;
    // One helper thread for the sorter of `CREATE INDEX` (the decoder thread is idle by then).
    conn.pragma_update(None, "threads", 1).db()?;
    let mut deferred = Deferred::default();
    if !sorter_spills_to_disk(conn)? {
        // Without temporary files an index build would sort every key in memory: keep the
        // indexes during the load instead (slower, but memory stays flat).
        return Ok(deferred);
    }
    let mut stmt = conn
        .prepare(
            "SELECT name, tbl_name, sql FROM sqlite_schema
             WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid",
        )
        .db()?;
    let found = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    for (name, table, sql) in found {
        conn.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
            .db()?;
        deferred.indexes.push((table, sql));
    }
    Ok(deferred)
}

/// Whether this SQLite build writes sorted runs of a big sort to temporary files. Builds with
/// `SQLITE_TEMP_STORE=3` (libsqlite3-sys sets it for Android, which has no usable temporary
/// directory) keep every run in memory, so an index build there would grow with the data.
fn sorter_spills_to_disk(conn: &Connection) -> Result<bool> {
    let memory_only: bool = conn
        .query_row(
            "SELECT sqlite_compileoption_used('TEMP_STORE=3')",
            [],
            |r| r.get(0),
        )
        .db()?;
    let temp_store: i64 = conn
        .pragma_query_value(None, "temp_store", |r| r.get(0))
        .db()?;
    Ok(!memory_only && temp_store != 2)
}

impl ChatStore {
    /// Ends the bulk load of a store made by [`create_for_import`](Self::create_for_import):
    /// builds the indexes dropped for the load (reported as [`Phase::Index`], in rows indexed)
    /// and turns foreign keys back on. The rows' references are not checked here but by
    /// [`check_integrity_reporting`](Self::check_integrity_reporting), which a restore runs next.
    /// Nothing to do for other stores.
    pub fn finish_import(&mut self, reporter: &mut Reporter<'_>) -> Result<()> {
        let indexes = std::mem::take(&mut self.deferred.indexes);
        // Each index gets a share of the phase in proportion to the work it is expected to take,
        // so the reported rows move evenly across indexes of different cost.
        let mut work = Vec::with_capacity(indexes.len());
        for (table, sql) in &indexes {
            let rows = self.sql(count_table(&self.conn, table))?;
            work.push((sql, rows, expected_index_ticks(sql, rows)));
        }
        let total_rows: u64 = work.iter().map(|(_, rows, _)| rows).sum();
        let total_ticks: f64 = work.iter().map(|(_, _, ticks)| ticks).sum();
        reporter.start_phase(Phase::Index, Unit::Rows, total_rows)?;
        let mut base = 0;
        for (sql, _, ticks) in work {
            let share = (total_rows as f64 * ticks / total_ticks.max(1.0)) as u64;
            let share = share.min(total_rows - base);
            watched(&self.conn, reporter, base, share, ticks, |conn| {
                conn.execute_batch(sql)
            })
            .map_err(|e| self.at(e))?;
            base += share;
        }
        reporter.advance(total_rows - base)?;
        reporter.finish_phase()?;
        if self.bulk_load {
            self.sql(self.conn.pragma_update(None, "foreign_keys", true))?;
        }
        Ok(())
    }

    /// [`check_integrity`](Self::check_integrity) reported on `reporter` (whose phase the
    /// caller has started, with the store's total rows as its total) and cancellable between
    /// SQLite steps. For a bulk-loaded store the foreign-key check runs on a second, read-only
    /// connection beside `integrity_check` (about a fifth of the work, on the core the
    /// restore's decoder has left idle by then).
    pub fn check_integrity_reporting(&self, reporter: &mut Reporter<'_>) -> Result<()> {
        let rows = self.counts()?.total();
        let base = reporter.done();
        let path = match (&self.path, self.bulk_load) {
            (Some(path), true) => path,
            _ => {
                let findings = watched(
                    &self.conn,
                    reporter,
                    base,
                    rows,
                    rows as f64 * (INTEGRITY_TICKS_PER_ROW + FOREIGN_KEY_TICKS_PER_ROW),
                    super::integrity_findings,
                )
                .map_err(|e| self.at(e))?;
                return super::findings_to_result(findings);
            }
        };
        self.sql(
            self.conn
                .pragma_update(None, "cache_size", -CHECK_CACHE_KIB),
        )?;
        let side = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| self.at(super::database_error(e)))?;
        let interrupt = side.get_interrupt_handle();
        let (integrity, foreign_keys) = thread::scope(|scope| {
            let foreign_keys = scope.spawn(move || super::foreign_key_findings(&side));
            let integrity = watched(
                &self.conn,
                reporter,
                base,
                rows,
                rows as f64 * INTEGRITY_TICKS_PER_ROW,
                super::integrity_check_findings,
            );
            if integrity.is_err() {
                interrupt.interrupt();
            }
            (integrity, foreign_keys.join())
        });
        let mut findings = integrity.map_err(|e| self.at(e))?;
        let foreign_keys = foreign_keys.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        findings.extend(foreign_keys.map_err(|e| self.at(super::database_error(e)))?);
        findings.truncate(super::MAX_FINDINGS);
        super::findings_to_result(findings)
    }
}

/// Progress-handler ticks a `CREATE INDEX` statement is expected to take on a table of `rows`.
fn expected_index_ticks(sql: &str, rows: u64) -> f64 {
    let per_row = if sql.to_ascii_uppercase().contains(" WHERE ") {
        PARTIAL_INDEX_TICKS_PER_ROW
    } else {
        INDEX_TICKS_PER_ROW
    };
    rows as f64 * per_row
}

fn count_table(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    conn.query_row(
        &format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\"")),
        [],
        |r| r.get(0),
    )
}

/// Runs `work` on `conn` while a watcher thread reports `base + rows * ticks / expected_ticks`
/// on `reporter` (never reaching `base + rows` before the work ends) and interrupts the work
/// once the operation is cancelled.
fn watched<T>(
    conn: &Connection,
    reporter: &mut Reporter<'_>,
    base: u64,
    rows: u64,
    expected_ticks: f64,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T> {
    let ticks = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (ticks, stop) = (Arc::clone(&ticks), Arc::clone(&stop));
        conn.progress_handler(
            OPS_PER_TICK,
            Some(move || {
                ticks.fetch_add(1, Ordering::Relaxed);
                stop.load(Ordering::Relaxed)
            }),
        );
    }
    let expected = expected_ticks.max(1.0);
    // Carries whether the work succeeded; a failed step is not reported as done.
    let (done_tx, done_rx) = mpsc::channel::<bool>();
    let (result, watcher) = thread::scope(|scope| {
        let watcher = scope.spawn(move || -> Result<()> {
            loop {
                let finished = match done_rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(true) => true,
                    Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                    Err(mpsc::RecvTimeoutError::Timeout) => false,
                };
                let fraction = ticks.load(Ordering::Relaxed) as f64 / expected;
                let estimate = (rows as f64 * fraction.min(1.0)) as u64;
                let target = base + estimate.min(rows.saturating_sub(1));
                let step = target.saturating_sub(reporter.done());
                if let Err(err) = reporter.advance(step) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(err);
                }
                if finished {
                    let rest = (base + rows).saturating_sub(reporter.done());
                    return reporter.advance(rest);
                }
            }
        });
        let result = work(conn);
        let _ = done_tx.send(result.is_ok());
        (result, watcher.join())
    });
    conn.progress_handler(0, None::<fn() -> bool>);
    let watcher = watcher.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    match result {
        Err(err) if err.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) => {
            watcher.and(Err(Error::Cancelled))
        }
        Err(err) => Err(super::database_error(err)),
        Ok(value) => watcher.map(|()| value),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    };

    use super::*;
    use crate::{
        progress::{CancellationToken, Progress},
        store::synthetic::{generate, SyntheticSpec},
    };

    fn bulk_store(dir: &std::path::Path, messages: u64) -> ChatStore {
        let mut store = ChatStore::create_for_import(&dir.join("restore.tmp")).unwrap();
        let spec = SyntheticSpec {
            seed: 3,
            conversations: 20,
            messages,
        };
        generate(&mut store, &spec).unwrap();
        store
    }

    /// Progress-handler ticks that `work` takes on `conn`.
    fn ticks_of(conn: &Connection, work: impl FnOnce(&Connection)) -> f64 {
        let ticks = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&ticks);
        conn.progress_handler(
            OPS_PER_TICK,
            Some(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                false
            }),
        );
        work(conn);
        conn.progress_handler(0, None::<fn() -> bool>);
        ticks.load(Ordering::Relaxed) as f64
    }

    #[test]
    fn the_tick_rates_behind_the_estimates_match_this_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = bulk_store(dir.path(), 20_000);
        assert_eq!(store.deferred.indexes.len(), 3, "{:?}", store.deferred);
        for (table, sql) in &store.deferred.indexes {
            let rows = count_table(&store.conn, table).unwrap();
            let expected = expected_index_ticks(sql, rows);
            let found = ticks_of(&store.conn, |c| c.execute_batch(sql).unwrap());
            let ratio = found / expected;
            assert!(
                (0.6..1.6).contains(&ratio),
                "{sql}: {found} ticks, expected {expected}"
            );
        }
        let rows = store.counts().unwrap().total() as f64;
        type Check = fn(&Connection) -> rusqlite::Result<Vec<String>>;
        let checks: [(&str, Check, f64); 2] = [
            (
                "integrity_check",
                crate::store::integrity_check_findings,
                INTEGRITY_TICKS_PER_ROW,
            ),
            (
                "foreign_key_check",
                crate::store::foreign_key_findings,
                FOREIGN_KEY_TICKS_PER_ROW,
            ),
        ];
        for (name, check, per_row) in checks {
            let found = ticks_of(&store.conn, |c| assert!(check(c).unwrap().is_empty()));
            let ratio = found / (rows * per_row);
            assert!(
                (0.6..1.6).contains(&ratio),
                "{name}: {found} ticks for {rows} rows"
            );
        }
    }

    fn schema_of(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn a_finished_bulk_load_has_the_schema_of_a_migrated_store_and_reports_evenly() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = bulk_store(dir.path(), 20_000);
        let reference = ChatStore::open(&dir.path().join("reference.db")).unwrap();
        assert_ne!(schema_of(&store.conn), schema_of(&reference.conn));
        let fk: bool = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(!fk, "foreign keys are checked once, after the load");

        let seen = Mutex::new(Vec::<Progress>::new());
        let sink = |p: Progress| seen.lock().unwrap().push(p);
        let mut reporter = Reporter::new(Some(&sink), None, Phase::Restore, Unit::Rows, 0);
        store.finish_import(&mut reporter).unwrap();
        let rows = store.counts().unwrap().total();
        reporter
            .start_phase(Phase::Check, Unit::Rows, rows)
            .unwrap();
        store.check_integrity_reporting(&mut reporter).unwrap();
        reporter.finish_phase().unwrap();
        assert_eq!(schema_of(&store.conn), schema_of(&reference.conn));
        let fk: bool = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(fk);
        let seen = seen.into_inner().unwrap();
        let attachments = store.counts().unwrap().attachments;
        for (phase, total) in [
            (Phase::Index, 2 * 20_000 + attachments),
            (Phase::Check, rows),
        ] {
            let reports: Vec<&Progress> = seen.iter().filter(|p| p.phase == phase).collect();
            assert!(reports.iter().all(|p| p.total == total), "{reports:?}");
            assert!(reports.windows(2).all(|w| w[0].done <= w[1].done));
            assert_eq!(reports.last().unwrap().done, total);
        }
        store.close().unwrap();
    }

    #[test]
    fn a_dangling_reference_loaded_in_bulk_is_found_by_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = bulk_store(dir.path(), 2_000);
        store
            .conn
            .execute(
                "INSERT INTO messages (id, conversation_id, sender, kind, sent_at, delivery)
                 VALUES (999999, 424242, 'x', 0, 1, 0)",
                [],
            )
            .unwrap();
        let mut reporter = Reporter::silent(Phase::Restore, Unit::Rows);
        store.finish_import(&mut reporter).unwrap();
        let err = store.check_integrity_reporting(&mut reporter).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupted { what } if what.contains("messages")),
            "{err:?}"
        );
    }

    #[test]
    fn a_cancel_stops_the_index_build_and_the_checks() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = bulk_store(dir.path(), 20_000);
        let token = CancellationToken::new();
        // Cancels once the phase has started, so the cancel lands inside the SQL work.
        let sink = |p: Progress| {
            if p.phase == Phase::Index || p.phase == Phase::Check {
                token.cancel();
            }
        };
        let mut reporter = Reporter::new(Some(&sink), Some(&token), Phase::Restore, Unit::Rows, 0);
        let err = store.finish_import(&mut reporter).unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");

        // A statement that would run for minutes is interrupted once the watcher sees the
        // cancel: the work ends with `Cancelled`, not with SQLite's own interrupt error.
        let token = CancellationToken::new();
        token.cancel();
        let mut reporter = Reporter::new(None, Some(&token), Phase::Check, Unit::Rows, 0);
        let endless = |conn: &Connection| {
            conn.query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
                 SELECT count(*) FROM n WHERE i < 0",
                [],
                |r| r.get::<_, i64>(0),
            )
        };
        let err = watched(&store.conn, &mut reporter, 0, 100, 1e12, endless).unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");
        // The connection is usable afterwards, and a cancel before the checks stops them.
        let mut reporter = Reporter::new(None, Some(&token), Phase::Check, Unit::Rows, 0);
        let err = store.check_integrity_reporting(&mut reporter).unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");
    }
}
