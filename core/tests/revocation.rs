//! Revocation and rollback end to end, through backup files: a removed recovery key or passkey
//! opens nothing written after its removal, an older keyring is refused, old backups still
//! restore, and a keyring no new phone could open writes no backup.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::io::{Read, Write};

use keepsake_core::{
    crypto::{password::PasswordParams, PrfOutput},
    format::{self, ContainerWriter, Metadata, PayloadKind, WriteOptions},
    keyring::{BackupFlags, Keyring, PasskeyEnrollment, RecoveryKey, SlotId},
    Error,
};

const PHONE: &[u8] = b"credential-phone";
const LAPTOP: &[u8] = b"credential-laptop";
const PAYLOAD: &[u8] = b"see you at the lake";

fn prf(byte: u8) -> PrfOutput {
    PrfOutput::from_slice(&[byte; 32]).unwrap()
}

fn enrollment(credential_id: &[u8], eligible: bool) -> PasskeyEnrollment {
    PasskeyEnrollment {
        credential_id: credential_id.to_vec(),
        rp_id: "chat.example.com".into(),
        label: "passkey".into(),
        provider_hint: None,
        backup: Some(BackupFlags {
            eligible,
            state: eligible,
        }),
    }
}

fn write(keyring: &Keyring, known_generation: u64) -> Result<Vec<u8>, Error> {
    let options = WriteOptions {
        known_generation,
        ..WriteOptions::for_generation(0)
    };
    let mut writer = ContainerWriter::new(
        Vec::new(),
        keyring,
        PayloadKind::ChatArchive,
        &Metadata::new(),
        &options,
    )?;
    writer.write_all(PAYLOAD).unwrap();
    writer.finish()
}

fn read(opened: format::OpenedContainer<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    opened
        .into_payload()
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

struct Setup {
    keyring: Keyring,
    revoked_recovery: RecoveryKey,
    kept_recovery: RecoveryKey,
    revoked_recovery_slot: SlotId,
    phone_slot: SlotId,
}

fn setup() -> Setup {
    let mut keyring = Keyring::create().unwrap();
    let phone_slot = keyring
        .add_passkey(enrollment(PHONE, true), &prf(1))
        .unwrap();
    keyring
        .add_passkey(enrollment(LAPTOP, true), &prf(2))
        .unwrap();
    let (revoked_recovery_slot, revoked_recovery) = keyring.add_recovery_key("old").unwrap();
    let (_, kept_recovery) = keyring.add_recovery_key("new").unwrap();
    Setup {
        keyring,
        revoked_recovery,
        kept_recovery,
        revoked_recovery_slot,
        phone_slot,
    }
}

/// The header bytes of `container` with `slot` (encoded) added as the first slot, as an
/// attacker holding an old backup could do. The header MAC no longer matches, but a slot is
/// opened before the MAC is checked, so what the slot yields decides the error.
fn splice_slot(container: &[u8], slot: &[u8]) -> Vec<u8> {
    // Version 2 header: slot count at 118..120, slots from 120.
    let mut out = container[..118].to_vec();
    let count = u16::from_be_bytes([container[118], container[119]]) + 1;
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&(slot.len() as u16).to_be_bytes());
    out.extend_from_slice(slot);
    out.extend_from_slice(&container[120..]);
    let header_len = u32::from_be_bytes(container[10..14].try_into().unwrap()) as usize;
    let new_len = (header_len + 2 + slot.len()) as u32;
    out[10..14].copy_from_slice(&new_len.to_be_bytes());
    out
}

#[test]
fn a_revoked_recovery_key_and_passkey_open_nothing_written_afterwards() {
    let Setup {
        mut keyring,
        revoked_recovery,
        kept_recovery,
        revoked_recovery_slot,
        phone_slot,
    } = setup();
    let before = write(&keyring, 0).unwrap();
    let old_phone_slot = keyring
        .slots()
        .iter()
        .find(|slot| slot.id() == &phone_slot)
        .unwrap()
        .to_bytes();

    // Revocation = removal + rotation, with no prompt: only the root key is used.
    keyring.remove_slot(&revoked_recovery_slot, false).unwrap();
    keyring.remove_slot(&phone_slot, false).unwrap();
    let after = write(&keyring, keyring.generation()).unwrap();

    // The removed recovery key: WrongKey.
    let sealed = format::open(after.as_slice()).unwrap();
    assert!(matches!(
        sealed.unlock_with_recovery_key(&revoked_recovery),
        Err(Error::WrongKey)
    ));
    // The removed passkey: no slot of its own any more...
    let sealed = format::open(after.as_slice()).unwrap();
    assert!(matches!(
        sealed.unlock_with_passkey(PHONE, &prf(1)),
        Err(Error::NoMatchingSlot)
    ));
    // ...and its old slot, put back into the new header, opens only the old root key: its
    // private part opens, its seal (of the old generation) does not, which is tampering.
    let spliced = splice_slot(&after, &old_phone_slot);
    let sealed = format::open(spliced.as_slice()).unwrap();
    assert_eq!(sealed.header().slots().len(), keyring.slots().len() + 1);
    assert!(matches!(
        sealed.unlock_with_passkey(PHONE, &prf(1)),
        Err(Error::Corrupted { what }) if what.contains("root-key seal")
    ));
    // The remaining secrets open the new backup.
    let opened = format::open(after.as_slice())
        .unwrap()
        .unlock_with_recovery_key(&kept_recovery)
        .unwrap();
    assert_eq!(read(opened), PAYLOAD);
    let opened = format::open(after.as_slice())
        .unwrap()
        .unlock_with_passkey(LAPTOP, &prf(2))
        .unwrap();
    assert_eq!(read(opened), PAYLOAD);

    // What the revoked secrets could read before stays readable to them.
    let opened = format::open(before.as_slice())
        .unwrap()
        .unlock_with_recovery_key(&revoked_recovery)
        .unwrap();
    assert_eq!(read(opened), PAYLOAD);
    let opened = format::open(before.as_slice())
        .unwrap()
        .unlock_with_passkey(PHONE, &prf(1))
        .unwrap();
    assert_eq!(read(opened), PAYLOAD);
}

#[test]
fn an_old_backup_restores_but_its_keyring_is_not_adopted() {
    let Setup {
        mut keyring,
        revoked_recovery,
        revoked_recovery_slot,
        ..
    } = setup();
    let before = write(&keyring, 0).unwrap();
    keyring.remove_slot(&revoked_recovery_slot, false).unwrap();
    let known = keyring.generation();

    // The old backup restores (with the device keyring's secrets of that time)...
    let opened = format::open(before.as_slice())
        .unwrap()
        .unlock_with_recovery_key(&revoked_recovery)
        .unwrap();
    // ...but its keyring, which still holds the revoked slot, is refused.
    assert!(matches!(
        opened.keyring_at_least(known),
        Err(Error::KeyringRolledBack { found, known: k }) if found + 1 == known && k == known
    ));
    let old_keyring = opened.keyring().unwrap();
    assert_eq!(read(opened), PAYLOAD);
    // Writing with it is refused as well, once the app passes the generation it knows.
    assert!(matches!(
        write(&old_keyring, known),
        Err(Error::KeyringRolledBack { .. })
    ));
    // The current keyring writes, and its backup gives back a keyring that is not older.
    let after = write(&keyring, known).unwrap();
    let root = keyring.root_key().clone();
    let opened = format::open(after.as_slice())
        .unwrap()
        .unlock_with_keyring(&keyring)
        .unwrap();
    assert_eq!(opened.header().keyring_generation(), known);
    assert_eq!(opened.keyring_at_least(known).unwrap().generation(), known);
    // A bare root key does not know the keyring's authentication secret: no keyring to adopt.
    let opened = format::open(after.as_slice())
        .unwrap()
        .unlock_with_root_key(&root)
        .unwrap();
    assert!(matches!(opened.keyring(), Err(Error::InvalidArgument(_))));
}

#[test]
fn a_keyring_no_new_phone_could_open_writes_no_backup() {
    let empty = Keyring::create().unwrap();
    assert!(matches!(
        write(&empty, 0),
        Err(Error::InvalidArgument(reason)) if reason.contains("no key slot")
    ));
    let mut device_bound = Keyring::create().unwrap();
    device_bound
        .add_passkey(enrollment(PHONE, false), &prf(1))
        .unwrap();
    assert_eq!(device_bound.device_bound_slots().count(), 1);
    assert!(matches!(
        write(&device_bound, 0),
        Err(Error::InvalidArgument(reason)) if reason.contains("cannot sync")
    ));
    // With a recovery key beside it, the backup is written; the passkey stays flagged.
    device_bound.add_recovery_key("recovery").unwrap();
    assert!(write(&device_bound, 0).is_ok());
    assert!(device_bound.slots()[0].is_device_bound());
}

#[test]
fn a_password_slot_unlocks_a_backup_and_survives_rotation() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("recovery").unwrap();
    let cheap = PasswordParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };
    let fixed = keepsake_core::keyring::FixedSlotInputs {
        id: SlotId::generate().unwrap(),
        created_at: 1,
        salt: [3; 32],
        nonce: [4; 12],
        key_pair_ikm: [5; 32],
        seal_ikm: [6; 32],
    };
    keyring
        .add_password_with("password", "a long enough password", cheap, fixed)
        .unwrap();
    keyring.rotate_root_key().unwrap();
    let backup = write(&keyring, keyring.generation()).unwrap();
    let opened = format::open(backup.as_slice())
        .unwrap()
        .unlock_with_password("a long enough password")
        .unwrap();
    assert_eq!(read(opened), PAYLOAD);
    assert!(matches!(
        format::open(backup.as_slice())
            .unwrap()
            .unlock_with_password("a long enough passwort"),
        Err(Error::WrongPassword)
    ));
}
