//! What the healing checks cost a daily backup (issue 19): store requests by kind and wall time
//! of the same realistic day backed up with the default verification budget, with none, and
//! without a cache, in one process, so the ratios compare like with like.
//!
//! ```text
//! cargo run --release -p keepsake-core --example heal_cost -- [MESSAGES]   (default 200000)
//! ```
//!
//! Prints `heal_*` name=value lines: requests per kind (`list`, `get`, `put`, `create`,
//! `delete`), bytes read, and seconds for each variant, and the time ratio to the variant
//! without verification. The store is a local directory (so the time is CPU and disk; over a
//! network every request also costs a round trip: see `docs/REPOSITORY.md` §9.2).

use std::{
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control, Secret},
    keyring::Keyring,
    repo::{
        writer::DEFAULT_VERIFY_BYTES, BlobStore, ByteRange, DirStore, ObjectInfo, RepoOptions,
        Repository,
    },
    store::{
        synthetic::{apply_day, generate, DayKind, DayOfChange, SyntheticSpec},
        ChatStore,
    },
    Result,
};

/// A store that counts its calls and the bytes it returns.
struct Counting {
    inner: DirStore,
    counts: [AtomicU64; 5],
    bytes_read: AtomicU64,
}

const KINDS: [&str; 5] = ["list", "get", "put", "create", "delete"];

impl Counting {
    fn count(&self, kind: usize) {
        self.counts[kind].fetch_add(1, Ordering::SeqCst);
    }

    fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::SeqCst);
        }
        self.bytes_read.store(0, Ordering::SeqCst);
    }
}

impl BlobStore for Counting {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        self.count(2);
        self.inner.put(name, data)
    }
    fn put_batched(&self, name: &str, data: &[u8]) -> Result<()> {
        self.count(2);
        self.inner.put_batched(name, data)
    }
    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        self.count(3);
        self.inner.create(name, data)
    }
    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        self.count(1);
        let bytes = self.inner.get(name, range)?;
        self.bytes_read
            .fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok(bytes)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.count(0);
        self.inner.list(prefix)
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.count(4);
        self.inner.delete(name)
    }
    fn stat(&self, name: &str) -> Result<Option<u64>> {
        self.inner.stat(name)
    }
}

fn main() -> Result<()> {
    let messages: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("chat.db");
    let mut chat = ChatStore::open(&db)?;
    generate(
        &mut chat,
        &SyntheticSpec {
            seed: 42,
            conversations: 50,
            messages,
        },
    )?;
    chat.close()?;
    let mut keyring = Keyring::create()?;
    keyring.add_recovery_key("paper")?;
    let store = Arc::new(Counting {
        inner: DirStore::open(&dir.path().join("repo"))?,
        counts: Default::default(),
        bytes_read: AtomicU64::new(0),
    });
    Repository::init(store.clone(), &keyring, &RepoOptions::default())?;
    let cache = dir.path().join("cache");
    let baseline = dir.path().join("baseline");
    // The repository and cache after the first backup, copied back before each variant so
    // that every variant backs up the same day into the same repository.
    backup_once(store.clone(), &keyring, &db, Some(&cache), 0)?;
    std::fs::copy(&db, &baseline)?;
    copy_dir(&dir.path().join("repo"), &dir.path().join("repo-baseline"))?;
    copy_dir(&cache, &dir.path().join("cache-baseline"))?;
    let variants: [(&str, u64, bool); 3] = [
        ("no_verification", 0, true),
        ("default", DEFAULT_VERIFY_BYTES, true),
        ("no_cache", DEFAULT_VERIFY_BYTES, false),
    ];
    let mut seconds = Vec::new();
    for (name, verify_bytes, with_cache) in &variants {
        std::fs::copy(&baseline, &db)?;
        let _ = std::fs::remove_file(db.with_extension("db-wal"));
        copy_dir(&dir.path().join("repo-baseline"), &dir.path().join("repo"))?;
        copy_dir(&dir.path().join("cache-baseline"), &cache)?;
        let mut chat = ChatStore::open(&db)?;
        apply_day(
            &mut chat,
            &DayOfChange {
                kind: DayKind::Realistic,
                seed: 7,
            },
        )?;
        chat.close()?;
        store.reset();
        let started = Instant::now();
        let cache_dir = with_cache.then_some(cache.as_path());
        let summary = backup_once(store.clone(), &keyring, &db, cache_dir, *verify_bytes)?;
        let elapsed = started.elapsed().as_secs_f64();
        seconds.push(elapsed);
        for (kind, counter) in KINDS.iter().zip(&store.counts) {
            println!("heal_{name}_{kind}={}", counter.load(Ordering::SeqCst));
        }
        println!(
            "heal_{name}_bytes_read={}",
            store.bytes_read.load(Ordering::SeqCst)
        );
        println!(
            "heal_{name}_packs_verified={}",
            summary.healing.packs_verified
        );
        println!("heal_{name}_bytes_uploaded={}", summary.bytes_uploaded);
        println!("heal_{name}_seconds={elapsed:.3}");
        println!(
            "heal_{name}_time_ratio_vs_no_verification={:.2}",
            elapsed / seconds[0]
        );
    }
    Ok(())
}

/// Replaces `to` with a copy of the directory tree `from`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let io = |e| keepsake_core::Error::io_at(to, e);
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(io)?;
    }
    std::fs::create_dir_all(to).map_err(io)?;
    for entry in std::fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(io)?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(io)?;
        }
    }
    Ok(())
}

fn backup_once(
    store: Arc<Counting>,
    keyring: &Keyring,
    db: &Path,
    cache: Option<&Path>,
    verify_bytes: u64,
) -> Result<backup::RepoBackupSummary> {
    let mut repo = Repository::open(store, &Secret::Keyring(keyring))?;
    let chat = ChatStore::open(db)?;
    backup::backup_store_to_repo(
        &chat,
        &mut repo,
        cache,
        &BackupOptions {
            verify_bytes,
            ..BackupOptions::for_generation(keyring.generation())
        },
        &Control::default(),
    )
}
