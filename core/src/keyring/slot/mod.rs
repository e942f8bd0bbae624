//! Key slots: each opens the keyring's current root key with one secret (a passkey's PRF output,
//! a recovery key or a password). The byte layouts are in [`encoding`] and `docs/FORMAT.md`.
//!
//! # Version 3 (written by this build)
//!
//! A slot owns an X25519 key pair. Its private half and the keyring authentication secret `A`
//! are sealed together under the slot's KEK (AES-256-GCM, AAD = `"keepsake/v3/slot-aad" ||
//! keyring id || public fields`); the public half is one of the public fields. The root key of
//! the keyring's current generation is sealed to the public key with HPKE in PSK mode, the PSK
//! derived from `A` ([`crate::crypto::seal`], AAD = `"keepsake/v3/root-seal-aad" || keyring id ||
//! generation || public fields`). Opening: KEK -> private key and `A` -> root key. A seal that
//! does not open once the KEK opened the private part was not made by a holder of `A`: it is
//! tampering ([`Error::Corrupted`] naming the slot), not a wrong secret. A rotation re-seals a
//! new root key to each public key with `A`, which the device keeps: no slot secret needed.
//!
//! # Version 2 (read only, unauthenticated)
//!
//! As version 3 without `A`: the root key sealed in HPKE base mode, which anyone holding the
//! public key can do. What a version 2 slot opens is therefore [`Authenticity::Unauthenticated`]:
//! its data may be read, but its keyring is never adopted, no rotation goes through it, and the
//! device replaces it by a version 3 slot the next time its secret is used
//! ([`Slot::upgraded`]).
//!
//! # Version 1 (read only)
//!
//! The root key wrapped directly under the KEK (AAD = `"keepsake/v1/slot-aad" || keyring id ||
//! public fields`): authenticated (only the secret's holder could wrap it), but it cannot receive
//! a new root key without its secret, so a keyring holding one cannot rotate until the slot is
//! upgraded or removed.

mod encoding;
#[cfg(test)]
pub(crate) mod tests;

pub use encoding::MAX_ENCODED_SLOT_LEN;

use subtle::ConstantTimeEq;

use crate::{
    crypto::{
        kdf::{KekVersion, SLOT_SALT_LEN},
        labels,
        password::PasswordParams,
        seal::{self, SealMode, SealedRootKey, SlotSecretKey, SLOT_KEY_LEN},
        wrap::{self, SealedSlotSecret, WrappedKey, WRAP_NONCE_LEN},
        AuthSecret, Kek, RootKey,
    },
    keyring::{
        ids::{KeyringId, SlotId},
        unlock::{Authenticity, UnlockedRoot},
    },
    Error, Result,
};

/// The version 1 slot encoding (read only).
pub const SLOT_ENCODING_V1: u8 = 1;
/// The version 2 slot encoding (read only: its root-key seal is not authenticated).
pub const SLOT_ENCODING_V2: u8 = 2;
/// The slot encoding version this build writes.
pub const SLOT_ENCODING_VERSION: u8 = 3;
/// Longest slot label, in UTF-8 bytes.
pub const MAX_LABEL_LEN: usize = 256;
/// Longest WebAuthn credential id accepted (WebAuthn allows up to 1023 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// Longest RP id (a DNS name), in bytes.
pub const MAX_RP_ID_LEN: usize = 253;
/// Length of an AAGUID, the provider hint.
pub const AAGUID_LEN: usize = 16;

/// The WebAuthn authenticator data flags that say whether a passkey is synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupFlags {
    /// BE: the credential may be backed up (synced) by its provider.
    pub eligible: bool,
    /// BS: the credential is backed up right now.
    pub state: bool,
}

impl BackupFlags {
    /// A passkey that cannot be synced lives and dies with one device.
    pub fn device_bound(&self) -> bool {
        !self.eligible
    }
}

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
        /// The BE/BS flags at registration; `None` for version 1 slots, which did not record them.
        backup: Option<BackupFlags>,
    },
    /// The 64-character recovery key.
    RecoveryKey,
    /// A password stretched with Argon2id (version 2 slots only).
    Password {
        /// The Argon2id costs this slot was created with.
        params: PasswordParams,
    },
}

/// How the slot holds the root key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sealing {
    /// Version 1: the root key wrapped under the KEK.
    V1 { wrapped: WrappedKey },
    /// Version 2: a key pair whose private half is wrapped under the KEK, and the current root
    /// key sealed to its public half in HPKE base mode.
    V2 {
        public_key: [u8; SLOT_KEY_LEN],
        sealed_private_key: WrappedKey,
        sealed_root: SealedRootKey,
    },
    /// Version 3: the private half and the authentication secret sealed under the KEK, and the
    /// current root key sealed to the public half in HPKE PSK mode.
    V3 {
        public_key: [u8; SLOT_KEY_LEN],
        sealed_secret: SealedSlotSecret,
        sealed_root: SealedRootKey,
    },
}

/// One slot: its public description and what it holds of the root key.
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
    pub(crate) sealing: Sealing,
}

/// The fresh randomness of a new version 2 slot (fixed only in test vectors).
pub(crate) struct SlotSeeds {
    /// `ikm` of the slot's X25519 key pair.
    pub(crate) key_pair: [u8; 32],
    /// Nonce of the private key's AES-GCM wrap.
    pub(crate) nonce: [u8; WRAP_NONCE_LEN],
    /// `ikm` of the HPKE ephemeral key that seals the root key.
    pub(crate) seal: [u8; 32],
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
    /// Checks the limits, creates the slot's key pair, seals its private half and `auth` under
    /// `kek` (a version 3 KEK) and seals `root` (of `generation`) to its public half in PSK mode.
    pub(crate) fn seal(
        self,
        keyring_id: &KeyringId,
        generation: u64,
        root: &RootKey,
        auth: &AuthSecret,
        kek: &Kek,
        seeds: &SlotSeeds,
    ) -> Result<Slot> {
        check_limits(&self.label, &self.kind)?;
        let (secret, public_key) = seal::derive_slot_key_pair(&seeds.key_pair);
        let mut slot = Slot {
            id: self.id,
            label: self.label,
            created_at: self.created_at,
            kind: self.kind,
            salt: self.salt,
            sealing: Sealing::V3 {
                public_key,
                sealed_secret: SealedSlotSecret::from_bytes([0; wrap::SEALED_SLOT_SECRET_LEN]),
                sealed_root: SealedRootKey::from_bytes([0; seal::SEALED_ROOT_KEY_LEN]),
            },
        };
        let sealed_private = wrap::seal_slot_secret(
            kek,
            &secret.to_bytes(),
            auth,
            &slot.aad(keyring_id),
            seeds.nonce,
        )?;
        let sealed = seal::seal_root_key(
            &public_key,
            root,
            &slot.root_seal_aad(keyring_id, generation),
            &SealMode::psk(auth, keyring_id.as_bytes())?,
            seeds.seal,
        )?;
        if let Sealing::V3 {
            sealed_secret,
            sealed_root,
            ..
        } = &mut slot.sealing
        {
            *sealed_secret = sealed_private;
            *sealed_root = sealed;
        }
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
        SlotKind::Password { params } => params.check(),
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
            _ => None,
        }
    }

    /// The HKDF salt of this slot's KEK (and the Argon2 salt of a password slot).
    pub fn salt(&self) -> &[u8; SLOT_SALT_LEN] {
        &self.salt
    }

    /// The slot encoding version: 1 or 2 (read only, cannot be rotated; replaced by version 3
    /// the next time their secret is used on the device) or 3.
    pub fn version(&self) -> u8 {
        match self.sealing {
            Sealing::V1 { .. } => SLOT_ENCODING_V1,
            Sealing::V2 { .. } => SLOT_ENCODING_V2,
            Sealing::V3 { .. } => SLOT_ENCODING_VERSION,
        }
    }

    /// A slot of a version this build no longer writes (1 or 2): no rotation goes through it.
    pub fn is_legacy(&self) -> bool {
        !matches!(self.sealing, Sealing::V3 { .. })
    }

    /// The slot's X25519 public key (version 2 and 3 slots).
    pub fn public_key(&self) -> Option<&[u8; SLOT_KEY_LEN]> {
        match &self.sealing {
            Sealing::V1 { .. } => None,
            Sealing::V2 { public_key, .. } | Sealing::V3 { public_key, .. } => Some(public_key),
        }
    }

    /// The passkey's BE/BS flags, when the slot recorded them.
    pub fn backup_flags(&self) -> Option<BackupFlags> {
        match &self.kind {
            SlotKind::Passkey { backup, .. } => *backup,
            _ => None,
        }
    }

    /// A passkey that its provider cannot sync: it is lost with the device that holds it.
    pub fn is_device_bound(&self) -> bool {
        self.backup_flags()
            .is_some_and(|flags| flags.device_bound())
    }

    /// Which labels this slot's KEK is derived under.
    pub(crate) fn kek_version(&self) -> KekVersion {
        match self.sealing {
            Sealing::V1 { .. } => KekVersion::V1,
            Sealing::V2 { .. } => KekVersion::V2,
            Sealing::V3 { .. } => KekVersion::V3,
        }
    }

    /// The AES-GCM associated data of this slot's KEK wrap in keyring `keyring_id`.
    pub fn aad(&self, keyring_id: &KeyringId) -> Vec<u8> {
        let prefix = match self.sealing {
            Sealing::V1 { .. } => labels::SLOT_AAD,
            Sealing::V2 { .. } => labels::SLOT_AAD_V2,
            Sealing::V3 { .. } => labels::SLOT_AAD_V3,
        };
        let mut aad = Vec::with_capacity(prefix.len() + KeyringId::LEN + 160);
        aad.extend_from_slice(prefix);
        aad.extend_from_slice(keyring_id.as_bytes());
        self.encode_public(&mut aad);
        aad
    }

    /// The HPKE associated data of the root key sealed to this slot for `generation`.
    pub fn root_seal_aad(&self, keyring_id: &KeyringId, generation: u64) -> Vec<u8> {
        let prefix = match self.sealing {
            Sealing::V3 { .. } => labels::ROOT_SEAL_AAD_V3,
            Sealing::V1 { .. } | Sealing::V2 { .. } => labels::ROOT_SEAL_AAD,
        };
        let mut aad = Vec::with_capacity(prefix.len() + KeyringId::LEN + 168);
        aad.extend_from_slice(prefix);
        aad.extend_from_slice(keyring_id.as_bytes());
        aad.extend_from_slice(&generation.to_be_bytes());
        self.encode_public(&mut aad);
        aad
    }

    /// Opens the root key of `generation` with `kek`. A KEK that does not open the slot is
    /// [`Error::WrongKey`]; a version 3 slot whose private part opened but whose seal does not
    /// open under the authentication secret it holds is [`Error::Corrupted`] naming the slot.
    pub(crate) fn open(
        &self,
        keyring_id: &KeyringId,
        generation: u64,
        kek: &Kek,
    ) -> Result<UnlockedRoot> {
        let (root, authenticity) = match &self.sealing {
            Sealing::V1 { wrapped } => (
                wrap::unwrap_root_key(kek, wrapped, &self.aad(keyring_id))?,
                Authenticity::Wrapped,
            ),
            Sealing::V2 {
                sealed_private_key,
                sealed_root,
                ..
            } => {
                let secret_bytes =
                    wrap::unwrap_secret(kek, sealed_private_key, &self.aad(keyring_id))?;
                let secret = SlotSecretKey::from_bytes(&secret_bytes)?;
                let root = seal::open_root_key(
                    &secret,
                    sealed_root,
                    &self.root_seal_aad(keyring_id, generation),
                    &SealMode::Base,
                )?;
                (root, Authenticity::Unauthenticated)
            }
            Sealing::V3 {
                sealed_secret,
                sealed_root,
                ..
            } => {
                let (secret_bytes, auth) =
                    wrap::open_slot_secret(kek, sealed_secret, &self.aad(keyring_id))?;
                let secret = SlotSecretKey::from_bytes(&secret_bytes)?;
                let root = seal::open_root_key(
                    &secret,
                    sealed_root,
                    &self.root_seal_aad(keyring_id, generation),
                    &SealMode::psk(&auth, keyring_id.as_bytes())?,
                )
                .map_err(|_| self.forged_seal())?;
                (root, Authenticity::Sealed(auth))
            }
        };
        Ok(UnlockedRoot {
            root,
            authenticity,
            slot: Some(self.id),
        })
    }

    /// The error of a version 3 seal that does not open once the slot's secret was proven.
    fn forged_seal(&self) -> Error {
        Error::Corrupted {
            what: format!(
                "key slot {} ({:?}): its root-key seal does not open under the keyring's \
                 authentication secret: it was forged or damaged (the secret itself is right)",
                self.id, self.label
            ),
        }
    }

    /// The error of a rotation through a slot of an older version.
    pub(crate) fn legacy_error(&self) -> Error {
        Error::LegacySlot {
            slot: self.id.to_string(),
            label: self.label.clone(),
            version: self.version(),
        }
    }

    /// This slot with `root` (of `generation`) sealed to its public key in place of the old
    /// root key: what a rotation does to every remaining slot. A version 1 or 2 slot cannot
    /// take an authenticated new root key without its secret: [`Error::LegacySlot`].
    pub(crate) fn resealed(
        &self,
        keyring_id: &KeyringId,
        generation: u64,
        root: &RootKey,
        auth: &AuthSecret,
        ephemeral_ikm: [u8; 32],
    ) -> Result<Slot> {
        let Sealing::V3 {
            public_key,
            sealed_secret,
            ..
        } = &self.sealing
        else {
            return Err(self.legacy_error());
        };
        let sealed_root = seal::seal_root_key(
            public_key,
            root,
            &self.root_seal_aad(keyring_id, generation),
            &SealMode::psk(auth, keyring_id.as_bytes())?,
            ephemeral_ikm,
        )?;
        Ok(Slot {
            sealing: Sealing::V3 {
                public_key: *public_key,
                sealed_secret: sealed_secret.clone(),
                sealed_root,
            },
            ..self.clone()
        })
    }

    /// The version 3 slot that replaces this version 1 or 2 slot of the keyring `keyring_id`
    /// (at `generation`, root key `root`): same id, label, time, kind and salt; a fresh key pair
    /// sealed with `auth` under `new_kek` (the version 3 KEK of the same secret). `legacy_kek`
    /// (this slot's own KEK) must open the slot and give `root`, which proves the secret is
    /// this slot's: otherwise [`Error::WrongKey`] (another secret) or [`Error::Corrupted`] (a
    /// slot that does not hold the keyring's root key).
    #[allow(clippy::too_many_arguments)] // the two KEKs, the keyring's state and the seeds
    pub(crate) fn upgraded(
        &self,
        keyring_id: &KeyringId,
        generation: u64,
        root: &RootKey,
        auth: &AuthSecret,
        legacy_kek: &Kek,
        new_kek: &Kek,
        seeds: &SlotSeeds,
    ) -> Result<Slot> {
        if !self.is_legacy() {
            return Err(Error::InvalidArgument(format!(
                "slot {} is already a version 3 slot",
                self.id
            )));
        }
        let opened = self.open(keyring_id, generation, legacy_kek)?;
        if !bool::from(opened.root.expose_secret().ct_eq(root.expose_secret())) {
            return Err(Error::Corrupted {
                what: format!(
                    "key slot {} ({:?}) does not hold this keyring's root key",
                    self.id, self.label
                ),
            });
        }
        NewSlot {
            id: self.id,
            label: self.label.clone(),
            created_at: self.created_at,
            kind: self.kind.clone(),
            salt: self.salt,
        }
        .seal(keyring_id, generation, root, auth, new_kek, seeds)
    }
}
