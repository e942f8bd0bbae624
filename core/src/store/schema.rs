//! The schema and its migrations. The version lives in `PRAGMA user_version`; migration `i` takes
//! a database from version `i` to `i + 1`, all of them in one immediate transaction, so a crash or
//! a concurrent opener never sees a half-migrated database.

use rusqlite::{Connection, TransactionBehavior};

use super::SqlResultExt;
use crate::{Error, Result};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Version 0 (an empty database) to version 1: the whole chat schema. See `docs/SCHEMA.md`.
/// Enum checks use ranges, not `IN` lists: SQLite builds a temporary table for every check of an
/// `IN` list of three or more values, which made each insert several times slower.
const V1: &str = "
CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY,
    kind        INTEGER NOT NULL CHECK (kind IN (0, 1)),
    title       TEXT,
    created_at  INTEGER NOT NULL,
    archived    INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    muted_until INTEGER,
    pinned      INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    extra       TEXT CHECK (extra IS NULL OR json_valid(extra))
);
CREATE TABLE participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    display_name    TEXT,
    role            INTEGER NOT NULL CHECK (typeof(role) = 'integer' AND role BETWEEN 0 AND 2),
    joined_at       INTEGER NOT NULL,
    extra           TEXT CHECK (extra IS NULL OR json_valid(extra)),
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender          TEXT NOT NULL,
    kind            INTEGER NOT NULL CHECK (typeof(kind) = 'integer' AND kind BETWEEN 0 AND 2),
    body            TEXT,
    sent_at         INTEGER NOT NULL,
    received_at     INTEGER,
    reply_to        INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    edited_at       INTEGER,
    deleted_at      INTEGER,
    delivery        INTEGER NOT NULL CHECK (typeof(delivery) = 'integer' AND delivery BETWEEN 0 AND 4),
    extra           TEXT CHECK (extra IS NULL OR json_valid(extra))
);
CREATE INDEX messages_timeline ON messages (conversation_id, sent_at DESC, id DESC);
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    sender     TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, sender, emoji)
) WITHOUT ROWID;
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    mime        TEXT NOT NULL,
    file_name   TEXT,
    size        INTEGER NOT NULL CHECK (size >= 0),
    sha256      BLOB CHECK (sha256 IS NULL OR length(sha256) = 32),
    width       INTEGER CHECK (width IS NULL OR width >= 0),
    height      INTEGER CHECK (height IS NULL OR height >= 0),
    duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
    local_ref   TEXT,
    extra       TEXT CHECK (extra IS NULL OR json_valid(extra))
);
CREATE INDEX attachments_message ON attachments (message_id);
";

/// The migrations of this build; entry `i` migrates version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1];

/// Bring the database to the newest version in `migrations`, or refuse a newer one.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let newest = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    // Cheap check first, without taking the write lock: an up-to-date database needs nothing.
    if current_version(conn)? == newest {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let found = current_version(&tx)?;
    if found > newest {
        return Err(Error::UnsupportedVersion {
            what: "chat database schema version".into(),
            found: u64::from(found),
            supported: format!("versions 0 to {newest}"),
        });
    }
    for (from, step) in migrations.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step).db()?;
        let to = from + 1;
        tx.pragma_update(None, "user_version", to).db()?;
    }
    tx.commit().db()
}

/// The version recorded in the database.
pub fn current_version(conn: &Connection) -> Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get::<_, u32>(0))
        .db()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn the_schema_md_appendix_is_the_sql_the_code_runs() {
        let doc = include_str!("../../../docs/SCHEMA.md");
        let appendix = doc
            .split("## Appendix: the exact SQL of schema version 1")
            .nth(1)
            .and_then(|rest| rest.split("```sql").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("docs/SCHEMA.md has the SQL appendix");
        let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words(appendix), words(V1));
    }

    #[test]
    fn an_empty_version_0_database_migrates_to_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(current_version(&conn).unwrap(), 0);
        migrate(&mut conn, MIGRATIONS).unwrap();
        assert_eq!(current_version(&conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(
            table_names(&conn),
            [
                "attachments",
                "conversations",
                "messages",
                "participants",
                "reactions"
            ]
        );
        // Migrating again is a no-op.
        migrate(&mut conn, MIGRATIONS).unwrap();
        assert_eq!(current_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn an_older_database_runs_only_the_missing_steps_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps: &[&str] = &[
            "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);",
            "ALTER TABLE t ADD COLUMN y INTEGER DEFAULT 7;",
        ];
        migrate(&mut conn, &steps[..1]).unwrap();
        assert_eq!(current_version(&conn).unwrap(), 1);
        migrate(&mut conn, steps).unwrap();
        assert_eq!(current_version(&conn).unwrap(), 2);
        let row: (i64, i64) = conn
            .query_row("SELECT x, y FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, (1, 7));
    }

    #[test]
    fn a_failing_step_leaves_the_database_at_its_old_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps: &[&str] = &["CREATE TABLE t (x INTEGER);", "THIS IS NOT SQL;"];
        let err = migrate(&mut conn, steps).unwrap_err();
        assert!(matches!(err, Error::Database { .. }), "{err:?}");
        assert_eq!(current_version(&conn).unwrap(), 0);
        assert!(table_names(&conn).is_empty());
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, MIGRATIONS).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedVersion { found, .. } if found == u64::from(SCHEMA_VERSION) + 1),
            "{err:?}"
        );
    }
}
