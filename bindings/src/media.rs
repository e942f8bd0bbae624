//! Media (photos, voice notes, videos, documents) across the FFI: the records of a media backup
//! and restore, and the foreign traits through which the app hands its files to a backup
//! ([`MediaSource`], read as streams of [`MediaStream`]) and receives restored ones
//! ([`MediaSink`], written through a [`MediaFileWriter`]). Files cross the FFI in pieces of
//! at most 64 KiB, never as one array. The `Repository` methods are in `repo/media.rs`.
//!
//! Errors keep their meaning: an app-side `Cancelled` stays a cancellation; anything else the
//! app throws is an I/O error for the core, so a file the source fails to stat, open or read
//! is recorded as absent and the backup goes on, and a sink that fails stops the restore
//! (which the next run resumes).

use std::{
    io::{self, Read},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use keepsake_core::{
    media::{self as core_media},
    repo::MediaSummary as CoreMediaSummary,
    Error as CoreError, Result as CoreResult,
};

use crate::{
    count::{long, unsigned},
    error::{guard, FfiResult, KeepsakeError},
    streams::{foreign_to_io, ByteSource, SourceReader, CHUNK_SIZE},
};

/// What kind of media an attachment is, from its MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MediaKind {
    /// Images (`image/...`; never a slash-star in these comments: Kotlin nests comments).
    Image,
    /// Videos (`video/...`).
    Video,
    /// Audio, voice notes (`audio/...`).
    Audio,
    /// Anything else (documents).
    Document,
}

impl From<core_media::MediaKind> for MediaKind {
    fn from(kind: core_media::MediaKind) -> Self {
        match kind {
            core_media::MediaKind::Image => MediaKind::Image,
            core_media::MediaKind::Video => MediaKind::Video,
            core_media::MediaKind::Audio => MediaKind::Audio,
            core_media::MediaKind::Document => MediaKind::Document,
        }
    }
}

impl From<MediaKind> for core_media::MediaKind {
    fn from(kind: MediaKind) -> Self {
        match kind {
            MediaKind::Image => core_media::MediaKind::Image,
            MediaKind::Video => core_media::MediaKind::Video,
            MediaKind::Audio => core_media::MediaKind::Audio,
            MediaKind::Document => core_media::MediaKind::Document,
        }
    }
}

/// An attachment whose file a backup asks the app for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MediaRef {
    /// `Attachment.id`.
    pub attachment_id: i64,
    /// `Attachment.localRef` (empty when the row has none).
    pub local_ref: String,
    /// `Attachment.mime`.
    pub mime: String,
}

/// A file's size and modification stamp. An unchanged size and stamp tell the next backup it
/// need not read the file again; `modified == 0` means unknown (the file is read every time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct FileStamp {
    /// Bytes.
    pub size: i64,
    /// Modification time in any fixed unit (e.g. milliseconds), 0 when unknown.
    #[uniffi(default = 0)]
    pub modified: i64,
}

/// An attachment being restored, as the backup recorded it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MediaItem {
    /// `Attachment.id`.
    pub attachment_id: i64,
    /// Its message's conversation.
    pub conversation_id: i64,
    /// Its message's `sentAt`.
    pub sent_at: i64,
    /// MIME type.
    pub mime: String,
    /// The kind, from the MIME type.
    pub kind: MediaKind,
    /// Where the app kept the file on the old device (may be empty).
    pub local_ref: String,
    /// Bytes of the file.
    pub size: i64,
    /// SHA-256 of the file (32 bytes); the restore checks it before `commit`.
    pub sha256: Vec<u8>,
}

impl From<&core_media::MediaItem> for MediaItem {
    fn from(item: &core_media::MediaItem) -> Self {
        MediaItem {
            attachment_id: item.attachment_id,
            conversation_id: item.conversation_id,
            sent_at: item.sent_at,
            mime: item.mime.clone(),
            kind: item.kind().into(),
            local_ref: item.local_ref.clone(),
            size: long(item.size),
            sha256: item.sha256.to_vec(),
        }
    }
}

impl MediaItem {
    /// The core's item (for a built-in sink); the app may hand back a modified one.
    fn to_core(&self) -> FfiResult<core_media::MediaItem> {
        Ok(core_media::MediaItem {
            attachment_id: self.attachment_id,
            conversation_id: self.conversation_id,
            sent_at: self.sent_at,
            mime: self.mime.clone(),
            local_ref: self.local_ref.clone(),
            size: unsigned(self.size, "a media item's size")?,
            sha256: self.sha256.as_slice().try_into().map_err(|_| {
                KeepsakeError::invalid(format!(
                    "a media item's sha256 has {} bytes, not 32",
                    self.sha256.len()
                ))
            })?,
        })
    }
}

/// What a media backup takes (everything by default).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MediaOptions {
    /// Back up videos.
    #[uniffi(default = true)]
    pub include_videos: bool,
    /// Leave out files larger than this many bytes.
    #[uniffi(default = None)]
    pub max_file_bytes: Option<i64>,
    /// Leave out the media of these conversations.
    #[uniffi(default = [])]
    pub excluded_conversations: Vec<i64>,
}

impl MediaOptions {
    pub(crate) fn to_core(&self) -> FfiResult<core_media::MediaOptions> {
        Ok(core_media::MediaOptions {
            include_videos: self.include_videos,
            max_file_bytes: self
                .max_file_bytes
                .map(|n| unsigned(n, "max_file_bytes"))
                .transpose()?,
            excluded_conversations: self.excluded_conversations.clone(),
        })
    }
}

/// Which attachments a media restore takes; every field narrows it (all attachments when all
/// are null). Times are in the unit of `Message.sentAt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct MediaFilter {
    /// Only these conversations.
    #[uniffi(default = None)]
    pub conversations: Option<Vec<i64>>,
    /// Only messages sent at or after this time.
    #[uniffi(default = None)]
    pub sent_from: Option<i64>,
    /// Only messages sent before this time.
    #[uniffi(default = None)]
    pub sent_until: Option<i64>,
    /// Only these kinds.
    #[uniffi(default = None)]
    pub kinds: Option<Vec<MediaKind>>,
}

impl From<MediaFilter> for core_media::MediaFilter {
    fn from(f: MediaFilter) -> Self {
        core_media::MediaFilter {
            conversations: f.conversations,
            sent_from: f.sent_from,
            sent_until: f.sent_until,
            kinds: f
                .kinds
                .map(|kinds| kinds.into_iter().map(Into::into).collect()),
        }
    }
}

/// A snapshot's attachments by what became of their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct MediaSummary {
    /// Attachments whose bytes are in the repository.
    pub files_stored: i64,
    /// Attachments whose file was not on the device (or could not be read).
    pub files_absent: i64,
    /// Attachments left out by the media options.
    pub files_skipped: i64,
    /// Bytes of the stored files (each attachment counted, forwards included).
    pub bytes_stored: i64,
}

impl From<CoreMediaSummary> for MediaSummary {
    fn from(s: CoreMediaSummary) -> Self {
        MediaSummary {
            files_stored: long(s.files_stored),
            files_absent: long(s.files_absent),
            files_skipped: long(s.files_skipped),
            bytes_stored: long(s.bytes_stored),
        }
    }
}

/// What the media part of a backup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct MediaBackupReport {
    /// The snapshot's media counts.
    pub summary: MediaSummary,
    /// Files read (new or changed since the last backup).
    pub files_read: i64,
    /// Files kept from the last backup without reading them.
    pub files_unchanged: i64,
    /// Bytes read from files.
    pub bytes_read: i64,
    /// Files the source failed to stat, open or read (recorded as absent; see the log).
    pub files_unreadable: i64,
}

impl From<core_media::MediaBackupStats> for MediaBackupReport {
    fn from(s: core_media::MediaBackupStats) -> Self {
        MediaBackupReport {
            summary: s.summary.into(),
            files_read: long(s.files_read),
            files_unchanged: long(s.files_unchanged),
            bytes_read: long(s.bytes_read),
            files_unreadable: long(s.files_unreadable),
        }
    }
}

/// An attachment that could not be restored, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LostMedia {
    /// `Attachment.id`.
    pub attachment_id: i64,
    /// What went wrong (a missing or damaged pack, a size or digest mismatch).
    pub reason: String,
}

/// What a media restore run did and what is left.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MediaRestoreReport {
    /// Files restored by this run.
    pub files_restored: i64,
    /// Bytes restored by this run.
    pub bytes_restored: i64,
    /// Files of the selection restored by earlier runs or fetched on demand.
    pub files_already_restored: i64,
    /// Attachments of the selection whose bytes the backup does not hold (not on the old
    /// device, or left out by the media options): show them as unavailable.
    pub files_not_in_backup: i64,
    /// Attachments of the selection lost to damage, with the reason.
    pub lost: Vec<LostMedia>,
}

impl From<core_media::MediaRestoreReport> for MediaRestoreReport {
    fn from(r: core_media::MediaRestoreReport) -> Self {
        MediaRestoreReport {
            files_restored: long(r.files_restored),
            bytes_restored: long(r.bytes_restored),
            files_already_restored: long(r.files_already_restored),
            files_not_in_backup: long(r.files_not_in_backup),
            lost: r
                .lost
                .into_iter()
                .map(|l| LostMedia {
                    attachment_id: l.attachment_id,
                    reason: l.reason,
                })
                .collect(),
        }
    }
}

/// The app's media files, by attachment: implemented over its own storage (or take
/// `directoryMediaSource`). Called on a backup's worker thread, one call at a time.
#[uniffi::export(with_foreign)]
pub trait MediaSource: Send + Sync {
    /// The file's size and stamp, or null when its bytes are not on the device (never
    /// downloaded, deleted): the backup records the attachment as absent.
    fn stat(&self, attachment: MediaRef) -> Result<Option<FileStamp>, KeepsakeError>;
    /// The file's bytes as a stream, or null when they are not on the device. (Not named
    /// `open`: UniFFI 0.32 writes Swift's escaped keyword into the C header.)
    fn open_stream(
        &self,
        attachment: MediaRef,
    ) -> Result<Option<Arc<dyn MediaStream>>, KeepsakeError>;
}

/// One file being read by a backup.
#[uniffi::export(with_foreign)]
pub trait MediaStream: Send + Sync {
    /// Up to `max_len` next bytes; an empty array means the end of the file.
    fn read(&self, max_len: i64) -> Result<Vec<u8>, KeepsakeError>;
    /// The backup is done with the stream (at the end, or after an error or a cancel). Named
    /// apart from the generated `close()`, which releases the object itself.
    fn close_stream(&self) -> Result<(), KeepsakeError>;
}

/// Receives restored files: implemented by the app (or take `directoryMediaSink`).
#[uniffi::export(with_foreign)]
pub trait MediaSink: Send + Sync {
    /// Starts writing `item`'s file.
    fn begin(&self, item: MediaItem) -> Result<Arc<dyn MediaFileWriter>, KeepsakeError>;
}

/// One restored file being written. Exactly one of `commit` and `abort` ends it.
#[uniffi::export(with_foreign)]
pub trait MediaFileWriter: Send + Sync {
    /// Appends bytes (at most 64 KiB per call).
    fn write(&self, bytes: Vec<u8>) -> Result<(), KeepsakeError>;
    /// Makes the file visible, atomically: called only once its size and SHA-256 matched.
    fn commit(&self) -> Result<(), KeepsakeError>;
    /// Drops what was written (a mismatch, a failure or a cancel).
    fn abort(&self) -> Result<(), KeepsakeError>;
}

/// An app-side error as the core's: a cancel stays one, anything else is I/O.
fn to_core(err: KeepsakeError) -> CoreError {
    CoreError::from(foreign_to_io(err))
}

/// The core's view of an app's [`MediaSource`].
pub(crate) struct ForeignMediaSource(pub(crate) Arc<dyn MediaSource>);

fn media_ref(media: &core_media::MediaRef<'_>) -> MediaRef {
    MediaRef {
        attachment_id: media.attachment_id,
        local_ref: media.local_ref.to_owned(),
        mime: media.mime.to_owned(),
    }
}

impl core_media::MediaSource for ForeignMediaSource {
    fn stat(&self, media: &core_media::MediaRef<'_>) -> CoreResult<Option<core_media::FileStamp>> {
        let Some(stamp) = self.0.stat(media_ref(media)).map_err(to_core)? else {
            return Ok(None);
        };
        let size = u64::try_from(stamp.size).map_err(|_| CoreError::Io {
            path: None,
            source: io::Error::other(format!(
                "the app's media source gave the size {}",
                stamp.size
            )),
        })?;
        Ok(Some(core_media::FileStamp {
            size,
            modified: stamp.modified,
        }))
    }

    fn open(&self, media: &core_media::MediaRef<'_>) -> CoreResult<Option<Box<dyn Read + Send>>> {
        let stream = self.0.open_stream(media_ref(media)).map_err(to_core)?;
        Ok(stream.map(|stream| Box::new(StreamReader::new(stream)) as Box<dyn Read + Send>))
    }
}

/// A [`MediaStream`] as a [`ByteSource`], so [`SourceReader`] reads it.
struct StreamChunks(Arc<dyn MediaStream>);

impl ByteSource for StreamChunks {
    fn read(&self, max_len: i64) -> Result<Vec<u8>, KeepsakeError> {
        self.0.read(max_len)
    }
}

/// `Read` over a foreign [`MediaStream`], closing it when dropped.
struct StreamReader {
    reader: SourceReader,
    stream: Arc<dyn MediaStream>,
}

impl StreamReader {
    fn new(stream: Arc<dyn MediaStream>) -> StreamReader {
        StreamReader {
            reader: SourceReader::new(Arc::new(StreamChunks(stream.clone()))),
            stream,
        }
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        if let Err(err) = self.stream.close_stream() {
            log::warn!("the app's media stream failed to close: {err}");
        }
    }
}

/// The core's view of an app's [`MediaSink`].
pub(crate) struct ForeignMediaSink(pub(crate) Arc<dyn MediaSink>);

impl core_media::MediaSink for ForeignMediaSink {
    fn begin(&self, item: &core_media::MediaItem) -> CoreResult<Box<dyn core_media::MediaWriter>> {
        let writer = self.0.begin(item.into()).map_err(to_core)?;
        Ok(Box::new(ForeignWriter(writer)))
    }
}

struct ForeignWriter(Arc<dyn MediaFileWriter>);

impl core_media::MediaWriter for ForeignWriter {
    fn write(&mut self, bytes: &[u8]) -> CoreResult<()> {
        for piece in bytes.chunks(CHUNK_SIZE) {
            self.0.write(piece.to_vec()).map_err(to_core)?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> CoreResult<()> {
        self.0.commit().map_err(to_core)
    }

    fn abort(self: Box<Self>) {
        if let Err(err) = self.0.abort() {
            log::warn!("the app's media writer failed to abort: {err}");
        }
    }
}

/// The core's directory source offered as a [`MediaSource`].
struct BuiltinMediaSource(core_media::DirMediaSource);

impl MediaSource for BuiltinMediaSource {
    fn stat(&self, attachment: MediaRef) -> FfiResult<Option<FileStamp>> {
        guard(|| {
            let stamp = core_media::MediaSource::stat(&self.0, &core_ref(&attachment))?;
            Ok(stamp.map(|s| FileStamp {
                size: long(s.size),
                modified: s.modified,
            }))
        })
    }

    fn open_stream(&self, attachment: MediaRef) -> FfiResult<Option<Arc<dyn MediaStream>>> {
        guard(|| {
            let file = core_media::MediaSource::open(&self.0, &core_ref(&attachment))?;
            Ok(file.map(|f| Arc::new(ReadStream(Mutex::new(Some(f)))) as Arc<dyn MediaStream>))
        })
    }
}

fn core_ref(attachment: &MediaRef) -> core_media::MediaRef<'_> {
    core_media::MediaRef {
        attachment_id: attachment.attachment_id,
        local_ref: &attachment.local_ref,
        mime: &attachment.mime,
    }
}

/// A file of a built-in source as a [`MediaStream`]; `close_stream` drops it.
struct ReadStream(Mutex<Option<Box<dyn Read + Send>>>);

impl MediaStream for ReadStream {
    fn read(&self, max_len: i64) -> FfiResult<Vec<u8>> {
        guard(|| {
            let len = usize::try_from(unsigned(max_len, "max_len")?)
                .unwrap_or(usize::MAX)
                .min(CHUNK_SIZE);
            let mut file = self
                .0
                .lock()
                .map_err(|_| KeepsakeError::internal("poisoned"))?;
            let Some(file) = file.as_mut() else {
                return Err(KeepsakeError::invalid("the media stream is closed"));
            };
            let mut buffer = vec![0; len];
            let n = file.read(&mut buffer).map_err(CoreError::from)?;
            buffer.truncate(n);
            Ok(buffer)
        })
    }

    fn close_stream(&self) -> FfiResult<()> {
        guard(|| {
            self.0
                .lock()
                .map_err(|_| KeepsakeError::internal("poisoned"))?
                .take();
            Ok(())
        })
    }
}

/// The core's directory sink offered as a [`MediaSink`].
struct BuiltinMediaSink(core_media::DirMediaSink);

impl MediaSink for BuiltinMediaSink {
    fn begin(&self, item: MediaItem) -> FfiResult<Arc<dyn MediaFileWriter>> {
        guard(|| {
            let writer = core_media::MediaSink::begin(&self.0, &item.to_core()?)?;
            Ok(Arc::new(BuiltinWriter(Mutex::new(Some(writer)))) as Arc<dyn MediaFileWriter>)
        })
    }
}

/// A file of a built-in sink; `commit` and `abort` end it, later calls are `InvalidArgument`.
struct BuiltinWriter(Mutex<Option<Box<dyn core_media::MediaWriter>>>);

impl BuiltinWriter {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Option<Box<dyn core_media::MediaWriter>>) -> FfiResult<T>,
    ) -> FfiResult<T> {
        guard(|| {
            let mut writer = self
                .0
                .lock()
                .map_err(|_| KeepsakeError::internal("poisoned"))?;
            f(&mut writer)
        })
    }
}

fn ended() -> KeepsakeError {
    KeepsakeError::invalid("the media file was committed or aborted already")
}

impl MediaFileWriter for BuiltinWriter {
    fn write(&self, bytes: Vec<u8>) -> FfiResult<()> {
        self.with(|w| Ok(w.as_mut().ok_or_else(ended)?.write(&bytes)?))
    }

    fn commit(&self) -> FfiResult<()> {
        self.with(|w| Ok(w.take().ok_or_else(ended)?.commit()?))
    }

    fn abort(&self) -> FfiResult<()> {
        self.with(|w| {
            w.take().ok_or_else(ended)?.abort();
            Ok(())
        })
    }
}

/// The files under the directory `path`, at their attachments' `localRef` (a relative path;
/// one that is empty, absolute or leaves the directory counts as not on the device).
#[uniffi::export]
pub fn directory_media_source(path: String) -> Arc<dyn MediaSource> {
    Arc::new(BuiltinMediaSource(core_media::DirMediaSource::new(
        PathBuf::from(path),
    )))
}

/// Restores files under the directory `path` (created when needed): at their `localRef` when
/// it is a plain relative path, else at `attachments/<id>`. Each file is written to a temporary
/// file and renamed into place once checked, so no partial or wrong file is ever visible.
#[uniffi::export]
pub fn directory_media_sink(path: String) -> Arc<dyn MediaSink> {
    Arc::new(BuiltinMediaSink(core_media::DirMediaSink::new(
        PathBuf::from(path),
    )))
}
