//! The media catalog: a snapshot's second stream, one record per attachment, naming the media
//! chunks that hold its bytes. It lives in the repository layer because prune and check must
//! know every chunk a snapshot keeps alive; `crate::media` writes and reads it.
//!
//! # Record (ascending, unique attachment ids)
//!
//! ```text
//! u32 body length || body
//! body = i64 attachment id || i64 conversation id || i64 sent at (the message's, unix ms)
//!     || u8 state (0 stored, 1 absent, 2 skipped) || u64 size || 32 SHA-256 (zeros unless stored)
//!     || i64 modified (the source's stamp; 0 unknown)
//!     || u16 mime length || mime (UTF-8) || u16 reference length || local reference (UTF-8)
//!     || u32 chunk count || count x chunk id (32)   (no chunk unless stored)
//! ```
//!
//! The stream is chunked and listed like the archive, so an unchanged attachment's record is
//! byte-identical from one day to the next and most catalog chunks deduplicate.

use std::{
    io::{self, Read},
    sync::Arc,
};

use super::{
    codec::Reader, fetch::ChunkFetcher, keys::ChunkId, reader::SnapshotReader, snapshot::Snapshot,
};
use crate::{Error, Result};

/// Largest record body accepted: 8 MiB, a file of about 128 GiB in 512 KiB chunks.
pub const MAX_RECORD_LEN: u32 = 8 * 1024 * 1024;
/// Longest mime type or local reference.
pub const MAX_TEXT_LEN: usize = 4096;

/// What became of an attachment's bytes in a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryState {
    /// The bytes are in the repository.
    Stored,
    /// The bytes were not on the device (never downloaded, deleted).
    Absent,
    /// Left out by the backup's media options (videos, size limit, excluded conversation).
    Skipped,
}

impl EntryState {
    fn code(self) -> u8 {
        match self {
            EntryState::Stored => 0,
            EntryState::Absent => 1,
            EntryState::Skipped => 2,
        }
    }

    fn from_code(code: u8) -> Result<EntryState> {
        match code {
            0 => Ok(EntryState::Stored),
            1 => Ok(EntryState::Absent),
            2 => Ok(EntryState::Skipped),
            other => Err(Error::Corrupted {
                what: format!("media catalog: unknown state {other}"),
            }),
        }
    }
}

/// One attachment in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The attachment's id (`attachments.id`).
    pub attachment_id: i64,
    /// Its message's conversation.
    pub conversation_id: i64,
    /// Its message's `sent_at`.
    pub sent_at: i64,
    /// What became of its bytes.
    pub state: EntryState,
    /// Bytes of the file (0 unless stored).
    pub size: u64,
    /// SHA-256 of the file (zeros unless stored).
    pub sha256: [u8; 32],
    /// The source's modification stamp when it was read (0 unknown): with the size, it tells
    /// the next backup the file is unchanged and need not be read again.
    pub modified: i64,
    /// MIME type.
    pub mime: String,
    /// Where the app kept the file (`attachments.local_ref`; empty when none).
    pub local_ref: String,
    /// The media chunks of the file, in order.
    pub chunks: Vec<ChunkId>,
}

impl CatalogEntry {
    /// The record's bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mime = clip(&self.mime);
        let local_ref = clip(&self.local_ref);
        let body_len = 8 * 3
            + 1
            + 8
            + 32
            + 8
            + 2
            + mime.len()
            + 2
            + local_ref.len()
            + 4
            + 32 * self.chunks.len();
        out.reserve(4 + body_len);
        out.extend_from_slice(&(body_len as u32).to_be_bytes());
        out.extend_from_slice(&self.attachment_id.to_be_bytes());
        out.extend_from_slice(&self.conversation_id.to_be_bytes());
        out.extend_from_slice(&self.sent_at.to_be_bytes());
        out.push(self.state.code());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.sha256);
        out.extend_from_slice(&self.modified.to_be_bytes());
        for text in [mime, local_ref] {
            out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        out.extend_from_slice(&(self.chunks.len() as u32).to_be_bytes());
        for id in &self.chunks {
            out.extend_from_slice(id);
        }
    }

    fn decode(body: &[u8]) -> Result<CatalogEntry> {
        let mut r = Reader::new(body, "media catalog record");
        let attachment_id = r.u64("attachment id")? as i64;
        let conversation_id = r.u64("conversation id")? as i64;
        let sent_at = r.u64("sent at")? as i64;
        let state = EntryState::from_code(r.u8("state")?)?;
        let size = r.u64("size")?;
        let sha256 = r.array("sha256")?;
        let modified = r.u64("modified")? as i64;
        let mime = text(&mut r, "mime")?;
        let local_ref = text(&mut r, "local reference")?;
        let count = r.u32("chunk count")?;
        let count = r.count(
            count.into(),
            32,
            u64::from(MAX_RECORD_LEN) / 32,
            "chunk count",
        )?;
        let mut chunks = Vec::with_capacity(count);
        for _ in 0..count {
            chunks.push(r.array("chunk id")?);
        }
        r.finish()?;
        let consistent = match state {
            EntryState::Stored => size == 0 || !chunks.is_empty(),
            EntryState::Absent | EntryState::Skipped => chunks.is_empty() && size == 0,
        };
        if !consistent {
            return Err(Error::Corrupted {
                what: format!(
                    "media catalog: attachment {attachment_id}: chunks do not match its state"
                ),
            });
        }
        Ok(CatalogEntry {
            attachment_id,
            conversation_id,
            sent_at,
            state,
            size,
            sha256,
            modified,
            mime,
            local_ref,
            chunks,
        })
    }
}

/// Texts longer than [`MAX_TEXT_LEN`] are cut at a character boundary (an app's reference is a
/// path or a key; a longer one is not a reference).
fn clip(text: &str) -> &str {
    if text.len() <= MAX_TEXT_LEN {
        return text;
    }
    let mut end = MAX_TEXT_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn text(r: &mut Reader<'_>, what: &str) -> Result<String> {
    let len = r.u16(what)?;
    r.utf8_with_len(len.into(), 0, MAX_TEXT_LEN, what)
}

/// Reads catalog records from a stream, checking that ids ascend.
pub struct CatalogReader<R: Read> {
    source: R,
    last_id: Option<i64>,
}

impl<R: Read> CatalogReader<R> {
    /// Records from `source` (a catalog stream).
    pub fn new(source: R) -> CatalogReader<R> {
        CatalogReader {
            source,
            last_id: None,
        }
    }

    /// The next record, or `None` at the end of the stream.
    pub fn next_entry(&mut self) -> Result<Option<CatalogEntry>> {
        let mut len = [0u8; 4];
        match read_full(&mut self.source, &mut len)? {
            0 => return Ok(None),
            4 => {}
            _ => {
                return Err(Error::Truncated {
                    what: "media catalog: record length".into(),
                })
            }
        }
        let len = u32::from_be_bytes(len);
        if len > MAX_RECORD_LEN {
            return Err(Error::LimitExceeded {
                what: "media catalog record".into(),
                found: len.into(),
                limit: MAX_RECORD_LEN.into(),
            });
        }
        let mut body = vec![0u8; len as usize];
        if read_full(&mut self.source, &mut body)? != body.len() {
            return Err(Error::Truncated {
                what: "media catalog: record".into(),
            });
        }
        let entry = CatalogEntry::decode(&body)?;
        if self.last_id.is_some_and(|last| entry.attachment_id <= last) {
            return Err(Error::Corrupted {
                what: format!(
                    "media catalog: attachment {} out of order",
                    entry.attachment_id
                ),
            });
        }
        self.last_id = Some(entry.attachment_id);
        Ok(Some(entry))
    }
}

impl<R: Read> Iterator for CatalogReader<R> {
    type Item = Result<CatalogEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// The media catalog of `snapshot` as records (an empty reader for a snapshot without media).
pub fn entries<'r>(
    fetcher: Arc<ChunkFetcher<'r>>,
    snapshot: &Snapshot,
) -> CatalogReader<SnapshotReader<'r>> {
    let stream = snapshot
        .catalog
        .clone()
        .unwrap_or(super::snapshot::ListedStream {
            lists: Vec::new(),
            bytes: 0,
            chunks: 0,
        });
    let label = format!("media catalog of snapshot {}", snapshot.info.id);
    CatalogReader::new(SnapshotReader::stream(fetcher, &stream, label))
}

/// Every chunk `snapshot` keeps alive in the media part, for prune and check: the catalog's
/// list and data chunks (`each(id, false)`), then every stored file's chunks (`each(id, true)`).
pub fn media_chunks(
    fetcher: &Arc<ChunkFetcher<'_>>,
    snapshot: &Snapshot,
    each: &mut dyn FnMut(&ChunkId, bool) -> Result<()>,
) -> Result<()> {
    let Some(catalog) = &snapshot.catalog else {
        return Ok(());
    };
    for list in &catalog.lists {
        each(list, false)?;
        for id in fetcher.read_list(list)? {
            each(&id, false)?;
        }
    }
    for entry in entries(fetcher.clone(), snapshot) {
        for id in &entry?.chunks {
            each(id, true)?;
        }
    }
    Ok(())
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(source: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Error::from(err)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, state: EntryState, chunks: usize) -> CatalogEntry {
        CatalogEntry {
            attachment_id: id,
            conversation_id: 7,
            sent_at: 1_700_000_000_000,
            state,
            size: if chunks > 0 { 1000 } else { 0 },
            sha256: [3; 32],
            modified: 42,
            mime: "image/jpeg".into(),
            local_ref: "media/é.jpg".into(),
            chunks: (0..chunks).map(|i| [i as u8; 32]).collect(),
        }
    }

    #[test]
    fn records_round_trip_in_order_and_out_of_order_is_refused() {
        let entries = [
            entry(1, EntryState::Stored, 2),
            entry(2, EntryState::Absent, 0),
            entry(9, EntryState::Skipped, 0),
        ];
        let mut bytes = Vec::new();
        for e in &entries {
            e.encode(&mut bytes);
        }
        let read: Vec<CatalogEntry> = CatalogReader::new(&bytes[..])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(read, entries);

        let mut swapped = Vec::new();
        entries[1].encode(&mut swapped);
        entries[0].encode(&mut swapped);
        let err = CatalogReader::new(&swapped[..])
            .nth(1)
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
    }

    #[test]
    fn truncated_and_inconsistent_records_are_typed_errors() {
        let mut bytes = Vec::new();
        entry(1, EntryState::Stored, 2).encode(&mut bytes);
        for cut in 1..bytes.len() {
            let err = CatalogReader::new(&bytes[..cut])
                .next()
                .unwrap()
                .unwrap_err();
            assert!(
                matches!(err, Error::Truncated { .. } | Error::Corrupted { .. }),
                "cut at {cut}: {err:?}"
            );
        }
        let mut absent_with_chunks = entry(1, EntryState::Absent, 1);
        absent_with_chunks.size = 0;
        let mut bytes = Vec::new();
        absent_with_chunks.encode(&mut bytes);
        let err = CatalogReader::new(&bytes[..]).next().unwrap().unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
    }
}
