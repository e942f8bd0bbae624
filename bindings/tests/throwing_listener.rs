//! A progress listener that throws (a Kotlin or Swift exception arrives as an error) or panics (a
//! Rust implementation): the operation goes on, the listener gets no more reports of it, the
//! failure is logged through the app's `Logger` and nothing panics (so nothing is printed on
//! stderr), and the store and keyring it observed stay usable.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc, Mutex,
};

use keepsake_ffi::{
    backup_to_path, install_logger, restore_from_path, BackupSecret, ChatStore, KeepsakeError,
    Keyring, LogLevel, Logger, ProgressListener, ProgressReport,
};

/// Fails on every report, as a listener with a bug does.
#[derive(Default)]
struct Throwing {
    calls: AtomicU32,
    panics: bool,
}

impl ProgressListener for Throwing {
    fn on_progress(&self, _report: ProgressReport) -> Result<(), KeepsakeError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.panics {
            panic!("a Rust listener's bug");
        }
        Err(KeepsakeError::Io {
            detail: "The app's callback failed: the view is gone (IllegalStateException).".into(),
        })
    }
}

/// The app's logger, keeping the warnings.
#[derive(Default)]
struct Warnings(Mutex<Vec<String>>);

impl Logger for Warnings {
    fn log(&self, level: LogLevel, _target: String, message: String) {
        if level == LogLevel::Warn {
            self.0.lock().unwrap().push(message);
        }
    }
}

#[test]
fn a_throwing_listener_is_dropped_and_logged_and_the_operation_goes_on() {
    let panics = Arc::new(AtomicU32::new(0));
    let counted = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let warnings = Arc::new(Warnings::default());
    install_logger(warnings.clone(), LogLevel::Warn).unwrap();

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
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a thrown error is no panic"
    );
    {
        let logged = warnings.0.lock().unwrap();
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(
            logged[0].contains("progress listener") && logged[0].contains("the view is gone"),
            "{logged:?}"
        );
    }

    // Both objects still work, with and without a listener; a panicking Rust listener is
    // dropped the same way.
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
    let panicking = Arc::new(Throwing {
        panics: true,
        ..Throwing::default()
    });
    let restored = restore_from_path(
        path("two.keepsake"),
        secret,
        path("restored.db"),
        false,
        Some(panicking.clone()),
        None,
    );
    assert!(restored.is_ok(), "the restore failed: {restored:?}");
    assert_eq!(panicking.calls.load(Ordering::Relaxed), 1);
    assert_eq!(warnings.0.lock().unwrap().len(), 2);
    keyring.public_bytes().unwrap();
}
