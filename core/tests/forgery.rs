//! The cloud store as a forger (issue 18, finding 1): it holds a user's backup header or
//! repository config (public bytes) and seals a root key of its own choice to every slot's
//! public key. Nothing it does may make the user's own passkey, recovery key or password open
//! the forgery: the unlock fails with a typed `Corrupted` naming the slot.
//!
//! The attacker here uses only what the store has: public bytes, the public API and the `hpke`
//! crate (RFC 9180), never a secret of the keyring.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::{
    io::{Read, Write},
    sync::Arc,
};

use hpke::{
    aead::AesGcm256, kdf::HkdfSha256, kem::X25519HkdfSha256, Deserializable, OpModeS, Serializable,
};
use keepsake_core::{
    backup::Secret,
    crypto::{labels, PrfOutput, RootKey},
    format::{self, ContainerWriter, Metadata, PayloadKind, WriteOptions},
    keyring::{BackupFlags, Keyring, KeyringId, PasskeyEnrollment, RecoveryKey, Slot},
    repo::{
        config::{Config, SealedConfig},
        keys::{new_epoch, KeySet},
        BlobStore, MemStore, RepoOptions, Repository, CONFIG_NAME,
    },
    Error,
};

const CREDENTIAL: &[u8] = b"credential-phone";
const PASSWORD: &str = "a long walk on the beach at dawn";
const FORGED_PAYLOAD: &[u8] = b"the store wrote this";

fn prf() -> PrfOutput {
    PrfOutput::from_slice(&[7; 32]).unwrap()
}

/// The user's genuine keyring: a passkey, a recovery key and a password.
fn genuine() -> (Keyring, RecoveryKey) {
    let mut keyring = Keyring::create().unwrap();
    keyring
        .add_passkey(
            PasskeyEnrollment {
                credential_id: CREDENTIAL.to_vec(),
                rp_id: "chat.example.com".into(),
                label: "phone".into(),
                provider_hint: None,
                backup: Some(BackupFlags {
                    eligible: true,
                    state: true,
                }),
            },
            &prf(),
        )
        .unwrap();
    let (_, recovery) = keyring.add_recovery_key("paper").unwrap();
    keyring.add_password("password", PASSWORD).unwrap();
    (keyring, recovery)
}

/// What the store does with the public slots: keeps every public field and sealed private key
/// and replaces the sealed root key (the slot's last 80 bytes) by its own HPKE base-mode seal
/// of `root` to the slot's public key, with the AAD the format documents (all public).
fn forge_slots(id: &KeyringId, generation: u64, slots: &[Slot], root: &RootKey) -> Vec<Slot> {
    slots
        .iter()
        .map(|slot| {
            let public_key = slot.public_key().expect("a slot with a public key");
            let recipient =
                <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(public_key).unwrap();
            let info = if slot.version() >= 3 {
                labels::HPKE_ROOT_KEY_INFO_V3
            } else {
                labels::HPKE_ROOT_KEY_INFO
            };
            let mut sealed = root.expose_secret().to_vec();
            let mut rng = rand_core_os();
            let (enc, tag) = hpke::single_shot_seal_in_place_detached::<
                AesGcm256,
                HkdfSha256,
                X25519HkdfSha256,
                _,
            >(
                &OpModeS::Base,
                &recipient,
                info,
                &mut sealed,
                &slot.root_seal_aad(id, generation),
                &mut rng,
            )
            .unwrap();
            let mut bytes = slot.to_bytes();
            let start = bytes.len() - 80;
            bytes.truncate(start);
            bytes.extend_from_slice(&enc.to_bytes());
            bytes.extend_from_slice(&sealed);
            bytes.extend_from_slice(&tag.to_bytes());
            Slot::decode(&bytes).unwrap()
        })
        .collect()
}

/// An RNG for the attacker's ephemeral key (any randomness will do).
fn rand_core_os() -> impl hpke::rand_core::CryptoRng {
    struct Os;
    impl hpke::rand_core::RngCore for Os {
        fn next_u32(&mut self) -> u32 {
            let mut b = [0; 4];
            self.fill_bytes(&mut b);
            u32::from_le_bytes(b)
        }
        fn next_u64(&mut self) -> u64 {
            let mut b = [0; 8];
            self.fill_bytes(&mut b);
            u64::from_le_bytes(b)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            let bytes: [u8; 32] = keepsake_core::crypto::random_bytes().unwrap();
            for (i, byte) in dest.iter_mut().enumerate() {
                *byte = bytes[i % 32];
            }
        }
    }
    impl hpke::rand_core::CryptoRng for Os {}
    Os
}

/// A backup the store writes from nothing but the public header of a genuine one.
fn forged_backup(genuine_backup: &[u8]) -> Vec<u8> {
    let sealed = format::open(genuine_backup).unwrap();
    let header = sealed.header();
    let attacker_root = RootKey::generate().unwrap();
    let slots = forge_slots(
        header.keyring_id(),
        header.keyring_generation(),
        header.slots(),
        &attacker_root,
    );
    let forged = Keyring::from_unlocked(
        attacker_root,
        *header.keyring_id(),
        *header.prf_input(),
        header.keyring_generation(),
        slots,
    )
    .unwrap();
    let mut writer = ContainerWriter::new(
        Vec::new(),
        &forged,
        PayloadKind::ChatArchive,
        &Metadata::new(),
        &WriteOptions::for_generation(0),
    )
    .unwrap();
    writer.write_all(FORGED_PAYLOAD).unwrap();
    writer.finish().unwrap()
}

fn genuine_backup(keyring: &Keyring) -> Vec<u8> {
    let mut writer = ContainerWriter::new(
        Vec::new(),
        keyring,
        PayloadKind::ChatArchive,
        &Metadata::new(),
        &WriteOptions::for_generation(0),
    )
    .unwrap();
    writer.write_all(b"the user wrote this").unwrap();
    writer.finish().unwrap()
}

fn assert_forgery_refused<T>(result: Result<T, Error>, how: &str) {
    match result {
        Err(Error::Corrupted { what }) => {
            assert!(what.contains("slot"), "{how}: {what}");
            assert!(what.contains("seal"), "{how}: {what}");
        }
        Err(other) => panic!("{how}: expected Corrupted naming the slot, got {other:?}"),
        Ok(_) => panic!("{how}: the user's own secret opened a forged backup"),
    }
}

#[test]
fn a_forged_backup_does_not_open_with_the_users_secrets() {
    let (keyring, recovery) = genuine();
    let forged = forged_backup(&genuine_backup(&keyring));

    let opened = format::open(forged.as_slice())
        .unwrap()
        .unlock_with_recovery_key(&recovery);
    assert_forgery_refused(opened.map(|_| ()), "recovery key");
    let opened = format::open(forged.as_slice())
        .unwrap()
        .unlock_with_passkey(CREDENTIAL, &prf());
    assert_forgery_refused(opened.map(|_| ()), "passkey");
    let opened = format::open(forged.as_slice())
        .unwrap()
        .unlock_with_password(PASSWORD);
    assert_forgery_refused(opened.map(|_| ()), "password");

    // Nor does the new-device flow get a keyring or a payload out of it.
    let result = keepsake_core::backup::unlock(forged.as_slice(), &Secret::RecoveryKey(&recovery))
        .and_then(|opened| {
            let keyring = opened.keyring_at_least(keyring.generation())?;
            let mut payload = Vec::new();
            opened.into_payload()?.read_to_end(&mut payload)?;
            Ok((keyring, payload))
        });
    assert_forgery_refused(result, "new device");
}

#[test]
fn a_forged_repository_config_does_not_open_with_the_users_secrets() {
    let (keyring, recovery) = genuine();
    let store: Arc<dyn BlobStore> = Arc::new(MemStore::new());
    Repository::init(store.clone(), &keyring, &RepoOptions::default()).unwrap();

    // The store rewrites the config from its public part: its own root key sealed to every
    // slot, its own data key, the MAC under its root key.
    let sealed = SealedConfig::decode(&store.get(CONFIG_NAME, None).unwrap()).unwrap();
    let attacker_root = RootKey::generate().unwrap();
    let slots = forge_slots(
        &sealed.keyring_id,
        sealed.generation,
        &sealed.slots,
        &attacker_root,
    );
    let forged_keyring = Keyring::from_unlocked(
        attacker_root,
        sealed.keyring_id,
        *sealed.prf_input(),
        sealed.generation,
        slots,
    )
    .unwrap();
    let (config, _) = Config::create(&RepoOptions::default()).unwrap();
    let keys = KeySet::new(vec![new_epoch(&config.repo_id, 0).unwrap()]).unwrap();
    store
        .put(CONFIG_NAME, &config.encode(&forged_keyring, &keys).unwrap())
        .unwrap();

    for (how, secret) in [
        ("recovery key", Secret::RecoveryKey(&recovery)),
        (
            "passkey",
            Secret::Passkey {
                credential_id: CREDENTIAL,
                prf: &prf(),
            },
        ),
        ("password", Secret::Password(PASSWORD)),
    ] {
        assert_forgery_refused(Repository::open(store.clone(), &secret), how);
    }
}
