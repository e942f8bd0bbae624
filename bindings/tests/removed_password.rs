//! A password that finds no password slot (none added, or removed since) is `WrongPassword`, as
//! for a mistyped one: never `NoMatchingSlot`, whose message speaks of a passkey. Backups made
//! before the removal still open with it.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use keepsake_ffi::{
    backup_to_path, keyring_from_backup, memory_blob_store, restore_from_path, verify_backup,
    BackupSecret, ChatStore, KeepsakeError, Keyring, Repository,
};

const PASSWORD: &str = "correct horse battery staple";

/// `WrongPassword` with a detail that reads as one, whatever the call.
fn assert_wrong_password<T>(result: Result<T, KeepsakeError>, call: &str) {
    match result {
        Err(KeepsakeError::WrongPassword { detail }) => {
            assert!(detail.starts_with("Wrong password"), "{call}: {detail}");
            assert!(!detail.contains("passkey"), "{call}: {detail}");
        }
        Err(other) => panic!("{call}: expected WrongPassword, got {other:?}"),
        Ok(_) => panic!("{call}: expected WrongPassword, it succeeded"),
    }
}

#[test]
fn a_removed_password_is_wrong_password_for_backups_and_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let store = ChatStore::open(path("chat.db")).unwrap();
    let keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper".into()).unwrap();
    let slot = keyring
        .add_password("Password".into(), PASSWORD.into())
        .unwrap();
    backup_to_path(
        store.clone(),
        keyring.clone(),
        path("before.keepsake"),
        None,
        None,
        None,
    )
    .unwrap();
    let cloud = memory_blob_store();
    let repository = Repository::create(cloud.clone(), keyring.clone(), None).unwrap();

    keyring.remove_slot(slot.id).unwrap();
    repository.adopt_keyring(keyring.clone()).unwrap();
    repository.backup(store.clone(), None, None, None).unwrap();
    backup_to_path(
        store,
        keyring.clone(),
        path("after.keepsake"),
        None,
        None,
        None,
    )
    .unwrap();

    let secret = BackupSecret::password(PASSWORD.into());
    verify_backup(path("before.keepsake"), secret.clone(), None, None).unwrap();
    assert_wrong_password(
        verify_backup(path("after.keepsake"), secret.clone(), None, None),
        "verify",
    );
    assert_wrong_password(
        restore_from_path(
            path("after.keepsake"),
            secret.clone(),
            path("restored.db"),
            false,
            None,
            None,
        ),
        "restore",
    );
    assert_wrong_password(
        keyring_from_backup(path("after.keepsake"), secret.clone()),
        "keyring from backup",
    );
    assert_wrong_password(Repository::open(cloud, secret, None), "repository open");
}

#[test]
fn a_password_for_a_backup_that_never_had_one_is_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper".into()).unwrap();
    let store = ChatStore::open(path("chat.db")).unwrap();
    backup_to_path(store, keyring, path("b.keepsake"), None, None, None).unwrap();
    assert_wrong_password(
        verify_backup(
            path("b.keepsake"),
            BackupSecret::password(PASSWORD.into()),
            None,
            None,
        ),
        "verify",
    );
}
