//! A backup that says it succeeded always restores (issue 19): lost, damaged and replayed
//! objects are detected, reported and healed by the next backup, `check` tells healed from
//! broken, `repair` cleans up, and prune never deletes what it cannot account for.
//!
//! Each test here failed on the repository of main before issue 19 (`docs/REPOSITORY.md` §10
//! lists what each store behaviour now causes).

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use keepsake_core::{
    backup::{self, Control},
    repo::{
        BlobStore, ByteRange, CheckOptions, CheckReport, MemStore, ObjectInfo, Problem,
        PruneOptions, RepairOptions, Repository, RetentionPolicy, Verdict,
    },
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        ChatStore,
    },
    Error, Result,
};
use repo_support::*;

fn day(db: &Path, seed: u64) {
    let mut store = ChatStore::open(db).unwrap();
    apply_day(
        &mut store,
        &DayOfChange {
            kind: DayKind::Realistic,
            seed,
        },
    )
    .unwrap();
    store.close().unwrap();
}

/// `repo check` as the CLI runs it by default: every pack read.
fn full_check(repo: &Repository) -> CheckReport {
    backup::check_repo(
        repo,
        &CheckOptions {
            read_data_fraction: 1.0,
        },
        &Control::default(),
    )
    .unwrap()
}

fn flip(mem: &MemStore, name: &str, at: usize) {
    let mut bytes = mem.get(name, None).unwrap();
    bytes[at] ^= 0x04;
    mem.put(name, &bytes).unwrap();
}

fn sorted(mem: &MemStore, prefix: &str) -> Vec<String> {
    let mut names = mem.list_names(prefix).unwrap();
    names.sort();
    names
}

#[test]
fn a_lost_pack_is_uploaded_again_and_every_snapshot_restores() {
    // Before: in about half of the repositories the restore kept using the lost pack's entry.
    for trial in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chat.db");
        populated(&db, 40 + trial, 1500);
        let keyring = device_keyring();
        let (mem, mut repo) = mem_repo(&keyring);
        backup(&db, &mut repo, None).unwrap();
        let lost = sorted(&mem, "data/")[0].clone();
        mem.delete(&lost).unwrap();
        let healing = backup(&db, &mut repo, None).unwrap().healing;
        assert_eq!(healing.packs_lost, 1, "trial {trial}");
        assert_eq!(
            restore_dump(&repo, None).unwrap(),
            dump(&db),
            "trial {trial}"
        );
        for info in repo.snapshots().unwrap() {
            assert_eq!(restore_dump(&repo, Some(&info.id)).unwrap(), dump(&db));
        }
        // Check tells a healed repository from a broken one, and prune cleans it up.
        let report = full_check(&repo);
        assert_eq!(report.verdict(), Verdict::Healed, "trial {trial}");
        assert!(report.problems.contains(&Problem::LostPack { name: lost }));
        let keep = RetentionPolicy {
            keep_last: Some(5),
            ..Default::default()
        };
        prune_now(&mut repo, &keep).unwrap();
        assert_eq!(full_check(&repo).verdict(), Verdict::Healthy);
    }
}

#[test]
fn a_replayed_index_object_from_before_a_prune_is_harmless() {
    for trial in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chat.db");
        populated(&db, 50 + trial, 1500);
        let keyring = device_keyring();
        let (mem, mut repo) = mem_repo(&keyring);
        backup(&db, &mut repo, None).unwrap();
        let old: Vec<(String, Vec<u8>)> = sorted(&mem, "index/")
            .into_iter()
            .map(|n| {
                let bytes = mem.get(&n, None).unwrap();
                (n, bytes)
            })
            .collect();
        for seed in 0..3 {
            day(&db, seed);
            backup(&db, &mut repo, None).unwrap();
        }
        let policy = RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        };
        prune_now(&mut repo, &policy).unwrap();
        for (name, bytes) in old {
            mem.put(&name, &bytes).unwrap();
        }
        assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
        assert_ne!(full_check(&repo).verdict(), Verdict::Broken);
        day(&db, 9);
        backup(&db, &mut repo, None).unwrap();
        assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    }
}

#[test]
fn a_damaged_snapshot_object_is_listed_as_damaged_and_never_blocks_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 51, 800);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let oldest = sorted(&mem, "snapshots/")[0].clone();
    day(&db, 1);
    backup(&db, &mut repo, None).unwrap();
    flip(&mem, &oldest, 20);

    // Before: listing, restore of the latest and prune failed on the damaged object, while
    // backups with a cache kept exiting 0.
    let history = repo.history().unwrap();
    assert_eq!(history.snapshots.len(), 1);
    assert_eq!(history.damaged.len(), 1);
    assert_eq!(history.damaged[0].name, oldest);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    day(&db, 2);
    let healing = backup(&db, &mut repo, None).unwrap().healing;
    assert_eq!(healing.snapshots_damaged, 1, "the backup says so");
    assert_eq!(full_check(&repo).verdict(), Verdict::Broken);

    // Prune forgets but reclaims nothing while it cannot know what the damaged one uses.
    let keep_one = RetentionPolicy {
        keep_last: Some(1),
        ..Default::default()
    };
    let report = prune_now(&mut repo, &keep_one).unwrap();
    assert!(report.not_reclaimed.is_some());
    assert_eq!(report.packs_deleted, 0);
    // Repair removes it (a dry run first changes nothing); then prune reclaims space.
    let dry = repo.repair(&RepairOptions::default()).unwrap();
    assert_eq!(dry.snapshots_removed.len(), 1);
    assert!(mem.get(&oldest, None).is_ok(), "a dry run changes nothing");
    let applied = repo.repair(&RepairOptions { apply: true }).unwrap();
    assert_eq!(applied.snapshots_removed, dry.snapshots_removed);
    assert!(mem.get(&oldest, None).is_err());
    let before = mem.total_bytes();
    let report = prune_now(&mut repo, &keep_one).unwrap();
    assert!(report.not_reclaimed.is_none());
    assert!(mem.total_bytes() < before);
    assert_eq!(full_check(&repo).verdict(), Verdict::Healthy);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
}

#[test]
fn the_device_cache_puts_back_index_and_snapshot_objects_the_store_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let cache = dir.path().join("cache");
    populated(&db, 60, 800);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, Some(&cache)).unwrap();
    day(&db, 1);
    backup(&db, &mut repo, Some(&cache)).unwrap();
    let snapshot = sorted(&mem, "snapshots/")[0].clone();
    let index = sorted(&mem, "index/")[0].clone();
    let intact = (
        mem.get(&snapshot, None).unwrap(),
        mem.get(&index, None).unwrap(),
    );
    // Same-size damage, which no listing shows, and a truncation, which one does.
    flip(&mem, &snapshot, 20);
    let cut = intact.1.len() - 1;
    mem.put(&index, &intact.1[..cut]).unwrap();
    day(&db, 2);
    let healing = backup(&db, &mut repo, Some(&cache)).unwrap().healing;
    assert_eq!(healing.objects_restored, 2);
    assert_eq!(healing.snapshots_damaged, 0);
    assert_eq!(mem.get(&snapshot, None).unwrap(), intact.0);
    assert_eq!(mem.get(&index, None).unwrap(), intact.1);
    assert_eq!(full_check(&repo).verdict(), Verdict::Healthy);
}

#[test]
fn a_damaged_latest_snapshot_restores_the_newest_intact_one_and_the_next_backup_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 55, 800);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let first_state = dump(&db);
    day(&db, 1);
    let second = backup(&db, &mut repo, None).unwrap();
    flip(&mem, &second.snapshot.object_name(), 30);
    assert_eq!(restore_dump(&repo, None).unwrap(), first_state);
    assert!(is_damage(
        &restore_dump(&repo, Some(&second.snapshot)).unwrap_err()
    ));
    day(&db, 2);
    backup(&db, &mut repo, None).unwrap();
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
}

#[test]
fn a_damaged_index_object_is_bypassed_by_readers_and_replaced_by_the_next_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 52, 800);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let index = sorted(&mem, "index/")[0].clone();
    flip(&mem, &index, 40);
    // Before: the restore failed while backups with a cache kept exiting 0.
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    let report = full_check(&repo);
    assert_eq!(report.verdict(), Verdict::Healed);
    day(&db, 3);
    let healing = backup(&db, &mut repo, None).unwrap().healing;
    assert_eq!(healing.index_objects_replaced, 1);
    assert!(mem.get(&index, None).is_err(), "the damaged object is gone");
    assert_eq!(full_check(&repo).verdict(), Verdict::Healthy);
    let fresh = reopen(mem, &keyring).unwrap();
    assert_eq!(restore_dump(&fresh, None).unwrap(), dump(&db));
}

/// A repository whose largest pack has one flipped bit in its first chunk (a small last pack
/// could hold a chunk shorter than the offset, then padding).
fn repository_with_a_flipped_pack() -> (tempfile::TempDir, Arc<MemStore>, Repository, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 53, 800);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let pack = mem
        .list("data/")
        .unwrap()
        .into_iter()
        .max_by_key(|o| o.size)
        .unwrap()
        .name;
    flip(&mem, &pack, 100);
    (dir, mem, repo, pack)
}

fn backup_without_verification(db: &Path, repo: &mut Repository) -> backup::RepoBackupSummary {
    let store = ChatStore::open(db).unwrap();
    backup::backup_store_to_repo(
        &store,
        repo,
        None,
        &backup::BackupOptions {
            verify_bytes: 0,
            ..backup::BackupOptions::for_generation(repo.keyring().generation())
        },
        &Control::default(),
    )
    .unwrap()
}

#[test]
fn a_flipped_bit_found_by_check_is_noted_and_healed_by_the_next_backup() {
    let (dir, mem, mut repo, pack) = repository_with_a_flipped_pack();
    let db = dir.path().join("chat.db");
    // Before: the default check (no data read) passed and later backups deduplicated against
    // the damaged chunk, so no new snapshot restored either.
    let report = full_check(&repo);
    assert_eq!(report.verdict(), Verdict::Broken);
    assert!(
        !sorted(&mem, "damage/").is_empty(),
        "check noted the damage"
    );
    // The device still has the data: the next backup uploads the chunk again.
    let summary = backup_without_verification(&db, &mut repo);
    assert!(summary.healing.chunks_damaged >= 1);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    let report = full_check(&repo);
    assert_eq!(report.verdict(), Verdict::Healed);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::DamagedChunk { healed: true, copy } if copy.pack == pack)));
    let repair = repo.repair(&RepairOptions { apply: true }).unwrap();
    assert_eq!(repair.packs_salvaged.len(), 1);
    assert!(repair.packs_salvaged[0].chunks_kept > 0);
    assert_eq!(full_check(&repo).verdict(), Verdict::Healthy);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
}

#[test]
fn the_backups_own_verification_finds_a_flipped_bit_and_heals_it() {
    let (dir, mem, mut repo, _) = repository_with_a_flipped_pack();
    let db = dir.path().join("chat.db");
    let summary = backup(&db, &mut repo, None).unwrap();
    assert!(summary.healing.packs_verified >= 1);
    assert!(summary.healing.chunks_damaged >= 1);
    assert!(!sorted(&mem, "damage/").is_empty());
    // The new snapshot holds a fresh copy of the damaged chunk.
    assert_eq!(
        restore_dump(&repo, Some(&summary.snapshot)).unwrap(),
        dump(&db)
    );
}

#[test]
fn prune_refuses_to_forget_every_snapshot_unless_told_and_a_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 54, 300);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    // Before: `keep_last 0` deleted every snapshot and pack and returned Ok.
    for policy in [
        RetentionPolicy {
            keep_last: Some(0),
            ..Default::default()
        },
        RetentionPolicy {
            keep_daily: Some(0),
            ..Default::default()
        },
    ] {
        let err = prune_now(&mut repo, &policy).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
    assert_eq!(repo.snapshots().unwrap().len(), 1);
    let everything = RetentionPolicy {
        keep_last: Some(0),
        allow_forget_all: true,
        ..Default::default()
    };
    let objects = |mem: &MemStore| {
        let mut all: Vec<(String, Vec<u8>)> = mem
            .list_names("")
            .unwrap()
            .into_iter()
            .map(|n| {
                let bytes = mem.get(&n, None).unwrap();
                (n, bytes)
            })
            .collect();
        all.sort();
        all
    };
    let before = objects(&mem);
    let dry = backup::prune_repo(
        &mut repo,
        &everything,
        &PruneOptions {
            dry_run: true,
            grace: Duration::ZERO,
        },
        &Control::default(),
    )
    .unwrap();
    assert!(dry.dry_run && dry.snapshots_removed == 1);
    assert_eq!(objects(&mem), before, "a dry run changes nothing");
    prune_now(&mut repo, &everything).unwrap();
    assert!(repo.snapshots().unwrap().is_empty());
    assert!(mem.list_names("data/").unwrap().is_empty());
}

#[test]
fn prune_condemns_unreferenced_packs_and_deletes_them_only_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 56, 1200);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    for seed in 0..4 {
        let mut store = ChatStore::open(&db).unwrap();
        apply_day(
            &mut store,
            &DayOfChange {
                kind: DayKind::Stress,
                seed,
            },
        )
        .unwrap();
        store.close().unwrap();
        backup(&db, &mut repo, None).unwrap();
    }
    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..Default::default()
    };
    let hour = PruneOptions {
        grace: Duration::from_secs(3600),
        ..Default::default()
    };
    let packs_before = mem.list_names("data/").unwrap().len();
    let first = backup::prune_repo(&mut repo, &policy, &hour, &Control::default()).unwrap();
    assert!(first.packs_condemned > 0);
    assert_eq!(first.packs_deleted, 0);
    assert!(
        mem.list_names("data/").unwrap().len() >= packs_before,
        "nothing deleted yet"
    );
    let second = backup::prune_repo(&mut repo, &policy, &hour, &Control::default()).unwrap();
    assert_eq!(second.packs_deleted, 0, "within the grace period");
    let now = PruneOptions {
        grace: Duration::ZERO,
        ..Default::default()
    };
    let third = backup::prune_repo(&mut repo, &policy, &now, &Control::default()).unwrap();
    assert_eq!(third.packs_deleted, first.packs_condemned);
    assert_eq!(full_check(&repo).verdict(), Verdict::Healthy);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
}

/// A store that deletes one pack the first time the writer's commit check lists `data/`, as
/// another device's prune could.
struct VanishingPack {
    inner: Arc<MemStore>,
    armed: AtomicBool,
}

impl BlobStore for VanishingPack {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        self.inner.put(name, data)
    }
    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        self.inner.create(name, data)
    }
    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        self.inner.get(name, range)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        if prefix == "data/" && self.armed.swap(false, Ordering::SeqCst) {
            let mut packs = self.inner.list_names("data/")?;
            packs.sort();
            self.inner.delete(&packs[0])?;
        }
        self.inner.list(prefix)
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.inner.delete(name)
    }
    fn stat(&self, name: &str) -> Result<Option<u64>> {
        self.inner.stat(name)
    }
}

#[test]
fn a_pack_that_vanishes_during_the_backup_is_caught_before_the_commit_and_uploaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 57, 1200);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let vanishing = Arc::new(VanishingPack {
        inner: mem.clone(),
        armed: AtomicBool::new(true),
    });
    let mut repo = reopen(vanishing.clone(), &keyring).unwrap();
    day(&db, 5);
    let latest = backup(&db, &mut repo, None).unwrap().snapshot;
    assert!(
        !vanishing.armed.load(Ordering::SeqCst),
        "the pack did vanish"
    );
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    // The first snapshot may have lost chunks only it needed (the store lost them); the new
    // one is whole.
    let report = full_check(&repo);
    assert!(!report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::UnrestorableSnapshot { id, .. } if *id == latest)));
}

#[test]
fn a_writer_whose_lock_was_broken_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 58, 300);
    let keyring = device_keyring();
    let (mem, repo) = mem_repo(&keyring);
    let mut writer = repo
        .begin_snapshot(None, &keepsake_core::repo::WriterOptions::default())
        .unwrap();
    writer.add_data_chunk(b"some data").unwrap();
    // Another device decided the lock was stale and broke it.
    repo.unlock(true).unwrap();
    let meta = keepsake_core::repo::SnapshotMeta {
        time: 1,
        counts: Default::default(),
        digest: [0; 32],
        media: None,
    };
    let err = writer.commit(meta).unwrap_err();
    assert!(matches!(err, Error::RepositoryLocked { .. }), "{err:?}");
    assert!(mem.list_names("snapshots/").unwrap().is_empty());
}

#[test]
fn junk_in_locks_is_reported_and_ignored_and_a_live_lock_needs_force_to_break() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 59, 300);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    mem.put("locks/0123456789abcdef0123456789abcdef", b"junk")
        .unwrap();
    // Before: a junk object in locks/ blocked every writer forever.
    backup(&db, &mut repo, None).unwrap();
    assert!(full_check(&repo)
        .problems
        .iter()
        .any(|p| matches!(p, Problem::UnreadableLock { .. })));
    let unlocked = repo.unlock(false).unwrap();
    assert_eq!(unlocked.junk.len(), 1);
    // A live lock (this process holds it) is refused without force, with who and how.
    let writer = repo
        .begin_snapshot(None, &keepsake_core::repo::WriterOptions::default())
        .unwrap();
    let err = repo.unlock(false).unwrap_err();
    let Error::RepositoryLocked { holder } = err else {
        panic!("{err:?}")
    };
    assert!(
        holder.contains("process") && holder.contains("force"),
        "{holder}"
    );
    drop(writer);
}

#[test]
fn a_lost_or_truncated_config_is_put_back_by_the_device_that_opened_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 61, 300);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let config = mem.get("config", None).unwrap();
    for damage in [None, Some(config.len() / 2)] {
        match damage {
            None => mem.delete("config").unwrap(),
            Some(cut) => mem.put("config", &config[..cut]).unwrap(),
        }
        let err = reopen(mem.clone(), &keyring).unwrap_err();
        assert!(
            is_damage(&err) || matches!(err, Error::ObjectMissing { .. }),
            "{err:?}"
        );
        let healing = backup(&db, &mut repo, None).unwrap().healing;
        assert_eq!(healing.objects_restored, 1);
        let fresh = reopen(mem.clone(), &keyring).unwrap();
        assert_eq!(restore_dump(&fresh, None).unwrap(), dump(&db));
    }
}

#[test]
fn a_store_rolled_back_under_a_device_is_reported_by_its_next_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let cache = dir.path().join("cache");
    populated(&db, 62, 300);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, Some(&cache)).unwrap();
    let earlier: Vec<(String, Vec<u8>)> = mem
        .list_names("")
        .unwrap()
        .into_iter()
        .map(|n| {
            let bytes = mem.get(&n, None).unwrap();
            (n, bytes)
        })
        .collect();
    day(&db, 1);
    let second = backup(&db, &mut repo, Some(&cache)).unwrap();
    assert!(!second.healing.store_rolled_back);
    // The whole store goes back to before the second backup.
    for name in mem.list_names("").unwrap() {
        mem.delete(&name).unwrap();
    }
    for (name, bytes) in earlier {
        mem.put(&name, &bytes).unwrap();
    }
    day(&db, 2);
    // Before: the device whose cache knew the newer snapshot backed up without a word.
    let third = backup(&db, &mut repo, Some(&cache)).unwrap();
    assert!(third.healing.store_rolled_back);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    let fourth = backup(&db, &mut repo, Some(&cache)).unwrap();
    assert!(!fourth.healing.store_rolled_back, "said once");
}

#[test]
fn a_repository_is_created_in_an_empty_store_only() {
    let keyring = device_keyring();
    let mem = Arc::new(MemStore::new());
    mem.put("notes.txt", b"someone's file").unwrap();
    let err = Repository::init(mem.clone(), &keyring, &small_options()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    mem.delete("notes.txt").unwrap();
    Repository::init(mem.clone(), &keyring, &small_options()).unwrap();
    let again = Repository::init(mem, &keyring, &small_options()).unwrap_err();
    assert!(matches!(again, Error::InvalidArgument(_)), "{again:?}");
}

#[test]
fn a_flipped_byte_anywhere_in_the_config_is_corrupted_not_truncated() {
    let keyring = device_keyring();
    let (mem, _) = mem_repo(&keyring);
    let config = mem.get("config", None).unwrap();
    // Before: a flipped length field made the parse run past the end: `Truncated`.
    for at in 0..config.len() {
        let mut bytes = config.clone();
        bytes[at] ^= 0x80;
        mem.put("config", &bytes).unwrap();
        let err = reopen(mem.clone(), &keyring).unwrap_err();
        assert!(
            !matches!(err, Error::Truncated { .. }),
            "byte {at}: {err:?}"
        );
        assert!(
            is_damage(&err) || matches!(err, Error::WrongKey | Error::OtherGeneration { .. }),
            "byte {at}: {err:?}"
        );
    }
}
