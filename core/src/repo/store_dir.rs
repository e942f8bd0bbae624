//! A blob store in a local directory: one file per object, `/` in a name is a subdirectory.
//!
//! `put` writes `.<file name>.<16 hex>.tmp` beside the final file, fsyncs it, renames it over
//! the name and fsyncs the directory, so an object is visible whole or not at all, even across
//! a power cut. `put_batched` (packs) writes the temporary file and renames it at once without
//! waiting for the disk; `sync` then fsyncs every such file and their directories: one wait for
//! the disk per batch of packs instead of one per pack, and a run killed before its `sync`
//! leaves whole packs under their final names, which the next backup adopts (after a power cut
//! a pack not yet synced may be short, fails its trailer and is never adopted). Nothing names a
//! pack before a `sync` covered it. Leftover `.tmp` files of a killed writer are invisible to
//! `list` and are removed by [`DirStore::sweep_temporaries`].

use std::{
    collections::BTreeSet,
    fs::{self, File, OpenOptions},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use super::store::{check_name, storage_error_of, BlobStore, ByteRange, ObjectInfo};
use crate::{crypto::random_bytes, Error, Result, StorageErrorKind};

/// Suffix of a file being written.
const TEMP_SUFFIX: &str = ".tmp";

/// Objects as files under a root directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    /// Objects written by `put_batched` and not yet synced: (object name, final path).
    batched: Arc<Mutex<Vec<(String, PathBuf)>>>,
}

impl DirStore {
    /// A store rooted at `root`, created if missing.
    pub fn open(root: &Path) -> Result<DirStore> {
        fs::create_dir_all(root).map_err(|e| Error::io_at(root, e))?;
        Ok(DirStore {
            root: root.to_path_buf(),
            batched: Arc::default(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.root.join(name))
    }

    /// Writes `data` to a new temporary file beside object `name`'s path, fsynced when
    /// `durable`; returns the object's path and the temporary file.
    fn write_temp(&self, name: &str, data: &[u8], durable: bool) -> Result<(PathBuf, PathBuf)> {
        let path = self.path_of(name)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| io_failure("put", name, e))?;
        let tag: [u8; 8] = random_bytes()?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{file_name}.{}{TEMP_SUFFIX}", hex::encode(tag)));
        let written = (|| -> io::Result<()> {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(data)?;
            if durable {
                file.sync_all()?;
            }
            Ok(())
        })();
        if let Err(err) = written {
            let _ = fs::remove_file(&temp);
            return Err(io_failure("put", name, err));
        }
        Ok((path, temp))
    }

    fn batched(&self) -> std::sync::MutexGuard<'_, Vec<(String, PathBuf)>> {
        self.batched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes temporary files last written more than `older_than` ago: left by a writer
    /// killed mid-`put` or before its `sync` (a live writer syncs within seconds, so an hour
    /// is safe while another writer works in the same directory).
    pub fn sweep_temporaries(&self, older_than: std::time::Duration) -> Result<()> {
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).map_err(|e| Error::io_at(&dir, e))? {
                let entry = entry.map_err(|e| Error::io_at(&dir, e))?;
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.to_string_lossy().ends_with(TEMP_SUFFIX) {
                    let age = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok());
                    if age.is_some_and(|age| age >= older_than) {
                        let _ = fs::remove_file(&path);
                    }
                }
            }
        }
        Ok(())
    }
}

impl DirStore {
    /// Appends the objects of directory `dir_part` (`""` for the root) whose names start with
    /// `prefix`; temporary files and subdirectories are skipped.
    fn list_dir(&self, dir_part: &str, prefix: &str, out: &mut Vec<ObjectInfo>) -> Result<()> {
        let dir = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir_part)
        };
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(io_failure("list", prefix, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_failure("list", prefix, e))?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with('.') || file_name.ends_with(TEMP_SUFFIX) {
                continue;
            }
            let metadata = match entry.metadata() {
                Ok(metadata) if metadata.is_file() => metadata,
                Ok(_) => continue,
                // Deleted between the directory read and the stat.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io_failure("list", prefix, err)),
            };
            let name = if dir_part.is_empty() {
                file_name
            } else {
                format!("{dir_part}/{file_name}")
            };
            if name.starts_with(prefix) {
                out.push(ObjectInfo {
                    name,
                    size: metadata.len(),
                });
            }
        }
        Ok(())
    }
}

/// A file system failure as a store error: a full disk or a spent quota is the user's to fix
/// (not retried); anything else is a local failure of kind `Other`.
fn io_failure(op: &str, name: &str, err: io::Error) -> Error {
    let kind = match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            StorageErrorKind::QuotaExceeded
        }
        _ => StorageErrorKind::Other,
    };
    storage_error_of(kind, op, name, err)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for fsync on every platform; where they can, it makes the
    // rename durable.
    match File::open(dir) {
        Ok(handle) => handle.sync_all().or(Ok(())),
        Err(_) => Ok(()),
    }
}

impl BlobStore for DirStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        let (path, temp) = self.write_temp(name, data, true)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let renamed = fs::rename(&temp, &path).and_then(|()| sync_dir(&dir));
        if renamed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        renamed.map_err(|e| io_failure("put", name, e))
    }

    fn put_batched(&self, name: &str, data: &[u8]) -> Result<()> {
        let (path, temp) = self.write_temp(name, data, false)?;
        if let Err(err) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(io_failure("put", name, err));
        }
        self.batched().push((name.to_owned(), path));
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let batch = std::mem::take(&mut *self.batched());
        let mut dirs = BTreeSet::new();
        for (name, path) in &batch {
            let synced = File::open(path).and_then(|file| file.sync_all());
            if let Err(err) = synced {
                return Err(io_failure("put", name, err));
            }
            dirs.insert(path.parent().unwrap_or(&self.root).to_path_buf());
        }
        for dir in dirs {
            sync_dir(&dir).map_err(|e| io_failure("put", &dir.display().to_string(), e))?;
        }
        Ok(())
    }

    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        let path = self.path_of(name)?;
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(Error::ObjectMissing {
                    name: name.to_owned(),
                })
            }
            Err(err) => return Err(io_failure("get", name, err)),
        };
        let read = (|| -> io::Result<Vec<u8>> {
            let mut out = Vec::new();
            match range {
                None => {
                    file.read_to_end(&mut out)?;
                }
                Some(ByteRange { offset, len }) => {
                    let size = file.metadata()?.len();
                    let len = len.min(size.saturating_sub(offset));
                    file.seek(SeekFrom::Start(offset.min(size)))?;
                    out.reserve(usize::try_from(len).unwrap_or(0));
                    file.take(len).read_to_end(&mut out)?;
                }
            }
            Ok(out)
        })();
        read.map_err(|e| io_failure("get", name, e))
    }

    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        let (path, temp) = self.write_temp(name, data, true)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        // A hard link never replaces its target: the name is taken whole or not at all.
        let linked = match fs::hard_link(&temp, &path) {
            Ok(()) => sync_dir(&dir).map(|()| true),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(err),
        };
        let _ = fs::remove_file(&temp);
        linked.map_err(|e| io_failure("create", name, e))
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        // Names are `dir/file` at most one level deep: a prefix with a `/` names one directory;
        // one without may match files at the root and in any directory.
        let dirs: Vec<String> = match prefix.rsplit_once('/') {
            Some((dir, _)) => vec![dir.to_owned()],
            None => {
                let mut dirs = vec![String::new()];
                let entries = match fs::read_dir(&self.root) {
                    Ok(entries) => entries,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(err) => return Err(io_failure("list", prefix, err)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| io_failure("list", prefix, e))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                    if is_dir && !name.starts_with('.') && format!("{name}/").starts_with(prefix) {
                        dirs.push(name);
                    }
                }
                dirs
            }
        };
        let mut objects = Vec::new();
        for dir_part in dirs {
            self.list_dir(&dir_part, prefix, &mut objects)?;
        }
        Ok(objects)
    }

    fn delete(&self, name: &str) -> Result<()> {
        let path = self.path_of(name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io_failure("delete", name, err)),
        }
    }

    fn stat(&self, name: &str) -> Result<Option<u64>> {
        let path = self.path_of(name)?;
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_failure("stat", name, err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_puts_are_whole_objects_at_once_and_durable_at_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        store.put_batched("data/aa01", b"pack one").unwrap();
        store.put_batched("data/aa02", b"pack two").unwrap();
        // Visible under their names at once, so a run killed before its sync leaves them for
        // the next run to adopt.
        let mut data = store.list_names("data/").unwrap();
        data.sort();
        assert_eq!(data, ["data/aa01", "data/aa02"]);
        assert_eq!(store.get("data/aa02", None).unwrap(), b"pack two");
        store.sync().unwrap();
        store.sync().unwrap();
        assert_eq!(fs::read_dir(dir.path().join("data")).unwrap().count(), 2);

        // A writer killed mid-write leaves a temporary file, which nothing lists.
        fs::write(dir.path().join("data/.aa03.0011223344556677.tmp"), b"half").unwrap();
        let reopened = DirStore::open(dir.path()).unwrap();
        reopened
            .sweep_temporaries(std::time::Duration::from_secs(3600))
            .unwrap();
        assert_eq!(fs::read_dir(dir.path().join("data")).unwrap().count(), 3);
        reopened
            .sweep_temporaries(std::time::Duration::ZERO)
            .unwrap();
        assert_eq!(reopened.list("data/").unwrap().len(), 2);
        let leftovers = fs::read_dir(dir.path().join("data")).unwrap().count();
        assert_eq!(leftovers, 2);
    }

    #[test]
    fn objects_round_trip_and_list_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        store.put("config", b"c").unwrap();
        store.put("data/aa01", b"pack one").unwrap();
        store.put("data/aa02", b"pack two").unwrap();
        store.put("data/aa01", b"replaced").unwrap();
        let mut data = store.list("data/").unwrap();
        data.sort_by(|a, b| a.name.cmp(&b.name));
        let object = |name: &str, size| ObjectInfo {
            name: name.to_owned(),
            size,
        };
        assert_eq!(data, [object("data/aa01", 8), object("data/aa02", 8)]);
        assert_eq!(store.list_names("data/aa02").unwrap(), ["data/aa02"]);
        let mut everything = store.list("").unwrap();
        everything.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            everything,
            [
                object("config", 1),
                object("data/aa01", 8),
                object("data/aa02", 8)
            ]
        );
        assert_eq!(store.list("d").unwrap().len(), 2);
        assert!(store.list("snapshots/").unwrap().is_empty());
        assert_eq!(store.get("data/aa01", None).unwrap(), b"replaced");
        let range = |offset, len| Some(ByteRange { offset, len });
        assert_eq!(store.get("data/aa01", range(2, 3)).unwrap(), b"pla");
        assert_eq!(store.get("data/aa01", range(6, 100)).unwrap(), b"ed");
        assert_eq!(store.get("data/aa01", range(60, 1)).unwrap(), b"");
        assert_eq!(store.stat("data/aa02").unwrap(), Some(8));
        store.delete("data/aa02").unwrap();
        store.delete("data/aa02").unwrap();
        assert_eq!(store.stat("data/aa02").unwrap(), None);
        assert!(matches!(
            store.get("data/aa02", None),
            Err(Error::ObjectMissing { .. })
        ));
    }

    #[test]
    fn temporaries_are_invisible_and_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        store.put("data/aa01", b"x").unwrap();
        fs::write(dir.path().join("data/.aa02.0011223344556677.tmp"), b"half").unwrap();
        assert_eq!(store.list_names("data/").unwrap(), ["data/aa01"]);
        store.sweep_temporaries(std::time::Duration::ZERO).unwrap();
        assert_eq!(fs::read_dir(dir.path().join("data")).unwrap().count(), 1);
    }

    #[test]
    fn create_never_replaces_an_object_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        assert!(store.create("locks/aa01", b"first").unwrap());
        assert!(!store.create("locks/aa01", b"second").unwrap());
        assert_eq!(store.get("locks/aa01", None).unwrap(), b"first");
        assert_eq!(fs::read_dir(dir.path().join("locks")).unwrap().count(), 1);
        // Many creators of one name at once: exactly one wins.
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let store = store.clone();
                    scope.spawn(move || store.create("locks/bb02", &[i]).unwrap())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(winners, 1);
    }

    #[test]
    fn a_put_into_an_unwritable_place_is_a_storage_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        fs::write(
            dir.path().join("data"),
            b"a file where a directory should be",
        )
        .unwrap();
        assert!(matches!(
            store.put("data/aa01", b"x"),
            Err(Error::Storage { op, .. }) if op == "put"
        ));
    }
}
