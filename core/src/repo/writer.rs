//! Writing a snapshot: chunk the stream, skip chunks the repository holds, compress and seal the
//! new ones into packs, then write the index delta and, last, the snapshot manifest.
//!
//! Crash safety by ordering: packs first, then the index object naming them, then the
//! snapshot. A run killed before the snapshot leaves packs (and maybe an index) that no
//! snapshot references; the next run adopts unindexed packs from their trailers and reuses
//! every chunk already stored, so it uploads only what is still missing.

use std::{collections::HashSet, io::Read, path::Path};

use super::{
    cache::Cache,
    index::{self, Index, PackEntries},
    keys::ChunkId,
    lock::Lock,
    pack,
    packer::Packer,
    snapshot::{self, Snapshot},
    Repository, SnapshotId, SnapshotInfo, DATA_PREFIX, SNAPSHOT_PREFIX,
};
use crate::{progress::Reporter, store::RecordCounts, Error, Result};

/// Index objects smaller than this share of the largest one are merged once there are
/// [`MERGE_AT`] of them.
const SMALL_INDEX_SHARE: usize = 4;
/// Small index objects that trigger a merge.
const MERGE_AT: usize = 4;

/// What the caller knows about the stream, recorded in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// When the backup began, unix seconds.
    pub time: u64,
    /// Records per kind.
    pub counts: RecordCounts,
    /// The archive's digest.
    pub digest: [u8; 32],
}

/// What one snapshot write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Bytes of the stream.
    pub stream_bytes: u64,
    /// Data chunks in the stream.
    pub chunks: u64,
    /// Chunks (data and list) that were not in the repository and were uploaded.
    pub new_chunks: u64,
    /// Bytes put into the store (packs, index, snapshot).
    pub bytes_uploaded: u64,
    /// Objects put into the store (packs, index, snapshot; not the lock).
    pub objects_written: u64,
    /// Packs left by an interrupted run that this run adopted.
    pub packs_adopted: u64,
}

/// A snapshot being written. Holds the repository's lock until committed or dropped; a dropped
/// writer leaves uploaded packs for the next run to adopt, and no snapshot.
pub struct SnapshotWriter<'r> {
    repo: &'r Repository,
    lock: Lock<'r>,
    cache: Option<Cache>,
    index: Index,
    index_sizes: Vec<(String, usize)>,
    packer: Option<Packer>,
    level: i32,
    pending: HashSet<ChunkId>,
    new_packs: Vec<PackEntries>,
    list: Vec<u8>,
    lists: Vec<ChunkId>,
    parent: Option<(SnapshotId, u64)>,
    stats: WriteStats,
}

impl<'r> SnapshotWriter<'r> {
    /// Takes the lock, loads the index (through the cache) and adopts unindexed packs.
    pub fn begin(repo: &'r Repository, cache_dir: Option<&Path>) -> Result<SnapshotWriter<'r>> {
        let cache = cache_dir
            .map(|dir| Cache::open(dir, &repo.id()))
            .transpose()?;
        let holder = match &cache {
            Some(cache) => cache.device_id()?,
            None => repo.holder(),
        };
        let lock = Lock::acquire(repo, holder)?;
        let store = repo.store().as_ref();
        let keys = repo.keys();
        // Packs that are really there: an index entry whose pack was lost is not reused, so the
        // chunk is uploaded again and the new snapshot is whole.
        let present: HashSet<String> = store.list(DATA_PREFIX)?.into_iter().collect();
        let mut index = Index::default();
        let mut index_sizes = Vec::new();
        let mut names = store.list(super::INDEX_PREFIX)?;
        names.sort();
        if let Some(cache) = &cache {
            cache.retain(super::INDEX_PREFIX, &names);
        }
        for name in names {
            let (packs, size) = Cache::fetch(cache.as_ref(), store, &name, |bytes| {
                index::decode(keys, &name, bytes)
            })?;
            for p in packs.iter().filter(|p| present.contains(&p.pack)) {
                index.add_pack(p);
            }
            index.objects.push(name.clone());
            index_sizes.push((name, size));
        }
        let parent = latest_snapshot(repo, cache.as_ref())?;
        let mut writer = SnapshotWriter {
            repo,
            lock,
            cache,
            index,
            index_sizes,
            packer: None,
            level: 3,
            pending: HashSet::new(),
            new_packs: Vec::new(),
            list: Vec::new(),
            lists: Vec::new(),
            parent,
            stats: WriteStats::default(),
        };
        writer.adopt_unindexed_packs(present)?;
        Ok(writer)
    }

    /// Sets the zstd level of new chunks (1..=19; default 3).
    pub fn set_compression_level(&mut self, level: i32) -> Result<()> {
        // Checked here, so a bad level fails before any work.
        zstd::bulk::Compressor::new(level)?;
        self.level = level;
        Ok(())
    }

    /// Packs in the store that no index names: left by a run killed before its index was
    /// written. Those whose trailer authenticates under the current epoch are indexed by this
    /// run; others are left for prune.
    fn adopt_unindexed_packs(&mut self, present: HashSet<String>) -> Result<()> {
        let store = self.repo.store().as_ref();
        let current = self.repo.keys().current().epoch();
        let mut present: Vec<String> = present.into_iter().collect();
        present.sort();
        for name in present {
            if self.index.has_pack(&name) || index::pack_id(&name).is_err() {
                continue;
            }
            match pack::read_trailer(store, self.repo.keys(), &name) {
                Ok((epoch, entries, _)) if epoch == current => {
                    let adopted = PackEntries {
                        pack: name,
                        epoch,
                        entries,
                    };
                    self.index.add_pack(&adopted);
                    self.new_packs.push(adopted);
                    self.stats.packs_adopted += 1;
                }
                Ok(_) => {}
                Err(err @ Error::Storage { .. }) => return Err(err),
                Err(err) => log::warn!("not adopting pack {name}: {err}"),
            }
        }
        Ok(())
    }

    /// Chunks `source` to its end and stores what is new; `reporter` gets the bytes read.
    pub fn write_stream(
        &mut self,
        source: &mut dyn Read,
        reporter: &mut Reporter<'_>,
    ) -> Result<()> {
        let params = self.repo.options().chunker;
        for chunk in params.chunks(source) {
            let chunk = chunk?;
            reporter.advance(chunk.len() as u64)?;
            self.add_owned_chunk(chunk)?;
        }
        Ok(())
    }

    /// Adds one data chunk of the stream.
    pub fn add_data_chunk(&mut self, data: &[u8]) -> Result<()> {
        self.add_owned_chunk(data.to_vec())
    }

    fn add_owned_chunk(&mut self, data: Vec<u8>) -> Result<()> {
        let id = self.repo.keys().current().chunk_id(&data);
        self.stats.stream_bytes += data.len() as u64;
        self.stats.chunks += 1;
        self.store_chunk(id, data)?;
        self.list.extend_from_slice(&id);
        if snapshot::is_list_cut(&id, self.list.len() / 32) {
            self.flush_list()?;
        }
        Ok(())
    }

    fn flush_list(&mut self) -> Result<()> {
        if self.list.is_empty() {
            return Ok(());
        }
        let list = std::mem::take(&mut self.list);
        let id = self.repo.keys().current().chunk_id(&list);
        self.store_chunk(id, list)?;
        self.lists.push(id);
        Ok(())
    }

    /// Queues a chunk the repository lacks for the packer (which compresses, seals, packs and
    /// uploads it on its own thread).
    fn store_chunk(&mut self, id: ChunkId, data: Vec<u8>) -> Result<()> {
        if self.index.contains(&id) || self.pending.contains(&id) {
            return Ok(());
        }
        self.lock.refresh_if_due()?;
        let packer = match self.packer.as_mut() {
            Some(packer) => packer,
            None => self.packer.insert(Packer::start(
                self.repo.store().clone(),
                self.repo.keys().current().duplicate(&self.repo.id())?,
                self.repo.options().pack_target_bytes as usize,
                self.level,
            )?),
        };
        packer.add(id, data)?;
        self.pending.insert(id);
        self.stats.new_chunks += 1;
        Ok(())
    }

    fn put(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.repo.store().put(name, bytes)?;
        self.stats.bytes_uploaded += bytes.len() as u64;
        self.stats.objects_written += 1;
        Ok(())
    }

    /// Finishes the stream: last list chunk, last pack, the index delta, then the snapshot
    /// (the commit point), then merges small index objects. Releases the lock.
    pub fn commit(mut self, meta: SnapshotMeta) -> Result<(SnapshotInfo, WriteStats)> {
        self.flush_list()?;
        if let Some(packer) = self.packer.take() {
            let packed = packer.finish()?;
            self.stats.bytes_uploaded += packed.bytes;
            self.stats.objects_written += packed.objects;
            for pack in packed.packs {
                self.index.add_pack(&pack);
                self.new_packs.push(pack);
            }
            self.pending.clear();
        }
        let keys = self.repo.keys();
        if !self.new_packs.is_empty() {
            let name = index::new_index_name()?;
            let bytes = index::encode(keys, &name, &self.new_packs)?;
            self.put(&name, &bytes)?;
            if let Some(cache) = &self.cache {
                cache.put(&name, &bytes);
            }
            self.index_sizes.push((name, bytes.len()));
        }
        let info = SnapshotInfo {
            id: SnapshotId::generate()?,
            time: meta.time,
            sequence: self.parent.map_or(1, |(_, seq)| seq + 1),
            counts: meta.counts,
            parent: self.parent.map(|(id, _)| id),
            bytes: self.stats.stream_bytes,
            digest: meta.digest,
            chunks: self.stats.chunks,
        };
        let snapshot = Snapshot {
            info: info.clone(),
            lists: std::mem::take(&mut self.lists),
        };
        let bytes = snapshot::encode(self.repo, &snapshot)?;
        let name = info.id.object_name();
        self.put(&name, &bytes)?;
        if let Some(cache) = &self.cache {
            cache.put(&name, &bytes);
        }
        self.merge_small_indexes()?;
        Ok((info, self.stats))
    }

    /// Merges index objects much smaller than the largest into one, once there are several:
    /// keeps the object count low without re-uploading the big base index. Crash-safe: the
    /// merged object is written before the merged ones are deleted, and duplicates are harmless.
    fn merge_small_indexes(&mut self) -> Result<()> {
        let largest = self.index_sizes.iter().map(|(_, s)| *s).max().unwrap_or(0);
        let small: Vec<String> = self
            .index_sizes
            .iter()
            .filter(|(_, size)| size * SMALL_INDEX_SHARE < largest)
            .map(|(name, _)| name.clone())
            .collect();
        if small.len() < MERGE_AT {
            return Ok(());
        }
        let store = self.repo.store().as_ref();
        let keys = self.repo.keys();
        let mut merged = Index::default();
        for name in &small {
            let (packs, _) = Cache::fetch(self.cache.as_ref(), store, name, |bytes| {
                index::decode(keys, name, bytes)
            })?;
            for p in &packs {
                merged.add_pack(p);
            }
        }
        let name = index::new_index_name()?;
        let bytes = index::encode(keys, &name, &merged.to_packs())?;
        self.put(&name, &bytes)?;
        if let Some(cache) = &self.cache {
            cache.put(&name, &bytes);
        }
        for old in &small {
            store.delete(old)?;
            if let Some(cache) = &self.cache {
                cache.remove(old);
            }
        }
        Ok(())
    }
}

/// The latest snapshot's id and sequence, read through the cache.
fn latest_snapshot(repo: &Repository, cache: Option<&Cache>) -> Result<Option<(SnapshotId, u64)>> {
    let store = repo.store().as_ref();
    let names = store.list(SNAPSHOT_PREFIX)?;
    if let Some(cache) = cache {
        cache.retain(SNAPSHOT_PREFIX, &names);
    }
    let mut latest: Option<(u64, u64, SnapshotId)> = None;
    for name in names {
        let (snap, _) = Cache::fetch(cache, store, &name, |bytes| {
            snapshot::decode(repo, &name, bytes)
        })?;
        let key = snap.info.order_key();
        if latest.is_none_or(|l| key > l) {
            latest = Some(key);
        }
    }
    Ok(latest.map(|(sequence, _, id)| (id, sequence)))
}
