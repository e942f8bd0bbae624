//! The device keyring as a secret: its own backups open, another keyring's backup is `WrongKey`
//! (the app asks for another key), a damaged one `Corrupted`, one made before a rotation
//! `WrongKey` naming the generation.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use keepsake_ffi::{
    backup_to_path, restore_from_path, verify_backup, BackupSecret, ChatStore, KeepsakeError,
    Keyring,
};

#[test]
fn another_keyrings_backup_is_wrong_key_and_a_damaged_one_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let store = ChatStore::open(path("chat.db")).unwrap();
    let mine = Keyring::create().unwrap();
    let theirs = Keyring::create().unwrap();
    for keyring in [&mine, &theirs] {
        keyring.add_recovery_key("paper".into()).unwrap();
    }
    backup_to_path(
        store.clone(),
        mine.clone(),
        path("mine.keepsake"),
        None,
        None,
        None,
    )
    .unwrap();
    backup_to_path(store, theirs, path("theirs.keepsake"), None, None, None).unwrap();
    let secret = BackupSecret::device_keyring(mine.clone()).unwrap();

    verify_backup(path("mine.keepsake"), secret.clone(), None, None).unwrap();
    let other = verify_backup(path("theirs.keepsake"), secret.clone(), None, None);
    assert!(
        matches!(other, Err(KeepsakeError::WrongKey { .. })),
        "{other:?}"
    );
    let restored = restore_from_path(
        path("theirs.keepsake"),
        secret.clone(),
        path("restored.db"),
        false,
        None,
        None,
    );
    assert!(
        matches!(restored, Err(KeepsakeError::WrongKey { .. })),
        "{restored:?}"
    );

    // One flipped bit in the file salt (offset 22..54): same keyring id, so `Corrupted`.
    let mut bytes = std::fs::read(path("mine.keepsake")).unwrap();
    bytes[30] ^= 0x01;
    std::fs::write(path("damaged.keepsake"), &bytes).unwrap();
    let damaged = verify_backup(path("damaged.keepsake"), secret, None, None);
    assert!(
        matches!(damaged, Err(KeepsakeError::Corrupted { .. })),
        "{damaged:?}"
    );
}

#[test]
fn after_a_rotation_the_device_keyring_names_the_generation_of_an_older_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let store = ChatStore::open(path("chat.db")).unwrap();
    let keyring = Keyring::create().unwrap();
    let recovery = keyring.add_recovery_key("paper".into()).unwrap();
    backup_to_path(
        store,
        keyring.clone(),
        path("old.keepsake"),
        None,
        None,
        None,
    )
    .unwrap();
    keyring.rotate_root_key().unwrap();

    let device = BackupSecret::device_keyring(keyring).unwrap();
    match verify_backup(path("old.keepsake"), device, None, None) {
        Err(KeepsakeError::WrongKey { detail }) => {
            assert!(detail.contains("generation"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    // A slot's secret still opens it.
    let secret = BackupSecret::recovery_key(recovery.recovery_key.reveal()).unwrap();
    verify_backup(path("old.keepsake"), secret, None, None).unwrap();
}
