//! Reading a snapshot back as a byte stream (`Read`): list chunks give the data-chunk ids,
//! which [`ChunkFetcher`] reads in batches, authenticated and checked against their ids.
//!
//! Memory stays flat: one list chunk's ids and at most one batch of sealed chunks are held at
//! a time, whatever the snapshot's size.

use std::{
    collections::VecDeque,
    io::{self, Read},
    sync::Arc,
};

use super::{
    fetch::{ChunkFetcher, ReadAhead},
    history::History,
    inventory::Inventory,
    keys::ChunkId,
    snapshot::{self, ListedStream, Snapshot},
    Repository, SnapshotId, SnapshotInfo,
};
use crate::{Error, Result};

/// Snapshot `id`, or the newest intact one when `None` ([`History`]). A damaged snapshot asked
/// for by id is the error that makes it damaged.
pub fn find_snapshot(
    repo: &Repository,
    inventory: &Inventory,
    id: Option<&SnapshotId>,
) -> Result<Snapshot> {
    match id {
        Some(id) => {
            if !inventory.snapshots.contains_key(&id.object_name()) {
                return Err(Error::ObjectMissing {
                    name: id.object_name(),
                });
            }
            snapshot::load(repo, &id.object_name())
        }
        None => {
            let history = History::load(repo, inventory, None)?;
            if !history.damaged.is_empty() {
                log::warn!(
                    "{} damaged snapshot object(s) skipped; the newest intact snapshot is used",
                    history.damaged.len()
                );
            }
            history.latest().cloned().ok_or_else(|| {
                if history.damaged.is_empty() {
                    Error::InvalidArgument("the repository has no snapshot".into())
                } else {
                    Error::Corrupted {
                        what: format!(
                            "every snapshot is damaged ({}: {})",
                            history.damaged[0].name, history.damaged[0].reason
                        ),
                    }
                }
            })
        }
    }
}

/// A snapshot's stream (the archive, or the media catalog). `read` returns EOF only after the
/// last chunk, once the byte and chunk counts match the manifest; a mismatch is
/// [`Error::Corrupted`].
pub struct SnapshotReader<'r> {
    fetcher: Arc<ChunkFetcher<'r>>,
    /// Reads in flight, started lazily on the first read.
    ahead: Option<ReadAhead<'r>>,
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
    /// Opens snapshot `id` (the newest intact one when `None`) and resolves the index, from
    /// one listing of the store.
    pub fn open(
        repo: &'r Repository,
        id: Option<&SnapshotId>,
    ) -> Result<(SnapshotInfo, SnapshotReader<'r>)> {
        let inventory = Inventory::take(repo.store().as_ref())?;
        let snapshot = find_snapshot(repo, &inventory, id)?;
        let fetcher = Arc::new(ChunkFetcher::open_with(repo, &inventory)?);
        let label = format!("snapshot {}", snapshot.info.id);
        let reader = SnapshotReader::stream(fetcher, &snapshot.archive(), label);
        Ok((snapshot.info, reader))
    }

    /// A reader of `stream`, one of a snapshot's streams, through a fetcher already made.
    pub fn stream(
        fetcher: Arc<ChunkFetcher<'r>>,
        stream: &ListedStream,
        label: String,
    ) -> SnapshotReader<'r> {
        SnapshotReader {
            fetcher,
            ahead: None,
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

    /// Keeps reads in flight ahead of the consumer and takes the oldest one's chunks; false
    /// at the end of the stream.
    fn fill(&mut self) -> Result<bool> {
        let ahead = match &mut self.ahead {
            Some(ahead) => ahead,
            None => self.ahead.insert(ReadAhead::new(self.fetcher.clone())?),
        };
        while ahead.has_room() {
            if self.ids.is_empty() {
                match self.lists.pop_front() {
                    Some(list) => self.ids = self.fetcher.read_list(&list)?.into(),
                    None => break,
                }
                continue;
            }
            let ids = self.ids.make_contiguous();
            let batch: Vec<ChunkId> = ids[..self.fetcher.batch_len(ids)].to_vec();
            self.ids.drain(..batch.len());
            for run in self.fetcher.plan(&batch)? {
                ahead.push(run)?;
            }
        }
        let mut out = Vec::new();
        if !ahead.pop(&mut out)? {
            return Ok(false);
        }
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
