//! The last step of a restore, and the files a backup or restore creates on the way: who may
//! read them (owner only) and whether `replace = false` holds at the moment of the rename.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::{
    fs,
    path::{Path, PathBuf},
    sync::Mutex,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    keyring::Keyring,
    progress::{Phase, Progress},
    store::{
        synthetic::{generate, SyntheticSpec},
        ChatStore,
    },
    Error,
};

/// A keyring and a chat-archive backup of a small synthetic store.
struct Fixture {
    dir: tempfile::TempDir,
    keyring: Keyring,
    chat_backup: PathBuf,
    snapshot_backup: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let mut store = ChatStore::open(&source).unwrap();
    let spec = SyntheticSpec {
        seed: 3,
        conversations: 4,
        messages: 2_000,
    };
    generate(&mut store, &spec).unwrap();
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper").unwrap();
    let chat_backup = dir.path().join("chat.keepsake");
    backup::backup_store_to_path(
        &store,
        &keyring,
        &chat_backup,
        &BackupOptions::for_generation(0),
        &Control::default(),
    )
    .unwrap();
    store.close().unwrap();
    let snapshot_backup = dir.path().join("snapshot.keepsake");
    backup::backup_sqlite_file_to_path(
        &source,
        &keyring,
        &snapshot_backup,
        &BackupOptions::for_generation(0),
        &Control::default(),
    )
    .unwrap();
    Fixture {
        dir,
        keyring,
        chat_backup,
        snapshot_backup,
    }
}

fn restore(fx: &Fixture, backup: &Path, target: &Path, control: &Control<'_>) -> Result<(), Error> {
    backup::restore_path(
        backup,
        &Secret::Keyring(&fx.keyring),
        target,
        &RestoreOptions::default(),
        control,
    )
    .map(|_| ())
}

fn temp_leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("keepsake-tmp"))
        .collect()
}

#[cfg(unix)]
mod modes {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// Permission bits of every temporary file in `dir`, with its name.
    fn temp_modes(dir: &Path) -> Vec<(String, u32)> {
        temp_leftovers(dir)
            .into_iter()
            .filter_map(|name| {
                let meta = fs::metadata(dir.join(&name)).ok()?;
                Some((name, meta.permissions().mode() & 0o777))
            })
            .collect()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Restores `backup` while recording the modes of the temporary files seen during it.
    fn restore_watching_temps(fx: &Fixture, backup: &Path) -> (u32, Vec<(String, u32)>) {
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("restored.db");
        let seen = Mutex::new(Vec::new());
        let watch = |_: Progress| seen.lock().unwrap().extend(temp_modes(out.path()));
        let control = Control {
            progress: Some(&watch),
            cancel: None,
        };
        restore(fx, backup, &target, &control).unwrap();
        (mode(&target), seen.into_inner().unwrap())
    }

    #[test]
    fn restored_databases_and_their_temporary_files_are_owner_only() {
        let fx = fixture();
        for backup in [&fx.chat_backup, &fx.snapshot_backup] {
            let (target_mode, temps) = restore_watching_temps(&fx, backup);
            assert_eq!(target_mode, 0o600, "{}", backup.display());
            assert!(!temps.is_empty(), "no temporary file was observed");
            for (name, temp_mode) in temps {
                assert_eq!(temp_mode, 0o600, "{name} during {}", backup.display());
            }
        }
    }

    #[test]
    fn snapshot_copies_and_backup_temporaries_are_owner_only() {
        let fx = fixture();
        let source = fx.dir.path().join("source.db");
        let out = tempfile::tempdir().unwrap();
        let seen = Mutex::new(Vec::new());
        let watch = |_: Progress| {
            let mut seen = seen.lock().unwrap();
            seen.extend(temp_modes(fx.dir.path()));
            seen.extend(temp_modes(out.path()));
        };
        let control = Control {
            progress: Some(&watch),
            cancel: None,
        };
        let written = out.path().join("snap.keepsake");
        backup::backup_sqlite_file_to_path(
            &source,
            &fx.keyring,
            &written,
            &BackupOptions::for_generation(0),
            &control,
        )
        .unwrap();
        let seen = seen.into_inner().unwrap();
        assert!(
            seen.iter().any(|(name, _)| name.starts_with(".source.db.")),
            "the snapshot copy was not observed: {seen:?}"
        );
        assert!(
            seen.iter()
                .any(|(name, _)| name.starts_with(".snap.keepsake.")),
            "the backup's temporary file was not observed: {seen:?}"
        );
        for (name, temp_mode) in seen {
            assert_eq!(temp_mode, 0o600, "{name}");
        }
        assert_eq!(mode(&written), 0o600);
    }
}

/// Creates `target` with `content` the first time the restore reaches its check phase, as an
/// app (or a second restore) could while the first restore runs.
fn create_target_during_check<'a>(
    target: &'a Path,
    content: &'a [u8],
) -> impl Fn(Progress) + Send + Sync + 'a {
    let done = Mutex::new(false);
    move |p: Progress| {
        let mut done = done.lock().unwrap();
        if p.phase == Phase::Check && !*done {
            *done = true;
            fs::write(target, content).unwrap();
        }
    }
}

#[test]
fn a_target_created_during_the_restore_is_never_overwritten() {
    let fx = fixture();
    for backup in [&fx.chat_backup, &fx.snapshot_backup] {
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("app.db");
        let sink = create_target_during_check(&target, b"the app's own new database");
        let control = Control {
            progress: Some(&sink),
            cancel: None,
        };
        let result = restore(&fx, backup, &target, &control);
        assert!(
            matches!(result, Err(Error::TargetExists { ref path }) if path == &target),
            "{}: {result:?}",
            backup.display()
        );
        assert_eq!(fs::read(&target).unwrap(), b"the app's own new database");
        assert!(temp_leftovers(out.path()).is_empty());
    }
}

#[test]
fn an_empty_placeholder_target_is_still_replaced_without_replace() {
    let fx = fixture();
    for backup in [&fx.chat_backup, &fx.snapshot_backup] {
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("app.db");
        fs::write(&target, b"").unwrap();
        restore(&fx, backup, &target, &Control::default()).unwrap();
        assert!(fs::metadata(&target).unwrap().len() > 0);
        assert!(temp_leftovers(out.path()).is_empty());
    }
}
