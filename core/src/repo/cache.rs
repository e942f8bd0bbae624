//! The device's local cache of a repository: copies of its index and snapshot objects (sealed,
//! exactly as stored) and the device id used in lock objects.
//!
//! The daily backup reads what the repository holds from here instead of downloading every
//! index object. The cache is only an accelerator: each run lists the store, drops copies of
//! objects that are gone (a prune from another device), fetches the ones it lacks, and a copy
//! that fails authentication is fetched again. A lost cache is rebuilt from the store.
//!
//! Layout: `<cache dir>/<repository id hex>/{device-id, index/<hex>, snapshots/<hex>}`.

use std::{
    fs,
    path::{Path, PathBuf},
};

use super::BlobStore;
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

    /// Object `name`: the cached copy if `accept` takes it, else fetched from the store (and
    /// cached). Returns the bytes `accept` produced a value from.
    pub fn fetch<T>(
        cache: Option<&Cache>,
        store: &dyn BlobStore,
        name: &str,
        accept: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<(T, usize)> {
        if let Some(cache) = cache {
            if let Some(bytes) = cache.get(name) {
                if let Ok(value) = accept(&bytes) {
                    return Ok((value, bytes.len()));
                }
                cache.remove(name);
            }
        }
        let bytes = store.get(name, None)?;
        let value = accept(&bytes)?;
        if let Some(cache) = cache {
            cache.put(name, &bytes);
        }
        Ok((value, bytes.len()))
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
