//! The media part of a backup: every attachment of the database, in id order, becomes one
//! record of the snapshot's media catalog (`crate::repo::catalog`), and the bytes of those
//! stored go into media packs as fixed blocks of [`MEDIA_BLOCK`] bytes.
//!
//! Fixed blocks, not content-defined chunks: media is deduplicated as whole files (a photo
//! forwarded into ten chats, the same voice note saved twice), which fixed blocks do as well,
//! and a file's blocks depend only on its length, so nothing of its content shapes what the
//! store sees (`repo::chunker` explains the attacks on content-defined cut points; full
//! media packs all have one size, `repo::packer`).
//!
//! A file is read only when it is new or changed: the previous snapshot's catalog is walked
//! beside the attachments (both in id order, so memory stays flat), and an attachment whose
//! reference, size and modification stamp are unchanged, and whose chunks are all still in
//! the repository, keeps its chunk list without a read. A chunk the repository holds is never
//! uploaded again, so a photo forwarded into ten chats is stored once.

use std::{
    io::Read,
    sync::{
        mpsc::{self, Receiver, SyncSender},
        Arc,
    },
    thread::JoinHandle,
};

use sha2::{Digest, Sha256};

use super::{source::FileStamp, MediaKind, MediaRef, MediaSource};
use crate::{
    progress::Reporter,
    repo::{
        catalog::{CatalogEntry, CatalogReader, EntryState},
        keys::ChunkId,
        MediaSummary, SnapshotReader, SnapshotWriter,
    },
    store::{AttachmentPlace, ChatStore},
    Error, Result,
};

/// Attachments read from the database at a time.
const PAGE: usize = 256;
/// Media files are cut into blocks of this many bytes (the last one of a file shorter): the
/// repository's largest chunk, so a full media pack holds a whole number of them.
pub const MEDIA_BLOCK: usize = crate::repo::chunker::MAX_CHUNK_LEN as usize;

/// What a media backup takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaOptions {
    /// Back up videos (`video/*`); true by default.
    pub include_videos: bool,
    /// Leave out files larger than this many bytes (none by default).
    pub max_file_bytes: Option<u64>,
    /// Leave out the media of these conversations.
    pub excluded_conversations: Vec<i64>,
}

impl Default for MediaOptions {
    fn default() -> Self {
        MediaOptions {
            include_videos: true,
            max_file_bytes: None,
            excluded_conversations: Vec::new(),
        }
    }
}

impl MediaOptions {
    /// Whether these options leave the attachment out, before its file is looked at.
    fn skips(&self, place: &AttachmentPlace, kind: MediaKind) -> bool {
        (kind == MediaKind::Video && !self.include_videos)
            || self.excluded_conversations.contains(&place.conversation_id)
    }
}

/// The media of a backup: where the files are and what to take.
pub struct MediaBackup<'a> {
    /// The app's files.
    pub source: &'a dyn MediaSource,
    /// What to take.
    pub options: MediaOptions,
}

/// What the media part of a backup did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaBackupStats {
    /// The snapshot's media counts.
    pub summary: MediaSummary,
    /// Files read (new or changed since the last backup).
    pub files_read: u64,
    /// Files kept from the last backup without reading them.
    pub files_unchanged: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Files that could not be read (recorded as absent; see the log).
    pub files_unreadable: u64,
}

/// The previous catalog, walked in step with the attachments. A damaged or unreadable previous
/// catalog only costs speed: the files are read again.
struct Previous<'r> {
    reader: Option<CatalogReader<SnapshotReader<'r>>>,
    next: Option<CatalogEntry>,
}

impl Previous<'_> {
    /// The previous record of `attachment_id`, if there is one.
    fn find(&mut self, attachment_id: i64) -> Option<CatalogEntry> {
        loop {
            if let Some(entry) = &self.next {
                if entry.attachment_id > attachment_id {
                    return None;
                }
                if entry.attachment_id == attachment_id {
                    return self.next.take();
                }
            }
            let reader = self.reader.as_mut()?;
            match reader.next_entry() {
                Ok(Some(entry)) => self.next = Some(entry),
                Ok(None) => self.reader = None,
                Err(err) => {
                    log::warn!("previous media catalog unreadable, files are read again: {err}");
                    self.reader = None;
                }
            }
        }
    }
}

/// Work for the digest thread, in attachment order.
enum DigestJob {
    /// The next chunk of the file being read.
    Chunk(Arc<Vec<u8>>),
    /// The file read so far was abandoned (it failed to read): forget its digest.
    Abandon,
    /// The file is complete: its record gets the size and SHA-256 of the chunks since the last
    /// record.
    FileEnd(Box<CatalogEntry>),
    /// A record with nothing to hash (absent, skipped, unchanged).
    Ready(Box<CatalogEntry>),
}

/// The SHA-256 of each file, on its own thread: the calling thread reads, cuts and ids the
/// chunks, this thread hashes them in order, the packer seals the new ones, so the three
/// costliest steps run side by side. Records pass through it in attachment order and come
/// back complete; the job queue is bounded, so memory stays flat.
struct Digester {
    jobs: Option<SyncSender<DigestJob>>,
    done: Receiver<CatalogEntry>,
    thread: Option<JoinHandle<()>>,
}

/// Jobs queued at most for the digest thread (8 MiB of 1 MiB chunks).
const DIGEST_QUEUE: usize = 8;

impl Digester {
    fn start() -> Result<Digester> {
        let (jobs, queue) = mpsc::sync_channel(DIGEST_QUEUE);
        let (done_tx, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("keepsake-digest".into())
            .spawn(move || digest_files(queue, done_tx))
            .map_err(|e| Error::Io {
                path: None,
                source: e,
            })?;
        Ok(Digester {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    fn send(&self, job: DigestJob) -> Result<()> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| Error::Io {
                path: None,
                source: std::io::Error::other("the digest thread stopped"),
            })
    }

    /// Records completed so far.
    fn completed(&self) -> impl Iterator<Item = CatalogEntry> + '_ {
        self.done.try_iter()
    }

    /// Every record still in flight, once the thread has hashed everything.
    fn finish(mut self) -> Vec<CatalogEntry> {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.done.try_iter().collect()
    }
}

impl Drop for Digester {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn digest_files(queue: Receiver<DigestJob>, done: mpsc::Sender<CatalogEntry>) {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for job in queue {
        let entry = match job {
            DigestJob::Chunk(chunk) => {
                hasher.update(chunk.as_slice());
                size += chunk.len() as u64;
                continue;
            }
            DigestJob::Abandon => {
                hasher = Sha256::new();
                size = 0;
                continue;
            }
            DigestJob::FileEnd(mut entry) => {
                entry.sha256 = std::mem::take(&mut hasher).finalize().into();
                entry.size = std::mem::take(&mut size);
                entry
            }
            DigestJob::Ready(entry) => entry,
        };
        if done.send(*entry).is_err() {
            return;
        }
    }
}

/// Writes the media of `store`'s attachments into `writer`'s snapshot: stored files' chunks
/// into media packs, and one catalog record per attachment. `reporter` gets bytes and files.
pub fn write_media(
    writer: &mut SnapshotWriter<'_>,
    store: &ChatStore,
    media: &MediaBackup<'_>,
    reporter: &mut Reporter<'_>,
) -> Result<MediaBackupStats> {
    let (files, bytes) = store.attachment_totals()?;
    reporter.start_media(bytes, files)?;
    let mut previous = Previous {
        reader: writer.parent_catalog().unwrap_or_else(|err| {
            log::warn!("previous snapshot unreadable, media files are read again: {err}");
            None
        }),
        next: None,
    };
    let mut stats = MediaBackupStats::default();
    let digester = Digester::start()?;
    let mut record = Vec::new();
    let mut write_record = |writer: &mut SnapshotWriter<'_>, entry: CatalogEntry| {
        match entry.state {
            EntryState::Stored => {
                stats.summary.files_stored += 1;
                stats.summary.bytes_stored += entry.size;
            }
            EntryState::Absent => stats.summary.files_absent += 1,
            EntryState::Skipped => stats.summary.files_skipped += 1,
        }
        record.clear();
        entry.encode(&mut record);
        writer.write_catalog(&record)
    };
    let mut read = ReadStats::default();
    let mut after = i64::MIN;
    loop {
        let page = store.attachments_after(after, PAGE)?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.attachment.id;
        for place in &page {
            let done_before = reporter.done();
            let job = media_entry(
                writer,
                place,
                media,
                &mut previous,
                &digester,
                &mut read,
                reporter,
            )?;
            digester.send(job)?;
            for entry in digester.completed() {
                write_record(writer, entry)?;
            }
            // The total is the rows' sizes: an attachment not read (absent, skipped,
            // unchanged) or smaller than its row says still counts its row's size.
            let counted = reporter.done() - done_before;
            reporter.advance(place.attachment.size.saturating_sub(counted))?;
            reporter.file_done()?;
        }
    }
    for entry in digester.finish() {
        write_record(writer, entry)?;
    }
    reporter.finish_phase()?;
    stats.files_read = read.files_read;
    stats.files_unchanged = read.files_unchanged;
    stats.bytes_read = read.bytes_read;
    stats.files_unreadable = read.files_unreadable;
    Ok(stats)
}

/// What reading the files did (the record counts come back from the digest thread).
#[derive(Default)]
struct ReadStats {
    files_read: u64,
    files_unchanged: u64,
    bytes_read: u64,
    files_unreadable: u64,
}

/// The digest job that completes one attachment's record; its new chunks are on their way to
/// the packer and its bytes to the digest thread.
fn media_entry(
    writer: &mut SnapshotWriter<'_>,
    place: &AttachmentPlace,
    media: &MediaBackup<'_>,
    previous: &mut Previous<'_>,
    digester: &Digester,
    stats: &mut ReadStats,
    reporter: &mut Reporter<'_>,
) -> Result<DigestJob> {
    let a = &place.attachment;
    let kind = MediaKind::of_mime(&a.mime);
    let local_ref = a.local_ref.clone().unwrap_or_default();
    let mut entry = Box::new(CatalogEntry {
        attachment_id: a.id,
        conversation_id: place.conversation_id,
        sent_at: place.sent_at,
        state: EntryState::Skipped,
        size: 0,
        sha256: [0; 32],
        modified: 0,
        mime: a.mime.clone(),
        local_ref: local_ref.clone(),
        chunks: Vec::new(),
    });
    let before = previous.find(a.id);
    if media.options.skips(place, kind) {
        return Ok(DigestJob::Ready(entry));
    }
    let reference = MediaRef {
        attachment_id: a.id,
        local_ref: &local_ref,
        mime: &a.mime,
    };
    entry.state = EntryState::Absent;
    let Some(stamp) = from_source(media.source.stat(&reference), a.id, stats)? else {
        return Ok(DigestJob::Ready(entry));
    };
    if media
        .options
        .max_file_bytes
        .is_some_and(|max| stamp.size > max)
    {
        entry.state = EntryState::Skipped;
        return Ok(DigestJob::Ready(entry));
    }
    if let Some(before) = before.filter(|b| unchanged(b, &local_ref, &stamp, writer)) {
        stats.files_unchanged += 1;
        reporter.advance(before.size)?;
        return Ok(DigestJob::Ready(Box::new(before_with_place(
            before, &entry,
        ))));
    }
    let Some(file) = from_source(media.source.open(&reference), a.id, stats)? else {
        return Ok(DigestJob::Ready(entry));
    };
    match store_file(writer, file, kind.compressible(), digester, reporter)? {
        Some((size, chunks)) => {
            stats.files_read += 1;
            stats.bytes_read += size;
            entry.state = EntryState::Stored;
            entry.modified = stamp.modified;
            entry.chunks = chunks;
            Ok(DigestJob::FileEnd(entry))
        }
        None => {
            stats.files_unreadable += 1;
            digester.send(DigestJob::Abandon)?;
            Ok(DigestJob::Ready(entry))
        }
    }
}

/// A source call's answer: `Some` to go on, `None` when the attachment is to be recorded as
/// absent (not on the device, or failing: one unreadable file must not stop every backup), a
/// cancel as an error.
fn from_source<T>(
    answer: Result<Option<T>>,
    attachment_id: i64,
    stats: &mut ReadStats,
) -> Result<Option<T>> {
    match answer {
        Ok(found) => Ok(found),
        Err(err @ Error::Cancelled) => Err(err),
        Err(err) => {
            log::warn!("attachment {attachment_id}: not readable, recorded as absent: {err}");
            stats.files_unreadable += 1;
            Ok(None)
        }
    }
}

/// Whether the previous record still describes the file, and all its chunks are still there
/// (intact copies, in packs the store holds: a file whose chunks were lost is read again).
fn unchanged(
    before: &CatalogEntry,
    local_ref: &str,
    stamp: &FileStamp,
    writer: &mut SnapshotWriter<'_>,
) -> bool {
    before.state == EntryState::Stored
        && stamp.modified != 0
        && before.modified == stamp.modified
        && before.size == stamp.size
        && before.local_ref == local_ref
        && writer.reuse_chunks(&before.chunks)
}

/// A file as blocks of [`MEDIA_BLOCK`] bytes.
struct Blocks<R>(R);

impl<R: Read> Iterator for Blocks<R> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Result<Vec<u8>>> {
        let mut block = vec![0u8; MEDIA_BLOCK];
        let mut filled = 0;
        while filled < block.len() {
            match self.0.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Some(Err(Error::from(err))),
            }
        }
        block.truncate(filled);
        (filled > 0).then_some(Ok(block))
    }
}

/// The previous record's file with the attachment's current place (a message may have moved).
fn before_with_place(before: CatalogEntry, now: &CatalogEntry) -> CatalogEntry {
    CatalogEntry {
        conversation_id: now.conversation_id,
        sent_at: now.sent_at,
        mime: now.mime.clone(),
        ..before
    }
}

/// A file's reader that keeps its own error, so a file that fails to read is told apart from
/// a failing upload.
struct Tracked {
    inner: Box<dyn Read + Send>,
    failed: Option<std::io::Error>,
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|err| {
            // A cancel from the source (the app's stream) stops the backup, as from `open`.
            let cancelled = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<Error>())
                .is_some_and(|e| matches!(e, Error::Cancelled));
            if !cancelled {
                self.failed = Some(std::io::Error::new(err.kind(), err.to_string()));
            }
        })
    }
}

/// Chunks one file, ids its chunks, stores the new ones and passes every chunk to the digest
/// thread; returns its size and chunk ids, or `None` when the file failed to read (it is then
/// recorded as absent and the backup goes on; chunks already stored stay for the next run).
fn store_file(
    writer: &mut SnapshotWriter<'_>,
    file: Box<dyn Read + Send>,
    compress: bool,
    digester: &Digester,
    reporter: &mut Reporter<'_>,
) -> Result<Option<(u64, Vec<ChunkId>)>> {
    let mut size = 0u64;
    let mut chunks = Vec::new();
    let mut tracked = Tracked {
        inner: file,
        failed: None,
    };
    let mut chunk_error = None;
    for chunk in Blocks(&mut tracked) {
        let chunk = match chunk {
            Ok(chunk) => Arc::new(chunk),
            Err(err) => {
                chunk_error = Some(err);
                break;
            }
        };
        size += chunk.len() as u64;
        reporter.advance(chunk.len() as u64)?;
        let id = writer.chunk_id(&chunk);
        writer.add_media_chunk(id, chunk.clone(), compress)?;
        digester.send(DigestJob::Chunk(chunk))?;
        chunks.push(id);
    }
    if let Some(err) = tracked.failed {
        log::warn!("a media file failed to read, recorded as absent: {err}");
        return Ok(None);
    }
    match chunk_error {
        Some(err) => Err(err),
        None => Ok(Some((size, chunks))),
    }
}
