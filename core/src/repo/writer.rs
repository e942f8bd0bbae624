//! Writing a snapshot: chunk the stream, skip chunks the repository holds, compress and seal the
//! new ones into packs, then write the index delta and, last, the snapshot manifest.
//!
//! Before anything is written, the writer takes stock of the store (`repo::resolve`): chunks
//! in packs the store lost, truncated or damaged are not deduplicated against, so the backup
//! uploads them again; packs of a killed run (or whose index object was damaged) are adopted
//! from their trailers and named by this run's index; a few packs are read back
//! (`repo::verify`) so damage is found while the device still has the data.
//!
//! The invariant: **a snapshot is committed only if everything it references is in the
//! store.** Before the commit, the packs the snapshot needs are checked against a fresh listing
//! and the lock is checked to still be this writer's; a pack that vanished while the backup ran
//! stops it with [`Error::StoreChanged`] (the backup layer runs it once more, and that run
//! uploads what is missing). Crash safety by ordering: packs, then the index object naming
//! them, then the snapshot; a run killed before the snapshot leaves packs the next run adopts.

use std::{
    collections::{HashMap, HashSet},
    io::Read,
    path::Path,
    sync::Arc,
};

use super::{
    cache::Cache,
    catalog::{self, CatalogReader},
    chunker::{Cutter, PushChunker},
    damage::{self, DamageSet},
    fetch::ChunkFetcher,
    history::History,
    index::{self, Index, IndexObject, PackEntries},
    inventory::Inventory,
    keys::ChunkId,
    lock::{machine_holder, Lock},
    object,
    packer::{PackKind, Packer, ARCHIVE_QUEUE, MEDIA_QUEUE},
    reader::SnapshotReader,
    resolve,
    snapshot::{self, ListedStream, Snapshot},
    verify, MediaSummary, Repository, SnapshotId, SnapshotInfo, DATA_PREFIX,
};
use crate::{progress::Reporter, store::RecordCounts, Error, Result};

/// Index objects smaller than this share of the largest one are merged once there are
/// [`MERGE_AT`] of them.
const SMALL_INDEX_SHARE: usize = 4;
/// Small index objects that trigger a merge.
const MERGE_AT: usize = 4;
/// Most media packs uploading at once, whatever the connections.
const MEDIA_UPLOADS: usize = 2;
/// Bytes of packs a backup reads back by default ([`WriterOptions::verify_bytes`]).
pub const DEFAULT_VERIFY_BYTES: u64 = 16 * 1024 * 1024;

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

/// How a writer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Bytes of packs to read back and verify before writing (least recently verified first;
    /// 0 turns it off). Each backup verifies at least one pack when this is not 0.
    pub verify_bytes: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            verify_bytes: DEFAULT_VERIFY_BYTES,
        }
    }
}

/// What a backup found wrong in the store, and what it did about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Healing {
    /// Packs the index names that the store no longer holds (their chunks were uploaded
    /// again as far as this snapshot needs them).
    pub packs_lost: u64,
    /// Packs whose size differs from what the index recorded (damaged or replaced; not used).
    pub packs_resized: u64,
    /// Index objects that were damaged: their packs were re-indexed from their trailers by
    /// this run and the damaged objects removed.
    pub index_objects_replaced: u64,
    /// Snapshot objects that are damaged (left for `repair` or `forget`; not parents).
    pub snapshots_damaged: u64,
    /// Chunk copies known damaged (notes, or found by this run's verification): not
    /// deduplicated against, so this snapshot holds fresh copies where it needs them.
    pub chunks_damaged: u64,
    /// Index and snapshot objects the store had damaged, put back from this device's cache.
    pub objects_restored: u64,
    /// Packs read back and verified by this run.
    pub packs_verified: u64,
    /// Bytes read to verify them.
    pub bytes_verified: u64,
    /// The store lacks the newest snapshot this device knows of (it was rolled back, or the
    /// snapshot deleted): this backup is whole, but later history was lost.
    pub store_rolled_back: bool,
}

impl Healing {
    /// Whether anything was found wrong.
    pub fn found_damage(&self) -> bool {
        self.packs_lost > 0
            || self.packs_resized > 0
            || self.index_objects_replaced > 0
            || self.snapshots_damaged > 0
            || self.objects_restored > 0
            || self.chunks_damaged > 0
            || self.store_rolled_back
    }
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
    /// Packs left by an interrupted run (or unindexed by damage) that this run adopted.
    pub packs_adopted: u64,
    /// Media chunks that were new and were uploaded.
    pub new_media_chunks: u64,
    /// What was found wrong and healed.
    pub healing: Healing,
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
    /// Readable index objects and their sizes, for merging small ones.
    index_sizes: Vec<(String, usize)>,
    /// Damaged index objects, removed once this run's index covers their packs.
    damaged_indexes: Vec<String>,
    /// Packs (numbers of `index`) whose chunks this snapshot deduplicated against.
    used_packs: HashSet<u32>,
    packer: Option<Packer>,
    media_packer: Option<Packer>,
    level: i32,
    pending: HashSet<ChunkId>,
    new_packs: Vec<PackEntries>,
    archive: Listing,
    catalog: Option<Listing>,
    cutter: Cutter,
    catalog_chunker: Option<PushChunker>,
    parent: Option<(SnapshotId, u64)>,
    stats: WriteStats,
}

impl<'r> SnapshotWriter<'r> {
    /// Takes the lock, takes stock of the store (listing, damage notes, index, snapshots),
    /// adopts unindexed packs and verifies a few packs.
    pub fn begin(
        repo: &'r Repository,
        cache_dir: Option<&Path>,
        options: &WriterOptions,
    ) -> Result<SnapshotWriter<'r>> {
        let cache = cache_dir
            .map(|dir| Cache::open(dir, &repo.id()))
            .transpose()?;
        let holder = match &cache {
            Some(cache) => cache.device_id()?,
            None => machine_holder()?,
        };
        let lock = Lock::acquire(repo, holder, cache.as_ref())?;
        super::reseal::finish_pending(repo)?;
        let store = repo.store().as_ref();
        let inventory = Inventory::take(store)?;
        let mut stats = WriteStats::default();
        stats.healing.objects_restored += u64::from(heal_config(repo, &inventory)?);
        if let Some(cache) = &cache {
            cache.retain_listed(&inventory);
            // This device's copies heal index and snapshot objects the store damaged.
            let (_, healed) =
                verify::cached_objects(repo, cache, &inventory, options.verify_bytes / 4)?;
            stats.healing.objects_restored += healed;
        }
        let damage = damage::load(repo, &inventory)?;
        let mut resolved = resolve::resolve(repo, &inventory, cache.as_ref(), &damage)?;
        if let Some(cache) = &cache {
            let mut restored = 0;
            for (name, _) in &resolved.damaged_indexes {
                let accept = |bytes: &[u8]| index::decode(repo.keys(), name, bytes);
                restored += u64::from(cache.restore_to(store, name, accept)?);
            }
            if restored > 0 {
                stats.healing.objects_restored += restored;
                resolved = resolve::resolve(repo, &inventory, Some(cache), &damage)?;
            }
        }
        let healing = &mut stats.healing;
        healing.packs_lost = resolved.lost_packs.len() as u64;
        healing.packs_resized = resolved.resized_packs.len() as u64;
        healing.chunks_damaged = damage.chunks.len() as u64;

        let verified =
            verify::rolling(repo, &resolved.index, cache.as_ref(), options.verify_bytes)?;
        healing.packs_verified = verified.packs;
        healing.bytes_verified = verified.bytes;
        if !verified.damaged.is_empty() {
            healing.chunks_damaged += verified.damaged.len() as u64;
            damage::record(repo, &verified.damaged)?;
            DamageSet::of(verified.damaged).apply(&mut resolved.index);
        }

        let mut history = History::load(repo, &inventory, cache.as_ref())?;
        if let Some(cache) = &cache {
            let mut restored = 0;
            for damaged in &history.damaged {
                let name = &damaged.name;
                let accept = |bytes: &[u8]| snapshot::decode(repo, name, bytes);
                restored += u64::from(cache.restore_to(store, name, accept)?);
            }
            if restored > 0 {
                healing.objects_restored += restored;
                history = History::load(repo, &inventory, Some(cache))?;
            }
        }
        healing.snapshots_damaged = history.damaged.len() as u64;
        let parent = history.latest().map(|s| (s.info.id, s.info.sequence));
        if let Some((known, sequence)) = cache.as_ref().and_then(Cache::known_latest) {
            let present = history.get(&SnapshotId(known)).is_some();
            let newer_present = parent.is_some_and(|(_, seq)| seq >= sequence);
            if !present && !newer_present {
                log::warn!(
                    "the store lacks snapshot {} (sequence {sequence}), the newest this device \
                     knows: it was rolled back or the snapshot deleted",
                    hex::encode(known)
                );
                healing.store_rolled_back = true;
            }
        }

        let mut index_sizes = Vec::new();
        for name in &resolved.index.objects {
            let size = inventory.indexes.get(name).copied().unwrap_or(0);
            index_sizes.push((name.clone(), usize::try_from(size).unwrap_or(usize::MAX)));
        }
        let damaged_indexes: Vec<String> = resolved
            .damaged_indexes
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        stats.packs_adopted = resolved.adopted.len() as u64;
        let cutter = Cutter::new(repo.options().chunker, repo.keys().current().gear_table());
        Ok(SnapshotWriter {
            repo,
            lock,
            cache,
            index: Arc::new(resolved.index),
            index_sizes,
            damaged_indexes,
            used_packs: HashSet::new(),
            packer: None,
            media_packer: None,
            level: 3,
            pending: HashSet::new(),
            new_packs: resolved.adopted,
            archive: Listing::default(),
            catalog: None,
            cutter,
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
        let (parent, _): (Snapshot, _) =
            Cache::fetch(self.cache.as_ref(), store, &name, None, |bytes| {
                snapshot::decode(self.repo, &name, bytes)
            })?;
        let fetcher = Arc::new(ChunkFetcher::new(self.repo, self.index.clone()));
        Ok(parent
            .catalog
            .is_some()
            .then(|| catalog::entries(fetcher, &parent)))
    }

    /// Chunks `source` to its end and stores what is new; `reporter` gets the bytes read.
    pub fn write_stream(
        &mut self,
        source: &mut dyn Read,
        reporter: &mut Reporter<'_>,
    ) -> Result<()> {
        let cutter = self.cutter.clone();
        for chunk in cutter.chunks(source) {
            let chunk = chunk?;
            reporter.advance(chunk.len() as u64)?;
            self.add_stream_chunk(Stream::Archive, chunk)?;
        }
        Ok(())
    }

    /// Adds one data chunk of the stream.
    pub fn add_data_chunk(&mut self, data: &[u8]) -> Result<()> {
        self.add_stream_chunk(Stream::Archive, data.to_vec())
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
        let mut chunker = self
            .catalog_chunker
            .take()
            .unwrap_or_else(|| PushChunker::new(self.cutter.clone()));
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
        if self.reuse(&id) {
            return Ok(false);
        }
        self.queue(PackKind::Media, id, data, compress)?;
        self.stats.new_media_chunks += 1;
        Ok(true)
    }

    /// Whether every chunk of `ids` is in the repository (in a pack that is there, at a copy
    /// not known damaged) or queued by this run; they are then part of this snapshot.
    pub fn reuse_chunks(&mut self, ids: &[ChunkId]) -> bool {
        let all = ids
            .iter()
            .all(|id| self.index.contains(id) || self.pending.contains(id));
        if all {
            for id in ids {
                self.reuse(id);
            }
        }
        all
    }

    /// Whether chunk `id` is stored or queued already; records the pack it is in.
    fn reuse(&mut self, id: &ChunkId) -> bool {
        if let Some(location) = self.index.get(id) {
            self.used_packs.insert(location.pack);
            return true;
        }
        self.pending.contains(id)
    }

    /// Queues a chunk the repository lacks for the packer (which compresses, seals, packs and
    /// uploads it on its own thread).
    fn store_chunk(&mut self, id: ChunkId, data: Vec<u8>) -> Result<()> {
        if self.reuse(&id) {
            return Ok(());
        }
        self.queue(PackKind::Archive, id, Arc::new(data), true)?;
        self.stats.new_chunks += 1;
        Ok(())
    }

    /// Hands a new chunk to the media packer or the archive packer, started on first use: the
    /// media one queues fewer (larger) chunks and uploads while sealing.
    fn queue(
        &mut self,
        kind: PackKind,
        id: ChunkId,
        data: Arc<Vec<u8>>,
        compress: bool,
    ) -> Result<()> {
        let slot = match kind {
            PackKind::Media => &mut self.media_packer,
            PackKind::Archive => &mut self.packer,
        };
        let packer = match slot {
            Some(packer) => packer,
            None => slot.insert(Packer::start(
                self.repo.store().clone(),
                self.repo.keys().current().duplicate(&self.repo.id())?,
                self.repo.options().pack_target_bytes,
                kind,
                self.level,
                if kind == PackKind::Media {
                    MEDIA_QUEUE
                } else {
                    ARCHIVE_QUEUE
                },
                // Media packs are the largest objects: fewer of them in flight keeps a media
                // backup within its memory budget (`docs/REPOSITORY.md` §12).
                if kind == PackKind::Media {
                    self.repo.connections().min(MEDIA_UPLOADS)
                } else {
                    self.repo.connections()
                },
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

    /// Finishes the stream: last list chunk, last pack, then checks that every pack the
    /// snapshot needs is in the store and the lock is still ours, then the index delta, the
    /// snapshot (the commit point), and merges small index objects. Releases the lock.
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
        self.check_packs_present()?;
        self.lock.verify()?;
        let keys = self.repo.keys();
        if !self.new_packs.is_empty() {
            let name = index::new_index_name()?;
            let object = IndexObject {
                packs: std::mem::take(&mut self.new_packs),
                condemned: Vec::new(),
            };
            let bytes = index::encode(keys, &name, &object)?;
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
        let sequence = match self.parent {
            None => 1,
            Some((_, seq)) => seq.checked_add(1).ok_or_else(|| Error::LimitExceeded {
                what: "snapshot sequence".into(),
                found: seq,
                limit: u64::MAX - 1,
            })?,
        };
        let info = SnapshotInfo {
            id: SnapshotId::generate()?,
            time: meta.time,
            sequence,
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
            cache.set_known_latest(&info.id.0, info.sequence);
        }
        // Their packs are named by this run's index now (adopted from their trailers).
        for damaged in std::mem::take(&mut self.damaged_indexes) {
            self.repo.store().delete(&damaged)?;
            self.stats.healing.index_objects_replaced += 1;
            if let Some(cache) = &self.cache {
                cache.remove(&damaged);
            }
        }
        self.merge_small_indexes()?;
        Ok((info, self.stats))
    }

    /// The invariant check: every pack this snapshot deduplicated against, and every pack it
    /// wrote or adopted, is in the store at its recorded size (one listing of `data/`).
    fn check_packs_present(&self) -> Result<()> {
        let listed: HashMap<String, u64> = self
            .repo
            .store()
            .list(DATA_PREFIX)?
            .into_iter()
            .map(|o| (o.name, o.size))
            .collect();
        let used = self.used_packs.iter().map(|n| {
            let info = self.index.pack(*n);
            (info.name.as_str(), info.size)
        });
        let new = self.new_packs.iter().map(|p| (p.pack.as_str(), p.size));
        for (name, size) in used.chain(new) {
            let present = listed.get(name);
            if present.is_none() || size.is_some_and(|size| present != Some(&size)) {
                return Err(Error::StoreChanged {
                    what: format!(
                        "pack {name} this backup needs is no longer in the store (or changed size)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Merges index objects much smaller than the largest into one, once there are several:
    /// keeps the object count low without re-uploading the big base index. Crash-safe: the
    /// merged object is written before the merged ones are deleted, and duplicates are harmless.
    fn merge_small_indexes(&mut self) -> Result<()> {
        let largest = self.index_sizes.iter().map(|(_, s)| *s).max().unwrap_or(0);
        // Padding makes every small delta at least one pad unit.
        let smallest = object::MIN_LEN + object::PAD_UNIT;
        let small: Vec<String> = self
            .index_sizes
            .iter()
            .filter(|(_, size)| size * SMALL_INDEX_SHARE < largest || *size <= smallest)
            .map(|(name, _)| name.clone())
            .collect();
        if small.len() < MERGE_AT {
            return Ok(());
        }
        let store = self.repo.store().as_ref();
        let keys = self.repo.keys();
        let mut merged = IndexObject::default();
        for name in &small {
            let (object, _) = Cache::fetch(self.cache.as_ref(), store, name, None, |bytes| {
                index::decode(keys, name, bytes)
            })?;
            merged.packs.extend(object.packs);
            merged.condemned.extend(object.condemned);
        }
        let name = index::new_index_name()?;
        let bytes = index::encode(keys, &name, &merged)?;
        self.lock.verify()?;
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

/// Puts the config back when the store lost it or holds one that does not even parse: this
/// device opened the repository, so its config (slots, wrapped keys) is the newest it knows.
/// A config that parses but does not authenticate under this device's root key is left alone:
/// it may be another device's rotation, which must never be undone (`adopt_keyring`).
fn heal_config(repo: &Repository, inventory: &Inventory) -> Result<bool> {
    let store = repo.store().as_ref();
    let damaged = match inventory.config {
        None => true,
        Some(_) => match store.get(super::CONFIG_NAME, None) {
            Ok(bytes) => super::config::SealedConfig::decode(&bytes).is_err(),
            Err(Error::ObjectMissing { .. }) => true,
            Err(err) => return Err(err),
        },
    };
    if damaged {
        log::warn!("the repository config was lost or damaged in the store and is put back");
        store.put(super::CONFIG_NAME, &repo.config_bytes(repo.keys())?)?;
    }
    Ok(damaged)
}
