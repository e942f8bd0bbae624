//! Fetching chunks by id: ranged reads through the resolved index, each chunk authenticated
//! and checked against its id, with another copy tried when one fails.
//!
//! Neighbouring chunks of one pack are read in one ranged get of at most [`BATCH_BYTES`].
//! Every read is widened to [`READ_ALIGN`] boundaries, so the ranges a restore or a one-photo
//! fetch asks for show the store where chunks lie only to that granularity, never a chunk's
//! exact extent (the chunker's lengths stay hidden: `repo::chunker`).
//!
//! A copy that is missing or fails to authenticate is remembered for the rest of the run and
//! written as a damage note when the fetcher is dropped (`repo::damage`), so the next backup
//! uploads a fresh copy; the read goes on with the chunk's next copy, if the index knows one.

use std::{
    collections::{HashSet, VecDeque},
    sync::{mpsc, Arc, Mutex, PoisonError},
    thread::JoinHandle,
};

use super::{
    damage::{self, DamagedChunk},
    index::{Index, Location},
    inventory::Inventory,
    keys::ChunkId,
    pack,
    resolve::{self, is_damage},
    snapshot, BlobStore, ByteRange, Repository,
};
use crate::{Error, Result};

/// Most sealed bytes fetched in one batch.
pub const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// Reads start and end on multiples of this many bytes (or the pack's end).
pub const READ_ALIGN: u64 = 256 * 1024;

/// One ranged read: chunks lying back to back in one pack.
#[derive(Debug, Clone)]
pub struct Run {
    /// The pack (a number of the fetcher's index).
    pack: u32,
    /// First byte of the first chunk.
    start: u64,
    /// First byte after the last chunk.
    end: u64,
    /// The chunks, in order.
    chunks: Vec<(ChunkId, Location)>,
}

impl Run {
    /// Sealed bytes of the run's chunks.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the run holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

/// Fetches chunks of one repository through one resolved index.
pub struct ChunkFetcher<'r> {
    repo: &'r Repository,
    index: Arc<Index>,
    /// Copies found bad in this run: (pack number, offset).
    bad: Mutex<HashSet<(u32, u32)>>,
    /// The same, to record as a damage note.
    found: Mutex<Vec<DamagedChunk>>,
}

impl<'r> ChunkFetcher<'r> {
    /// A fetcher over the repository's index, resolved from a fresh listing (`repo::resolve`).
    pub fn open(repo: &'r Repository) -> Result<ChunkFetcher<'r>> {
        let inventory = Inventory::take(repo.store().as_ref())?;
        Self::open_with(repo, &inventory)
    }

    /// [`open`](Self::open) from a listing already taken.
    pub fn open_with(repo: &'r Repository, inventory: &Inventory) -> Result<ChunkFetcher<'r>> {
        let damage = damage::load(repo, inventory)?;
        let mut resolved = resolve::resolve(repo, inventory, None, &damage)?;
        // A reader tries a pack whose size changed only when no other copy is left: its chunks
        // may still open, and if not, the error says what was found there.
        for pack in &resolved.resized_entries {
            resolved.index.add_pack(pack);
        }
        Ok(ChunkFetcher::new(repo, Arc::new(resolved.index)))
    }

    /// A fetcher over an index already resolved.
    pub fn new(repo: &'r Repository, index: Arc<Index>) -> ChunkFetcher<'r> {
        ChunkFetcher {
            repo,
            index,
            bad: Mutex::default(),
            found: Mutex::default(),
        }
    }

    /// The index chunks are found through.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// The repository.
    pub fn repo(&self) -> &'r Repository {
        self.repo
    }

    fn is_bad(&self, location: &Location) -> bool {
        self.bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(location.pack, location.offset))
    }

    fn mark_bad(&self, id: &ChunkId, location: &Location, why: &Error) {
        log::warn!(
            "chunk {} in pack {} at {} is unusable: {why}",
            hex::encode(id),
            self.index.pack(location.pack).name,
            location.offset
        );
        let fresh = self
            .bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((location.pack, location.offset));
        if fresh {
            self.found
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(DamagedChunk::at(&self.index, id, location));
        }
    }

    /// The copies of `id` not yet found bad, preferred first.
    fn usable(&self, id: &ChunkId) -> impl Iterator<Item = Location> + '_ {
        self.index.locations(id).filter(|l| !self.is_bad(l))
    }

    /// How many of the leading `ids` to fetch together: their sealed lengths stay within
    /// [`BATCH_BYTES`] (at least one id, however large).
    pub fn batch_len(&self, ids: &[ChunkId]) -> usize {
        let mut bytes = 0u64;
        let mut len = 0;
        for id in ids {
            let length = self.index.get(id).map_or(0, |l| u64::from(l.length));
            if len > 0 && bytes + length > BATCH_BYTES {
                break;
            }
            bytes += length;
            len += 1;
        }
        len
    }

    /// The ranged reads that fetch `ids` (in order): runs of chunks lying back to back in one
    /// pack, each at most [`BATCH_BYTES`], widened to [`READ_ALIGN`].
    pub fn plan(&self, ids: &[ChunkId]) -> Result<Vec<Run>> {
        let mut runs: Vec<Run> = Vec::new();
        for id in ids {
            let location = self.usable(id).next().ok_or_else(|| missing(id))?;
            let extends = runs.last().is_some_and(|run| {
                run.pack == location.pack
                    && run.end == u64::from(location.offset)
                    && run.end - run.start + u64::from(location.length) <= BATCH_BYTES
            });
            match runs.last_mut() {
                Some(run) if extends => {
                    run.end += u64::from(location.length);
                    run.chunks.push((*id, location));
                }
                _ => runs.push(Run {
                    pack: location.pack,
                    start: u64::from(location.offset),
                    end: u64::from(location.offset) + u64::from(location.length),
                    chunks: vec![(*id, location)],
                }),
            }
        }
        Ok(runs)
    }

    /// The ranged get that reads `run`: the pack's name and the aligned range.
    pub fn request(&self, run: &Run) -> (String, ByteRange) {
        let info = self.index.pack(run.pack);
        let window_start = run.start - run.start % READ_ALIGN;
        let mut window_end = run.end.div_ceil(READ_ALIGN) * READ_ALIGN;
        if let Some(size) = info.size {
            window_end = window_end.min(size.max(run.end));
        }
        (
            info.name.clone(),
            ByteRange {
                offset: window_start,
                len: window_end - window_start,
            },
        )
    }

    /// Opens the chunks of `run` from `read`, the answer to its [`request`](Self::request);
    /// a chunk that fails (or a read that failed) is fetched from its next copy.
    pub fn open_run(&self, run: &Run, read: Result<Vec<u8>>, out: &mut Vec<Vec<u8>>) -> Result<()> {
        let (_, range) = self.request(run);
        let read = read.and_then(|bytes| {
            if range.offset + (bytes.len() as u64) < run.end {
                // Objects are written whole: a pack shorter than its index says was damaged or
                // replaced.
                Err(Error::Corrupted {
                    what: format!(
                        "pack {}: ends before chunk data at offset {} (damaged or replaced)",
                        self.index.pack(run.pack).name,
                        run.start
                    ),
                })
            } else {
                Ok(bytes)
            }
        });
        match read {
            Ok(bytes) => {
                for (id, location) in &run.chunks {
                    let from = (u64::from(location.offset) - range.offset) as usize;
                    let sealed = bytes
                        .get(from..from + location.length as usize)
                        .unwrap_or_default();
                    match self.open_copy(id, location, sealed) {
                        Ok(chunk) => out.push(chunk),
                        Err(err) if is_damage(&err) => {
                            self.mark_bad(id, location, &err);
                            out.push(self.fetch_other_copy(id, err)?);
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
            Err(err) if is_damage(&err) || matches!(err, Error::ObjectMissing { .. }) => {
                for (id, location) in &run.chunks {
                    self.mark_bad(id, location, &err);
                    out.push(self.fetch_other_copy(id, restate(&err))?);
                }
            }
            Err(err) => return Err(err),
        }
        Ok(())
    }

    /// Reads `run` now, on this thread.
    fn read(&self, run: &Run) -> Result<Vec<u8>> {
        let (name, range) = self.request(run);
        self.repo.store().get(&name, Some(range))
    }

    /// Fetches and opens the chunks `ids` (in order), appending them to `out`, one ranged read
    /// after the other on this thread (see [`ReadAhead`] for reads in flight side by side).
    pub fn fetch(&self, ids: &[ChunkId], out: &mut Vec<Vec<u8>>) -> Result<()> {
        for run in self.plan(ids)? {
            let read = self.read(&run);
            self.open_run(&run, read, out)?;
        }
        Ok(())
    }

    fn open_copy(&self, id: &ChunkId, location: &Location, sealed: &[u8]) -> Result<Vec<u8>> {
        let info = self.index.pack(location.pack);
        let keys = self
            .repo
            .keys()
            .epoch(info.epoch, &format!("pack {}", info.name))?;
        pack::open_chunk(keys, id, location.raw_len, sealed)
    }

    /// The next usable copy of `id`, read alone; `first` is why the preferred one failed.
    fn fetch_other_copy(&self, id: &ChunkId, first: Error) -> Result<Vec<u8>> {
        while let Some(location) = self.usable(id).next() {
            let run = Run {
                pack: location.pack,
                start: u64::from(location.offset),
                end: u64::from(location.offset) + u64::from(location.length),
                chunks: vec![(*id, location)],
            };
            let (_, range) = self.request(&run);
            let opened = self.read(&run).and_then(|bytes| {
                let from = (u64::from(location.offset) - range.offset) as usize;
                let sealed = bytes
                    .get(from..from + location.length as usize)
                    .ok_or_else(|| Error::Truncated {
                        what: format!(
                            "pack {}: ends before chunk data",
                            self.index.pack(run.pack).name
                        ),
                    })?;
                self.open_copy(id, &location, sealed)
            });
            match opened {
                Ok(chunk) => return Ok(chunk),
                Err(err) if is_damage(&err) || matches!(err, Error::ObjectMissing { .. }) => {
                    self.mark_bad(id, &location, &err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(first)
    }

    /// The data-chunk ids of list chunk `id`.
    pub fn read_list(&self, id: &ChunkId) -> Result<Vec<ChunkId>> {
        let mut out = Vec::with_capacity(1);
        self.fetch(std::slice::from_ref(id), &mut out)?;
        snapshot::decode_list(out.first().map(Vec::as_slice).unwrap_or_default(), id)
    }

    /// The damaged copies this fetcher found so far.
    pub fn damage_found(&self) -> Vec<DamagedChunk> {
        self.found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ChunkFetcher<'_> {
    /// Records what was found damaged, so the next backup heals it (best effort: a reader may
    /// run against a store it cannot write).
    fn drop(&mut self) {
        let found = std::mem::take(&mut *self.found.lock().unwrap_or_else(PoisonError::into_inner));
        let _ = damage::record(self.repo, &found);
    }
}

/// Where a reader thread answers one ranged get.
type Answer = mpsc::Receiver<Result<Vec<u8>>>;

/// A ranged get for a reader thread, and where its answer goes.
struct ReadJob {
    name: String,
    range: ByteRange,
    reply: mpsc::SyncSender<Result<Vec<u8>>>,
}

/// Ranged reads kept in flight ahead of their consumer, on up to the repository's
/// [`connections`](Repository::connections) threads, and handed back in the order they were
/// asked for. At most that many runs of at most [`BATCH_BYTES`] each are held, so memory
/// stays bounded (16 MiB with the default 4 connections). A restore over a link with latency
/// then waits for one round trip per batch of `connections` reads, not per read.
pub struct ReadAhead<'r> {
    fetcher: Arc<ChunkFetcher<'r>>,
    jobs: Option<mpsc::Sender<ReadJob>>,
    workers: Vec<JoinHandle<()>>,
    /// Runs asked for, with where their reads will answer (`None`: read when popped).
    pending: VecDeque<(Run, Option<Answer>)>,
    depth: usize,
}

impl<'r> ReadAhead<'r> {
    /// Starts the reader threads over `fetcher`'s store. With one connection there are none:
    /// every read is made on the caller's thread when its run is popped, so the store is never
    /// called twice at once.
    pub fn new(fetcher: Arc<ChunkFetcher<'r>>) -> Result<ReadAhead<'r>> {
        let depth = fetcher.repo.connections().max(1);
        let (jobs, queue) = mpsc::channel::<ReadJob>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = if depth == 1 { 0 } else { depth };
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let store: Arc<dyn BlobStore> = fetcher.repo.store().clone();
            let queue = queue.clone();
            let worker = std::thread::Builder::new()
                .name("keepsake-reader".into())
                .spawn(move || loop {
                    let job = match queue.lock().unwrap_or_else(PoisonError::into_inner).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    let _ = job.reply.send(store.get(&job.name, Some(job.range)));
                })
                .map_err(|e| Error::Io {
                    path: None,
                    source: e,
                })?;
            workers.push(worker);
        }
        Ok(ReadAhead {
            fetcher,
            jobs: Some(jobs),
            workers,
            pending: VecDeque::new(),
            depth,
        })
    }

    /// The fetcher runs are planned with.
    pub fn fetcher(&self) -> &Arc<ChunkFetcher<'r>> {
        &self.fetcher
    }

    /// Whether another run may be asked for now.
    pub fn has_room(&self) -> bool {
        self.pending.len() < self.depth
    }

    /// Whether no run is in flight.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Starts reading `run`.
    pub fn push(&mut self, run: Run) -> Result<()> {
        if self.workers.is_empty() {
            self.pending.push_back((run, None));
            return Ok(());
        }
        let (name, range) = self.fetcher.request(&run);
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(ReadJob { name, range, reply }).is_ok());
        if !sent {
            return Err(Error::Io {
                path: None,
                source: std::io::Error::other("the reader threads stopped"),
            });
        }
        self.pending.push_back((run, Some(answer)));
        Ok(())
    }

    /// Opens the chunks of the oldest run asked for (waiting for its read), appending them to
    /// `out`; false when none is in flight.
    pub fn pop(&mut self, out: &mut Vec<Vec<u8>>) -> Result<bool> {
        let Some((run, answer)) = self.pending.pop_front() else {
            return Ok(false);
        };
        let read = match answer {
            Some(answer) => answer.recv().unwrap_or_else(|_| {
                Err(Error::Io {
                    path: None,
                    source: std::io::Error::other("a reader thread stopped"),
                })
            }),
            None => self.fetcher.read(&run),
        };
        self.fetcher.open_run(&run, read, out)?;
        Ok(true)
    }
}

impl Drop for ReadAhead<'_> {
    /// Stops the reader threads once their current read is done (answers nobody waits for are
    /// dropped).
    fn drop(&mut self) {
        self.jobs = None;
        self.pending.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// The same failure again, for each chunk of a run whose read failed.
fn restate(err: &Error) -> Error {
    match err {
        Error::ObjectMissing { name } => Error::ObjectMissing { name: name.clone() },
        Error::Truncated { what } => Error::Truncated { what: what.clone() },
        other => Error::Corrupted {
            what: other.to_string(),
        },
    }
}

fn missing(id: &ChunkId) -> Error {
    Error::ObjectMissing {
        name: format!("chunk {} (no intact copy in the index)", hex::encode(id)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        keyring::Keyring,
        repo::{
            index::PackEntries,
            pack::{PackBuilder, CODEC_STORED},
            BlobStore, MemStore, RepoOptions, DAMAGE_PREFIX,
        },
    };

    /// A repository with one chunk stored twice, in two packs; the first copy damaged.
    fn two_copies() -> (Arc<MemStore>, Repository, Index, ChunkId, Vec<u8>) {
        let mut keyring = Keyring::create().unwrap();
        keyring.add_recovery_key("paper").unwrap();
        let mem = Arc::new(MemStore::new());
        let repo = Repository::init(mem.clone(), &keyring, &RepoOptions::default()).unwrap();
        let keys = repo.keys().current();
        let data = b"the only chunk".repeat(100);
        let id = keys.chunk_id(&data);
        let mut index = Index::default();
        for damaged in [true, false] {
            let mut builder = PackBuilder::new(keys.epoch(), 1 << 16).unwrap();
            builder
                .push(keys, id, data.len() as u32, CODEC_STORED, &data)
                .unwrap();
            let (name, mut bytes, entries) = builder.finish(keys).unwrap();
            if damaged {
                bytes[40] ^= 1;
            }
            mem.put(&name, &bytes).unwrap();
            index.add_pack(&PackEntries {
                pack: name,
                epoch: keys.epoch(),
                size: Some(bytes.len() as u64),
                entries,
            });
        }
        (mem, repo, index, id, data)
    }

    #[test]
    fn a_damaged_copy_falls_back_to_the_next_and_is_noted_when_the_fetcher_goes() {
        let (mem, repo, index, id, data) = two_copies();
        let first = index.get(&id).unwrap();
        {
            let fetcher = ChunkFetcher::new(&repo, Arc::new(index));
            let mut out = Vec::new();
            fetcher.fetch(&[id], &mut out).unwrap();
            assert_eq!(out, vec![data.clone()]);
            let found = fetcher.damage_found();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].offset, first.offset);
            // The bad copy is not tried again in this run.
            out.clear();
            fetcher.fetch(&[id], &mut out).unwrap();
            assert_eq!(fetcher.damage_found().len(), 1);
        }
        assert_eq!(mem.list_names(DAMAGE_PREFIX).unwrap().len(), 1);
    }

    #[test]
    fn reads_are_aligned_and_a_chunk_without_an_intact_copy_is_an_error() {
        let (_, repo, mut index, id, _) = two_copies();
        let spare = index.locations(&id).nth(1).unwrap();
        index.drop_location(&id, &spare);
        let fetcher = ChunkFetcher::new(&repo, Arc::new(index));
        let err = fetcher.fetch(&[id], &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
        let run = Run {
            pack: 0,
            start: 300_000,
            end: 300_100,
            chunks: Vec::new(),
        };
        let (_, range) = fetcher.request(&run);
        assert_eq!(range.offset % READ_ALIGN, 0);
        assert!(range.offset <= 300_000 && range.offset + range.len >= 300_100);
    }
}
