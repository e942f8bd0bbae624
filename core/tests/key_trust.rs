//! What a device may trust and adopt (issue 18 finding 1, issue 19 item 6): a backup or
//! repository opened through a version 2 slot reads but is never adopted or written under; a
//! legacy slot is upgraded by its own secret; two devices adding slots both keep theirs; a store
//! that puts back a pre-rotation config cannot make the device overwrite the newer keys; a
//! re-keyed keyring is adopted only by the repository of the keyring it re-keys.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod repo_support;

use std::{io::Read, path::PathBuf, sync::Arc};

use keepsake_core::{
    backup::{self, BackupOptions, Control, Secret},
    crypto::{PrfOutput, RootKey},
    format,
    keyring::{BackupFlags, Keyring, PasskeyEnrollment, RecoveryKey, SlotSecret},
    repo::{BlobStore, KeyringAdoption, MemStore, Repository, WriterOptions, CONFIG_NAME},
    store::ChatStore,
    Error,
};
use repo_support::{backup, device_keyring, dump, mem_repo, populated, reopen, restore_dump};

fn vectors(dir: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", dir]
        .iter()
        .collect()
}

/// The recovery key of the vector keyrings (secret `c0 .. df`, as the vectors' JSON spells it).
fn vector_recovery_key() -> RecoveryKey {
    RecoveryKey::parse(
        "R30W-5GY4-RQ3C-FJ69-SB5W-SKEE-SZ8D-3MPK-TKAX-DNYR-V7DD-QQ6X-VVFH-30H3-852M-24FK",
    )
    .unwrap()
}

fn enrollment(credential_id: &[u8]) -> PasskeyEnrollment {
    PasskeyEnrollment {
        credential_id: credential_id.to_vec(),
        rp_id: "chat.example.com".into(),
        label: "passkey".into(),
        provider_hint: None,
        backup: Some(BackupFlags {
            eligible: true,
            state: true,
        }),
    }
}

/// An old backup (format 2, version 2 slots, from the frozen vectors) still restores with its
/// secret, but its keyring is refused: its seal could be the store's.
#[test]
fn an_old_backup_with_version_2_slots_reads_but_its_keyring_is_never_adopted() {
    let bytes = std::fs::read(vectors("container-slot-v2").join("one_segment.bin")).unwrap();
    let opened = format::open(bytes.as_slice())
        .unwrap()
        .unlock_with_recovery_key(&vector_recovery_key())
        .unwrap();
    assert!(!opened.is_authenticated());
    assert!(matches!(
        opened.keyring(),
        Err(Error::UnauthenticatedKeyring)
    ));
    assert!(matches!(
        opened.keyring_at_least(0),
        Err(Error::UnauthenticatedKeyring)
    ));
    let err = opened.keyring().unwrap_err().to_string();
    assert!(err.contains("set up a new keyring"), "{err}");
    let mut payload = Vec::new();
    opened
        .into_payload()
        .unwrap()
        .read_to_end(&mut payload)
        .unwrap();
    assert_eq!(payload.len(), 65536, "the data itself still reads");

    // The same backup with version 3 slots gives an authenticated keyring.
    let bytes = std::fs::read(vectors("container").join("one_segment.bin")).unwrap();
    let opened = format::open(bytes.as_slice())
        .unwrap()
        .unlock_with_recovery_key(&vector_recovery_key())
        .unwrap();
    assert!(opened.is_authenticated());
    let mut keyring = opened.keyring().unwrap();
    keyring.rotate_root_key().unwrap();
}

/// A repository whose config has a version 2 slot (the frozen repository vector) opens with the
/// recovery key and reads, refuses to be written or adopted, and accepts a re-key.
#[test]
fn a_repository_opened_through_a_version_2_slot_is_not_written_until_re_keyed() {
    let config = std::fs::read(vectors("repo").join("config.bin")).unwrap();
    let store: Arc<dyn BlobStore> = Arc::new(MemStore::new());
    store.put(CONFIG_NAME, &config).unwrap();
    let mut repo =
        Repository::open(store.clone(), &Secret::RecoveryKey(&vector_recovery_key())).unwrap();
    assert!(!repo.is_authenticated());
    assert!(matches!(
        repo.begin_snapshot(None, &WriterOptions::default())
            .map(|_| ()),
        Err(Error::UnauthenticatedKeyring)
    ));
    assert!(matches!(
        repo.adoptable_keyring(),
        Err(Error::UnauthenticatedKeyring)
    ));

    // A keyring that claims nothing is another keyring; a re-key of this one is taken.
    let mut stranger = device_keyring();
    assert!(matches!(
        repo.adopt_keyring(&stranger),
        Err(Error::WrongKey)
    ));
    let mut rekeyed = repo.keyring().rekey().unwrap();
    rekeyed.add_recovery_key("new paper").unwrap();
    assert_eq!(
        repo.adopt_keyring(&rekeyed).unwrap(),
        KeyringAdoption::Rotated
    );
    assert!(repo.is_authenticated());
    assert_eq!(repo.current_epoch(), 1);
    repo.begin_snapshot(None, &WriterOptions::default())
        .unwrap();
    let reopened = reopen(store.clone(), &rekeyed).unwrap();
    assert_eq!(reopened.keyring().id(), rekeyed.id());
    // The re-key of another keyring is refused.
    stranger.add_recovery_key("x").unwrap();
    let foreign = stranger.rekey().unwrap();
    let mut again = reopen(store, &rekeyed).unwrap();
    assert!(matches!(
        again.adopt_keyring(&foreign),
        Err(Error::WrongKey)
    ));
}

/// Two devices share a keyring; each adds a slot and adopts it: the second merges with the
/// first's instead of overwriting it.
#[test]
fn two_devices_adding_slots_both_keep_theirs() {
    let keyring = device_keyring();
    let (mem, _) = mem_repo(&keyring);
    let mut phone =
        Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes()).unwrap();
    let mut tablet =
        Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes()).unwrap();
    let mut phone_repo = reopen(mem.clone(), &phone).unwrap();
    let mut tablet_repo = reopen(mem.clone(), &tablet).unwrap();

    phone
        .add_passkey(
            enrollment(b"phone"),
            &PrfOutput::from_slice(&[1; 32]).unwrap(),
        )
        .unwrap();
    tablet
        .add_passkey(
            enrollment(b"tablet"),
            &PrfOutput::from_slice(&[2; 32]).unwrap(),
        )
        .unwrap();
    assert_eq!(
        phone_repo.adopt_keyring(&phone).unwrap(),
        KeyringAdoption::SlotsUpdated
    );
    assert_eq!(
        tablet_repo.adopt_keyring(&tablet).unwrap(),
        KeyringAdoption::SlotsUpdated
    );
    let fresh = Repository::open(
        mem.clone(),
        &Secret::Passkey {
            credential_id: b"phone",
            prf: &PrfOutput::from_slice(&[1; 32]).unwrap(),
        },
    )
    .unwrap();
    let credentials: Vec<_> = fresh
        .keyring()
        .slots()
        .iter()
        .filter_map(|slot| slot.credential_id())
        .collect();
    assert_eq!(credentials, [b"tablet".as_slice(), b"phone".as_slice()]);
}

/// Issue 19 item 6: the store puts back the config from before a rotation; the device, told to
/// use another secret, opens it and adopts its (newer) keyring: refused, nothing overwritten,
/// and every snapshot written after the rotation stays readable once the real config is back.
#[test]
fn a_replayed_pre_rotation_config_is_never_adopted_over_the_newer_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 21, 300);
    let mut keyring = Keyring::create().unwrap();
    let (_, recovery) = keyring.add_recovery_key("paper").unwrap();
    keyring.add_recovery_key("second paper").unwrap();
    let (mem, mut repo) = mem_repo(&keyring);
    backup(&db, &mut repo, None).unwrap();
    let pre_rotation = mem.get(CONFIG_NAME, None).unwrap();

    keyring.rotate_root_key().unwrap();
    repo.adopt_keyring(&keyring).unwrap();
    backup(&db, &mut repo, None).unwrap();
    let real = mem.get(CONFIG_NAME, None).unwrap();
    let latest = restore_dump(&repo, None).unwrap();

    // The store replays the old config: the device key no longer opens it...
    mem.put(CONFIG_NAME, &pre_rotation).unwrap();
    assert!(matches!(
        reopen(mem.clone(), &keyring),
        Err(Error::OtherGeneration { .. })
    ));
    // ...so the user unlocks with the recovery key, and the app adopts the device keyring.
    let mut replayed = Repository::open(mem.clone(), &Secret::RecoveryKey(&recovery)).unwrap();
    let err = replayed.adopt_keyring(&keyring).unwrap_err();
    assert!(
        matches!(
            err,
            Error::RepositoryRolledBack {
                config_epoch: 0,
                found_epoch: 1
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        mem.get(CONFIG_NAME, None).unwrap(),
        pre_rotation,
        "nothing overwritten"
    );
    mem.put(CONFIG_NAME, &real).unwrap();
    let repo = reopen(mem, &keyring).unwrap();
    assert_eq!(restore_dump(&repo, None).unwrap(), latest);
    assert_eq!(latest, dump(&db));
}

/// A legacy slot in the device keyring blocks rotation until the user's next unlock with its
/// secret upgrades it (here the version 2 repository vector's recovery key).
#[test]
fn the_next_unlock_with_a_legacy_slots_secret_upgrades_it() {
    let config = std::fs::read(vectors("repo").join("config.bin")).unwrap();
    let store: Arc<dyn BlobStore> = Arc::new(MemStore::new());
    store.put(CONFIG_NAME, &config).unwrap();
    // The device's keyring as an older build stored it: the vector keyring (root 00 .. 1f).
    let repo = Repository::open(
        store.clone(),
        &Secret::RootKey(&RootKey::from_bytes(std::array::from_fn(|i| i as u8))),
    )
    .unwrap();
    let mut device = Keyring::from_unlocked(
        repo.keyring().root_key().clone(),
        *repo.keyring().id(),
        *repo.keyring().prf_input(),
        repo.keyring().generation(),
        repo.keyring().slots().to_vec(),
    )
    .unwrap();
    assert!(matches!(
        device.rotate_root_key(),
        Err(Error::LegacySlot { version: 2, .. })
    ));
    let upgraded = device
        .upgrade_slots(&SlotSecret::RecoveryKey(&vector_recovery_key()))
        .unwrap();
    assert_eq!(upgraded.len(), 1);
    assert_eq!(device.slots()[0].version(), 3);
    let mut repo = reopen(store.clone(), &device).unwrap();
    assert!(repo.is_authenticated());
    assert_eq!(
        repo.keyring().slots()[0].version(),
        3,
        "the config took the upgrade"
    );
    device.rotate_root_key().unwrap();
    assert_eq!(
        repo.adopt_keyring(&device).unwrap(),
        KeyringAdoption::Rotated
    );
    let fresh = Repository::open(store, &Secret::RecoveryKey(&vector_recovery_key())).unwrap();
    assert!(fresh.is_authenticated());
}

/// Issue 18 item 6: an app that rotates its keyring but skips adopting it into an open
/// repository does not keep writing under the old epoch unnoticed when it passes the generation
/// it keeps.
#[test]
fn skipping_adopt_keyring_after_a_rotation_is_refused_at_the_next_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 22, 100);
    let mut keyring = device_keyring();
    let (_, mut repo) = mem_repo(&keyring);
    keyring.rotate_root_key().unwrap();
    let store = ChatStore::open(&db).unwrap();
    let result = backup::backup_store_to_repo(
        &store,
        &mut repo,
        None,
        &BackupOptions::for_generation(keyring.generation()),
        &Control::default(),
    );
    assert!(
        matches!(result, Err(Error::KeyringRolledBack { found: 1, known: 2 })),
        "{result:?}"
    );
}

/// A re-key after a revocation whose secret may be in hostile hands: a new keyring (id, root
/// key, authentication secret, PRF input), the remaining passkey renewed by one assertion under
/// the new PRF input, a new recovery key; the repository moves to it; the old secrets (which
/// knew the old authentication secret) open nothing written afterwards.
#[test]
fn a_re_key_renews_the_passkeys_and_moves_the_repository() {
    use keepsake_core::passkey::{TypedAssertion, Unlock};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    populated(&db, 23, 200);
    let mut old = Keyring::create().unwrap();
    old.add_passkey(
        enrollment(b"phone"),
        &PrfOutput::from_slice(&[1; 32]).unwrap(),
    )
    .unwrap();
    let (leaked_slot, leaked) = old.add_recovery_key("leaked paper").unwrap();
    let (mem, mut repo) = mem_repo(&old);
    backup(&db, &mut repo, None).unwrap();
    old.remove_slot(&leaked_slot, false).unwrap();
    repo.adopt_keyring(&old).unwrap();

    let mut new = old.rekey().unwrap();
    let renewal = Unlock::for_renewal(old.slots(), &new, "chat.example.com").unwrap();
    assert_eq!(renewal.request().prf_input(), new.prf_input());
    assert_eq!(renewal.request().allow_credentials(), [b"phone".to_vec()]);
    // The authenticator evaluates PRF with the new input: a new output for the same passkey.
    let answer = TypedAssertion {
        credential_id: b"phone".to_vec(),
        prf_first: Some(zeroize::Zeroizing::new(vec![9; 32])),
    };
    let key = renewal.verify_typed(&answer).unwrap();
    renewal.renew(&mut new, &key).unwrap();
    let (_, recovery) = new.add_recovery_key("new paper").unwrap();
    assert_eq!(
        new.slots()[0].label(),
        "passkey",
        "the renewed slot keeps its label"
    );

    assert_eq!(repo.adopt_keyring(&new).unwrap(), KeyringAdoption::Rotated);
    backup(&db, &mut repo, None).unwrap();
    let by_passkey = Repository::open(
        mem.clone(),
        &Secret::Passkey {
            credential_id: b"phone",
            prf: &PrfOutput::from_slice(&[9; 32]).unwrap(),
        },
    )
    .unwrap();
    assert_eq!(by_passkey.keyring().id(), new.id());
    assert_eq!(restore_dump(&by_passkey, None).unwrap(), dump(&db));
    Repository::open(mem.clone(), &Secret::RecoveryKey(&recovery)).unwrap();
    assert!(matches!(
        Repository::open(mem.clone(), &Secret::RecoveryKey(&leaked)),
        Err(Error::WrongKey)
    ));
    // The old PRF input's output does not open the new keyring's passkey slot.
    assert!(matches!(
        Repository::open(
            mem,
            &Secret::Passkey {
                credential_id: b"phone",
                prf: &PrfOutput::from_slice(&[1; 32]).unwrap(),
            },
        ),
        Err(Error::WrongKey)
    ));
}
