//! Container test vectors: the generator, and the tests that replay the files in
//! `core/tests/vectors/container/` (format version 2 with version 3 slots, generated here),
//! `core/tests/vectors/container-slot-v2/` (format version 2 with version 2 slots, frozen) and
//! `core/tests/vectors/container-v1/` (format version 1, frozen): this build no longer writes the
//! frozen ones, but must still read them. Layout of the JSON files: each directory's README.md.
//!
//! Regenerate with `KEEPSAKE_REGENERATE_VECTORS=1 cargo test -p keepsake-core format::vectors`.
//! Without the variable the generator only runs in memory and must reproduce every stored file
//! byte for byte; independently, every stored vector is decoded from its JSON description alone
//! and must give the expected plaintext or the one expected error.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    crypto::{stream::CIPHERTEXT_SEGMENT_SIZE, PrfOutput, RootKey},
    format::{
        self, header::PREFIX_LEN, ContainerWriter, Header, Metadata, PayloadKind, WriteOptions,
    },
    keyring::{
        BackupFlags, FixedSlotInputs, Keyring, KeyringId, PasskeyEnrollment, RecoveryKey, SlotId,
        FIRST_GENERATION,
    },
    Error, Result,
};

mod rotation;

use rotation::rotation_vectors;

const REGENERATE_ENV: &str = "KEEPSAKE_REGENERATE_VECTORS";

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/container")
}

/// The frozen version 1 vectors, replayed only.
fn v1_vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/container-v1")
}

/// The frozen vectors with version 2 slots (unauthenticated seals), replayed only.
fn slot_v2_vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/container-slot-v2")
}

/// `[start, start + 1, ...]`, the shape of every fixed secret and salt here.
fn counting<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|i| start.wrapping_add(i as u8))
}

/// The fixed inputs of one vector keyring.
struct KeyringInputs {
    root: [u8; 32],
    id: [u8; 16],
    prf_input: [u8; 32],
    recovery_secret: [u8; 32],
    credential_id: Vec<u8>,
    prf_output: [u8; 32],
    /// First byte of the fixed slot ids, salts and nonces.
    seed: u8,
}

fn keyring_a() -> KeyringInputs {
    KeyringInputs {
        root: counting(0x00),
        id: counting(0xa0),
        prf_input: counting(0xb0),
        recovery_secret: counting(0xc0),
        credential_id: b"vector-credential-a".to_vec(),
        prf_output: counting(0xd0),
        seed: 0x10,
    }
}

fn keyring_b() -> KeyringInputs {
    KeyringInputs {
        root: counting(0x20),
        id: counting(0xa8),
        prf_input: counting(0xb8),
        recovery_secret: counting(0xc8),
        credential_id: b"vector-credential-b".to_vec(),
        prf_output: counting(0xd8),
        seed: 0x50,
    }
}

impl KeyringInputs {
    fn recovery_key(&self) -> RecoveryKey {
        RecoveryKey::from_secret(self.recovery_secret)
    }

    fn prf(&self) -> PrfOutput {
        PrfOutput::from_slice(&self.prf_output).expect("fixed PRF output is valid")
    }

    /// A keyring with a passkey slot and a recovery-key slot, byte-exact.
    fn fixed(&self, offset: u8) -> FixedSlotInputs {
        FixedSlotInputs {
            id: SlotId::from_bytes(counting(self.seed + offset)),
            created_at: 1_700_000_000 + u64::from(offset),
            salt: counting(self.seed + 0x20 + offset),
            nonce: counting(self.seed + 0x40 + offset),
            key_pair_ikm: counting(self.seed + 0x60 + offset),
            seal_ikm: counting(self.seed + 0x80 + offset),
        }
    }

    /// A keyring with a passkey slot and a recovery-key slot, byte-exact.
    fn build(&self) -> Keyring {
        let mut keyring = Keyring::from_unlocked(
            RootKey::from_bytes(self.root),
            KeyringId::from_bytes(self.id),
            self.prf_input,
            FIRST_GENERATION,
            Vec::new(),
        )
        .expect("empty keyring");
        let fixed = |offset: u8| self.fixed(offset);
        keyring
            .add_passkey_with(
                PasskeyEnrollment {
                    credential_id: self.credential_id.clone(),
                    rp_id: "chat.example.com".into(),
                    label: "Work phone passkey".into(),
                    provider_hint: Some(counting(0xe0)),
                    backup: Some(BackupFlags {
                        eligible: true,
                        state: true,
                    }),
                },
                &self.prf(),
                fixed(0),
            )
            .expect("passkey slot");
        keyring
            .add_recovery_key_with("recovery key", &self.recovery_key(), fixed(1))
            .expect("recovery slot");
        keyring
    }
}

const FILE_SALT_START: u8 = 0xf0;
const CREATED_AT: u64 = 1_764_000_000;

/// The metadata of every vector. Payload kind 01 (chat archive) headers carry the five
/// `keepsake.count.*` entries (docs/FORMAT.md §2.2); the vectors' payloads are container test
/// data, not archives, so the counts are 0 and only the container layer can open them.
fn vector_metadata() -> Metadata {
    let mut metadata = Metadata::new();
    metadata.insert("app", "keepsake-vectors").expect("fits");
    for kind in [
        "attachments",
        "conversations",
        "messages",
        "participants",
        "reactions",
    ] {
        metadata
            .insert(format!("keepsake.count.{kind}"), "0")
            .expect("fits");
    }
    metadata.insert("messages", "3").expect("fits");
    metadata
}

/// [`vector_metadata`] as the JSON object of a vector's inputs.
fn vector_metadata_json() -> Value {
    vector_metadata()
        .iter()
        .map(|(key, value)| (key.to_owned(), Value::from(value)))
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

/// Payloads are `unit` repeated and cut to `len`: easy to describe in JSON and to rebuild.
fn repeat(unit: &[u8], len: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(len).collect()
}

fn binary_unit() -> Vec<u8> {
    (0..=250u8).collect()
}

const TEXT_UNIT: &[u8] = b"Keepsake test vector: see you at the lake on Saturday!\n";

struct Positive {
    name: &'static str,
    description: &'static str,
    unit: Vec<u8>,
    len: usize,
    compression_level: i32,
}

fn positives() -> Vec<Positive> {
    let seg = crate::crypto::stream::SEGMENT_SIZE;
    let plain = |name, description, len| Positive {
        name,
        description,
        unit: binary_unit(),
        len,
        compression_level: 0,
    };
    vec![
        plain("empty", "empty payload: one empty last segment", 0),
        plain("one_byte", "1-byte payload", 1),
        plain(
            "one_segment",
            "exactly one full segment, which is the last",
            seg,
        ),
        plain(
            "one_segment_plus_one",
            "one full segment then a 1-byte last segment",
            seg + 1,
        ),
        plain(
            "several_segments",
            "two full segments then a 100-byte last segment",
            2 * seg + 100,
        ),
        Positive {
            name: "zstd_text",
            description: "200000 bytes of text, zstd level 3, then STREAM",
            unit: TEXT_UNIT.to_vec(),
            len: 200_000,
            compression_level: 3,
        },
    ]
}

fn seal(keyring: &Keyring, payload: &[u8], level: i32) -> Vec<u8> {
    let options = WriteOptions {
        compression_level: level,
        ..WriteOptions::for_generation(0)
    };
    let mut writer = ContainerWriter::with_fixed_inputs(
        Vec::new(),
        keyring,
        PayloadKind::ChatArchive,
        &vector_metadata(),
        &options,
        counting(FILE_SALT_START),
        CREATED_AT,
    )
    .expect("writer");
    writer.write_all(payload).expect("payload");
    writer.finish().expect("finish")
}

/// How a vector is unlocked, as JSON.
fn unlock_recovery(key: &str) -> Value {
    json!({ "recovery_key": key })
}

fn unlock_passkey(credential_id: &[u8], prf: &[u8]) -> Value {
    json!({ "passkey": { "credential_id": hex::encode(credential_id), "prf_output": hex::encode(prf) } })
}

/// One generated file with its content.
struct Generated {
    path: String,
    bytes: Vec<u8>,
}

fn json_file(name: &str, value: &Value) -> Generated {
    let mut text = serde_json::to_string_pretty(value).expect("json");
    text.push('\n');
    Generated {
        path: format!("{name}.json"),
        bytes: text.into_bytes(),
    }
}

/// Offsets of the header fields in the vector headers (both keyrings have the same layout).
struct Layout {
    header_len: usize,
    /// Start of the slots table (after the slot count).
    slots_start: usize,
    /// Offset of the recovery slot's label (second slot).
    recovery_label: usize,
    /// Offset of the passkey slot's backup flags byte (first slot).
    backup_flags: usize,
    metadata_value: usize,
}

fn layout(container: &[u8], keyring: &Keyring) -> Layout {
    let header_len = u32::from_be_bytes(container[10..14].try_into().expect("4 bytes")) as usize;
    let slots_start = 120;
    let first_slot_len = keyring.slots()[0].to_bytes().len();
    // Second slot: u16 length, then version, kind, id (16), created (8), salt (32), label len (2).
    let recovery_label = slots_start + 2 + first_slot_len + 2 + 1 + 1 + 16 + 8 + 32 + 2;
    // Metadata ends with `1 "messages" 2 "3"` before the MAC: the value "3" is its last byte.
    let metadata_value = header_len - 32 - 1;
    // First slot: u16 length, then the passkey public fields up to the flags byte, which is
    // followed by the public key (32), the sealed private key and authentication secret (92)
    // and the sealed root (80).
    let backup_flags = slots_start + 2 + first_slot_len - 32 - 92 - 80 - 1;
    Layout {
        header_len,
        slots_start,
        recovery_label,
        backup_flags,
        metadata_value,
    }
}

fn flip(bytes: &[u8], offset: usize, mask: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset] ^= mask;
    out
}

/// A negative vector: name, description, container bytes, unlock method, expected error
/// variant, and a substring of the expected message.
type NegativeRow = (
    &'static str,
    &'static str,
    Vec<u8>,
    Value,
    &'static str,
    &'static str,
);

/// Every vector file, in memory.
fn generate() -> Vec<Generated> {
    let a = keyring_a();
    let b = keyring_b();
    let keyring = a.build();
    let other = b.build();
    let recovery = a.recovery_key().to_string();
    let mut files = Vec::new();
    let mut containers = BTreeMap::new();

    for vector in positives() {
        let by_root = json!({ "root_key": hex::encode(a.root) });
        let payload = repeat(&vector.unit, vector.len);
        let container = seal(&keyring, &payload, vector.compression_level);
        files.push(json_file(
            vector.name,
            &json!({
                "name": vector.name,
                "description": vector.description,
                "container_file": format!("{}.bin", vector.name),
                "inputs": {
                    "root_key": hex::encode(a.root),
                    "keyring_public": hex::encode(keyring.to_public_bytes()),
                    "file_salt": hex::encode(counting::<32>(FILE_SALT_START)),
                    "created_at": CREATED_AT,
                    "payload_kind": PayloadKind::ChatArchive.id(),
                    "compression_level": vector.compression_level,
                    "metadata": vector_metadata_json(),
                },
                "payload": {
                    "repeat_hex": hex::encode(&vector.unit),
                    "len": vector.len,
                    "sha256": hex::encode(Sha256::digest(&payload)),
                },
                "unlock": [
                    unlock_recovery(&recovery),
                    unlock_passkey(&a.credential_id, &a.prf_output),
                    by_root,
                ],
                "expect": { "ok": true },
            }),
        ));
        files.push(Generated {
            path: format!("{}.bin", vector.name),
            bytes: container.clone(),
        });
        containers.insert(vector.name, container);
    }

    let small = &containers["one_byte"];
    let several = &containers["several_segments"];
    let one_segment = &containers["one_segment"];
    let at = layout(small, &keyring);
    let seg = CIPHERTEXT_SEGMENT_SIZE;
    let several_header = layout(several, &keyring).header_len;
    let segment = |i: usize| &several[several_header + i * seg..several_header + (i + 1) * seg];
    let tail = &several[several_header + 2 * seg..];
    let head = &several[..several_header];

    let slot_from_b = Header {
        version: format::FORMAT_VERSION,
        generation: keyring.generation(),
        payload_kind: PayloadKind::ChatArchive,
        compression: format::Compression::None,
        file_salt: counting(FILE_SALT_START),
        keyring_id: *keyring.id(),
        prf_input: *keyring.prf_input(),
        created_at: CREATED_AT,
        slots: vec![keyring.slots()[0].clone(), other.slots()[1].clone()],
        metadata: vector_metadata(),
    };
    let copied_slot = {
        let mut writer =
            ContainerWriter::with_header(Vec::new(), &keyring, &slot_from_b, 0).expect("writer");
        writer.write_all(&[0]).expect("payload");
        writer.finish().expect("finish")
    };

    let typo = {
        let mut chars: Vec<char> = recovery.chars().collect();
        let (first, second) = (chars[0], chars[1]);
        assert_ne!(
            first, second,
            "fixed key starts with two distinct characters"
        );
        chars.swap(0, 1);
        chars.into_iter().collect::<String>()
    };
    let with_u16 = |offset: usize, value: u16| {
        let mut out = small.clone();
        out[offset..offset + 2].copy_from_slice(&value.to_be_bytes());
        out
    };
    let trailing_in_header = {
        let mut out = small.clone();
        out.insert(at.header_len - 32, 0);
        let len = (at.header_len + 1) as u32;
        out[10..14].copy_from_slice(&len.to_be_bytes());
        out
    };

    let by_recovery = unlock_recovery(&recovery);
    #[rustfmt::skip]
    let mut negatives: Vec<NegativeRow> = vec![
        ("truncated_at_segment_boundary", "several_segments cut after segment 0", [head, segment(0)].concat(), by_recovery.clone(), "Truncated", "after segment 0"),
        ("last_segment_removed", "several_segments without its last segment", [head, segment(0), segment(1)].concat(), by_recovery.clone(), "Truncated", "after segment 1"),
        ("truncated_mid_segment", "several_segments cut 1000 bytes into segment 1", several[..several_header + seg + 1000].to_vec(), by_recovery.clone(), "Truncated", "segment 1"),
        ("segments_swapped", "several_segments with segments 0 and 1 swapped", [head, segment(1), segment(0), tail].concat(), by_recovery.clone(), "Corrupted", "segment 0"),
        ("segment_duplicated", "several_segments with segment 0 repeated", [head, segment(0), segment(0), segment(1), tail].concat(), by_recovery.clone(), "Corrupted", "segment 1"),
        ("data_appended", "one_segment (full last segment) with one byte appended", [one_segment.as_slice(), &[0]].concat(), by_recovery.clone(), "Corrupted", "after the last segment"),
        ("flipped_tag_bit", "several_segments with bit 0 of segment 0's tag flipped", flip(several, several_header + seg - 1, 0x01), by_recovery.clone(), "Corrupted", "segment 0"),
        ("flipped_payload_bit", "several_segments with a ciphertext bit of segment 1 flipped", flip(several, several_header + seg + 5, 0x10), by_recovery.clone(), "Corrupted", "segment 1"),
        ("flip_magic", "one_byte with a bit of the magic flipped", flip(small, 1, 0x01), by_recovery.clone(), "Corrupted", "not a Keepsake backup"),
        ("flip_version", "one_byte with the version's low bit flipped (version 0)", flip(small, 9, 0x01), by_recovery.clone(), "UnsupportedVersion", "format version"),
        ("flip_header_length", "one_byte with the top bit of the header length set", flip(small, 10, 0x80), by_recovery.clone(), "LimitExceeded", "header length"),
        ("flip_payload_kind", "one_byte with payload kind 1 -> 3", flip(small, 14, 0x02), by_recovery.clone(), "UnsupportedVersion", "payload kind"),
        ("flip_aead_id", "one_byte with AEAD id 1 -> 3", flip(small, 15, 0x02), by_recovery.clone(), "UnsupportedVersion", "AEAD"),
        ("flip_kdf_id", "one_byte with KDF id 1 -> 0", flip(small, 16, 0x01), by_recovery.clone(), "UnsupportedVersion", "KDF"),
        ("flip_compression_id", "one_byte with compression 0 -> 2", flip(small, 17, 0x02), by_recovery.clone(), "UnsupportedVersion", "compression"),
        ("flip_segment_size", "one_byte with segment size 65536 -> 65537", flip(small, 21, 0x01), by_recovery.clone(), "UnsupportedVersion", "segment size"),
        ("flip_file_salt", "one_byte with a bit of the file salt flipped", flip(small, 22, 0x01), by_recovery.clone(), "Corrupted", "header: MAC"),
        ("flip_keyring_id", "one_byte with a bit of the keyring id flipped (bound into slot AAD)", flip(small, 54, 0x01), by_recovery.clone(), "WrongKey", ""),
        ("flip_prf_input", "one_byte with a bit of the PRF input flipped", flip(small, 70, 0x01), by_recovery.clone(), "Corrupted", "header: MAC"),
        ("flip_generation", "one_byte with a bit of the keyring generation flipped (bound into every slot's HPKE AAD): the recovery key opens its slot's private part, the seal then fails", flip(small, 109, 0x01), by_recovery.clone(), "Corrupted", "root-key seal"),
        ("flip_created_at", "one_byte with a bit of the creation time flipped", flip(small, 117, 0x01), by_recovery.clone(), "Corrupted", "header: MAC"),
        ("flip_slot_count", "one_byte with slot count 2 -> 3: the third slot is read from the metadata bytes (length 7, then 03 = encoding version 3, then 'a', not a slot kind)", flip(small, 119, 0x01), by_recovery.clone(), "UnsupportedVersion", "slot kind"),
        ("flip_backup_flags", "one_byte with the passkey slot's backup flags 0x07 -> 0x05 (BS without BE)", flip(small, at.backup_flags, 0x02), by_recovery.clone(), "Corrupted", "backup flags"),
        ("flip_slot_label", "one_byte with a bit of the recovery slot's label flipped (bound into slot AAD)", flip(small, at.recovery_label, 0x01), by_recovery.clone(), "WrongKey", ""),
        ("flip_metadata", "one_byte with a bit of a metadata value flipped", flip(small, at.metadata_value, 0x01), by_recovery.clone(), "Corrupted", "header: MAC"),
        ("flip_header_mac", "one_byte with a bit of the header MAC flipped", flip(small, at.header_len - 1, 0x01), by_recovery.clone(), "Corrupted", "header: MAC"),
        ("wrong_recovery_key", "one_byte unlocked with another keyring's recovery key", small.clone(), unlock_recovery(&b.recovery_key().to_string()), "WrongKey", ""),
        ("recovery_key_typo", "one_byte unlocked with the right recovery key, first two characters swapped", small.clone(), unlock_recovery(&typo), "RecoveryKeyTypo", ""),
        ("wrong_prf_output", "one_byte unlocked with the right credential id and a wrong PRF output", small.clone(), unlock_passkey(&a.credential_id, &b.prf_output), "WrongKey", ""),
        ("unknown_credential", "one_byte unlocked with a credential id that has no slot", small.clone(), unlock_passkey(&b.credential_id, &b.prf_output), "NoMatchingSlot", ""),
        ("slot_from_other_keyring", "a header (valid MAC) carrying keyring B's recovery slot, unlocked with B's recovery key", copied_slot, unlock_recovery(&b.recovery_key().to_string()), "WrongKey", ""),
        ("unsupported_version", "one_byte declaring format version 3", with_u16(8, 3), by_recovery.clone(), "UnsupportedVersion", "format version"),
        ("oversized_slot_count", "one_byte declaring 256 slots", with_u16(118, 256), by_recovery.clone(), "LimitExceeded", "slot count"),
        ("header_shorter_than_declared", "one_byte cut to 100 bytes, inside its header", small[..100].to_vec(), by_recovery.clone(), "Truncated", "header"),
        ("trailing_bytes_in_header", "one_byte with a zero byte inserted before the MAC and the header length raised by one", trailing_in_header, by_recovery.clone(), "Corrupted", "before the header MAC"),
        ("not_a_backup", "a text file", b"Hello, this is not a backup.\n".to_vec(), by_recovery.clone(), "Corrupted", "not a Keepsake backup"),
        ("empty_file", "zero bytes", Vec::new(), by_recovery, "Truncated", "header prefix"),
    ];
    assert_eq!(at.slots_start, PREFIX_LEN + 96 + 8 + 2);
    negatives.extend(forged_seal_vectors(small, &a));
    negatives.extend(rotation_vectors(&mut files));
    for (name, description, bytes, unlock, error, what) in negatives {
        files.push(json_file(
            &format!("negative_{name}"),
            &json!({
                "name": name,
                "description": description,
                "container_file": format!("negative_{name}.bin"),
                "unlock": [unlock],
                "expect": { "error": error, "what_contains": what },
            }),
        ));
        files.push(Generated {
            path: format!("negative_{name}.bin"),
            bytes,
        });
    }
    files
}

/// The store's forgery (issue 18): `genuine`'s public header with every slot's sealed root key
/// replaced by an HPKE base-mode seal of the store's own root key (`e0 .. ff`) to the slot's
/// public key, with the documented AAD, and the header MAC and payload under that root key.
/// The user's recovery key and passkey open their slots' private parts; the seals then fail.
fn forged_seal_vectors(genuine: &[u8], a: &KeyringInputs) -> Vec<NegativeRow> {
    use crate::crypto::seal::{seal_root_key, SealMode};
    let header = format::open(genuine).expect("header").header().clone();
    let forged_root = RootKey::from_bytes(counting(0xe0));
    let slots = header
        .slots()
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let sealed = seal_root_key(
                slot.public_key().expect("v3 slot"),
                &forged_root,
                &slot.root_seal_aad(header.keyring_id(), header.keyring_generation()),
                &SealMode::Base,
                counting(0x01 + i as u8),
            )
            .expect("seal");
            let mut bytes = slot.to_bytes();
            let start = bytes.len() - sealed.as_bytes().len();
            bytes[start..].copy_from_slice(sealed.as_bytes());
            crate::keyring::Slot::decode(&bytes).expect("slot")
        })
        .collect();
    let forged_keyring = Keyring::from_unlocked(
        forged_root,
        *header.keyring_id(),
        *header.prf_input(),
        header.keyring_generation(),
        slots,
    )
    .expect("keyring");
    let mut forged_header = header.clone();
    forged_header.slots = forged_keyring.slots().to_vec();
    let forged = {
        let mut writer =
            ContainerWriter::with_header(Vec::new(), &forged_keyring, &forged_header, 0)
                .expect("writer");
        writer.write_all(b"written by the store").expect("payload");
        writer.finish().expect("finish")
    };
    #[rustfmt::skip]
    let rows: Vec<NegativeRow> = vec![
        ("forged_root_seal_recovery_key", "one_byte's public header with every slot's root key replaced by the store's own (e0 .. ff), sealed in HPKE base mode to the slot's public key; header MAC and payload under it. Unlocked with the genuine recovery key", forged.clone(), unlock_recovery(&a.recovery_key().to_string()), "Corrupted", "root-key seal"),
        ("forged_root_seal_passkey", "the same forgery unlocked with the genuine passkey", forged, unlock_passkey(&a.credential_id, &a.prf_output), "Corrupted", "root-key seal"),
    ];
    rows
}

/// The variant name of an error, as the vectors spell it.
fn error_name(err: &Error) -> &'static str {
    match err {
        Error::WrongKey => "WrongKey",
        Error::WrongPassword => "WrongPassword",
        Error::RecoveryKeyTypo { .. } => "RecoveryKeyTypo",
        Error::NoMatchingSlot => "NoMatchingSlot",
        Error::Corrupted { .. } => "Corrupted",
        Error::Truncated { .. } => "Truncated",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::LimitExceeded { .. } => "LimitExceeded",
        Error::BadPrfOutput { .. } => "BadPrfOutput",
        _ => "other",
    }
}

fn hex_field(value: &Value, key: &str) -> Vec<u8> {
    hex::decode(value[key].as_str().unwrap_or_default()).expect("hex field")
}

/// Opens `container` as `unlock` says and reads the whole payload; returns what was released
/// before any error, and the outcome.
fn replay_unlock(container: &[u8], unlock: &Value) -> (Vec<u8>, Result<()>) {
    let mut released = Vec::new();
    let result = (|| {
        let sealed = format::open(container)?;
        let opened = if let Some(key) = unlock["recovery_key"].as_str() {
            sealed.unlock_with_recovery_key(&RecoveryKey::parse(key)?)?
        } else if let Some(password) = unlock["password"].as_str() {
            sealed.unlock_with_password(password)?
        } else if unlock["passkey"].is_object() {
            let passkey = &unlock["passkey"];
            let prf = PrfOutput::from_slice(&hex_field(passkey, "prf_output"))?;
            sealed.unlock_with_passkey(&hex_field(passkey, "credential_id"), &prf)?
        } else {
            let root: [u8; 32] = hex_field(unlock, "root_key").try_into().expect("32 bytes");
            sealed.unlock_with_root_key(&RootKey::from_bytes(root))?
        };
        opened.into_payload()?.read_to_end(&mut released)?;
        Ok(())
    })();
    (released, result)
}

fn stored_vectors(dir: &Path) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .expect("vector directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read vector");
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            (name, serde_json::from_str(&text).expect("vector JSON"))
        })
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

#[test]
fn generator_reproduces_the_stored_files() {
    let files = generate();
    if std::env::var_os(REGENERATE_ENV).is_some() {
        std::fs::create_dir_all(vector_dir()).expect("create dir");
        for file in &files {
            std::fs::write(vector_dir().join(&file.path), &file.bytes).expect("write vector");
        }
    }
    for file in &files {
        let stored = std::fs::read(vector_dir().join(&file.path)).unwrap_or_else(|err| {
            panic!("{}: {err}; regenerate with {REGENERATE_ENV}=1", file.path)
        });
        assert!(
            stored == file.bytes,
            "{} differs from the generator's output",
            file.path
        );
    }
    let stored_count = std::fs::read_dir(vector_dir())
        .expect("dir")
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "json" || x == "bin")
            })
        })
        .count();
    assert_eq!(
        stored_count,
        files.len(),
        "stale vector files in the directory"
    );
}

#[test]
fn positive_vectors_decode_and_re_encode_exactly() {
    let (v2, v1) = (vector_dir(), v1_vector_dir());
    assert_eq!(
        check_positive_vectors(&v2, true),
        9,
        "version 2 positive vectors"
    );
    assert_eq!(
        check_positive_vectors(&slot_v2_vector_dir(), false),
        8,
        "version 2 positive vectors with version 2 slots"
    );
    assert_eq!(
        check_positive_vectors(&v1, false),
        6,
        "version 1 positive vectors"
    );
}

/// Replays the positive vectors of `dir`; with `re_encode`, also writes each again from its
/// JSON inputs (version 1 vectors cannot be: this build writes version 2). Returns their count.
fn check_positive_vectors(dir: &Path, re_encode: bool) -> usize {
    let mut seen = 0;
    for (name, vector) in stored_vectors(dir) {
        if vector["expect"]["ok"] != json!(true) {
            continue;
        }
        seen += 1;
        let container = std::fs::read(dir.join(vector["container_file"].as_str().expect("file")))
            .expect("container");
        let payload_rule = &vector["payload"];
        let len = payload_rule["len"].as_u64().expect("len") as usize;
        let expected = repeat(&hex_field(payload_rule, "repeat_hex"), len);
        assert_eq!(
            hex::encode(Sha256::digest(&expected)),
            payload_rule["sha256"],
            "{name}"
        );
        for unlock in vector["unlock"].as_array().expect("unlocks") {
            let (payload, result) = replay_unlock(&container, unlock);
            result.unwrap_or_else(|err| panic!("{name} with {unlock}: {err}"));
            assert!(payload == expected, "{name}: payload differs");
        }

        // The header decodes to a value that encodes back to the same bytes.
        let sealed = format::open(container.as_slice()).expect("header");
        let header_len = u32::from_be_bytes(container[10..14].try_into().expect("4")) as usize;
        assert!(
            sealed.header().encode_unauthenticated().expect("encode")
                == container[..header_len - 32],
            "{name}: header re-encoding differs"
        );
        if !re_encode {
            continue;
        }
        // Re-encode from the JSON inputs alone.
        let inputs = &vector["inputs"];
        let root: [u8; 32] = hex_field(inputs, "root_key").try_into().expect("32 bytes");
        let keyring = Keyring::from_parts(
            RootKey::from_bytes(root),
            &hex_field(inputs, "keyring_public"),
        )
        .expect("keyring");
        let mut metadata = Metadata::new();
        for (key, value) in inputs["metadata"].as_object().expect("metadata") {
            metadata
                .insert(key.as_str(), value.as_str().expect("string"))
                .expect("fits");
        }
        let options = WriteOptions {
            compression_level: inputs["compression_level"].as_i64().expect("level") as i32,
            ..WriteOptions::for_generation(0)
        };
        assert_eq!(inputs["payload_kind"], 1);
        let salt: [u8; 32] = hex_field(inputs, "file_salt").try_into().expect("32 bytes");
        let mut writer = ContainerWriter::with_fixed_inputs(
            Vec::new(),
            &keyring,
            PayloadKind::ChatArchive,
            &metadata,
            &options,
            salt,
            inputs["created_at"].as_u64().expect("time"),
        )
        .expect("writer");
        writer.write_all(&expected).expect("payload");
        assert!(
            writer.finish().expect("finish") == container,
            "{name}: re-encoding differs"
        );
    }
    seen
}

#[test]
fn negative_vectors_fail_with_their_error() {
    assert!(check_negative_vectors(&vector_dir()) >= 40);
    assert!(check_negative_vectors(&slot_v2_vector_dir()) >= 40);
    assert!(check_negative_vectors(&v1_vector_dir()) >= 30);
}

/// Replays the negative vectors of `dir`; returns their count.
fn check_negative_vectors(dir: &Path) -> usize {
    let mut seen = 0;
    for (name, vector) in stored_vectors(dir) {
        let Some(expected) = vector["expect"]["error"].as_str() else {
            continue;
        };
        seen += 1;
        let container = std::fs::read(dir.join(vector["container_file"].as_str().expect("file")))
            .expect("container");
        let unlock = &vector["unlock"][0];
        let (released, result) = replay_unlock(&container, unlock);
        let err = match result {
            Ok(()) => panic!("{name}: decoded without error"),
            Err(err) => err,
        };
        assert_eq!(error_name(&err), expected, "{name}: got {err}");
        let what = vector["expect"]["what_contains"]
            .as_str()
            .unwrap_or_default();
        assert!(
            err.to_string().contains(what),
            "{name}: {err:?} lacks {what:?}"
        );
        // Whatever was released is authentic: a prefix of the original payload.
        let original = repeat(&binary_unit(), released.len());
        assert!(
            released == original,
            "{name}: released bytes that are not the payload's"
        );
    }
    seen
}
