//! Issue 19 through the FFI types: a store that loses or damages objects costs nothing once a
//! backup ran, the reports say what was healed, the history marks damaged snapshots, check tells
//! healthy from healed from broken without throwing, repair previews then applies, unlock
//! refuses a live lock without force, and prune refuses to forget everything unless told.

use super::{
    app_store::AppStore,
    tests::{chat_store, messages},
    *,
};

/// A repository in an app store with one backup of 5,000 messages, and the chat store.
fn backed_up(dir: &std::path::Path) -> (Arc<AppStore>, Arc<Repository>, Arc<ChatStore>) {
    let app = Arc::new(AppStore::default());
    let keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper".into()).unwrap();
    let repo = Repository::create(app.clone(), keyring, None).unwrap();
    let chats = chat_store(&dir.join("chats.db"));
    repo.backup(chats.clone(), None, None, None).unwrap();
    (app, repo, chats)
}

fn names(app: &AppStore, prefix: &str) -> Vec<String> {
    let objects = app.objects.lock().unwrap();
    objects
        .keys()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect()
}

fn messages_restored(repo: &Repository, dir: &std::path::Path, snapshot: Option<String>) -> i64 {
    let target = dir
        .join(format!("restored-{}.db", rand_suffix()))
        .display()
        .to_string();
    let report = repo.restore(target, snapshot, false, None, None).unwrap();
    report.counts.unwrap().messages
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn a_lost_pack_is_healed_by_the_next_backup_and_check_tells_broken_from_healed() {
    let dir = tempfile::tempdir().unwrap();
    let (app, repo, chats) = backed_up(dir.path());
    let first = repo.snapshots().unwrap().remove(0);
    let healthy = repo.check(1.0, None, None).unwrap();
    assert_eq!(healthy.verdict, CheckVerdict::Healthy);
    assert!(healthy.problems.is_empty(), "{healthy:?}");

    let lost = names(&app, "data/").remove(0);
    app.objects.lock().unwrap().remove(&lost);
    // Broken until a backup ran: reported, not thrown.
    let broken = repo.check(0.0, None, None).unwrap();
    assert_eq!(broken.verdict, CheckVerdict::Broken, "{broken:?}");
    assert!(broken
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::LostPack && p.object_name.as_deref() == Some(&*lost)));
    assert!(broken.problems.iter().any(|p| p.loss
        && p.kind == ProblemKind::UnrestorableSnapshot
        && p.snapshot_id.as_deref() == Some(&*first.id)));

    let healed = repo.backup(chats, None, None, None).unwrap();
    assert_eq!(healed.healing.packs_lost, 1, "{healed:?}");
    assert!(healed.healing.found_damage);
    assert!(!healed.healing.store_rolled_back);
    assert_eq!(messages_restored(&repo, dir.path(), None), 5_000);
    assert_eq!(messages_restored(&repo, dir.path(), Some(first.id)), 5_000);
    let report = repo.check(1.0, None, None).unwrap();
    assert_eq!(report.verdict, CheckVerdict::Healed, "{report:?}");
    assert!(report.problems.iter().all(|p| !p.loss && p.healed));
    assert!(report.problems.iter().all(|p| p.detail.ends_with('.')));
}

#[test]
fn a_damaged_snapshot_is_listed_as_damaged_and_repair_previews_then_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (app, repo, chats) = backed_up(dir.path());
    chats.insert_messages(messages(1, 5_001, 20)).unwrap();
    let newest = repo.backup(chats, None, None, None).unwrap();
    let object = format!("snapshots/{}", newest.snapshot_id);
    app.objects.lock().unwrap().get_mut(&object).unwrap()[20] ^= 0x04;

    let history = repo.history().unwrap();
    assert_eq!(history.snapshots.len(), 1);
    assert_eq!(history.snapshots[0].sequence, 1);
    assert_eq!(history.damaged.len(), 1, "{history:?}");
    assert_eq!(history.damaged[0].id.as_deref(), Some(&*newest.snapshot_id));
    assert_eq!(history.damaged[0].name, object);
    assert_eq!(repo.snapshots().unwrap(), history.snapshots);
    // The latest restore takes the newest intact snapshot.
    assert_eq!(messages_restored(&repo, dir.path(), None), 5_000);
    let check = repo.check(0.0, None, None).unwrap();
    assert_eq!(check.verdict, CheckVerdict::Broken);
    assert!(check
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::DamagedSnapshot
            && p.snapshot_id.as_deref() == Some(&*newest.snapshot_id)));

    let preview = repo.repair(false).unwrap();
    assert!(
        !preview.applied && !preview.nothing_to_repair,
        "{preview:?}"
    );
    assert_eq!(
        preview
            .snapshots_removed
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        [object.as_str()]
    );
    assert!(app.objects.lock().unwrap().contains_key(&object));
    let applied = repo.repair(true).unwrap();
    assert!(applied.applied);
    assert_eq!(applied.snapshots_removed, preview.snapshots_removed);
    assert!(!app.objects.lock().unwrap().contains_key(&object));
    assert!(repo.history().unwrap().damaged.is_empty());
    assert_ne!(
        repo.check(1.0, None, None).unwrap().verdict,
        CheckVerdict::Broken
    );
    assert!(repo.repair(false).unwrap().nothing_to_repair);
}

#[test]
fn prune_refuses_to_forget_everything_unless_told_and_a_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, repo, _chats) = backed_up(dir.path());
    let none = RetentionPolicy {
        keep_last: Some(0),
        ..RetentionPolicy::default()
    };
    assert!(matches!(
        repo.prune(none, false, None, None),
        Err(KeepsakeError::InvalidArgument { detail }) if detail.contains("allow_forget_all")
    ));
    let everything = RetentionPolicy {
        allow_forget_all: true,
        ..none
    };
    let dry = repo.prune(everything, true, None, None).unwrap();
    assert!(dry.dry_run);
    assert_eq!((dry.snapshots_kept, dry.snapshots_removed), (0, 1));
    assert_eq!(repo.snapshots().unwrap().len(), 1);
    let done = repo.prune(everything, false, None, None).unwrap();
    assert!(!done.dry_run && done.not_reclaimed.is_none(), "{done:?}");
    assert!(repo.snapshots().unwrap().is_empty());
}

#[test]
fn unlock_refuses_a_live_lock_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (app, repo, chats) = backed_up(dir.path());
    // Nothing to remove after a finished backup.
    assert_eq!(
        repo.unlock(false).unwrap(),
        UnlockReport {
            removed: vec![],
            junk: vec![]
        }
    );
    // The backup's own lock, put back: a writer of this live process holds it.
    let (name, lock) = app.last_lock.lock().unwrap().clone().unwrap();
    app.objects.lock().unwrap().insert(name.clone(), lock);
    let refused = repo.unlock(false).unwrap_err();
    assert!(
        matches!(&refused, KeepsakeError::RepositoryLocked { detail } if detail.contains("live")),
        "{refused:?}"
    );
    assert!(matches!(
        repo.backup(chats.clone(), None, None, None),
        Err(KeepsakeError::RepositoryLocked { .. })
    ));
    let forced = repo.unlock(true).unwrap();
    assert_eq!(forced.removed.len(), 1, "{forced:?}");
    assert!(forced.removed[0].starts_with(&name), "{forced:?}");
    repo.backup(chats, None, None, None).unwrap();
}

#[test]
fn connections_and_verification_are_the_apps_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, repo, chats) = backed_up(dir.path());
    assert_eq!(repo.connections().unwrap(), 4);
    for bad in [0, 33, -1, i64::MAX] {
        assert!(
            matches!(
                repo.set_connections(bad),
                Err(KeepsakeError::InvalidArgument { .. })
            ),
            "{bad}"
        );
    }
    repo.set_connections(1).unwrap();
    assert_eq!(repo.connections().unwrap(), 1);

    let options = |verify_bytes| BackupOptions {
        compression_level: 3,
        extra_metadata: std::collections::HashMap::new(),
        known_generation: 0,
        verify_bytes,
    };
    let off = repo.backup(chats.clone(), Some(options(0)), None, None);
    assert_eq!(off.unwrap().healing.packs_verified, 0);
    let on = repo
        .backup(chats.clone(), Some(options(1 << 24)), None, None)
        .unwrap();
    assert!(on.healing.packs_verified >= 1, "{on:?}");
    assert!(on.healing.bytes_verified > 0 && !on.healing.found_damage);
    assert!(matches!(
        repo.backup(chats, Some(options(-1)), None, None),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
}

/// The default an app gets for `BackupOptions.verifyBytes` is a literal in the UniFFI
/// attribute (it must be): it stays the core's default.
#[test]
fn the_verify_bytes_default_is_the_cores() {
    let source = include_str!("../backup.rs");
    let attribute = format!(
        "#[uniffi(default = {})]\n    pub verify_bytes: i64,",
        keepsake_core::repo::writer::DEFAULT_VERIFY_BYTES
    );
    assert!(source.contains(&attribute), "expected {attribute}");
}
