//! Writing a snapshot: chunk the stream, skip chunks the repository holds, compress and seal the
//! new ones into packs, then write the index delta and, last, the snapshot manifest.
//!
//! Crash safety by ordering: packs first, then the index object naming them, then the
//! snapshot. A run killed before the snapshot leaves packs (and maybe an index) that no
//! snapshot references; the next run adopts unindexed packs from their trailers and reuses
//! every chunk already stored, so it uploads only what is still missing.

use std::{collections::HashSet, io::Read, path::Path, sync::Arc};

use super::{
    cache::Cache,
    catalog::{self, CatalogReader},
    chunker::PushChunker,
    index::{self, Index, PackEntries},
    keys::ChunkId,
    lock::Lock,
    pack,
    packer::{Packer, ARCHIVE_QUEUE, MEDIA_QUEUE},
    reader::SnapshotReader,
    snapshot::{self, ListedStream, Snapshot},
    MediaSummary, Repository, SnapshotId, SnapshotInfo, DATA_PREFIX, SNAPSHOT_PREFIX,
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
    /// What became of the attachments' bytes, when the backup had media (then the media
    /// catalog written with [`SnapshotWriter::write_catalog`] is part of the snapshot).
    pub media: Option<MediaSummary>,
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
    /// Media chunks that were new and were uploaded.
    pub new_media_chunks: u64,
}

/// The ids of one stream's data chunks as they are added, cut into list chunks.
#[derive(Default)]
struct Listing {
    pending: Vec<u8>,
    lists: Vec<ChunkId>,
    bytes: u64,
    chunks: u64,
}

impl Listing {
    /// Records a data chunk of `len` bytes; returns a list chunk that is now complete.
    fn add(&mut self, id: &ChunkId, len: usize) -> Option<Vec<u8>> {
        self.bytes += len as u64;
        self.chunks += 1;
        self.pending.extend_from_slice(id);
        snapshot::is_list_cut(id, self.pending.len() / 32)
            .then(|| std::mem::take(&mut self.pending))
    }

    /// The last, partial list chunk, if any.
    fn rest(&mut self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }

    fn into_stream(self) -> ListedStream {
        ListedStream {
            lists: self.lists,
            bytes: self.bytes,
            chunks: self.chunks,
        }
    }
}

/// Which of a snapshot's two streams a chunk belongs to.
#[derive(Clone, Copy)]
enum Stream {
    Archive,
    Catalog,
}
/// A snapshot being written. Holds the repository's lock until committed or dropped; a dropped
/// writer leaves uploaded packs for the next run to adopt, and no snapshot.
pub struct SnapshotWriter<'r> {
    repo: &'r Repository,
    lock: Lock<'r>,
    cache: Option<Cache>,
    index: Arc<Index>,
    index_sizes: Vec<(String, usize)>,
    packer: Option<Packer>,
    media_packer: Option<Packer>,
    level: i32,
    pending: HashSet<ChunkId>,
    new_packs: Vec<PackEntries>,
    archive: Listing,
    catalog: Option<Listing>,
    catalog_chunker: Option<PushChunker>,
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
        let present: HashSet<String> = store.list_names(DATA_PREFIX)?.into_iter().collect();
        let mut index = Index::default();
        let mut index_sizes = Vec::new();
        let mut names = store.list_names(super::INDEX_PREFIX)?;
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
        let mut new_packs = Vec::new();
        let mut stats = WriteStats::default();
        adopt_unindexed_packs(repo, present, &mut index, &mut new_packs, &mut stats)?;
        Ok(SnapshotWriter {
            repo,
            lock,
            cache,
            index: Arc::new(index),
            index_sizes,
            packer: None,
            media_packer: None,
            level: 3,
            pending: HashSet::new(),
            new_packs,
            archive: Listing::default(),
            catalog: None,
            catalog_chunker: None,
            parent,
            stats,
        })
    }

    /// Sets the zstd level of new chunks (1..=19; default 3).
    pub fn set_compression_level(&mut self, level: i32) -> Result<()> {
        // Checked here, so a bad level fails before any work.
        zstd::bulk::Compressor::new(level)?;
        self.level = level;
        Ok(())
    }

    /// The media catalog of the snapshot this one follows, if it had media: the media backup
    /// walks it beside the attachments to reuse unchanged files without reading them.
    pub fn parent_catalog(&self) -> Result<Option<CatalogReader<SnapshotReader<'r>>>> {
        let Some((id, _)) = self.parent else {
            return Ok(None);
        };
        let name = id.object_name();
        let store = self.repo.store().as_ref();
        let (parent, _) = Cache::fetch(self.cache.as_ref(), store, &name, |bytes| {
            snapshot::decode(self.repo, &name, bytes)
        })?;
        Ok(parent
            .catalog
            .is_some()
            .then(|| catalog::entries(self.repo, self.index.clone(), &parent)))
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
        self.add_stream_chunk(Stream::Archive, data)
    }

    /// Adds a data chunk of `stream` and stores the list chunk it completes.
    fn add_stream_chunk(&mut self, stream: Stream, data: Vec<u8>) -> Result<()> {
        let id = self.repo.keys().current().chunk_id(&data);
        let len = data.len();
        self.store_chunk(id, data)?;
        if let Some(list) = self.listing(stream).add(&id, len) {
            self.store_list(stream, list)?;
        }
        Ok(())
    }

    fn listing(&mut self, stream: Stream) -> &mut Listing {
        match stream {
            Stream::Archive => &mut self.archive,
            Stream::Catalog => self.catalog.get_or_insert_with(Listing::default),
        }
    }

    fn store_list(&mut self, stream: Stream, list: Vec<u8>) -> Result<()> {
        let id = self.repo.keys().current().chunk_id(&list);
        self.store_chunk(id, list)?;
        self.listing(stream).lists.push(id);
        Ok(())
    }

    fn flush_list(&mut self, stream: Stream) -> Result<()> {
        match self.listing(stream).rest() {
            Some(list) => self.store_list(stream, list),
            None => Ok(()),
        }
    }

    /// Appends bytes to the media catalog, the snapshot's second stream (chunked like the
    /// archive, so a daily catalog shares most of its chunks with the day before).
    pub fn write_catalog(&mut self, bytes: &[u8]) -> Result<()> {
        let params = self.repo.options().chunker;
        let mut chunker = self
            .catalog_chunker
            .take()
            .unwrap_or_else(|| PushChunker::new(params));
        self.listing(Stream::Catalog);
        let pushed = chunker.push(bytes, &mut |chunk| {
            self.add_stream_chunk(Stream::Catalog, chunk)
        });
        self.catalog_chunker = Some(chunker);
        pushed
    }

    fn finish_catalog(&mut self) -> Result<()> {
        if let Some(mut chunker) = self.catalog_chunker.take() {
            chunker.finish(&mut |chunk| self.add_stream_chunk(Stream::Catalog, chunk))?;
        }
        self.flush_list(Stream::Catalog)
    }

    /// The id a chunk with these bytes gets (keyed BLAKE3 under the current epoch).
    pub fn chunk_id(&self, data: &[u8]) -> ChunkId {
        self.repo.keys().current().chunk_id(data)
    }

    /// Stores chunk `id` (of [`chunk_id`](Self::chunk_id)`(data)`) of a media file in the
    /// media packs, apart from the archive's so a damaged media pack never costs the chats.
    /// Media is stored as it is unless `compress` (documents). A chunk the repository holds is
    /// not stored again; returns whether this one was new.
    pub fn add_media_chunk(
        &mut self,
        id: ChunkId,
        data: Arc<Vec<u8>>,
        compress: bool,
    ) -> Result<bool> {
        if self.has_chunk(&id) {
            return Ok(false);
        }
        self.queue(true, id, data, compress)?;
        self.stats.new_media_chunks += 1;
        Ok(true)
    }

    /// Whether chunk `id` is in the repository (in a pack that is there) or queued by this run.
    pub fn has_chunk(&self, id: &ChunkId) -> bool {
        self.index.contains(id) || self.pending.contains(id)
    }

    /// Queues a chunk the repository lacks for the packer (which compresses, seals, packs and
    /// uploads it on its own thread).
    fn store_chunk(&mut self, id: ChunkId, data: Vec<u8>) -> Result<()> {
        if self.has_chunk(&id) {
            return Ok(());
        }
        self.queue(false, id, Arc::new(data), true)?;
        self.stats.new_chunks += 1;
        Ok(())
    }

    /// Hands a new chunk to the media packer or the archive packer, started on first use: the
    /// media one queues fewer (larger) chunks, pads its last pack and uploads while sealing.
    fn queue(
        &mut self,
        media: bool,
        id: ChunkId,
        data: Arc<Vec<u8>>,
        compress: bool,
    ) -> Result<()> {
        self.lock.refresh_if_due()?;
        let slot = if media {
            &mut self.media_packer
        } else {
            &mut self.packer
        };
        let packer = match slot {
            Some(packer) => packer,
            None => slot.insert(Packer::start(
                self.repo.store().clone(),
                self.repo.keys().current().duplicate(&self.repo.id())?,
                self.repo.options().pack_target_bytes as usize,
                self.level,
                if media { MEDIA_QUEUE } else { ARCHIVE_QUEUE },
                media,
                media,
            )?),
        };
        packer.add(id, data, compress)?;
        self.pending.insert(id);
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
        if meta.media.is_some() {
            // A backup with media but no attachment still has an (empty) catalog.
            self.listing(Stream::Catalog);
        }
        self.finish_catalog()?;
        self.flush_list(Stream::Archive)?;
        for packer in [self.media_packer.take(), self.packer.take()]
            .into_iter()
            .flatten()
        {
            let packed = packer.finish()?;
            self.stats.bytes_uploaded += packed.bytes;
            self.stats.objects_written += packed.objects;
            // The new packs go into the index delta only: this writer needs no lookups any more,
            // and not copying thousands of entries into the map keeps a first backup's memory low.
            if self.new_packs.is_empty() {
                self.new_packs = packed.packs;
            } else {
                self.new_packs.extend(packed.packs);
            }
        }
        self.pending = HashSet::new();
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
        let archive = std::mem::take(&mut self.archive).into_stream();
        self.stats.stream_bytes = archive.bytes;
        self.stats.chunks = archive.chunks;
        let catalog = match (meta.media, self.catalog.take()) {
            (Some(_), Some(listing)) => Some(listing.into_stream()),
            _ => None,
        };
        let info = SnapshotInfo {
            id: SnapshotId::generate()?,
            time: meta.time,
            sequence: self.parent.map_or(1, |(_, seq)| seq + 1),
            counts: meta.counts,
            parent: self.parent.map(|(id, _)| id),
            bytes: archive.bytes,
            digest: meta.digest,
            chunks: archive.chunks,
            media: meta.media,
        };
        let snapshot = Snapshot {
            info: info.clone(),
            lists: archive.lists,
            catalog,
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
    let names = store.list_names(SNAPSHOT_PREFIX)?;
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

/// Packs in the store that no index names: left by a run killed before its index was
/// written. Those whose trailer authenticates under the current epoch are indexed by this
/// run; others are left for prune.
fn adopt_unindexed_packs(
    repo: &Repository,
    present: HashSet<String>,
    index: &mut Index,
    new_packs: &mut Vec<PackEntries>,
    stats: &mut WriteStats,
) -> Result<()> {
    let store = repo.store().as_ref();
    let current = repo.keys().current().epoch();
    let mut present: Vec<String> = present.into_iter().collect();
    present.sort();
    for name in present {
        if index.has_pack(&name) || index::pack_id(&name).is_err() {
            continue;
        }
        match pack::read_trailer(store, repo.keys(), &name) {
            Ok((epoch, entries, _)) if epoch == current => {
                let adopted = PackEntries {
                    pack: name,
                    epoch,
                    entries,
                };
                index.add_pack(&adopted);
                new_packs.push(adopted);
                stats.packs_adopted += 1;
            }
            Ok(_) => {}
            Err(err @ Error::Storage { .. }) => return Err(err),
            Err(err) => log::warn!("not adopting pack {name}: {err}"),
        }
    }
    Ok(())
}
