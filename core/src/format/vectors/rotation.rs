//! Format-2 vectors of keyring C: a password slot, then two revocations (rotations), and the
//! negative vectors a revoked secret must fail.

use std::io::Write;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{
    binary_unit, counting, flip, json_file, repeat, seal, unlock_passkey, unlock_recovery,
    vector_metadata_json, Generated, KeyringInputs, NegativeRow, CREATED_AT, FILE_SALT_START,
};
use crate::{
    crypto::{password::PasswordParams, RootKey},
    format::{self, header::PREFIX_LEN, ContainerWriter, PayloadKind},
    keyring::Keyring,
};

/// Keyring C: a passkey, a recovery key and a password slot, then two revocations.
fn keyring_c() -> KeyringInputs {
    KeyringInputs {
        root: counting(0x40),
        id: counting(0x90),
        prf_input: counting(0x98),
        recovery_secret: counting(0xe8),
        credential_id: b"vector-credential-c".to_vec(),
        prf_output: counting(0x70),
        seed: 0x30,
    }
}

const PASSWORD: &str = "correct horse battery staple";
/// A password whose accents are single code points (NFC)...
const PASSWORD_COMPOSED: &str = "cr\u{e8}me br\u{fb}l\u{e9}e au caf\u{e9}";
/// ...and the same password as some keyboards and pasted text give it (NFD).
const PASSWORD_DECOMPOSED: &str = "cre\u{300}me bru\u{302}le\u{301}e au cafe\u{301}";

/// Argon2id costs of the vector password slot: tiny, so the vectors replay fast. Real slots
/// use `PasswordParams::DEFAULT`.
const VECTOR_PASSWORD_PARAMS: PasswordParams = PasswordParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn unlock_password(password: &str) -> Value {
    json!({ "password": password })
}

/// A positive vector file pair for `keyring` (whose root key is `root`).
fn positive_files(
    name: &str,
    description: &str,
    keyring: &Keyring,
    payload: &[u8],
    unlock: Vec<Value>,
) -> [Generated; 2] {
    let container = seal(keyring, payload, 0);
    [
        json_file(
            name,
            &json!({
                "name": name,
                "description": description,
                "container_file": format!("{name}.bin"),
                "inputs": {
                    "root_key": hex::encode(keyring.root_key().expose_secret()),
                    "keyring_public": hex::encode(keyring.to_public_bytes()),
                    "file_salt": hex::encode(counting::<32>(FILE_SALT_START)),
                    "created_at": CREATED_AT,
                    "payload_kind": PayloadKind::ChatArchive.id(),
                    "compression_level": 0,
                    "metadata": vector_metadata_json(),
                },
                "payload": {
                    "repeat_hex": hex::encode(binary_unit()),
                    "len": payload.len(),
                    "sha256": hex::encode(Sha256::digest(payload)),
                },
                "unlock": unlock,
                "expect": { "ok": true },
            }),
        ),
        Generated {
            path: format!("{name}.bin"),
            bytes: container,
        },
    ]
}

/// The password-slot and rotation vectors (keyring C); returns the negative rows.
pub(super) fn rotation_vectors(files: &mut Vec<Generated>) -> Vec<NegativeRow> {
    let c = keyring_c();
    let mut keyring = c.build();
    keyring
        .add_password_with("password", PASSWORD, VECTOR_PASSWORD_PARAMS, c.fixed(2))
        .expect("password slot");
    let recovery = c.recovery_key().to_string();
    let payload = repeat(&binary_unit(), 1000);

    // A password typed with a decomposed accent ("e" + U+0301) opens the slot made from the
    // composed one (U+00E9), and the other way round: NFC before Argon2id.
    let mut accented = c.build();
    accented
        .add_password_with(
            "password",
            PASSWORD_COMPOSED,
            VECTOR_PASSWORD_PARAMS,
            c.fixed(3),
        )
        .expect("password slot");
    files.extend(positive_files(
        "password_nfc",
        "keyring C with a password slot made from a composed password (U+00E9), unlocked with it and with its decomposed form (U+0065 U+0301)",
        &accented,
        &payload,
        vec![
            unlock_password(PASSWORD_COMPOSED),
            unlock_password(PASSWORD_DECOMPOSED),
        ],
    ));
    let by_root = json!({ "root_key": hex::encode(keyring.root_key().expose_secret()) });
    files.extend(positive_files(
        "password_slot",
        "keyring C (passkey, recovery key, password slots), generation 1, 1000-byte payload",
        &keyring,
        &payload,
        vec![
            unlock_password(PASSWORD),
            unlock_recovery(&recovery),
            unlock_passkey(&c.credential_id, &c.prf_output),
            by_root,
        ],
    ));

    // Revoke the passkey (generation 2), then the recovery key (generation 3).
    let passkey_slot = keyring.slots()[0].clone();
    let recovery_id = *keyring.slots()[1].id();
    keyring
        .remove_slot_with(
            passkey_slot.id(),
            false,
            RootKey::from_bytes(counting(0x48)),
            &[counting(0x01), counting(0x02)],
        )
        .expect("revoke the passkey");
    keyring
        .remove_slot_with(
            &recovery_id,
            false,
            RootKey::from_bytes(counting(0x50)),
            &[counting(0x03)],
        )
        .expect("revoke the recovery key");
    assert_eq!(keyring.generation(), 3);
    let by_new_root = json!({ "root_key": hex::encode(keyring.root_key().expose_secret()) });
    let [json, bin] = positive_files(
        "rotated",
        "keyring C after revoking the passkey (new root key 48 .. 67, generation 2) and the recovery key (new root key 50 .. 6f, generation 3): only the password slot remains",
        &keyring,
        &payload,
        vec![unlock_password(PASSWORD), by_new_root],
    );
    let rotated = bin.bytes.clone();
    files.extend([json, bin]);

    // The revoked passkey's old slot spliced into the rotated header (a valid MAC under the new
    // root key): it still opens only the generation-1 root key, so the new header rejects it.
    let mut header = format::open(rotated.as_slice())
        .expect("header")
        .header()
        .clone();
    header.slots.insert(0, passkey_slot);
    let spliced = {
        let mut writer =
            ContainerWriter::with_header(Vec::new(), &keyring, &header, 0).expect("writer");
        writer.write_all(&payload).expect("payload");
        writer.finish().expect("finish")
    };
    let generation_at = PREFIX_LEN + 4 + 4 + 32 + 16 + 32 + 7;
    #[rustfmt::skip]
    let rows: Vec<NegativeRow> = vec![
        ("revoked_recovery_key", "rotated, unlocked with the revoked recovery key", rotated.clone(), unlock_recovery(&recovery), "WrongKey", ""),
        ("revoked_passkey", "rotated, unlocked with the revoked passkey: its slot is gone", rotated.clone(), unlock_passkey(&c.credential_id, &c.prf_output), "NoMatchingSlot", ""),
        ("revoked_passkey_slot_spliced", "rotated with the revoked passkey's generation-1 slot put back into the header (valid MAC), unlocked with that passkey: its private part opens, its seal (generation 1) does not", spliced, unlock_passkey(&c.credential_id, &c.prf_output), "Corrupted", "root-key seal"),
        ("rotated_generation_lowered", "rotated with the generation's low bit flipped (3 -> 2): the password opens its slot's private part, the seal (generation 3) does not", flip(&rotated, generation_at, 0x01), unlock_password(PASSWORD), "Corrupted", "root-key seal"),
        ("wrong_password", "password_slot unlocked with a wrong password", files.iter().find(|f| f.path == "password_slot.bin").map(|f| f.bytes.clone()).unwrap_or_default(), unlock_password("correct horse battery stapler"), "WrongPassword", ""),
    ];
    rows
}
