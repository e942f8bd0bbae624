//! A foreign progress listener that throws (a Kotlin or Swift exception reaches Rust as a panic,
//! since `on_progress` returns nothing) must not leave the store or keyring it observed unusable.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};

use keepsake_ffi::{
    backup_to_path, restore_from_path, BackupSecret, ChatStore, Keyring, ProgressListener,
    ProgressReport,
};

/// Throws on every report, like a listener with a bug.
#[derive(Default)]
struct Throwing {
    calls: AtomicU32,
}

impl ProgressListener for Throwing {
    fn on_progress(&self, _report: ProgressReport) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        panic!("Callback interface failure: listener threw");
    }
}

#[test]
fn a_throwing_listener_leaves_store_and_keyring_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let store = ChatStore::open(path("chat.db")).unwrap();
    let keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper".into()).unwrap();
    let listener = Arc::new(Throwing::default());

    let first = backup_to_path(
        store.clone(),
        keyring.clone(),
        path("one.keepsake"),
        None,
        Some(listener.clone()),
        None,
    );
    assert!(first.is_ok(), "the backup failed: {first:?}");
    assert_eq!(
        listener.calls.load(Ordering::Relaxed),
        1,
        "a listener that threw is called no more in that operation"
    );

    // Both objects still work, with and without a listener.
    store.counts().unwrap();
    keyring.slots().unwrap();
    backup_to_path(
        store.clone(),
        keyring.clone(),
        path("two.keepsake"),
        None,
        None,
        None,
    )
    .unwrap();

    let secret = BackupSecret::device_keyring(keyring.clone()).unwrap();
    let restored = restore_from_path(
        path("two.keepsake"),
        secret,
        path("restored.db"),
        false,
        Some(Arc::new(Throwing::default())),
        None,
    );
    assert!(restored.is_ok(), "the restore failed: {restored:?}");
    keyring.public_bytes().unwrap();
}
