//! Repository life cycle (issue 10): kill -9 during backup and prune, retention, locks, the
//! local cache, key rotation and revocation, and a property test over random edits.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;
mod self_exec;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use keepsake_core::{
    backup::{self, Control, Secret},
    keyring::Keyring,
    repo::{
        testing::{Faults, FaultyStore},
        BlobStore, CheckOptions, DirStore, KeyringAdoption, MemStore, Repository, RetentionPolicy,
        Verdict, CONFIG_NAME,
    },
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        ChatStore, Message, MessageKind, Reaction,
    },
    Error,
};
use proptest::prelude::*;
use repo_support::*;

fn check_all(repo: &Repository) {
    let report = backup::check_repo(
        repo,
        &CheckOptions {
            read_data_fraction: 1.0,
        },
        &Control::default(),
    )
    .unwrap();
    assert_eq!(report.verdict(), Verdict::Healthy, "{:?}", report.problems);
}

fn write_keyring(path: &Path, keyring: &Keyring) {
    let mut bytes = keyring.root_key().expose_secret().to_vec();
    bytes.extend(keyring.to_public_bytes());
    fs::write(path, bytes).unwrap();
}

fn read_keyring(path: &Path) -> Keyring {
    let bytes = fs::read(path).unwrap();
    let root = keepsake_core::crypto::RootKey::from_bytes(bytes[..32].try_into().unwrap());
    Keyring::from_parts(root, &bytes[32..]).unwrap()
}

// ---- kill -9 -----------------------------------------------------------------------------------

/// Not a test on its own: the child of the kill -9 tests. Runs `KEEPSAKE_REPO_OP` (`backup` or
/// `prune`) on the directory store `KEEPSAKE_REPO_DIR` through a slow store, so the parent can
/// kill it at any point.
#[test]
#[ignore = "child process of the kill -9 tests"]
fn repo_crash_child() {
    let var = |name: &str| std::env::var(name).unwrap();
    let keyring = read_keyring(Path::new(&var("KEEPSAKE_REPO_KEYRING")));
    let dir = DirStore::open(Path::new(&var("KEEPSAKE_REPO_DIR"))).unwrap();
    let slow = Arc::new(FaultyStore::new(Arc::new(dir)));
    slow.set_faults(Faults {
        delay: Some(Duration::from_millis(15)),
        ..Faults::default()
    });
    let mut repo = reopen(slow, &keyring).unwrap();
    match var("KEEPSAKE_REPO_OP").as_str() {
        "backup" => {
            let cache = std::env::var("KEEPSAKE_REPO_CACHE").ok();
            backup(
                Path::new(&var("KEEPSAKE_REPO_DB")),
                &mut repo,
                cache.as_deref().map(Path::new),
            )
            .unwrap();
        }
        _ => {
            let policy = RetentionPolicy {
                keep_last: Some(1),
                ..RetentionPolicy::default()
            };
            prune_now(&mut repo, &policy).unwrap();
        }
    }
    fs::write(var("KEEPSAKE_REPO_DONE"), b"done").unwrap();
}

fn run_and_kill(op: &str, env: &[(&str, &Path)], after: Duration) -> bool {
    let done = env
        .iter()
        .find(|(k, _)| *k == "KEEPSAKE_REPO_DONE")
        .unwrap()
        .1;
    let _ = fs::remove_file(done);
    let mut command = self_exec::this_test_binary();
    command
        .args([
            "--exact",
            "repo_crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEEPSAKE_REPO_OP", op)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    std::thread::sleep(after);
    child.kill().unwrap(); // SIGKILL: no destructor, no guard, the lock stays
    child.wait().unwrap();
    done.exists()
}

struct CrashSetup {
    /// Holds the directory for as long as the setup lives.
    _dir: tempfile::TempDir,
    keyring: Keyring,
    env: Vec<(&'static str, PathBuf)>,
}

fn crash_setup() -> CrashSetup {
    let dir = tempfile::tempdir().unwrap();
    let keyring = device_keyring();
    let keyring_file = dir.path().join("keyring");
    write_keyring(&keyring_file, &keyring);
    let env = vec![
        ("KEEPSAKE_REPO_KEYRING", keyring_file),
        ("KEEPSAKE_REPO_DIR", dir.path().join("repo")),
        ("KEEPSAKE_REPO_DB", dir.path().join("chat.db")),
        ("KEEPSAKE_REPO_CACHE", dir.path().join("cache")),
        ("KEEPSAKE_REPO_DONE", dir.path().join("done")),
    ];
    CrashSetup {
        _dir: dir,
        keyring,
        env,
    }
}

impl CrashSetup {
    fn path(&self, key: &str) -> PathBuf {
        self.env.iter().find(|(k, _)| *k == key).unwrap().1.clone()
    }

    fn store(&self) -> Arc<dyn BlobStore> {
        Arc::new(DirStore::open(&self.path("KEEPSAKE_REPO_DIR")).unwrap())
    }

    fn env(&self) -> Vec<(&str, &Path)> {
        self.env.iter().map(|(k, v)| (*k, v.as_path())).collect()
    }
}

/// kill -9 during backups, with or without a cache directory, each killed run on a fresh
/// repository (so the kill falls in its first, large upload): the next run (of this machine,
/// with the same cache or none) proceeds at once and adopts what the killed one uploaded.
fn kill_9_during_backup(with_cache: bool) {
    let (mut killed, mut adopted) = (0, 0);
    for ms in [40u64, 70, 100, 130, 160, 200, 300] {
        let setup = crash_setup();
        let db = setup.path("KEEPSAKE_REPO_DB");
        populated(&db, 9, 4_000);
        Repository::init(setup.store(), &setup.keyring, &small_options()).unwrap();
        let expected = dump(&db);
        let env: Vec<(&str, &Path)> = setup
            .env()
            .into_iter()
            .filter(|(k, _)| with_cache || *k != "KEEPSAKE_REPO_CACHE")
            .collect();
        let cache = with_cache.then(|| setup.path("KEEPSAKE_REPO_CACHE"));
        let finished = run_and_kill("backup", &env, Duration::from_millis(ms));
        killed += usize::from(!finished);
        let mut repo = reopen(setup.store(), &setup.keyring).unwrap();
        let before = repo.snapshots().unwrap().len();
        // A finished run committed one snapshot; a killed run committed none, or one when the
        // kill came after its snapshot was written but before it reported done. Never more,
        // and every snapshot present is whole (checked next).
        let added = before;
        assert!(
            added == 1 || (!finished && added == 0),
            "{ms} ms: {added} snapshots added by a run that finished: {finished}"
        );
        // Every snapshot present is whole, even right after a killed run.
        let report = backup::check_repo(
            &repo,
            &CheckOptions {
                read_data_fraction: 1.0,
            },
            &Control::default(),
        )
        .unwrap();
        assert_ne!(report.verdict(), Verdict::Broken, "{:?}", report.problems);
        // The next run on this device knows the lock is its own dead one (through the cache's
        // device id, or the machine's id without a cache).
        let resumed = backup(&db, &mut repo, cache.as_deref()).unwrap();
        assert_eq!(repo.snapshots().unwrap().len(), before + 1);
        // Packs the killed run uploaded without indexing them are adopted, not uploaded again.
        assert_eq!(resumed.packs_adopted, report.unindexed_packs, "{ms} ms");
        adopted += resumed.packs_adopted;
        check_all(&repo);
        assert_eq!(restore_dump(&repo, None).unwrap(), expected);
    }
    assert!(killed > 0, "at least one run was killed mid-way");
    // Before: the directory store kept a killed run's packs as hidden temporary files, and
    // the next run uploaded everything again.
    assert!(adopted > 0, "a killed run's packs were adopted");
}

#[test]
fn kill_9_during_backup_is_resumed_by_the_next_run() {
    kill_9_during_backup(true);
}

#[test]
fn kill_9_during_backup_without_a_cache_leaves_no_lock_that_blocks_the_next_run() {
    kill_9_during_backup(false);
}

#[test]
fn kill_9_during_prune_leaves_every_kept_snapshot_restorable() {
    let setup = crash_setup();
    let db = setup.path("KEEPSAKE_REPO_DB");
    populated(&db, 10, 2_500);
    let mut repo = Repository::init(setup.store(), &setup.keyring, &small_options()).unwrap();
    for day in 0..4 {
        let mut store = ChatStore::open(&db).unwrap();
        apply_day(
            &mut store,
            &DayOfChange {
                kind: DayKind::Stress,
                seed: day,
            },
        )
        .unwrap();
        store.close().unwrap();
        backup(&db, &mut repo, None).unwrap();
    }
    let latest = dump(&db);
    let snapshots = repo.snapshots().unwrap();
    let mut expected = std::collections::HashMap::new();
    for info in &snapshots {
        expected.insert(info.id, restore_dump(&repo, Some(&info.id)).unwrap());
    }
    for ms in [30u64, 120, 250, 500, 900] {
        let finished = run_and_kill("prune", &setup.env(), Duration::from_millis(ms));
        let repo = reopen(setup.store(), &setup.keyring).unwrap();
        let left = repo.snapshots().unwrap();
        assert!(
            left.iter().any(|s| s.id == snapshots.last().unwrap().id),
            "kept snapshot gone"
        );
        for info in &left {
            assert_eq!(
                &restore_dump(&repo, Some(&info.id)).unwrap(),
                &expected[&info.id],
                "{ms} ms"
            );
        }
        assert_eq!(restore_dump(&repo, None).unwrap(), latest);
        if finished {
            assert_eq!(left.len(), 1);
        }
        // Before: a killed prune's lock blocked every writer for 30 minutes; now the next run
        // of this machine sees that the holder's process is gone.
    }
    let mut repo = reopen(setup.store(), &setup.keyring).unwrap();
    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    prune_now(&mut repo, &policy).unwrap();
    check_all(&repo);
    assert_eq!(restore_dump(&repo, None).unwrap(), latest);
}

// ---- retention, prune, locks ---------------------------------------------------------------------

#[test]
fn prune_keeps_what_the_policy_says_and_reclaims_space() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 12, 1_500);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    let mut dumps = Vec::new();
    for day in 0..5 {
        let mut store = ChatStore::open(&db).unwrap();
        apply_day(
            &mut store,
            &DayOfChange {
                kind: DayKind::Stress,
                seed: 100 + day,
            },
        )
        .unwrap();
        store.close().unwrap();
        backup(&db, &mut repo, None).unwrap();
        dumps.push(dump(&db));
    }
    let before = mem.total_bytes();
    let policy = RetentionPolicy {
        keep_last: Some(2),
        ..RetentionPolicy::default()
    };
    let report = prune_now(&mut repo, &policy).unwrap();
    assert_eq!((report.snapshots_kept, report.snapshots_removed), (2, 3));
    assert!(mem.total_bytes() < before, "prune frees space");
    check_all(&repo);
    let left = repo.snapshots().unwrap();
    assert_eq!(restore_dump(&repo, Some(&left[0].id)).unwrap(), dumps[3]);
    assert_eq!(restore_dump(&repo, Some(&left[1].id)).unwrap(), dumps[4]);
    // Pruning again changes nothing that matters.
    let again = prune_now(&mut repo, &policy).unwrap();
    assert_eq!(again.snapshots_removed, 0);
    assert!(matches!(
        prune_now(&mut repo, &RetentionPolicy::default()),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn daily_and_weekly_retention_pick_the_newest_of_each_period() {
    use keepsake_core::repo::{prune::select, SnapshotId, SnapshotInfo};
    let day = 86_400;
    // 2024-01-01 is a Monday.
    let monday = 1_704_067_200;
    let snap = |n: u8, time: u64| SnapshotInfo {
        id: SnapshotId([n; 16]),
        time,
        sequence: u64::from(n),
        counts: Default::default(),
        parent: None,
        bytes: 0,
        digest: [0; 32],
        chunks: 0,
        media: None,
    };
    let all = vec![
        snap(1, monday + 10),
        snap(2, monday + 20),
        snap(3, monday + day + 5),
        snap(4, monday + 6 * day + 5),
        snap(5, monday + 7 * day + 5),
    ];
    let daily = select(
        &all,
        &RetentionPolicy {
            keep_daily: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        daily,
        [SnapshotId([5; 16]), SnapshotId([4; 16])]
            .into_iter()
            .collect()
    );
    let weekly = select(
        &all,
        &RetentionPolicy {
            keep_weekly: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        weekly,
        [SnapshotId([5; 16]), SnapshotId([4; 16])]
            .into_iter()
            .collect()
    );
    let last = select(
        &all,
        &RetentionPolicy {
            keep_last: Some(1),
            keep_daily: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(last.len(), 3);
    assert!(last.contains(&SnapshotId([3; 16])));
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 13, 300);
    let keyring = device_keyring();
    let (mem, repo) = mem_repo(&keyring);
    let writer = repo
        .begin_snapshot(None, &keepsake_core::repo::WriterOptions::default())
        .unwrap();
    let mut other = reopen(mem.clone(), &keyring).unwrap();
    assert!(matches!(
        backup(&db, &mut other, None),
        Err(Error::RepositoryLocked { .. })
    ));
    drop(writer); // released
    backup(&db, &mut other, None).unwrap();
    assert!(
        mem.list_names("locks/").unwrap().is_empty(),
        "a finished backup leaves no lock"
    );
}

// ---- cache and keys ------------------------------------------------------------------------------

#[test]
fn a_lost_cache_is_rebuilt_from_the_index_and_a_stale_one_is_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let cache = dir.path().join("cache");
    populated(&db, 14, 2_000);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, Some(&cache)).unwrap();
    fs::remove_dir_all(&cache).unwrap();
    let again = backup(&db, &mut repo, Some(&cache)).unwrap();
    assert_eq!(
        again.new_chunks, 0,
        "the index says what the repository holds"
    );
    // Another device prunes: this device's cached index copies are dropped, not trusted.
    let mut other = reopen(mem.clone(), &keyring).unwrap();
    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    prune_now(&mut other, &policy).unwrap();
    let mut store = ChatStore::open(&db).unwrap();
    apply_day(
        &mut store,
        &DayOfChange {
            kind: DayKind::Realistic,
            seed: 3,
        },
    )
    .unwrap();
    store.close().unwrap();
    backup(&db, &mut repo, Some(&cache)).unwrap();
    check_all(&repo);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
}

/// A copy of every object of `store`, with the config replaced by `config`: what someone who
/// kept an old config object sees.
fn with_config(store: &MemStore, config: &[u8]) -> Arc<MemStore> {
    let copy = Arc::new(MemStore::new());
    for name in store.list_names("").unwrap() {
        copy.put(&name, &store.get(&name, None).unwrap()).unwrap();
    }
    copy.put(CONFIG_NAME, config).unwrap();
    copy
}

#[test]
fn revocation_locks_the_removed_secret_out_of_everything_written_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 15, 1_000);
    let mut keyring = Keyring::create().unwrap();
    let (_, kept) = keyring.add_recovery_key("kept").unwrap();
    let (removed_slot, removed) = keyring.add_recovery_key("old paper copy").unwrap();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let first = dump(&db);
    let old_config = mem.get(CONFIG_NAME, None).unwrap();
    let cloud_before = with_config(&mem, &old_config);
    let old_keyring =
        Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes()).unwrap();

    // Revocation: remove the slot (which rotates the root key), then the repository adopts it.
    keyring.remove_slot(&removed_slot, false).unwrap();
    assert_eq!(keyring.generation(), old_keyring.generation() + 1);
    assert_eq!(
        repo.adopt_keyring(&keyring).unwrap(),
        KeyringAdoption::Rotated
    );
    assert_eq!(repo.current_epoch(), 1);
    assert_eq!(
        repo.adopt_keyring(&keyring).unwrap(),
        KeyringAdoption::Unchanged
    );
    let mut store = ChatStore::open(&db).unwrap();
    apply_day(
        &mut store,
        &DayOfChange {
            kind: DayKind::Realistic,
            seed: 2,
        },
    )
    .unwrap();
    store.close().unwrap();
    let after = backup(&db, &mut repo, None).unwrap();
    assert!(after.new_chunks > 0, "new data goes under the new epoch");

    // The remaining secret and the device keyring read everything, old data included.
    let fresh = Repository::open(mem.clone(), &Secret::RecoveryKey(&kept)).unwrap();
    let snaps = fresh.snapshots().unwrap();
    assert_eq!(restore_dump(&fresh, Some(&snaps[0].id)).unwrap(), first);
    assert_eq!(restore_dump(&fresh, Some(&snaps[1].id)).unwrap(), dump(&db));
    check_all(&fresh);
    reopen(mem.clone(), &keyring).unwrap();

    // The removed secret opens nothing now: not the config, not with the old root key.
    assert!(matches!(
        Repository::open(mem.clone(), &Secret::RecoveryKey(&removed)),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        Repository::open(mem.clone(), &Secret::RootKey(old_keyring.root_key())),
        Err(Error::Corrupted { .. })
    ));
    // Whoever copied the store before the revocation still reads that copy; with the old
    // config and everything written since, the new epoch's objects stay closed to them.
    let old_view = Repository::open(cloud_before, &Secret::RecoveryKey(&removed)).unwrap();
    assert_eq!(restore_dump(&old_view, Some(&snaps[0].id)).unwrap(), first);
    let stale = with_config(&mem, &old_config);
    let stale_view = Repository::open(stale, &Secret::RecoveryKey(&removed)).unwrap();
    let err = restore_dump(&stale_view, Some(&snaps[1].id)).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupted { what } if what.contains("key epoch 1")),
        "{err:?}"
    );

    // The device keyring of before the rotation: another generation, then rolled back.
    let (old, new) = (old_keyring.generation(), keyring.generation());
    assert!(matches!(
        reopen(mem.clone(), &old_keyring),
        Err(Error::OtherGeneration { sealed, device }) if sealed == new && device == old
    ));
    assert!(matches!(
        repo.adopt_keyring(&old_keyring),
        Err(Error::KeyringRolledBack { found, known }) if found == old && known == new
    ));
}

#[test]
fn a_slot_added_on_the_device_reaches_the_repository_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 16, 200);
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("first").unwrap();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let (_, added) = keyring.add_recovery_key("added later").unwrap();
    assert!(matches!(
        Repository::open(mem.clone(), &Secret::RecoveryKey(&added)),
        Err(Error::WrongKey)
    ));
    // The daily backup opens the repository with the device keyring: the config takes the slot.
    let mut daily = reopen(mem.clone(), &keyring).unwrap();
    assert_eq!(daily.current_epoch(), 0, "adding a slot starts no epoch");
    backup(&db, &mut daily, None).unwrap();
    let fresh = Repository::open(mem.clone(), &Secret::RecoveryKey(&added)).unwrap();
    assert_eq!(restore_dump(&fresh, None).unwrap(), dump(&db));
}

// ---- property: every snapshot restores to its database --------------------------------------------

#[derive(Debug, Clone)]
enum Change {
    Insert(u8),
    Edit(u16),
    Delete(u16),
    React(u16),
}

fn edit_strategy() -> impl Strategy<Value = Change> {
    prop_oneof![
        (1u8..40).prop_map(Change::Insert),
        any::<u16>().prop_map(Change::Edit),
        any::<u16>().prop_map(Change::Delete),
        any::<u16>().prop_map(Change::React),
    ]
}

fn apply(store: &mut ChatStore, edit: &Change, next_id: &mut i64) {
    let pick = |n: u16, max: i64| 1 + i64::from(n) % max.max(1);
    match edit {
        Change::Insert(n) => {
            let batch: Vec<Message> = (0..*n)
                .map(|i| {
                    *next_id += 1;
                    Message {
                        id: *next_id,
                        conversation_id: 1 + i64::from(i % 3),
                        sender: "me".into(),
                        kind: MessageKind::Text,
                        body: Some(format!("new message {next_id}")),
                        sent_at: 1_800_000_000_000 + *next_id,
                        received_at: None,
                        reply_to: None,
                        edited_at: None,
                        deleted_at: None,
                        delivery: keepsake_core::store::DeliveryState::Sent,
                        extra: None,
                    }
                })
                .collect();
            store.insert_messages(&batch).unwrap();
        }
        Change::Edit(n) => {
            let _ = store.edit_message(pick(*n, *next_id), "edited text", 1_900_000_000_000);
        }
        Change::Delete(n) => {
            let _ = store.delete_message(pick(*n, *next_id), 1_900_000_000_001);
        }
        Change::React(n) => {
            let id = pick(*n, *next_id);
            if store
                .message(id)
                .unwrap()
                .is_some_and(|m| m.deleted_at.is_none())
            {
                store
                    .react(&Reaction {
                        message_id: id,
                        sender: "me".into(),
                        emoji: "👍".into(),
                        created_at: 1_900_000_000_002,
                    })
                    .unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn every_snapshot_restores_to_the_database_it_was_taken_from(
        edits in proptest::collection::vec(edit_strategy(), 1..7)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chat.db");
        populated(&db, 16, 400);
        let keyring = device_keyring();
        let mem: Arc<MemStore> = Arc::new(MemStore::new());
        let mut repo = Repository::init(mem, &keyring, &small_options()).unwrap();
        let mut next_id = ChatStore::open(&db).unwrap().counts().unwrap().messages as i64;
        let mut taken = Vec::new();
        for edit in &edits {
            let mut store = ChatStore::open(&db).unwrap();
            apply(&mut store, edit, &mut next_id);
            store.close().unwrap();
            let summary = backup(&db, &mut repo, None).unwrap();
            taken.push((summary.snapshot, dump(&db)));
        }
        for (id, expected) in &taken {
            prop_assert_eq!(&restore_dump(&repo, Some(id)).unwrap(), expected);
        }
    }
}

#[test]
fn small_index_objects_are_merged_and_every_snapshot_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let cache = dir.path().join("cache");
    populated(&db, 17, 3_000);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, Some(&cache)).unwrap();
    let mut taken = Vec::new();
    let mut most_indexes = 0;
    for day in 0..7 {
        let mut store = ChatStore::open(&db).unwrap();
        apply_day(
            &mut store,
            &DayOfChange {
                kind: DayKind::Realistic,
                seed: 200 + day,
            },
        )
        .unwrap();
        store.close().unwrap();
        let summary = backup(&db, &mut repo, Some(&cache)).unwrap();
        taken.push((summary.snapshot, dump(&db)));
        most_indexes = most_indexes.max(mem.list_names("index/").unwrap().len());
    }
    // One base index plus at most four small deltas before they are merged into one.
    assert!(most_indexes <= 5, "{most_indexes} index objects");
    assert!(mem.list_names("index/").unwrap().len() < 8);
    check_all(&repo);
    let fresh = reopen(mem, &keyring).unwrap();
    for (id, expected) in &taken {
        assert_eq!(&restore_dump(&fresh, Some(id)).unwrap(), expected);
    }
}
