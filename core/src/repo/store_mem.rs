//! An in-memory blob store: for tests, benchmarks and apps that stage objects before upload.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard},
};

use super::store::{check_name, slice_range, storage_error, BlobStore, ByteRange, ObjectInfo};
use crate::{Error, Result};

/// Objects in a map behind a mutex; share it as `Arc<MemStore>`.
#[derive(Debug, Default)]
pub struct MemStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn objects(&self, op: &str, name: &str) -> Result<MutexGuard<'_, BTreeMap<String, Vec<u8>>>> {
        self.objects
            .lock()
            .map_err(|_| storage_error(op, name, "store lock poisoned"))
    }

    /// Total bytes of all objects (for tests and benchmarks).
    pub fn total_bytes(&self) -> u64 {
        self.objects
            .lock()
            .map(|objects| objects.values().map(|v| v.len() as u64).sum())
            .unwrap_or(0)
    }

    /// Number of objects (for tests and benchmarks).
    pub fn object_count(&self) -> usize {
        self.objects.lock().map(|o| o.len()).unwrap_or(0)
    }
}

impl BlobStore for MemStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        check_name(name)?;
        self.objects("put", name)?
            .insert(name.to_owned(), data.to_vec());
        Ok(())
    }

    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        let objects = self.objects("get", name)?;
        let data = objects.get(name).ok_or_else(|| Error::ObjectMissing {
            name: name.to_owned(),
        })?;
        Ok(slice_range(data, range))
    }

    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        check_name(name)?;
        let mut objects = self.objects("create", name)?;
        if objects.contains_key(name) {
            return Ok(false);
        }
        objects.insert(name.to_owned(), data.to_vec());
        Ok(true)
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        Ok(self
            .objects("list", prefix)?
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, data)| ObjectInfo {
                name: name.clone(),
                size: data.len() as u64,
            })
            .collect())
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.objects("delete", name)?.remove(name);
        Ok(())
    }

    fn stat(&self, name: &str) -> Result<Option<u64>> {
        Ok(self
            .objects("stat", name)?
            .get(name)
            .map(|data| data.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_list_stat_delete() {
        let store = MemStore::new();
        store.put("data/01", b"hello").unwrap();
        store.put("index/02", b"x").unwrap();
        assert_eq!(store.get("data/01", None).unwrap(), b"hello");
        assert_eq!(
            store.list("data/").unwrap(),
            vec![ObjectInfo {
                name: "data/01".to_owned(),
                size: 5
            }]
        );
        assert!(!store.create("data/01", b"other").unwrap());
        assert_eq!(store.get("data/01", None).unwrap(), b"hello");
        assert!(store.create("data/02", b"new").unwrap());
        assert_eq!(store.get("data/02", None).unwrap(), b"new");
        assert_eq!(store.stat("data/01").unwrap(), Some(5));
        assert_eq!(store.stat("data/09").unwrap(), None);
        store.delete("data/01").unwrap();
        store.delete("data/01").unwrap();
        assert!(matches!(
            store.get("data/01", None),
            Err(Error::ObjectMissing { name }) if name == "data/01"
        ));
        assert!(store.put("../x", b"").is_err());
    }
}
