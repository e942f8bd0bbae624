//! A bounded in-memory pipe between two threads, so that the SQLite side of a backup or restore
//! (scan and record encoding, or record decoding and inserts) overlaps with the container side
//! (compression and encryption, or decryption and decompression).
//!
//! Bytes travel in buffers of [`BUFFER_SIZE`]; at most [`BUFFERS_IN_FLIGHT`] are queued, and
//! drained buffers flow back to the writer for reuse, so memory stays fixed at about 1 MiB
//! whatever the backup size. A writer dropped without [`PipeWriter::finish`] (an error or a
//! cancel on its side) makes the reader fail instead of seeing a clean end, so a half-written
//! stream is never mistaken for a complete one.

use std::{
    fmt,
    io::{self, Read, Write},
    sync::mpsc::{self, Receiver, SyncSender},
};

use crate::{Error, Result};

/// Size of one buffer handed between the threads.
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;
/// Buffers queued at most between the threads.
pub(crate) const BUFFERS_IN_FLIGHT: usize = 3;

enum Message {
    Data(Vec<u8>),
    End,
}

/// The reason a pipe operation failed: the other side went away. The other side's own error is
/// the one worth reporting (see [`pick_error`]).
#[derive(Debug)]
struct PipeClosed(&'static str);

impl fmt::Display for PipeClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for PipeClosed {}

fn closed(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, PipeClosed(what))
}

/// Whether `err` only says that the other side of a pipe stopped.
fn is_pipe_closed(err: &Error) -> bool {
    matches!(err, Error::Io { source, .. }
        if source.get_ref().is_some_and(|inner| inner.is::<PipeClosed>()))
}

/// Combines the results of the two sides: the first real error wins over "the other side stopped".
pub(crate) fn pick_error<A, B>(first: Result<A>, second: Result<B>) -> Result<(A, B)> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(a), Err(b)) if is_pipe_closed(&a) && !is_pipe_closed(&b) => Err(b),
        (Err(a), _) | (Ok(_), Err(a)) => Err(a),
    }
}

/// Creates a connected writer and reader.
pub(crate) fn pipe() -> (PipeWriter, PipeReader) {
    let (data_tx, data_rx) = mpsc::sync_channel(BUFFERS_IN_FLIGHT);
    let (spare_tx, spare_rx) = mpsc::sync_channel(BUFFERS_IN_FLIGHT + 1);
    let writer = PipeWriter {
        current: Vec::with_capacity(BUFFER_SIZE),
        data: data_tx,
        spare: spare_rx,
    };
    let reader = PipeReader {
        current: Vec::new(),
        position: 0,
        data: data_rx,
        spare: spare_tx,
        ended: false,
    };
    (writer, reader)
}

/// The sending half; `Write` into it, then [`finish`](PipeWriter::finish).
pub(crate) struct PipeWriter {
    current: Vec<u8>,
    data: SyncSender<Message>,
    spare: Receiver<Vec<u8>>,
}

impl PipeWriter {
    fn send_current(&mut self) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER_SIZE));
        let full = std::mem::replace(&mut self.current, next);
        self.data
            .send(Message::Data(full))
            .map_err(|_| closed("the reading side of the pipe stopped"))
    }

    /// Sends what is buffered and marks a clean end of the stream.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.send_current()?;
        self.data
            .send(Message::End)
            .map_err(|_| closed("the reading side of the pipe stopped").into())
    }
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BUFFER_SIZE.saturating_sub(self.current.len());
        if room == 0 {
            self.send_current()?;
            return self.write(buf);
        }
        let take = buf.len().min(room);
        self.current
            .extend_from_slice(buf.get(..take).unwrap_or_default());
        Ok(take)
    }

    /// Buffers are sent when full or at [`finish`](PipeWriter::finish); flushing early would
    /// only make them smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The receiving half; reads the bytes written, then EOF only after a clean `finish`.
pub(crate) struct PipeReader {
    current: Vec<u8>,
    position: usize,
    data: Receiver<Message>,
    spare: SyncSender<Vec<u8>>,
    ended: bool,
}

impl PipeReader {
    /// Writes every remaining buffer to `sink` as it arrives (no extra copy), until a clean end.
    pub(crate) fn drain_into(&mut self, sink: &mut dyn Write) -> Result<u64> {
        let mut total = 0u64;
        let rest = self.current.get(self.position..).unwrap_or_default();
        if !rest.is_empty() {
            sink.write_all(rest)?;
            total += rest.len() as u64;
            self.position = self.current.len();
        }
        while !self.ended {
            match self.data.recv() {
                Ok(Message::Data(mut buffer)) => {
                    sink.write_all(&buffer)?;
                    total += buffer.len() as u64;
                    buffer.clear();
                    let _ = self.spare.try_send(buffer);
                }
                Ok(Message::End) => self.ended = true,
                Err(_) => return Err(closed("the writing side of the pipe stopped early").into()),
            }
        }
        Ok(total)
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position >= self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.data.recv() {
                Ok(Message::Data(next)) => {
                    let mut drained = std::mem::replace(&mut self.current, next);
                    self.position = 0;
                    drained.clear();
                    if drained.capacity() > 0 {
                        // The writer may have enough spares already; then this one is freed.
                        let _ = self.spare.try_send(drained);
                    }
                }
                Ok(Message::End) => self.ended = true,
                Err(_) => return Err(closed("the writing side of the pipe stopped early")),
            }
        }
        let available = self.current.get(self.position..).unwrap_or_default();
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
    use std::thread;

    use super::*;

    #[test]
    fn bytes_arrive_in_order_and_end_cleanly() {
        let (mut writer, mut reader) = pipe();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let received = thread::scope(|scope| {
            let handle = scope.spawn(move || {
                let mut out = Vec::new();
                reader.read_to_end(&mut out).map(|_| out)
            });
            for chunk in data.chunks(10_007) {
                writer.write_all(chunk).unwrap();
            }
            writer.finish().unwrap();
            handle.join().unwrap().unwrap()
        });
        assert_eq!(received, data);
    }

    #[test]
    fn a_writer_dropped_without_finish_is_an_error_not_an_end() {
        let (mut writer, mut reader) = pipe();
        writer.write_all(&[1; 1000]).unwrap();
        drop(writer);
        let mut out = Vec::new();
        let err = Error::from(reader.read_to_end(&mut out).unwrap_err());
        assert!(is_pipe_closed(&err));
    }

    #[test]
    fn a_reader_that_stops_makes_the_writer_fail_and_its_error_wins() {
        let (mut writer, reader) = pipe();
        let reader_result: Result<()> = {
            drop(reader);
            Err(Error::Corrupted {
                what: "segment 3".into(),
            })
        };
        let data = vec![0u8; BUFFER_SIZE * (BUFFERS_IN_FLIGHT + 2)];
        let writer_result: Result<()> = writer.write_all(&data).map_err(Error::from);
        assert!(writer_result.as_ref().is_err_and(is_pipe_closed));
        let picked = pick_error(writer_result, reader_result);
        assert!(matches!(picked, Err(Error::Corrupted { .. })));
    }
}
