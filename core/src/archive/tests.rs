use std::io::Cursor;

use proptest::prelude::*;

use super::record::{KIND_MESSAGE, KIND_TRAILER};
use super::row_encoding;
use super::wire::FieldWriter;
use super::*;
use crate::progress::{CancellationToken, Phase, Unit};
use crate::store::{
    synthetic::{generate, SyntheticSpec},
    test_support::{attachment, conversation, dump, message, participant, reaction},
    Attachment, Conversation, ConversationKind, DeliveryState, Message, MessageKind, Participant,
    Reaction, Role,
};

/// Maps a row onto its record (the slow path the row encoders must match).
type RowToRecord = fn(&rusqlite::Row<'_>) -> rusqlite::Result<Record>;

fn silent() -> Reporter<'static> {
    Reporter::silent(Phase::Backup, Unit::Rows)
}

fn synthetic_store(seed: u64, conversations: u32, messages: u64) -> ChatStore {
    let mut store = ChatStore::open_in_memory().unwrap();
    generate(
        &mut store,
        &SyntheticSpec {
            seed,
            conversations,
            messages,
        },
    )
    .unwrap();
    store
}

fn export_bytes(store: &ChatStore) -> (Vec<u8>, ExportSummary) {
    let export = Export::begin(store).unwrap();
    let mut out = Vec::new();
    let summary = export.write_to(&mut out, &mut silent()).unwrap();
    (out, summary)
}

fn import_bytes(bytes: &[u8]) -> (ChatStore, Result<ImportSummary>) {
    let mut target = ChatStore::open_in_memory().unwrap();
    let result = import(&mut Cursor::new(bytes), &mut target, &mut silent());
    (target, result)
}

/// A small archive written by hand, for stream-level tests.
fn handmade(write: impl FnOnce(&mut ArchiveWriter<&mut Vec<u8>>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ArchiveWriter::new(&mut out);
    write(&mut writer);
    writer.finish().unwrap();
    out
}

fn small_archive() -> Vec<u8> {
    handmade(|w| {
        w.write(&Record::Conversation(conversation(1))).unwrap();
        w.write(&Record::Participant(participant(1, "alice")))
            .unwrap();
        w.write(&Record::Message(message(1, 1, 10))).unwrap();
        w.write(&Record::Message(message(2, 1, 11))).unwrap();
        w.write(&Record::Reaction(reaction(1, "alice", "👍")))
            .unwrap();
        w.write(&Record::Attachment(attachment(1, 2))).unwrap();
    })
}

#[test]
fn a_synthetic_store_round_trips_row_for_row() {
    let original = synthetic_store(7, 40, 5_000);
    let counts = original.counts().unwrap();
    assert!(counts.reactions > 0 && counts.attachments > 0 && counts.participants > 80);

    let (bytes, exported) = export_bytes(&original);
    assert_eq!(exported.counts, counts);
    let (restored, imported) = import_bytes(&bytes);
    let imported = imported.unwrap();
    assert_eq!(imported.counts, counts);
    assert_eq!(imported.digest, exported.digest);
    assert_eq!(
        (imported.skipped_unknown, imported.skipped_unknown_fields),
        (0, 0)
    );
    assert_eq!(dump(&restored), dump(&original));
    restored.check_integrity().unwrap();

    // Exporting the restored store gives the very same bytes: ids and order are stable.
    assert_eq!(export_bytes(&restored).0, bytes);
    let verified = verify(&mut Cursor::new(&bytes), &mut silent()).unwrap();
    assert_eq!(verified, imported);
}

#[test]
fn an_empty_store_round_trips() {
    let (bytes, summary) = export_bytes(&ChatStore::open_in_memory().unwrap());
    assert_eq!(summary.counts.total(), 0);
    let (restored, imported) = import_bytes(&bytes);
    assert_eq!(imported.unwrap().counts.total(), 0);
    assert_eq!(restored.counts().unwrap().total(), 0);
}

#[test]
fn a_reply_to_a_newer_message_still_imports() {
    let mut store = ChatStore::open_in_memory().unwrap();
    store.upsert_conversation(&conversation(1)).unwrap();
    let mut early = message(1, 1, 10);
    early.reply_to = Some(2);
    store.insert_messages(&[message(2, 1, 5), early]).unwrap();
    let (bytes, _) = export_bytes(&store);
    let (restored, result) = import_bytes(&bytes);
    result.unwrap();
    assert_eq!(dump(&restored), dump(&store));
}

#[test]
fn unknown_record_kinds_and_fields_are_skipped_and_counted() {
    let mut with_future_field = Vec::new();
    Record::Message(message(2, 1, 11)).encode_body(&mut with_future_field);
    let mut future = FieldWriter::new(&mut with_future_field);
    future.bytes(40, b"a field from a newer writer");
    future.uint(41, 12345);

    let bytes = handmade(|w| {
        w.write(&Record::Conversation(conversation(1))).unwrap();
        w.write_raw(42, b"\x02\x05hello").unwrap(); // a future record kind
        w.write(&Record::Message(message(1, 1, 10))).unwrap();
        w.write_raw(KIND_MESSAGE, &with_future_field).unwrap();
        w.write_raw(99, &[]).unwrap();
    });
    let (restored, summary) = import_bytes(&bytes);
    let summary = summary.unwrap();
    assert_eq!(summary.skipped_unknown, 2);
    assert_eq!(summary.skipped_unknown_fields, 2);
    assert_eq!(summary.counts.messages, 2);
    assert_eq!(restored.message(2).unwrap(), Some(message(2, 1, 11)));
}

#[test]
fn a_newer_minor_version_is_read_and_a_newer_major_version_refused() {
    let write = |major, minor| {
        let mut out = Vec::new();
        let mut writer = ArchiveWriter::with_version(&mut out, major, minor);
        writer
            .write(&Record::Conversation(conversation(1)))
            .unwrap();
        writer.finish().unwrap();
        out
    };
    let (_, minor) = import_bytes(&write(MAJOR_VERSION, MINOR_VERSION + 5));
    assert_eq!(minor.unwrap().counts.conversations, 1);
    for major in [MAJOR_VERSION + 1, 0, u16::MAX] {
        let (store, result) = import_bytes(&write(major, 0));
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedVersion { found, .. } if found == u64::from(major)),
            "{err:?}"
        );
        assert_eq!(store.counts().unwrap().total(), 0);
    }
}

#[test]
fn every_truncation_is_truncated_or_corrupted_and_imports_nothing() {
    let bytes = small_archive();
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        let err = verify(&mut Cursor::new(cut), &mut silent()).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { .. } | Error::Corrupted { .. }),
            "cut at {len}: {err:?}"
        );
        let (store, result) = import_bytes(cut);
        assert!(result.is_err(), "cut at {len}");
        assert_eq!(store.counts().unwrap().total(), 0, "cut at {len}");
    }
    // The missing trailer alone (cut at a record boundary) is reported as truncation.
    let trailer_start = bytes
        .windows(1)
        .rposition(|w| w[0] == KIND_TRAILER as u8)
        .unwrap();
    let err = verify(&mut Cursor::new(&bytes[..trailer_start]), &mut silent()).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
}

#[test]
fn every_flipped_bit_is_detected() {
    let bytes = small_archive();
    for index in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[index] ^= 1 << bit;
            let result = verify(&mut Cursor::new(&damaged), &mut silent());
            assert!(
                matches!(
                    result,
                    Err(Error::Corrupted { .. }
                        | Error::Truncated { .. }
                        | Error::UnsupportedVersion { .. }
                        | Error::LimitExceeded { .. })
                ),
                "byte {index} bit {bit}: {result:?}"
            );
        }
    }
}

#[test]
fn data_after_the_trailer_is_corrupted() {
    let mut bytes = small_archive();
    bytes.push(0);
    let err = verify(&mut Cursor::new(&bytes), &mut silent()).unwrap_err();
    assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
}

#[test]
fn a_record_that_breaks_the_schema_is_corrupted_and_nothing_is_imported() {
    let dangling = handmade(|w| {
        w.write(&Record::Conversation(conversation(1))).unwrap();
        w.write(&Record::Message(message(1, 1, 10))).unwrap();
        w.write(&Record::Message(message(2, 7, 10))).unwrap();
    });
    let duplicate = handmade(|w| {
        w.write(&Record::Conversation(conversation(1))).unwrap();
        w.write(&Record::Conversation(conversation(1))).unwrap();
    });
    for bytes in [dangling, duplicate] {
        let (store, result) = import_bytes(&bytes);
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
        assert_eq!(store.counts().unwrap().total(), 0);
    }
}

#[test]
fn import_refuses_a_store_that_is_not_empty() {
    let bytes = small_archive();
    let mut target = ChatStore::open_in_memory().unwrap();
    target.upsert_conversation(&conversation(5)).unwrap();
    let err = import(&mut Cursor::new(&bytes), &mut target, &mut silent()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!(target.counts().unwrap().total(), 1);
}

#[test]
fn a_cancelled_import_or_export_stops_and_imports_nothing() {
    let store = synthetic_store(1, 5, 10_000);
    let (bytes, _) = export_bytes(&store);
    let token = CancellationToken::new();
    token.cancel();
    let mut reporter = Reporter::new(None, Some(&token), Phase::Restore, Unit::Rows, 0);
    let mut target = ChatStore::open_in_memory().unwrap();
    let err = import(&mut Cursor::new(&bytes), &mut target, &mut reporter).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert_eq!(target.counts().unwrap().total(), 0);

    let mut reporter = Reporter::new(None, Some(&token), Phase::Backup, Unit::Rows, 0);
    let err = Export::begin(&store)
        .unwrap()
        .write_to(&mut Vec::new(), &mut reporter)
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
}

#[test]
fn export_reports_progress_in_records() {
    let store = synthetic_store(3, 5, 9_000);
    let total = store.counts().unwrap().total();
    let last = std::sync::Mutex::new(0u64);
    let sink = |p: crate::progress::Progress| *last.lock().unwrap() = p.done;
    let mut reporter = Reporter::new(Some(&sink), None, Phase::Backup, Unit::Rows, total);
    let export = Export::begin(&store).unwrap();
    export.write_to(&mut Vec::new(), &mut reporter).unwrap();
    reporter.finish_phase().unwrap();
    assert_eq!(*last.lock().unwrap(), total);
}

#[test]
fn a_failing_sink_fails_the_export_with_its_error() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let store = synthetic_store(2, 3, 2_000);
    let err = Export::begin(&store)
        .unwrap()
        .write_to(&mut Full, &mut silent())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{err:?}"
    );
}

#[test]
fn a_row_too_large_for_an_archive_fails_the_export_up_front() {
    let mut store = ChatStore::open_in_memory().unwrap();
    store.upsert_conversation(&conversation(1)).unwrap();
    let mut huge = message(1, 1, 1);
    huge.body = Some("x".repeat(MAX_RECORD_LEN + 1));
    store.insert_messages(&[huge]).unwrap();
    let err = Export::begin(&store)
        .unwrap()
        .write_to(&mut std::io::sink(), &mut silent())
        .unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
}

#[test]
fn export_sees_one_snapshot_while_another_connection_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let mut store = ChatStore::open(&path).unwrap();
    generate(
        &mut store,
        &SyntheticSpec {
            seed: 11,
            conversations: 20,
            messages: 20_000,
        },
    )
    .unwrap();
    let before = dump(&store);
    let counts = store.counts().unwrap();

    let export = Export::begin(&store).unwrap();
    assert_eq!(*export.counts(), counts);
    let mut app = ChatStore::open(&path).unwrap();
    // A write between begin and streaming, and more while the export streams.
    app.insert_messages(&[message(1_000_000, 1, 1)]).unwrap();
    let writer = std::thread::spawn(move || {
        for batch in 0..50 {
            let base = 2_000_000 + batch * 100;
            let rows: Vec<Message> = (base..base + 100).map(|id| message(id, 1, id)).collect();
            app.insert_messages(&rows).unwrap();
            app.delete_message(batch + 1, 1).unwrap();
        }
        app
    });
    let mut bytes = Vec::new();
    let summary = export.write_to(&mut bytes, &mut silent()).unwrap();
    let app = writer.join().unwrap();
    assert_eq!(summary.counts, counts);
    assert_eq!(app.counts().unwrap().messages, counts.messages + 5_001);

    let (restored, result) = import_bytes(&bytes);
    assert_eq!(result.unwrap().counts, counts);
    assert_eq!(dump(&restored), before);
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(".{0,40}")
}

fn json() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z]{0,8}".prop_map(|k| format!(r#"{{"{k}":1}}"#)))
}

fn any_record() -> impl Strategy<Value = Record> {
    let conversation = (
        any::<i64>(),
        any::<bool>(),
        opt_text(),
        any::<i64>(),
        any::<bool>(),
        any::<Option<i64>>(),
        any::<bool>(),
        json(),
    )
        .prop_map(
            |(id, group, title, created_at, archived, muted_until, pinned, extra)| {
                Record::Conversation(Conversation {
                    id,
                    kind: if group {
                        ConversationKind::Group
                    } else {
                        ConversationKind::Direct
                    },
                    title,
                    created_at,
                    archived,
                    muted_until,
                    pinned,
                    extra,
                })
            },
        );
    let participant = (
        any::<i64>(),
        ".{0,20}",
        opt_text(),
        proptest::sample::select(Role::ALL),
        any::<i64>(),
        json(),
    )
        .prop_map(
            |(conversation_id, user_id, display_name, role, joined_at, extra)| {
                Record::Participant(Participant {
                    conversation_id,
                    user_id,
                    display_name,
                    role,
                    joined_at,
                    extra,
                })
            },
        );
    let message = (
        (any::<i64>(), any::<i64>(), ".{0,20}"),
        proptest::sample::select(MessageKind::ALL),
        opt_text(),
        any::<i64>(),
        any::<[Option<i64>; 4]>(),
        proptest::sample::select(DeliveryState::ALL),
        json(),
    )
        .prop_map(
            |((id, conversation_id, sender), kind, body, sent_at, times, delivery, extra)| {
                let [received_at, reply_to, edited_at, deleted_at] = times;
                Record::Message(Message {
                    id,
                    conversation_id,
                    sender,
                    kind,
                    body,
                    sent_at,
                    received_at,
                    reply_to,
                    edited_at,
                    deleted_at,
                    delivery,
                    extra,
                })
            },
        );
    let reaction = (any::<i64>(), ".{0,20}", ".{0,8}", any::<i64>()).prop_map(
        |(message_id, sender, emoji, created_at)| {
            Record::Reaction(Reaction {
                message_id,
                sender,
                emoji,
                created_at,
            })
        },
    );
    let attachment = (
        (any::<i64>(), any::<i64>(), ".{0,20}", opt_text()),
        0..=i64::MAX as u64,
        any::<Option<[u8; 32]>>(),
        any::<(Option<u32>, Option<u32>)>(),
        proptest::option::of(0..=i64::MAX as u64),
        opt_text(),
        json(),
    )
        .prop_map(
            |(
                (id, message_id, mime, file_name),
                size,
                sha256,
                (width, height),
                duration_ms,
                local_ref,
                extra,
            )| {
                Record::Attachment(Attachment {
                    id,
                    message_id,
                    mime,
                    file_name,
                    size,
                    sha256,
                    width,
                    height,
                    duration_ms,
                    local_ref,
                    extra,
                })
            },
        );
    prop_oneof![conversation, participant, message, reaction, attachment]
}

proptest! {
    #[test]
    fn records_round_trip_through_their_encoding(record in any_record()) {
        let mut body = Vec::new();
        record.encode_body(&mut body);
        let decoded = Record::decode(record.kind(), &body).unwrap();
        prop_assert_eq!(decoded, Some((record, 0)));
    }

    #[test]
    fn record_streams_round_trip(records in proptest::collection::vec(any_record(), 0..30)) {
        let bytes = handmade(|w| {
            for record in &records {
                w.write(record).unwrap();
            }
        });
        let mut reader = ArchiveReader::new(Cursor::new(&bytes)).unwrap();
        let mut read = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            read.push(record);
        }
        prop_assert_eq!(read, records);
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(
        kind in 1u64..6,
        body in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let _ = Record::decode(kind, &body);
    }

    #[test]
    fn reading_arbitrary_streams_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&MAJOR_VERSION.to_le_bytes());
        bytes.extend_from_slice(&MINOR_VERSION.to_le_bytes());
        bytes.extend_from_slice(&tail);
        prop_assert!(verify(&mut Cursor::new(&bytes), &mut silent()).is_err());
    }
}

#[test]
fn rows_encode_to_the_same_bytes_as_their_records() {
    let mut store = synthetic_store(9, 30, 4_000);
    // Every optional column set, and every one empty.
    store
        .upsert_conversation(&{
            let mut c = conversation(1_000);
            c.title = Some("t".into());
            c.archived = true;
            c.pinned = true;
            c.muted_until = Some(-5);
            c.extra = Some("[]".into());
            c
        })
        .unwrap();
    store
        .insert_messages(&[
            {
                let mut m = message(900_000, 1_000, -1);
                m.reply_to = Some(1);
                m.edited_at = Some(2);
                m.deleted_at = Some(3);
                m.extra = Some("{}".into());
                m
            },
            {
                let mut m = message(900_001, 1_000, 0);
                m.body = None;
                m.received_at = None;
                m
            },
        ])
        .unwrap();
    store
        .insert_attachments(&[attachment(900_000, 900_000), {
            let mut a = attachment(900_001, 900_001);
            (
                a.file_name,
                a.sha256,
                a.width,
                a.height,
                a.local_ref,
                a.extra,
            ) = (None, None, None, None, None, None);
            a.duration_ms = Some(0);
            a
        }])
        .unwrap();

    let tables: [(&str, &str, super::EncodeRow, RowToRecord); 5] = [
        (
            "conversations",
            store::CONVERSATION_COLUMNS,
            row_encoding::conversation,
            |r| store::conversation_from_row(r).map(Record::Conversation),
        ),
        (
            "participants",
            store::PARTICIPANT_COLUMNS,
            row_encoding::participant,
            |r| store::participant_from_row(r).map(Record::Participant),
        ),
        (
            "messages",
            store::MESSAGE_COLUMNS,
            row_encoding::message,
            |r| store::message_from_row(r).map(Record::Message),
        ),
        (
            "reactions",
            store::REACTION_COLUMNS,
            row_encoding::reaction,
            |r| store::reaction_from_row(r).map(Record::Reaction),
        ),
        (
            "attachments",
            store::ATTACHMENT_COLUMNS,
            row_encoding::attachment,
            |r| store::attachment_from_row(r).map(Record::Attachment),
        ),
    ];
    let mut compared = 0;
    for (table, columns, encode, to_record) in tables {
        let mut stmt = store
            .connection()
            .prepare(&format!("SELECT {columns} FROM {table}"))
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let mut from_row = Vec::new();
            encode(row, &mut from_row).unwrap();
            let mut from_record = Vec::new();
            to_record(row).unwrap().encode_body(&mut from_record);
            assert_eq!(from_row, from_record, "{table}");
            compared += 1;
        }
    }
    assert_eq!(compared, store.counts().unwrap().total());
}

#[test]
fn a_row_the_archive_cannot_carry_fails_the_export() {
    let mut store = ChatStore::open_in_memory().unwrap();
    store.upsert_conversation(&conversation(1)).unwrap();
    store.insert_messages(&[message(1, 1, 1)]).unwrap();
    // Invalid UTF-8 written behind the API's back (SQLite does not check it).
    store
        .connection()
        .execute(
            "UPDATE messages SET body = CAST(X'FFFE' AS TEXT) WHERE id = 1",
            [],
        )
        .unwrap();
    let err = Export::begin(&store)
        .unwrap()
        .write_to(&mut std::io::sink(), &mut silent())
        .unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
}

#[test]
fn an_oversized_record_is_limit_exceeded_and_field_number_0_is_corrupted() {
    let header = small_archive()[..HEADER_LEN].to_vec();
    let mut oversized = header.clone();
    super::wire::put_varint(&mut oversized, 1);
    super::wire::put_varint(&mut oversized, MAX_RECORD_LEN as u64 + 1);
    let err = verify(&mut Cursor::new(&oversized), &mut silent()).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");

    let mut field_zero = header;
    // A conversation record whose body is one varint field with field number 0.
    field_zero.extend_from_slice(&[1, 2, 0x00, 0x05]);
    let err = verify(&mut Cursor::new(&field_zero), &mut silent()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupted { what } if what.contains("field number 0")),
        "{err:?}"
    );
}
