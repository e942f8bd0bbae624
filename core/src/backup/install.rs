//! Putting a restored database in place: refuse a non-empty target unless asked to replace it,
//! check the temporary database (`PRAGMA integrity_check`, `PRAGMA foreign_key_check`), then
//! fsync, rename atomically and remove the target's stale `-wal`/`-shm` files.
//!
//! Without `replace`, the early [`check_target`] only saves work: the final rename itself
//! refuses an existing target, so a database the app created while the restore ran survives.

use std::{fs, io, path::Path};

use rusqlite::{Connection, OpenFlags};

use crate::atomic::{remove_side_files, TempPath};
use crate::{Error, Result};

/// Fails with [`Error::TargetExists`] when `target` holds data and `replace` is false.
/// A missing or empty file is not data.
pub(crate) fn check_target(target: &Path, replace: bool) -> Result<()> {
    match fs::metadata(target) {
        Ok(meta) if meta.is_dir() => Err(Error::InvalidArgument(format!(
            "restore target {} is a directory",
            target.display()
        ))),
        Ok(meta) if meta.len() > 0 && !replace => Err(Error::TargetExists {
            path: target.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io_at(target, err)),
    }
}

/// A rusqlite error as the core's [`Error::Database`] on `path`.
pub(crate) fn db_error(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |err| Error::Database {
        message: err.to_string(),
        path: Some(path.to_path_buf()),
    }
}

/// Runs SQLite's own consistency checks on the closed database at `path`.
/// Damage is [`Error::Corrupted`]: the backup decoded but did not produce a sound database.
pub(crate) fn check_database(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_error(path))?;
    let to_err = db_error(path);
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(|err| not_a_database_or(err, &to_err))?;
    if problems != ["ok"] {
        return Err(Error::Corrupted {
            what: format!(
                "restored database fails integrity_check: {}",
                problems.join("; ")
            ),
        });
    }
    let violations: u64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .map_err(|err| not_a_database_or(err, &to_err))?;
    if violations > 0 {
        return Err(Error::Corrupted {
            what: format!("restored database has {violations} foreign key violations"),
        });
    }
    conn.close().map_err(|(_, err)| to_err(err))
}

/// SQLite's "not a database" and "malformed" mean the payload was not a sound database file.
fn not_a_database_or(err: rusqlite::Error, other: &impl Fn(rusqlite::Error) -> Error) -> Error {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::Corrupted {
                what: format!("restored database: {err}"),
            }
        }
        _ => other(err),
    }
}

/// Moves the checked temporary database to its target.
///
/// When replacing, the old target's WAL is first folded into it and truncated (its content is
/// unchanged), so that a crash between the rename and the removal of the old `-wal`/`-shm` can
/// never replay old frames onto the new database. The app must have closed the target.
///
/// Without `replace`, the rename does not replace: a target that exists at that moment is
/// [`Error::TargetExists`] and keeps its content, unless it is an empty file (not data, as in
/// [`check_target`]), which is removed and the rename tried once more.
pub(crate) fn install(temp: TempPath, replace: bool) -> Result<()> {
    let target = temp.target().to_path_buf();
    if replace {
        if target.exists() {
            checkpoint_old_target(&target);
        }
        temp.commit()?;
        remove_side_files(&target);
        return Ok(());
    }
    if is_empty_file(&target) {
        fs::remove_file(&target).map_err(|e| Error::io_at(&target, e))?;
    }
    temp.commit_no_replace()?;
    remove_side_files(&target);
    Ok(())
}

/// An existing, empty regular file (what a caller may have created as a placeholder).
fn is_empty_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() == 0)
}

/// Best effort: a target that is not an SQLite database has no WAL to fold in.
fn checkpoint_old_target(target: &Path) {
    if let Ok(conn) = Connection::open_with_flags(target, OpenFlags::SQLITE_OPEN_READ_WRITE) {
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        let _ = conn.close();
    }
}
