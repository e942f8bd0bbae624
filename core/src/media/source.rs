//! Where the app's media files are. The app implements [`MediaSource`] over its own storage
//! (through the FFI, a Kotlin `InputStream` or a Swift `FileHandle`); [`DirMediaSource`] reads
//! files under a directory by their `local_ref`.

use std::{
    fs::File,
    io::{self, Read},
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use super::path_under;
use crate::{Error, Result};

/// An attachment whose bytes the backup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRef<'a> {
    /// `attachments.id`.
    pub attachment_id: i64,
    /// `attachments.local_ref` (empty when the row has none).
    pub local_ref: &'a str,
    /// `attachments.mime`.
    pub mime: &'a str,
}

/// A file's size and modification stamp. With the size, an unchanged stamp tells the next
/// backup it need not read the file again (as restic does); `modified == 0` means unknown, and
/// such a file is read every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Bytes.
    pub size: u64,
    /// Modification time in any fixed unit (nanoseconds for files), 0 when unknown.
    pub modified: i64,
}

/// The app's media files, by attachment.
pub trait MediaSource: Send + Sync {
    /// The file's stamp, or `None` when its bytes are not on the device (never downloaded,
    /// deleted): the backup records the attachment as absent.
    fn stat(&self, media: &MediaRef<'_>) -> Result<Option<FileStamp>>;

    /// The file's bytes as a stream, or `None` when they are not on the device.
    fn open(&self, media: &MediaRef<'_>) -> Result<Option<Box<dyn Read + Send>>>;
}

/// Files under a directory, at their `local_ref` (a relative path). A reference that is empty,
/// absolute or leaves the directory is treated as not on the device.
#[derive(Debug, Clone)]
pub struct DirMediaSource {
    root: PathBuf,
}

impl DirMediaSource {
    /// Media under `root`.
    pub fn new(root: impl Into<PathBuf>) -> DirMediaSource {
        DirMediaSource { root: root.into() }
    }

    fn path(&self, media: &MediaRef<'_>) -> Option<PathBuf> {
        path_under(&self.root, media.local_ref)
    }
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: Some(path.to_path_buf()),
        source,
    }
}

impl MediaSource for DirMediaSource {
    fn stat(&self, media: &MediaRef<'_>) -> Result<Option<FileStamp>> {
        let Some(path) = self.path(media) else {
            return Ok(None);
        };
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
                Ok(Some(FileStamp {
                    size: meta.len(),
                    modified,
                }))
            }
            Ok(_) => Ok(None),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_error(&path, err)),
        }
    }

    fn open(&self, media: &MediaRef<'_>) -> Result<Option<Box<dyn Read + Send>>> {
        let Some(path) = self.path(media) else {
            return Ok(None);
        };
        match File::open(&path) {
            Ok(file) => Ok(Some(Box::new(file))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_error(&path, err)),
        }
    }
}
