//! Test helpers shared by the backup module's unit tests.

use std::{
    io::{self, Write},
    path::Path,
};

/// A sink that accepts `capacity` bytes and then fails like a full disk.
pub(crate) struct FailingWriter<W: Write> {
    inner: W,
    remaining: usize,
}

impl<W: Write> FailingWriter<W> {
    pub(crate) fn new(inner: W, capacity: usize) -> Self {
        FailingWriter {
            inner,
            remaining: capacity,
        }
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for FailingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let n = buf.len().min(self.remaining);
        let written = self.inner.write(&buf[..n])?;
        self.remaining -= written;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The sorted file names in `dir`.
pub(crate) fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
