//! Where restored media goes. The restore streams each file into a [`MediaWriter`], checks its
//! size and SHA-256 against the backup, and only then calls [`MediaWriter::commit`]; a file that
//! does not match, a cancel or an error calls [`MediaWriter::abort`], so no half-written or
//! wrong file is ever visible. [`DirMediaSink`] writes under a directory, atomically.

use std::{
    collections::HashSet,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use super::{path_under, MediaKind};
use crate::{
    atomic::{sweep_stale_leftovers, AtomicFile},
    Error, Result,
};

/// Temporary files older than this belong to a killed restore (a live writer writes on).
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// An attachment being restored, as the backup recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaItem {
    /// `attachments.id`.
    pub attachment_id: i64,
    /// Its message's conversation.
    pub conversation_id: i64,
    /// Its message's `sent_at`.
    pub sent_at: i64,
    /// MIME type.
    pub mime: String,
    /// Where the app kept the file on the old device (`attachments.local_ref`; may be empty).
    pub local_ref: String,
    /// Bytes of the file.
    pub size: u64,
    /// SHA-256 of the file.
    pub sha256: [u8; 32],
}

impl MediaItem {
    /// The item's kind, from its MIME type.
    pub fn kind(&self) -> MediaKind {
        MediaKind::of_mime(&self.mime)
    }
}

/// Receives restored files.
pub trait MediaSink: Send + Sync {
    /// Starts writing `item`'s file.
    fn begin(&self, item: &MediaItem) -> Result<Box<dyn MediaWriter>>;
}

/// One file being written.
pub trait MediaWriter: Send {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Makes the file visible at once (called only after its size and SHA-256 matched).
    fn commit(self: Box<Self>) -> Result<()>;
    /// Drops what was written.
    fn abort(self: Box<Self>);
}

/// Restores files under a directory: at their `local_ref` when it is a plain relative path,
/// otherwise at `attachments/<id>` (as the file was named nowhere safe to reuse). Each file is
/// written to a temporary file, fsynced and renamed into place. A media restore and a fetch on
/// demand may write the same file at once: each has its own temporary file, and the last rename
/// wins with the same bytes. Temporary files of a killed restore are removed from a directory
/// the first time this sink writes there, once they are an hour old.
#[derive(Debug, Clone)]
pub struct DirMediaSink {
    root: PathBuf,
    swept: Arc<Mutex<HashSet<PathBuf>>>,
}

impl DirMediaSink {
    /// Files go under `root` (created when needed).
    pub fn new(root: impl Into<PathBuf>) -> DirMediaSink {
        DirMediaSink {
            root: root.into(),
            swept: Arc::default(),
        }
    }

    /// Where `item` is restored.
    pub fn path_for(&self, item: &MediaItem) -> PathBuf {
        path_under(&self.root, &item.local_ref).unwrap_or_else(|| {
            self.root
                .join("attachments")
                .join(item.attachment_id.to_string())
        })
    }
}

struct DirWriter {
    file: AtomicFile,
    path: PathBuf,
}

impl DirMediaSink {
    /// Creates `path`'s directory, and sweeps it once per sink.
    fn prepare_dir(&self, path: &Path) -> Result<()> {
        let Some(dir) = path.parent() else {
            return Ok(());
        };
        std::fs::create_dir_all(dir).map_err(|e| Error::io_at(dir, e))?;
        let first = self
            .swept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(dir.to_path_buf());
        if first {
            sweep_stale_leftovers(dir, STALE_TEMPORARY)?;
        }
        Ok(())
    }
}

impl MediaSink for DirMediaSink {
    fn begin(&self, item: &MediaItem) -> Result<Box<dyn MediaWriter>> {
        let path = self.path_for(item);
        self.prepare_dir(&path)?;
        Ok(Box::new(DirWriter {
            file: AtomicFile::create_beside_others(&path)?,
            path,
        }))
    }
}

impl MediaWriter for DirWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|e| Error::io_at(&self.path, e))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.file.commit()
    }

    fn abort(self: Box<Self>) {
        // Dropping the atomic file removes its temporary file.
    }
}
