//! The container API: inspect without a secret, the three unlock paths, keyring rebuild,
//! options and misuse.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::io::{Read, Write};

use keepsake_core::{
    crypto::PrfOutput,
    format::{self, Compression, ContainerWriter, Metadata, PayloadKind, WriteOptions},
    keyring::{BackupFlags, Keyring, PasskeyEnrollment, SlotKind},
    Error,
};

const CREDENTIAL: &[u8] = b"credential-xyz";

fn prf() -> PrfOutput {
    PrfOutput::from_slice(&[7u8; 32]).unwrap()
}

fn keyring_with_passkey() -> Keyring {
    let mut keyring = Keyring::create().unwrap();
    keyring
        .add_passkey(
            PasskeyEnrollment {
                credential_id: CREDENTIAL.to_vec(),
                rp_id: "chat.example.com".into(),
                label: "phone".into(),
                provider_hint: Some([9u8; 16]),
                backup: Some(BackupFlags {
                    eligible: true,
                    state: true,
                }),
            },
            &prf(),
        )
        .unwrap();
    keyring
}

fn backup(keyring: &Keyring, kind: PayloadKind, level: i32, payload: &[u8]) -> Vec<u8> {
    let mut metadata = Metadata::new();
    metadata.insert("messages", "42").unwrap();
    metadata.insert("app_version", "1.2.3").unwrap();
    let options = WriteOptions {
        compression_level: level,
        ..WriteOptions::for_generation(0)
    };
    let mut writer = ContainerWriter::new(Vec::new(), keyring, kind, &metadata, &options).unwrap();
    writer.write_all(payload).unwrap();
    writer.finish().unwrap()
}

#[test]
fn inspect_needs_no_secret_and_shows_public_fields() {
    let keyring = keyring_with_passkey();
    let bytes = backup(&keyring, PayloadKind::SqliteSnapshot, 3, b"hello");
    let sealed = format::open(&bytes[..]).unwrap();
    let header = sealed.header();
    assert_eq!(header.version(), 2);
    assert_eq!(header.keyring_generation(), keyring.generation());
    assert_eq!(header.payload_kind(), PayloadKind::SqliteSnapshot);
    assert_eq!(header.compression(), Compression::Zstd);
    assert_eq!(header.keyring_id(), keyring.id());
    assert_eq!(header.prf_input(), keyring.prf_input());
    assert_eq!(header.metadata().get("messages"), Some("42"));
    assert_eq!(header.slots().len(), 1);
    match header.slots()[0].kind() {
        SlotKind::Passkey { rp_id, .. } => assert_eq!(rp_id, "chat.example.com"),
        other => panic!("unexpected slot {other:?}"),
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(header.created_at() <= now && header.created_at() + 600 > now);
}

#[test]
fn passkey_root_key_and_keyring_unlocks_give_the_payload() {
    let keyring = keyring_with_passkey();
    let payload: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let bytes = backup(&keyring, PayloadKind::ChatArchive, 3, &payload);
    assert!(bytes.len() < payload.len(), "zstd compressed the payload");

    let read_all = |opened: format::OpenedContainer<&[u8]>| {
        let mut out = Vec::new();
        opened
            .into_payload()
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    let by_passkey = format::open(&bytes[..])
        .unwrap()
        .unlock_with_passkey(CREDENTIAL, &prf())
        .unwrap();
    // The rebuilt keyring is the same keyring: same id, same slots, same root key.
    let rebuilt = by_passkey.keyring().unwrap();
    assert_eq!(rebuilt.id(), keyring.id());
    assert_eq!(rebuilt.slots(), keyring.slots());
    assert_eq!(rebuilt.to_public_bytes(), keyring.to_public_bytes());
    assert_eq!(read_all(by_passkey), payload);

    let by_root = format::open(&bytes[..])
        .unwrap()
        .unlock_with_root_key(keyring.root_key())
        .unwrap();
    assert_eq!(read_all(by_root), payload);
    let by_keyring = format::open(&bytes[..])
        .unwrap()
        .unlock_with_keyring(&keyring)
        .unwrap();
    assert_eq!(read_all(by_keyring), payload);
}

#[test]
fn another_keyrings_root_key_is_refused() {
    let keyring = keyring_with_passkey();
    let other = Keyring::create().unwrap();
    let bytes = backup(&keyring, PayloadKind::ChatArchive, 0, b"x");
    let err = format::open(&bytes[..])
        .unwrap()
        .unlock_with_keyring(&other)
        .err()
        .unwrap();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    let err = format::open(&bytes[..])
        .unwrap()
        .unlock_with_root_key(other.root_key())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
}

#[test]
fn bad_compression_levels_are_refused() {
    let keyring = keyring_with_passkey();
    for level in [-1, 20, 22] {
        let result = ContainerWriter::new(
            Vec::new(),
            &keyring,
            PayloadKind::ChatArchive,
            &Metadata::new(),
            &WriteOptions {
                compression_level: level,
                ..WriteOptions::for_generation(0)
            },
        );
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "level {level}"
        );
    }
}

#[test]
fn a_writer_dropped_without_finish_leaves_a_truncated_backup() {
    let keyring = keyring_with_passkey();
    let mut sink = Vec::new();
    {
        let mut writer = ContainerWriter::new(
            &mut sink,
            &keyring,
            PayloadKind::ChatArchive,
            &Metadata::new(),
            &WriteOptions {
                compression_level: 0,
                ..WriteOptions::for_generation(0)
            },
        )
        .unwrap();
        writer.write_all(&[1u8; 100_000]).unwrap();
    }
    let opened = format::open(&sink[..])
        .unwrap()
        .unlock_with_passkey(CREDENTIAL, &prf())
        .unwrap();
    let err = opened
        .into_payload()
        .unwrap()
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert!(matches!(Error::from(err), Error::Truncated { .. }));
}

#[test]
fn default_options_compress_with_zstd_level_3() {
    assert_eq!(WriteOptions::for_generation(0).compression_level, 3);
}
