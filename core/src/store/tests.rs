use rusqlite::Connection;

use super::test_support::{attachment, conversation, message, participant, reaction};
use super::*;

fn store_with_conversation() -> ChatStore {
    let mut store = ChatStore::open_in_memory().unwrap();
    store.upsert_conversation(&conversation(1)).unwrap();
    store.upsert_participant(&participant(1, "alice")).unwrap();
    store.upsert_participant(&participant(1, "bob")).unwrap();
    store
}

#[test]
fn a_file_store_uses_wal_foreign_keys_and_the_current_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let store = ChatStore::open(&path).unwrap();
    let conn = store.connection();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let fk: bool = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(fk);
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(store.path(), Some(path.as_path()));
}

#[test]
fn an_existing_version_0_file_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        // A database file that exists but predates the schema (user_version 0).
        conn.execute_batch("CREATE TABLE app_settings (k TEXT, v TEXT);")
            .unwrap();
    }
    let mut store = ChatStore::open(&path).unwrap();
    store.upsert_conversation(&conversation(1)).unwrap();
    drop(store);
    let store = ChatStore::open(&path).unwrap();
    assert_eq!(store.counts().unwrap().conversations, 1);
    let version: u32 = store
        .connection()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_database_from_a_newer_build_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 9;")
            .unwrap();
    }
    let err = ChatStore::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedVersion { found: 9, .. }),
        "{err:?}"
    );
    let conn = Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 9);
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn a_file_that_is_not_a_database_is_a_database_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![0x42; 8192]).unwrap();
    let err = ChatStore::open(&path).unwrap_err();
    match err {
        Error::Database {
            path: Some(p),
            message,
        } => {
            assert_eq!(p, path);
            assert!(message.contains("not a database"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn upserting_a_conversation_updates_it_and_keeps_its_messages() {
    let mut store = store_with_conversation();
    store.insert_messages(&[message(1, 1, 10)]).unwrap();
    let mut changed = conversation(1);
    changed.title = Some("Renamed".into());
    changed.pinned = true;
    changed.muted_until = Some(99);
    store.upsert_conversation(&changed).unwrap();
    assert_eq!(store.conversation(1).unwrap(), Some(changed));
    assert_eq!(store.counts().unwrap().messages, 1);
    assert_eq!(store.participants(1).unwrap().len(), 2);

    let mut admin = participant(1, "bob");
    admin.role = Role::Admin;
    store.upsert_participant(&admin).unwrap();
    assert_eq!(store.participants(1).unwrap()[1], admin);
}

#[test]
fn a_failing_batch_inserts_nothing() {
    let mut store = store_with_conversation();
    let batch = [message(1, 1, 10), message(2, 1, 11), message(3, 42, 12)];
    let err = store.insert_messages(&batch).unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert_eq!(store.counts().unwrap().messages, 0);
    // A duplicate id is refused as well.
    store.insert_messages(&batch[..2]).unwrap();
    assert!(store.insert_messages(&[message(2, 1, 20)]).is_err());
    assert_eq!(store.counts().unwrap().messages, 2);
}

#[test]
fn extra_must_be_json() {
    let mut store = store_with_conversation();
    let mut bad = message(1, 1, 10);
    bad.extra = Some("{not json".into());
    assert!(matches!(
        store.insert_messages(&[bad]),
        Err(Error::Database { .. })
    ));
    let mut good = message(1, 1, 10);
    good.extra = Some(r#"{"server_id":"abc"}"#.into());
    store.insert_messages(std::slice::from_ref(&good)).unwrap();
    assert_eq!(store.message(1).unwrap(), Some(good));
}

#[test]
fn timeline_pages_walk_back_newest_first_without_gaps_or_repeats() {
    let mut store = store_with_conversation();
    store.upsert_conversation(&conversation(2)).unwrap();
    // Ties on sent_at are broken by id; another conversation's messages never show up.
    let batch: Vec<Message> = (1..=25)
        .map(|id| message(id, 1, 1000 + id / 3))
        .chain((26..=30).map(|id| message(id, 2, 5000)))
        .collect();
    store.insert_messages(&batch).unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.timeline(1, cursor, 10).unwrap();
        pages += 1;
        seen.extend(page.messages.iter().map(|m| (m.sent_at, m.id)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<(i64, i64)> = (1..=25).map(|id| (1000 + id / 3, id)).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected);
    assert!(matches!(
        store.timeline(1, None, 0),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn timeline_reads_are_served_by_the_timeline_index() {
    let store = store_with_conversation();
    let plan: Vec<String> = {
        let mut stmt = store
            .connection()
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation_id = 1 AND (sent_at, id) < (5, 5)
                 ORDER BY sent_at DESC, id DESC LIMIT 10"
            ))
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let plan = plan.join(" | ");
    assert!(plan.contains("messages_timeline"), "{plan}");
    assert!(
        !plan.contains("TEMP B-TREE"),
        "sorts instead of walking the index: {plan}"
    );
}

#[test]
fn edits_change_the_body_and_record_the_time() {
    let mut store = store_with_conversation();
    store.insert_messages(&[message(1, 1, 10)]).unwrap();
    store.edit_message(1, "fixed typo", 77).unwrap();
    let edited = store.message(1).unwrap().unwrap();
    assert_eq!(edited.body.as_deref(), Some("fixed typo"));
    assert_eq!(edited.edited_at, Some(77));
    assert!(matches!(
        store.edit_message(2, "x", 1),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn deleting_leaves_a_tombstone_and_removes_reactions_and_attachments() {
    let mut store = store_with_conversation();
    let mut reply = message(2, 1, 11);
    reply.reply_to = Some(1);
    store.insert_messages(&[message(1, 1, 10), reply]).unwrap();
    store.react(&reaction(1, "bob", "👍")).unwrap();
    store.insert_attachments(&[attachment(1, 1)]).unwrap();

    store.delete_message(1, 500).unwrap();
    let tombstone = store.message(1).unwrap().unwrap();
    assert_eq!(tombstone.body, None);
    assert_eq!(tombstone.deleted_at, Some(500));
    assert!(store.reactions(1).unwrap().is_empty());
    assert!(store.attachments(1).unwrap().is_empty());
    assert_eq!(store.message(2).unwrap().unwrap().reply_to, Some(1));
    // Deleting again keeps the first deletion time; editing a tombstone is refused.
    store.delete_message(1, 900).unwrap();
    assert_eq!(store.message(1).unwrap().unwrap().deleted_at, Some(500));
    assert!(store.edit_message(1, "back", 1000).is_err());
    assert!(matches!(
        store.delete_message(3, 1),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn reactions_are_unique_per_sender_and_emoji() {
    let mut store = store_with_conversation();
    store.insert_messages(&[message(1, 1, 10)]).unwrap();
    store.react(&reaction(1, "bob", "👍")).unwrap();
    let mut again = reaction(1, "bob", "👍");
    again.created_at += 10;
    store.react(&again).unwrap();
    store.react(&reaction(1, "bob", "❤️")).unwrap();
    store.react(&reaction(1, "alice", "👍")).unwrap();
    let reactions = store.reactions(1).unwrap();
    assert_eq!(reactions.len(), 3);
    assert!(reactions.contains(&again));
    assert!(store.unreact(1, "bob", "👍").unwrap());
    assert!(!store.unreact(1, "bob", "👍").unwrap());
    assert_eq!(store.reactions(1).unwrap().len(), 2);
    assert!(store.react(&reaction(99, "bob", "👍")).is_err());
}

#[test]
fn attachments_and_delivery_round_trip_through_the_typed_api() {
    let mut store = store_with_conversation();
    store.insert_messages(&[message(1, 1, 10)]).unwrap();
    let mut video = attachment(2, 1);
    video.mime = "video/mp4".into();
    video.duration_ms = Some(12_345);
    video.sha256 = None;
    store
        .insert_attachments(&[attachment(1, 1), video.clone()])
        .unwrap();
    assert_eq!(store.attachments(1).unwrap(), [attachment(1, 1), video]);
    store.set_delivery(1, DeliveryState::Failed).unwrap();
    assert_eq!(
        store.message(1).unwrap().unwrap().delivery,
        DeliveryState::Failed
    );
    assert_eq!(
        store.counts().unwrap(),
        RecordCounts {
            conversations: 1,
            participants: 2,
            messages: 1,
            reactions: 0,
            attachments: 2
        }
    );
}

#[test]
fn integrity_check_reports_dangling_references() {
    let mut store = store_with_conversation();
    store.insert_messages(&[message(1, 1, 10)]).unwrap();
    store.check_integrity().unwrap();
    let conn = store.connection();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute("DELETE FROM conversations WHERE id = 1", [])
        .unwrap();
    let err = store.check_integrity().unwrap_err();
    assert!(
        matches!(&err, Error::Corrupted { what } if what.contains("messages")),
        "{err:?}"
    );
}

#[test]
fn a_store_for_import_is_new_only_and_becomes_wal_when_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("restore.tmp");
    let mut store = ChatStore::create_for_import(&path).unwrap();
    store.upsert_conversation(&conversation(1)).unwrap();
    assert!(matches!(
        ChatStore::create_for_import(&path),
        Err(Error::Io { .. })
    ));
    store.close().unwrap();
    assert!(!dir.path().join("restore.tmp-wal").exists());
    let reopened = ChatStore::open(&path).unwrap();
    let mode: String = reopened
        .connection()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(reopened.counts().unwrap().conversations, 1);
}

#[test]
fn the_schema_refuses_unknown_enum_codes_written_behind_the_api() {
    let store = store_with_conversation();
    let insert = |kind: &str, delivery: &str| {
        store.connection().execute(
            &format!(
                "INSERT INTO messages (conversation_id, sender, kind, sent_at, delivery)
                 VALUES (1, 'alice', {kind}, 1, {delivery})"
            ),
            [],
        )
    };
    insert("2", "4").unwrap();
    for (kind, delivery) in [
        ("3", "0"),
        ("-1", "0"),
        ("1.5", "0"),
        ("'text'", "0"),
        ("0", "5"),
    ] {
        assert!(
            insert(kind, delivery).is_err(),
            "kind {kind}, delivery {delivery}"
        );
    }
    let role = |role: &str| {
        store.connection().execute(
            &format!(
                "INSERT INTO participants (conversation_id, user_id, role, joined_at)
                 VALUES (1, 'u{role}', {role}, 1)"
            ),
            [],
        )
    };
    role("2").unwrap();
    assert!(role("3").is_err());
}

#[test]
fn a_full_disk_is_an_io_error_and_other_sqlite_failures_are_database_errors() {
    let full = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        Some("database or disk is full".into()),
    );
    assert!(matches!(
        database_error(full),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull
    ));
    let busy =
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
    assert!(matches!(database_error(busy), Error::Database { .. }));
}
