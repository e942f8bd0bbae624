//! Old key epochs authenticate nothing new after a revocation (issue 18, item 3): after a slot
//! is removed and the repository moves to a new key epoch, every index and snapshot object is
//! sealed again under the new epoch and the config's epoch floor rises, so objects that a
//! holder of the removed secret seals under an old epoch (a snapshot that would become
//! "latest", an index pointing elsewhere, a lock) are refused; snapshot sequences follow their
//! parents exactly and never wrap; prune never forgets genuine snapshots for planted ones.
//!
//! Before the fix, the planted old-epoch snapshot became the latest and the device's own
//! `keep_last 2` prune deleted the genuine ones.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;

use std::path::Path;

use keepsake_core::{
    backup,
    keyring::Keyring,
    repo::{
        index::{self, IndexObject, PackEntries},
        object::Kind,
        snapshot,
        testing::seal_as,
        BlobStore, KeyringAdoption, MemStore, Repository, RetentionPolicy, Snapshot, SnapshotId,
    },
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        ChatStore,
    },
    Error,
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

/// The epoch in an envelope's header.
fn epoch_of(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[5..9].try_into().unwrap())
}

struct Revoked {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    mem: std::sync::Arc<MemStore>,
    keyring: Keyring,
    /// The repository as the removed secret's holder opened it before the rotation.
    attacker: Repository,
    /// The first snapshot as that holder read it then.
    seen: Snapshot,
    genuine: Vec<SnapshotId>,
}

/// Two backups, then a recovery key removed (a rotation) and adopted, then a third backup.
fn revoked() -> Revoked {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 70, 600);
    let mut keyring = device_keyring();
    let (removed, removed_key) = keyring.add_recovery_key("lost phone's copy").unwrap();
    let (mem, mut repo) = mem_repo(&keyring);
    let mut genuine = vec![backup(&db, &mut repo, None).unwrap().snapshot];
    day(&db, 1);
    genuine.push(backup(&db, &mut repo, None).unwrap().snapshot);
    let attacker =
        Repository::open(mem.clone(), &backup::Secret::RecoveryKey(&removed_key)).unwrap();
    let seen = snapshot::load(&attacker, &genuine[0].object_name()).unwrap();
    keyring.remove_slot(&removed, false).unwrap();
    assert_eq!(
        repo.adopt_keyring(&keyring).unwrap(),
        KeyringAdoption::Rotated
    );
    day(&db, 2);
    genuine.push(backup(&db, &mut repo, None).unwrap().snapshot);
    Revoked {
        _dir: dir,
        db,
        mem,
        keyring,
        attacker,
        seen,
        genuine,
    }
}

#[test]
fn a_rotation_reseals_every_index_and_snapshot_object_and_raises_the_floor() {
    let r = revoked();
    let repo = reopen(r.mem.clone(), &r.keyring).unwrap();
    let current = repo.current_epoch();
    assert!(current > 0);
    assert_eq!(repo.epoch_floor(), current);
    for prefix in ["index/", "snapshots/"] {
        for name in r.mem.list_names(prefix).unwrap() {
            let bytes = r.mem.get(&name, None).unwrap();
            assert_eq!(epoch_of(&bytes), current, "{name} sealed again");
        }
    }
    for id in &r.genuine {
        restore_dump(&repo, Some(id)).unwrap();
    }
}

#[test]
fn objects_planted_under_an_old_epoch_are_refused_and_prune_keeps_the_genuine_snapshots() {
    let r = revoked();
    let repo = reopen(r.mem.clone(), &r.keyring).unwrap();
    let latest = repo.snapshots().unwrap().last().unwrap().clone();

    // The removed secret's holder seals a snapshot with the highest sequence under the old
    // epoch, pointing at the first snapshot's (old) data, and an index and a lock likewise.
    let first = r.seen.clone();
    let planted_id = SnapshotId([0xee; 16]);
    let planted = Snapshot {
        info: keepsake_core::repo::SnapshotInfo {
            id: planted_id,
            sequence: u64::MAX,
            time: latest.time + 1,
            parent: None,
            ..first.info.clone()
        },
        ..first
    };
    let bytes = snapshot::encode(&r.attacker, &planted).unwrap();
    assert!(epoch_of(&bytes) < repo.current_epoch());
    r.mem.put(&planted_id.object_name(), &bytes).unwrap();
    let index_name = format!("index/{}", "dd".repeat(16));
    let fake = IndexObject {
        packs: vec![PackEntries {
            pack: format!("data/{}", "cc".repeat(16)),
            epoch: 0,
            size: None,
            entries: Vec::new(),
        }],
        condemned: Vec::new(),
    };
    let sealed = seal_as(
        &r.attacker,
        Kind::Index,
        &index_name,
        &index::encode_content(&fake).unwrap(),
    )
    .unwrap();
    r.mem.put(&index_name, &sealed).unwrap();

    let history = repo.history().unwrap();
    assert!(history
        .damaged
        .iter()
        .any(|d| d.name == planted_id.object_name() && d.reason.contains("floor")));
    assert_eq!(history.latest().unwrap().info.id, latest.id);
    assert_eq!(restore_dump(&repo, None).unwrap(), dump(&r.db));

    // The device's routine prune keeps its own newest snapshots, not the planted one.
    let mut repo = reopen(r.mem.clone(), &r.keyring).unwrap();
    repo.repair(&keepsake_core::repo::RepairOptions { apply: true })
        .unwrap();
    let policy = RetentionPolicy {
        keep_last: Some(2),
        ..Default::default()
    };
    prune_now(&mut repo, &policy).unwrap();
    let left: Vec<SnapshotId> = repo.snapshots().unwrap().iter().map(|s| s.id).collect();
    assert_eq!(left, r.genuine[1..].to_vec());
    assert!(r.mem.get(&planted_id.object_name(), None).is_err());
    assert!(r.mem.get(&index_name, None).is_err());
}

#[test]
fn a_sequence_that_does_not_follow_its_parent_is_refused_and_none_wraps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 71, 400);
    let keyring = device_keyring();
    let (mem, mut repo) = mem_repo(&keyring);
    let first = backup(&db, &mut repo, None).unwrap().snapshot;
    let genuine = snapshot::load(&repo, &first.object_name()).unwrap();

    // A snapshot claiming to follow the first but skipping ahead is not "latest".
    let skipping = Snapshot {
        info: keepsake_core::repo::SnapshotInfo {
            id: SnapshotId([0xaa; 16]),
            sequence: 50,
            parent: Some(first),
            ..genuine.info.clone()
        },
        ..genuine.clone()
    };
    mem.put(
        &skipping.info.id.object_name(),
        &snapshot::encode(&repo, &skipping).unwrap(),
    )
    .unwrap();
    let history = repo.history().unwrap();
    assert_eq!(history.latest().unwrap().info.id, first);
    assert_eq!(history.damaged.len(), 1);

    // A parentless snapshot at the highest sequence: the next backup refuses to wrap.
    let top = Snapshot {
        info: keepsake_core::repo::SnapshotInfo {
            id: SnapshotId([0xab; 16]),
            sequence: u64::MAX,
            parent: None,
            ..genuine.info.clone()
        },
        ..genuine
    };
    mem.put(
        &top.info.id.object_name(),
        &snapshot::encode(&repo, &top).unwrap(),
    )
    .unwrap();
    let err = backup(&db, &mut repo, None).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
}
