//! Counting of blob store calls and bytes: on a phone link every request costs a round trip
//! (a quarter to two thirds of a second on Google Drive), so how many an operation makes is a
//! figure to watch, like its bytes. The CLI reports them, the benchmark compares them with
//! restic's, and tests hold the engine to its budgets (`docs/STORES.md`).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use super::store::{BlobStore, ByteRange, ObjectInfo};
use crate::Result;

/// Calls and bytes seen by a [`CountingStore`], failed calls included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// `put` and `put_batched` calls.
    pub puts: u64,
    /// `get` calls (whole or ranged).
    pub gets: u64,
    /// `create` calls.
    pub creates: u64,
    /// `list` calls (one call however many pages the store reads).
    pub lists: u64,
    /// `delete` calls.
    pub deletes: u64,
    /// `stat` calls.
    pub stats: u64,
    /// Bytes handed to `put`, `put_batched` and `create`.
    pub bytes_up: u64,
    /// Bytes returned by `get`.
    pub bytes_down: u64,
}

impl RequestCounts {
    /// Every call.
    pub fn total(&self) -> u64 {
        self.puts + self.gets + self.creates + self.lists + self.deletes + self.stats
    }
}

#[derive(Default)]
struct Counters {
    puts: AtomicU64,
    gets: AtomicU64,
    creates: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
    stats: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

/// A store that counts the calls and bytes passing through to another.
pub struct CountingStore {
    inner: Arc<dyn BlobStore>,
    counters: Counters,
}

impl CountingStore {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn BlobStore>) -> CountingStore {
        CountingStore {
            inner,
            counters: Counters::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> RequestCounts {
        let c = &self.counters;
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        RequestCounts {
            puts: load(&c.puts),
            gets: load(&c.gets),
            creates: load(&c.creates),
            lists: load(&c.lists),
            deletes: load(&c.deletes),
            stats: load(&c.stats),
            bytes_up: load(&c.bytes_up),
            bytes_down: load(&c.bytes_down),
        }
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl BlobStore for CountingStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        bump(&self.counters.puts, 1);
        bump(&self.counters.bytes_up, data.len() as u64);
        self.inner.put(name, data)
    }

    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        bump(&self.counters.gets, 1);
        let data = self.inner.get(name, range)?;
        bump(&self.counters.bytes_down, data.len() as u64);
        Ok(data)
    }

    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        bump(&self.counters.creates, 1);
        bump(&self.counters.bytes_up, data.len() as u64);
        self.inner.create(name, data)
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        bump(&self.counters.lists, 1);
        self.inner.list(prefix)
    }

    fn delete(&self, name: &str) -> Result<()> {
        bump(&self.counters.deletes, 1);
        self.inner.delete(name)
    }

    fn stat(&self, name: &str) -> Result<Option<u64>> {
        bump(&self.counters.stats, 1);
        self.inner.stat(name)
    }

    fn put_batched(&self, name: &str, data: &[u8]) -> Result<()> {
        bump(&self.counters.puts, 1);
        bump(&self.counters.bytes_up, data.len() as u64);
        self.inner.put_batched(name, data)
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::MemStore;

    #[test]
    fn every_call_and_byte_is_counted() {
        let store = CountingStore::new(Arc::new(MemStore::new()));
        store.put("data/aa", b"12345").unwrap();
        store.put_batched("data/bb", b"123").unwrap();
        assert!(store.create("locks/aa", b"1").unwrap());
        store
            .get("data/aa", Some(ByteRange { offset: 1, len: 2 }))
            .unwrap();
        assert!(store.get("data/zz", None).is_err());
        store.list("data/").unwrap();
        store.stat("data/aa").unwrap();
        store.delete("data/aa").unwrap();
        let counts = store.counts();
        assert_eq!(
            counts,
            RequestCounts {
                puts: 2,
                gets: 2,
                creates: 1,
                lists: 1,
                deletes: 1,
                stats: 1,
                bytes_up: 9,
                bytes_down: 2,
            }
        );
        assert_eq!(counts.total(), 8);
    }
}
