//! The blob store: the only way the repository touches storage.
//!
//! Six calls, so that an app can implement it over any cloud SDK (Google Drive, iCloud, its own
//! server) through the FFI. Names are opaque ASCII chosen by the engine (`config`, `data/<hex>`,
//! `index/<hex>`, `snapshots/<hex>`, `locks/<hex>`; see `docs/REPOSITORY.md`). The store is
//! untrusted: the engine authenticates every byte it reads, so a store that loses, damages or
//! replays objects causes a typed error, never a wrong restore.
//!
//! Streaming reads are [`BlobReader`], an adapter over ranged [`BlobStore::get`].

use std::io::{self, Read};

use crate::{error::StorageErrorKind, Error, Result};

/// A byte range of an object: `len` bytes starting at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
}

/// An object as a listing names it: the store reports each object's size with its name, so
/// one list call tells the repository which objects are there and whether any changed size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectInfo {
    /// The object's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Storage of named, immutable-in-practice objects.
pub trait BlobStore: Send + Sync {
    /// Stores `data` as object `name`, atomically (visible whole or not at all); replaces an
    /// existing object.
    fn put(&self, name: &str, data: &[u8]) -> Result<()>;
    /// Reads object `name`: the whole object when `range` is None, else `range.len` bytes at
    /// `range.offset` (fewer only at the object's end). A missing object is
    /// [`Error::ObjectMissing`].
    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>>;
    /// Stores `data` as object `name` only if no object of that name exists, atomically
    /// with that check where the store can (S3's and WebDAV's `If-None-Match: *`, a local
    /// file system's exclusive link): returns `false`, storing nothing, when the name is taken.
    /// The repository uses it for lock objects, and re-checks with a listing, so a store
    /// that can only check first and then put still works for one device at a time.
    fn create(&self, name: &str, data: &[u8]) -> Result<bool>;
    /// Every object whose name starts with `prefix`, with its size, in any order.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>>;
    /// Deletes object `name`; deleting a missing object is not an error.
    fn delete(&self, name: &str) -> Result<()>;
    /// The object's size in bytes, or None when it does not exist.
    fn stat(&self, name: &str) -> Result<Option<u64>>;

    /// Stores `data` as object `name` like [`put`](Self::put), except that the object need
    /// only become visible (and durable) by the next [`sync`](Self::sync): a store that pays
    /// for durability per object (a local disk's fsync) may batch it. Packs are written this
    /// way; nothing refers to them until an index is written after a `sync`.
    fn put_batched(&self, name: &str, data: &[u8]) -> Result<()> {
        self.put(name, data)
    }

    /// Makes every object of earlier [`put_batched`](Self::put_batched) calls visible and
    /// durable.
    fn sync(&self) -> Result<()> {
        Ok(())
    }

    /// The names of [`list`](Self::list), for callers that need no sizes.
    fn list_names(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.list(prefix)?.into_iter().map(|o| o.name).collect())
    }
}

/// A failed store call as [`Error::Storage`] of kind [`StorageErrorKind::Other`] (not retried).
pub fn storage_error(op: &str, name: &str, message: impl std::fmt::Display) -> Error {
    storage_error_of(StorageErrorKind::Other, op, name, message)
}

/// A failed store call as [`Error::Storage`] of the given kind.
pub fn storage_error_of(
    kind: StorageErrorKind,
    op: &str,
    name: &str,
    message: impl std::fmt::Display,
) -> Error {
    Error::Storage {
        op: op.to_owned(),
        name: name.to_owned(),
        message: message.to_string(),
        kind,
    }
}

/// Reads an object front to back in ranged gets of [`BlobReader::CHUNK`] bytes, so a large
/// object never has to be held whole.
pub struct BlobReader<'s> {
    store: &'s dyn BlobStore,
    name: String,
    offset: u64,
    buffer: Vec<u8>,
    position: usize,
    ended: bool,
}

impl<'s> BlobReader<'s> {
    /// Bytes fetched per `get`.
    pub const CHUNK: u64 = 1024 * 1024;

    /// A reader of object `name`, starting at its first byte.
    pub fn new(store: &'s dyn BlobStore, name: &str) -> Self {
        BlobReader {
            store,
            name: name.to_owned(),
            offset: 0,
            buffer: Vec::new(),
            position: 0,
            ended: false,
        }
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.position == self.buffer.len() {
            if self.ended || out.is_empty() {
                return Ok(0);
            }
            let range = ByteRange {
                offset: self.offset,
                len: Self::CHUNK,
            };
            self.buffer = self
                .store
                .get(&self.name, Some(range))
                .map_err(Error::into_io)?;
            self.position = 0;
            self.offset += self.buffer.len() as u64;
            if (self.buffer.len() as u64) < Self::CHUNK {
                self.ended = true;
            }
        }
        let available = self.buffer.get(self.position..).unwrap_or_default();
        let n = available.len().min(out.len());
        out.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(available.get(..n).unwrap_or_default());
        self.position += n;
        Ok(n)
    }
}

/// Checks that `name` is a name the engine could have made: 1..=128 bytes of `[a-z0-9/._-]`,
/// no `..`, not starting with `/`. Stores use it to refuse names that would escape their root.
pub fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('/')
        && !name.contains("..")
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'/' | b'.' | b'_' | b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{name:?} is not a repository object name"
        )))
    }
}

/// Slices `data` by `range` as a store's `get` must.
pub fn slice_range(data: &[u8], range: Option<ByteRange>) -> Vec<u8> {
    match range {
        None => data.to_vec(),
        Some(ByteRange { offset, len }) => {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let end = start
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                .min(data.len());
            data.get(start..end).unwrap_or_default().to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::MemStore;

    #[test]
    fn blob_reader_streams_a_large_object_in_ranges() {
        let store = MemStore::new();
        let data: Vec<u8> = (0..(BlobReader::CHUNK as usize * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        store.put("data/ab", &data).unwrap();
        let mut read = Vec::new();
        BlobReader::new(&store, "data/ab")
            .read_to_end(&mut read)
            .unwrap();
        assert_eq!(read, data);
        let mut missing = Vec::new();
        let err = BlobReader::new(&store, "data/cd")
            .read_to_end(&mut missing)
            .unwrap_err();
        assert!(matches!(Error::from(err), Error::ObjectMissing { .. }));
    }

    #[test]
    fn names_that_could_escape_a_directory_are_refused() {
        for bad in ["", "/etc", "data/../x", "Data/x", "a b", &"a".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["config", "data/0a1b", "locks/ff.tmp", "snapshots/x-y_z"] {
            check_name(good).unwrap();
        }
    }

    #[test]
    fn ranges_are_clamped_to_the_object() {
        let data = b"0123456789";
        let r = |offset, len| slice_range(data, Some(ByteRange { offset, len }));
        assert_eq!(r(2, 3), b"234");
        assert_eq!(r(8, 10), b"89");
        assert_eq!(r(20, 1), b"");
        assert_eq!(slice_range(data, None), data);
    }
}
