//! Repository test vectors: the generator, and the tests that replay the files in
//! `core/tests/vectors/repo/` (format 2, written by this build) and `core/tests/vectors/repo-v1/`
//! (format 1, written by earlier builds and still read).
//!
//! Regenerate the format 2 files with
//! `KEEPSAKE_REGENERATE_VECTORS=1 cargo test -p keepsake-core repo::vectors`. Without the
//! variable the generator must reproduce every stored file byte for byte, and every stored file
//! of both formats is decoded from its `vectors.json`'s inputs alone: positive vectors give the
//! listed values, each negative vector gives its one expected error. The format 1 files are
//! never regenerated: they pin what older builds wrote.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{
    catalog::{CatalogEntry, CatalogReader, EntryState},
    chunker::ChunkerParams,
    config::{Config, SealedConfig},
    index::{self, IndexObject, PackEntries},
    keys::{EpochKeys, KeySet},
    lock,
    object::{self, Kind},
    pack::{self, PackBuilder, CODEC_STORED, CODEC_ZSTD},
    snapshot::{self, ListedStream, Snapshot},
    MediaSummary, RepoOptions, SnapshotId, SnapshotInfo,
};
use crate::{
    crypto::RootKey,
    keyring::{unwrap_with_recovery_key, FixedSlotInputs, Keyring, KeyringId, RecoveryKey, SlotId},
    store::RecordCounts,
    Error, Result,
};

const REGENERATE_ENV: &str = "KEEPSAKE_REGENERATE_VECTORS";

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/repo")
}

fn vector_dir_v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/repo-v1")
}

fn counting<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|i| start.wrapping_add(i as u8))
}

const REPO_ID: u8 = 0x40;
const DATA_KEY: u8 = 0x50;
const PACK_NAME: &str = "data/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const INDEX_NAME: &str = "index/b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const SNAPSHOT_NAME: &str = "snapshots/c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
const LOCK_NAME: &str = "locks/d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
const MEDIA_SNAPSHOT_NAME: &str = "snapshots/c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5";

fn fixed_slot() -> FixedSlotInputs {
    FixedSlotInputs {
        id: SlotId::from_bytes(counting(0x10)),
        created_at: 1_700_000_000,
        salt: counting(0x20),
        nonce: counting(0x30),
        key_pair_ikm: counting(0x60),
        seal_ikm: counting(0x80),
    }
}

/// The vector keyring with a version 3 recovery-key slot.
fn keyring(root: u8, recovery: u8) -> Result<(Keyring, RecoveryKey)> {
    let mut keyring = Keyring::from_unlocked(
        RootKey::from_bytes(counting(root)),
        KeyringId::from_bytes(counting(0xa0)),
        counting(0xb0),
        1,
        Vec::new(),
    )?;
    let key = RecoveryKey::from_secret(counting(recovery));
    keyring.add_recovery_key_with("Recovery key", &key, fixed_slot())?;
    Ok((keyring, key))
}

/// The same keyring as the previous build wrote it: a version 2 recovery-key slot (base-mode
/// seal), byte for byte what `config.bin` was made with before version 3 slots.
fn keyring_v2(root: u8, recovery: u8) -> Result<(Keyring, RecoveryKey)> {
    use crate::{
        crypto::kdf::{self, KekVersion},
        keyring::{
            slot::{tests::seal_v2, NewSlot, SlotSeeds},
            SlotKind,
        },
    };
    let key = RecoveryKey::from_secret(counting(recovery));
    let fixed = fixed_slot();
    let id = KeyringId::from_bytes(counting(0xa0));
    let root_key = RootKey::from_bytes(counting(root));
    let kek = kdf::recovery_kek(key.secret(), &fixed.salt, KekVersion::V2)?;
    let slot = seal_v2(
        NewSlot {
            id: fixed.id,
            label: "Recovery key".into(),
            created_at: fixed.created_at,
            kind: SlotKind::RecoveryKey,
            salt: fixed.salt,
        },
        &id,
        1,
        &root_key,
        &kek,
        &SlotSeeds {
            key_pair: fixed.key_pair_ikm,
            nonce: fixed.nonce,
            seal: fixed.seal_ikm,
        },
    );
    let keyring = Keyring::from_unlocked(root_key, id, counting(0xb0), 1, vec![slot])?;
    Ok((keyring, key))
}

fn keys(data_key: u8) -> Result<KeySet> {
    KeySet::new(vec![EpochKeys::derive(
        &counting(REPO_ID),
        0,
        counting(data_key),
    )?])
}

/// The plaintexts of the two data chunks.
fn chunk_plaintexts() -> Vec<Vec<u8>> {
    vec![
        b"hello chunk".to_vec(),
        b"a chat archive compresses well. ".repeat(64),
    ]
}

/// Every vector file, by name.
fn generate() -> Result<Vec<(String, Vec<u8>)>> {
    let (keyring, _) = keyring_v2(0x00, 0xc0)?;
    let (keyring_v3, _) = self::keyring(0x00, 0xc0)?;
    let key_set = keys(DATA_KEY)?;
    let epoch = key_set.current();
    let config = Config {
        repo_id: counting(REPO_ID),
        created_at: 1_700_000_000,
        options: RepoOptions {
            chunker: ChunkerParams::default(),
            pack_target_bytes: pack::DEFAULT_PACK_TARGET,
        },
        version: super::config::VERSION,
    };
    let config_bytes = config.encode_with_nonces(&keyring, &key_set, &[counting(0x70)])?;
    let config_v3_bytes = config.encode_with_nonces(&keyring_v3, &key_set, &[counting(0x70)])?;

    // A pack: two data chunks (stored, zstd) and the list chunk naming them.
    let data = chunk_plaintexts();
    let ids: Vec<_> = data.iter().map(|d| epoch.chunk_id(d)).collect();
    let list: Vec<u8> = ids.concat();
    let list_id = epoch.chunk_id(&list);
    let mut builder = PackBuilder::new(0, 1 << 16)?;
    builder.rename(PACK_NAME.into());
    let zstd_body = zstd::bulk::compress(&data[1], 3)?;
    let pieces: [(&[u8], u8, &[u8], u8); 3] = [
        (&data[0], CODEC_STORED, &data[0], 0x80),
        (&data[1], CODEC_ZSTD, &zstd_body, 0x90),
        (&list, CODEC_STORED, &list, 0xa0),
    ];
    for (plain, codec, body, nonce) in pieces {
        let id = epoch.chunk_id(plain);
        let mut sealed = Vec::new();
        pack::seal_chunk_with_nonce(epoch, &id, codec, body, counting(nonce), &mut sealed)?;
        builder.push_sealed(id, plain.len() as u32, &sealed)?;
    }
    let (_, pack_bytes, entries) = builder.finish_with_nonce(epoch, counting(0xb0))?;

    let first_len = entries[0].length as usize;
    let index_content = index::encode_content(&IndexObject {
        packs: vec![PackEntries {
            pack: PACK_NAME.into(),
            epoch: 0,
            size: Some(pack_bytes.len() as u64),
            entries,
        }],
        condemned: vec![index::Condemned {
            pack: "data/e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6".into(),
            since: 1_700_000_050,
        }],
    })?;
    let index_bytes = object::seal_with_nonce(
        epoch,
        Kind::Index,
        INDEX_NAME,
        &index_content,
        counting(0xc0),
    )?;

    let snap = Snapshot {
        info: SnapshotInfo {
            id: snapshot::id_of_name(SNAPSHOT_NAME)?,
            time: 1_700_000_100,
            sequence: 1,
            counts: RecordCounts {
                conversations: 1,
                participants: 2,
                messages: 3,
                reactions: 4,
                attachments: 5,
            },
            parent: None,
            bytes: data.iter().map(|d| d.len() as u64).sum(),
            digest: counting(0xe0),
            chunks: 2,
            media: None,
        },
        lists: vec![list_id],
        catalog: None,
    };
    let snapshot_bytes = object::seal_with_nonce(
        epoch,
        Kind::Snapshot,
        SNAPSHOT_NAME,
        &snapshot::encode_plain(&snap),
        counting(0xd0),
    )?;
    // A snapshot with media: the same archive, and a catalog stream of one list chunk.
    let catalog = catalog_plain();
    let catalog_id = epoch.chunk_id(&catalog);
    let media_snap = Snapshot {
        info: SnapshotInfo {
            id: snapshot::id_of_name(MEDIA_SNAPSHOT_NAME)?,
            sequence: 2,
            parent: Some(snap.info.id),
            media: Some(MediaSummary {
                files_stored: 1,
                files_absent: 1,
                files_skipped: 0,
                bytes_stored: 1_000_000,
            }),
            ..snap.info.clone()
        },
        lists: snap.lists.clone(),
        catalog: Some(ListedStream {
            lists: vec![catalog_id],
            bytes: catalog.len() as u64,
            chunks: 1,
        }),
    };
    let media_snapshot_bytes = object::seal_with_nonce(
        epoch,
        Kind::Snapshot,
        MEDIA_SNAPSHOT_NAME,
        &snapshot::encode_plain(&media_snap),
        counting(0xd8),
    )?;
    let mut catalog_swapped = Vec::new();
    for entry in catalog_entries().iter().rev() {
        entry.encode(&mut catalog_swapped);
    }

    let lock_plain = lock::LockBody {
        holder: counting(0xe5),
        nonce: counting(0xe8),
        pid: 4242,
        created: 1_700_000_200,
        refreshed: 1_700_000_300,
        host: "laptop".into(),
    }
    .encode();
    let lock_bytes =
        object::seal_with_nonce(epoch, Kind::Lock, LOCK_NAME, &lock_plain, counting(0xf0))?;

    // Negative vectors: one change each.
    let flip = |bytes: &[u8], at: usize| {
        let mut out = bytes.to_vec();
        out[at] ^= 0x01;
        out
    };
    let mut config_v3 = config_bytes.clone();
    config_v3[4] = 3;
    let foreign_keys = keys(0x60)?;
    let mut foreign = PackBuilder::new(0, 1 << 16)?;
    foreign.rename(PACK_NAME.into());
    let mut sealed = Vec::new();
    let foreign_epoch = foreign_keys.current();
    let foreign_id = foreign_epoch.chunk_id(&data[0]);
    pack::seal_chunk_with_nonce(
        foreign_epoch,
        &foreign_id,
        CODEC_STORED,
        &data[0],
        counting(0x80),
        &mut sealed,
    )?;
    foreign.push_sealed(foreign_id, data[0].len() as u32, &sealed)?;
    let (_, foreign_pack, _) = foreign.finish_with_nonce(foreign_epoch, counting(0xb0))?;

    Ok(vec![
        ("config.bin".into(), config_bytes.clone()),
        ("config_slot_v3.bin".into(), config_v3_bytes),
        ("pack.bin".into(), pack_bytes.clone()),
        ("index.bin".into(), index_bytes.clone()),
        ("snapshot.bin".into(), snapshot_bytes.clone()),
        ("lock.bin".into(), lock_bytes.clone()),
        ("snapshot_media.bin".into(), media_snapshot_bytes.clone()),
        ("catalog.bin".into(), catalog.clone()),
        ("negative_catalog_out_of_order.bin".into(), catalog_swapped),
        (
            "negative_catalog_truncated.bin".into(),
            catalog[..catalog.len() - 1].to_vec(),
        ),
        (
            "negative_snapshot_media_flipped.bin".into(),
            flip(&media_snapshot_bytes, media_snapshot_bytes.len() - 20),
        ),
        (
            "negative_config_flipped_mac.bin".into(),
            flip(&config_bytes, config_bytes.len() - 1),
        ),
        (
            "negative_config_flipped_repo_id.bin".into(),
            flip(&config_bytes, 6),
        ),
        ("negative_config_version_3.bin".into(), config_v3),
        (
            "negative_config_truncated.bin".into(),
            config_bytes[..40].to_vec(),
        ),
        (
            "negative_pack_flipped_chunk.bin".into(),
            flip(&pack_bytes, 20),
        ),
        (
            "negative_pack_flipped_trailer.bin".into(),
            flip(&pack_bytes, pack_bytes.len() - 30),
        ),
        (
            "negative_pack_bad_magic.bin".into(),
            flip(&pack_bytes, pack_bytes.len() - 1),
        ),
        (
            "negative_pack_flipped_tail_length.bin".into(),
            flip(&pack_bytes, pack_bytes.len() - 9),
        ),
        (
            "negative_pack_flipped_tail_epoch.bin".into(),
            flip(&pack_bytes, pack_bytes.len() - 5),
        ),
        ("negative_pack_foreign.bin".into(), foreign_pack),
        (
            "negative_pack_chunk_cut.bin".into(),
            pack_bytes[..first_len - 1].to_vec(),
        ),
        (
            "negative_index_flipped.bin".into(),
            flip(&index_bytes, index_bytes.len() / 2),
        ),
        (
            "negative_index_truncated.bin".into(),
            index_bytes[..10].to_vec(),
        ),
        (
            "negative_snapshot_flipped.bin".into(),
            flip(&snapshot_bytes, 9),
        ),
        ("negative_snapshot_wrong_magic.bin".into(), {
            let mut b = snapshot_bytes.clone();
            b[..4].copy_from_slice(Kind::Index.magic());
            b
        }),
        (
            "negative_lock_flipped.bin".into(),
            flip(&lock_bytes, lock_bytes.len() - 1),
        ),
    ])
}

/// Two catalog records: a stored photo in two chunks, and a voice note not on the device.
fn catalog_entries() -> Vec<CatalogEntry> {
    vec![
        CatalogEntry {
            attachment_id: 7,
            conversation_id: 3,
            sent_at: 1_700_000_000_123,
            state: EntryState::Stored,
            size: 1_000_000,
            sha256: counting(0x11),
            modified: 1_699_999_999_000_000_000,
            mime: "image/jpeg".into(),
            local_ref: "media/7.jpg".into(),
            chunks: vec![counting(0x21), counting(0x41)],
        },
        CatalogEntry {
            attachment_id: 9,
            conversation_id: 3,
            sent_at: 1_700_000_100_000,
            state: EntryState::Absent,
            size: 0,
            sha256: [0; 32],
            modified: 0,
            mime: "audio/ogg".into(),
            local_ref: "media/9.ogg".into(),
            chunks: Vec::new(),
        },
    ]
}

/// The catalog stream of [`catalog_entries`].
fn catalog_plain() -> Vec<u8> {
    let mut out = Vec::new();
    for entry in catalog_entries() {
        entry.encode(&mut out);
    }
    out
}

/// Decodes vector `file` as the object kind `kind` (named `name` in the store), with the
/// repository's keys from the inputs; returns a description of what it decoded.
fn decode(kind: &str, name: &str, bytes: &[u8], inputs: &Value) -> Result<Value> {
    let hex_of =
        |key: &str| hex::decode(inputs[key].as_str().unwrap_or_default()).unwrap_or_default();
    let recovery =
        RecoveryKey::from_secret(hex_of("recovery_secret").try_into().unwrap_or([0; 32]));
    let data_key: [u8; 32] = hex_of("data_key").try_into().unwrap_or([0; 32]);
    let repo_id: [u8; 16] = hex_of("repo_id").try_into().unwrap_or([0; 16]);
    let keys = KeySet::new(vec![EpochKeys::derive(&repo_id, 0, data_key)?])?;
    match kind {
        "config" => {
            let sealed = SealedConfig::decode(bytes)?;
            let root = unwrap_with_recovery_key(
                &sealed.keyring_id,
                sealed.generation,
                &sealed.slots,
                &recovery,
            )?;
            let (config, _, keyset, _) = sealed.unlock(root)?;
            Ok(json!({
                "repo_id": hex::encode(config.repo_id),
                "created_at": config.created_at,
                "chunker": [config.options.chunker.min, config.options.chunker.avg, config.options.chunker.max],
                "pack_target": config.options.pack_target_bytes,
                "epoch0_chunk_id_of_hello_chunk": hex::encode(keyset.current().chunk_id(b"hello chunk")),
            }))
        }
        "pack" => {
            let (epoch, chunks) = pack::split_pack(&keys, name, bytes)?;
            let mut out = Vec::new();
            for (entry, sealed) in chunks {
                let plain = pack::open_chunk(
                    keys.epoch(epoch, "vector")?,
                    &entry.id,
                    entry.raw_len,
                    sealed,
                )?;
                out.push(json!({"id": hex::encode(entry.id), "offset": entry.offset,
                    "length": entry.length, "plaintext_sha256": hex::encode(sha(&plain))}));
            }
            Ok(json!({"epoch": epoch, "chunks": out}))
        }
        "index" => {
            let object = index::decode(&keys, name, bytes)?;
            let packs = object.packs.iter().map(|p| {
                let mut out = json!({"pack": p.pack, "epoch": p.epoch, "chunks": p.entries.len()});
                if let Some(size) = p.size {
                    out["size"] = json!(size);
                }
                out
            });
            let packs: Vec<Value> = packs.collect();
            if object.condemned.is_empty() {
                Ok(json!(packs))
            } else {
                let condemned: Vec<Value> = object
                    .condemned
                    .iter()
                    .map(|c| json!({"pack": c.pack, "since": c.since}))
                    .collect();
                Ok(json!({"packs": packs, "condemned": condemned}))
            }
        }
        "snapshot" => {
            let opened = object::open(
                &keys,
                Kind::Snapshot,
                name,
                bytes,
                snapshot::MAX_SNAPSHOT_LEN,
            )?;
            let snap = snapshot::decode_plain(snapshot::id_of_name(name)?, &opened.content)?;
            let mut out = json!({"time": snap.info.time, "messages": snap.info.counts.messages,
                "bytes": snap.info.bytes, "chunks": snap.info.chunks,
                "lists": snap.lists.iter().map(hex::encode).collect::<Vec<_>>()});
            if let (Some(catalog), Some(media)) = (&snap.catalog, &snap.info.media) {
                out["catalog"] = json!({"bytes": catalog.bytes, "chunks": catalog.chunks,
                    "lists": catalog.lists.iter().map(hex::encode).collect::<Vec<_>>()});
                out["media"] = json!({"stored": media.files_stored, "absent": media.files_absent,
                    "skipped": media.files_skipped, "bytes": media.bytes_stored});
            }
            Ok(out)
        }
        "catalog" => {
            let mut out = Vec::new();
            for entry in CatalogReader::new(bytes) {
                let e = entry?;
                out.push(
                    json!({"attachment": e.attachment_id, "conversation": e.conversation_id,
                    "sent_at": e.sent_at, "state": format!("{:?}", e.state), "size": e.size,
                    "sha256": hex::encode(e.sha256), "modified": e.modified, "mime": e.mime,
                    "local_ref": e.local_ref,
                    "chunks": e.chunks.iter().map(hex::encode).collect::<Vec<_>>()}),
                );
            }
            Ok(json!(out))
        }
        "lock" => {
            let body = lock::decode_object(&keys, name, bytes)?;
            let mut out = json!({"holder": hex::encode(body.holder), "pid": body.pid,
                "created": body.created, "refreshed": body.refreshed});
            if !body.host.is_empty() {
                out["nonce"] = json!(hex::encode(body.nonce));
                out["host"] = json!(body.host);
            }
            Ok(out)
        }
        other => Err(Error::InvalidArgument(format!(
            "unknown vector kind {other}"
        ))),
    }
}

fn sha(data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).into()
}

fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::Corrupted { .. } => "Corrupted",
        Error::Truncated { .. } => "Truncated",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::LimitExceeded { .. } => "LimitExceeded",
        Error::WrongKey => "WrongKey",
        _ => "Other",
    }
}

/// The index of vectors: kind, object name and expectation of each file.
fn manifest() -> Value {
    json!({
        "inputs": {
            "root_key": hex::encode(counting::<32>(0x00)),
            "recovery_secret": hex::encode(counting::<32>(0xc0)),
            "repo_id": hex::encode(counting::<16>(REPO_ID)),
            "data_key": hex::encode(counting::<32>(DATA_KEY)),
        },
        "vectors": [
            {"file": "config.bin", "kind": "config", "name": "config"},
            {"file": "config_slot_v3.bin", "kind": "config", "name": "config"},
            {"file": "pack.bin", "kind": "pack", "name": PACK_NAME},
            {"file": "index.bin", "kind": "index", "name": INDEX_NAME},
            {"file": "snapshot.bin", "kind": "snapshot", "name": SNAPSHOT_NAME},
            {"file": "lock.bin", "kind": "lock", "name": LOCK_NAME},
            {"file": "snapshot_media.bin", "kind": "snapshot", "name": MEDIA_SNAPSHOT_NAME},
            {"file": "catalog.bin", "kind": "catalog", "name": "(plaintext of a catalog stream)"},
            {"file": "negative_catalog_out_of_order.bin", "kind": "catalog", "name": "(plaintext of a catalog stream)", "error": "Corrupted"},
            {"file": "negative_catalog_truncated.bin", "kind": "catalog", "name": "(plaintext of a catalog stream)", "error": "Truncated"},
            {"file": "negative_snapshot_media_flipped.bin", "kind": "snapshot", "name": MEDIA_SNAPSHOT_NAME, "error": "Corrupted"},
            {"file": "negative_config_flipped_mac.bin", "kind": "config", "name": "config", "error": "Corrupted"},
            {"file": "negative_config_flipped_repo_id.bin", "kind": "config", "name": "config", "error": "Corrupted"},
            {"file": "negative_config_version_3.bin", "kind": "config", "name": "config", "error": "UnsupportedVersion"},
            {"file": "negative_config_truncated.bin", "kind": "config", "name": "config", "error": "Truncated"},
            {"file": "negative_pack_flipped_chunk.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "negative_pack_flipped_trailer.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "negative_pack_bad_magic.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "negative_pack_foreign.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "negative_pack_flipped_tail_length.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "negative_pack_flipped_tail_epoch.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "negative_pack_chunk_cut.bin", "kind": "pack", "name": PACK_NAME, "error": "Corrupted"},
            {"file": "pack.bin", "kind": "pack", "name": "data/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a2", "error": "Corrupted"},
            {"file": "negative_index_flipped.bin", "kind": "index", "name": INDEX_NAME, "error": "Corrupted"},
            {"file": "negative_index_truncated.bin", "kind": "index", "name": INDEX_NAME, "error": "Truncated"},
            {"file": "index.bin", "kind": "index", "name": "index/b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b3", "error": "Corrupted"},
            {"file": "negative_snapshot_flipped.bin", "kind": "snapshot", "name": SNAPSHOT_NAME, "error": "Corrupted"},
            {"file": "negative_snapshot_wrong_magic.bin", "kind": "snapshot", "name": SNAPSHOT_NAME, "error": "Corrupted"},
            {"file": "snapshot.bin", "kind": "snapshot", "name": "snapshots/c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c4", "error": "Corrupted"},
            {"file": "negative_lock_flipped.bin", "kind": "lock", "name": LOCK_NAME, "error": "Corrupted"},
        ]
    })
}

#[test]
fn generator_reproduces_every_stored_vector() {
    let files = generate().unwrap();
    let dir = vector_dir();
    let regenerate = std::env::var(REGENERATE_ENV).is_ok();
    if regenerate {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut manifest = manifest();
    for (name, bytes) in &files {
        let path = dir.join(name);
        if regenerate {
            std::fs::write(&path, bytes).unwrap();
        } else {
            let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                &stored, bytes,
                "{name} differs from what the generator makes"
            );
        }
    }
    // Positive vectors record what they decode to, so the JSON states the expected values.
    let inputs = manifest["inputs"].clone();
    for vector in manifest["vectors"].as_array_mut().unwrap() {
        if vector.get("error").is_none() {
            let file = vector["file"].as_str().unwrap().to_owned();
            let bytes = &files.iter().find(|(n, _)| *n == file).unwrap().1;
            let decoded = decode(
                vector["kind"].as_str().unwrap(),
                vector["name"].as_str().unwrap(),
                bytes,
                &inputs,
            )
            .unwrap();
            vector["decoded"] = decoded;
        }
    }
    let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    let path = dir.join("vectors.json");
    if regenerate {
        std::fs::write(&path, text).unwrap();
    } else {
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "vectors.json is stale"
        );
    }
}

#[test]
fn every_stored_vector_decodes_as_its_manifest_says() {
    replay(&vector_dir(), 25);
}

#[test]
fn every_format_1_vector_still_decodes_as_its_manifest_says() {
    replay(&vector_dir_v1(), 20);
}

/// Replays every vector of `dir` (at least `at_least` of them) against its manifest.
fn replay(dir: &Path, at_least: usize) {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("vectors.json")).unwrap()).unwrap();
    let inputs = &manifest["inputs"];
    let vectors = manifest["vectors"].as_array().unwrap();
    assert!(vectors.len() >= at_least);
    for vector in vectors {
        let file = vector["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let result = decode(
            vector["kind"].as_str().unwrap(),
            vector["name"].as_str().unwrap(),
            &bytes,
            inputs,
        );
        match vector.get("error").and_then(Value::as_str) {
            Some(expected) => {
                let err = result.expect_err(file);
                assert_eq!(error_kind(&err), expected, "{file}: {err:?}");
            }
            None => assert_eq!(&result.unwrap(), &vector["decoded"], "{file}"),
        }
    }
}

#[test]
fn a_wrong_recovery_key_opens_no_slot_of_the_config_vector() {
    let bytes = std::fs::read(vector_dir().join("config.bin")).unwrap();
    let sealed = SealedConfig::decode(&bytes).unwrap();
    let other = RecoveryKey::from_secret(counting(0xc8));
    assert!(matches!(
        unwrap_with_recovery_key(&sealed.keyring_id, sealed.generation, &sealed.slots, &other),
        Err(Error::WrongKey)
    ));
    // The positive vector's snapshot id is the one its name gives.
    assert_eq!(
        snapshot::id_of_name(SNAPSHOT_NAME).unwrap(),
        SnapshotId([0xc3; 16])
    );
}
