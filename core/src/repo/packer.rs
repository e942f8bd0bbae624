//! The packer: compresses, seals and packs new chunks on its own thread, and uploads full packs
//! on up to N uploader threads, so that a backup runs on three threads (export, chunking and
//! ids, packing) besides its uploads, the costliest step (zstd) overlaps with the other two, and
//! a link with latency has several uploads in flight (restic keeps five).
//!
//! Memory is bounded: a queue of at most [`ARCHIVE_QUEUE`] (or [`MEDIA_QUEUE`]) chunks, the
//! pack being sealed and one pack per upload in flight. Packs are stored with
//! [`BlobStore::put_batched`] and made durable by a [`BlobStore::sync`] every [`SYNC_EVERY`]
//! packs and at the end, before any index names them. The packer uploads only whole packs;
//! when the writer is dropped without [`Packer::finish`] (an error or a cancel) it stops
//! without uploading its partial pack.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender},
        Arc, Mutex, PoisonError,
    },
    thread::{self, JoinHandle},
};

use super::{
    index::{IndexEntry, PackEntries},
    keys::{ChunkId, EpochKeys},
    pack::{
        media_pack_len, padme, PackBuilder, CODEC_STORED, CODEC_ZSTD, MEDIA_PAD_UNIT,
        MIN_SEALED_CHUNK,
    },
    BlobStore,
};
use crate::{Error, Result};

/// The last chat pack of a backup is padded to a multiple of this: a day's new messages and
/// catalog records (about 150 bytes per new attachment) show only to this granularity.
pub(crate) const ARCHIVE_PAD_UNIT: usize = 64 * 1024;
/// Chunks queued at most between the chunker and the archive packer (2 MiB at 32 KiB chunks).
pub(crate) const ARCHIVE_QUEUE: usize = 64;
/// Chunks queued at most for the media packer (8 MiB at the 1 MiB media chunk ceiling).
pub(crate) const MEDIA_QUEUE: usize = 8;

enum Job {
    /// A chunk, and whether to try compressing it. Shared: the media backup also hashes it.
    Chunk(ChunkId, Arc<Vec<u8>>, bool),
    Finish,
}

/// What the packer uploaded.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    pub(crate) packs: Vec<PackEntries>,
    pub(crate) bytes: u64,
    pub(crate) objects: u64,
}

/// Handle of the packing thread.
pub(crate) struct Packer {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<Result<Packed>>>,
}

impl Packer {
    /// Starts the thread; chunks are sealed under `keys` into packs of `kind` for a repository
    /// whose pack target is `target`; at most `queue` chunks wait, and at most `uploads` packs
    /// upload at once (each one more pack in memory).
    pub(crate) fn start(
        store: Arc<dyn BlobStore>,
        keys: EpochKeys,
        target: u32,
        kind: PackKind,
        level: i32,
        queue: usize,
        uploads: usize,
    ) -> Result<Packer> {
        let compressor = zstd::bulk::Compressor::new(level)?;
        let (jobs, queue) = mpsc::sync_channel(queue);
        let thread = thread::Builder::new()
            .name("keepsake-packer".into())
            .spawn(move || {
                run(
                    queue,
                    store.as_ref(),
                    &keys,
                    Sizing::of(kind, target),
                    compressor,
                    uploads.max(1),
                )
            })
            .map_err(|e| Error::Io {
                path: None,
                source: e,
            })?;
        Ok(Packer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queues a new chunk, compressed when `compress` and that makes it smaller (media is
    /// stored as it is: it is compressed already). If the packer has stopped (a failed
    /// upload), its error is returned.
    pub(crate) fn add(&mut self, id: ChunkId, data: Arc<Vec<u8>>, compress: bool) -> Result<()> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Job::Chunk(id, data, compress)).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.join().err().unwrap_or_else(|| Error::Io {
                path: None,
                source: std::io::Error::other("the packer stopped"),
            }))
        }
    }

    /// Uploads the last pack and returns everything uploaded.
    pub(crate) fn finish(mut self) -> Result<Packed> {
        if let Some(jobs) = &self.jobs {
            // A failed send means the thread already stopped; join reports why.
            let _ = jobs.send(Job::Finish);
        }
        self.join()
    }

    fn join(&mut self) -> Result<Packed> {
        self.jobs = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Err(Error::Io {
                path: None,
                source: std::io::Error::other("the packer already stopped"),
            }),
        }
    }
}

impl Drop for Packer {
    /// Stops the thread (without uploading a partial pack) and waits for it, so no upload runs
    /// after the writer is gone.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Which packs a packer makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PackKind {
    /// Chat chunks (and the media catalog): closed at the pack target; the last one of a
    /// backup padded to a multiple of [`ARCHIVE_PAD_UNIT`], and to a Padmé size above that.
    Archive,
    /// Media chunks: every full pack exactly [`media_pack_len`] (closed before the chunk that
    /// would overflow it, then padded), the last one of a backup padded to a multiple of
    /// [`MEDIA_PAD_UNIT`]: pack sizes tell neither a known file's size nor how many small
    /// attachments a day added.
    Media,
}

/// When a pack is closed and how it is padded.
#[derive(Debug, Clone, Copy)]
struct Sizing {
    kind: PackKind,
    /// Archive: close at this many bytes of chunks. Media: every full pack's exact size.
    size: usize,
}

impl Sizing {
    fn of(kind: PackKind, target: u32) -> Sizing {
        let size = match kind {
            PackKind::Archive => target as usize,
            PackKind::Media => media_pack_len(target),
        };
        Sizing { kind, size }
    }

    /// Whether a pack must be closed before a chunk of `sealed_len` bytes goes in.
    fn full_before(&self, pack: &PackBuilder, sealed_len: usize) -> bool {
        self.kind == PackKind::Media && !pack.is_empty() && pack.len_with(sealed_len) > self.size
    }

    /// Whether a pack is full after a chunk went in.
    fn full_after(&self, pack: &PackBuilder) -> bool {
        self.kind == PackKind::Archive && pack.len() >= self.size
    }

    /// The padded size of a full pack of `len` bytes.
    fn full(&self, len: usize) -> usize {
        match self.kind {
            PackKind::Archive => len,
            PackKind::Media => self.size,
        }
    }

    /// The padded size of a backup's last pack of `len` bytes.
    fn last(&self, len: usize) -> usize {
        match self.kind {
            PackKind::Archive => (len.div_ceil(ARCHIVE_PAD_UNIT) * ARCHIVE_PAD_UNIT)
                .max(usize::try_from(padme(len as u64)).unwrap_or(len)),
            PackKind::Media => (len.div_ceil(MEDIA_PAD_UNIT) * MEDIA_PAD_UNIT).min(self.size),
        }
    }
}

/// A sealed pack ready to upload: name, bytes, entries.
type Finished = (String, Vec<u8>, Vec<IndexEntry>);

fn run(
    queue: Receiver<Job>,
    store: &dyn BlobStore,
    keys: &EpochKeys,
    sizing: Sizing,
    compressor: zstd::bulk::Compressor<'static>,
    uploads: usize,
) -> Result<Packed> {
    let packed = Mutex::new(Packed::default());
    let stored = AtomicU64::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let packing = thread::scope(|scope| {
        // A rendezvous channel: the sealer waits until an uploader is free, so at most
        // `uploads` packs are in flight.
        let (to_upload, finished_packs) = mpsc::sync_channel::<Finished>(0);
        let finished_packs = Arc::new(Mutex::new(finished_packs));
        for _ in 0..uploads {
            let finished_packs = finished_packs.clone();
            let (packed, stored, failure) = (&packed, &stored, &failure);
            scope.spawn(move || loop {
                let next = finished_packs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .recv();
                let Ok(finished) = next else { return };
                if let Err(err) = put(store, keys, finished, packed, stored) {
                    failure
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert(err);
                    return;
                }
            });
        }
        // Once every uploader has stopped (after a failure), sends fail and packing stops.
        drop(finished_packs);
        let packing = pack_chunks(queue, keys, sizing, compressor, &mut |finished| {
            to_upload.send(finished).map_err(|_| Error::Io {
                path: None,
                source: std::io::Error::other("the uploaders stopped"),
            })
        });
        drop(to_upload);
        packing
    });
    // Even a run that stops makes what it stored durable, for the next run to adopt.
    let synced = store.sync();
    // A failed upload is the cause of a failed send: report it first.
    if let Some(err) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(err);
    }
    packing?;
    synced?;
    Ok(packed.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Seals queued chunks into packs and hands each finished pack to `ship`.
fn pack_chunks(
    queue: Receiver<Job>,
    keys: &EpochKeys,
    sizing: Sizing,
    mut compressor: zstd::bulk::Compressor<'static>,
    ship: &mut dyn FnMut(Finished) -> Result<()>,
) -> Result<()> {
    let capacity = sizing.size + super::chunker::MAX_CHUNK_LEN as usize + 64 * 1024;
    let mut pack: Option<PackBuilder> = None;
    loop {
        match queue.recv() {
            Ok(Job::Chunk(id, data, compress)) => {
                let raw_len = u32::try_from(data.len()).map_err(|_| Error::LimitExceeded {
                    what: "chunk length".into(),
                    found: data.len() as u64,
                    limit: super::chunker::MAX_CHUNK_LEN.into(),
                })?;
                let compressed = if compress {
                    compressor.compress(&data)?
                } else {
                    Vec::new()
                };
                let (codec, body) = if compress && compressed.len() < data.len() {
                    (CODEC_ZSTD, compressed.as_slice())
                } else {
                    (CODEC_STORED, data.as_slice())
                };
                let sealed_len = body.len() + MIN_SEALED_CHUNK;
                if pack
                    .as_ref()
                    .is_some_and(|current| sizing.full_before(current, sealed_len))
                {
                    if let Some(full) = pack.take() {
                        ship(full.finish_padded(keys, |len| sizing.full(len))?)?;
                    }
                }
                let current = match pack.as_mut() {
                    Some(current) => current,
                    None => pack.insert(PackBuilder::new(keys.epoch(), capacity)?),
                };
                current.push(keys, id, raw_len, codec, body)?;
                if sizing.full_after(current) {
                    if let Some(full) = pack.take() {
                        ship(full.finish_padded(keys, |len| sizing.full(len))?)?;
                    }
                }
            }
            Ok(Job::Finish) => {
                if let Some(last) = pack.take().filter(|p| !p.is_empty()) {
                    ship(last.finish_padded(keys, |len| sizing.last(len))?)?;
                }
                return Ok(());
            }
            // The writer went away without finishing: no partial pack is uploaded.
            Err(_) => {
                return Err(Error::Io {
                    path: None,
                    source: std::io::Error::other("snapshot abandoned"),
                })
            }
        }
    }
}

/// Packs put between two syncs of the store: after a power cut, at most this many packs of a
/// killed run may be short (and are then not adopted by the next run).
pub(crate) const SYNC_EVERY: u64 = 4;

fn put(
    store: &dyn BlobStore,
    keys: &EpochKeys,
    finished: Finished,
    packed: &Mutex<Packed>,
    stored: &AtomicU64,
) -> Result<()> {
    let (name, bytes, entries) = finished;
    store.put_batched(&name, &bytes)?;
    if (stored.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(SYNC_EVERY) {
        store.sync()?;
    }
    let mut packed = packed.lock().unwrap_or_else(PoisonError::into_inner);
    packed.bytes += bytes.len() as u64;
    packed.objects += 1;
    packed.packs.push(PackEntries {
        pack: name,
        epoch: keys.epoch(),
        size: Some(bytes.len() as u64),
        entries,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::repo::{BlobStore, ByteRange, MemStore, ObjectInfo};

    /// A store whose puts take a while and that records how many ran at once.
    #[derive(Default)]
    struct SlowPuts {
        inner: MemStore,
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl BlobStore for SlowPuts {
        fn put(&self, name: &str, data: &[u8]) -> Result<()> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.now.fetch_sub(1, Ordering::SeqCst);
            self.inner.put(name, data)
        }
        fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
            self.inner.create(name, data)
        }
        fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
            self.inner.get(name, range)
        }
        fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
            self.inner.list(prefix)
        }
        fn delete(&self, name: &str) -> Result<()> {
            self.inner.delete(name)
        }
        fn stat(&self, name: &str) -> Result<Option<u64>> {
            self.inner.stat(name)
        }
    }

    #[test]
    fn packs_upload_side_by_side_up_to_the_limit_and_all_arrive() {
        for uploads in [1, 3] {
            let store = Arc::new(SlowPuts::default());
            let keys = EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap();
            let mut packer = Packer::start(
                store.clone(),
                keys.duplicate(&[1; 16]).unwrap(),
                64 * 1024,
                PackKind::Archive,
                1,
                ARCHIVE_QUEUE,
                uploads,
            )
            .unwrap();
            for n in 0..200u32 {
                let data: Vec<u8> = (0..8192u32)
                    .map(|i| (i.wrapping_mul(n + 7) >> 3) as u8)
                    .collect();
                packer
                    .add(keys.chunk_id(&data), Arc::new(data), false)
                    .unwrap();
            }
            let packed = packer.finish().unwrap();
            assert_eq!(packed.objects as usize, store.inner.object_count());
            assert_eq!(
                packed.packs.iter().map(|p| p.entries.len()).sum::<usize>(),
                200
            );
            let most = store.most.load(Ordering::SeqCst);
            if uploads == 1 {
                assert_eq!(most, 1);
            } else {
                assert!(most > 1 && most <= uploads, "{most} uploads at once");
            }
        }
    }
}
