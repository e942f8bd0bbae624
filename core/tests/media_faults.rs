//! Media reliability (issue 11): the fault-injection matrix of the repository extended to media
//! backups and restores, interrupted runs that resume, a damaged or lost pack that costs only
//! the attachments stored in it, bit flips that never yield wrong bytes, a sink that fails
//! mid-file, and the edge files (empty, larger than a pack, duplicated).

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod media_support;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use keepsake_core::{
    backup::{self, Control},
    media::{
        DirMediaSink, DirMediaSource, FileStamp, MediaBackup, MediaFilter, MediaItem, MediaOptions,
        MediaRef, MediaSink, MediaSource, MediaWriter,
    },
    progress::CancellationToken,
    repo::{
        catalog,
        fetch::ChunkFetcher,
        inventory::Inventory,
        reader::find_snapshot,
        testing::{Faults, FaultyStore},
        CheckOptions, MemStore, PruneOptions, Repository, RetentionPolicy,
    },
    store::ChatStore,
    Error, Result,
};
use media_support::*;

/// A world over a fault-injecting in-memory store.
fn faulty_world(messages: u64) -> (World, Arc<FaultyStore>) {
    let mut faulty = None;
    let world = World::build(messages, &small_spec(), |_| {
        let store = Arc::new(FaultyStore::new(Arc::new(MemStore::new())));
        faulty = Some(store.clone());
        store
    });
    (world, faulty.unwrap())
}

fn assert_sound(repo: &Repository) {
    backup::check_repo(
        repo,
        &CheckOptions {
            read_data_fraction: 1.0,
        },
        &Control::default(),
    )
    .unwrap();
}

/// The media directory restored from the latest snapshot on a fresh "device".
fn restored_media(world: &World, repo: &Repository, name: &str) -> BTreeMap<String, Vec<u8>> {
    let root = world.dir.path().join(name);
    let report = world
        .restore_media(repo, &root.join("state"), &root.join("media"))
        .unwrap();
    assert!(report.lost.is_empty(), "{:?}", report.lost);
    files_under(&root.join("media"))
}

/// Every k-th call when sweeping quickly (CI), every call with `KEEPSAKE_FULL_SWEEPS` set.
fn sweep_step(quick: u64) -> usize {
    if std::env::var_os("KEEPSAKE_FULL_SWEEPS").is_some() {
        1
    } else {
        quick as usize
    }
}

/// Bytes of the pack objects in `store`.
fn pack_bytes(world: &World) -> u64 {
    let store = world.store.as_ref();
    store
        .list_names("data/")
        .unwrap()
        .iter()
        .map(|n| store.stat(n).unwrap().unwrap_or(0))
        .sum()
}

#[test]
fn failing_any_call_of_a_media_backup_is_typed_and_a_retry_completes_without_reuploading() {
    let (world, faulty) = faulty_world(300);
    let expected = files_under(&world.media);
    let config = world.store.get("config", None).unwrap();
    let reset = || {
        for name in world.store.list_names("").unwrap() {
            world.store.delete(&name).unwrap();
        }
        world.store.put("config", &config).unwrap();
    };
    faulty.set_faults(Faults::default());
    let full = world
        .backup_into(&mut world.repo(), &MediaOptions::default(), &quiet())
        .unwrap();
    let calls = faulty.calls();
    assert!(
        calls > 10,
        "a media backup makes many store calls, got {calls}"
    );
    let mut failed = 0;
    for k in (0..calls).step_by(sweep_step(2)) {
        reset();
        let mut repo = world.repo();
        faulty.set_faults(Faults {
            fail_call: Some(k),
            ..Faults::default()
        });
        match world.backup_into(&mut repo, &MediaOptions::default(), &quiet()) {
            Ok(_) => {}
            Err(Error::Storage { .. }) => failed += 1,
            Err(other) => panic!("call {k}: unexpected error {other:?}"),
        }
        faulty.set_faults(Faults::default());
        assert_sound(&repo);
        repo.break_locks().unwrap();
        let kept = pack_bytes(&world);
        let retry = world
            .backup_into(&mut repo, &MediaOptions::default(), &quiet())
            .unwrap();
        // What the failed run stored is adopted, not uploaded again.
        assert!(
            retry.bytes_uploaded <= full.bytes_uploaded - kept.min(full.bytes_uploaded) + 64 * 1024,
            "call {k}: retry uploaded {} with {kept} kept of a full {}",
            retry.bytes_uploaded,
            full.bytes_uploaded
        );
        assert_sound(&repo);
        let restored = restored_media(&world, &repo, &format!("restore-{k}"));
        assert_eq!(restored, expected, "call {k}");
        std::fs::remove_dir_all(world.dir.path().join(format!("restore-{k}"))).unwrap();
    }
    assert!(failed > 0);
}

#[test]
fn failing_any_call_of_a_media_restore_resumes_without_redoing_finished_files() {
    let (world, faulty) = faulty_world(300);
    world.backup(&MediaOptions::default()).unwrap();
    let expected = files_under(&world.media);
    let stored = expected.len() as u64;
    let repo = world.open_with_recovery_key();
    faulty.set_faults(Faults::default());
    restored_media(&world, &repo, "probe");
    let calls = faulty.calls();
    let step = if std::env::var_os("KEEPSAKE_FULL_SWEEPS").is_some() {
        1
    } else {
        4
    };
    let mut failed = 0;
    for k in (0..calls).step_by(step) {
        let root = world.dir.path().join(format!("r{k}"));
        faulty.set_faults(Faults {
            fail_call: Some(k),
            ..Faults::default()
        });
        let first = world.restore_media(&repo, &root.join("state"), &root.join("media"));
        faulty.set_faults(Faults::default());
        let done_first = match first {
            Ok(report) => report.files_restored,
            Err(Error::Storage { .. }) => {
                failed += 1;
                // Whatever was committed is whole; nothing half-written is visible.
                let partial = files_under(&root.join("media"));
                for (path, bytes) in &partial {
                    assert_eq!(Some(bytes), expected.get(path), "call {k}: {path}");
                }
                partial.len() as u64
            }
            Err(other) => panic!("call {k}: unexpected error {other:?}"),
        };
        let second = world
            .restore_media(&repo, &root.join("state"), &root.join("media"))
            .unwrap();
        assert_eq!(second.files_already_restored, done_first, "call {k}");
        assert_eq!(done_first + second.files_restored, stored, "call {k}");
        assert_eq!(files_under(&root.join("media")), expected, "call {k}");
    }
    assert!(failed > 0);
}

/// Attachment ids per media pack of the latest snapshot, and each attachment's packs.
fn attachments_by_pack(repo: &Repository) -> BTreeMap<String, BTreeSet<i64>> {
    let inventory = Inventory::take(repo.store().as_ref()).unwrap();
    let snapshot = find_snapshot(repo, &inventory, None).unwrap();
    let fetcher = Arc::new(ChunkFetcher::open_with(repo, &inventory).unwrap());
    let index = fetcher.index().clone();
    let mut out: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for entry in catalog::entries(fetcher.clone(), &snapshot) {
        let entry = entry.unwrap();
        for id in &entry.chunks {
            let pack = index.pack(index.get(id).unwrap().pack).name.clone();
            out.entry(pack).or_default().insert(entry.attachment_id);
        }
    }
    out
}

#[test]
fn a_damaged_or_lost_media_pack_costs_exactly_its_attachments() {
    for lose in [false, true] {
        let world = World::build(400, &small_spec(), |_| Arc::new(MemStore::new()));
        world.backup(&MediaOptions::default()).unwrap();
        let expected = files_under(&world.media);
        let repo = world.open_with_recovery_key();
        let by_pack = attachments_by_pack(&repo);
        assert!(by_pack.len() > 2, "several media packs");
        let (victim, hit) = by_pack.iter().nth(1).unwrap();
        if lose {
            world.store.delete(victim).unwrap();
        } else {
            let mut bytes = world.store.get(victim, None).unwrap();
            // Inside the pack's first chunk (every file here is larger than this): a media
            // pack's tail end is padding that nothing reads.
            bytes[100] ^= 0x10;
            world.store.put(victim, &bytes).unwrap();
        }
        // The chats restore whole: media packs hold no chat data.
        let db = world.dir.path().join("new.db");
        backup::restore_from_repo(&repo, None, &db, &Default::default(), &quiet()).unwrap();
        assert_eq!(dump(&db), dump(&world.db));

        let to = world.dir.path().join("restored");
        let report = world
            .restore_media(&repo, &world.dir.path().join("state"), &to)
            .unwrap();
        let lost: BTreeSet<i64> = report.lost.iter().map(|l| l.attachment_id).collect();
        if lose {
            assert_eq!(&lost, hit, "a lost pack");
        } else {
            // A flipped byte damages one chunk: its attachments, a subset of the pack's.
            assert!(
                !lost.is_empty() && lost.is_subset(hit),
                "{lost:?} of {hit:?}"
            );
        }
        assert!(report.lost.iter().all(|l| !l.reason.is_empty()));
        let restored = files_under(&to);
        let attachments = world.attachments();
        for a in &attachments {
            match (expected.get(&a.local_ref), lost.contains(&a.id)) {
                (Some(bytes), false) => assert_eq!(restored.get(&a.local_ref), Some(bytes)),
                (Some(_), true) => {
                    // A forward of a lost file shares its chunks and is lost too; no file
                    // with other bytes is ever written.
                    if let Some(bytes) = restored.get(&a.local_ref) {
                        assert_eq!(Some(bytes), expected.get(&a.local_ref));
                    }
                }
                (None, _) => {}
            }
        }
        // Lost attachments stay reported on the next run, and fetching one says why.
        let again = world
            .restore_media(&repo, &world.dir.path().join("state"), &to)
            .unwrap();
        assert_eq!(again.lost, report.lost);
        let one = *lost.iter().next().unwrap();
        let restore =
            keepsake_core::media::MediaRestore::open(&repo, None, &world.dir.path().join("state2"))
                .unwrap();
        assert!(matches!(
            restore.fetch(one, &DirMediaSink::new(world.dir.path().join("one"))),
            Err(Error::MediaUnavailable { attachment_id, .. }) if attachment_id == one
        ));
    }
}

#[test]
fn bit_flips_in_a_media_pack_never_restore_wrong_bytes() {
    let world = World::build(300, &small_spec(), |_| Arc::new(MemStore::new()));
    world.backup(&MediaOptions::default()).unwrap();
    let expected = files_under(&world.media);
    let repo = world.open_with_recovery_key();
    let by_pack = attachments_by_pack(&repo);
    let (victim, _) = by_pack.iter().next().unwrap();
    let original = world.store.get(victim, None).unwrap();
    let positions: Vec<usize> = if std::env::var_os("KEEPSAKE_FULL_SWEEPS").is_some() {
        (0..original.len()).step_by(97).collect()
    } else {
        (0..24)
            .map(|i| i * original.len() / 24)
            .chain([0, 1, 5, original.len() - 1, original.len() - 40])
            .collect()
    };
    for (n, position) in positions.into_iter().enumerate() {
        let mut bytes = original.clone();
        bytes[position] ^= 1 << (n % 8);
        world.store.put(victim, &bytes).unwrap();
        let root = world.dir.path().join(format!("flip{n}"));
        let report = world
            .restore_media(&repo, &root.join("state"), &root.join("media"))
            .unwrap();
        let lost: BTreeSet<i64> = report.lost.iter().map(|l| l.attachment_id).collect();
        for (path, bytes) in files_under(&root.join("media")) {
            assert_eq!(
                Some(&bytes),
                expected.get(&path),
                "flip at {position}: {path}"
            );
        }
        let restored = files_under(&root.join("media")).len() + lost.len();
        assert!(
            restored >= expected.len(),
            "flip at {position}: every file restored or lost"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
    world.store.put(victim, &original).unwrap();
}

/// A sink whose disk fills after `budget` bytes.
struct FullDisk {
    inner: DirMediaSink,
    budget: Arc<AtomicU64>,
}

struct FullDiskWriter {
    inner: Box<dyn MediaWriter>,
    budget: Arc<AtomicU64>,
}

impl MediaSink for FullDisk {
    fn begin(&self, item: &MediaItem) -> Result<Box<dyn MediaWriter>> {
        Ok(Box::new(FullDiskWriter {
            inner: self.inner.begin(item)?,
            budget: self.budget.clone(),
        }))
    }
}

impl MediaWriter for FullDiskWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let left = self.budget.load(Ordering::SeqCst);
        if (bytes.len() as u64) > left {
            return Err(Error::Io {
                path: None,
                source: std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full"),
            });
        }
        self.budget.fetch_sub(bytes.len() as u64, Ordering::SeqCst);
        self.inner.write(bytes)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.inner.commit()
    }

    fn abort(self: Box<Self>) {
        self.inner.abort()
    }
}

/// A sink that cancels the run when its n-th file begins.
struct CancelAfter<'a> {
    inner: DirMediaSink,
    files: AtomicU64,
    cancel: &'a CancellationToken,
}

impl MediaSink for CancelAfter<'_> {
    fn begin(&self, item: &MediaItem) -> Result<Box<dyn MediaWriter>> {
        if self.files.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.cancel.cancel();
        }
        self.inner.begin(item)
    }
}

/// A media source that cancels the backup when its n-th file is opened.
struct CancellingSource<'a> {
    inner: DirMediaSource,
    files: AtomicU64,
    cancel: &'a CancellationToken,
}

impl MediaSource for CancellingSource<'_> {
    fn stat(&self, media: &MediaRef<'_>) -> Result<Option<FileStamp>> {
        self.inner.stat(media)
    }

    fn open(&self, media: &MediaRef<'_>) -> Result<Option<Box<dyn std::io::Read + Send>>> {
        if self.files.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.cancel.cancel();
        }
        self.inner.open(media)
    }
}

#[test]
fn a_full_disk_or_a_cancel_mid_restore_leaves_only_whole_files_and_a_rerun_completes() {
    let world = World::new(300);
    world.backup(&MediaOptions::default()).unwrap();
    let expected = files_under(&world.media);
    let repo = world.open_with_recovery_key();
    let state = world.dir.path().join("state");
    let to = world.dir.path().join("restored");
    let budget = Arc::new(AtomicU64::new(world.set.bytes / 3));
    let full = FullDisk {
        inner: DirMediaSink::new(&to),
        budget,
    };
    let err = backup::restore_media_from_repo(
        &repo,
        None,
        &state,
        &MediaFilter::default(),
        &full,
        &quiet(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let partial = files_under(&to);
    assert!(!partial.is_empty() && partial.len() < expected.len());
    for (path, bytes) in &partial {
        assert!(
            !path.contains("keepsake-tmp"),
            "a temporary file is left: {path}"
        );
        assert_eq!(Some(bytes), expected.get(path), "{path}");
    }

    // A cancel half-way through the next run (the user leaves the restore screen).
    let cancel = CancellationToken::new();
    let control = Control {
        progress: None,
        cancel: Some(&cancel),
    };
    let sink = CancelAfter {
        inner: DirMediaSink::new(&to),
        files: AtomicU64::new(3),
        cancel: &cancel,
    };
    let err = backup::restore_media_from_repo(
        &repo,
        None,
        &state,
        &MediaFilter::default(),
        &sink,
        &control,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");

    let last = world.restore_media(&repo, &state, &to).unwrap();
    assert!(last.files_already_restored >= partial.len() as u64);
    assert_eq!(files_under(&to), expected);
}

#[test]
fn a_cancelled_media_backup_leaves_no_snapshot_and_the_next_run_reuses_its_uploads() {
    let world = World::new(400);
    let cancel = CancellationToken::new();
    let control = Control {
        progress: None,
        cancel: Some(&cancel),
    };
    let source = CancellingSource {
        inner: DirMediaSource::new(&world.media),
        files: AtomicU64::new(world.set.files * 2 / 3),
        cancel: &cancel,
    };
    let chat = ChatStore::open(&world.db).unwrap();
    let err = backup::backup_store_with_media(
        &chat,
        &mut world.repo(),
        None,
        &backup::BackupOptions::for_generation(0),
        Some(&MediaBackup {
            source: &source,
            options: MediaOptions::default(),
        }),
        &control,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert!(world.repo().snapshots().unwrap().is_empty());
    let after_cancel = world.store_bytes();
    let summary = world.backup(&MediaOptions::default()).unwrap();
    assert!(summary.packs_adopted > 0, "{summary:?}");
    let total = world.store_bytes();
    assert!(
        summary.bytes_uploaded + after_cancel < total + total / 4,
        "the resumed run re-uploaded what the cancelled one stored: {} + {after_cancel} vs {total}",
        summary.bytes_uploaded
    );
    let repo = world.open_with_recovery_key();
    assert_eq!(
        restored_media(&world, &repo, "after-cancel"),
        files_under(&world.media)
    );
}

#[test]
fn empty_large_and_duplicate_files_round_trip_and_prune_keeps_media() {
    let world = World::new(300);
    let with_files: Vec<AttachmentAt> = world
        .attachments()
        .into_iter()
        .filter(|a| world.media.join(&a.local_ref).exists())
        .collect();
    let path = |a: &AttachmentAt| world.media.join(&a.local_ref);
    // A zero-byte file; a file four times a pack (256 KiB packs); two files with equal bytes.
    std::fs::write(path(&with_files[0]), b"").unwrap();
    let large: Vec<u8> = (0..1_100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(path(&with_files[1]), &large).unwrap();
    std::fs::write(path(&with_files[2]), &large[..200_000]).unwrap();
    std::fs::write(path(&with_files[3]), &large[..200_000]).unwrap();
    let first = world.backup(&MediaOptions::default()).unwrap();
    assert!(first.media.unwrap().summary.files_stored as usize >= with_files.len());

    // A second day: one file replaced; prune keeps only the latest snapshot.
    std::fs::write(path(&with_files[4]), b"a new voice note").unwrap();
    world.backup(&MediaOptions::default()).unwrap();
    let mut repo = world.repo();
    for _ in 0..2 {
        backup::prune_repo(
            &mut repo,
            &RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            &PruneOptions {
                grace: std::time::Duration::ZERO,
                ..PruneOptions::default()
            },
            &quiet(),
        )
        .unwrap();
    }
    assert_sound(&repo);
    let repo = world.open_with_recovery_key();
    let restored = restored_media(&world, &repo, "new-device");
    assert_eq!(restored, files_under(&world.media));
    assert_eq!(restored[&with_files[0].local_ref], b"");
    assert_eq!(restored[&with_files[1].local_ref], large);
}

#[test]
fn a_file_whose_digest_or_size_differs_from_the_record_is_never_committed() {
    let world = World::new(300);
    world.backup(&MediaOptions::default()).unwrap();
    let repo = world.open_with_recovery_key();
    let state = world.dir.path().join("state");
    let stored: Vec<AttachmentAt> = world
        .attachments()
        .into_iter()
        .filter(|a| std::fs::metadata(world.media.join(&a.local_ref)).is_ok_and(|m| m.len() > 0))
        .collect();
    let (wrong_digest, wrong_size) = (&stored[0], &stored[1]);
    // The state file is the catalog's copy: change two records there.
    let path = keepsake_core::media::MediaRestore::open(&repo, None, &state)
        .unwrap()
        .state_path()
        .to_path_buf();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE items SET sha256 = zeroblob(32) WHERE id = ?1",
        [wrong_digest.id],
    )
    .unwrap();
    db.execute(
        "UPDATE items SET size = size + 1 WHERE id = ?1",
        [wrong_size.id],
    )
    .unwrap();
    drop(db);
    let to = world.dir.path().join("restored");
    let report = world.restore_media(&repo, &state, &to).unwrap();
    let lost: BTreeMap<i64, String> = report
        .lost
        .iter()
        .map(|l| (l.attachment_id, l.reason.clone()))
        .collect();
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(lost[&wrong_digest.id].contains("SHA-256"), "{lost:?}");
    assert!(lost[&wrong_size.id].contains("bytes"), "{lost:?}");
    let restored = files_under(&to);
    assert!(!restored.contains_key(&wrong_digest.local_ref));
    assert!(!restored.contains_key(&wrong_size.local_ref));
    assert_eq!(restored.len() as u64, report.files_restored);
}

#[test]
fn a_media_restore_and_fetches_on_demand_at_the_same_time_all_succeed() {
    // The user opens photos while the background restore starts: both open the same new state
    // file and may write the same file at once.
    let world = World::new(300);
    world.backup(&MediaOptions::default()).unwrap();
    let expected = files_under(&world.media);
    let repo = world.open_with_recovery_key();
    let opened: Vec<i64> = world
        .attachments()
        .into_iter()
        .filter(|a| world.media.join(&a.local_ref).exists())
        .map(|a| a.id)
        .take(3)
        .collect();
    for round in 0..12 {
        let state = world.dir.path().join(format!("state{round}"));
        let to = world.dir.path().join(format!("media{round}"));
        std::thread::scope(|scope| {
            let running = scope.spawn(|| world.restore_media(&repo, &state, &to));
            for id in &opened {
                keepsake_core::media::MediaRestore::open(&repo, None, &state)
                    .and_then(|restore| restore.fetch(*id, &DirMediaSink::new(&to)))
                    .unwrap_or_else(|err| panic!("round {round}, attachment {id}: {err:?}"));
            }
            let report = running.join().unwrap();
            let report = report.unwrap_or_else(|err| panic!("round {round}: {err:?}"));
            assert!(report.lost.is_empty());
        });
        assert_eq!(files_under(&to), expected, "round {round}");
    }
}

#[test]
fn a_lost_media_pack_is_uploaded_again_by_the_next_backup_while_the_files_are_on_the_device() {
    let world = World::build(400, &small_spec(), |_| Arc::new(MemStore::new()));
    world.backup(&MediaOptions::default()).unwrap();
    let expected = files_under(&world.media);
    let repo = world.open_with_recovery_key();
    let by_pack = attachments_by_pack(&repo);
    let (victim, _) = by_pack.iter().next().unwrap();
    world.store.delete(victim).unwrap();
    // Before: the files were judged unchanged (their chunks still in an index object naming
    // the lost pack), not read again, and stayed lost in every later snapshot.
    let healing = world.backup(&MediaOptions::default()).unwrap().healing;
    assert_eq!(healing.packs_lost, 1);
    let to = world.dir.path().join("restored");
    let report = world
        .restore_media(&repo, &world.dir.path().join("state"), &to)
        .unwrap();
    assert!(report.lost.is_empty(), "{:?}", report.lost);
    assert_eq!(files_under(&to), expected);
}
