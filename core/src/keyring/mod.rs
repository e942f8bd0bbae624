//! The keyring: the root key and the key slots that open it.
//!
//! A keyring has a random 16-byte id, a random 32-byte PRF input shared by all its passkey slots
//! (so a plain WebAuthn `eval.first` works with every provider, and a discoverable sign-in on a new
//! device finds the slot by credential id), a generation counter and up to [`MAX_SLOTS`] slots.
//!
//! Adding a slot never changes the root key. Removing one rotates it ([`rotation`]): a new root
//! key, generation + 1, sealed to every remaining slot's public key, so the removed secret opens
//! nothing written afterwards. Backups already made stay readable with the secrets they carry.
//! A re-key ([`Keyring::rekey`]) starts over with a new id, root key, authentication secret and
//! PRF input, for a removed secret that may be in hostile hands.
//!
//! Every version 3 slot also holds the keyring authentication secret `A`, which keys the HPKE
//! PSK of every root-key seal, so only a holder of a slot's secret or of the device keyring can
//! seal a root key a slot accepts. The device keeps `A` in the public keyring (wrapped under a
//! key derived from the root key), so rotation still needs no prompt. A keyring gets `A` when it
//! first needs one (its first version 3 slot): a change the app saves anyway.
//!
//! Slot layout and sealing: [`slot`]. Recovery key format: [`recovery_key`]. Serialized public
//! keyring: [`public`].

pub(crate) mod codec;
mod ids;
pub mod public;
pub mod recovery_key;
pub mod rotation;
pub mod slot;
#[cfg(test)]
pub(crate) mod tests;
mod unlock;
mod upgrade;

use std::time::{SystemTime, UNIX_EPOCH};

pub use ids::{KeyringId, SlotId};
pub use recovery_key::RecoveryKey;
pub use rotation::{Removal, RotationOutcome};
pub use slot::{BackupFlags, Slot, SlotKind};
pub use unlock::{
    unwrap_with_passkey, unwrap_with_password, unwrap_with_recovery_key, Authenticity, UnlockedRoot,
};
pub use upgrade::SlotSecret;

use crate::{
    crypto::{
        kdf::{self, KekVersion, SLOT_SALT_LEN},
        password::{self, PasswordParams},
        random_bytes,
        wrap::WRAP_NONCE_LEN,
        AuthSecret, Kek, KeyringMacKey, PrfOutput, RootKey,
    },
    Error, Result,
};
use slot::{NewSlot, SlotSeeds};

/// Most slots a keyring (and a backup header) may hold.
pub const MAX_SLOTS: usize = 32;
/// Length of the keyring-wide WebAuthn PRF input.
pub const PRF_INPUT_LEN: usize = 32;
/// The generation of a new keyring. Keyrings read from version 1 bytes have generation 0.
pub const FIRST_GENERATION: u64 = 1;

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
    /// The BE/BS flags of the registration's authenticator data; `None` when the platform did
    /// not report them (iOS typed registrations without the attestation object).
    pub backup: Option<BackupFlags>,
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
    /// The AES-GCM nonce of the private key's (and authentication secret's) wrap.
    pub nonce: [u8; WRAP_NONCE_LEN],
    /// `ikm` of the slot's X25519 key pair.
    pub key_pair_ikm: [u8; 32],
    /// `ikm` of the HPKE ephemeral key that seals the root key to the slot.
    pub seal_ikm: [u8; 32],
}

impl FixedSlotInputs {
    /// What a real slot uses: fresh random id, salt, nonce and key seeds, and the current time.
    fn fresh() -> Result<FixedSlotInputs> {
        Ok(FixedSlotInputs {
            id: SlotId::generate()?,
            created_at: now_unix_seconds(),
            salt: random_bytes()?,
            nonce: random_bytes()?,
            key_pair_ikm: random_bytes()?,
            seal_ikm: random_bytes()?,
        })
    }

    fn seeds(&self) -> SlotSeeds {
        SlotSeeds {
            key_pair: self.key_pair_ikm,
            nonce: self.nonce,
            seal: self.seal_ikm,
        }
    }
}

fn now_unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The root key with its id, PRF input, generation, slots and authentication secret. `Debug`
/// shows no secret.
#[derive(Debug)]
pub struct Keyring {
    root: RootKey,
    id: KeyringId,
    prf_input: [u8; PRF_INPUT_LEN],
    generation: u64,
    slots: Vec<Slot>,
    /// The keyring authentication secret `A` (none yet for a keyring of legacy slots only; not
    /// known to a keyring rebuilt from a bare root key).
    auth: Option<AuthSecret>,
    /// The keyring this one replaced by a re-key, if it did ([`Keyring::rekey`]).
    rekeyed_from: Option<KeyringId>,
    /// Authenticates [`to_public_bytes`](Self::to_public_bytes); derived from the root key.
    mac_key: KeyringMacKey,
}

impl Keyring {
    /// A new keyring: fresh random root key, id and PRF input, generation
    /// [`FIRST_GENERATION`], no slots yet.
    pub fn create() -> Result<Keyring> {
        Keyring::from_unlocked(
            RootKey::generate()?,
            KeyringId::generate()?,
            random_bytes()?,
            FIRST_GENERATION,
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
        generation: u64,
        slots: Vec<Slot>,
    ) -> Result<Keyring> {
        let mut keyring = Keyring {
            mac_key: kdf::keyring_mac_key(&root, id.as_bytes(), KekVersion::V3)?,
            root,
            id,
            prf_input,
            generation,
            slots: Vec::with_capacity(slots.len().min(MAX_SLOTS)),
            auth: None,
            rekeyed_from: None,
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

    /// The generation of the root key: +1 at every rotation. The app keeps it with the root key
    /// and refuses any keyring of a lower generation ([`Keyring::check_not_rolled_back`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The slots, in the order they were added.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The keyring this one replaced by a re-key ([`Keyring::rekey`]): a repository sealed by
    /// that keyring adopts this one ([`crate::repo::Repository::adopt_keyring`]).
    pub fn rekeyed_from(&self) -> Option<&KeyringId> {
        self.rekeyed_from.as_ref()
    }

    /// The keyring a device may adopt from an unlock: refused
    /// ([`Error::UnauthenticatedKeyring`]) when the root key came through an unauthenticated
    /// (version 2) seal, and ([`Error::InvalidArgument`]) when the authentication secret of its
    /// version 3 slots cannot be known (a bare root key: use the device keyring instead).
    pub fn adopted(
        unlocked: UnlockedRoot,
        id: KeyringId,
        prf_input: [u8; PRF_INPUT_LEN],
        generation: u64,
        slots: Vec<Slot>,
    ) -> Result<Keyring> {
        unlocked.authenticity.check()?;
        let auth = unlocked.authenticity.auth_secret().cloned();
        let mut keyring = Keyring::from_unlocked(unlocked.root, id, prf_input, generation, slots)?;
        match auth {
            Some(auth) => keyring.auth = Some(auth),
            None => keyring.auth = keyring.derivable_auth()?,
        }
        if keyring.auth.is_none() && !keyring.slots.iter().all(Slot::is_legacy) {
            return Err(Error::InvalidArgument(
                "this keyring's authentication secret is not known here (it was opened with a \
                 bare root key): open it with the device keyring, a passkey, the recovery key or \
                 a password"
                    .into(),
            ));
        }
        Ok(keyring)
    }

    /// Sets the authentication secret learned from an unlock (a version 3 slot).
    pub(crate) fn set_auth_secret(&mut self, auth: Option<AuthSecret>) {
        if auth.is_some() {
            self.auth = auth;
        }
    }

    /// The authentication secret when this keyring can know it without an unlock: its own, or,
    /// for a keyring that has none yet or still holds a legacy slot (no rotation happened since
    /// it first needed one, see [`kdf::auth_secret`]), the one derived from the root key.
    fn derivable_auth(&self) -> Result<Option<AuthSecret>> {
        if self.auth.is_some() {
            return Ok(self.auth.clone());
        }
        if self.slots.iter().all(|slot| !slot.is_legacy()) && !self.slots.is_empty() {
            return Ok(None);
        }
        Ok(Some(kdf::auth_secret(&self.root, self.id.as_bytes())?))
    }

    /// The authentication secret to seal with, created now if the keyring has none yet.
    pub(crate) fn sealing_auth(&mut self) -> Result<AuthSecret> {
        match self.derivable_auth()? {
            Some(auth) => {
                self.auth = Some(auth.clone());
                Ok(auth)
            }
            None => Err(Error::InvalidArgument(
                "this keyring's authentication secret is not known here (it was rebuilt from a \
                 bare root key): use the device keyring"
                    .into(),
            )),
        }
    }

    /// The authentication secret, if this keyring has one.
    pub(crate) fn auth_secret(&self) -> Option<&AuthSecret> {
        self.auth.as_ref()
    }

    /// This keyring (root key, id, PRF input, generation, authentication secret, re-key link)
    /// with other slots, checked as [`Keyring::from_unlocked`] checks them.
    pub(crate) fn with_slots(&self, slots: Vec<Slot>) -> Result<Keyring> {
        let mut keyring = Keyring::from_unlocked(
            self.root.clone(),
            self.id,
            self.prf_input,
            self.generation,
            slots,
        )?;
        keyring.auth = self.auth.clone();
        keyring.rekeyed_from = self.rekeyed_from;
        Ok(keyring)
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
        let kek = kdf::recovery_kek(key.secret(), &fixed.salt, KekVersion::V3)?;
        self.seal_new(label, SlotKind::RecoveryKey, &kek, &fixed)
    }

    /// Adds a password slot. The password must pass [`password::check_new_password`] (at least
    /// [`MIN_PASSWORD_CHARS`](password::MIN_PASSWORD_CHARS) characters, not built on common
    /// passwords or patterns); its NFC form is stretched with Argon2id under
    /// [`PasswordParams::DEFAULT`] (about a second on a phone).
    pub fn add_password(&mut self, label: &str, password: &str) -> Result<SlotId> {
        self.add_password_with(
            label,
            password,
            PasswordParams::DEFAULT,
            FixedSlotInputs::fresh()?,
        )
    }

    /// [`add_password`](Self::add_password) with given costs and fixed slot inputs, for tests
    /// and test vectors only.
    #[doc(hidden)]
    pub fn add_password_with(
        &mut self,
        label: &str,
        password: &str,
        params: PasswordParams,
        fixed: FixedSlotInputs,
    ) -> Result<SlotId> {
        password::check_new_password(password)?;
        password::check_unlock_work(
            self.slots
                .iter()
                .filter_map(unlock::password_params)
                .chain([&params]),
        )?;
        let normalized = password::normalize(password);
        let stretched = password::stretch(normalized.as_bytes(), &fixed.salt, &params)?;
        let kek = kdf::password_kek(&stretched, &fixed.salt, KekVersion::V3)?;
        self.seal_new(label, SlotKind::Password { params }, &kek, &fixed)
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
            backup,
        } = enrollment;
        slot::check_passkey_fields(&credential_id, &rp_id)?;
        self.check_new_credential(&credential_id)?;
        let kek = kdf::passkey_kek(prf, &fixed.salt, &credential_id, KekVersion::V3)?;
        let kind = SlotKind::Passkey {
            credential_id,
            rp_id,
            provider_hint,
            backup,
        };
        self.seal_new(&label, kind, &kek, &fixed)
    }

    /// Seals a new version 3 slot to the current root key and generation, then appends it.
    fn seal_new(
        &mut self,
        label: &str,
        kind: SlotKind,
        kek: &Kek,
        fixed: &FixedSlotInputs,
    ) -> Result<SlotId> {
        let new = NewSlot {
            id: fixed.id,
            label: label.to_owned(),
            created_at: fixed.created_at,
            kind,
            salt: fixed.salt,
        };
        let auth = self.sealing_auth()?;
        let slot = new.seal(
            &self.id,
            self.generation,
            &self.root,
            &auth,
            kek,
            &fixed.seeds(),
        )?;
        self.push_slot(slot)
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
