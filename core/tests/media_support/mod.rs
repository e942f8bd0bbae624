//! Shared helpers of the media tests: a synthetic chat store with media files on disk, a
//! directory repository, and comparisons of media directories.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses a subset

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use keepsake_core::{
    archive::Export,
    backup::{self, BackupOptions, Control, RepoBackupSummary, Secret},
    keyring::{Keyring, RecoveryKey},
    media::{
        synthetic::{write_media_files, MediaSet, MediaSpec},
        DirMediaSink, DirMediaSource, MediaBackup, MediaFilter, MediaOptions, MediaRestoreReport,
    },
    progress::{Phase, Reporter, Unit},
    repo::{BlobStore, ChunkerParams, DirStore, RepoOptions, Repository},
    store::{
        synthetic::{generate, SyntheticSpec},
        Attachment, ChatStore,
    },
    Result,
};

/// A device with a chat database, its media files and a repository in a directory store.
pub struct World {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub media: PathBuf,
    pub store: Arc<dyn BlobStore>,
    pub keyring: Keyring,
    pub recovery: RecoveryKey,
    pub set: MediaSet,
}

/// Small archive chunks and 256 KiB packs, so small media sets give several packs.
pub fn options() -> RepoOptions {
    RepoOptions {
        chunker: ChunkerParams {
            min: 512,
            avg: 2048,
            max: 8192,
        },
        pack_target_bytes: 256 * 1024,
    }
}

/// Sizes divided by 50: photos of 2 to 80 KB, one video of 1 to 4 MB (larger than a pack).
pub fn small_spec() -> MediaSpec {
    MediaSpec {
        seed: 5,
        total_bytes: 40_000_000,
        long_videos: 1,
        absent_every: 9,
        forward_every: 7,
        size_divisor: 50,
    }
}

impl World {
    /// A store of `messages` messages with media files, and an empty repository.
    pub fn new(messages: u64) -> World {
        World::with_spec(messages, &small_spec())
    }

    pub fn with_spec(messages: u64, spec: &MediaSpec) -> World {
        World::build(messages, spec, |dir| {
            Arc::new(DirStore::open(&dir.join("repo")).unwrap())
        })
    }

    /// A world whose repository lives in the store `make` returns (given the world's dir).
    pub fn build(
        messages: u64,
        spec: &MediaSpec,
        make: impl FnOnce(&Path) -> Arc<dyn BlobStore>,
    ) -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chat.db");
        let media = dir.path().join("media");
        let mut chat = ChatStore::open(&db).unwrap();
        generate(
            &mut chat,
            &SyntheticSpec {
                seed: 3,
                conversations: 5,
                messages,
            },
        )
        .unwrap();
        let set = write_media_files(&mut chat, &media, spec).unwrap();
        chat.close().unwrap();
        let mut keyring = Keyring::create().unwrap();
        let (_, recovery) = keyring.add_recovery_key("paper").unwrap();
        let store = make(dir.path());
        Repository::init(store.clone(), &keyring, &options()).unwrap();
        World {
            dir,
            db,
            media,
            store,
            keyring,
            recovery,
            set,
        }
    }

    /// The repository as this device opens it.
    pub fn repo(&self) -> Repository {
        Repository::open(self.store.clone(), &Secret::Keyring(&self.keyring)).unwrap()
    }

    /// The repository as a new device opens it.
    pub fn open_with_recovery_key(&self) -> Repository {
        Repository::open(self.store.clone(), &Secret::RecoveryKey(&self.recovery)).unwrap()
    }

    pub fn backup(&self, options: &MediaOptions) -> Result<RepoBackupSummary> {
        self.backup_with(options, &quiet())
    }

    pub fn backup_with(
        &self,
        options: &MediaOptions,
        control: &Control<'_>,
    ) -> Result<RepoBackupSummary> {
        let mut repo = self.repo();
        self.backup_into(&mut repo, options, control)
    }

    /// A media backup into an already opened repository (whose store may be faulty). Without
    /// a cache, so each run sees only the store.
    pub fn backup_into(
        &self,
        repo: &mut Repository,
        options: &MediaOptions,
        control: &Control<'_>,
    ) -> Result<RepoBackupSummary> {
        let chat = ChatStore::open(&self.db).unwrap();
        let source = DirMediaSource::new(&self.media);
        backup::backup_store_with_media(
            &chat,
            repo,
            None,
            &BackupOptions::for_generation(0),
            Some(&MediaBackup {
                source: &source,
                options: options.clone(),
            }),
            control,
        )
    }

    /// Restores the media of the latest snapshot into `to` with state in `state`.
    pub fn restore_media(
        &self,
        repo: &Repository,
        state: &Path,
        to: &Path,
    ) -> Result<MediaRestoreReport> {
        backup::restore_media_from_repo(
            repo,
            None,
            state,
            &MediaFilter::default(),
            &DirMediaSink::new(to),
            &quiet(),
        )
    }

    /// Bytes of every object in the store.
    pub fn store_bytes(&self) -> u64 {
        let store: &dyn BlobStore = self.store.as_ref();
        ["data/", "index/", "snapshots/", "config"]
            .iter()
            .flat_map(|prefix| store.list_names(prefix).unwrap())
            .map(|name| store.stat(&name).unwrap().unwrap_or(0))
            .sum()
    }

    /// The attachment whose `local_ref` is `path`.
    pub fn attachment_at(&self, path: &str) -> AttachmentAt {
        self.attachments()
            .into_iter()
            .find(|a| a.local_ref == path)
            .unwrap()
    }

    pub fn attachments(&self) -> Vec<AttachmentAt> {
        let chat = ChatStore::open(&self.db).unwrap();
        chat.attachments_after(i64::MIN, 1_000_000)
            .unwrap()
            .into_iter()
            .map(|p| AttachmentAt::new(p.attachment, p.conversation_id))
            .collect()
    }

    /// An attachment with no file on the device.
    pub fn absent_attachment(&self) -> i64 {
        self.attachments()
            .into_iter()
            .find(|a| !self.media.join(&a.local_ref).exists())
            .unwrap()
            .id
    }

    /// A conversation some stored file belongs to.
    pub fn first_conversation_with_media(&self) -> i64 {
        self.attachments()
            .into_iter()
            .find(|a| self.media.join(&a.local_ref).exists())
            .unwrap()
            .conversation_id
    }
}

/// What the tests need of an attachment.
#[derive(Debug, Clone)]
pub struct AttachmentAt {
    pub id: i64,
    pub mime: String,
    pub local_ref: String,
    pub conversation_id: i64,
}

impl AttachmentAt {
    fn new(a: Attachment, conversation_id: i64) -> AttachmentAt {
        AttachmentAt {
            id: a.id,
            mime: a.mime,
            local_ref: a.local_ref.unwrap_or_default(),
            conversation_id,
        }
    }
}

pub fn quiet() -> Control<'static> {
    Control {
        progress: None,
        cancel: None,
    }
}

/// Every file under `root` (relative path, bytes), ignoring nothing.
pub fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The canonical dump (archive export) of a database.
pub fn dump(path: &Path) -> Vec<u8> {
    let chat = ChatStore::open(path).unwrap();
    let mut out = Vec::new();
    let mut reporter = Reporter::silent(Phase::Backup, Unit::Rows);
    Export::begin(&chat)
        .unwrap()
        .write_to(&mut out, &mut reporter)
        .unwrap();
    out
}
