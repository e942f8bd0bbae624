//! Runs one repository operation in its own process, so its peak RSS and time can be measured
//! (`/usr/bin/time -v`), in release mode:
//!
//! ```sh
//! cargo run --release -p keepsake-core --example repo_run -- backup  <chat.db> <repo dir> <root key file>
//! cargo run --release -p keepsake-core --example repo_run -- restore <repo dir> <target.db> <root key file>
//! ```
//!
//! The root key file holds 32 bytes (made on first use). The repository is created on the first
//! backup. Prints the operation's summary and its peak RSS.

use std::{path::Path, sync::Arc, time::Instant};

use keepsake_core::{
    backup::{
        backup_store_to_repo, restore_from_repo, BackupOptions, Control, RestoreOptions, Secret,
    },
    crypto::{random_bytes, RootKey},
    keyring::{Keyring, KeyringId, FIRST_GENERATION},
    repo::{BlobStore, DirStore, RepoOptions, Repository},
    store::ChatStore,
    Error, Result,
};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn root_key(path: &Path) -> Result<RootKey> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(RootKey::from_bytes(key));
        }
    }
    let key: [u8; 32] = random_bytes()?;
    std::fs::write(path, key).map_err(|e| Error::io_at(path, e))?;
    Ok(RootKey::from_bytes(key))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [op, from, to, key] = args.as_slice() else {
        return Err(Error::InvalidArgument(
            "usage: repo_run backup|restore <from> <to> <root key file>".into(),
        ));
    };
    if op == "generate" {
        // repo_run generate <db> <messages> <seed>
        let mut store = ChatStore::open(Path::new(from))?;
        let messages: u64 = to.parse().unwrap_or(1_000_000);
        keepsake_core::store::synthetic::generate(
            &mut store,
            &keepsake_core::store::synthetic::SyntheticSpec {
                seed: key.parse().unwrap_or(1),
                conversations: 500,
                messages,
            },
        )?;
        return store.close();
    }
    let root = root_key(Path::new(key))?;
    let started = Instant::now();
    match op.as_str() {
        "backup" => {
            let store: Arc<dyn BlobStore> = Arc::new(DirStore::open(Path::new(to))?);
            let mut repo = if store.stat("config")?.is_some() {
                Repository::open(store, &Secret::RootKey(&root))?
            } else {
                let mut keyring = Keyring::from_unlocked(
                    root,
                    KeyringId::from_bytes(random_bytes()?),
                    random_bytes()?,
                    FIRST_GENERATION,
                    Vec::new(),
                )?;
                // A repository needs a slot a new device could open; the benchmark never uses it.
                keyring.add_recovery_key("benchmark")?;
                Repository::init(store, &keyring, &RepoOptions::default())?
            };
            let chat = ChatStore::open(Path::new(from))?;
            let summary = backup_store_to_repo(
                &chat,
                &mut repo,
                None,
                &BackupOptions::default(),
                &Control::default(),
            )?;
            println!("{summary:?}");
        }
        _ => {
            let store: Arc<dyn BlobStore> = Arc::new(DirStore::open(Path::new(from))?);
            let repo = Repository::open(store, &Secret::RootKey(&root))?;
            let report = restore_from_repo(
                &repo,
                None,
                Path::new(to),
                &RestoreOptions { replace: true },
                &Control::default(),
            )?;
            println!("{report:?}");
        }
    }
    println!(
        "{op}: {:.2} s wall, peak RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    Ok(())
}
