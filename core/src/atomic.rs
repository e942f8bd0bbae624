//! Atomic file output: everything is written to a temporary file beside the target, which is
//! fsynced and renamed over the target only when complete, and the directory is fsynced so the
//! rename survives a power cut. A [`TempPath`] guard deletes the temporary file (and the journal
//! files SQLite may have put beside it) on drop unless it was committed, so errors, cancellation
//! and panics leave nothing behind.
//!
//! Temporary files are created readable and writable by their owner only (0600): they hold a
//! restored chat database or a backup, and the final rename keeps that mode.
//!
//! A `kill -9` cannot run the guard; its leftovers carry a recognisable name
//! (`.<target name>.<random>.keepsake-tmp`) and [`sweep_leftovers`] removes them before the next
//! write to the same target.

use std::{
    collections::BTreeSet,
    ffi::OsString,
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use crate::{Error, Result};

/// Suffix of every temporary file this module creates.
const TEMP_SUFFIX: &str = ".keepsake-tmp";

/// Files SQLite may create beside a database (rollback journal, WAL, shared memory).
pub(crate) const SQLITE_SIDE_SUFFIXES: [&str; 3] = ["-journal", "-wal", "-shm"];

/// Temporary files this process is writing now. A sweep of leftovers spares them: a media
/// restore and a fetch on demand may write the same target at once, each to its own file.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A reserved, uniquely named temporary path beside a target; deleted on drop unless committed.
#[derive(Debug)]
pub(crate) struct TempPath {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl TempPath {
    /// Reserve a new temporary file beside `target` (created exclusively, empty) and return the
    /// guard together with the open file.
    pub(crate) fn reserve(target: &Path) -> Result<(TempPath, File)> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .ok_or_else(|| Error::InvalidArgument(format!("{} names no file", target.display())))?;
        loop {
            let random: [u8; 8] = random_tag()?;
            let mut temp_name = OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}{TEMP_SUFFIX}", hex_lower(&random)));
            let temp = dir.join(temp_name);
            // Registered before it exists, so no sweep can see it unregistered.
            live().insert(temp.clone());
            match owner_only(OpenOptions::new().write(true).read(true).create_new(true)).open(&temp)
            {
                Ok(file) => {
                    let guard = TempPath {
                        target: target.to_path_buf(),
                        temp,
                        committed: false,
                    };
                    return Ok((guard, file));
                }
                Err(err) => {
                    live().remove(&temp);
                    if err.kind() == io::ErrorKind::AlreadyExists {
                        continue;
                    }
                    return Err(Error::io_at(temp, err));
                }
            }
        }
    }

    /// A unique temporary name beside `target` whose file the caller creates (exclusively, for
    /// example with SQLite); the guard deletes whatever is there on drop unless committed.
    pub(crate) fn unique_name(target: &Path) -> Result<TempPath> {
        let (guard, file) = TempPath::reserve(target)?;
        drop(file);
        fs::remove_file(guard.path()).map_err(|e| Error::io_at(guard.path(), e))?;
        Ok(guard)
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    pub(crate) fn target(&self) -> &Path {
        &self.target
    }

    /// fsync the temporary file, rename it over the target and fsync the directory.
    /// The file must be closed by its writers (for SQLite: the connection dropped).
    pub(crate) fn commit(self) -> Result<()> {
        self.commit_with(|temp, target| fs::rename(temp, target))
    }

    /// As [`commit`](TempPath::commit), but fails with [`Error::TargetExists`] when `target`
    /// exists at the moment of the rename, which is atomic with that check: a target created
    /// while the temporary file was being written is never overwritten.
    pub(crate) fn commit_no_replace(self) -> Result<()> {
        let target = self.target.clone();
        self.commit_with(rename_no_replace)
            .map_err(|err| match err {
                Error::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists => {
                    Error::TargetExists { path: target }
                }
                other => other,
            })
    }

    fn commit_with(mut self, rename: impl FnOnce(&Path, &Path) -> io::Result<()>) -> Result<()> {
        let file = File::open(&self.temp).map_err(|e| Error::io_at(&self.temp, e))?;
        file.sync_all().map_err(|e| Error::io_at(&self.temp, e))?;
        drop(file);
        rename(&self.temp, &self.target).map_err(|e| Error::io_at(&self.target, e))?;
        self.committed = true;
        // The temp name is gone now; its SQLite side files (if a connection left any) are stale.
        remove_side_files(&self.temp);
        sync_dir(parent_dir(&self.target))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        live().remove(&self.temp);
        if !self.committed {
            // Best effort: a failure here must not hide the error that caused the drop.
            let _ = fs::remove_file(&self.temp);
            remove_side_files(&self.temp);
        }
    }
}

/// A file written atomically: `Write` into it, then [`commit`](AtomicFile::commit).
/// Dropped without commit, it leaves nothing.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    guard: TempPath,
}

impl AtomicFile {
    /// Start writing `target`; leftovers of earlier killed writes to it are removed first.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        sweep_leftovers(target)?;
        let (guard, file) = TempPath::reserve(target)?;
        Ok(AtomicFile { file, guard })
    }

    /// The temporary path being written (for tests and diagnostics).
    pub fn temp_path(&self) -> &Path {
        self.guard.path()
    }

    /// Flush, fsync, rename into place and fsync the directory.
    pub fn commit(mut self) -> Result<()> {
        self.file
            .flush()
            .map_err(|e| Error::io_at(self.guard.path(), e))?;
        self.file
            .sync_all()
            .map_err(|e| Error::io_at(self.guard.path(), e))?;
        let AtomicFile { file, guard } = self;
        drop(file);
        guard.commit()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// `options` creating the file readable and writable by its owner only (0600 on Unix).
pub(crate) fn owner_only(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600)
    }
    #[cfg(not(unix))]
    {
        options
    }
}

/// Renames `from` to `to` only if `to` does not exist, atomically: `renameat2(RENAME_NOREPLACE)`
/// on Linux, `renameatx_np(RENAME_EXCL)` on Apple platforms. Elsewhere (Android, whose seccomp
/// filter may kill a process calling `renameat2`), and on file systems without that flag, a hard
/// link (which never replaces) followed by unlinking `from`. An existing `to` is
/// [`io::ErrorKind::AlreadyExists`].
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_vendor = "apple"))]
    {
        use rustix::{
            fs::{renameat_with, RenameFlags, CWD},
            io::Errno,
        };
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // The file system (or an old kernel) does not know the flag: link instead.
            Err(errno)
                if [Errno::INVAL, Errno::NOSYS, Errno::NOTSUP, Errno::OPNOTSUPP]
                    .contains(&errno) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    link_then_unlink(from, to)
}

/// `link(from, to)` then `unlink(from)`: `link` fails when `to` exists, so nothing is replaced.
/// A file system without hard links (FAT, some FUSE mounts) gets a check then a plain rename,
/// the best it allows.
fn link_then_unlink(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => {
            // `to` is in place; a leftover `from` is only a stale temporary name, swept later.
            let _ = fs::remove_file(from);
            Ok(())
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(err),
        Err(_) => match fs::symlink_metadata(to) {
            Ok(_) => Err(io::ErrorKind::AlreadyExists.into()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => fs::rename(from, to),
            Err(err) => Err(err),
        },
    }
}

/// Remove temporary files left beside `target` by a process that was killed mid-write
/// (their names are `.<target name>.<16 hex>.keepsake-tmp`, plus SQLite side files).
/// Concurrent writes to the same target are not supported, so every such file is stale.
pub(crate) fn sweep_leftovers(target: &Path) -> Result<()> {
    let dir = parent_dir(target);
    let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
        return Ok(());
    };
    let prefix = format!(".{name}.");
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(Error::io_at(dir, err)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io_at(dir, e))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        // Checked and removed under the registry's lock: a writer registers before creating.
        let live = live();
        if is_our_temp_name(file_name, &prefix) && !live.contains(&entry.path()) {
            match fs::remove_file(entry.path()) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io_at(entry.path(), err)),
            }
        }
    }
    Ok(())
}

/// `.<name>.<16 hex>.keepsake-tmp` optionally followed by an SQLite side-file suffix.
fn is_our_temp_name(file_name: &str, prefix: &str) -> bool {
    let Some(rest) = file_name.strip_prefix(prefix) else {
        return false;
    };
    let Some((tag, tail)) = rest.split_at_checked(16) else {
        return false;
    };
    if !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let Some(side) = tail.strip_prefix(TEMP_SUFFIX) else {
        return false;
    };
    side.is_empty() || SQLITE_SIDE_SUFFIXES.contains(&side)
}

/// Remove `<path>-journal`, `<path>-wal` and `<path>-shm` if present (best effort).
pub(crate) fn remove_side_files(path: &Path) {
    for suffix in SQLITE_SIDE_SUFFIXES {
        let _ = fs::remove_file(with_suffix(path, suffix));
    }
}

/// `path` with `suffix` appended to its last component (`db` -> `db-wal`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// fsync a directory so that a rename in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(|e| Error::io_at(dir, e))?;
    handle.sync_all().map_err(|e| Error::io_at(dir, e))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn random_tag() -> Result<[u8; 8]> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|_| Error::Randomness)?;
    Ok(tag)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::testing::{dir_names, FailingWriter};

    #[test]
    fn commit_moves_complete_content_into_place_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"hello").unwrap();
        assert!(!target.exists(), "nothing visible before commit");
        file.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert_eq!(dir_names(dir.path()), vec!["out.bin".to_string()]);
    }

    #[test]
    fn commit_replaces_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        fs::write(&target, b"old").unwrap();
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn dropping_without_commit_leaves_nothing_and_keeps_the_old_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        fs::write(&target, b"old").unwrap();
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"partial").unwrap();
        assert!(file.temp_path().exists());
        drop(file);
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(dir_names(dir.path()), vec!["out.bin".to_string()]);
    }

    #[test]
    fn a_panic_while_writing_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let result = std::panic::catch_unwind(|| {
            let mut file = AtomicFile::create(&target).unwrap();
            file.write_all(b"partial").unwrap();
            panic!("simulated crash");
        });
        assert!(result.is_err());
        assert!(dir_names(dir.path()).is_empty());
    }

    #[test]
    fn disk_full_mid_copy_is_a_clean_io_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let result = (|| -> Result<()> {
            let file = AtomicFile::create(&target)?;
            let mut sink = FailingWriter::new(file, 1000);
            let data = vec![7u8; 10_000];
            sink.write_all(&data)?;
            sink.into_inner().commit()
        })();
        match result {
            Err(Error::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::StorageFull)
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(dir_names(dir.path()).is_empty());
    }

    #[test]
    fn leftovers_of_a_killed_writer_are_swept_but_other_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("chat.db");
        let stale = dir.path().join(".chat.db.0123456789abcdef.keepsake-tmp");
        let stale_wal = dir
            .path()
            .join(".chat.db.0123456789abcdef.keepsake-tmp-wal");
        let unrelated = dir.path().join(".chat.db.notours.keepsake-tmp");
        let other = dir.path().join(".other.db.0123456789abcdef.keepsake-tmp");
        for path in [&stale, &stale_wal, &unrelated, &other] {
            fs::write(path, b"x").unwrap();
        }
        sweep_leftovers(&target).unwrap();
        assert!(!stale.exists());
        assert!(!stale_wal.exists());
        assert!(unrelated.exists());
        assert!(other.exists());
    }

    #[test]
    fn commit_no_replace_keeps_a_target_that_appeared_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let (guard, mut file) = TempPath::reserve(&target).unwrap();
        file.write_all(b"restored").unwrap();
        drop(file);
        fs::write(&target, b"theirs").unwrap();
        let result = guard.commit_no_replace();
        assert!(matches!(result, Err(Error::TargetExists { ref path }) if path == &target));
        assert_eq!(fs::read(&target).unwrap(), b"theirs");
        assert_eq!(dir_names(dir.path()), vec!["out.bin".to_string()]);

        let (guard, mut file) = TempPath::reserve(&target).unwrap();
        file.write_all(b"restored").unwrap();
        drop(file);
        fs::remove_file(&target).unwrap();
        guard.commit_no_replace().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"restored");
        assert_eq!(dir_names(dir.path()), vec!["out.bin".to_string()]);
    }

    #[test]
    fn the_link_fallback_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        fs::write(&from, b"new").unwrap();
        fs::write(&to, b"old").unwrap();
        let err = link_then_unlink(&from, &to).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&to).unwrap(), b"old");
        assert_eq!(fs::read(&from).unwrap(), b"new");
        fs::remove_file(&to).unwrap();
        link_then_unlink(&from, &to).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"new");
        assert!(!from.exists());
    }

    #[test]
    fn temp_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x");
        let (a, _fa) = TempPath::reserve(&target).unwrap();
        let (b, _fb) = TempPath::reserve(&target).unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(a.target(), target.as_path());
    }
}
