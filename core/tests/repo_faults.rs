//! Repository reliability against a misbehaving store (issue 10): a fault-injection matrix over
//! every store call of a backup, uploads cut off mid-way, and damaged, missing, truncated,
//! duplicated, swapped and foreign objects. The invariant: a typed error or a correct result,
//! never a wrong restore, and a retry completes.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;

use std::{collections::HashMap, sync::Arc};

use keepsake_core::{
    backup::{self, Control},
    keyring::Keyring,
    repo::{
        testing::{Faults, FaultyStore},
        BlobStore, CheckOptions, MemStore, Problem, Repository, SnapshotId, Verdict, CONFIG_NAME,
    },
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        ChatStore,
    },
    Error,
};
use repo_support::*;

/// Every snapshot restores to what it was taken from and `check` reads every chunk.
fn assert_sound(repo: &Repository) {
    backup::check_repo(
        repo,
        &CheckOptions {
            read_data_fraction: 1.0,
        },
        &Control::default(),
    )
    .unwrap();
}

/// For every call index of a backup, failing that call gives a typed error or a completed
/// backup; a retry then completes; no snapshot ever references a chunk that is not stored.
fn fault_matrix(incremental: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 3, 600);
    let keyring = device_keyring();

    // The repository the faulty runs start from (empty, or holding one snapshot).
    let base = MemStore::new();
    {
        let base_arc: Arc<MemStore> = Arc::new(MemStore::new());
        let mut repo = Repository::init(base_arc.clone(), &keyring, &small_options()).unwrap();
        if incremental {
            backup(&db, &mut repo, None).unwrap();
        }
        for name in base_arc.list_names("").unwrap() {
            base.put(&name, &base_arc.get(&name, None).unwrap())
                .unwrap();
        }
    }
    if incremental {
        let mut store = ChatStore::open(&db).unwrap();
        apply_day(
            &mut store,
            &DayOfChange {
                kind: DayKind::Stress,
                seed: 5,
            },
        )
        .unwrap();
        store.close().unwrap();
    }
    let expected = dump(&db);
    let copy_of_base = || {
        let mem = Arc::new(MemStore::new());
        for name in base.list_names("").unwrap() {
            mem.put(&name, &base.get(&name, None).unwrap()).unwrap();
        }
        mem
    };

    // Count the calls of an undisturbed run.
    let probe = Arc::new(FaultyStore::new(copy_of_base()));
    let mut repo = reopen(probe.clone(), &keyring).unwrap();
    probe.set_faults(Faults::default());
    backup(&db, &mut repo, None).unwrap();
    let calls = probe.calls();
    assert!(calls > 5, "a backup makes several store calls, got {calls}");

    let mut failed = 0;
    for k in 0..calls {
        let faulty = Arc::new(FaultyStore::new(copy_of_base()));
        let mut repo = reopen(faulty.clone(), &keyring).unwrap();
        faulty.set_faults(Faults {
            fail_call: Some(k),
            ..Faults::default()
        });
        match backup(&db, &mut repo, None) {
            Ok(_) => {}
            Err(Error::Storage { .. }) => failed += 1,
            Err(other) => panic!("call {k}: unexpected error {other:?}"),
        }
        faulty.set_faults(Faults::default());
        // Whatever the failed run left, every snapshot present is whole.
        assert_sound(&repo);
        repo.break_locks().unwrap(); // a failed run may leave its lock if the delete failed
        backup(&db, &mut repo, None).unwrap();
        assert_sound(&repo);
        assert!(
            restore_dump(&repo, None).unwrap() == expected,
            "call {k}: restore differs"
        );
    }
    assert!(failed > 0);
}

#[test]
fn failing_any_call_of_a_first_backup_is_typed_and_a_retry_completes() {
    fault_matrix(false);
}

#[test]
fn failing_any_call_of_an_incremental_backup_is_typed_and_a_retry_completes() {
    fault_matrix(true);
}

#[test]
fn an_upload_cut_off_after_n_bytes_is_resumed_reusing_the_packs_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 4, 3_000);
    let keyring = device_keyring();
    let inner: Arc<MemStore> = Arc::new(MemStore::new());
    let faulty = Arc::new(FaultyStore::new(inner.clone()));
    let mut repo = Repository::init(faulty.clone(), &keyring, &small_options()).unwrap();
    faulty.set_faults(Faults {
        put_byte_budget: Some(100 * 1024),
        ..Faults::default()
    });
    assert!(matches!(
        backup(&db, &mut repo, None),
        Err(Error::Storage { .. })
    ));
    assert!(
        repo.snapshots().unwrap().is_empty(),
        "no snapshot from a cut-off run"
    );
    let stored_packs = inner.list_names("data/").unwrap().len();
    assert!(stored_packs >= 1);
    faulty.set_faults(Faults::default());
    repo.break_locks().unwrap();
    let resumed = backup(&db, &mut repo, None).unwrap();
    assert_eq!(resumed.packs_adopted as usize, stored_packs);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&db));
    assert_sound(&repo);
}

/// A repository with two snapshots, and what each restores to (by id).
struct TwoSnapshots {
    dir: tempfile::TempDir,
    keyring: Keyring,
    mem: Arc<MemStore>,
    expected: HashMap<SnapshotId, String>,
    latest: String,
}

fn two_snapshots() -> TwoSnapshots {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 5, 800);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    let mut expected = HashMap::new();
    let first = backup(&db, &mut repo, None).unwrap().snapshot;
    expected.insert(first, dump(&db));
    let mut store = ChatStore::open(&db).unwrap();
    apply_day(
        &mut store,
        &DayOfChange {
            kind: DayKind::Realistic,
            seed: 1,
        },
    )
    .unwrap();
    store.close().unwrap();
    let second = backup(&db, &mut repo, None).unwrap().snapshot;
    let latest = dump(&db);
    expected.insert(second, latest.clone());
    TwoSnapshots {
        dir,
        keyring,
        mem,
        expected,
        latest,
    }
}

/// What damage to a store led to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The repository would not open (a typed error).
    Refused,
    /// `check` named the damage; every restore was exact or a typed error.
    Detected,
    /// Nothing found, and every snapshot restored exactly (damage to bytes nothing reads,
    /// such as a pack's padding).
    Harmless,
}

/// Opens the store, restores every snapshot and the latest, and checks everything. Panics on a
/// wrong restore, an untyped error, a failed restore that check does not call a loss, or a
/// damaged store that check calls healthy while a restore failed.
fn judge(store: Arc<dyn BlobStore>, world: &TwoSnapshots, what: &str) -> Outcome {
    let repo = match reopen(store, &world.keyring) {
        Ok(repo) => repo,
        Err(err) => {
            assert!(
                is_damage(&err) || matches!(err, Error::ObjectMissing { .. }),
                "{what}: {err:?}"
            );
            return Outcome::Refused;
        }
    };
    let mut failed = 0;
    for (id, expected) in &world.expected {
        match restore_dump(&repo, Some(id)) {
            Ok(restored) => assert!(&restored == expected, "{what}: a wrong restore"),
            Err(err) => {
                assert!(
                    is_damage(&err) || matches!(err, Error::ObjectMissing { .. }),
                    "{what}: {err:?}"
                );
                failed += 1;
            }
        }
    }
    match restore_dump(&repo, None) {
        Ok(restored) => assert!(
            world.expected.values().any(|e| *e == restored),
            "{what}: the latest restore is no snapshot's content"
        ),
        Err(err) => assert!(
            is_damage(&err) || matches!(err, Error::ObjectMissing { .. }),
            "{what}: {err:?}"
        ),
    }
    let report = backup::check_repo(
        &repo,
        &CheckOptions {
            read_data_fraction: 1.0,
        },
        &Control::default(),
    )
    .unwrap();
    if failed > 0 {
        assert_eq!(
            report.verdict(),
            Verdict::Broken,
            "{what}: {:?}",
            report.problems
        );
    }
    if report.problems.is_empty() {
        Outcome::Harmless
    } else {
        Outcome::Detected
    }
}

/// After `damage`, the next backup (of the latest data) restores exactly.
fn healed_by_next_backup(store: Arc<MemStore>, world: &TwoSnapshots, what: &str) {
    let Ok(mut repo) = reopen(store, &world.keyring) else {
        return; // a damaged config: nothing to heal from here
    };
    let db = world.dir.path().join("chat.db");
    backup(&db, &mut repo, None).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert!(
        restore_dump(&repo, None).unwrap() == world.latest,
        "{what}: not healed"
    );
}

fn copy(mem: &MemStore) -> Arc<MemStore> {
    let out = Arc::new(MemStore::new());
    for name in mem.list_names("").unwrap() {
        out.put(&name, &mem.get(&name, None).unwrap()).unwrap();
    }
    out
}

fn object_kinds(mem: &MemStore) -> Vec<String> {
    let mut names = vec![CONFIG_NAME.to_owned()];
    for prefix in ["data/", "index/", "snapshots/"] {
        let mut some = mem.list_names(prefix).unwrap();
        some.sort();
        names.extend(some);
    }
    names
}

#[test]
fn bit_flips_in_any_object_never_give_a_wrong_restore_and_check_names_them() {
    let world = two_snapshots();
    let long = std::env::var("KEEPSAKE_LONG_SWEEP").is_ok();
    for name in object_kinds(&world.mem) {
        let len = world.mem.get(&name, None).unwrap().len();
        // Every byte in the long sweep; in CI the first and last 40 bytes and 40 spread ones.
        let positions: Vec<usize> = if long || len <= 120 {
            (0..len).collect()
        } else {
            (0..40)
                .chain(len - 40..len)
                .chain((0..40).map(|i| 40 + i * (len - 80) / 40))
                .collect()
        };
        for (n, pos) in positions.into_iter().enumerate() {
            let damaged = copy(&world.mem);
            let mut bytes = damaged.get(&name, None).unwrap();
            bytes[pos] ^= 1 << (pos % 8);
            damaged.put(&name, &bytes).unwrap();
            let what = format!("{name} byte {pos}");
            let outcome = judge(damaged.clone(), &world, &what);
            // Every byte of the config, an index or a snapshot object is authenticated; only
            // a pack has bytes nothing reads (the padding of a last pack).
            if !name.starts_with("data/") {
                assert_ne!(outcome, Outcome::Harmless, "{what}: damage not detected");
            }
            if n % 20 == 0 {
                healed_by_next_backup(damaged, &world, &what);
            }
        }
    }
}

#[test]
fn missing_truncated_duplicated_and_swapped_objects_never_give_a_wrong_restore() {
    let world = two_snapshots();
    let mem = &world.mem;
    for name in object_kinds(mem) {
        let bytes = mem.get(&name, None).unwrap();
        let missing = copy(mem);
        missing.delete(&name).unwrap();
        if let Some(id) = name.strip_prefix("snapshots/") {
            // A withheld snapshot cannot be told from one never written (see REPOSITORY.md,
            // "What the store can do"): it is simply absent, and asking for it is typed.
            let repo = reopen(missing, &world.keyring).unwrap();
            let id: SnapshotId = id.parse().unwrap();
            assert!(repo.snapshots().unwrap().iter().all(|s| s.id != id));
            let err = restore_dump(&repo, Some(&id)).unwrap_err();
            assert!(matches!(err, Error::ObjectMissing { .. }), "{err:?}");
        } else {
            let what = format!("{name} missing");
            assert_ne!(
                judge(missing.clone(), &world, &what),
                Outcome::Harmless,
                "{what}"
            );
            healed_by_next_backup(missing, &world, &what);
        }

        for keep in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            let truncated = copy(mem);
            truncated.put(&name, &bytes[..keep]).unwrap();
            let what = format!("{name} cut to {keep}");
            assert_ne!(
                judge(truncated.clone(), &world, &what),
                Outcome::Harmless,
                "{what}"
            );
            healed_by_next_backup(truncated, &world, &what);
        }
    }
    // A copy of an object under another name of its kind: it fails (the name is bound) and
    // check says so; everything else restores.
    for prefix in ["index/", "snapshots/"] {
        let dup = copy(mem);
        let name = dup.list_names(prefix).unwrap().remove(0);
        let bytes = dup.get(&name, None).unwrap();
        dup.put(&format!("{prefix}{}", "ab".repeat(16)), &bytes)
            .unwrap();
        let what = format!("{prefix} duplicate");
        assert_eq!(judge(dup, &world, &what), Outcome::Detected, "{what}");
    }
    // Two objects of a kind with their contents swapped.
    for prefix in ["data/", "index/", "snapshots/"] {
        let swapped = copy(mem);
        let mut names = swapped.list_names(prefix).unwrap();
        names.sort();
        if names.len() < 2 {
            continue;
        }
        let a = swapped.get(&names[0], None).unwrap();
        let b = swapped.get(&names[1], None).unwrap();
        swapped.put(&names[0], &b).unwrap();
        swapped.put(&names[1], &a).unwrap();
        let what = format!("{prefix} swapped");
        assert_ne!(
            judge(swapped.clone(), &world, &what),
            Outcome::Harmless,
            "{what}"
        );
        healed_by_next_backup(swapped, &world, &what);
    }
}

#[test]
fn a_pack_from_another_repository_never_gives_a_wrong_restore_and_is_never_adopted() {
    let world = two_snapshots();
    let other_keyring = device_keyring();
    let (other_mem, mut other) = mem_repo(&other_keyring);
    backup(&world.dir.path().join("chat.db"), &mut other, None).unwrap();
    let foreign = other_mem.list_names("data/").unwrap().remove(0);
    let foreign_bytes = other_mem.get(&foreign, None).unwrap();

    // In place of one of ours.
    let replaced = copy(&world.mem);
    let ours = replaced.list_names("data/").unwrap().remove(0);
    replaced.put(&ours, &foreign_bytes).unwrap();
    assert_eq!(
        judge(replaced.clone(), &world, "foreign pack in place"),
        Outcome::Detected
    );
    healed_by_next_backup(replaced, &world, "foreign pack in place");

    // Beside ours: not adopted by a backup, reported by check, removed by prune.
    let extra = copy(&world.mem);
    extra.put(&foreign, &foreign_bytes).unwrap();
    let mut repo = reopen(extra.clone(), &world.keyring).unwrap();
    let summary = backup(&world.dir.path().join("chat.db"), &mut repo, None).unwrap();
    assert_eq!(summary.packs_adopted, 0);
    let report = backup::check_repo(&repo, &CheckOptions::default(), &Control::default()).unwrap();
    assert!(report.problems.contains(&Problem::UnreadablePack {
        name: foreign.clone(),
        reason: report
            .problems
            .iter()
            .find_map(|p| match p {
                Problem::UnreadablePack { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .unwrap()
    }));
    let policy = keepsake_core::repo::RetentionPolicy {
        keep_last: Some(5),
        ..Default::default()
    };
    prune_now(&mut repo, &policy).unwrap();
    assert!(extra.get(&foreign, None).is_err());
    assert_eq!(restore_dump(&repo, None).unwrap(), world.latest);
}
