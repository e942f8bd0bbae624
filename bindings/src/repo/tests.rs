//! The repository through the FFI types, with an app-side store written in Rust the way a
//! Kotlin or Swift app writes one: the journey, and the app's failures reaching it typed.

use std::sync::atomic::Ordering;

use super::{app_store::AppStore, *};
use crate::store::{Conversation, ConversationKind, DeliveryState, Message, MessageKind};

pub(super) fn messages(conversation_id: i64, first_id: i64, count: i64) -> Vec<Message> {
    (0..count)
        .map(|i| Message {
            id: first_id + i,
            conversation_id,
            sender: if i % 2 == 0 { "ana" } else { "ben" }.into(),
            kind: MessageKind::Text,
            body: Some(format!(
                "message {i}: the quick brown fox {}",
                i * 7919 % 1000
            )),
            sent_at: 1_700_000_000_000 + (first_id + i) * 1000,
            received_at: None,
            reply_to: None,
            edited_at: None,
            deleted_at: None,
            delivery: DeliveryState::Read,
            extra: None,
        })
        .collect()
}

pub(super) fn chat_store(path: &std::path::Path) -> Arc<ChatStore> {
    let store = ChatStore::open(path.display().to_string()).unwrap();
    store
        .upsert_conversation(Conversation {
            id: 1,
            kind: ConversationKind::Direct,
            title: None,
            created_at: 1,
            archived: false,
            muted_until: None,
            pinned: false,
            extra: None,
        })
        .unwrap();
    store.insert_messages(messages(1, 1, 5_000)).unwrap();
    store
}

#[test]
fn the_journey_through_the_ffi_types() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(AppStore::default());
    let keyring = Keyring::create().unwrap();
    let recovery = keyring.add_recovery_key("paper".into()).unwrap();
    let chats = chat_store(&dir.path().join("chats.db"));
    let cache = dir.path().join("cache").display().to_string();

    let repo = Repository::create(app.clone(), keyring.clone(), Some(cache)).unwrap();
    let first = repo.backup(chats.clone(), None, None, None).unwrap();
    assert_eq!(first.counts.messages, 5_000);
    // What the app received is what the report says, plus the config (init) and lock objects.
    let config = i64::try_from(app.objects.lock().unwrap().get("config").unwrap().len()).unwrap();
    let received = app.uploaded.load(Ordering::SeqCst) - config;
    assert!(
        received >= first.bytes_uploaded && received - first.bytes_uploaded < 1024,
        "{received} vs {first:?}"
    );

    chats.insert_messages(messages(1, 5_001, 20)).unwrap();
    let before = app.uploaded.load(Ordering::SeqCst);
    let second = repo.backup(chats.clone(), None, None, None).unwrap();
    assert_eq!(second.counts.messages, 5_020);
    let received = app.uploaded.load(Ordering::SeqCst) - before;
    assert!(
        received >= second.bytes_uploaded && received - second.bytes_uploaded < 1024,
        "{received} vs {second:?}"
    );
    // The day's change is one chat pack (padded to a multiple of 64 KiB), an index and a
    // snapshot object (4 KiB each here); this small first backup fits the same floor.
    assert!(
        second.bytes_uploaded <= first.bytes_uploaded
            && second.bytes_uploaded < 64 * 1024 + 4 * 4096,
        "{second:?} vs {first:?}"
    );
    assert!(second.new_chunks < second.chunks, "{second:?}");

    // A new device: nothing but the store and the recovery key.
    let secret = BackupSecret::recovery_key(recovery.recovery_key.reveal()).unwrap();
    let other = Repository::open(app.clone(), secret, None).unwrap();
    assert_eq!(other.id().unwrap(), repo.id().unwrap());
    let snapshots = other.snapshots().unwrap();
    assert_eq!(
        snapshots.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        [first.snapshot_id.clone(), second.snapshot_id.clone()]
    );
    assert_eq!(snapshots[1].parent.as_deref(), Some(&*first.snapshot_id));
    // The snapshot list and the reports count alike, as i64.
    assert_eq!(
        snapshots
            .iter()
            .map(|s| (s.bytes, s.chunks))
            .collect::<Vec<_>>(),
        [
            (first.bytes_read, first.chunks),
            (second.bytes_read, second.chunks)
        ]
    );
    assert!(snapshots[0].time > 1_700_000_000 && snapshots[0].time <= snapshots[1].time);
    let target = dir.path().join("restored.db").display().to_string();
    let restored = other
        .restore(target.clone(), None, false, None, None)
        .unwrap();
    assert_eq!(restored.counts.unwrap().messages, 5_020);
    let older = dir.path().join("older.db").display().to_string();
    let restored = other
        .restore(older, Some(first.snapshot_id.clone()), false, None, None)
        .unwrap();
    assert_eq!(restored.counts.unwrap().messages, 5_000);
    assert_eq!(
        other.keyring().unwrap().id().unwrap(),
        keyring.id().unwrap()
    );

    // A negative count is refused before anything is forgotten.
    for policy in [
        RetentionPolicy {
            keep_last: Some(-1),
            ..RetentionPolicy::default()
        },
        RetentionPolicy {
            keep_daily: Some(1),
            keep_weekly: Some(i64::MIN),
            ..RetentionPolicy::default()
        },
    ] {
        assert!(matches!(
            other.prune(policy, false, None, None),
            Err(KeepsakeError::InvalidArgument { detail }) if detail.contains("negative")
        ));
    }
    assert_eq!(other.snapshots().unwrap().len(), 2);
    assert_eq!(other.break_locks().unwrap(), 0);
    let pruned = other
        .prune(
            RetentionPolicy {
                keep_last: Some(1),
                ..RetentionPolicy::default()
            },
            false,
            None,
            None,
        )
        .unwrap();
    assert_eq!((pruned.snapshots_kept, pruned.snapshots_removed), (1, 1));
    let checked = other.check(1.0, None, None).unwrap();
    assert_eq!(checked.verdict, CheckVerdict::Healthy, "{checked:?}");
    assert_eq!(checked.snapshots, 1);
    assert!(checked.chunks_authenticated > 0, "{checked:?}");
}

#[test]
fn the_apps_failures_reach_it_typed() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(AppStore::default());
    let keyring = Keyring::create().unwrap();
    let recovery = keyring.add_recovery_key("paper".into()).unwrap();
    let secret = BackupSecret::recovery_key(recovery.recovery_key.reveal()).unwrap();
    // No repository in the store yet.
    assert!(matches!(
        Repository::open(app.clone(), secret.clone(), None),
        Err(KeepsakeError::ObjectMissing { .. })
    ));
    let repo = Repository::create(app.clone(), keyring.clone(), None).unwrap();
    assert!(matches!(
        Repository::create(app.clone(), keyring.clone(), None),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
    let chats = chat_store(&dir.path().join("chats.db"));
    app.offline.store(true, Ordering::SeqCst);
    let err = repo.backup(chats.clone(), None, None, None).unwrap_err();
    assert!(
        matches!(&err, KeepsakeError::Storage { detail, .. } if detail.contains("no network")),
        "{err:?}"
    );
    app.offline.store(false, Ordering::SeqCst);
    assert!(repo.snapshots().unwrap().is_empty());
    repo.backup(chats, None, None, None).unwrap();
    assert_eq!(repo.snapshots().unwrap().len(), 1);

    // A cancelled call does not start; bad arguments are refused before any work.
    let cancelled = Cancellation::new();
    cancelled.cancel();
    let target = dir.path().join("restored.db").display().to_string();
    assert!(matches!(
        repo.restore(target.clone(), None, false, None, Some(cancelled)),
        Err(KeepsakeError::Cancelled { .. })
    ));
    assert!(matches!(
        repo.restore(target.clone(), Some("not-hex".into()), false, None, None),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
    assert!(matches!(
        repo.check(1.5, None, None),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
    assert!(!std::path::Path::new(&target).exists());

    // A wrong recovery key opens nothing.
    let stranger = Keyring::create().unwrap();
    let wrong = stranger.add_recovery_key("other".into()).unwrap();
    let wrong = BackupSecret::recovery_key(wrong.recovery_key.reveal()).unwrap();
    assert!(matches!(
        Repository::open(app.clone(), wrong, None),
        Err(KeepsakeError::WrongKey { .. })
    ));

    repo.close_repository().unwrap();
    assert!(matches!(
        repo.snapshots(),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
}

#[test]
fn the_repository_follows_the_device_keyring_through_an_added_slot_and_a_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(AppStore::default());
    let keyring = Keyring::create().unwrap();
    let first = keyring.add_recovery_key("first".into()).unwrap();
    let first_text = first.recovery_key.reveal();
    let chats = chat_store(&dir.path().join("chats.db"));
    let repo = Repository::create(app.clone(), keyring.clone(), None).unwrap();
    repo.backup(chats.clone(), None, None, None).unwrap();
    let recovery = |text: String| BackupSecret::recovery_key(text).unwrap();

    // An added slot reaches the config; no new key epoch.
    let added = keyring.add_recovery_key("added".into()).unwrap();
    assert_eq!(
        repo.adopt_keyring(keyring.clone()).unwrap(),
        KeyringAdoption::SlotsUpdated
    );
    Repository::open(app.clone(), recovery(added.recovery_key.reveal()), None).unwrap();

    // Revoking the first slot rotates; the repository adopts the rotation.
    keyring.remove_slot(first.slot.id.clone()).unwrap();
    assert_eq!(
        repo.adopt_keyring(keyring.clone()).unwrap(),
        KeyringAdoption::Rotated
    );
    assert_eq!(
        repo.adopt_keyring(keyring.clone()).unwrap(),
        KeyringAdoption::Unchanged
    );
    repo.backup(chats, None, None, None).unwrap();
    assert!(matches!(
        Repository::open(app.clone(), recovery(first_text), None),
        Err(KeepsakeError::WrongKey { .. })
    ));
    let device = BackupSecret::device_keyring(keyring.clone()).unwrap();
    let reopened = Repository::open(app.clone(), device, None).unwrap();
    assert_eq!(reopened.snapshots().unwrap().len(), 2);

    // A later rotation that this repository object did not see: the device key of the new
    // generation is refused with a sentence naming it, and a slot's secret still opens it.
    keyring.rotate_root_key().unwrap();
    let device = BackupSecret::device_keyring(keyring.clone()).unwrap();
    match Repository::open(app.clone(), device, None) {
        Err(KeepsakeError::WrongKey { detail }) => assert!(detail.contains("generation")),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("the device key of another generation opened the repository"),
    }
    let behind =
        Repository::open(app.clone(), recovery(added.recovery_key.reveal()), None).unwrap();
    assert_eq!(
        behind.adopt_keyring(keyring).unwrap(),
        KeyringAdoption::Rotated
    );
}

/// Issue 18 item 6: an app that rotates (or revokes) through the device keyring object but
/// skips `adopt_keyring` does not go on writing under the old key epoch: the repository opened
/// with that keyring derives the known generation from it, even with no options.
#[test]
fn a_backup_after_a_rotation_that_was_not_adopted_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(AppStore::default());
    let keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper".into()).unwrap();
    let chats = chat_store(&dir.path().join("chats.db"));
    let repo = Repository::create(app.clone(), keyring.clone(), None).unwrap();
    repo.backup(chats.clone(), None, None, None).unwrap();
    let device = BackupSecret::device_keyring(keyring.clone()).unwrap();
    let reopened = Repository::open(app, device, None).unwrap();

    keyring.rotate_root_key().unwrap();
    for repo in [&repo, &reopened] {
        match repo.backup(chats.clone(), None, None, None) {
            Err(KeepsakeError::KeyringRolledBack { detail }) => {
                assert!(detail.contains("generation 1"), "{detail}")
            }
            other => panic!("a backup under the old keys went through: {other:?}"),
        }
    }
    repo.adopt_keyring(keyring).unwrap();
    repo.backup(chats, None, None, None).unwrap();
}

/// A repository opened through a version 2 slot (the frozen repository vector's config)
/// restores but gives no keyring and takes no backup until a re-key is adopted.
#[test]
fn a_repository_opened_through_a_version_2_slot_is_re_keyed_before_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(AppStore::default());
    let config = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/vectors/repo/config.bin"
    ))
    .unwrap();
    BlobStore::put(app.as_ref(), "config".into(), config).unwrap();
    let secret = BackupSecret::recovery_key(
        "R30W-5GY4-RQ3C-FJ69-SB5W-SKEE-SZ8D-3MPK-TKAX-DNYR-V7DD-QQ6X-VVFH-30H3-852M-24FK".into(),
    )
    .unwrap();
    let repo = Repository::open(app, secret, None).unwrap();
    assert!(!repo.is_authenticated().unwrap());
    assert!(matches!(
        repo.keyring(),
        Err(KeepsakeError::UnauthenticatedKeyring { .. })
    ));
    let chats = chat_store(&dir.path().join("chats.db"));
    assert!(matches!(
        repo.backup(chats.clone(), None, None, None),
        Err(KeepsakeError::UnauthenticatedKeyring { .. })
    ));
    let new = repo.rekeyed_keyring().unwrap();
    new.add_recovery_key("new paper".into()).unwrap();
    assert_eq!(
        repo.adopt_keyring(new.clone()).unwrap(),
        KeyringAdoption::Rotated
    );
    assert!(repo.is_authenticated().unwrap());
    repo.backup(chats, None, None, None).unwrap();
    assert_eq!(repo.keyring().unwrap().id().unwrap(), new.id().unwrap());
}

#[test]
fn the_app_store_s_transient_failures_and_throttling_are_retried_and_quota_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(AppStore::default());
    let keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper".into()).unwrap();
    let repo = Repository::create(app.clone(), keyring, None).unwrap();
    let chats = chat_store(&dir.path().join("chats.db"));
    *app.next_failures.lock().unwrap() = vec![
        BlobStoreError::Throttled {
            detail: "429".into(),
            retry_after_ms: Some(300),
        },
        BlobStoreError::Transient {
            detail: "connection reset".into(),
        },
    ];
    let started = std::time::Instant::now();
    repo.backup(chats.clone(), None, None, None).unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(repo.snapshots().unwrap().len(), 1);
    assert!(app.next_failures.lock().unwrap().is_empty());

    *app.next_failures.lock().unwrap() = vec![BlobStoreError::QuotaExceeded {
        detail: "storage full".into(),
    }];
    let err = repo.backup(chats, None, None, None).unwrap_err();
    assert!(
        matches!(
            &err,
            KeepsakeError::Storage { kind: crate::StorageFailure::QuotaExceeded, retry_after_ms: None, detail }
                if detail.contains("storage full")
        ),
        "{err:?}"
    );
}
