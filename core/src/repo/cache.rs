//! The device's local cache of a repository: copies of its index and snapshot objects (sealed,
//! exactly as stored), the device id used in lock objects, the newest snapshot this device
//! knows (to notice a store that rolled back) and when each pack was last verified (the
//! backup's rolling verification).
//!
//! The daily backup reads what the repository holds from here instead of downloading every
//! index object. The cache is only an accelerator: each run lists the store, drops copies of
//! objects that are gone (a prune from another device), uses a copy only while the store's
//! object has the copy's size, and fetches again a copy that fails authentication. A lost
//! cache is rebuilt from the store.
//!
//! Layout: `<cache dir>/<repository id hex>/{device-id, latest, verified, index/<hex>,
//! snapshots/<hex>}`.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use super::{inventory::Inventory, BlobStore, INDEX_PREFIX, SNAPSHOT_PREFIX};
use crate::{crypto::random_bytes, Result};

/// A repository's cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache of repository `repo_id` under `root` (created if missing). A cache that cannot
    /// be created is an error: the caller asked for one.
    pub fn open(root: &Path, repo_id: &[u8; 16]) -> Result<Cache> {
        let dir = root.join(hex::encode(repo_id));
        for sub in ["index", "snapshots"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|e| crate::Error::io_at(&path, e))?;
        }
        Ok(Cache { dir })
    }

    /// This device's id for lock objects: random, made once and kept in the cache.
    pub fn device_id(&self) -> Result<[u8; 16]> {
        let path = self.dir.join("device-id");
        if let Ok(text) = fs::read_to_string(&path) {
            let mut id = [0u8; 16];
            if hex::decode_to_slice(text.trim(), &mut id).is_ok() {
                return Ok(id);
            }
        }
        let id: [u8; 16] = random_bytes()?;
        self.write(&path, hex::encode(id).as_bytes());
        Ok(id)
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The cached copy of object `name`, if any.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        fs::read(self.path_of(name)).ok()
    }

    /// Keeps a copy of object `name`. Best effort: a full disk only makes the next run slower.
    pub fn put(&self, name: &str, bytes: &[u8]) {
        self.write(&self.path_of(name), bytes);
    }

    /// Drops the copy of `name`.
    pub fn remove(&self, name: &str) {
        let _ = fs::remove_file(self.path_of(name));
    }

    /// Drops copies under `prefix` (`index/`, `snapshots/`) whose object is not in `present`.
    pub fn retain(&self, prefix: &str, present: &[String]) {
        let dir = self.dir.join(prefix.trim_end_matches('/'));
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if !present.contains(&name) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Drops copies of index and snapshot objects the store no longer lists.
    pub fn retain_listed(&self, inventory: &Inventory) {
        let indexes: Vec<String> = inventory.indexes.keys().cloned().collect();
        let snapshots: Vec<String> = inventory.snapshots.keys().cloned().collect();
        self.retain(INDEX_PREFIX, &indexes);
        self.retain(SNAPSHOT_PREFIX, &snapshots);
    }

    /// Object `name`: the cached copy if it has the `listed` size (when known) and `accept`
    /// takes it, else fetched from the store (and cached). Returns the value and the size of
    /// the bytes it came from.
    pub fn fetch<T>(
        cache: Option<&Cache>,
        store: &dyn BlobStore,
        name: &str,
        listed: Option<u64>,
        accept: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<(T, usize)> {
        if let Some(cache) = cache {
            if let Some(bytes) = cache.get(name) {
                let same_size = listed.is_none_or(|size| size == bytes.len() as u64);
                match accept(&bytes) {
                    Ok(value) if same_size => return Ok((value, bytes.len())),
                    // The store's copy decides; an intact copy here is kept until the store's
                    // proves good, so that it can heal a damaged one (`restore_to`).
                    Ok(_) => {}
                    Err(_) => cache.remove(name),
                }
            }
        }
        let bytes = store.get(name, None)?;
        let value = accept(&bytes)?;
        if let Some(cache) = cache {
            cache.put(name, &bytes);
        }
        Ok((value, bytes.len()))
    }

    /// Puts this device's copy of object `name` back into the store, if it has one that
    /// `accept` takes: heals an index or snapshot object the store damaged (the copy is the
    /// object as sealed, its name bound into its authentication). Returns whether it did.
    pub fn restore_to<T>(
        &self,
        store: &dyn BlobStore,
        name: &str,
        accept: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<bool> {
        match self.get(name) {
            Some(bytes) if accept(&bytes).is_ok() => {
                store.put(name, &bytes)?;
                log::warn!("{name} was damaged in the store and is restored from this device");
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The newest snapshot this device wrote or saw: id and sequence.
    pub fn known_latest(&self) -> Option<([u8; 16], u64)> {
        let text = fs::read_to_string(self.dir.join("latest")).ok()?;
        let (id_hex, sequence) = text.trim().split_once(' ')?;
        let mut id = [0u8; 16];
        hex::decode_to_slice(id_hex, &mut id).ok()?;
        Some((id, sequence.parse().ok()?))
    }

    /// Remembers snapshot `id` of `sequence` as the newest this device knows.
    pub fn set_known_latest(&self, id: &[u8; 16], sequence: u64) {
        let text = format!("{} {sequence}\n", hex::encode(id));
        self.write(&self.dir.join("latest"), text.as_bytes());
    }

    /// When each pack was last verified whole, unix seconds.
    pub fn verified(&self) -> HashMap<String, u64> {
        let Ok(text) = fs::read_to_string(self.dir.join("verified")) else {
            return HashMap::new();
        };
        text.lines()
            .filter_map(|line| {
                let (name, time) = line.split_once(' ')?;
                Some((name.to_owned(), time.parse().ok()?))
            })
            .collect()
    }

    /// Replaces the verification times.
    pub fn set_verified(&self, verified: &HashMap<String, u64>) {
        let mut lines: Vec<String> = verified
            .iter()
            .map(|(name, time)| format!("{name} {time}"))
            .collect();
        lines.sort();
        self.write(&self.dir.join("verified"), lines.join("\n").as_bytes());
    }

    /// How long (seconds, by this device's clock) lock `name` has been seen unchanged: its
    /// `nonce` and `refreshed` as they are now. A lock seen for the first time, or changed
    /// since, starts at 0. Lets a device judge staleness without trusting the holder's clock.
    pub fn lock_seen_for(&self, name: &str, nonce: [u8; 16], refreshed: u64, now: u64) -> u64 {
        let path = self.dir.join("locks-seen");
        let key = format!("{name} {} {refreshed}", hex::encode(nonce));
        let text = fs::read_to_string(&path).unwrap_or_default();
        let first_seen = text.lines().find_map(|line| {
            let (seen_key, time) = line.rsplit_once(' ')?;
            (seen_key == key)
                .then(|| time.parse::<u64>().ok())
                .flatten()
        });
        match first_seen {
            Some(time) => now.saturating_sub(time),
            None => {
                // Keep one line per lock name: the latest state seen.
                let mut lines: Vec<&str> = text
                    .lines()
                    .filter(|line| !line.starts_with(&format!("{name} ")))
                    .collect();
                let line = format!("{key} {now}");
                lines.push(&line);
                self.write(&path, lines.join("\n").as_bytes());
                0
            }
        }
    }

    fn write(&self, path: &Path, bytes: &[u8]) {
        // Written to a temporary name and renamed, so a killed run never leaves half a copy
        // (a half copy would fail authentication and be refetched anyway).
        let temp = path.with_extension("part");
        if fs::write(&temp, bytes).is_ok() && fs::rename(&temp, path).is_err() {
            let _ = fs::remove_file(&temp);
        }
    }
}
