//! The Keepsake side of `scripts/bench-repo.sh`: one subcommand per measured step, so that the
//! script can time each as its own process and read its peak RSS. The database and keyring
//! come from `bench_pipeline` (the same ones as `scripts/bench.sh`).
//!
//! ```text
//! bench_repo init REPO KEYRING              new repository in the directory REPO
//! bench_repo backup DB REPO KEYRING CACHE   back DB up as a new snapshot (local cache in CACHE)
//! bench_repo restore REPO DB KEYRING        restore the latest snapshot into the new file DB
//! bench_repo snapshots REPO KEYRING         print the number of snapshots
//! bench_repo day DB realistic|stress SEED   apply a day of change to DB
//! ```

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    crypto::RootKey,
    keyring::Keyring,
    repo::{BlobStore, DirStore, RepoOptions, Repository},
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        ChatStore,
    },
    Error, Result,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_repo: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let arg = |i: usize| -> Result<&str> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            Error::InvalidArgument(format!("missing argument {i}; see the doc comment"))
        })
    };
    let path = |i: usize| arg(i).map(Path::new);
    match arg(0)? {
        "init" => {
            let keyring = load_keyring(path(2)?)?;
            Repository::init(store(path(1)?)?, &keyring, &RepoOptions::default())?;
            Ok(())
        }
        "backup" => {
            let keyring = load_keyring(path(3)?)?;
            let mut repo = Repository::open(store(path(2)?)?, &Secret::Keyring(&keyring))?;
            let chats = ChatStore::open(path(1)?)?;
            let summary = backup::backup_store_to_repo(
                &chats,
                &mut repo,
                Some(path(4)?),
                &BackupOptions::default(),
                &Control::default(),
            )?;
            eprintln!(
                "snapshot {}: {} stream bytes, {} chunks ({} new), {} bytes in {} objects uploaded",
                summary.snapshot,
                summary.bytes_read,
                summary.chunks,
                summary.new_chunks,
                summary.bytes_uploaded,
                summary.objects_written
            );
            Ok(())
        }
        "restore" => {
            let keyring = load_keyring(path(3)?)?;
            let repo = Repository::open(store(path(1)?)?, &Secret::Keyring(&keyring))?;
            backup::restore_from_repo(
                &repo,
                None,
                path(2)?,
                &RestoreOptions::default(),
                &Control::default(),
            )?;
            Ok(())
        }
        "snapshots" => {
            let keyring = load_keyring(path(2)?)?;
            let repo = Repository::open(store(path(1)?)?, &Secret::Keyring(&keyring))?;
            println!("{}", repo.snapshots()?.len());
            Ok(())
        }
        "day" => {
            let kind = match arg(2)? {
                "realistic" => DayKind::Realistic,
                "stress" => DayKind::Stress,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown day {other}: realistic or stress"
                    )))
                }
            };
            let seed = arg(3)?
                .parse()
                .map_err(|_| Error::InvalidArgument("the seed is not a number".into()))?;
            let mut chats = ChatStore::open(path(1)?)?;
            let report = apply_day(&mut chats, &DayOfChange { seed, kind })?;
            chats.close()?;
            eprintln!("{kind:?} day {seed}: {report:?}");
            Ok(())
        }
        other => Err(Error::InvalidArgument(format!(
            "unknown subcommand {other}"
        ))),
    }
}

fn store(dir: &Path) -> Result<Arc<dyn BlobStore>> {
    Ok(Arc::new(DirStore::open(dir)?))
}

/// The keyring file of `bench_pipeline keyring`: the 32-byte root key, then the public part.
fn load_keyring(path: &Path) -> Result<Keyring> {
    let bytes = std::fs::read(path).map_err(|e| Error::io_at(PathBuf::from(path), e))?;
    let (root, public) = bytes
        .split_first_chunk::<32>()
        .ok_or_else(|| Error::InvalidArgument("keyring file too short".into()))?;
    Keyring::from_parts(RootKey::from_bytes(*root), public)
}
