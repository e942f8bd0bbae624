//! What object sizes tell the store about media (issue 18, item 2; `docs/REPOSITORY.md`
//! §14.4): a known file's bytes shape nothing the store sees (only its volume shows, to
//! [`MEDIA_PAD_UNIT`]), and a day's number of new small attachments does not show in the media
//! packs or index objects it uploads.
//!
//! Before the fix, media was cut by content with FastCDC's public gear table, full media packs
//! were the exact sum of their chunks and every pack ended with a plaintext trailer length:
//! two unrelated repositories holding the same file produced byte-identical, predictable pack
//! sizes, and a day's last pack gave its count of new attachments.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;

use std::{collections::BTreeMap, sync::Arc};

use keepsake_core::{
    backup::{self, BackupOptions, Control},
    media::{DirMediaSource, MediaBackup, MediaOptions},
    repo::{
        pack::{media_pack_len, MEDIA_PAD_UNIT},
        BlobStore, MemStore, Repository,
    },
    store::{Attachment, ChatStore, DeliveryState, Message, MessageKind},
};
use repo_support::*;

/// Pseudo-random bytes: media is already compressed, so it looks like this to the packer.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A device: a small chat database, a media folder, a repository in memory.
struct Device {
    dir: tempfile::TempDir,
    mem: Arc<MemStore>,
    repo: Repository,
    next_id: i64,
}

impl Device {
    fn new(seed: u64) -> Device {
        let dir = tempfile::tempdir().unwrap();
        populated(&dir.path().join("chat.db"), seed, 200);
        std::fs::create_dir_all(dir.path().join("media")).unwrap();
        let keyring = device_keyring();
        let (mem, repo) = mem_repo(&keyring);
        Device {
            dir,
            mem,
            repo,
            next_id: 1_000_000,
        }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("chat.db")
    }

    /// A media message with a photo of `bytes` in conversation 1.
    fn receive(&mut self, bytes: &[u8]) {
        let id = self.next_id;
        self.next_id += 1;
        let path = format!("photo-{id}.jpg");
        std::fs::write(self.dir.path().join("media").join(&path), bytes).unwrap();
        let mut chat = ChatStore::open(&self.db()).unwrap();
        chat.insert_messages(&[Message {
            id,
            conversation_id: 1,
            sender: "bob".into(),
            kind: MessageKind::Media,
            body: None,
            sent_at: 1_700_000_000_000 + id,
            received_at: None,
            reply_to: None,
            edited_at: None,
            deleted_at: None,
            delivery: DeliveryState::Read,
            extra: None,
        }])
        .unwrap();
        chat.insert_attachments(&[Attachment {
            id,
            message_id: id,
            mime: "image/jpeg".into(),
            file_name: None,
            size: bytes.len() as u64,
            sha256: None,
            width: None,
            height: None,
            duration_ms: None,
            local_ref: Some(path),
            extra: None,
        }])
        .unwrap();
        chat.close().unwrap();
    }

    /// Backs up with media; returns the sizes of the objects it added, by kind.
    fn backup(&mut self) -> BTreeMap<&'static str, Vec<u64>> {
        let before: Vec<String> = self.mem.list_names("").unwrap();
        let chat = ChatStore::open(&self.db()).unwrap();
        let source = DirMediaSource::new(self.dir.path().join("media"));
        let options = BackupOptions::for_generation(self.repo.keyring().generation());
        backup::backup_store_with_media(
            &chat,
            &mut self.repo,
            None,
            &options,
            Some(&MediaBackup {
                source: &source,
                options: MediaOptions::default(),
            }),
            &Control::default(),
        )
        .unwrap();
        let mut added: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for object in self.mem.list("").unwrap() {
            if before.contains(&object.name) || object.name.starts_with("locks/") {
                continue;
            }
            let kind = match object.name.split('/').next().unwrap() {
                "data" => "pack",
                "index" => "index",
                "snapshots" => "snapshot",
                _ => "other",
            };
            added.entry(kind).or_default().push(object.size);
        }
        for sizes in added.values_mut() {
            sizes.sort_unstable();
        }
        added
    }
}

/// The size of a full media pack in these repositories.
fn full_media_pack() -> usize {
    media_pack_len(small_options().pack_target_bytes)
}

/// The media packs among a backup's new packs: full ones, or a last one of whole MiB (a chat
/// pack of such a small day is padded to 64 KiB units, well under a MiB).
fn media_packs(added: &BTreeMap<&str, Vec<u64>>, media_bytes: usize) -> Vec<u64> {
    let packs = added.get("pack").cloned().unwrap_or_default();
    let media: Vec<u64> = packs
        .iter()
        .copied()
        .filter(|size| {
            *size as usize == full_media_pack() || (*size as usize).is_multiple_of(MEDIA_PAD_UNIT)
        })
        .collect();
    assert!(
        media.iter().sum::<u64>() as usize >= media_bytes,
        "the media packs hold the file: {packs:?}"
    );
    media
}

#[test]
fn a_known_file_shapes_nothing_the_store_sees_but_its_volume() {
    // Two unrelated devices each receive a 6 MiB video-sized file: the same file on one pair,
    // different files of the same size on another. Every media pack is a full pack of one
    // fixed size or a last pack of whole MiB: sizes depend on the volume, never the content.
    let len = 6 * 1024 * 1024 + 12_345;
    let same = noise(len, 7);
    let mut sizes = Vec::new();
    for (seed, file) in [(1, &same), (2, &same), (3, &noise(len, 8))] {
        let mut device = Device::new(seed);
        device.backup();
        device.receive(file);
        let added = device.backup();
        sizes.push(media_packs(&added, len));
    }
    assert_eq!(sizes[0], sizes[1], "the same file in two repositories");
    assert_eq!(sizes[0], sizes[2], "another file of the same size");
    for size in &sizes[0] {
        assert!(
            *size as usize == full_media_pack() || (*size as usize).is_multiple_of(MEDIA_PAD_UNIT),
            "{size} is neither a full media pack nor a whole number of MiB"
        );
    }
}

#[test]
fn the_number_of_new_small_attachments_does_not_show_in_media_packs_or_index_objects() {
    // One day brings one 20 KB photo, another day five: within a padding unit, the store sees
    // the same media pack and index object sizes.
    let mut observed = Vec::new();
    for count in [1u64, 5] {
        let mut device = Device::new(4);
        device.backup();
        for n in 0..count {
            device.receive(&noise(20_000, 100 + n));
        }
        let added = device.backup();
        observed.push((
            media_packs(&added, 20_000 * count as usize),
            added["index"].clone(),
        ));
    }
    assert_eq!(observed[0], observed[1]);
}
