//! Replays the keyring test vectors in `tests/vectors/keyring/`, written by an independent Python
//! implementation of the documented layouts (`generate.py` there).

// Helpers outside `#[test]` functions: a malformed vector file should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::{fs, path::PathBuf};

use keepsake_core::{
    crypto::{kdf, PrfOutput, RootKey},
    keyring::{
        unwrap_with_passkey, unwrap_with_recovery_key, FixedSlotInputs, Keyring, KeyringId,
        PasskeyEnrollment, RecoveryKey, Slot, SlotId,
    },
    Error,
};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "vectors",
        "keyring",
        name,
    ]
    .iter()
    .collect();
    serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

fn array<const N: usize>(value: &Value) -> [u8; N] {
    bytes(value).try_into().unwrap()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

fn fixed_inputs(slot: &Value) -> FixedSlotInputs {
    FixedSlotInputs {
        id: SlotId::from_bytes(array(&slot["slot_id"])),
        created_at: slot["created_at"].as_u64().unwrap(),
        salt: array(&slot["salt"]),
        nonce: array(&slot["nonce"]),
    }
}

fn error_name(error: &Error) -> &'static str {
    match error {
        Error::WrongKey => "WrongKey",
        Error::NoMatchingSlot => "NoMatchingSlot",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::LimitExceeded { .. } => "LimitExceeded",
        Error::Truncated { .. } => "Truncated",
        Error::Corrupted { .. } => "Corrupted",
        Error::RecoveryKeyTypo { .. } => "RecoveryKeyTypo",
        _ => "other",
    }
}

#[test]
fn keyring_vectors_build_byte_exact_slots_and_public_keyring() {
    let vectors = load("keyring.json");
    let root = RootKey::from_bytes(array(&vectors["root_key"]));
    let id = KeyringId::from_bytes(array(&vectors["keyring_id"]));
    let mut keyring =
        Keyring::from_unlocked(root.clone(), id, array(&vectors["prf_input"]), Vec::new()).unwrap();

    let slot_vectors = vectors["slots"].as_array().unwrap();
    assert_eq!(slot_vectors.len(), 3);
    for vector in slot_vectors {
        let salt = array(&vector["salt"]);
        let slot_id = if vector["kind"] == "passkey" {
            let prf = PrfOutput::from_slice(&bytes(&vector["prf_output"])).unwrap();
            let credential_id = bytes(&vector["credential_id"]);
            let kek = kdf::passkey_kek(&prf, &salt, &credential_id).unwrap();
            assert_eq!(kek.expose_secret().to_vec(), bytes(&vector["kek"]));
            let enrollment = PasskeyEnrollment {
                credential_id,
                rp_id: text(&vector["rp_id"]).into(),
                label: text(&vector["label"]).into(),
                provider_hint: vector["provider_hint"]
                    .as_str()
                    .map(|_| array(&vector["provider_hint"])),
            };
            keyring
                .add_passkey_with(enrollment, &prf, fixed_inputs(vector))
                .unwrap()
        } else {
            // The recovery key's text carries this secret: the wrapped key below only matches if
            // parsing recovered it exactly.
            let kek = kdf::recovery_kek(&array(&vector["secret"]), &salt).unwrap();
            assert_eq!(kek.expose_secret().to_vec(), bytes(&vector["kek"]));
            let key = RecoveryKey::parse(text(&vector["recovery_key"])).unwrap();
            keyring
                .add_recovery_key_with(text(&vector["label"]), &key, fixed_inputs(vector))
                .unwrap()
        };
        let slot = keyring.slots().iter().find(|s| s.id() == &slot_id).unwrap();
        assert_eq!(
            slot.aad(&id),
            bytes(&vector["aad"]),
            "AAD of {}",
            vector["kind"]
        );
        assert_eq!(
            slot.wrapped_key().as_bytes().to_vec(),
            bytes(&vector["wrapped_key"])
        );
        assert_eq!(slot.to_bytes(), bytes(&vector["encoding"]));
        assert_eq!(&Slot::decode(&bytes(&vector["encoding"])).unwrap(), slot);
    }

    let public = bytes(&vectors["public_keyring"]);
    assert_eq!(keyring.to_public_bytes(), public);
    let rebuilt = Keyring::from_parts(root.clone(), &public).unwrap();
    assert_eq!(rebuilt.slots(), keyring.slots());

    // Every slot opens to the vector root key.
    for vector in slot_vectors {
        let opened = if vector["kind"] == "passkey" {
            let prf = PrfOutput::from_slice(&bytes(&vector["prf_output"])).unwrap();
            unwrap_with_passkey(&id, keyring.slots(), &bytes(&vector["credential_id"]), &prf)
        } else {
            let key = RecoveryKey::parse(text(&vector["recovery_key"])).unwrap();
            unwrap_with_recovery_key(&id, keyring.slots(), &key)
        };
        assert_eq!(opened.unwrap(), root);
    }
}

#[test]
fn derivation_vectors() {
    let vectors = load("derivations.json");
    for vector in vectors["file_keys"].as_array().unwrap() {
        let root = RootKey::from_bytes(array(&vector["root_key"]));
        let (payload, header_mac) =
            kdf::derive_file_keys(&root, &array(&vector["file_salt"])).unwrap();
        assert_eq!(
            payload.expose_secret().to_vec(),
            bytes(&vector["payload_key"])
        );
        assert_eq!(
            header_mac.expose_secret().to_vec(),
            bytes(&vector["header_mac_key"])
        );
    }
    for vector in vectors["keyring_mac_key"].as_array().unwrap() {
        let root = RootKey::from_bytes(array(&vector["root_key"]));
        let key = kdf::keyring_mac_key(&root, &array(&vector["keyring_id"])).unwrap();
        assert_eq!(key.expose_secret().to_vec(), bytes(&vector["key"]));
    }
}

#[test]
fn recovery_key_vectors() {
    let vectors = load("recovery_keys.json");
    let canonical = text(&vectors["canonical"]);
    for accepted in vectors["accepted"].as_array().unwrap() {
        let key = RecoveryKey::parse(text(accepted)).unwrap();
        assert_eq!(key.to_string(), canonical);
    }
    let typos = vectors["typos"].as_array().unwrap();
    assert_eq!(typos.len(), 5);
    for typo in typos {
        match RecoveryKey::parse(text(&typo["input"])) {
            Err(Error::RecoveryKeyTypo { detail }) => assert_eq!(detail, text(&typo["detail"])),
            other => panic!("{}: expected a typo, got {other:?}", text(&typo["input"])),
        }
    }
    assert!(RecoveryKey::parse(text(&vectors["wrong_key"])).is_ok());
}

#[test]
fn negative_vectors_fail_with_the_named_error() {
    let vectors = load("negative.json");
    let id = KeyringId::from_bytes(array(&vectors["keyring_id"]));
    let cases = vectors["unlock"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let slots: Vec<Slot> = case["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|slot| Slot::decode(&bytes(slot)).unwrap())
            .collect();
        let result = if let Some(key) = case["recovery_key"].as_str() {
            unwrap_with_recovery_key(&id, &slots, &RecoveryKey::parse(key).unwrap())
        } else {
            let prf = PrfOutput::from_slice(&bytes(&case["prf_output"])).unwrap();
            unwrap_with_passkey(&id, &slots, &bytes(&case["credential_id"]), &prf)
        };
        let error = result.expect_err(text(&case["name"]));
        assert_eq!(
            error_name(&error),
            text(&case["error"]),
            "{}",
            text(&case["name"])
        );
    }
    for case in vectors["decode"].as_array().unwrap() {
        let error = Slot::decode(&bytes(&case["slot"])).expect_err(text(&case["name"]));
        assert_eq!(
            error_name(&error),
            text(&case["error"]),
            "{}",
            text(&case["name"])
        );
    }
}
