//! A fault-injecting blob store for tests (here, in the CLI and in the bindings' tests): wraps a
//! store and fails the k-th call, fails puts once a byte budget is spent, damages bytes read,
//! loses objects, or slows every call down. Not for production use.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use super::{
    object::{self, Kind},
    storage_error, BlobStore, ByteRange, ObjectInfo, Repository,
};
use crate::{Error, Result};

/// What to break. Calls are counted from 0 across all operations.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Fail this call (0-based) with [`Error::Storage`], without touching the inner store.
    pub fail_call: Option<u64>,
    /// Fail every call from this one on (a store that went away).
    pub fail_from_call: Option<u64>,
    /// Puts may write this many bytes in total; the put that would exceed it fails and stores
    /// nothing (an upload cut off mid-way, as an atomic store sees it).
    pub put_byte_budget: Option<u64>,
    /// Flip bit `bit` of byte `offset` (of the object, not of the range) whenever an object
    /// whose name starts with this prefix is read.
    pub damage: Option<(String, u64, u8)>,
    /// Objects that are gone: `get` is missing, `list` omits them, `stat` is None.
    pub lost: HashSet<String>,
    /// Sleep this long in every call.
    pub delay: Option<Duration>,
}

/// The wrapper.
pub struct FaultyStore {
    inner: Arc<dyn BlobStore>,
    calls: AtomicU64,
    put_bytes: AtomicU64,
    faults: Mutex<Faults>,
}

impl FaultyStore {
    /// Wraps `inner` with no faults.
    pub fn new(inner: Arc<dyn BlobStore>) -> FaultyStore {
        FaultyStore {
            inner,
            calls: AtomicU64::new(0),
            put_bytes: AtomicU64::new(0),
            faults: Mutex::new(Faults::default()),
        }
    }

    /// Replaces the faults and resets the call and byte counters.
    pub fn set_faults(&self, faults: Faults) {
        *self.lock() = faults;
        self.calls.store(0, Ordering::SeqCst);
        self.put_bytes.store(0, Ordering::SeqCst);
    }

    /// Calls made since the last [`set_faults`](Self::set_faults).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the call and fails it if planned.
    fn enter(&self, op: &str, name: &str) -> Result<Faults> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let faults = self.lock().clone();
        if let Some(delay) = faults.delay {
            std::thread::sleep(delay);
        }
        if faults.fail_call == Some(n) || faults.fail_from_call.is_some_and(|from| n >= from) {
            return Err(storage_error(
                op,
                name,
                format!("injected failure of call {n}"),
            ));
        }
        Ok(faults)
    }
}

impl BlobStore for FaultyStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        let faults = self.enter("put", name)?;
        if let Some(budget) = faults.put_byte_budget {
            let before = self
                .put_bytes
                .fetch_add(data.len() as u64, Ordering::SeqCst);
            if before + data.len() as u64 > budget {
                return Err(storage_error(
                    "put",
                    name,
                    "injected failure: upload cut off",
                ));
            }
        }
        self.inner.put(name, data)
    }

    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        let faults = self.enter("get", name)?;
        if faults.lost.contains(name) {
            return Err(Error::ObjectMissing {
                name: name.to_owned(),
            });
        }
        let mut data = self.inner.get(name, range)?;
        if let Some((prefix, offset, bit)) = &faults.damage {
            if name.starts_with(prefix.as_str()) {
                let start = range.map_or(0, |r| r.offset);
                if let Some(i) = offset.checked_sub(start) {
                    if let Some(byte) = data.get_mut(i as usize) {
                        *byte ^= 1 << (bit % 8);
                    }
                }
            }
        }
        Ok(data)
    }

    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        self.enter("create", name)?;
        self.inner.create(name, data)
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let faults = self.enter("list", prefix)?;
        Ok(self
            .inner
            .list(prefix)?
            .into_iter()
            .filter(|o| !faults.lost.contains(&o.name))
            .collect())
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.enter("delete", name)?;
        self.inner.delete(name)
    }

    fn put_batched(&self, name: &str, data: &[u8]) -> Result<()> {
        let faults = self.enter("put", name)?;
        if let Some(budget) = faults.put_byte_budget {
            let before = self
                .put_bytes
                .fetch_add(data.len() as u64, Ordering::SeqCst);
            if before + data.len() as u64 > budget {
                return Err(storage_error(
                    "put",
                    name,
                    "injected failure: upload cut off",
                ));
            }
        }
        self.inner.put_batched(name, data)
    }

    fn sync(&self) -> Result<()> {
        self.enter("sync", "")?;
        self.inner.sync()
    }

    fn stat(&self, name: &str) -> Result<Option<u64>> {
        let faults = self.enter("stat", name)?;
        if faults.lost.contains(name) {
            return Ok(None);
        }
        self.inner.stat(name)
    }
}

/// Seals `content` as object `name` of `kind` under `repo`'s current epoch: lets a test play a
/// holder of `repo`'s keys planting an object (an attacker who kept a revoked secret).
pub fn seal_as(repo: &Repository, kind: Kind, name: &str, content: &[u8]) -> Result<Vec<u8>> {
    object::seal(repo.keys().current(), kind, name, content)
}
