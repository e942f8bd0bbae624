//! The SQLite snapshot payload kind: any SQLite file, for apps that keep their own schema.
//!
//! Backup copies the database with SQLite's online backup API into a temporary file (so the copy
//! is consistent even while other connections write), then streams that file as the payload.
//! Restore writes the payload to a temporary database beside the target, checks it and moves it
//! into place atomically (see [`super::install`]).

use std::{
    fs::File,
    io::{self, Read, Write},
    path::Path,
    thread,
    time::Duration,
};

use rusqlite::{backup::StepResult, Connection, OpenFlags};

use super::install::{check_database, check_target, db_error, install};
use crate::atomic::{sweep_leftovers, TempPath};
use crate::{
    progress::{Phase, Reporter, Unit},
    Error, Result,
};

/// Pages copied per backup step; cancellation is checked between steps.
const PAGES_PER_STEP: std::os::raw::c_int = 1024;
/// Bytes copied between progress reports and cancellation checks when streaming the file.
const COPY_CHUNK: usize = 256 * 1024;
/// The first 16 bytes of every SQLite database file.
pub(crate) const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Copies the SQLite database at `source` consistently and streams the copy into `sink`.
/// The temporary copy is made beside `source` (or in `temp_dir`) and always removed.
/// Returns the snapshot's size in bytes.
pub fn write_snapshot(
    source: &Path,
    temp_dir: Option<&Path>,
    sink: &mut dyn Write,
    reporter: &mut Reporter<'_>,
) -> Result<u64> {
    let temp_beside = match (temp_dir, source.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => source.to_path_buf(),
    };
    let (temp, file) = TempPath::reserve(&temp_beside)?;
    drop(file);
    copy_online(source, temp.path(), reporter)?;

    let mut copy = File::open(temp.path()).map_err(|e| Error::io_at(temp.path(), e))?;
    let size = copy
        .metadata()
        .map_err(|e| Error::io_at(temp.path(), e))?
        .len();
    reporter.start_phase(Phase::Backup, Unit::Bytes, size)?;
    let copied = copy_in_chunks(&mut copy, sink, reporter)?;
    reporter.finish_phase()?;
    Ok(copied)
}

/// SQLite's online backup of `source` into the (empty) database file `dest`, in steps.
/// A write by another connection restarts the copy, so the result is always one consistent state.
fn copy_online(source: &Path, dest: &Path, reporter: &mut Reporter<'_>) -> Result<()> {
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_error(source))?;
    let mut dst = Connection::open(dest).map_err(db_error(dest))?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(db_error(source))?;
        reporter.start_phase(Phase::Backup, Unit::Rows, 0)?;
        loop {
            match backup.step(PAGES_PER_STEP).map_err(db_error(source))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => thread::sleep(Duration::from_millis(5)),
                _ => thread::sleep(Duration::from_millis(5)),
            }
            reporter.check_cancelled()?;
        }
    }
    dst.close().map_err(|(_, err)| db_error(dest)(err))?;
    src.close().map_err(|(_, err)| db_error(source)(err))
}

/// Restores a snapshot payload into `target` atomically; returns the database's size in bytes.
/// `target` is refused if it holds data and `replace` is false; on any failure it is untouched
/// and no temporary file remains.
pub fn restore_snapshot(
    payload: &mut dyn Read,
    target: &Path,
    replace: bool,
    reporter: &mut Reporter<'_>,
) -> Result<u64> {
    check_target(target, replace)?;
    sweep_leftovers(target)?;
    let (temp, mut file) = TempPath::reserve(target)?;
    reporter.start_phase(Phase::Restore, Unit::Bytes, 0)?;
    read_sqlite_magic(payload)?;
    file.write_all(SQLITE_MAGIC)
        .map_err(|e| Error::io_at(temp.path(), e))?;
    let size = copy_in_chunks(payload, &mut file, reporter)
        .map_err(|e| e.with_path(temp.path()))?
        + SQLITE_MAGIC.len() as u64;
    file.sync_all().map_err(|e| Error::io_at(temp.path(), e))?;
    drop(file);
    reporter.finish_phase()?;

    reporter.start_phase(Phase::Check, Unit::Bytes, size)?;
    check_database(temp.path())?;
    reporter.advance(size)?;
    reporter.finish_phase()?;
    reporter.check_cancelled()?;
    install(temp, replace)?;
    Ok(size)
}

/// Reads the first 16 bytes of a snapshot payload; anything but SQLite's magic is corruption.
pub(crate) fn read_sqlite_magic(payload: &mut dyn Read) -> Result<()> {
    let mut magic = [0u8; 16];
    payload.read_exact(&mut magic).map_err(|err| {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            Error::Corrupted {
                what: "snapshot payload is too short to be an SQLite database".into(),
            }
        } else {
            Error::from(err)
        }
    })?;
    if &magic != SQLITE_MAGIC {
        return Err(Error::Corrupted {
            what: "snapshot payload is not an SQLite database".into(),
        });
    }
    Ok(())
}

/// Copies `from` into `to`, reporting bytes and checking cancellation per chunk.
fn copy_in_chunks(
    from: &mut dyn Read,
    to: &mut dyn Write,
    reporter: &mut Reporter<'_>,
) -> Result<u64> {
    let mut buffer = vec![0u8; COPY_CHUNK];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        let chunk = buffer.get(..n).unwrap_or_default();
        to.write_all(chunk)?;
        total += n as u64;
        reporter.advance(n as u64)?;
    }
    to.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::{
        fs,
        sync::atomic::{AtomicBool, AtomicU64, Ordering},
    };

    use super::*;
    use crate::{
        backup::testing::{dir_names, FailingWriter},
        progress::CancellationToken,
    };

    fn silent() -> Reporter<'static> {
        Reporter::silent(Phase::Backup, Unit::Bytes)
    }

    /// A database with a parent/child pair of tables; every write keeps `child` rows = 2x `parent`.
    fn make_db(path: &Path, parents: u64) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;
             CREATE TABLE parent(id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             CREATE TABLE child(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent(id));",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for _ in 0..parents {
            insert_family(&conn);
        }
        tx.commit().unwrap();
        conn
    }

    fn insert_family(conn: &Connection) {
        conn.execute(
            "INSERT INTO parent(body) VALUES (?1)",
            ["some text that fills pages a little faster than an integer would"],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        conn.execute("INSERT INTO child(parent) VALUES (?1)", [id])
            .unwrap();
        conn.execute("INSERT INTO child(parent) VALUES (?1)", [id])
            .unwrap();
    }

    fn counts(path: &Path) -> (u64, u64) {
        let conn = Connection::open(path).unwrap();
        let parents = conn
            .query_row("SELECT count(*) FROM parent", [], |r| r.get(0))
            .unwrap();
        let children = conn
            .query_row("SELECT count(*) FROM child", [], |r| r.get(0))
            .unwrap();
        (parents, children)
    }

    fn snapshot_bytes(source: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        write_snapshot(source, None, &mut out, &mut silent()).unwrap();
        out
    }

    #[test]
    fn snapshot_round_trips_and_leaves_only_the_target() {
        let src_dir = tempfile::tempdir().unwrap();
        let source = src_dir.path().join("app.db");
        let _conn = make_db(&source, 500);
        let bytes = snapshot_bytes(&source);
        let names_before = dir_names(src_dir.path());
        assert!(names_before.iter().all(|n| !n.contains("keepsake-tmp")));

        let out_dir = tempfile::tempdir().unwrap();
        let target = out_dir.path().join("restored.db");
        let size = restore_snapshot(&mut bytes.as_slice(), &target, false, &mut silent()).unwrap();
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(counts(&target), (500, 1000));
        // Only the database itself (SQLite may not leave side files after a clean close).
        assert_eq!(dir_names(out_dir.path()), vec!["restored.db".to_string()]);
    }

    #[test]
    fn a_concurrent_writer_does_not_break_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("busy.db");
        drop(make_db(&source, 20_000));
        let stop = AtomicBool::new(false);
        let writes = AtomicU64::new(0);
        let bytes = thread::scope(|scope| {
            scope.spawn(|| {
                let conn = Connection::open(&source).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let tx = conn.unchecked_transaction().unwrap();
                    insert_family(&conn);
                    tx.commit().unwrap();
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            });
            // Snapshot once the writer is going; it keeps writing until the copy is done.
            while writes.load(Ordering::Relaxed) == 0 {
                thread::sleep(Duration::from_millis(1));
            }
            let bytes = snapshot_bytes(&source);
            stop.store(true, Ordering::Relaxed);
            bytes
        });
        let target = dir.path().join("restored.db");
        restore_snapshot(&mut bytes.as_slice(), &target, false, &mut silent()).unwrap();
        let (parents, children) = counts(&target);
        assert!(parents >= 20_000);
        assert_eq!(
            children,
            2 * parents,
            "a torn snapshot would break the invariant"
        );
    }

    #[test]
    fn a_non_empty_target_is_refused_unless_replace() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.db");
        drop(make_db(&source, 10));
        let bytes = snapshot_bytes(&source);
        let target = dir.path().join("b.db");
        drop(make_db(&target, 3));
        let before = fs::read(&target).unwrap();
        let err = restore_snapshot(&mut bytes.as_slice(), &target, false, &mut silent());
        assert!(matches!(err, Err(Error::TargetExists { ref path }) if path == &target));
        assert_eq!(fs::read(&target).unwrap(), before);

        // Uncheckpointed WAL frames of the old target must not leak into the new database.
        let old = Connection::open(&target).unwrap();
        old.execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
        insert_family(&old);
        drop(old);
        restore_snapshot(&mut bytes.as_slice(), &target, true, &mut silent()).unwrap();
        assert_eq!(counts(&target), (10, 20));
        assert!(!dir.path().join("b.db-wal").exists());
        assert!(!dir.path().join("b.db-shm").exists());
    }

    #[test]
    fn an_empty_target_file_is_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.db");
        drop(make_db(&source, 1));
        let bytes = snapshot_bytes(&source);
        let target = dir.path().join("empty.db");
        fs::write(&target, b"").unwrap();
        restore_snapshot(&mut bytes.as_slice(), &target, false, &mut silent()).unwrap();
        assert_eq!(counts(&target), (1, 2));
    }

    #[test]
    fn damaged_payloads_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.db");
        drop(make_db(&source, 2000));
        let good = snapshot_bytes(&source);
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("t.db");

        let not_sqlite = b"definitely not a database file, but long enough".to_vec();
        let too_short = b"SQLite".to_vec();
        let truncated = good.get(..good.len() / 2).unwrap().to_vec();
        let mut scribbled = good.clone();
        // Overwrite a b-tree page in the middle with junk.
        for b in scribbled.iter_mut().skip(good.len() / 2).take(4096) {
            *b = 0x5a;
        }
        for (name, payload) in [
            ("not sqlite", not_sqlite),
            ("too short", too_short),
            ("truncated", truncated),
            ("scribbled", scribbled),
        ] {
            let result = restore_snapshot(&mut payload.as_slice(), &target, false, &mut silent());
            assert!(
                matches!(result, Err(Error::Corrupted { .. })),
                "{name}: {result:?}"
            );
            assert!(dir_names(out.path()).is_empty(), "{name} left files behind");
        }
    }

    #[test]
    fn cancellation_during_restore_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.db");
        drop(make_db(&source, 100));
        let bytes = snapshot_bytes(&source);
        let out = tempfile::tempdir().unwrap();
        let token = CancellationToken::new();
        token.cancel();
        let mut reporter = Reporter::new(None, Some(&token), Phase::Restore, Unit::Bytes, 0);
        let result = restore_snapshot(
            &mut bytes.as_slice(),
            &out.path().join("t.db"),
            false,
            &mut reporter,
        );
        assert!(matches!(result, Err(Error::Cancelled)));
        assert!(dir_names(out.path()).is_empty());
    }

    #[test]
    fn a_failing_sink_during_snapshot_backup_is_a_clean_error() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.db");
        drop(make_db(&source, 2000));
        let mut sink = FailingWriter::new(Vec::new(), 10_000);
        let result = write_snapshot(&source, None, &mut sink, &mut silent());
        assert!(
            matches!(result, Err(Error::Io { ref source, .. }) if source.kind() == io::ErrorKind::StorageFull)
        );
        assert!(dir_names(dir.path())
            .iter()
            .all(|n| !n.contains("keepsake-tmp")));
    }
}
