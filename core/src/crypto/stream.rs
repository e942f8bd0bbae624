//! The STREAM construction over AES-256-GCM (as in age and Tink): a payload cut into fixed-size
//! segments, each sealed on its own with a nonce made of its position and a last-segment flag.
//!
//! Sealing every segment separately keeps memory constant and lets a reader release plaintext
//! as it goes; the nonce layout makes every reordering, duplication, truncation or extension
//! fail authentication, because each ciphertext segment only opens at the position and with the
//! "last" flag it was sealed with.
//!
//! Layout (specified byte for byte in `docs/FORMAT.md`):
//! - plaintext segments of [`SEGMENT_SIZE`] bytes, ciphertext segment = plaintext ‖ 16-byte tag;
//! - nonce = 11-byte big-endian segment counter (from 0) ‖ flag, flag `0x01` on the last segment
//!   only, `0x00` otherwise;
//! - associated data = a 32-byte *binding* chosen by the caller (the container passes its header
//!   MAC, so a payload cannot be moved under another header);
//! - end of stream: every segment but the last is full; the last segment holds 0 to
//!   [`SEGMENT_SIZE`] bytes and is empty only when the whole payload is empty (a payload whose
//!   length is a positive multiple of the segment size ends with a full last segment).

use std::io::{self, Read, Write};

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use zeroize::Zeroizing;

use crate::crypto::PayloadKey;
use crate::error::{Error, Result};

/// Plaintext bytes per segment.
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// Bytes of the AES-GCM tag that ends every ciphertext segment.
pub const TAG_SIZE: usize = 16;
/// Bytes of a full ciphertext segment.
pub const CIPHERTEXT_SEGMENT_SIZE: usize = SEGMENT_SIZE + TAG_SIZE;
/// Bytes of the caller's binding, authenticated as associated data of every segment.
pub const BINDING_SIZE: usize = 32;

/// Flag byte of every segment but the last.
const FLAG_MORE: u8 = 0x00;
/// Flag byte of the last segment.
const FLAG_LAST: u8 = 0x01;

/// The nonce of segment `counter`: 11-byte big-endian counter ‖ last-segment flag.
fn segment_nonce(counter: u64, last: bool) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut nonce = [0u8; 12];
    // The counter field is 88 bits wide; a u64 fills its low 8 bytes and the top 3 stay zero.
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = if last { FLAG_LAST } else { FLAG_MORE };
    nonce.into()
}

/// The counter after `counter`, or an error once 2^64 segments (far beyond any backup) are used.
fn next_counter(counter: u64) -> Result<u64> {
    counter.checked_add(1).ok_or_else(|| Error::LimitExceeded {
        what: "STREAM segment count".into(),
        found: u64::MAX,
        limit: u64::MAX,
    })
}

fn new_cipher(key: &PayloadKey) -> Aes256Gcm {
    Aes256Gcm::new(key.expose_secret().into())
}

/// Encrypts everything written to it into a STREAM on `sink`.
///
/// One segment of plaintext is buffered (and sealed in place in the same buffer); a full segment
/// is only sealed once more data arrives, because until then it might be the last one.
/// [`StreamWriter::finish`] seals the last segment; dropping the writer without it leaves a
/// stream that readers reject as truncated.
pub struct StreamWriter<W: Write> {
    sink: W,
    cipher: Aes256Gcm,
    binding: [u8; BINDING_SIZE],
    /// Plaintext of the current segment in `[..filled]`, room for the tag after it.
    buffer: Zeroizing<Vec<u8>>,
    filled: usize,
    counter: u64,
    /// Set once writing to the sink failed: the stream on the sink is then unusable.
    failed: bool,
}

impl<W: Write> StreamWriter<W> {
    /// A writer sealing with the file's payload `key`, binding every segment to `binding`.
    pub fn new(sink: W, key: &PayloadKey, binding: &[u8; BINDING_SIZE]) -> Self {
        Self {
            sink,
            cipher: new_cipher(key),
            binding: *binding,
            buffer: Zeroizing::new(vec![0u8; CIPHERTEXT_SEGMENT_SIZE]),
            filled: 0,
            counter: 0,
            failed: false,
        }
    }

    /// Seals the last segment, flushes and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.check_usable()?;
        self.seal_and_emit(true)?;
        self.sink.flush()?;
        Ok(self.sink)
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidArgument(
                "the encrypted stream already failed to write; start a new one".into(),
            ));
        }
        Ok(())
    }

    /// Seals `buffer[..filled]` in place, appends its tag and writes the segment to the sink.
    fn seal_and_emit(&mut self, last: bool) -> Result<()> {
        let nonce = segment_nonce(self.counter, last);
        let (plaintext, tag_room) = self.buffer.split_at_mut(self.filled);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.binding, plaintext.into())
            .map_err(|_| Error::InvalidArgument("segment too large for AES-GCM".into()))?;
        let tag_slot = tag_room
            .get_mut(..TAG_SIZE)
            .ok_or_else(|| Error::InvalidArgument("segment buffer too small".into()))?;
        tag_slot.copy_from_slice(&tag);
        let sealed_len = self.filled + TAG_SIZE;
        // A failed write leaves an unknown prefix on the sink: refuse any further use.
        self.failed = true;
        self.sink.write_all(&self.buffer[..sealed_len])?;
        self.failed = false;
        self.filled = 0;
        if !last {
            self.counter = next_counter(self.counter)?;
        }
        Ok(())
    }
}

impl<W: Write> Write for StreamWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_usable().map_err(Error::into_io)?;
        let mut rest = data;
        while !rest.is_empty() {
            if self.filled == SEGMENT_SIZE {
                // More data follows a full segment, so that segment is not the last.
                self.seal_and_emit(false).map_err(Error::into_io)?;
            }
            let take = rest.len().min(SEGMENT_SIZE - self.filled);
            let (chunk, tail) = rest.split_at(take);
            self.buffer[self.filled..self.filled + take].copy_from_slice(chunk);
            self.filled += take;
            rest = tail;
        }
        Ok(data.len())
    }

    /// Flushes the sink; a partial segment stays buffered (segments are sealed whole).
    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

/// Why a [`StreamReader`] stopped, kept so that every later read fails the same way.
#[derive(Clone)]
enum Failure {
    Truncated(String),
    Corrupted(String),
    TooManySegments,
    /// The source failed after a full segment had been consumed: the stream cannot resume.
    Io(String),
}

impl Failure {
    fn to_error(&self) -> Error {
        match self {
            Failure::Truncated(what) => Error::Truncated { what: what.clone() },
            Failure::Corrupted(what) => Error::Corrupted { what: what.clone() },
            Failure::TooManySegments => Error::LimitExceeded {
                what: "STREAM segment count".into(),
                found: u64::MAX,
                limit: u64::MAX,
            },
            Failure::Io(what) => Error::Io {
                path: None,
                source: io::Error::other(what.clone()),
            },
        }
    }
}

/// Where a [`StreamReader`] is in the stream.
enum ReadState {
    /// More segments are expected.
    Open,
    /// The authenticated last segment has been opened; its plaintext may still be buffered.
    Finished,
    /// Authentication or framing failed; every read returns this error.
    Failed(Failure),
}

/// Decrypts and authenticates a STREAM from `source`, releasing plaintext segment by segment.
///
/// Only authenticated plaintext is ever returned, and end of file (`Ok(0)`) is only reported
/// after the authenticated last segment. To tell whether a full segment is the last one the
/// reader looks one byte ahead.
pub struct StreamReader<R: Read> {
    source: R,
    cipher: Aes256Gcm,
    binding: [u8; BINDING_SIZE],
    /// Ciphertext as read, then plaintext of the current segment in `[start..end]`.
    buffer: Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
    counter: u64,
    /// The first byte of the next segment, read to learn that the current one is not the last.
    lookahead: Option<u8>,
    state: ReadState,
}

/// How the end of the ciphertext read for one segment looks.
enum Framing {
    /// A full segment followed by at least one more byte: it cannot be the last.
    FullWithMore,
    /// A full segment at the end of the source.
    FullAtEnd,
    /// A shorter segment at the end of the source.
    ShortAtEnd,
}

impl<R: Read> StreamReader<R> {
    /// A reader opening segments with the file's payload `key` and the writer's `binding`.
    pub fn new(source: R, key: &PayloadKey, binding: &[u8; BINDING_SIZE]) -> Self {
        Self {
            source,
            cipher: new_cipher(key),
            binding: *binding,
            buffer: Zeroizing::new(vec![0u8; CIPHERTEXT_SEGMENT_SIZE]),
            start: 0,
            end: 0,
            counter: 0,
            lookahead: None,
            state: ReadState::Open,
        }
    }

    /// True once the authenticated last segment has been opened and all of it was read.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, ReadState::Finished) && self.start == self.end
    }

    /// Reads until `buffer` is full or the source ends; returns the byte count.
    fn read_segment_bytes(&mut self) -> io::Result<usize> {
        let mut filled = 0;
        if let Some(byte) = self.lookahead.take() {
            self.buffer[0] = byte;
            filled = 1;
        }
        while filled < CIPHERTEXT_SEGMENT_SIZE {
            match self.source.read(&mut self.buffer[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(filled)
    }

    /// Reads one byte past the current segment, if there is one.
    fn peek_byte(&mut self) -> io::Result<Option<u8>> {
        let mut byte = [0u8; 1];
        loop {
            match self.source.read(&mut byte) {
                Ok(0) => return Ok(None),
                Ok(_) => return Ok(Some(byte[0])),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Tries to open `buffer[..len]` at the current position with the given flag; on failure
    /// the buffer is left unchanged (AES-GCM verifies before it decrypts).
    fn try_open(&mut self, len: usize, last: bool) -> bool {
        let body_len = len - TAG_SIZE;
        let (body, tag) = self.buffer[..len].split_at_mut(body_len);
        let tag = Tag::try_from(&*tag).expect("a tag slice is TAG_SIZE bytes");
        let nonce = segment_nonce(self.counter, last);
        self.cipher
            .decrypt_inout_detached(&nonce, &self.binding, body.into(), &tag)
            .is_ok()
    }

    /// Reads, authenticates and decrypts the next segment into the buffer. The outer error is
    /// a genuine I/O error of the source (reported as is, and not latched: the caller may retry
    /// only if the source can); the inner one is a fault of the stream itself.
    fn open_next_segment(&mut self) -> io::Result<std::result::Result<(), Failure>> {
        let segment = self.counter;
        let len = self.read_segment_bytes()?;
        Ok(self.authenticate_segment(segment, len))
    }

    fn authenticate_segment(
        &mut self,
        segment: u64,
        len: usize,
    ) -> std::result::Result<(), Failure> {
        if len == 0 {
            return Err(Failure::Truncated("the payload has no segments".into()));
        }
        if len < TAG_SIZE {
            return Err(Failure::Truncated(format!(
                "segment {segment} ends before its tag"
            )));
        }
        let framing = if len == CIPHERTEXT_SEGMENT_SIZE {
            match self.peek_byte() {
                Ok(Some(byte)) => {
                    self.lookahead = Some(byte);
                    Framing::FullWithMore
                }
                Ok(None) => Framing::FullAtEnd,
                Err(err) => {
                    return Err(Failure::Io(format!(
                        "reading after segment {segment}: {err}"
                    )))
                }
            }
        } else {
            Framing::ShortAtEnd
        };
        let plaintext_len = len - TAG_SIZE;
        match framing {
            Framing::FullWithMore => {
                if self.try_open(len, false) {
                    self.counter =
                        next_counter(self.counter).map_err(|_| Failure::TooManySegments)?;
                    self.set_plaintext(plaintext_len, false);
                    Ok(())
                } else if self.try_open(len, true) {
                    Err(Failure::Corrupted(format!(
                        "data after the last segment (segment {segment})"
                    )))
                } else {
                    Err(Failure::Corrupted(format!("segment {segment}")))
                }
            }
            Framing::FullAtEnd => {
                if self.try_open(len, true) {
                    self.set_plaintext(plaintext_len, true);
                    Ok(())
                } else if self.try_open(len, false) {
                    Err(Failure::Truncated(format!(
                        "the payload ends after segment {segment}; later segments are missing"
                    )))
                } else {
                    Err(Failure::Corrupted(format!("segment {segment}")))
                }
            }
            Framing::ShortAtEnd => {
                if !self.try_open(len, true) {
                    // A short segment that does not open is either cut off or damaged in its
                    // final bytes; the two cannot be told apart (see docs/FORMAT.md).
                    return Err(Failure::Truncated(format!(
                        "segment {segment} ends early or its final bytes are damaged"
                    )));
                }
                if plaintext_len == 0 && segment > 0 {
                    // Writers never emit an empty last segment after other segments.
                    return Err(Failure::Corrupted(format!(
                        "empty last segment {segment} after a full one"
                    )));
                }
                self.set_plaintext(plaintext_len, true);
                Ok(())
            }
        }
    }

    fn set_plaintext(&mut self, len: usize, last: bool) {
        self.start = 0;
        self.end = len;
        if last {
            self.state = ReadState::Finished;
        }
    }
}

impl<R: Read> Read for StreamReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.start == self.end {
            match &self.state {
                ReadState::Finished => return Ok(0),
                ReadState::Failed(failure) => return Err(failure.to_error().into_io()),
                ReadState::Open => {
                    if let Err(failure) = self.open_next_segment()? {
                        let err = failure.to_error();
                        self.state = ReadState::Failed(failure);
                        return Err(err.into_io());
                    }
                }
            }
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buffer[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PayloadKey {
        PayloadKey::from_bytes([7u8; 32])
    }
    const BINDING: [u8; 32] = [9u8; 32];

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
    }

    fn seal(plaintext: &[u8]) -> Vec<u8> {
        let mut writer = StreamWriter::new(Vec::new(), &key(), &BINDING);
        writer.write_all(plaintext).unwrap();
        writer.finish().unwrap()
    }

    /// Reads everything; returns the plaintext released before the error, and the error.
    fn open(ciphertext: &[u8]) -> (Vec<u8>, Result<()>) {
        let mut reader = StreamReader::new(ciphertext, &key(), &BINDING);
        let mut out = Vec::new();
        let result = reader
            .read_to_end(&mut out)
            .map(|_| ())
            .map_err(Error::from);
        (out, result)
    }

    fn segments(count_full: usize, tail: usize) -> usize {
        count_full * SEGMENT_SIZE + tail
    }

    #[test]
    fn ciphertext_sizes_follow_the_end_of_stream_rule() {
        let cases = [
            (0, TAG_SIZE),
            (1, 1 + TAG_SIZE),
            (SEGMENT_SIZE, CIPHERTEXT_SEGMENT_SIZE),
            (SEGMENT_SIZE + 1, CIPHERTEXT_SEGMENT_SIZE + 1 + TAG_SIZE),
            (2 * SEGMENT_SIZE, 2 * CIPHERTEXT_SEGMENT_SIZE),
        ];
        for (plain, sealed) in cases {
            let ciphertext = seal(&pattern(plain));
            assert_eq!(ciphertext.len(), sealed, "plaintext of {plain} bytes");
            let (out, result) = open(&ciphertext);
            result.unwrap();
            assert_eq!(out, pattern(plain));
        }
    }

    #[test]
    fn byte_by_byte_writes_give_the_same_stream() {
        let plaintext = pattern(SEGMENT_SIZE + 300);
        let mut writer = StreamWriter::new(Vec::new(), &key(), &BINDING);
        for byte in &plaintext {
            writer.write_all(std::slice::from_ref(byte)).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), seal(&plaintext));
    }

    #[test]
    fn nonce_is_counter_then_flag() {
        let nonce = segment_nonce(0x0102_0304_0506_0708, true);
        assert_eq!(
            nonce.as_slice(),
            &[0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, FLAG_LAST]
        );
        assert_eq!(segment_nonce(0, false).as_slice(), &[0u8; 12]);
    }

    #[test]
    fn truncation_at_a_segment_boundary_is_truncated() {
        let ciphertext = seal(&pattern(segments(2, 10)));
        let (out, result) = open(&ciphertext[..2 * CIPHERTEXT_SEGMENT_SIZE]);
        assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
        // The first segment is authentic and may be released; the second is held back.
        assert_eq!(out, pattern(SEGMENT_SIZE));
    }

    #[test]
    fn truncation_inside_a_segment_is_truncated() {
        let ciphertext = seal(&pattern(segments(2, 10)));
        let (_, result) = open(&ciphertext[..CIPHERTEXT_SEGMENT_SIZE + 100]);
        assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
        let (out, result) = open(&ciphertext[..5]);
        assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
        assert!(out.is_empty());
        let (_, result) = open(&[]);
        assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
    }

    #[test]
    fn swapped_and_duplicated_segments_are_corrupted() {
        let ciphertext = seal(&pattern(segments(3, 10)));
        let seg =
            |i: usize| &ciphertext[i * CIPHERTEXT_SEGMENT_SIZE..(i + 1) * CIPHERTEXT_SEGMENT_SIZE];
        let tail = &ciphertext[3 * CIPHERTEXT_SEGMENT_SIZE..];
        let swapped = [seg(1), seg(0), seg(2), tail].concat();
        let (out, result) = open(&swapped);
        assert!(
            matches!(&result, Err(Error::Corrupted { what }) if what == "segment 0"),
            "{result:?}"
        );
        assert!(out.is_empty());
        let duplicated = [seg(0), seg(1), seg(1), seg(2), tail].concat();
        let (out, result) = open(&duplicated);
        assert!(
            matches!(&result, Err(Error::Corrupted { what }) if what == "segment 2"),
            "{result:?}"
        );
        assert_eq!(out, pattern(2 * SEGMENT_SIZE));
    }

    #[test]
    fn data_after_a_full_last_segment_is_corrupted() {
        let mut ciphertext = seal(&pattern(SEGMENT_SIZE));
        ciphertext.push(0);
        let (out, result) = open(&ciphertext);
        assert!(
            matches!(&result, Err(Error::Corrupted { what }) if what.contains("after the last")),
            "{result:?}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn data_after_a_short_last_segment_is_rejected() {
        let mut ciphertext = seal(&pattern(100));
        ciphertext.extend_from_slice(&[1, 2, 3]);
        let (out, result) = open(&ciphertext);
        assert!(result.is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn a_flipped_tag_bit_is_corrupted() {
        let mut ciphertext = seal(&pattern(segments(1, 5)));
        ciphertext[CIPHERTEXT_SEGMENT_SIZE - 1] ^= 0x80;
        let (out, result) = open(&ciphertext);
        assert!(
            matches!(&result, Err(Error::Corrupted { what }) if what == "segment 0"),
            "{result:?}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn a_different_binding_or_key_opens_nothing() {
        let ciphertext = seal(&pattern(10));
        let mut reader = StreamReader::new(&ciphertext[..], &key(), &[0u8; 32]);
        assert!(reader.read_to_end(&mut Vec::new()).is_err());
        let mut reader = StreamReader::new(
            &ciphertext[..],
            &PayloadKey::from_bytes([1u8; 32]),
            &BINDING,
        );
        assert!(reader.read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn an_empty_last_segment_after_a_full_one_is_rejected() {
        // Build by hand what a writer never emits: a full segment 0, then an empty last one.
        let cipher = new_cipher(&key());
        let mut first = pattern(SEGMENT_SIZE);
        let tag = cipher
            .encrypt_inout_detached(
                &segment_nonce(0, false),
                &BINDING,
                first.as_mut_slice().into(),
            )
            .unwrap();
        first.extend_from_slice(&tag);
        let mut empty = Vec::new();
        let tag = cipher
            .encrypt_inout_detached(
                &segment_nonce(1, true),
                &BINDING,
                empty.as_mut_slice().into(),
            )
            .unwrap();
        let ciphertext = [first, tag.to_vec()].concat();
        let (_, result) = open(&ciphertext);
        assert!(matches!(result, Err(Error::Corrupted { .. })), "{result:?}");
    }

    #[test]
    fn errors_are_sticky() {
        let ciphertext = seal(&pattern(segments(1, 5)));
        let mut reader = StreamReader::new(&ciphertext[..10], &key(), &BINDING);
        let mut buf = [0u8; 8];
        assert!(reader.read(&mut buf).is_err());
        assert!(reader.read(&mut buf).is_err());
    }

    #[test]
    fn counter_overflow_is_an_error() {
        assert!(matches!(
            next_counter(u64::MAX),
            Err(Error::LimitExceeded { .. })
        ));
        assert_eq!(next_counter(41).unwrap(), 42);
    }

    #[test]
    fn end_of_file_only_after_the_last_segment() {
        let plaintext = pattern(segments(1, 7));
        let ciphertext = seal(&plaintext);
        let mut reader = StreamReader::new(&ciphertext[..], &key(), &BINDING);
        let mut out = vec![0u8; plaintext.len()];
        reader.read_exact(&mut out).unwrap();
        assert_eq!(out, plaintext);
        assert!(reader.is_finished());
        assert_eq!(reader.read(&mut [0u8; 4]).unwrap(), 0);
    }
}
