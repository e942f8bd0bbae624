use proptest::prelude::*;

use super::{encoding::FIXED_PREFIX_LEN, *};
use crate::crypto::{
    kdf::{self, KekVersion},
    password::PasswordParams,
    wrap::WRAPPED_KEY_LEN,
    PrfOutput,
};

/// The keyring authentication secret of these tests.
fn auth() -> AuthSecret {
    AuthSecret::from_bytes([0x3c; 32])
}

const KEYRING: KeyringId = KeyringId::from_bytes([0x11; 16]);
const GENERATION: u64 = 7;

fn root() -> RootKey {
    RootKey::from_bytes([0x22; 32])
}

fn prf() -> PrfOutput {
    PrfOutput::from_slice(&[0x33; 32]).unwrap()
}

fn seeds(start: u8) -> SlotSeeds {
    SlotSeeds {
        key_pair: [start; 32],
        nonce: [start.wrapping_add(1); WRAP_NONCE_LEN],
        seal: [start.wrapping_add(2); 32],
    }
}

fn passkey_kind() -> SlotKind {
    SlotKind::Passkey {
        credential_id: b"cred".to_vec(),
        rp_id: "chat.example.com".into(),
        provider_hint: Some([0x66; 16]),
        backup: Some(BackupFlags {
            eligible: true,
            state: true,
        }),
    }
}

/// A sealed version 3 passkey slot and the KEK that opens it.
pub(crate) fn passkey_slot() -> (Slot, Kek) {
    let salt = [0x44; SLOT_SALT_LEN];
    let kek = kdf::passkey_kek(&prf(), &salt, b"cred", KekVersion::V3).unwrap();
    let slot = NewSlot {
        id: SlotId::from_bytes([0x55; 16]),
        label: "Pixel passkey".into(),
        created_at: 1_700_000_000,
        kind: passkey_kind(),
        salt,
    }
    .seal(&KEYRING, GENERATION, &root(), &auth(), &kek, &seeds(0x77))
    .unwrap();
    (slot, kek)
}

fn recovery_slot() -> (Slot, Kek) {
    let salt = [0x88; SLOT_SALT_LEN];
    let kek = kdf::recovery_kek(&[0x99; 32], &salt, KekVersion::V3).unwrap();
    let slot = NewSlot {
        id: SlotId::from_bytes([0xaa; 16]),
        label: String::new(),
        created_at: 0,
        kind: SlotKind::RecoveryKey,
        salt,
    }
    .seal(&KEYRING, GENERATION, &root(), &auth(), &kek, &seeds(0xbb))
    .unwrap();
    (slot, kek)
}

fn password_slot() -> (Slot, Kek) {
    let salt = [0x12; SLOT_SALT_LEN];
    let kek = Kek::from_bytes([0x13; 32]);
    let slot = NewSlot {
        id: SlotId::from_bytes([0x14; 16]),
        label: "Password".into(),
        created_at: 5,
        kind: SlotKind::Password {
            params: PasswordParams {
                memory_kib: 64,
                iterations: 2,
                parallelism: 1,
            },
        },
        salt,
    }
    .seal(&KEYRING, GENERATION, &root(), &auth(), &kek, &seeds(0x15))
    .unwrap();
    (slot, kek)
}

/// A version 1 passkey slot as the previous format wrote it (the root key under the KEK).
pub(crate) fn v1_passkey_slot() -> (Slot, Kek) {
    let salt = [0x44; SLOT_SALT_LEN];
    let kek = kdf::passkey_kek(&prf(), &salt, b"cred", KekVersion::V1).unwrap();
    let mut slot = Slot {
        id: SlotId::from_bytes([0x55; 16]),
        label: "Pixel passkey".into(),
        created_at: 1_700_000_000,
        kind: SlotKind::Passkey {
            credential_id: b"cred".to_vec(),
            rp_id: "chat.example.com".into(),
            provider_hint: Some([0x66; 16]),
            backup: None,
        },
        salt,
        sealing: Sealing::V1 {
            wrapped: WrappedKey::from_bytes([0; WRAPPED_KEY_LEN]),
        },
    };
    slot.sealing = Sealing::V1 {
        wrapped: wrap::wrap_root_key_with_nonce(&kek, &root(), &slot.aad(&KEYRING), [0x77; 12])
            .unwrap(),
    };
    (slot, kek)
}

/// A version 2 slot exactly as the previous build sealed it (for frozen vectors and tests):
/// the private key of `seeds.key_pair` wrapped under the version 2 `kek` with `seeds.nonce`,
/// `root` sealed in base mode with `seeds.seal`.
pub(crate) fn seal_v2(
    new: NewSlot,
    keyring_id: &KeyringId,
    generation: u64,
    root: &RootKey,
    kek: &Kek,
    seeds: &SlotSeeds,
) -> Slot {
    let (secret, public_key) = seal::derive_slot_key_pair(&seeds.key_pair);
    let mut slot = Slot {
        id: new.id,
        label: new.label,
        created_at: new.created_at,
        kind: new.kind,
        salt: new.salt,
        sealing: Sealing::V2 {
            public_key,
            sealed_private_key: WrappedKey::from_bytes([0; WRAPPED_KEY_LEN]),
            sealed_root: SealedRootKey::from_bytes([0; seal::SEALED_ROOT_KEY_LEN]),
        },
    };
    let wrapped =
        wrap::wrap_secret_with_nonce(kek, &secret.to_bytes(), &slot.aad(keyring_id), seeds.nonce)
            .unwrap();
    let sealed = seal::seal_root_key(
        &public_key,
        root,
        &slot.root_seal_aad(keyring_id, generation),
        &SealMode::Base,
        seeds.seal,
    )
    .unwrap();
    slot.sealing = Sealing::V2 {
        public_key,
        sealed_private_key: wrapped,
        sealed_root: sealed,
    };
    slot
}

/// A version 2 passkey slot as the previous build wrote it: the private key under the KEK, the
/// root key sealed in HPKE base mode (which anyone with the public key can do).
pub(crate) fn v2_passkey_slot() -> (Slot, Kek) {
    let salt = [0x45; SLOT_SALT_LEN];
    let kek = kdf::passkey_kek(&prf(), &salt, b"cred", KekVersion::V2).unwrap();
    let new = NewSlot {
        id: SlotId::from_bytes([0x47; 16]),
        label: "Old passkey".into(),
        created_at: 1_600_000_000,
        kind: passkey_kind(),
        salt,
    };
    let seeds = SlotSeeds {
        key_pair: [0x46; 32],
        nonce: [0x48; 12],
        seal: [0x49; 32],
    };
    (
        seal_v2(new, &KEYRING, GENERATION, &root(), &kek, &seeds),
        kek,
    )
}

fn all_slots() -> Vec<(Slot, Kek)> {
    vec![
        passkey_slot(),
        recovery_slot(),
        password_slot(),
        v1_passkey_slot(),
        v2_passkey_slot(),
    ]
}

#[test]
fn encodings_round_trip_open_and_have_the_documented_size() {
    let tail = SLOT_KEY_LEN + wrap::SEALED_SLOT_SECRET_LEN + seal::SEALED_ROOT_KEY_LEN;
    let v2_tail = SLOT_KEY_LEN + WRAPPED_KEY_LEN + seal::SEALED_ROOT_KEY_LEN;
    let expected = [
        FIXED_PREFIX_LEN + 13 + 2 + 4 + 1 + 16 + 1 + 16 + 1 + tail,
        FIXED_PREFIX_LEN + tail,
        FIXED_PREFIX_LEN + 8 + 9 + tail,
        FIXED_PREFIX_LEN + 13 + 2 + 4 + 1 + 16 + 1 + 16 + WRAPPED_KEY_LEN,
        FIXED_PREFIX_LEN + 11 + 2 + 4 + 1 + 16 + 1 + 16 + 1 + v2_tail,
    ];
    for ((slot, kek), len) in all_slots().into_iter().zip(expected) {
        let bytes = slot.to_bytes();
        assert_eq!(bytes.len(), len, "{:?}", slot.kind());
        assert!(bytes.len() <= MAX_ENCODED_SLOT_LEN);
        let decoded = Slot::decode(&bytes).unwrap();
        assert_eq!(decoded, slot);
        assert_eq!(decoded.open(&KEYRING, GENERATION, &kek).unwrap(), root());
    }
}

#[test]
fn a_v3_slot_opens_only_its_generation_and_keyring() {
    let (slot, kek) = passkey_slot();
    // The private part opens, the seal (bound to generation 7) does not: tampering.
    assert!(matches!(
        slot.open(&KEYRING, GENERATION + 1, &kek),
        Err(Error::Corrupted { what }) if what.contains("seal")
    ));
    assert!(matches!(
        slot.open(&KeyringId::from_bytes([0x12; 16]), GENERATION, &kek),
        Err(Error::WrongKey)
    ));
    let opened = slot.open(&KEYRING, GENERATION, &kek).unwrap();
    assert!(
        matches!(&opened.authenticity, Authenticity::Sealed(a) if bool::from(a.ct_eq(&auth())))
    );
}

/// The finding of issue 18 at the slot level: a version 3 slot refuses a root key sealed by
/// someone who has only its public fields; a version 2 slot opens it but says it is not
/// authenticated.
#[test]
fn a_root_key_sealed_by_the_store_is_refused_by_v3_and_unauthenticated_in_v2() {
    let forged_root = RootKey::from_bytes([0xee; 32]);
    for (slot, kek) in [passkey_slot(), v2_passkey_slot()] {
        let mut forged = slot.clone();
        let public_key = *slot.public_key().unwrap();
        let sealed = seal::seal_root_key(
            &public_key,
            &forged_root,
            &slot.root_seal_aad(&KEYRING, GENERATION),
            &SealMode::Base,
            [0x5e; 32],
        )
        .unwrap();
        match &mut forged.sealing {
            Sealing::V2 { sealed_root, .. } | Sealing::V3 { sealed_root, .. } => {
                *sealed_root = sealed
            }
            Sealing::V1 { .. } => unreachable!(),
        }
        let opened = forged.open(&KEYRING, GENERATION, &kek);
        if slot.version() == 3 {
            assert!(
                matches!(&opened, Err(Error::Corrupted { what }) if what.contains(&slot.id().to_string())),
                "{opened:?}"
            );
        } else {
            let opened = opened.unwrap();
            assert_eq!(opened, forged_root);
            assert!(!opened.authenticity.is_authenticated());
        }
    }
}

#[test]
fn resealing_hands_a_new_root_key_to_the_same_secret() {
    let (slot, kek) = recovery_slot();
    let new_root = RootKey::from_bytes([0x5a; 32]);
    let resealed = slot
        .resealed(&KEYRING, GENERATION + 1, &new_root, &auth(), [0x21; 32])
        .unwrap();
    assert_eq!(resealed.public_key(), slot.public_key());
    assert_eq!(
        resealed.open(&KEYRING, GENERATION + 1, &kek).unwrap(),
        new_root
    );
    assert!(matches!(
        resealed.open(&KEYRING, GENERATION, &kek),
        Err(Error::Corrupted { .. })
    ));
    for (legacy, _) in [v1_passkey_slot(), v2_passkey_slot()] {
        assert!(matches!(
            legacy.resealed(&KEYRING, 1, &new_root, &auth(), [0; 32]),
            Err(Error::LegacySlot { version, .. }) if version == legacy.version()
        ));
    }
}

#[test]
fn a_legacy_slot_upgrades_to_v3_with_its_own_secret_only() {
    for (legacy, legacy_kek) in [v1_passkey_slot(), v2_passkey_slot()] {
        let new_kek = kdf::passkey_kek(&prf(), legacy.salt(), b"cred", KekVersion::V3).unwrap();
        let wrong = Kek::from_bytes([0x01; 32]);
        assert!(matches!(
            legacy.upgraded(
                &KEYRING,
                GENERATION,
                &root(),
                &auth(),
                &wrong,
                &new_kek,
                &seeds(1)
            ),
            Err(Error::WrongKey)
        ));
        let upgraded = legacy
            .upgraded(
                &KEYRING,
                GENERATION,
                &root(),
                &auth(),
                &legacy_kek,
                &new_kek,
                &seeds(2),
            )
            .unwrap();
        assert_eq!(upgraded.version(), 3);
        assert_eq!(
            (upgraded.id(), upgraded.label(), upgraded.salt()),
            (legacy.id(), legacy.label(), legacy.salt())
        );
        let opened = upgraded.open(&KEYRING, GENERATION, &new_kek).unwrap();
        assert_eq!(opened, root());
        assert!(opened.authenticity.is_authenticated());
    }
}

/// A named edit of one slot field.
type Edit = (&'static str, fn(&mut Slot));

/// Each public field, edited, makes the open fail even with the right KEK.
#[test]
fn every_public_field_is_bound_into_the_seals() {
    let edits: Vec<Edit> = vec![
        ("id", |s| s.id = SlotId::from_bytes([0; 16])),
        ("label", |s| s.label.push('!')),
        ("created_at", |s| s.created_at += 1),
        ("salt", |s| s.salt[0] ^= 1),
        ("kind", |s| s.kind = SlotKind::RecoveryKey),
        ("credential id", |s| {
            if let SlotKind::Passkey { credential_id, .. } = &mut s.kind {
                credential_id.push(0);
            }
        }),
        ("rp id", |s| {
            if let SlotKind::Passkey { rp_id, .. } = &mut s.kind {
                *rp_id = "evil.example.com".into();
            }
        }),
        ("provider hint", |s| {
            if let SlotKind::Passkey { provider_hint, .. } = &mut s.kind {
                *provider_hint = None;
            }
        }),
        ("backup flags", |s| {
            if let SlotKind::Passkey { backup, .. } = &mut s.kind {
                *backup = Some(BackupFlags {
                    eligible: true,
                    state: false,
                });
            }
        }),
        ("public key", |s| {
            if let Sealing::V2 { public_key, .. } | Sealing::V3 { public_key, .. } = &mut s.sealing
            {
                public_key[0] ^= 1;
            }
        }),
    ];
    for (original, kek) in [passkey_slot(), v1_passkey_slot(), v2_passkey_slot()] {
        for (field, edit) in &edits {
            let mut slot = original.clone();
            edit(&mut slot);
            if slot == original || (original.version() == 1 && *field == "backup flags") {
                continue; // a field version 1 does not have
            }
            assert!(
                matches!(slot.open(&KEYRING, GENERATION, &kek), Err(Error::WrongKey)),
                "editing the {field} of a v{} slot must fail the open",
                original.version()
            );
        }
        assert_eq!(original.open(&KEYRING, GENERATION, &kek).unwrap(), root());
    }
    let (password, kek) = password_slot();
    let mut edited = password.clone();
    edited.kind = SlotKind::Password {
        params: PasswordParams {
            memory_kib: 65,
            iterations: 2,
            parallelism: 1,
        },
    };
    assert!(matches!(
        edited.open(&KEYRING, GENERATION, &kek),
        Err(Error::WrongKey)
    ));
}

/// Every single-bit change of a stored slot is caught: it either fails to decode or fails to
/// open with the right KEK (a flip in a version 3 seal is tampering: `Corrupted`); it never
/// yields a root key.
#[test]
fn every_bit_flip_fails_to_decode_or_to_open() {
    for (slot, kek) in all_slots() {
        let bytes = slot.to_bytes();
        let (mut undecodable, mut refused) = (0, 0);
        for bit in 0..bytes.len() * 8 {
            let mut edited = bytes.clone();
            edited[bit / 8] ^= 1 << (bit % 8);
            match Slot::decode(&edited) {
                Err(_) => undecodable += 1,
                Ok(decoded) => {
                    let in_seal = bit / 8 >= bytes.len() - seal::SEALED_ROOT_KEY_LEN;
                    let opened = decoded.open(&KEYRING, GENERATION, &kek);
                    assert!(
                        match opened {
                            Err(Error::WrongKey) => true,
                            Err(Error::Corrupted { .. }) => slot.version() == 3 && in_seal,
                            _ => false,
                        },
                        "bit {bit} of a v{} slot",
                        slot.version()
                    );
                    refused += 1;
                }
            }
        }
        assert_eq!(undecodable + refused, bytes.len() * 8);
        assert!(undecodable > 0 && refused > 0);
    }
}

#[test]
fn every_proper_prefix_is_truncated_and_trailing_bytes_are_corrupted() {
    for (slot, _) in all_slots() {
        let bytes = slot.to_bytes();
        for len in 0..bytes.len() {
            assert!(
                matches!(Slot::decode(&bytes[..len]), Err(Error::Truncated { .. })),
                "prefix of {len} bytes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Slot::decode(&longer),
            Err(Error::Corrupted { .. })
        ));
    }
}

/// Offsets into the passkey slot encoding of `passkey_slot()`.
const LABEL_LEN_AT: usize = FIXED_PREFIX_LEN - 2;
const CREDENTIAL_LEN_AT: usize = FIXED_PREFIX_LEN + 13;
const RP_LEN_AT: usize = CREDENTIAL_LEN_AT + 2 + 4;
const HINT_FLAG_AT: usize = RP_LEN_AT + 1 + 16;
const BACKUP_FLAGS_AT: usize = HINT_FLAG_AT + 1 + 16;
/// Offset of the Argon2 memory in `password_slot()` (label "Password").
const PASSWORD_MEMORY_AT: usize = FIXED_PREFIX_LEN + 8;

fn decode_edited(slot: Slot, at: usize, replacement: &[u8]) -> Result<Slot> {
    let mut bytes = slot.to_bytes();
    bytes[at..at + replacement.len()].copy_from_slice(replacement);
    Slot::decode(&bytes)
}

#[test]
fn versions_and_kinds_this_build_does_not_know_are_unsupported() {
    for version in [0u8, 4, 255] {
        assert!(matches!(
            decode_edited(passkey_slot().0, 0, &[version]),
            Err(Error::UnsupportedVersion { found, .. }) if found == u64::from(version)
        ));
    }
    for kind in [0u8, 4, 255] {
        assert!(matches!(
            decode_edited(passkey_slot().0, 1, &[kind]),
            Err(Error::UnsupportedVersion { what, found, .. })
                if what == "slot kind" && found == u64::from(kind)
        ));
    }
    // The password kind does not exist in version 1.
    assert!(matches!(
        decode_edited(v1_passkey_slot().0, 1, &[3]),
        Err(Error::UnsupportedVersion { what, found: 3, .. }) if what == "slot kind"
    ));
}

#[test]
fn lengths_and_costs_beyond_the_limits_are_rejected_before_reading() {
    // Each oversized length is rejected as a limit, not as a truncation, although the input
    // is far shorter than the declared length: nothing was read or allocated.
    let cases: [(Slot, usize, &[u8], u64); 6] = [
        (passkey_slot().0, LABEL_LEN_AT, &[0x01, 0x01], 257),
        (passkey_slot().0, CREDENTIAL_LEN_AT, &[0x04, 0x00], 1024),
        (passkey_slot().0, CREDENTIAL_LEN_AT, &[0xff, 0xff], 65535),
        (passkey_slot().0, RP_LEN_AT, &[254], 254),
        (
            password_slot().0,
            PASSWORD_MEMORY_AT,
            &[0, 4, 0, 1],
            262_145,
        ),
        (
            password_slot().0,
            PASSWORD_MEMORY_AT + 4,
            &[0, 0, 0, 17],
            17,
        ),
    ];
    for (slot, at, length, expected) in cases {
        assert!(
            matches!(
                decode_edited(slot, at, length),
                Err(Error::LimitExceeded { found, .. }) if found == expected
            ),
            "length {expected} at {at}"
        );
    }
}

#[test]
fn malformed_fields_are_corrupted() {
    let cases: [(Slot, usize, &[u8]); 8] = [
        (passkey_slot().0, CREDENTIAL_LEN_AT, &[0, 0]),
        (passkey_slot().0, RP_LEN_AT, &[0]),
        (passkey_slot().0, HINT_FLAG_AT, &[2]),
        (passkey_slot().0, FIXED_PREFIX_LEN, &[0xff]), // first label byte: invalid UTF-8
        (passkey_slot().0, BACKUP_FLAGS_AT, &[0x05]),  // BS without BE
        (passkey_slot().0, BACKUP_FLAGS_AT, &[0x02]),  // BE without "reported"
        (password_slot().0, PASSWORD_MEMORY_AT + 4, &[0, 0, 0, 0]),
        (password_slot().0, PASSWORD_MEMORY_AT + 8, &[0]),
    ];
    for (slot, at, replacement) in cases {
        assert!(
            matches!(
                decode_edited(slot, at, replacement),
                Err(Error::Corrupted { .. })
            ),
            "{replacement:?} at {at}"
        );
    }
}

#[test]
fn sealing_enforces_the_limits() {
    let salt = [0; SLOT_SALT_LEN];
    let kek = Kek::from_bytes([1; 32]);
    let new = |label: String| NewSlot {
        id: SlotId::from_bytes([0; 16]),
        label,
        created_at: 0,
        kind: SlotKind::RecoveryKey,
        salt,
    };
    assert!(new("é".repeat(128))
        .seal(&KEYRING, 1, &root(), &auth(), &kek, &seeds(0))
        .is_ok());
    assert!(matches!(
        new("a".repeat(257)).seal(&KEYRING, 1, &root(), &auth(), &kek, &seeds(0)),
        Err(Error::LimitExceeded { found: 257, .. })
    ));
}

fn any_kind() -> impl Strategy<Value = SlotKind> {
    prop_oneof![
        Just(SlotKind::RecoveryKey),
        (1u32..=16, 1u8..=4, 32u32..=MAX_TEST_MEMORY).prop_map(
            |(iterations, parallelism, memory_kib)| {
                SlotKind::Password {
                    params: PasswordParams {
                        memory_kib,
                        iterations,
                        parallelism,
                    },
                }
            }
        ),
        (
            prop::collection::vec(any::<u8>(), 1..=MAX_CREDENTIAL_ID_LEN),
            "[a-z0-9.-]{1,253}",
            prop::option::of(any::<[u8; 16]>()),
            prop::option::of((any::<bool>(), any::<bool>())),
        )
            .prop_map(|(credential_id, rp_id, provider_hint, flags)| {
                SlotKind::Passkey {
                    credential_id,
                    rp_id,
                    provider_hint,
                    backup: flags.map(|(eligible, state)| BackupFlags {
                        eligible,
                        state: eligible && state,
                    }),
                }
            }),
    ]
}

const MAX_TEST_MEMORY: u32 = 1 << 18;

/// Any well-formed version 3 slot (its sealed bytes are random).
pub(crate) fn any_slot() -> impl Strategy<Value = Slot> {
    (
        any::<[u8; 16]>(),
        "\\PC{0,64}",
        any::<u64>(),
        any_kind(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        prop::collection::vec(
            any::<u8>(),
            wrap::SEALED_SLOT_SECRET_LEN + seal::SEALED_ROOT_KEY_LEN,
        ),
    )
        .prop_filter("label within limit", |(_, label, ..)| {
            label.len() <= MAX_LABEL_LEN
        })
        .prop_map(
            |(id, label, created_at, kind, salt, public_key, sealed)| Slot {
                id: SlotId::from_bytes(id),
                label,
                created_at,
                kind,
                salt,
                sealing: Sealing::V3 {
                    public_key,
                    sealed_secret: SealedSlotSecret::from_bytes(
                        sealed[..wrap::SEALED_SLOT_SECRET_LEN].try_into().unwrap(),
                    ),
                    sealed_root: SealedRootKey::from_bytes(
                        sealed[wrap::SEALED_SLOT_SECRET_LEN..].try_into().unwrap(),
                    ),
                },
            },
        )
}

proptest! {
    #[test]
    fn any_slot_round_trips(slot in any_slot()) {
        let bytes = slot.to_bytes();
        prop_assert!(bytes.len() <= MAX_ENCODED_SLOT_LEN);
        prop_assert_eq!(Slot::decode(&bytes)?, slot);
    }

    #[test]
    fn decoding_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Slot::decode(&bytes);
    }

    #[test]
    fn decoding_edited_slots_never_panics(
        slot in any_slot(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = slot.to_bytes();
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(decoded) = Slot::decode(&bytes) {
            prop_assert_eq!(decoded.to_bytes(), bytes, "decoding is canonical");
        }
    }
}
