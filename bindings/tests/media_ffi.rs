//! Media through the FFI surface, with the app's source and sink written in Rust the way a
//! Kotlin or Swift app writes them (files read as streams, restored files committed only when
//! checked): the journey to a new device, a source that throws, and cancels that resume.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::{
    collections::{BTreeMap, HashSet},
    fs::File,
    io::Read,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use keepsake_ffi::{
    directory_media_sink, directory_media_source, memory_blob_store, Attachment, BackupSecret,
    BlobStore, Cancellation, ChatStore, Conversation, ConversationKind, DeliveryState, FileStamp,
    KeepsakeError, Keyring, MediaFileWriter, MediaFilter, MediaItem, MediaKind, MediaOptions,
    MediaRef, MediaSink, MediaSource, MediaStream, Message, MessageKind, ProgressListener,
    ProgressPhase, ProgressReport, Repository,
};

/// Deterministic incompressible bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// One attachment of the test device: its row, and its file (none: not on the device).
struct Item {
    id: i64,
    conversation: i64,
    mime: &'static str,
    local_ref: &'static str,
    bytes: Option<Vec<u8>>,
}

/// A device: a chat database whose messages carry photos, a voice note, a video, an empty
/// document, a forwarded photo and an attachment whose file is gone; files under `media`.
struct Device {
    dir: tempfile::TempDir,
    store: Arc<ChatStore>,
    media: PathBuf,
    items: Vec<Item>,
}

impl Device {
    fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = ChatStore::open(dir.path().join("chat.db").display().to_string()).unwrap();
        let photo = noise(180_000, 1);
        let items = vec![
            item(1, 1, "image/jpeg", "photos/beach.jpg", Some(photo.clone())),
            item(2, 1, "image/jpeg", "photos/cat.jpg", Some(noise(90_000, 2))),
            item(3, 2, "audio/ogg", "voice/note.ogg", Some(noise(30_000, 3))),
            item(
                4,
                2,
                "video/mp4",
                "video/clip.mp4",
                Some(noise(3_800_000, 4)),
            ),
            item(5, 2, "application/pdf", "docs/empty.pdf", Some(Vec::new())),
            item(6, 2, "image/jpeg", "photos/forwarded.jpg", Some(photo)),
            item(7, 1, "image/jpeg", "photos/gone.jpg", None),
        ];
        for conversation in [1, 2] {
            store
                .upsert_conversation(Conversation {
                    id: conversation,
                    kind: ConversationKind::Direct,
                    title: None,
                    created_at: 1,
                    archived: false,
                    muted_until: None,
                    pinned: false,
                    extra: None,
                })
                .unwrap();
        }
        let media = dir.path().join("media");
        for it in &items {
            store
                .insert_messages(vec![Message {
                    id: it.id,
                    conversation_id: it.conversation,
                    sender: "ana".into(),
                    kind: MessageKind::Media,
                    body: None,
                    sent_at: 1_700_000_000_000 + it.id,
                    received_at: None,
                    reply_to: None,
                    edited_at: None,
                    deleted_at: None,
                    delivery: DeliveryState::Read,
                    extra: None,
                }])
                .unwrap();
            let size = it.bytes.as_ref().map_or(0, Vec::len);
            store
                .insert_attachments(vec![Attachment {
                    id: it.id,
                    message_id: it.id,
                    mime: it.mime.into(),
                    file_name: None,
                    size: i64::try_from(size).unwrap(),
                    sha256: None,
                    width: None,
                    height: None,
                    duration_ms: None,
                    local_ref: Some(it.local_ref.into()),
                    extra: None,
                }])
                .unwrap();
            if let Some(bytes) = &it.bytes {
                let path = media.join(it.local_ref);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
        }
        Device {
            dir,
            store,
            media,
            items,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn bytes_of(&self, id: i64) -> &[u8] {
        self.items
            .iter()
            .find(|i| i.id == id)
            .unwrap()
            .bytes
            .as_deref()
            .unwrap()
    }
}

fn item(
    id: i64,
    conversation: i64,
    mime: &'static str,
    local_ref: &'static str,
    bytes: Option<Vec<u8>>,
) -> Item {
    Item {
        id,
        conversation,
        mime,
        local_ref,
        bytes,
    }
}

/// The app's media source: files under a folder, read in pieces; some attachments made to
/// fail at stat, at open, in the middle of a read, or to cancel from the stream.
#[derive(Default)]
struct AppSource {
    root: PathBuf,
    fail_stat: HashSet<i64>,
    fail_open: HashSet<i64>,
    fail_read: HashSet<i64>,
    cancel_read: HashSet<i64>,
    /// Raised when a file is opened, to cancel the backup from outside.
    cancel_on_open: Option<Arc<Cancellation>>,
    opened: AtomicUsize,
    closed: Arc<AtomicUsize>,
}

impl AppSource {
    fn new(root: &Path) -> AppSource {
        AppSource {
            root: root.to_path_buf(),
            ..AppSource::default()
        }
    }
}

fn io_error(detail: &str) -> KeepsakeError {
    KeepsakeError::Io {
        detail: detail.into(),
    }
}

impl MediaSource for AppSource {
    fn stat(&self, attachment: MediaRef) -> Result<Option<FileStamp>, KeepsakeError> {
        if self.fail_stat.contains(&attachment.attachment_id) {
            return Err(io_error("permission denied"));
        }
        Ok(std::fs::metadata(self.root.join(&attachment.local_ref))
            .ok()
            .map(|m| FileStamp {
                size: i64::try_from(m.len()).unwrap(),
                modified: 0,
            }))
    }

    fn open_stream(
        &self,
        attachment: MediaRef,
    ) -> Result<Option<Arc<dyn MediaStream>>, KeepsakeError> {
        if self.fail_open.contains(&attachment.attachment_id) {
            return Err(io_error("the file is locked"));
        }
        if let Some(flag) = &self.cancel_on_open {
            flag.cancel();
        }
        let Ok(file) = File::open(self.root.join(&attachment.local_ref)) else {
            return Ok(None);
        };
        self.opened.fetch_add(1, Ordering::SeqCst);
        let id = attachment.attachment_id;
        Ok(Some(Arc::new(AppStream {
            file: Mutex::new(file),
            reads: AtomicUsize::new(0),
            fail: self.fail_read.contains(&id),
            cancel: self.cancel_read.contains(&id),
            closed: self.closed.clone(),
        })))
    }
}

struct AppStream {
    file: Mutex<File>,
    reads: AtomicUsize,
    fail: bool,
    cancel: bool,
    closed: Arc<AtomicUsize>,
}

impl MediaStream for AppStream {
    fn read(&self, max_len: i64) -> Result<Vec<u8>, KeepsakeError> {
        assert!(max_len > 0);
        // The second read fails: part of the file was read already.
        if self.reads.fetch_add(1, Ordering::SeqCst) == 1 {
            if self.fail {
                return Err(io_error("the disk went away"));
            }
            if self.cancel {
                return Err(KeepsakeError::Cancelled {
                    detail: "the user stopped it".into(),
                });
            }
        }
        let mut buffer = vec![0; usize::try_from(max_len).unwrap().min(16 * 1024)];
        let n = self.file.lock().unwrap().read(&mut buffer).unwrap();
        buffer.truncate(n);
        Ok(buffer)
    }

    fn close_stream(&self) -> Result<(), KeepsakeError> {
        self.closed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The app's media sink: committed files by attachment, and how many were aborted.
#[derive(Default)]
struct AppSink {
    files: Arc<Mutex<BTreeMap<i64, Vec<u8>>>>,
    begun: AtomicUsize,
    aborted: Arc<AtomicUsize>,
    largest_write: Arc<AtomicUsize>,
    /// Raised when the n-th file begins.
    cancel_at: Option<(usize, Arc<Cancellation>)>,
}

impl MediaSink for AppSink {
    fn begin(&self, item: MediaItem) -> Result<Arc<dyn MediaFileWriter>, KeepsakeError> {
        let n = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((at, flag)) = &self.cancel_at {
            if n == *at {
                flag.cancel();
            }
        }
        assert_eq!(item.sha256.len(), 32);
        Ok(Arc::new(AppWriter {
            id: item.attachment_id,
            bytes: Mutex::new(Vec::new()),
            files: self.files.clone(),
            aborted: self.aborted.clone(),
            largest_write: self.largest_write.clone(),
        }))
    }
}

struct AppWriter {
    id: i64,
    bytes: Mutex<Vec<u8>>,
    files: Arc<Mutex<BTreeMap<i64, Vec<u8>>>>,
    aborted: Arc<AtomicUsize>,
    largest_write: Arc<AtomicUsize>,
}

impl MediaFileWriter for AppWriter {
    fn write(&self, bytes: Vec<u8>) -> Result<(), KeepsakeError> {
        self.largest_write.fetch_max(bytes.len(), Ordering::SeqCst);
        self.bytes.lock().unwrap().extend_from_slice(&bytes);
        Ok(())
    }
    fn commit(&self) -> Result<(), KeepsakeError> {
        let bytes = std::mem::take(&mut *self.bytes.lock().unwrap());
        self.files.lock().unwrap().insert(self.id, bytes);
        Ok(())
    }
    fn abort(&self) -> Result<(), KeepsakeError> {
        self.aborted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProgressReport>>);

impl ProgressListener for Recorder {
    fn on_progress(&self, report: ProgressReport) -> Result<(), KeepsakeError> {
        self.0.lock().unwrap().push(report);
        Ok(())
    }
}

impl Recorder {
    /// The reports of the Media phase, after checking `done` never went back.
    fn media(&self) -> Vec<ProgressReport> {
        let reports = self.0.lock().unwrap();
        for pair in reports.windows(2) {
            assert!(pair[1].done >= pair[0].done, "{pair:?}");
        }
        reports
            .iter()
            .filter(|r| r.phase == ProgressPhase::Media)
            .cloned()
            .collect()
    }
}

fn new_repo() -> (Arc<dyn BlobStore>, Arc<Keyring>, String, Arc<Repository>) {
    let blobs = memory_blob_store();
    let keyring = Keyring::create().unwrap();
    let recovery = keyring.add_recovery_key("paper".into()).unwrap();
    let repo = Repository::create(blobs.clone(), keyring.clone(), None).unwrap();
    (blobs, keyring, recovery.recovery_key.reveal(), repo)
}

#[test]
fn media_reaches_a_new_device_chats_first_then_filtered_on_demand_and_the_rest() {
    let device = Device::new();
    let (blobs, _keyring, recovery, repo) = new_repo();
    let source = Arc::new(AppSource::new(&device.media));
    let progress = Arc::new(Recorder::default());
    let report = repo
        .backup_with_media(
            device.store.clone(),
            source.clone(),
            None,
            None,
            Some(progress.clone()),
            None,
        )
        .unwrap();
    let media = report.media.unwrap();
    assert_eq!(media.summary.files_stored, 6, "{media:?}");
    assert_eq!(media.summary.files_absent, 1);
    assert_eq!(media.summary.files_skipped, 0);
    assert_eq!(media.files_read, 6);
    assert_eq!(media.files_unreadable, 0);
    let total: usize = device
        .items
        .iter()
        .filter_map(|i| i.bytes.as_ref())
        .map(Vec::len)
        .sum();
    assert_eq!(media.summary.bytes_stored, i64::try_from(total).unwrap());
    // The forwarded photo is stored once. Media packs hold whole 1 MiB blocks (the last one
    // padded), so the upload is the distinct files' 4.1 MB rounded up to 4 MiB, plus the chats,
    // index and snapshot; the forward stored again would take a fifth MiB.
    let mib = 1 << 20;
    assert!(report.bytes_uploaded < 4 * mib + mib / 4, "{report:?}");
    // Every stream opened was closed.
    assert_eq!(source.opened.load(Ordering::SeqCst), 6);
    assert_eq!(source.closed.load(Ordering::SeqCst), 6);
    // The Media phase counts files from its first report (7 attachments), then bytes and files.
    let reports = progress.media();
    assert_eq!(reports.first().unwrap().files_total, 7, "{reports:?}");
    let last = reports.last().unwrap();
    assert_eq!((last.files_done, last.files_total), (7, 7));
    assert_eq!(last.phase_done, i64::try_from(total).unwrap());

    // A new device: the store and the recovery key only.
    let other = Repository::open(
        blobs.clone(),
        BackupSecret::recovery_key(recovery).unwrap(),
        None,
    )
    .unwrap();
    let snapshot = other.snapshots().unwrap().pop().unwrap();
    assert_eq!(snapshot.media, Some(media.summary));
    let restored_db = device.path("new/chat.db");
    std::fs::create_dir_all(device.dir.path().join("new")).unwrap();
    other
        .restore(restored_db.clone(), None, false, None, None)
        .unwrap();
    // The chats (and the attachment rows) are there before any media.
    let chats = ChatStore::open(restored_db).unwrap();
    assert_eq!(chats.counts().unwrap().attachments, 7);
    assert_eq!(
        chats.attachments(4).unwrap()[0].local_ref.as_deref(),
        Some("video/clip.mp4")
    );

    let state = device.path("new/state");
    let sink = Arc::new(AppSink::default());
    let images = MediaFilter {
        kinds: Some(vec![MediaKind::Image]),
        ..MediaFilter::default()
    };
    let progress = Arc::new(Recorder::default());
    let first = other
        .restore_media(
            state.clone(),
            sink.clone(),
            None,
            Some(images),
            Some(progress.clone()),
            None,
        )
        .unwrap();
    assert_eq!(first.files_restored, 3, "{first:?}");
    assert_eq!(first.files_not_in_backup, 1, "the photo that was gone");
    assert!(first.lost.is_empty());
    assert_eq!(
        sink.files
            .lock()
            .unwrap()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [1, 2, 6]
    );
    let last = progress.media().pop().unwrap();
    assert_eq!((last.files_done, last.files_total), (3, 3));

    // On demand: the voice note, before the rest.
    let voice = other
        .fetch_media(state.clone(), 3, sink.clone(), None)
        .unwrap();
    assert_eq!(
        (voice.kind, voice.local_ref.as_str()),
        (MediaKind::Audio, "voice/note.ogg")
    );
    assert_eq!(voice.size, 30_000);
    assert_eq!(sink.files.lock().unwrap()[&3], device.bytes_of(3));
    // The attachment whose file was gone is unavailable, typed.
    match other.fetch_media(state.clone(), 7, sink.clone(), None) {
        Err(KeepsakeError::MediaUnavailable { attachment_id, .. }) => assert_eq!(attachment_id, 7),
        other => panic!("{other:?}"),
    }

    // The rest, into a directory through the built-in sink.
    let rest = other
        .restore_media(state.clone(), sink.clone(), None, None, None, None)
        .unwrap();
    assert_eq!(rest.files_restored, 2, "{rest:?}");
    assert_eq!(rest.files_already_restored, 4);
    assert_eq!(rest.files_not_in_backup, 1);
    assert_eq!(sink.aborted.load(Ordering::SeqCst), 0);
    assert!(sink.largest_write.load(Ordering::SeqCst) <= 64 * 1024);
    let files = sink.files.lock().unwrap();
    assert_eq!(files.len(), 6);
    for (id, bytes) in files.iter() {
        assert_eq!(bytes.as_slice(), device.bytes_of(*id), "attachment {id}");
    }
}

#[test]
fn the_built_in_directory_source_and_sink_round_trip_and_skip_unchanged_files() {
    let device = Device::new();
    let (_, _, _, repo) = new_repo();
    let source = directory_media_source(device.media.display().to_string());
    let options = MediaOptions {
        include_videos: true,
        max_file_bytes: None,
        excluded_conversations: Vec::new(),
    };
    let first = repo
        .backup_with_media(
            device.store.clone(),
            source.clone(),
            Some(options.clone()),
            None,
            None,
            None,
        )
        .unwrap();
    assert_eq!(first.media.unwrap().files_read, 6);
    let second = repo
        .backup_with_media(
            device.store.clone(),
            source,
            Some(options),
            None,
            None,
            None,
        )
        .unwrap();
    let media = second.media.unwrap();
    assert_eq!(
        (media.files_read, media.files_unchanged),
        (0, 6),
        "{media:?}"
    );

    let to = device.dir.path().join("restored");
    let report = repo
        .restore_media(
            device.path("state"),
            directory_media_sink(to.display().to_string()),
            None,
            None,
            None,
            None,
        )
        .unwrap();
    assert_eq!(report.files_restored, 6);
    for it in &device.items {
        let restored = std::fs::read(to.join(it.local_ref)).ok();
        assert_eq!(restored, it.bytes, "{}", it.local_ref);
    }

    // Options that leave media out, and bad ones refused before any work.
    let skipped = repo
        .backup_with_media(
            device.store.clone(),
            directory_media_source(device.media.display().to_string()),
            Some(MediaOptions {
                include_videos: false,
                max_file_bytes: Some(100_000),
                excluded_conversations: vec![],
            }),
            None,
            None,
            None,
        )
        .unwrap();
    // The video, and the two 180 kB photos.
    assert_eq!(skipped.media.unwrap().summary.files_skipped, 3);
    let negative = MediaOptions {
        include_videos: true,
        max_file_bytes: Some(-1),
        excluded_conversations: vec![],
    };
    let source = directory_media_source(device.media.display().to_string());
    assert!(matches!(
        repo.backup_with_media(
            device.store.clone(),
            source,
            Some(negative),
            None,
            None,
            None
        ),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
    let bad_digest = Attachment {
        id: 99,
        message_id: 1,
        mime: "image/png".into(),
        file_name: None,
        size: 1,
        sha256: Some(vec![0; 31]),
        width: None,
        height: None,
        duration_ms: None,
        local_ref: None,
        extra: None,
    };
    assert!(matches!(
        device.store.insert_attachments(vec![bad_digest.clone()]),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
    assert!(matches!(
        device.store.insert_attachments(vec![Attachment {
            sha256: None,
            size: -5,
            ..bad_digest
        }]),
        Err(KeepsakeError::InvalidArgument { .. })
    ));
}

#[test]
fn files_the_source_fails_on_are_recorded_absent_and_a_cancel_from_the_source_cancels() {
    let device = Device::new();
    let (_, _, _, repo) = new_repo();
    let source = Arc::new(AppSource {
        fail_stat: HashSet::from([1]),
        fail_open: HashSet::from([2]),
        fail_read: HashSet::from([4]),
        ..AppSource::new(&device.media)
    });
    let report = repo
        .backup_with_media(device.store.clone(), source.clone(), None, None, None, None)
        .unwrap();
    let media = report.media.unwrap();
    assert_eq!(media.files_unreadable, 3, "{media:?}");
    assert_eq!(
        media.summary.files_absent, 4,
        "the three, and the file that was gone"
    );
    assert_eq!(media.summary.files_stored, 3);
    assert_eq!(
        source.closed.load(Ordering::SeqCst),
        source.opened.load(Ordering::SeqCst)
    );
    let sink = Arc::new(AppSink::default());
    let state = device.path("state");
    let restored = repo
        .restore_media(state.clone(), sink.clone(), None, None, None, None)
        .unwrap();
    assert_eq!(restored.files_restored, 3);
    assert_eq!(restored.files_not_in_backup, 4);
    assert!(matches!(
        repo.fetch_media(state, 4, sink, None),
        Err(KeepsakeError::MediaUnavailable {
            attachment_id: 4,
            ..
        })
    ));

    // The app's stream throws Cancelled in the middle of the video: the backup is cancelled,
    // not recorded with the video absent, and no snapshot is written.
    let cancelling = Arc::new(AppSource {
        cancel_read: HashSet::from([4]),
        ..AppSource::new(&device.media)
    });
    assert!(matches!(
        repo.backup_with_media(
            device.store.clone(),
            cancelling.clone(),
            None,
            None,
            None,
            None
        ),
        Err(KeepsakeError::Cancelled { .. })
    ));
    assert_eq!(
        cancelling.closed.load(Ordering::SeqCst),
        cancelling.opened.load(Ordering::SeqCst)
    );
    assert_eq!(repo.snapshots().unwrap().len(), 1);
}

#[test]
fn cancels_leave_no_snapshot_and_a_cancelled_media_restore_resumes() {
    let device = Device::new();
    let (_, _, _, repo) = new_repo();
    let flag = Cancellation::new();
    let source = Arc::new(AppSource {
        cancel_on_open: Some(flag.clone()),
        ..AppSource::new(&device.media)
    });
    assert!(matches!(
        repo.backup_with_media(device.store.clone(), source, None, None, None, Some(flag)),
        Err(KeepsakeError::Cancelled { .. })
    ));
    assert!(repo.snapshots().unwrap().is_empty());
    repo.backup_with_media(
        device.store.clone(),
        Arc::new(AppSource::new(&device.media)),
        None,
        None,
        None,
        None,
    )
    .unwrap();

    // Cancelled when the second file begins: that file is aborted, the first stays restored.
    let flag = Cancellation::new();
    let state = device.path("state");
    let sink = Arc::new(AppSink {
        cancel_at: Some((2, flag.clone())),
        ..AppSink::default()
    });
    assert!(matches!(
        repo.restore_media(state.clone(), sink.clone(), None, None, None, Some(flag)),
        Err(KeepsakeError::Cancelled { .. })
    ));
    assert_eq!(sink.files.lock().unwrap().len(), 1);
    assert_eq!(sink.aborted.load(Ordering::SeqCst), 1);
    let resumed = repo
        .restore_media(state, sink.clone(), None, None, None, None)
        .unwrap();
    assert_eq!(
        (resumed.files_already_restored, resumed.files_restored),
        (1, 5)
    );
    let files = sink.files.lock().unwrap();
    for (id, bytes) in files.iter() {
        assert_eq!(bytes.as_slice(), device.bytes_of(*id), "attachment {id}");
    }
    assert_eq!(files.len(), 6);
}

/// A sink whose first file waits until the test lets it go: a media restore held mid-way.
struct HeldSink {
    inner: AppSink,
    started: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl MediaSink for HeldSink {
    fn begin(&self, item: MediaItem) -> Result<Arc<dyn MediaFileWriter>, KeepsakeError> {
        if let Some(started) = self.started.lock().unwrap().take() {
            started.send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        self.inner.begin(item)
    }
}

#[test]
fn one_attachment_is_fetched_while_a_media_restore_is_running() {
    let device = Device::new();
    let (_, _, _, repo) = new_repo();
    repo.backup_with_media(
        device.store.clone(),
        Arc::new(AppSource::new(&device.media)),
        None,
        None,
        None,
        None,
    )
    .unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    let (release_tx, release) = std::sync::mpsc::channel();
    let held = Arc::new(HeldSink {
        inner: AppSink::default(),
        started: Mutex::new(Some(started_tx)),
        release: Mutex::new(release),
    });
    let state = device.path("state");
    let running = {
        let (repo, held, state) = (repo.clone(), held.clone(), state.clone());
        std::thread::spawn(move || repo.restore_media(state, held, None, None, None, None))
    };
    started.recv().unwrap();
    // The restore holds its first file; the user opens the voice note.
    let (done_tx, done) = std::sync::mpsc::channel();
    let fetching = {
        let repo = repo.clone();
        let sink = Arc::new(AppSink::default());
        let files = sink.files.clone();
        std::thread::spawn(move || {
            let item = repo.fetch_media(state, 3, sink, None);
            done_tx.send(()).unwrap();
            (item, files)
        })
    };
    let fetched_in_time = done
        .recv_timeout(std::time::Duration::from_secs(20))
        .is_ok();
    release_tx.send(()).unwrap();
    assert!(fetched_in_time, "the fetch waited for the whole restore");
    let (item, files) = fetching.join().unwrap();
    assert_eq!(item.unwrap().attachment_id, 3);
    assert_eq!(files.lock().unwrap()[&3].as_slice(), device.bytes_of(3));
    let report = running.join().unwrap().unwrap();
    assert!(report.lost.is_empty());
    // Every stored file is counted once, whoever restored it.
    assert_eq!(report.files_restored + report.files_already_restored, 6);
}
