//! Replays the keyring test vectors in `tests/vectors/keyring/`, written by an independent Python
//! implementation of the documented layouts (`generate.py` there).

// Helpers outside `#[test]` functions: a malformed vector file should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::{fs, path::PathBuf};

use keepsake_core::{
    crypto::{
        kdf::{self, KekVersion},
        PrfOutput, RootKey,
    },
    keyring::{
        unwrap_with_passkey, unwrap_with_recovery_key, Keyring, KeyringId, RecoveryKey, Slot,
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

/// The version 1 keyring vectors: this build no longer writes version 1 slots, but must decode
/// them strictly, re-encode them canonically and open them.
#[test]
fn version_1_keyring_vectors_decode_and_open() {
    let vectors = load("keyring.json");
    let root = RootKey::from_bytes(array(&vectors["root_key"]));
    let id = KeyringId::from_bytes(array(&vectors["keyring_id"]));

    let slot_vectors = vectors["slots"].as_array().unwrap();
    assert_eq!(slot_vectors.len(), 3);
    let mut slots = Vec::new();
    for vector in slot_vectors {
        let salt = array(&vector["salt"]);
        let slot = Slot::decode(&bytes(&vector["encoding"])).unwrap();
        assert_eq!(slot.version(), 1);
        assert_eq!(slot.to_bytes(), bytes(&vector["encoding"]));
        assert_eq!(
            slot.aad(&id),
            bytes(&vector["aad"]),
            "AAD of {}",
            vector["kind"]
        );
        let opened = if vector["kind"] == "passkey" {
            let prf = PrfOutput::from_slice(&bytes(&vector["prf_output"])).unwrap();
            let credential_id = bytes(&vector["credential_id"]);
            let kek = kdf::passkey_kek(&prf, &salt, &credential_id, KekVersion::V1).unwrap();
            assert_eq!(kek.expose_secret().to_vec(), bytes(&vector["kek"]));
            assert_eq!(slot.credential_id(), Some(credential_id.as_slice()));
            unwrap_with_passkey(&id, 0, std::slice::from_ref(&slot), &credential_id, &prf)
        } else {
            // The recovery key's text carries this secret: the slot only opens if parsing
            // recovered it exactly.
            let kek = kdf::recovery_kek(&array(&vector["secret"]), &salt, KekVersion::V1).unwrap();
            assert_eq!(kek.expose_secret().to_vec(), bytes(&vector["kek"]));
            let key = RecoveryKey::parse(text(&vector["recovery_key"])).unwrap();
            unwrap_with_recovery_key(&id, 0, std::slice::from_ref(&slot), &key)
        };
        assert_eq!(opened.unwrap(), root);
        slots.push(slot);
    }

    let public = bytes(&vectors["public_keyring"]);
    let rebuilt = Keyring::from_parts(root.clone(), &public).unwrap();
    assert_eq!(rebuilt.slots(), slots.as_slice());
    assert_eq!(
        rebuilt.generation(),
        0,
        "a version 1 keyring has generation 0"
    );
    // Stored again, it takes the version 3 layout, which loads back to the same keyring.
    let upgraded = rebuilt.to_public_bytes();
    assert_eq!(upgraded[4], 3);
    let reloaded = Keyring::from_parts(root, &upgraded).unwrap();
    assert_eq!(reloaded.slots(), slots.as_slice());
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
        let key =
            kdf::keyring_mac_key(&root, &array(&vector["keyring_id"]), KekVersion::V1).unwrap();
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
            unwrap_with_recovery_key(&id, 0, &slots, &RecoveryKey::parse(key).unwrap())
        } else {
            let prf = PrfOutput::from_slice(&bytes(&case["prf_output"])).unwrap();
            unwrap_with_passkey(&id, 0, &slots, &bytes(&case["credential_id"]), &prf)
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
