//! Where restored media goes. The restore streams each file into a [`MediaWriter`], checks its
//! size and SHA-256 against the backup, and only then calls [`MediaWriter::commit`]; a file that
//! does not match, a cancel or an error calls [`MediaWriter::abort`], so no half-written or
//! wrong file is ever visible. [`DirMediaSink`] writes under a directory, atomically.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use super::{path_under, MediaKind};
use crate::{atomic::AtomicFile, Error, Result};

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
/// demand may write the same file at once: each has its own temporary file (a sweep of a killed
/// writer's leftovers spares the files this process is writing), and the last rename wins with
/// the same bytes.
#[derive(Debug, Clone)]
pub struct DirMediaSink {
    root: PathBuf,
}

impl DirMediaSink {
    /// Files go under `root` (created when needed).
    pub fn new(root: impl Into<PathBuf>) -> DirMediaSink {
        DirMediaSink { root: root.into() }
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

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| Error::io_at(parent, e)),
        None => Ok(()),
    }
}

impl MediaSink for DirMediaSink {
    fn begin(&self, item: &MediaItem) -> Result<Box<dyn MediaWriter>> {
        let path = self.path_for(item);
        create_parent(&path)?;
        Ok(Box::new(DirWriter {
            file: AtomicFile::create(&path)?,
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
