//! Media in the repository (issue 11): files backed up beside the chats, restored after them on
//! a "new device" byte for byte, incrementally, deduplicated, on demand, with damage contained.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod media_support;

use keepsake_core::{
    backup,
    media::{DirMediaSink, MediaFilter, MediaKind, MediaOptions, MediaRestore},
    progress::{Phase, Unit},
    Error,
};
use media_support::*;

#[test]
fn chats_then_media_restore_on_a_new_device_byte_for_byte() {
    let world = World::new(600);
    let summary = world.backup(&MediaOptions::default()).unwrap();
    let media = summary.media.unwrap();
    assert!(media.files_read > 20, "{media:?}");
    assert!(
        media.summary.files_absent > 0,
        "some attachments have no file"
    );
    assert_eq!(media.summary.files_skipped, 0);

    // A new device: only the store and the recovery key.
    let repo = world.open_with_recovery_key();
    let restored_db = world.dir.path().join("new/chat.db");
    std::fs::create_dir_all(restored_db.parent().unwrap()).unwrap();
    backup::restore_from_repo(&repo, None, &restored_db, &Default::default(), &quiet()).unwrap();
    assert_eq!(dump(&restored_db), dump(&world.db));
    // The chats are there before any media was fetched.
    let to = world.dir.path().join("new/media");
    assert!(!to.exists());
    let report = backup::restore_media_from_repo(
        &repo,
        None,
        &world.dir.path().join("new/state"),
        &MediaFilter::default(),
        &DirMediaSink::new(&to),
        &quiet(),
    )
    .unwrap();
    assert_eq!(report.files_restored, media.summary.files_stored);
    assert_eq!(report.files_not_in_backup, media.summary.files_absent);
    assert!(report.lost.is_empty());
    assert_eq!(files_under(&to), files_under(&world.media));
}

#[test]
fn forwarded_and_unchanged_media_is_stored_once_and_a_changed_file_is_read_again() {
    let world = World::new(600);
    let first = world.backup(&MediaOptions::default()).unwrap();
    let first_media = first.media.unwrap();
    assert!(world.set.forwards > 0);
    // Forwards share every chunk: fewer new chunks than files with bytes.
    let stored_bytes = world.store_bytes();
    assert!(
        stored_bytes < world.set.bytes,
        "{stored_bytes} stored for {} bytes of files with forwards",
        world.set.bytes
    );

    // Nothing changed: no file is read, almost nothing is uploaded.
    let second = world.backup(&MediaOptions::default()).unwrap();
    let second_media = second.media.unwrap();
    assert_eq!(second_media.files_read, 0);
    assert_eq!(second_media.files_unchanged, first_media.files_read);
    assert!(second.bytes_uploaded < 64 * 1024, "{second:?}");

    // One file changed on the device (same size, new bytes): read again, and restored as new.
    let (path, _) = files_under(&world.media).into_iter().next().unwrap();
    let changed = world.media.join(&path);
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[0] ^= 0xff;
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&changed, &bytes).unwrap();
    let third = world.backup(&MediaOptions::default()).unwrap();
    assert_eq!(third.media.unwrap().files_read, 1);
    let to = world.dir.path().join("restored");
    let repo = world.open_with_recovery_key();
    world
        .restore_media(&repo, &world.dir.path().join("state"), &to)
        .unwrap();
    assert_eq!(std::fs::read(to.join(&path)).unwrap(), bytes);
}

#[test]
fn options_leave_out_videos_large_files_and_conversations() {
    let world = World::new(600);
    let conversation = world.first_conversation_with_media();
    let options = MediaOptions {
        include_videos: false,
        max_file_bytes: Some(20_000),
        excluded_conversations: vec![conversation],
    };
    let summary = world.backup(&options).unwrap().media.unwrap();
    assert!(summary.summary.files_skipped > 0);
    let repo = world.open_with_recovery_key();
    let to = world.dir.path().join("restored");
    world
        .restore_media(&repo, &world.dir.path().join("state"), &to)
        .unwrap();
    for (path, bytes) in files_under(&to) {
        let item = world.attachment_at(&path);
        assert_ne!(MediaKind::of_mime(&item.mime), MediaKind::Video, "{path}");
        assert!(bytes.len() <= 20_000, "{path}");
        assert_ne!(item.conversation_id, conversation);
    }
}

#[test]
fn a_filtered_restore_then_the_rest_and_one_attachment_on_demand() {
    let world = World::new(600);
    world.backup(&MediaOptions::default()).unwrap();
    let repo = world.open_with_recovery_key();
    let state = world.dir.path().join("state");
    let to = world.dir.path().join("restored");
    let sink = DirMediaSink::new(&to);
    let images = MediaFilter {
        kinds: Some(vec![MediaKind::Image]),
        ..Default::default()
    };
    let first =
        backup::restore_media_from_repo(&repo, None, &state, &images, &sink, &quiet()).unwrap();
    assert!(first.files_restored > 0);
    for (path, _) in files_under(&to) {
        assert_eq!(
            MediaKind::of_mime(&world.attachment_at(&path).mime),
            MediaKind::Image
        );
    }
    // On demand: a voice note not restored yet.
    let (voice_path, voice_bytes) = files_under(&world.media)
        .into_iter()
        .find(|(p, _)| MediaKind::of_mime(&world.attachment_at(p).mime) == MediaKind::Audio)
        .unwrap();
    let id = world.attachment_at(&voice_path).id;
    let restore = MediaRestore::open(&repo, None, &state).unwrap();
    let item = restore.fetch(id, &sink).unwrap();
    assert_eq!(item.attachment_id, id);
    assert_eq!(std::fs::read(to.join(&voice_path)).unwrap(), voice_bytes);
    // An attachment with no bytes in the backup is a typed error.
    let absent = world.absent_attachment();
    assert!(matches!(
        restore.fetch(absent, &sink),
        Err(Error::MediaUnavailable { attachment_id, .. }) if attachment_id == absent
    ));
    drop(restore);
    // The rest: only what is left is restored.
    let rest = backup::restore_media_from_repo(
        &repo,
        None,
        &state,
        &MediaFilter::default(),
        &sink,
        &quiet(),
    )
    .unwrap();
    assert_eq!(rest.files_already_restored, first.files_restored + 1);
    assert_eq!(files_under(&to), files_under(&world.media));
}

#[test]
fn progress_counts_files_and_bytes_in_the_media_phase() {
    let world = World::new(300);
    let reports = std::sync::Mutex::new(Vec::new());
    let sink = |p: keepsake_core::progress::Progress| reports.lock().unwrap().push(p);
    let control = backup::Control {
        progress: Some(&sink),
        cancel: None,
    };
    world
        .backup_with(&MediaOptions::default(), &control)
        .unwrap();
    let media: Vec<_> = reports
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.phase == Phase::Media)
        .copied()
        .collect();
    let last = media.last().unwrap();
    assert_eq!(last.unit, Unit::Bytes);
    assert_eq!(last.files_done, last.files_total);
    assert!(last.files_total > 0 && last.done > 0);
    // Bytes end at their total, though some attachments have no file.
    assert_eq!(last.done, last.total);
    assert!(media.windows(2).all(|w| w[0].done <= w[1].done));
}
