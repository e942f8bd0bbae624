//! The archive stream: header, records, trailer (`docs/SCHEMA.md`, "Archive stream").
//!
//! The writer and the reader keep one small buffer each, so memory stays constant whatever the
//! number of records. The SHA-256 digest covers every byte before the trailer record and is
//! computed over whole buffers, not per record.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::{
    record::{
        Record, KIND_ATTACHMENT, KIND_CONVERSATION, KIND_MESSAGE, KIND_PARTICIPANT, KIND_REACTION,
        KIND_TRAILER,
    },
    wire::{get_varint, put_varint, FieldReader, FieldWriter, VarintError, MAX_VARINT_LEN},
};
use crate::{store::RecordCounts, Error, Result};

/// First bytes of every archive.
pub const MAGIC: [u8; 8] = *b"KSARCHV\0";
/// Major version written and read by this build; a reader refuses any other major version.
pub const MAJOR_VERSION: u16 = 1;
/// Minor version written by this build; readers accept any minor version of their major.
pub const MINOR_VERSION: u16 = 0;
/// Length of the stream header: magic, major, minor (little endian).
pub const HEADER_LEN: usize = MAGIC.len() + 4;
/// Largest record body accepted, so a damaged length cannot make the reader allocate without
/// bound; the writer refuses larger rows up front, so every archive it writes can be read.
pub const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;

/// Bytes buffered before they are hashed and handed to the sink (and the reader's read size).
const BUFFER_SIZE: usize = 64 * 1024;
/// Kind plus length.
const MAX_RECORD_HEADER: usize = 2 * MAX_VARINT_LEN;

/// Trailer field numbers.
mod trailer {
    pub const CONVERSATIONS: u32 = 1;
    pub const PARTICIPANTS: u32 = 2;
    pub const MESSAGES: u32 = 3;
    pub const REACTIONS: u32 = 4;
    pub const ATTACHMENTS: u32 = 5;
    pub const RECORDS: u32 = 6;
    pub const DIGEST: u32 = 7;
}

/// What a complete archive contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSummary {
    /// Records per known kind.
    pub counts: RecordCounts,
    /// Records of kinds this build does not know (written by a newer writer), skipped.
    pub skipped_records: u64,
    /// Unknown fields inside known records, skipped.
    pub skipped_fields: u64,
    /// SHA-256 of everything before the trailer.
    pub digest: [u8; 32],
}

/// The counter of a known record kind; `None` for kinds this build does not know.
fn count_of_kind(counts: &mut RecordCounts, kind: u64) -> Option<&mut u64> {
    match kind {
        KIND_CONVERSATION => Some(&mut counts.conversations),
        KIND_PARTICIPANT => Some(&mut counts.participants),
        KIND_MESSAGE => Some(&mut counts.messages),
        KIND_REACTION => Some(&mut counts.reactions),
        KIND_ATTACHMENT => Some(&mut counts.attachments),
        _ => None,
    }
}

/// Writes an archive to a sink.
pub struct ArchiveWriter<W: Write> {
    sink: W,
    buf: Vec<u8>,
    body: Vec<u8>,
    hasher: Sha256,
    counts: RecordCounts,
    records: u64,
}

impl<W: Write> ArchiveWriter<W> {
    /// Starts an archive (the header is written with the first flush).
    pub fn new(sink: W) -> ArchiveWriter<W> {
        let mut buf = Vec::with_capacity(BUFFER_SIZE + 1024);
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&MAJOR_VERSION.to_le_bytes());
        buf.extend_from_slice(&MINOR_VERSION.to_le_bytes());
        ArchiveWriter {
            sink,
            buf,
            body: Vec::with_capacity(1024),
            hasher: Sha256::new(),
            counts: RecordCounts::default(),
            records: 0,
        }
    }

    /// Appends one record.
    pub fn write(&mut self, record: &Record) -> Result<()> {
        self.write_with(record.kind(), |body| {
            record.encode_body(body);
            Ok(())
        })
    }

    /// Appends a record of `kind` whose body `encode` appends to the buffer it is given (the
    /// export encodes SQLite rows this way, without building a [`Record`]).
    pub(crate) fn write_with(
        &mut self,
        kind: u64,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        let result = encode(&mut body).and_then(|()| self.append(kind, &body));
        self.body = body;
        result?;
        if let Some(count) = count_of_kind(&mut self.counts, kind) {
            *count = count.saturating_add(1);
        }
        Ok(())
    }

    /// Appends a record of any kind with a ready-made body: what a newer writer's extra kinds
    /// look like to this build (tests).
    #[cfg(test)]
    pub(crate) fn write_raw(&mut self, kind: u64, body: &[u8]) -> Result<()> {
        self.write_with(kind, |out| {
            out.extend_from_slice(body);
            Ok(())
        })
    }

    /// A writer that claims another format version (tests of version handling).
    #[cfg(test)]
    pub(crate) fn with_version(sink: W, major: u16, minor: u16) -> ArchiveWriter<W> {
        let mut writer = ArchiveWriter::new(sink);
        writer.buf.truncate(MAGIC.len());
        writer.buf.extend_from_slice(&major.to_le_bytes());
        writer.buf.extend_from_slice(&minor.to_le_bytes());
        writer
    }

    fn append(&mut self, kind: u64, body: &[u8]) -> Result<()> {
        if body.len() > MAX_RECORD_LEN {
            return Err(Error::LimitExceeded {
                what: "archive record size".into(),
                found: body.len() as u64,
                limit: MAX_RECORD_LEN as u64,
            });
        }
        put_varint(&mut self.buf, kind);
        put_varint(&mut self.buf, body.len() as u64);
        self.buf.extend_from_slice(body);
        self.records = self.records.saturating_add(1);
        if self.buf.len() >= BUFFER_SIZE {
            self.flush_buffer()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> Result<()> {
        self.hasher.update(&self.buf);
        self.sink.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Records of each known kind written so far.
    pub fn counts(&self) -> &RecordCounts {
        &self.counts
    }

    /// Writes the trailer (counts and digest), flushes the sink and returns it.
    pub fn finish(mut self) -> Result<(W, StreamSummary)> {
        self.flush_buffer()?;
        let digest: [u8; 32] = self.hasher.finalize().into();
        let mut body = Vec::with_capacity(96);
        let mut w = FieldWriter::new(&mut body);
        w.uint(trailer::CONVERSATIONS, self.counts.conversations);
        w.uint(trailer::PARTICIPANTS, self.counts.participants);
        w.uint(trailer::MESSAGES, self.counts.messages);
        w.uint(trailer::REACTIONS, self.counts.reactions);
        w.uint(trailer::ATTACHMENTS, self.counts.attachments);
        w.uint(trailer::RECORDS, self.records);
        w.bytes(trailer::DIGEST, &digest);
        put_varint(&mut self.buf, KIND_TRAILER);
        put_varint(&mut self.buf, body.len() as u64);
        self.buf.extend_from_slice(&body);
        self.sink.write_all(&self.buf)?;
        self.sink.flush()?;
        Ok((
            self.sink,
            StreamSummary {
                counts: self.counts,
                skipped_records: 0,
                skipped_fields: 0,
                digest,
            },
        ))
    }
}

/// Reads an archive from a source, record by record, and checks its trailer.
pub struct ArchiveReader<R: Read> {
    source: R,
    buf: Vec<u8>,
    /// Next unread byte.
    start: usize,
    /// End of the valid bytes.
    end: usize,
    /// Bytes before this position have been hashed.
    hashed: usize,
    eof: bool,
    hasher: Sha256,
    counts: RecordCounts,
    records: u64,
    skipped_records: u64,
    skipped_fields: u64,
    minor_version: u16,
    summary: Option<StreamSummary>,
    /// Encoded size of the record last returned.
    last_record_len: usize,
}

impl<R: Read> ArchiveReader<R> {
    /// Reads and checks the stream header.
    pub fn new(source: R) -> Result<ArchiveReader<R>> {
        let mut reader = ArchiveReader {
            source,
            buf: vec![0; BUFFER_SIZE],
            start: 0,
            end: 0,
            hashed: 0,
            eof: false,
            hasher: Sha256::new(),
            counts: RecordCounts::default(),
            records: 0,
            skipped_records: 0,
            skipped_fields: 0,
            minor_version: 0,
            summary: None,
            last_record_len: 0,
        };
        if reader.fill(HEADER_LEN)? < HEADER_LEN {
            return Err(Error::Truncated {
                what: "archive header".into(),
            });
        }
        let header = reader
            .buf
            .get(..HEADER_LEN)
            .ok_or_else(|| corrupted("archive header"))?;
        let (magic, versions) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(corrupted("archive magic (not a Keepsake chat archive)"));
        }
        let major = u16::from_le_bytes([versions[0], versions[1]]);
        let minor = u16::from_le_bytes([versions[2], versions[3]]);
        if major != MAJOR_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "chat archive major version".into(),
                found: major.into(),
                supported: format!("major version {MAJOR_VERSION}"),
            });
        }
        reader.minor_version = minor;
        reader.start = HEADER_LEN;
        Ok(reader)
    }

    /// The minor version of the writer (informational: any minor version is readable).
    pub fn minor_version(&self) -> u16 {
        self.minor_version
    }

    /// The next record, or `None` after the trailer has been read and checked (counts, digest,
    /// end of stream). Unknown kinds and fields are skipped and counted.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            if self.summary.is_some() {
                return Ok(None);
            }
            let available = self.fill(MAX_RECORD_HEADER)?;
            if available == 0 {
                return Err(Error::Truncated {
                    what: format!(
                        "archive ends after {} records without its trailer",
                        self.records
                    ),
                });
            }
            let number = self.records.saturating_add(1);
            let (kind, body_len, header_len) = {
                let head = self.buf.get(self.start..self.end).unwrap_or_default();
                let incomplete = || Error::Truncated {
                    what: format!("archive record {number} header"),
                };
                let (kind, used_kind) = get_varint(head).map_err(|e| match e {
                    VarintError::Incomplete => incomplete(),
                    VarintError::Overflow => corrupted(&format!("archive record {number} kind")),
                })?;
                let (len, used_len) = get_varint(head.get(used_kind..).unwrap_or_default())
                    .map_err(|e| match e {
                        VarintError::Incomplete => incomplete(),
                        VarintError::Overflow => {
                            corrupted(&format!("archive record {number} length"))
                        }
                    })?;
                (kind, len, used_kind + used_len)
            };
            if body_len > MAX_RECORD_LEN as u64 {
                return Err(Error::LimitExceeded {
                    what: format!("archive record {number} size"),
                    found: body_len,
                    limit: MAX_RECORD_LEN as u64,
                });
            }
            let total = header_len + body_len as usize;
            if self.fill(total)? < total {
                return Err(Error::Truncated {
                    what: format!("archive record {number}"),
                });
            }
            let record_start = self.start;
            let body = self
                .buf
                .get(record_start + header_len..record_start + total)
                .unwrap_or_default();
            if kind == KIND_TRAILER {
                let trailer = parse_trailer(body)?;
                self.hasher
                    .update(self.buf.get(self.hashed..record_start).unwrap_or_default());
                self.hashed = record_start;
                self.start = record_start + total;
                self.finish_trailer(trailer)?;
                return Ok(None);
            }
            let decoded = Record::decode(kind, body).map_err(|why| {
                corrupted(&format!("archive record {number} (kind {kind}): {why}"))
            })?;
            self.start = record_start + total;
            self.records = number;
            self.last_record_len = total;
            match decoded {
                Some((record, unknown_fields)) => {
                    self.skipped_fields = self.skipped_fields.saturating_add(unknown_fields);
                    if let Some(count) = count_of_kind(&mut self.counts, record.kind()) {
                        *count = count.saturating_add(1);
                    }
                    return Ok(Some(record));
                }
                None => self.skipped_records = self.skipped_records.saturating_add(1),
            }
        }
    }

    /// Encoded size (header and body) of the record last returned by
    /// [`next_record`](Self::next_record): what a consumer batching records counts.
    pub fn last_record_len(&self) -> usize {
        self.last_record_len
    }

    /// The checked summary, once [`next_record`](Self::next_record) has returned `None`.
    pub fn summary(&self) -> Option<&StreamSummary> {
        self.summary.as_ref()
    }

    /// Records of each known kind read so far.
    pub fn counts(&self) -> &RecordCounts {
        &self.counts
    }

    fn finish_trailer(&mut self, trailer: Trailer) -> Result<()> {
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if digest != trailer.digest {
            return Err(corrupted("archive digest does not match its records"));
        }
        if trailer.counts != self.counts || trailer.records != self.records {
            return Err(corrupted(&format!(
                "archive trailer announces {:?} ({} records) but the stream holds {:?} ({} records)",
                trailer.counts, trailer.records, self.counts, self.records
            )));
        }
        if self.fill(1)? > 0 {
            return Err(corrupted("data after the archive trailer"));
        }
        self.summary = Some(StreamSummary {
            counts: self.counts,
            skipped_records: self.skipped_records,
            skipped_fields: self.skipped_fields,
            digest,
        });
        Ok(())
    }

    /// Makes at least `wanted` unread bytes available unless the source ends first; returns how
    /// many are available. Consumed bytes are hashed before they leave the buffer.
    fn fill(&mut self, wanted: usize) -> Result<usize> {
        if self.end - self.start >= wanted || self.eof {
            return Ok(self.end - self.start);
        }
        self.hasher
            .update(self.buf.get(self.hashed..self.start).unwrap_or_default());
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.hashed = 0;
        if wanted > self.buf.len() {
            self.buf.resize(wanted, 0);
        } else if self.buf.len() > BUFFER_SIZE && wanted.max(self.end) <= BUFFER_SIZE {
            // A large record has passed; give its memory back.
            self.buf.truncate(BUFFER_SIZE);
            self.buf.shrink_to_fit();
        }
        while self.end < wanted {
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.source.read(free) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from(e)),
            }
        }
        Ok(self.end)
    }
}

struct Trailer {
    counts: RecordCounts,
    records: u64,
    digest: [u8; 32],
}

fn parse_trailer(body: &[u8]) -> Result<Trailer> {
    let bad = |why: &str| corrupted(&format!("archive trailer: {why}"));
    let mut fields = FieldReader::new(body);
    let mut values: [Option<u64>; 6] = [None; 6];
    let mut digest = None;
    while let Some((field, value)) = fields.next_field().map_err(bad)? {
        match field {
            1..=6 => {
                let slot = values
                    .get_mut(field as usize - 1)
                    .ok_or_else(|| bad("field"))?;
                if slot.replace(value.varint().map_err(bad)?).is_some() {
                    return Err(bad("repeated field"));
                }
            }
            7 => {
                let bytes = value.bytes().map_err(bad)?;
                let hash = <[u8; 32]>::try_from(bytes).map_err(|_| bad("digest length"))?;
                if digest.replace(hash).is_some() {
                    return Err(bad("repeated field"));
                }
            }
            _ => {} // a newer writer's extra totals: not ours to check
        }
    }
    let [Some(conversations), Some(participants), Some(messages), Some(reactions), Some(attachments), Some(records)] =
        values
    else {
        return Err(bad("missing count"));
    };
    Ok(Trailer {
        counts: RecordCounts {
            conversations,
            participants,
            messages,
            reactions,
            attachments,
        },
        records,
        digest: digest.ok_or_else(|| bad("missing digest"))?,
    })
}

fn corrupted(what: &str) -> Error {
    Error::Corrupted {
        what: what.to_string(),
    }
}
