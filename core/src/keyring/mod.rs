//! The keyring: the root key and the key slots that wrap it.
//!
//! A keyring has a random 16-byte id, a random 32-byte PRF input shared by all its passkey slots
//! (so a plain WebAuthn `eval.first` works with every provider, and a discoverable sign-in on a new
//! device finds the slot by credential id), and up to [`MAX_SLOTS`] slots. Adding or removing a
//! slot never changes the root key, so backups already made stay readable.
//!
//! Slot layout and wrapping: [`slot`]. Recovery key format: [`recovery_key`]. Serialized public
//! keyring: [`public`].

pub(crate) mod codec;
mod ids;
pub mod public;
pub mod recovery_key;
pub mod slot;
mod unlock;

use std::time::{SystemTime, UNIX_EPOCH};

pub use ids::{KeyringId, SlotId};
pub use recovery_key::RecoveryKey;
pub use slot::{Slot, SlotKind};
pub use unlock::{unwrap_with_passkey, unwrap_with_recovery_key};

use crate::{
    crypto::{
        kdf::{self, SLOT_SALT_LEN},
        random_bytes,
        wrap::WRAP_NONCE_LEN,
        KeyringMacKey, PrfOutput, RootKey,
    },
    Error, Result,
};
use slot::NewSlot;

/// Most slots a keyring (and a backup header) may hold.
pub const MAX_SLOTS: usize = 32;
/// Length of the keyring-wide WebAuthn PRF input.
pub const PRF_INPUT_LEN: usize = 32;

/// What the passkey flow learned when the user registered a passkey for this keyring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyEnrollment {
    /// The WebAuthn credential id (raw bytes), 1..=1023 bytes.
    pub credential_id: Vec<u8>,
    /// The relying party id, 1..=253 bytes.
    pub rp_id: String,
    /// User-visible label of the slot, at most 256 bytes of UTF-8.
    pub label: String,
    /// The provider's AAGUID, if the registration reported one.
    pub provider_hint: Option<[u8; 16]>,
}

/// Fixed values for a slot that would otherwise be random or the current time, so that test
/// vectors come out byte-exact. Never use outside tests and vector generation.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct FixedSlotInputs {
    /// The slot id.
    pub id: SlotId,
    /// Creation time, unix seconds.
    pub created_at: u64,
    /// The KEK's HKDF salt.
    pub salt: [u8; SLOT_SALT_LEN],
    /// The AES-GCM nonce of the wrap.
    pub nonce: [u8; WRAP_NONCE_LEN],
}

impl FixedSlotInputs {
    /// What a real slot uses: fresh random id, salt and nonce, and the current time.
    fn fresh() -> Result<FixedSlotInputs> {
        Ok(FixedSlotInputs {
            id: SlotId::generate()?,
            created_at: now_unix_seconds(),
            salt: random_bytes()?,
            nonce: random_bytes()?,
        })
    }
}

fn now_unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The root key with its id, PRF input and slots. `Debug` shows no secret.
#[derive(Debug)]
pub struct Keyring {
    root: RootKey,
    id: KeyringId,
    prf_input: [u8; PRF_INPUT_LEN],
    slots: Vec<Slot>,
    /// Authenticates [`to_public_bytes`](Self::to_public_bytes); derived once from the root key.
    mac_key: KeyringMacKey,
}

impl Keyring {
    /// A new keyring: fresh random root key, id and PRF input, no slots yet.
    pub fn create() -> Result<Keyring> {
        Keyring::from_unlocked(
            RootKey::generate()?,
            KeyringId::generate()?,
            random_bytes()?,
            Vec::new(),
        )
    }

    /// Rebuilds a keyring after an unlock (from a backup header or a stored public keyring):
    /// the caller has the root key from a slot and the public parts from authenticated bytes.
    /// Rejects more than [`MAX_SLOTS`] slots, duplicate slot ids and duplicate credential ids.
    pub fn from_unlocked(
        root: RootKey,
        id: KeyringId,
        prf_input: [u8; PRF_INPUT_LEN],
        slots: Vec<Slot>,
    ) -> Result<Keyring> {
        let mut keyring = Keyring {
            mac_key: kdf::keyring_mac_key(&root, id.as_bytes())?,
            root,
            id,
            prf_input,
            slots: Vec::with_capacity(slots.len().min(MAX_SLOTS)),
        };
        for slot in slots {
            keyring.push_slot(slot)?;
        }
        Ok(keyring)
    }

    /// The keyring id.
    pub fn id(&self) -> &KeyringId {
        &self.id
    }

    /// The PRF input to evaluate every passkey of this keyring with (`prf.eval.first`).
    pub fn prf_input(&self) -> &[u8; PRF_INPUT_LEN] {
        &self.prf_input
    }

    /// The root key (for the device copy and for per-file key derivation).
    pub fn root_key(&self) -> &RootKey {
        &self.root
    }

    /// The slots, in the order they were added.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Adds a recovery-key slot and returns the new recovery key, to show the user once.
    pub fn add_recovery_key(&mut self, label: &str) -> Result<(SlotId, RecoveryKey)> {
        let key = RecoveryKey::generate()?;
        let id = self.add_recovery_key_with(label, &key, FixedSlotInputs::fresh()?)?;
        Ok((id, key))
    }

    /// [`add_recovery_key`](Self::add_recovery_key) with a given key and fixed slot inputs,
    /// for test vectors only.
    #[doc(hidden)]
    pub fn add_recovery_key_with(
        &mut self,
        label: &str,
        key: &RecoveryKey,
        fixed: FixedSlotInputs,
    ) -> Result<SlotId> {
        let kek = kdf::recovery_kek(key.secret(), &fixed.salt)?;
        let new = NewSlot {
            id: fixed.id,
            label: label.to_owned(),
            created_at: fixed.created_at,
            kind: SlotKind::RecoveryKey,
            salt: fixed.salt,
        };
        let slot = new.seal(&self.id, &self.root, &kek, fixed.nonce)?;
        self.push_slot(slot)
    }

    /// Adds a passkey slot from the PRF output the passkey gave for [`prf_input`](Self::prf_input).
    /// A credential id that already has a slot is [`Error::InvalidArgument`].
    pub fn add_passkey(
        &mut self,
        enrollment: PasskeyEnrollment,
        prf: &PrfOutput,
    ) -> Result<SlotId> {
        self.add_passkey_with(enrollment, prf, FixedSlotInputs::fresh()?)
    }

    /// [`add_passkey`](Self::add_passkey) with fixed slot inputs, for test vectors only.
    #[doc(hidden)]
    pub fn add_passkey_with(
        &mut self,
        enrollment: PasskeyEnrollment,
        prf: &PrfOutput,
        fixed: FixedSlotInputs,
    ) -> Result<SlotId> {
        let PasskeyEnrollment {
            credential_id,
            rp_id,
            label,
            provider_hint,
        } = enrollment;
        slot::check_passkey_fields(&credential_id, &rp_id)?;
        self.check_new_credential(&credential_id)?;
        let kek = kdf::passkey_kek(prf, &fixed.salt, &credential_id)?;
        let new = NewSlot {
            id: fixed.id,
            label,
            created_at: fixed.created_at,
            kind: SlotKind::Passkey {
                credential_id,
                rp_id,
                provider_hint,
            },
            salt: fixed.salt,
        };
        let slot = new.seal(&self.id, &self.root, &kek, fixed.nonce)?;
        self.push_slot(slot)
    }

    /// Removes a slot; the root key and all other slots stay as they are.
    pub fn remove_slot(&mut self, id: &SlotId) -> Result<Slot> {
        let index = self
            .slots
            .iter()
            .position(|slot| slot.id() == id)
            .ok_or_else(|| Error::InvalidArgument(format!("no slot with id {id}")))?;
        Ok(self.slots.remove(index))
    }

    fn check_new_credential(&self, credential_id: &[u8]) -> Result<()> {
        if self
            .slots
            .iter()
            .any(|slot| slot.credential_id() == Some(credential_id))
        {
            return Err(Error::InvalidArgument(
                "this passkey already has a slot in the keyring".into(),
            ));
        }
        Ok(())
    }

    /// Appends a slot after checking the slot count and uniqueness rules.
    fn push_slot(&mut self, slot: Slot) -> Result<SlotId> {
        if self.slots.len() >= MAX_SLOTS {
            return Err(Error::LimitExceeded {
                what: "slot count".into(),
                found: self.slots.len() as u64 + 1,
                limit: MAX_SLOTS as u64,
            });
        }
        if self.slots.iter().any(|existing| existing.id() == slot.id()) {
            return Err(Error::InvalidArgument(format!(
                "duplicate slot id {}",
                slot.id()
            )));
        }
        if let Some(credential_id) = slot.credential_id() {
            self.check_new_credential(credential_id)?;
        }
        let id = *slot.id();
        self.slots.push(slot);
        Ok(id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn enrollment(credential_id: &[u8]) -> PasskeyEnrollment {
        PasskeyEnrollment {
            credential_id: credential_id.to_vec(),
            rp_id: "chat.example.com".into(),
            label: "Phone passkey".into(),
            provider_hint: None,
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
            unwrap_with_recovery_key(id, slots, &recovery).unwrap(),
            root
        );
        assert_eq!(
            unwrap_with_passkey(id, slots, b"cred-a", &prf(1)).unwrap(),
            root
        );
        assert_eq!(
            unwrap_with_passkey(id, slots, b"cred-b", &prf(2)).unwrap(),
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
            unwrap_with_recovery_key(id, slots, &other_recovery),
            Err(Error::WrongKey)
        ));
        assert!(matches!(
            unwrap_with_passkey(id, slots, b"cred-a", &prf(9)),
            Err(Error::WrongKey)
        ));
        assert!(matches!(
            unwrap_with_passkey(id, slots, b"cred-z", &prf(1)),
            Err(Error::NoMatchingSlot)
        ));
        // A passkey's PRF output does not open a slot of another keyring.
        let other = Keyring::create().unwrap();
        assert!(matches!(
            unwrap_with_passkey(other.id(), slots, b"cred-a", &prf(1)),
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
            unwrap_with_recovery_key(target.id(), &slots, &recovery),
            Err(Error::WrongKey)
        ));
    }

    #[test]
    fn removing_a_slot_keeps_the_root_key_and_revokes_only_that_slot() {
        let mut keyring = Keyring::create().unwrap();
        let root = keyring.root_key().clone();
        let a = keyring.add_passkey(enrollment(b"cred-a"), &prf(1)).unwrap();
        keyring.add_passkey(enrollment(b"cred-b"), &prf(2)).unwrap();
        let removed = keyring.remove_slot(&a).unwrap();
        assert_eq!(removed.id(), &a);
        assert_eq!(keyring.root_key(), &root);
        let (id, slots) = (keyring.id(), keyring.slots());
        assert!(matches!(
            unwrap_with_passkey(id, slots, b"cred-a", &prf(1)),
            Err(Error::NoMatchingSlot)
        ));
        assert_eq!(
            unwrap_with_passkey(id, slots, b"cred-b", &prf(2)).unwrap(),
            root
        );
        assert!(matches!(
            keyring.remove_slot(&a),
            Err(Error::InvalidArgument(_))
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
            vec![slot.clone()],
        )
        .unwrap();
        assert_eq!(rebuilt.slots(), keyring.slots());
        assert!(matches!(
            Keyring::from_unlocked(
                keyring.root_key().clone(),
                *keyring.id(),
                *keyring.prf_input(),
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
            Vec::new(),
        )
        .unwrap();
        let shown = format!("{keyring:?}");
        assert!(shown.contains("RootKey(<redacted>)"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
    }
}
