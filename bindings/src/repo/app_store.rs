//! A test double of an app's blob store (tests only): a map, as a Kotlin or Swift app would
//! write one, that counts the bytes it receives and can be switched offline, made to fail, to
//! ignore byte ranges or to misreport sizes, and keeps the last lock object a writer created
//! (put back, it is a live lock of this process).

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Mutex,
    },
};

use super::{blob_store::ObjectInfo, BlobStore, BlobStoreError, ByteRange};

#[derive(Default)]
pub(super) struct AppStore {
    pub(super) objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Bytes received by `put`.
    pub(super) uploaded: AtomicI64,
    /// Every call fails with "no network" while set.
    pub(super) offline: AtomicBool,
    /// Every call fails with this detail while set.
    pub(super) fail: Mutex<Option<String>>,
    /// `get` answers whole objects, ignoring the range.
    pub(super) oversize: Mutex<bool>,
    /// The size `stat` answers instead of the real one.
    pub(super) size: Mutex<Option<i64>>,
    /// The last object created under `locks/`, with its name.
    pub(super) last_lock: Mutex<Option<(String, Vec<u8>)>>,
    /// The next calls fail with these errors, one each, before the store answers again.
    pub(super) next_failures: Mutex<Vec<BlobStoreError>>,
}

impl AppStore {
    fn check(&self) -> Result<(), BlobStoreError> {
        if let Some(err) = self.next_failures.lock().unwrap().pop() {
            return Err(err);
        }
        if self.offline.load(Ordering::SeqCst) {
            return Err(BlobStoreError::Failed {
                detail: "no network".into(),
            });
        }
        match self.fail.lock().unwrap().clone() {
            Some(detail) => Err(BlobStoreError::Failed { detail }),
            None => Ok(()),
        }
    }
}

impl BlobStore for AppStore {
    fn put(&self, name: String, data: Vec<u8>) -> Result<(), BlobStoreError> {
        self.check()?;
        self.uploaded
            .fetch_add(i64::try_from(data.len()).unwrap(), Ordering::SeqCst);
        self.objects.lock().unwrap().insert(name, data);
        Ok(())
    }
    fn get(&self, name: String, range: Option<ByteRange>) -> Result<Vec<u8>, BlobStoreError> {
        self.check()?;
        let objects = self.objects.lock().unwrap();
        let data = objects
            .get(&name)
            .ok_or(BlobStoreError::NotFound { name: name.clone() })?;
        if *self.oversize.lock().unwrap() {
            return Ok(data.clone());
        }
        Ok(match range {
            None => data.clone(),
            Some(ByteRange { offset, len }) => data
                .iter()
                .skip(usize::try_from(offset).unwrap())
                .take(usize::try_from(len).unwrap())
                .copied()
                .collect(),
        })
    }
    fn create(&self, name: String, data: Vec<u8>) -> Result<bool, BlobStoreError> {
        self.check()?;
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(&name) {
            return Ok(false);
        }
        if name.starts_with("locks/") {
            *self.last_lock.lock().unwrap() = Some((name.clone(), data.clone()));
        }
        objects.insert(name, data);
        Ok(true)
    }
    fn list(&self, prefix: String) -> Result<Vec<ObjectInfo>, BlobStoreError> {
        self.check()?;
        let objects = self.objects.lock().unwrap();
        Ok(objects
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(name, data)| ObjectInfo {
                name: name.clone(),
                size: i64::try_from(data.len()).unwrap(),
            })
            .collect())
    }
    fn delete(&self, name: String) -> Result<(), BlobStoreError> {
        self.check()?;
        self.objects.lock().unwrap().remove(&name);
        Ok(())
    }
    fn stat(&self, name: String) -> Result<Option<i64>, BlobStoreError> {
        self.check()?;
        if let Some(size) = *self.size.lock().unwrap() {
            return Ok(Some(size));
        }
        let objects = self.objects.lock().unwrap();
        Ok(objects.get(&name).map(|d| i64::try_from(d.len()).unwrap()))
    }
}
