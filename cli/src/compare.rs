//! Row-by-row comparison of two SQLite databases, independent of Keepsake's own checks: the
//! demo uses it to show that every row of every table came back from a backup.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::error::{CliError, CliResult};

/// The outcome of a successful comparison.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Comparison {
    /// Tables compared (all user tables of the original).
    pub tables: u64,
    /// Rows found identical in both databases.
    pub rows: u64,
}

/// Check that `restored` holds exactly the rows of `original`, table by table; the first
/// difference is a [`CliError::Mismatch`].
pub fn compare_databases(original: &Path, restored: &Path) -> CliResult<Comparison> {
    let conn = Connection::open_with_flags(original, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sql_error(original))?;
    let restored_uri = restored.to_string_lossy().into_owned();
    conn.execute("ATTACH DATABASE ?1 AS restored", [&restored_uri])
        .map_err(sql_error(restored))?;
    let original_tables = user_tables(&conn, "main").map_err(sql_error(original))?;
    let restored_tables = user_tables(&conn, "restored").map_err(sql_error(restored))?;
    if original_tables != restored_tables {
        return Err(CliError::Mismatch(format!(
            "tables differ: original has {original_tables:?}, restored has {restored_tables:?}"
        )));
    }
    let mut rows = 0u64;
    for table in &original_tables {
        let quoted = quote_identifier(table);
        let count = |schema: &str| -> rusqlite::Result<u64> {
            conn.query_row(
                &format!("SELECT count(*) FROM {schema}.{quoted}"),
                [],
                |row| row.get(0),
            )
        };
        let in_original = count("main").map_err(sql_error(original))?;
        let in_restored = count("restored").map_err(sql_error(restored))?;
        if in_original != in_restored {
            return Err(CliError::Mismatch(format!(
                "table {table}: {in_original} rows in the original, {in_restored} restored"
            )));
        }
        let differing: u64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM (SELECT * FROM main.{quoted} \
                     EXCEPT SELECT * FROM restored.{quoted})"
                ),
                [],
                |row| row.get(0),
            )
            .map_err(sql_error(restored))?;
        if differing != 0 {
            return Err(CliError::Mismatch(format!(
                "table {table}: {differing} row(s) of the original were not restored identically"
            )));
        }
        rows += in_original;
    }
    Ok(Comparison {
        tables: original_tables.len() as u64,
        rows,
    })
}

fn user_tables(conn: &Connection, schema: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare(&format!(
        "SELECT name FROM {schema}.sqlite_master \
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ))?;
    let names = statement.query_map([], |row| row.get(0))?;
    names.collect()
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> CliError + '_ {
    move |err| {
        CliError::Core(keepsake_core::Error::Database {
            message: err.to_string(),
            path: Some(path.to_path_buf()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(path: &Path, rows: &[(i64, &str)]) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("CREATE TABLE \"odd \"\"name\" (id INTEGER PRIMARY KEY, body TEXT);")
            .unwrap();
        for (id, body) in rows {
            conn.execute(
                "INSERT INTO \"odd \"\"name\" VALUES (?1, ?2)",
                rusqlite::params![id, body],
            )
            .unwrap();
        }
    }

    #[test]
    fn identical_databases_compare_equal_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        database(&a, &[(1, "hi"), (2, "there")]);
        database(&b, &[(2, "there"), (1, "hi")]);
        assert_eq!(
            compare_databases(&a, &b).unwrap(),
            Comparison { tables: 1, rows: 2 }
        );
    }

    #[test]
    fn one_changed_value_is_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        database(&a, &[(1, "hi"), (2, "there")]);
        database(&b, &[(1, "hi"), (2, "thera")]);
        assert!(matches!(
            compare_databases(&a, &b),
            Err(CliError::Mismatch(_))
        ));
    }

    #[test]
    fn a_missing_row_is_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        database(&a, &[(1, "hi"), (2, "there")]);
        database(&b, &[(1, "hi")]);
        assert!(matches!(
            compare_databases(&a, &b),
            Err(CliError::Mismatch(_))
        ));
    }
}
