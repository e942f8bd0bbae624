use super::*;

/// The generation of every new keyring in these tests.
const GEN: u64 = FIRST_GENERATION;

pub(crate) fn enrollment(credential_id: &[u8]) -> PasskeyEnrollment {
    PasskeyEnrollment {
        credential_id: credential_id.to_vec(),
        rp_id: "chat.example.com".into(),
        label: "Phone passkey".into(),
        provider_hint: None,
        backup: Some(BackupFlags {
            eligible: true,
            state: true,
        }),
    }
}

fn prf(byte: u8) -> PrfOutput {
    PrfOutput::from_slice(&[byte; 32]).unwrap()
}

#[test]
fn every_slot_opens_to_the_same_root_key() {
    let mut keyring = Keyring::create().unwrap();
    let root = keyring.root_key().clone();
    let (_, recovery) = keyring.add_recovery_key("Recovery key").unwrap();
    keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    keyring.add_passkey(enrollment(b"cred-b"), &prf(2)).unwrap();
    assert_eq!(keyring.slots().len(), 3);
    assert_eq!(keyring.root_key(), &root, "adding slots keeps the root key");

    let (id, slots) = (keyring.id(), keyring.slots());
    assert_eq!(
        unwrap_with_recovery_key(id, GEN, slots, &recovery).unwrap(),
        root
    );
    assert_eq!(
        unwrap_with_passkey(id, GEN, slots, b"cred-a", &prf(1)).unwrap(),
        root
    );
    assert_eq!(
        unwrap_with_passkey(id, GEN, slots, b"cred-b", &prf(2)).unwrap(),
        root
    );
}

#[test]
fn wrong_secrets_are_wrong_key_and_unknown_passkeys_have_no_slot() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("Recovery key").unwrap();
    keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    let (id, slots) = (keyring.id(), keyring.slots());
    let other_recovery = RecoveryKey::generate().unwrap();
    assert!(matches!(
        unwrap_with_recovery_key(id, GEN, slots, &other_recovery),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        unwrap_with_passkey(id, GEN, slots, b"cred-a", &prf(9)),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        unwrap_with_passkey(id, GEN, slots, b"cred-z", &prf(1)),
        Err(Error::NoMatchingSlot)
    ));
    // A passkey's PRF output does not open a slot of another keyring.
    let other = Keyring::create().unwrap();
    assert!(matches!(
        unwrap_with_passkey(other.id(), GEN, slots, b"cred-a", &prf(1)),
        Err(Error::WrongKey)
    ));
}

#[test]
fn a_slot_copied_into_another_keyring_does_not_open() {
    let mut source = Keyring::create().unwrap();
    let (_, recovery) = source.add_recovery_key("Recovery key").unwrap();
    let mut target = Keyring::create().unwrap();
    target.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    let mut slots = target.slots().to_vec();
    slots.extend(source.slots().iter().cloned());
    assert!(matches!(
        unwrap_with_recovery_key(target.id(), GEN, &slots, &recovery),
        Err(Error::WrongKey)
    ));
}

#[test]
fn removing_a_slot_rotates_and_the_removed_secret_opens_nothing_new() {
    let mut keyring = Keyring::create().unwrap();
    let old_root = keyring.root_key().clone();
    let a = keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    keyring.add_passkey(enrollment(b"cred-b"), &prf(2)).unwrap();
    let (_, recovery) = keyring.add_recovery_key("Recovery key").unwrap();
    let old_slots = keyring.slots().to_vec();

    let removal = keyring.remove_slot(&a, false).unwrap();
    assert_eq!(removal.slot.id(), &a);
    let rotation = &removal.rotation;
    assert_eq!(rotation.old_root, old_root);
    assert_eq!(&rotation.new_root, keyring.root_key());
    assert_ne!(keyring.root_key(), &old_root);
    assert_eq!(
        (rotation.old_generation, rotation.new_generation),
        (GEN, GEN + 1)
    );
    assert_eq!(keyring.generation(), GEN + 1);

    let (id, slots) = (keyring.id(), keyring.slots());
    let new_gen = keyring.generation();
    // The remaining secrets open the new root key, without any prompt at rotation time.
    assert_eq!(
        &unwrap_with_passkey(id, new_gen, slots, b"cred-b", &prf(2)).unwrap(),
        keyring.root_key()
    );
    assert_eq!(
        &unwrap_with_recovery_key(id, new_gen, slots, &recovery).unwrap(),
        keyring.root_key()
    );
    // The removed passkey has no slot any more, and its old slot (copied in by an attacker)
    // opens only the old root key, never the new one.
    assert!(matches!(
        unwrap_with_passkey(id, new_gen, slots, b"cred-a", &prf(1)),
        Err(Error::NoMatchingSlot)
    ));
    let mut with_old_slot = slots.to_vec();
    with_old_slot.retain(|slot| slot.credential_id() != Some(b"cred-a"));
    with_old_slot.push(removal.slot.clone());
    // Its secret opens its private part, but the seal is of the old generation: tampering.
    assert!(matches!(
        unwrap_with_passkey(id, new_gen, &with_old_slot, b"cred-a", &prf(1)),
        Err(Error::Corrupted { .. })
    ));
    // What it could read before stays readable to it.
    assert_eq!(
        unwrap_with_passkey(id, GEN, &old_slots, b"cred-a", &prf(1)).unwrap(),
        old_root
    );
    assert!(matches!(
        keyring.remove_slot(&a, false),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn rotation_on_request_reseals_every_slot() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    let (_, recovery) = keyring.add_recovery_key("Recovery key").unwrap();
    let public_keys: Vec<_> = keyring
        .slots()
        .iter()
        .map(|s| *s.public_key().unwrap())
        .collect();
    for round in 1..=3 {
        let outcome = keyring.rotate_root_key().unwrap();
        assert_ne!(outcome.old_root, outcome.new_root);
        assert_eq!(keyring.generation(), GEN + round);
        let (id, generation, slots) = (keyring.id(), keyring.generation(), keyring.slots());
        assert_eq!(
            &unwrap_with_recovery_key(id, generation, slots, &recovery).unwrap(),
            keyring.root_key()
        );
        assert_eq!(
            &unwrap_with_passkey(id, generation, slots, b"cred-a", &prf(1)).unwrap(),
            keyring.root_key()
        );
        let now: Vec<_> = slots.iter().map(|s| *s.public_key().unwrap()).collect();
        assert_eq!(now, public_keys, "slot key pairs survive a rotation");
    }
    let rebuilt =
        Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes()).unwrap();
    assert_eq!(rebuilt.generation(), keyring.generation());
}

#[test]
fn the_last_slot_and_the_last_synced_slot_stay_unless_forced() {
    let mut keyring = Keyring::create().unwrap();
    let mut device_bound = enrollment(b"cred-device");
    device_bound.backup = Some(BackupFlags {
        eligible: false,
        state: false,
    });
    let bound = keyring.add_passkey(device_bound, &prf(1)).unwrap();
    let (recovery, _) = keyring.add_recovery_key("Recovery key").unwrap();
    assert_eq!(keyring.device_bound_slots().count(), 1);
    assert!(keyring.check_restorable().is_ok());
    let before = keyring.to_public_bytes();
    assert!(matches!(
        keyring.remove_slot(&recovery, false),
        Err(Error::LastSlot { reason }) if reason.contains("cannot sync")
    ));
    assert_eq!(
        keyring.to_public_bytes(),
        before,
        "a refused removal changes nothing"
    );
    keyring.remove_slot(&recovery, true).unwrap();
    assert!(matches!(
        keyring.check_restorable(),
        Err(Error::InvalidArgument(reason)) if reason.contains("cannot sync")
    ));
    assert!(matches!(
        keyring.remove_slot(&bound, false),
        Err(Error::LastSlot { .. })
    ));
    keyring.remove_slot(&bound, true).unwrap();
    assert!(keyring.slots().is_empty());
    assert!(matches!(
        keyring.check_restorable(),
        Err(Error::InvalidArgument(reason)) if reason.contains("no key slot")
    ));
}

#[test]
fn an_older_generation_is_refused() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("Recovery key").unwrap();
    let old_root = keyring.root_key().clone();
    let old_public = keyring.to_public_bytes();
    keyring.rotate_root_key().unwrap();
    let known = keyring.generation();
    assert!(keyring.check_not_rolled_back(known).is_ok());
    assert!(matches!(
        Keyring::from_stored(old_root.clone(), &old_public, known),
        Err(Error::KeyringRolledBack { found, known: k }) if found == GEN && k == known
    ));
    // Without a known generation the old keyring still loads (e.g. to read old backups).
    assert!(Keyring::from_stored(old_root, &old_public, 0).is_ok());
    // The new public bytes do not load under the old root key, nor the old under the new.
    assert!(matches!(
        Keyring::from_parts(keyring.root_key().clone(), &old_public),
        Err(Error::Corrupted { .. })
    ));
    assert!(Keyring::from_stored(
        keyring.root_key().clone(),
        &keyring.to_public_bytes(),
        known
    )
    .is_ok());
}

#[test]
fn a_legacy_slot_blocks_rotation_without_changing_anything() {
    for (legacy, _) in [
        slot::tests::v1_passkey_slot(),
        slot::tests::v2_passkey_slot(),
    ] {
        let version = legacy.version();
        let mut keyring = Keyring::from_unlocked(
            RootKey::from_bytes([0x22; 32]),
            KeyringId::from_bytes([0x11; 16]),
            [0; 32],
            7,
            vec![legacy],
        )
        .unwrap();
        keyring.add_recovery_key("Recovery key").unwrap();
        let before = keyring.to_public_bytes();
        let err = keyring.rotate_root_key().unwrap_err();
        assert!(
            matches!(&err, Error::LegacySlot { version: v, .. } if *v == version),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("unlock once with that secret"),
            "{err}"
        );
        assert_eq!(keyring.to_public_bytes(), before);
        // Removing the legacy slot itself is a rotation of the remaining version 3 slots.
        let legacy_id = *keyring.slots()[0].id();
        keyring.remove_slot(&legacy_id, false).unwrap();
        assert_eq!(keyring.generation(), 8);
    }
}

/// A version 2 slot is replaced by a version 3 slot the next time its secret is used on the
/// device; then the keyring rotates, and the slot opens the new root key authenticated.
#[test]
fn a_legacy_slot_is_upgraded_by_its_own_secret_and_then_rotation_works() {
    let (legacy, _) = slot::tests::v2_passkey_slot();
    let legacy_id = *legacy.id();
    let mut keyring = Keyring::from_unlocked(
        RootKey::from_bytes([0x22; 32]),
        KeyringId::from_bytes([0x11; 16]),
        [0; 32],
        7,
        vec![legacy],
    )
    .unwrap();
    assert!(
        keyring.auth_secret().is_none(),
        "created only when first needed"
    );
    // Another passkey's PRF output upgrades nothing.
    let other = PrfOutput::from_slice(&[0x01; 32]).unwrap();
    let none = keyring
        .upgrade_slots(&SlotSecret::Passkey {
            credential_id: b"cred",
            prf: &other,
        })
        .unwrap();
    assert!(none.is_empty());
    let prf = PrfOutput::from_slice(&[0x33; 32]).unwrap();
    let upgraded = keyring
        .upgrade_slots(&SlotSecret::Passkey {
            credential_id: b"cred",
            prf: &prf,
        })
        .unwrap();
    assert_eq!(upgraded, vec![legacy_id]);
    assert_eq!(keyring.slots()[0].version(), 3);
    assert!(keyring.auth_secret().is_some());
    // The device keeps the authentication secret in its public bytes, so it survives a restart.
    let stored =
        Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes()).unwrap();
    let mut stored = stored;
    stored.rotate_root_key().unwrap();
    let opened = unwrap_with_passkey(stored.id(), 8, stored.slots(), b"cred", &prf).unwrap();
    assert_eq!(&opened, stored.root_key());
    assert!(opened.authenticity.is_authenticated());
}

#[test]
fn a_rekey_makes_a_new_keyring_linked_to_the_old_one() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("Recovery key").unwrap();
    let rekeyed = keyring.rekey().unwrap();
    assert_ne!(rekeyed.id(), keyring.id());
    assert_ne!(rekeyed.root_key(), keyring.root_key());
    assert_ne!(rekeyed.prf_input(), keyring.prf_input());
    assert_eq!(rekeyed.generation(), keyring.generation() + 1);
    assert_eq!(rekeyed.rekeyed_from(), Some(keyring.id()));
    assert!(rekeyed.slots().is_empty());
    let rekeyed_auth = rekeyed.auth_secret().unwrap().expose_secret();
    let old_auth = keyring.auth_secret().unwrap().expose_secret();
    assert_ne!(rekeyed_auth, old_auth);
    let stored =
        Keyring::from_parts(rekeyed.root_key().clone(), &rekeyed.to_public_bytes()).unwrap();
    assert_eq!(stored.rekeyed_from(), Some(keyring.id()));
}

#[test]
fn a_password_slot_opens_and_a_wrong_password_is_wrong_password() {
    let mut keyring = Keyring::create().unwrap();
    let cheap = crate::crypto::password::PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let mut fixed = FixedSlotInputs::fresh().unwrap();
    keyring
        .add_password_with("Password", "correct horse battery", cheap, fixed.clone())
        .unwrap();
    let (id, slots) = (keyring.id(), keyring.slots());
    assert_eq!(
        &unwrap_with_password(id, GEN, slots, "correct horse battery").unwrap(),
        keyring.root_key()
    );
    assert!(matches!(
        unwrap_with_password(id, GEN, slots, "correct horse batterY"),
        Err(Error::WrongPassword)
    ));
    let (_, recovery_only) = {
        let mut other = Keyring::create().unwrap();
        let key = other.add_recovery_key("r").unwrap();
        (key, other)
    };
    assert!(matches!(
        unwrap_with_password(recovery_only.id(), GEN, recovery_only.slots(), "whatever1"),
        Err(Error::NoMatchingSlot)
    ));
    fixed.id = SlotId::generate().unwrap();
    assert!(matches!(
        keyring.add_password_with("Short", "short", cheap, fixed),
        Err(Error::InvalidArgument(reason)) if reason.contains("add 7 more characters")
    ));
}

#[test]
fn enrollments_are_checked() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    assert!(matches!(
        keyring.add_passkey(enrollment(b"cred-a"), &prf(2)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        keyring.add_passkey(enrollment(&[7; 1024]), &prf(1)),
        Err(Error::LimitExceeded { found: 1024, .. })
    ));
    assert!(keyring.add_passkey(enrollment(&[7; 1023]), &prf(1)).is_ok());
    assert!(matches!(
        keyring.add_passkey(enrollment(b""), &prf(1)),
        Err(Error::InvalidArgument(_))
    ));
    let mut long_rp = enrollment(b"cred-rp");
    long_rp.rp_id = "a".repeat(254);
    assert!(matches!(
        keyring.add_passkey(long_rp, &prf(1)),
        Err(Error::LimitExceeded { found: 254, .. })
    ));
    assert!(matches!(
        keyring.add_recovery_key(&"x".repeat(257)),
        Err(Error::LimitExceeded { found: 257, .. })
    ));
    assert_eq!(keyring.slots().len(), 2, "rejected slots are not added");
}

#[test]
fn slot_count_is_limited() {
    let mut keyring = Keyring::create().unwrap();
    for n in 0..MAX_SLOTS {
        keyring
            .add_passkey(enrollment(&n.to_be_bytes()), &prf(1))
            .unwrap();
    }
    assert!(matches!(
        keyring.add_recovery_key("one too many"),
        Err(Error::LimitExceeded {
            found: 33,
            limit: 32,
            ..
        })
    ));
}

#[test]
fn rebuilding_rejects_duplicates() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
    let slot = keyring.slots()[0].clone();
    let rebuilt = Keyring::from_unlocked(
        keyring.root_key().clone(),
        *keyring.id(),
        *keyring.prf_input(),
        FIRST_GENERATION,
        vec![slot.clone()],
    )
    .unwrap();
    assert_eq!(rebuilt.slots(), keyring.slots());
    assert!(matches!(
        Keyring::from_unlocked(
            keyring.root_key().clone(),
            *keyring.id(),
            *keyring.prf_input(),
            FIRST_GENERATION,
            vec![slot.clone(), slot],
        ),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn debug_shows_no_secret() {
    let keyring = Keyring::from_unlocked(
        RootKey::from_bytes([0xab; 32]),
        KeyringId::from_bytes([1; 16]),
        [2; 32],
        FIRST_GENERATION,
        Vec::new(),
    )
    .unwrap();
    let shown = format!("{keyring:?}");
    assert!(shown.contains("RootKey(<redacted>)"), "{shown}");
    assert!(!shown.contains("171"), "{shown}");
}

/// Issue 18 item 4: a hostile header declaring 32 password slots of 256 MiB and t = 16 is
/// refused before any Argon2 run (this returns at once), with a typed error.
#[test]
fn a_header_asking_for_too_much_argon2_work_is_refused_before_any_run() {
    let mut keyring = Keyring::create().unwrap();
    let cheap = crate::crypto::password::PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    keyring
        .add_password_with(
            "Password",
            "correct horse battery",
            cheap,
            FixedSlotInputs::fresh().unwrap(),
        )
        .unwrap();
    let genuine = keyring.slots()[0].to_bytes();
    // The Argon2 costs follow the fixed prefix (version, kind, id, time, salt, label length:
    // 60 bytes) and the 8-byte label "Password".
    let costs_at = 60 + 8;
    let hostile: Vec<Slot> = (0..MAX_SLOTS as u8)
        .map(|i| {
            let mut bytes = genuine.clone();
            bytes[2] = i; // distinct slot ids
            bytes[costs_at..costs_at + 4].copy_from_slice(&(256 * 1024u32).to_be_bytes());
            bytes[costs_at + 4..costs_at + 8].copy_from_slice(&16u32.to_be_bytes());
            Slot::decode(&bytes).unwrap()
        })
        .collect();
    let started = std::time::Instant::now();
    let result = unwrap_with_password(keyring.id(), GEN, &hostile, "correct horse battery");
    assert!(
        matches!(&result, Err(Error::LimitExceeded { what, .. }) if what.contains("Argon2 work")),
        "{result:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // A new slot that would push a keyring past the budget is refused too.
    let heavy = crate::crypto::password::PasswordParams {
        memory_kib: 256 * 1024,
        iterations: 16,
        parallelism: 1,
    };
    assert!(matches!(
        keyring.add_password_with(
            "Heavy",
            "another long passphrase here",
            heavy,
            FixedSlotInputs::fresh().unwrap()
        ),
        Err(Error::LimitExceeded { .. })
    ));
}
