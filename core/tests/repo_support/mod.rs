//! Shared helpers of the repository tests.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses a subset

use std::{path::Path, sync::Arc};

use keepsake_core::{
    archive::Export,
    backup::{self, BackupOptions, Control, RepoBackupSummary, RestoreOptions},
    keyring::Keyring,
    progress::{Phase, Reporter, Unit},
    repo::{BlobStore, ChunkerParams, MemStore, RepoOptions, Repository},
    store::{
        synthetic::{generate, SyntheticSpec},
        ChatStore,
    },
    Error, Result,
};

/// Small chunks and packs so that small stores give many objects.
pub fn small_options() -> RepoOptions {
    RepoOptions {
        chunker: ChunkerParams {
            min: 512,
            avg: 2048,
            max: 8192,
        },
        pack_target_bytes: 64 * 1024,
    }
}

/// A synthetic store at `path`.
pub fn populated(path: &Path, seed: u64, messages: u64) {
    let mut store = ChatStore::open(path).unwrap();
    generate(
        &mut store,
        &SyntheticSpec {
            seed,
            conversations: 6,
            messages,
        },
    )
    .unwrap();
    store.close().unwrap();
}

/// SHA-256 (hex) of the archive stream of a database: equal streams mean equal content.
pub fn dump(path: &Path) -> String {
    let store = ChatStore::open(path).unwrap();
    dump_store(&store)
}

/// [`dump`] of an open store.
pub fn dump_store(store: &ChatStore) -> String {
    let mut out = Vec::new();
    let mut reporter = Reporter::silent(Phase::Backup, Unit::Rows);
    Export::begin(store)
        .unwrap()
        .write_to(&mut out, &mut reporter)
        .unwrap();
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(&out))
}

/// Backs up `db` into `repo`.
pub fn backup(db: &Path, repo: &mut Repository, cache: Option<&Path>) -> Result<RepoBackupSummary> {
    let store = ChatStore::open(db)?;
    backup::backup_store_to_repo(
        &store,
        repo,
        cache,
        &BackupOptions::for_generation(0),
        &Control::default(),
    )
}

/// Restores the latest snapshot (or `id`) into a fresh file and returns its dump.
pub fn restore_dump(
    repo: &Repository,
    id: Option<&keepsake_core::repo::SnapshotId>,
) -> Result<String> {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("restored.db");
    backup::restore_from_repo(
        repo,
        id,
        &target,
        &RestoreOptions::default(),
        &Control::default(),
    )?;
    Ok(dump(&target))
}

/// Prunes with `policy` twice with no grace period, so that the packs the first run condemns
/// are deleted by the second (two-phase deletion, `repo::prune`); returns the first report.
pub fn prune_now(
    repo: &mut Repository,
    policy: &keepsake_core::repo::RetentionPolicy,
) -> Result<keepsake_core::repo::PruneReport> {
    let options = keepsake_core::repo::PruneOptions {
        grace: std::time::Duration::ZERO,
        ..Default::default()
    };
    let first = backup::prune_repo(repo, policy, &options, &Control::default())?;
    backup::prune_repo(repo, policy, &options, &Control::default())?;
    Ok(first)
}

/// A new repository in a new in-memory store.
/// A device keyring with one recovery-key slot: a repository needs a slot a new device can open.
pub fn device_keyring() -> Keyring {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("paper").unwrap();
    keyring
}

pub fn mem_repo(keyring: &Keyring) -> (Arc<MemStore>, Repository) {
    let mem = Arc::new(MemStore::new());
    let repo = Repository::init(mem.clone(), keyring, &small_options()).unwrap();
    (mem, repo)
}

/// Reopens a repository with the keyring (a second handle on the same store).
pub fn reopen(store: Arc<dyn BlobStore>, keyring: &Keyring) -> Result<Repository> {
    Repository::open(store, &backup::Secret::Keyring(keyring))
}

/// Whether `err` is one of the typed errors damage may cause.
pub fn is_damage(err: &Error) -> bool {
    matches!(
        err,
        Error::Corrupted { .. }
            | Error::Truncated { .. }
            | Error::UnsupportedVersion { .. }
            | Error::LimitExceeded { .. }
            | Error::ObjectMissing { .. }
            // A flipped keyring id or generation in the config reads as another keyring's or
            // another generation's: the device key cannot tell that from damage.
            | Error::WrongKey
            | Error::OtherGeneration { .. }
    )
}
