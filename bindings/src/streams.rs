//! Foreign byte sinks and sources, so an app can stream a backup straight into its upload API
//! (an `OutputStream`, a `FileHandle`) and restore from a download without the whole backup
//! crossing the FFI as one array.

use std::{
    io::{self, Read, Write},
    sync::Arc,
};

use keepsake_core::Error as CoreError;

use crate::error::KeepsakeError;

/// Bytes handed to or requested from the app per call: large enough to keep FFI crossings rare,
/// small enough to keep memory flat.
pub(crate) const CHUNK_SIZE: usize = 64 * 1024;

/// Where a backup goes: implemented by the app. Throwing from either method aborts the backup.
#[uniffi::export(with_foreign)]
pub trait ByteSink: Send + Sync {
    /// Append these bytes.
    fn write(&self, chunk: Vec<u8>) -> Result<(), KeepsakeError>;
    /// All bytes have been written; flush and close.
    fn finish(&self) -> Result<(), KeepsakeError>;
}

/// Where a backup comes from: implemented by the app.
#[uniffi::export(with_foreign)]
pub trait ByteSource: Send + Sync {
    /// Up to `max_len` next bytes (a positive `i64`, Kotlin `Long`, Swift `Int64`, as every
    /// size in the API; Keepsake asks for 64 KiB); an empty array means end of data.
    fn read(&self, max_len: i64) -> Result<Vec<u8>, KeepsakeError>;
}

/// An error thrown by foreign code, carried through `io::Error` so the core can propagate it.
pub(crate) fn foreign_to_io(err: KeepsakeError) -> io::Error {
    match err {
        // An app-side cancellation (the user stopped the upload) stays a cancellation.
        KeepsakeError::Cancelled { .. } => CoreError::Cancelled.into_io(),
        other => io::Error::other(other.to_string()),
    }
}

/// `Write` over a foreign [`ByteSink`], buffering to [`CHUNK_SIZE`].
pub(crate) struct SinkWriter {
    sink: Arc<dyn ByteSink>,
    buffer: Vec<u8>,
}

impl SinkWriter {
    pub(crate) fn new(sink: Arc<dyn ByteSink>) -> Self {
        SinkWriter {
            sink,
            buffer: Vec::with_capacity(CHUNK_SIZE),
        }
    }

    /// Sends the rest and tells the sink the stream is complete.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.sink.finish().map_err(foreign_to_io)
    }
}

impl Write for SinkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK_SIZE - self.buffer.len();
        let taken = data.len().min(room);
        self.buffer
            .extend_from_slice(data.get(..taken).unwrap_or_default());
        if self.buffer.len() >= CHUNK_SIZE {
            self.flush()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_SIZE));
        self.sink.write(chunk).map_err(foreign_to_io)
    }
}

/// `Read` over a foreign [`ByteSource`]; tolerates sources that return more than asked.
pub(crate) struct SourceReader {
    source: Arc<dyn ByteSource>,
    pending: Vec<u8>,
    position: usize,
    at_end: bool,
}

impl SourceReader {
    pub(crate) fn new(source: Arc<dyn ByteSource>) -> Self {
        SourceReader {
            source,
            pending: Vec::new(),
            position: 0,
            at_end: false,
        }
    }
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.position >= self.pending.len() {
            if self.at_end {
                return Ok(0);
            }
            let ask = i64::try_from(CHUNK_SIZE.max(buf.len())).unwrap_or(i64::MAX);
            self.pending = self.source.read(ask).map_err(foreign_to_io)?;
            self.position = 0;
            if self.pending.is_empty() {
                self.at_end = true;
                return Ok(0);
            }
        }
        let available = self.pending.get(self.position..).unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Collect {
        chunks: Mutex<Vec<Vec<u8>>>,
        finished: Mutex<bool>,
    }

    impl ByteSink for Collect {
        fn write(&self, chunk: Vec<u8>) -> Result<(), KeepsakeError> {
            self.chunks
                .lock()
                .map_err(|_| KeepsakeError::internal("poisoned"))?
                .push(chunk);
            Ok(())
        }
        fn finish(&self) -> Result<(), KeepsakeError> {
            *self
                .finished
                .lock()
                .map_err(|_| KeepsakeError::internal("poisoned"))? = true;
            Ok(())
        }
    }

    /// Returns the data in uneven pieces, some larger than asked for.
    struct Pieces(Mutex<Vec<Vec<u8>>>);

    impl ByteSource for Pieces {
        fn read(&self, _max_len: i64) -> Result<Vec<u8>, KeepsakeError> {
            let mut pieces = self
                .0
                .lock()
                .map_err(|_| KeepsakeError::internal("poisoned"))?;
            Ok(if pieces.is_empty() {
                Vec::new()
            } else {
                pieces.remove(0)
            })
        }
    }

    #[test]
    fn sink_writer_chunks_and_finishes() {
        let sink = Arc::new(Collect::default());
        let mut writer = SinkWriter::new(sink.clone());
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        writer.write_all(&data).unwrap();
        writer.finish().unwrap();
        let chunks = sink.chunks.lock().unwrap();
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_SIZE));
        assert_eq!(chunks.concat(), data);
        assert!(*sink.finished.lock().unwrap());
    }

    #[test]
    fn source_reader_reassembles_uneven_pieces() {
        let pieces = vec![vec![1u8; 10], vec![2u8; CHUNK_SIZE * 2], vec![3u8; 1]];
        let expected = pieces.concat();
        let mut reader = SourceReader::new(Arc::new(Pieces(Mutex::new(pieces))));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn foreign_cancellation_stays_typed() {
        let io_err = foreign_to_io(KeepsakeError::Cancelled { detail: "x".into() });
        assert!(matches!(CoreError::from(io_err), CoreError::Cancelled));
    }
}
