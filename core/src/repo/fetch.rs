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
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

use super::{
    damage::{self, DamagedChunk},
    index::{Index, Location},
    inventory::Inventory,
    keys::ChunkId,
    pack,
    resolve::{self, is_damage},
    snapshot, ByteRange, Repository,
};
use crate::{Error, Result};

/// Most sealed bytes fetched in one batch.
pub const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// Reads start and end on multiples of this many bytes (or the pack's end).
pub const READ_ALIGN: u64 = 256 * 1024;

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

    /// Fetches and opens the chunks `ids` (in order), appending them to `out`.
    pub fn fetch(&self, ids: &[ChunkId], out: &mut Vec<Vec<u8>>) -> Result<()> {
        let mut located = Vec::with_capacity(ids.len());
        for id in ids {
            let location = self.usable(id).next().ok_or_else(|| missing(id))?;
            located.push((*id, location));
        }
        let mut start = 0;
        while start < located.len() {
            // A run of chunks lying back to back in one pack.
            let first = located[start].1;
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
            let run = &located[start..end];
            match self.read_run(first.pack, u64::from(first.offset), run_end) {
                Ok((window_start, bytes)) => {
                    for (id, location) in run {
                        let from = (u64::from(location.offset) - window_start) as usize;
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
                    for (id, location) in run {
                        self.mark_bad(id, location, &err);
                        out.push(self.fetch_other_copy(id, restate(&err))?);
                    }
                }
                Err(err) => return Err(err),
            }
            start = end;
        }
        Ok(())
    }

    /// Reads `start..end` of pack number `pack`, widened to [`READ_ALIGN`]: returns where the
    /// bytes start and the bytes, which cover at least `start..end`.
    fn read_run(&self, pack: u32, start: u64, end: u64) -> Result<(u64, Vec<u8>)> {
        let info = self.index.pack(pack);
        let window_start = start - start % READ_ALIGN;
        let mut window_end = end.div_ceil(READ_ALIGN) * READ_ALIGN;
        if let Some(size) = info.size {
            window_end = window_end.min(size.max(end));
        }
        let bytes = self.repo.store().get(
            &info.name,
            Some(ByteRange {
                offset: window_start,
                len: window_end - window_start,
            }),
        )?;
        if window_start + (bytes.len() as u64) < end {
            return Err(Error::Truncated {
                what: format!(
                    "pack {}: ends before chunk data at offset {start}",
                    info.name
                ),
            });
        }
        Ok((window_start, bytes))
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
            let end = u64::from(location.offset) + u64::from(location.length);
            let opened = self
                .read_run(location.pack, u64::from(location.offset), end)
                .and_then(|(window_start, bytes)| {
                    let from = (u64::from(location.offset) - window_start) as usize;
                    let sealed = bytes
                        .get(from..from + location.length as usize)
                        .unwrap_or_default();
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
        let (window, _) = fetcher.read_run(0, 100, 200).unwrap();
        assert_eq!(window % READ_ALIGN, 0);
    }
}
