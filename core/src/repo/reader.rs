//! Reading a snapshot back as a byte stream (`Read`), fetching chunks by byte range and
//! authenticating each one; neighbouring chunks of one pack are fetched in one ranged read.
//!
//! Memory stays flat: one list chunk's ids and at most [`BATCH_BYTES`] of sealed chunks are
//! held at a time, whatever the snapshot's size.

use std::{
    collections::VecDeque,
    io::{self, Read},
    sync::Arc,
};

use super::{
    index::{Index, Location},
    keys::ChunkId,
    pack,
    snapshot::{self, ListedStream, Snapshot},
    ByteRange, Repository, SnapshotId, SnapshotInfo, SNAPSHOT_PREFIX,
};
use crate::{Error, Result};

/// Most sealed bytes fetched in one batch.
pub const BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// Loads every index object of the repository from its store.
pub fn load_index(repo: &Repository) -> Result<Index> {
    Index::load(repo.store().as_ref(), repo.keys(), |name| {
        repo.store().get(name, None)
    })
}

/// The snapshot `id`, or the latest ([`SnapshotInfo::order_key`]) when `None`.
pub fn find_snapshot(repo: &Repository, id: Option<&SnapshotId>) -> Result<Snapshot> {
    match id {
        Some(id) => snapshot::load(repo, &id.object_name()),
        None => {
            let mut latest: Option<Snapshot> = None;
            for name in repo.store().list_names(SNAPSHOT_PREFIX)? {
                let snap = snapshot::load(repo, &name)?;
                let newer = latest
                    .as_ref()
                    .is_none_or(|l| snap.info.order_key() > l.info.order_key());
                if newer {
                    latest = Some(snap);
                }
            }
            latest.ok_or_else(|| Error::InvalidArgument("the repository has no snapshot".into()))
        }
    }
}

/// Fetches and opens the chunks `ids` (in order), coalescing neighbours in one pack into one
/// ranged get. Every chunk must be in `index`.
pub fn fetch_chunks(
    repo: &Repository,
    index: &Index,
    ids: &[ChunkId],
    out: &mut Vec<Vec<u8>>,
) -> Result<()> {
    let mut located = Vec::with_capacity(ids.len());
    for id in ids {
        let loc = index.get(id).ok_or_else(|| Error::ObjectMissing {
            name: format!("chunk {} (not in the index)", hex::encode(id)),
        })?;
        located.push((id, loc));
    }
    let mut start = 0;
    while start < located.len() {
        // A run of chunks lying back to back in one pack.
        let (_, first) = located[start];
        let mut end = start + 1;
        let mut run_end = u64::from(first.offset) + u64::from(first.length);
        while let Some((_, next)) = located.get(end) {
            let contiguous = next.pack == first.pack && u64::from(next.offset) == run_end;
            if !contiguous
                || run_end - u64::from(first.offset) + u64::from(next.length) > BATCH_BYTES
            {
                break;
            }
            run_end += u64::from(next.length);
            end += 1;
        }
        let (pack_name, epoch) = index.pack_name(first.pack);
        let len = run_end - u64::from(first.offset);
        let bytes = repo.store().get(
            pack_name,
            Some(ByteRange {
                offset: first.offset.into(),
                len,
            }),
        )?;
        if (bytes.len() as u64) < len {
            return Err(Error::Truncated {
                what: format!(
                    "pack {pack_name}: ends before chunk data at offset {}",
                    first.offset
                ),
            });
        }
        let keys = repo.keys().epoch(epoch, &format!("pack {pack_name}"))?;
        for (id, loc) in located.get(start..end).unwrap_or_default() {
            let from = (loc.offset - first.offset) as usize;
            let sealed = bytes
                .get(from..from + loc.length as usize)
                .unwrap_or_default();
            out.push(pack::open_chunk(keys, id, loc.raw_len, sealed)?);
        }
        start = end;
    }
    Ok(())
}

/// How many of the leading `ids` to fetch together: their sealed lengths stay within
/// [`BATCH_BYTES`] (at least one id, however large).
pub fn batch_len(index: &Index, ids: &[ChunkId]) -> usize {
    let mut bytes = 0u64;
    let mut len = 0;
    for id in ids {
        let length = index.get(id).map_or(0, |l: Location| u64::from(l.length));
        if len > 0 && bytes + length > BATCH_BYTES {
            break;
        }
        bytes += length;
        len += 1;
    }
    len
}

/// The data-chunk ids of list chunk `id`.
pub fn read_list(repo: &Repository, index: &Index, id: &ChunkId) -> Result<Vec<ChunkId>> {
    let mut out = Vec::with_capacity(1);
    fetch_chunks(repo, index, std::slice::from_ref(id), &mut out)?;
    snapshot::decode_list(out.first().map(Vec::as_slice).unwrap_or_default(), id)
}

/// A snapshot's stream (the archive, or the media catalog). `read` returns EOF only after the
/// last chunk, once the byte and chunk counts match the manifest; a mismatch is
/// [`Error::Corrupted`].
pub struct SnapshotReader<'r> {
    repo: &'r Repository,
    index: Arc<Index>,
    /// Names the stream in errors ("snapshot <id>" or "media catalog of snapshot <id>").
    label: String,
    expected_bytes: u64,
    expected_chunks: u64,
    lists: VecDeque<ChunkId>,
    ids: VecDeque<ChunkId>,
    ready: VecDeque<Vec<u8>>,
    position: usize,
    bytes: u64,
    chunks: u64,
    ended: bool,
}

impl<'r> SnapshotReader<'r> {
    /// Opens snapshot `id` (the latest when `None`) and loads the index.
    pub fn open(
        repo: &'r Repository,
        id: Option<&SnapshotId>,
    ) -> Result<(SnapshotInfo, SnapshotReader<'r>)> {
        let snapshot = find_snapshot(repo, id)?;
        let index = Arc::new(load_index(repo)?);
        let label = format!("snapshot {}", snapshot.info.id);
        let reader = SnapshotReader::stream(repo, index, &snapshot.archive(), label);
        Ok((snapshot.info, reader))
    }

    /// A reader of `stream`, one of a snapshot's streams, through an index already loaded.
    pub fn stream(
        repo: &'r Repository,
        index: Arc<Index>,
        stream: &ListedStream,
        label: String,
    ) -> SnapshotReader<'r> {
        SnapshotReader {
            repo,
            index,
            label,
            expected_bytes: stream.bytes,
            expected_chunks: stream.chunks,
            lists: stream.lists.clone().into(),
            ids: VecDeque::new(),
            ready: VecDeque::new(),
            position: 0,
            bytes: 0,
            chunks: 0,
            ended: false,
        }
    }

    /// Fetches the next batch of chunks; false at the end of the stream.
    fn fill(&mut self) -> Result<bool> {
        while self.ids.is_empty() {
            match self.lists.pop_front() {
                Some(list) => self.ids = read_list(self.repo, &self.index, &list)?.into(),
                None => return Ok(false),
            }
        }
        let ids = self.ids.make_contiguous();
        let batch: Vec<ChunkId> = ids[..batch_len(&self.index, ids)].to_vec();
        self.ids.drain(..batch.len());
        let mut out = Vec::with_capacity(batch.len());
        fetch_chunks(self.repo, &self.index, &batch, &mut out)?;
        for chunk in &out {
            self.bytes += chunk.len() as u64;
            self.chunks += 1;
        }
        self.ready.extend(out);
        Ok(true)
    }

    fn check_end(&self) -> Result<()> {
        if self.bytes != self.expected_bytes || self.chunks != self.expected_chunks {
            return Err(Error::Corrupted {
                what: format!(
                    "{}: stream has {} bytes in {} chunks, the manifest says {} in {}",
                    self.label, self.bytes, self.chunks, self.expected_bytes, self.expected_chunks
                ),
            });
        }
        Ok(())
    }

    fn read_inner(&mut self, out: &mut [u8]) -> Result<usize> {
        loop {
            if let Some(front) = self.ready.front() {
                let available = front.get(self.position..).unwrap_or_default();
                if available.is_empty() {
                    self.ready.pop_front();
                    self.position = 0;
                    continue;
                }
                let n = available.len().min(out.len());
                out.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(available.get(..n).unwrap_or_default());
                self.position += n;
                return Ok(n);
            }
            if self.ended || out.is_empty() {
                return Ok(0);
            }
            if !self.fill()? {
                self.check_end()?;
                self.ended = true;
            }
        }
    }
}

impl Read for SnapshotReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.read_inner(out).map_err(Error::into_io)
    }
}
