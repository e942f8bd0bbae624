//! Repository (issue 10): backup and restore round trips through the directory and in-memory
//! stores, incremental backups that upload little, opening from a new device with the recovery
//! key, key rotation.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;

use std::{path::Path, sync::Arc};

use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    keyring::Keyring,
    repo::{BlobStore, DirStore, MemStore, RepoOptions, Repository},
    store::{
        synthetic::{generate, SyntheticSpec},
        ChatStore, RecordCounts,
    },
    Error,
};
use repo_support::device_keyring;

fn populated(path: &Path, messages: u64) -> RecordCounts {
    let mut store = ChatStore::open(path).unwrap();
    generate(
        &mut store,
        &SyntheticSpec {
            seed: 11,
            conversations: 8,
            messages,
        },
    )
    .unwrap();
    let counts = store.counts().unwrap();
    store.close().unwrap();
    counts
}

fn dump(path: &Path) -> Vec<u8> {
    // The archive export of a database is a canonical dump of its content.
    let store = ChatStore::open(path).unwrap();
    let mut out = Vec::new();
    let mut reporter = keepsake_core::progress::Reporter::silent(
        keepsake_core::progress::Phase::Backup,
        keepsake_core::progress::Unit::Rows,
    );
    keepsake_core::archive::Export::begin(&store)
        .unwrap()
        .write_to(&mut out, &mut reporter)
        .unwrap();
    out
}

#[test]
fn round_trip_through_a_directory_store_opened_from_a_new_device() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let counts = populated(&source, 2_000);
    let mut keyring = Keyring::create().unwrap();
    let (_, recovery) = keyring.add_recovery_key("test").unwrap();
    let store: Arc<dyn BlobStore> = Arc::new(DirStore::open(&dir.path().join("repo")).unwrap());
    let mut repo = Repository::init(store.clone(), &keyring, &RepoOptions::default()).unwrap();
    let chat = ChatStore::open(&source).unwrap();
    let summary = backup::backup_store_to_repo(
        &chat,
        &mut repo,
        Some(&dir.path().join("cache")),
        &BackupOptions::for_generation(0),
        &Control::default(),
    )
    .unwrap();
    assert_eq!(summary.counts, counts);
    assert!(summary.new_chunks > 0);

    // A new device: only the store and the recovery key.
    let opened = Repository::open(store, &Secret::RecoveryKey(&recovery)).unwrap();
    let snapshots = opened.snapshots().unwrap();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].counts, counts);
    let target = dir.path().join("restored.db");
    let report = backup::restore_from_repo(
        &opened,
        None,
        &target,
        &RestoreOptions::default(),
        &Control::default(),
    )
    .unwrap();
    assert_eq!(report.counts, Some(counts));
    assert_eq!(dump(&target), dump(&source));
}

#[test]
fn a_second_backup_of_an_unchanged_store_uploads_almost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    populated(&source, 3_000);
    let keyring = device_keyring();
    let mem = Arc::new(MemStore::new());
    let mut repo = Repository::init(mem.clone(), &keyring, &RepoOptions::default()).unwrap();
    let chat = ChatStore::open(&source).unwrap();
    let first = backup::backup_store_to_repo(
        &chat,
        &mut repo,
        None,
        &BackupOptions::for_generation(0),
        &Control::default(),
    )
    .unwrap();
    let second = backup::backup_store_to_repo(
        &chat,
        &mut repo,
        None,
        &BackupOptions::for_generation(0),
        &Control::default(),
    )
    .unwrap();
    assert_eq!(second.new_chunks, 0);
    assert!(
        second.bytes_uploaded < first.bytes_uploaded / 20,
        "{second:?} vs {first:?}"
    );
    assert!(matches!(
        Repository::open(mem, &Secret::Keyring(&device_keyring())),
        Err(Error::WrongKey)
    ));
}

/// A store that counts how many puts and gets run at once, slowly enough to overlap.
#[derive(Default)]
struct Concurrency {
    inner: MemStore,
    now: std::sync::atomic::AtomicUsize,
    most_puts: std::sync::atomic::AtomicUsize,
    most_gets: std::sync::atomic::AtomicUsize,
}

impl Concurrency {
    fn during<T>(&self, most: &std::sync::atomic::AtomicUsize, call: impl FnOnce() -> T) -> T {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        most.fetch_max(now, SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let out = call();
        self.now.fetch_sub(1, SeqCst);
        out
    }
}

impl BlobStore for Concurrency {
    fn put(&self, name: &str, data: &[u8]) -> keepsake_core::Result<()> {
        self.during(&self.most_puts, || self.inner.put(name, data))
    }
    fn create(&self, name: &str, data: &[u8]) -> keepsake_core::Result<bool> {
        self.inner.create(name, data)
    }
    fn get(
        &self,
        name: &str,
        range: Option<keepsake_core::repo::ByteRange>,
    ) -> keepsake_core::Result<Vec<u8>> {
        self.during(&self.most_gets, || self.inner.get(name, range))
    }
    fn list(&self, prefix: &str) -> keepsake_core::Result<Vec<keepsake_core::repo::ObjectInfo>> {
        self.inner.list(prefix)
    }
    fn delete(&self, name: &str) -> keepsake_core::Result<()> {
        self.inner.delete(name)
    }
    fn stat(&self, name: &str) -> keepsake_core::Result<Option<u64>> {
        self.inner.stat(name)
    }
}

#[test]
fn uploads_and_restore_reads_run_side_by_side_up_to_the_connections() {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 6_000);
    for connections in [1, 4] {
        let store = Arc::new(Concurrency::default());
        let keyring = device_keyring();
        let options = RepoOptions {
            pack_target_bytes: 64 * 1024,
            ..RepoOptions::default()
        };
        let mut repo = Repository::init(store.clone(), &keyring, &options).unwrap();
        repo.set_connections(connections).unwrap();
        let chat = ChatStore::open(&db).unwrap();
        backup::backup_store_to_repo(
            &chat,
            &mut repo,
            None,
            &BackupOptions::for_generation(keyring.generation()),
            &Control::default(),
        )
        .unwrap();
        let target = dir.path().join(format!("restored-{connections}.db"));
        backup::restore_from_repo(
            &repo,
            None,
            &target,
            &RestoreOptions::default(),
            &Control::default(),
        )
        .unwrap();
        assert_eq!(dump(&target), dump(&db));
        let (puts, gets) = (store.most_puts.load(SeqCst), store.most_gets.load(SeqCst));
        if connections == 1 {
            assert_eq!((puts, gets), (1, 1), "one call at a time");
        } else {
            // (That uploads do overlap is `repo::packer`'s unit test: here the export may be
            // slower than the uploads.)
            assert!(puts <= connections, "{puts} puts at once");
            assert!(gets > 1 && gets <= connections + 1, "{gets} gets at once");
        }
    }
}
