//! Key slots: each holds one wrapped copy of the root key, plus its canonical binary encoding.
//!
//! # Slot encoding, version 1
//!
//! All integers are big-endian; lengths count bytes. A slot is encoded as its *public fields*
//! followed by its wrapped key:
//!
//! | size | field |
//! |------|-------|
//! | 1    | slot encoding version, `0x01` |
//! | 1    | kind: `0x01` passkey, `0x02` recovery key (others: `UnsupportedVersion`) |
//! | 16   | slot id |
//! | 8    | created at, unix seconds (u64) |
//! | 32   | salt (HKDF salt of this slot's KEK) |
//! | 2    | label length `L`, `0..=256` |
//! | L    | label, UTF-8 |
//! |      | *passkey kind only:* |
//! | 2    | credential id length `C`, `1..=1023` |
//! | C    | credential id (raw bytes, as WebAuthn's `rawId`) |
//! | 1    | RP id length `R`, `1..=253` |
//! | R    | RP id, UTF-8 |
//! | 1    | provider hint present: `0x00` no, `0x01` yes (others: `Corrupted`) |
//! | 0/16 | provider hint (the authenticator's AAGUID), when present |
//! |      | *end of public fields* |
//! | 60   | wrapped root key: nonce (12) \|\| AES-256-GCM ciphertext (32) \|\| tag (16) |
//!
//! A decoder rejects a length above its limit (`LimitExceeded`) or below its minimum
//! (`Corrupted`) before reading the field, input that ends early (`Truncated`), invalid UTF-8 and
//! trailing bytes (`Corrupted`). The longest slot is [`MAX_ENCODED_SLOT_LEN`] bytes.
//!
//! # Wrapping
//!
//! `wrapped = AES-256-GCM(KEK, nonce, plaintext = root key, aad)` with
//! `aad = "keepsake/v1/slot-aad" || keyring id (16) || public fields` (the bytes above minus the
//! wrapped key). Editing any public field, or copying the slot into another keyring, therefore
//! makes the unwrap fail with `WrongKey`. The KEK comes from [`crate::crypto::kdf`].

use crate::{
    crypto::{
        kdf::SLOT_SALT_LEN,
        labels,
        wrap::{self, WrappedKey, WRAPPED_KEY_LEN, WRAP_NONCE_LEN},
        Kek, RootKey,
    },
    keyring::{
        codec::Reader,
        ids::{KeyringId, SlotId},
    },
    Error, Result,
};

/// The slot encoding version this build writes and reads.
pub const SLOT_ENCODING_VERSION: u8 = 1;
/// Longest slot label, in UTF-8 bytes.
pub const MAX_LABEL_LEN: usize = 256;
/// Longest WebAuthn credential id accepted (WebAuthn allows up to 1023 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// Longest RP id (a DNS name), in bytes.
pub const MAX_RP_ID_LEN: usize = 253;
/// Length of an AAGUID, the provider hint.
pub const AAGUID_LEN: usize = 16;

const KIND_PASSKEY: u8 = 1;
const KIND_RECOVERY_KEY: u8 = 2;

/// Length of the fields every slot has before its label.
const FIXED_PREFIX_LEN: usize = 1 + 1 + SlotId::LEN + 8 + SLOT_SALT_LEN + 2;
/// The longest possible encoded slot (a passkey slot with every field at its maximum).
pub const MAX_ENCODED_SLOT_LEN: usize = FIXED_PREFIX_LEN
    + MAX_LABEL_LEN
    + 2
    + MAX_CREDENTIAL_ID_LEN
    + 1
    + MAX_RP_ID_LEN
    + 1
    + AAGUID_LEN
    + WRAPPED_KEY_LEN;

/// What unlocks a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// A passkey with the WebAuthn PRF extension; the KEK comes from its PRF output.
    Passkey {
        /// The WebAuthn credential id (raw bytes); selects this slot at unlock.
        credential_id: Vec<u8>,
        /// The relying party id the passkey belongs to (e.g. `chat.example.com`).
        rp_id: String,
        /// The provider's AAGUID, to show which password manager holds the passkey.
        provider_hint: Option<[u8; AAGUID_LEN]>,
    },
    /// The 64-character recovery key.
    RecoveryKey,
}

/// One wrapped copy of the root key with its public description.
///
/// Fields are read through accessors: a `Slot` always satisfies the encoding's limits, so
/// encoding it cannot fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub(crate) id: SlotId,
    pub(crate) label: String,
    pub(crate) created_at: u64,
    pub(crate) kind: SlotKind,
    pub(crate) salt: [u8; SLOT_SALT_LEN],
    pub(crate) wrapped: WrappedKey,
}

/// The public fields of a slot about to be sealed.
pub(crate) struct NewSlot {
    pub(crate) id: SlotId,
    pub(crate) label: String,
    pub(crate) created_at: u64,
    pub(crate) kind: SlotKind,
    pub(crate) salt: [u8; SLOT_SALT_LEN],
}

impl NewSlot {
    /// Checks the limits, then wraps `root` under `kek`, binding the public fields and keyring id.
    pub(crate) fn seal(
        self,
        keyring_id: &KeyringId,
        root: &RootKey,
        kek: &Kek,
        nonce: [u8; WRAP_NONCE_LEN],
    ) -> Result<Slot> {
        check_limits(&self.label, &self.kind)?;
        let mut slot = Slot {
            id: self.id,
            label: self.label,
            created_at: self.created_at,
            kind: self.kind,
            salt: self.salt,
            wrapped: WrappedKey::from_bytes([0; WRAPPED_KEY_LEN]),
        };
        slot.wrapped = wrap::wrap_root_key_with_nonce(kek, root, &slot.aad(keyring_id), nonce)?;
        Ok(slot)
    }
}

fn limit(what: &str, found: usize, max: usize) -> Result<()> {
    if found > max {
        return Err(Error::LimitExceeded {
            what: what.into(),
            found: found as u64,
            limit: max as u64,
        });
    }
    Ok(())
}

/// The limits of the encoding, for values that come from the caller rather than from bytes.
pub(crate) fn check_limits(label: &str, kind: &SlotKind) -> Result<()> {
    limit("slot label length", label.len(), MAX_LABEL_LEN)?;
    match kind {
        SlotKind::Passkey {
            credential_id,
            rp_id,
            ..
        } => check_passkey_fields(credential_id, rp_id),
        SlotKind::RecoveryKey => Ok(()),
    }
}

/// The limits on a passkey's credential id (1..=1023 bytes) and RP id (1..=253 bytes).
pub(crate) fn check_passkey_fields(credential_id: &[u8], rp_id: &str) -> Result<()> {
    limit(
        "credential id length",
        credential_id.len(),
        MAX_CREDENTIAL_ID_LEN,
    )?;
    limit("RP id length", rp_id.len(), MAX_RP_ID_LEN)?;
    if credential_id.is_empty() {
        return Err(Error::InvalidArgument("empty credential id".into()));
    }
    if rp_id.is_empty() {
        return Err(Error::InvalidArgument("empty RP id".into()));
    }
    Ok(())
}

/// Appends a length that [`check_limits`] or the decoder has already bounded.
fn push_len_u16(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
}

impl Slot {
    /// The slot's id.
    pub fn id(&self) -> &SlotId {
        &self.id
    }

    /// The user-visible label ("Pixel 9 passkey", "Recovery key").
    pub fn label(&self) -> &str {
        &self.label
    }

    /// When the slot was added, unix seconds.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// What unlocks the slot.
    pub fn kind(&self) -> &SlotKind {
        &self.kind
    }

    /// The credential id, for a passkey slot.
    pub fn credential_id(&self) -> Option<&[u8]> {
        match &self.kind {
            SlotKind::Passkey { credential_id, .. } => Some(credential_id),
            SlotKind::RecoveryKey => None,
        }
    }

    /// The HKDF salt of this slot's KEK.
    pub fn salt(&self) -> &[u8; SLOT_SALT_LEN] {
        &self.salt
    }

    /// The root key wrapped under this slot's KEK.
    pub fn wrapped_key(&self) -> &WrappedKey {
        &self.wrapped
    }

    /// Appends the public fields (everything but the wrapped key), as bound into the AAD.
    pub fn encode_public(&self, out: &mut Vec<u8>) {
        out.push(SLOT_ENCODING_VERSION);
        out.push(match self.kind {
            SlotKind::Passkey { .. } => KIND_PASSKEY,
            SlotKind::RecoveryKey => KIND_RECOVERY_KEY,
        });
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.salt);
        push_len_u16(out, self.label.len());
        out.extend_from_slice(self.label.as_bytes());
        if let SlotKind::Passkey {
            credential_id,
            rp_id,
            provider_hint,
        } = &self.kind
        {
            push_len_u16(out, credential_id.len());
            out.extend_from_slice(credential_id);
            out.push(u8::try_from(rp_id.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(rp_id.as_bytes());
            match provider_hint {
                Some(aaguid) => {
                    out.push(1);
                    out.extend_from_slice(aaguid);
                }
                None => out.push(0),
            }
        }
    }

    /// Appends the full slot encoding: public fields, then the wrapped key.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_public(out);
        out.extend_from_slice(self.wrapped.as_bytes());
    }

    /// The full slot encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Strictly decodes exactly one slot; trailing bytes are [`Error::Corrupted`].
    pub fn decode(bytes: &[u8]) -> Result<Slot> {
        let mut reader = Reader::new(bytes, "slot");
        let slot = Slot::read(&mut reader)?;
        reader.finish()?;
        Ok(slot)
    }

    /// Decodes one slot from the front of `reader`.
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Slot> {
        let version = reader.u8("encoding version")?;
        if version != SLOT_ENCODING_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "slot encoding version".into(),
                found: version.into(),
                supported: format!("version {SLOT_ENCODING_VERSION}"),
            });
        }
        let kind_tag = reader.u8("kind")?;
        if kind_tag != KIND_PASSKEY && kind_tag != KIND_RECOVERY_KEY {
            return Err(Error::UnsupportedVersion {
                what: "slot kind".into(),
                found: kind_tag.into(),
                supported: "1 (passkey) and 2 (recovery key)".into(),
            });
        }
        let id = SlotId::from_bytes(reader.array("id")?);
        let created_at = reader.u64("created_at")?;
        let salt = reader.array("salt")?;
        let label_len = reader.u16("label length")?.into();
        let label = reader.utf8_with_len(label_len, 0, MAX_LABEL_LEN, "label")?;
        let kind = if kind_tag == KIND_PASSKEY {
            let id_len = reader.u16("credential id length")?.into();
            let credential_id = reader
                .bytes_with_len(id_len, 1, MAX_CREDENTIAL_ID_LEN, "credential id")?
                .to_vec();
            let rp_len = reader.u8("RP id length")?.into();
            let rp_id = reader.utf8_with_len(rp_len, 1, MAX_RP_ID_LEN, "RP id")?;
            let provider_hint = match reader.u8("provider hint flag")? {
                0 => None,
                1 => Some(reader.array("provider hint")?),
                other => {
                    return Err(Error::Corrupted {
                        what: format!("slot provider hint flag is {other}, expected 0 or 1"),
                    })
                }
            };
            SlotKind::Passkey {
                credential_id,
                rp_id,
                provider_hint,
            }
        } else {
            SlotKind::RecoveryKey
        };
        let wrapped = WrappedKey::from_bytes(reader.array("wrapped key")?);
        Ok(Slot {
            id,
            label,
            created_at,
            kind,
            salt,
            wrapped,
        })
    }

    /// The AES-GCM associated data of this slot in keyring `keyring_id`.
    pub fn aad(&self, keyring_id: &KeyringId) -> Vec<u8> {
        let mut aad = Vec::with_capacity(labels::SLOT_AAD.len() + KeyringId::LEN + 128);
        aad.extend_from_slice(labels::SLOT_AAD);
        aad.extend_from_slice(keyring_id.as_bytes());
        self.encode_public(&mut aad);
        aad
    }

    /// Unwraps the root key with `kek`; [`Error::WrongKey`] on any mismatch.
    pub(crate) fn unwrap_root_key(&self, keyring_id: &KeyringId, kek: &Kek) -> Result<RootKey> {
        wrap::unwrap_root_key(kek, &self.wrapped, &self.aad(keyring_id))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::crypto::{kdf, PrfOutput};

    const KEYRING: KeyringId = KeyringId::from_bytes([0x11; 16]);

    fn root() -> RootKey {
        RootKey::from_bytes([0x22; 32])
    }

    fn prf() -> PrfOutput {
        PrfOutput::from_slice(&[0x33; 32]).unwrap()
    }

    /// A sealed passkey slot and the KEK that opens it.
    fn passkey_slot() -> (Slot, Kek) {
        let salt = [0x44; SLOT_SALT_LEN];
        let kek = kdf::passkey_kek(&prf(), &salt, b"cred").unwrap();
        let slot = NewSlot {
            id: SlotId::from_bytes([0x55; 16]),
            label: "Pixel passkey".into(),
            created_at: 1_700_000_000,
            kind: SlotKind::Passkey {
                credential_id: b"cred".to_vec(),
                rp_id: "chat.example.com".into(),
                provider_hint: Some([0x66; 16]),
            },
            salt,
        }
        .seal(&KEYRING, &root(), &kek, [0x77; WRAP_NONCE_LEN])
        .unwrap();
        (slot, kek)
    }

    fn recovery_slot() -> Slot {
        let salt = [0x88; SLOT_SALT_LEN];
        let kek = kdf::recovery_kek(&[0x99; 32], &salt).unwrap();
        NewSlot {
            id: SlotId::from_bytes([0xaa; 16]),
            label: String::new(),
            created_at: 0,
            kind: SlotKind::RecoveryKey,
            salt,
        }
        .seal(&KEYRING, &root(), &kek, [0xbb; WRAP_NONCE_LEN])
        .unwrap()
    }

    #[test]
    fn encodings_round_trip_and_have_the_documented_size() {
        let (passkey, kek) = passkey_slot();
        let bytes = passkey.to_bytes();
        assert_eq!(
            bytes.len(),
            FIXED_PREFIX_LEN + 13 + 2 + 4 + 1 + 16 + 1 + 16 + WRAPPED_KEY_LEN
        );
        let decoded = Slot::decode(&bytes).unwrap();
        assert_eq!(decoded, passkey);
        assert_eq!(decoded.unwrap_root_key(&KEYRING, &kek).unwrap(), root());

        let recovery = recovery_slot();
        let bytes = recovery.to_bytes();
        assert_eq!(bytes.len(), FIXED_PREFIX_LEN + WRAPPED_KEY_LEN);
        assert_eq!(Slot::decode(&bytes).unwrap(), recovery);
    }

    /// A named edit of one slot field.
    type Edit = (&'static str, fn(&mut Slot));

    /// Each public field, edited, makes the unwrap fail even with the right KEK.
    #[test]
    fn every_public_field_is_bound_into_the_wrap() {
        let (original, kek) = passkey_slot();
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
            ("provider hint removed", |s| {
                if let SlotKind::Passkey { provider_hint, .. } = &mut s.kind {
                    *provider_hint = None;
                }
            }),
            ("provider hint changed", |s| {
                if let SlotKind::Passkey {
                    provider_hint: Some(hint),
                    ..
                } = &mut s.kind
                {
                    hint[15] ^= 1;
                }
            }),
        ];
        for (field, edit) in edits {
            let mut slot = original.clone();
            edit(&mut slot);
            assert_ne!(slot, original, "{field} edit changed nothing");
            assert!(
                matches!(slot.unwrap_root_key(&KEYRING, &kek), Err(Error::WrongKey)),
                "editing the {field} must fail the unwrap"
            );
        }
        let other_keyring = KeyringId::from_bytes([0x12; 16]);
        assert!(matches!(
            original.unwrap_root_key(&other_keyring, &kek),
            Err(Error::WrongKey)
        ));
        assert_eq!(original.unwrap_root_key(&KEYRING, &kek).unwrap(), root());
    }

    /// Every single-bit change of a stored slot is caught: it either fails to decode or fails
    /// to unwrap with the right KEK; it never yields a root key.
    #[test]
    fn every_bit_flip_fails_to_decode_or_to_unwrap() {
        let (slot, kek) = passkey_slot();
        let recovery = recovery_slot();
        let recovery_kek = kdf::recovery_kek(&[0x99; 32], recovery.salt()).unwrap();
        for (slot, kek) in [(slot, kek), (recovery, recovery_kek)] {
            let bytes = slot.to_bytes();
            let (mut undecodable, mut wrong_key) = (0, 0);
            for bit in 0..bytes.len() * 8 {
                let mut edited = bytes.clone();
                edited[bit / 8] ^= 1 << (bit % 8);
                match Slot::decode(&edited) {
                    Err(_) => undecodable += 1,
                    Ok(decoded) => {
                        assert!(
                            matches!(
                                decoded.unwrap_root_key(&KEYRING, &kek),
                                Err(Error::WrongKey)
                            ),
                            "bit {bit}"
                        );
                        wrong_key += 1;
                    }
                }
            }
            assert_eq!(undecodable + wrong_key, bytes.len() * 8);
            assert!(undecodable > 0 && wrong_key > 0);
        }
    }

    #[test]
    fn every_proper_prefix_is_truncated_and_trailing_bytes_are_corrupted() {
        for slot in [passkey_slot().0, recovery_slot()] {
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

    fn decode_edited(at: usize, replacement: &[u8]) -> Result<Slot> {
        let mut bytes = passkey_slot().0.to_bytes();
        bytes[at..at + replacement.len()].copy_from_slice(replacement);
        Slot::decode(&bytes)
    }

    #[test]
    fn versions_and_kinds_this_build_does_not_know_are_unsupported() {
        assert!(matches!(
            decode_edited(0, &[2]),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
        for kind in [0u8, 3, 255] {
            assert!(matches!(
                decode_edited(1, &[kind]),
                Err(Error::UnsupportedVersion { what, found, .. })
                    if what == "slot kind" && found == u64::from(kind)
            ));
        }
    }

    #[test]
    fn lengths_beyond_the_limits_are_rejected_before_reading() {
        // Each oversized length is rejected as a limit, not as a truncation, although the
        // input is far shorter than the declared length: nothing was read or allocated.
        let cases: [(usize, &[u8], u64); 4] = [
            (LABEL_LEN_AT, &[0x01, 0x01], 257),
            (CREDENTIAL_LEN_AT, &[0x04, 0x00], 1024),
            (CREDENTIAL_LEN_AT, &[0xff, 0xff], 65535),
            (RP_LEN_AT, &[254], 254),
        ];
        for (at, length, expected) in cases {
            assert!(
                matches!(
                    decode_edited(at, length),
                    Err(Error::LimitExceeded { found, .. }) if found == expected
                ),
                "length {expected} at {at}"
            );
        }
    }

    #[test]
    fn malformed_fields_are_corrupted() {
        let cases: [(usize, &[u8]); 4] = [
            (CREDENTIAL_LEN_AT, &[0, 0]),
            (RP_LEN_AT, &[0]),
            (HINT_FLAG_AT, &[2]),
            (FIXED_PREFIX_LEN, &[0xff]), // first label byte: invalid UTF-8
        ];
        for (at, replacement) in cases {
            assert!(
                matches!(decode_edited(at, replacement), Err(Error::Corrupted { .. })),
                "{replacement:?} at {at}"
            );
        }
    }

    #[test]
    fn sealing_enforces_the_limits() {
        let salt = [0; SLOT_SALT_LEN];
        let kek = kdf::recovery_kek(&[1; 32], &salt).unwrap();
        let new = |label: String| NewSlot {
            id: SlotId::from_bytes([0; 16]),
            label,
            created_at: 0,
            kind: SlotKind::RecoveryKey,
            salt,
        };
        assert!(new("é".repeat(128))
            .seal(&KEYRING, &root(), &kek, [0; 12])
            .is_ok());
        assert!(matches!(
            new("a".repeat(257)).seal(&KEYRING, &root(), &kek, [0; 12]),
            Err(Error::LimitExceeded { found: 257, .. })
        ));
    }

    fn any_kind() -> impl Strategy<Value = SlotKind> {
        prop_oneof![
            Just(SlotKind::RecoveryKey),
            (
                prop::collection::vec(any::<u8>(), 1..=MAX_CREDENTIAL_ID_LEN),
                "[a-z0-9.-]{1,253}",
                prop::option::of(any::<[u8; 16]>()),
            )
                .prop_map(|(credential_id, rp_id, provider_hint)| SlotKind::Passkey {
                    credential_id,
                    rp_id,
                    provider_hint,
                }),
        ]
    }

    pub(crate) fn any_slot() -> impl Strategy<Value = Slot> {
        (
            any::<[u8; 16]>(),
            "\\PC{0,64}",
            any::<u64>(),
            any_kind(),
            any::<[u8; 32]>(),
            prop::collection::vec(any::<u8>(), WRAPPED_KEY_LEN),
        )
            .prop_filter("label within limit", |(_, label, ..)| {
                label.len() <= MAX_LABEL_LEN
            })
            .prop_map(|(id, label, created_at, kind, salt, wrapped)| Slot {
                id: SlotId::from_bytes(id),
                label,
                created_at,
                kind,
                salt,
                wrapped: WrappedKey::from_bytes(wrapped.try_into().unwrap()),
            })
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
}
