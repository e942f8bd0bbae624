//! Opening a slot: from a recovery key, a passkey's PRF output or a password to the root key of
//! the keyring's generation, and how far that root key can be trusted ([`Authenticity`]). Used
//! by the container and the repository config, whose headers carry the keyring id, the
//! generation and the slots.

use crate::{
    crypto::{kdf, password, AuthSecret, PrfOutput, RootKey},
    keyring::{KeyringId, RecoveryKey, Slot, SlotId, SlotKind},
    Error, Result,
};

/// Where a root key came from, and so whether a device may adopt the keyring it opens.
#[derive(Clone, Debug)]
pub enum Authenticity {
    /// The device's own copy of the root key.
    Device,
    /// A version 1 slot: the root key was wrapped under the slot's KEK, which only a holder of
    /// the slot's secret can do.
    Wrapped,
    /// A version 3 slot: the seal opened under the keyring authentication secret the slot
    /// holds (kept here, for the keyring the device adopts).
    Sealed(AuthSecret),
    /// A version 2 slot: HPKE base mode, which anyone holding the public header or config can
    /// seal to. The data it opens may be read, but its keyring is never adopted
    /// ([`Error::UnauthenticatedKeyring`]).
    Unauthenticated,
}

impl Authenticity {
    /// Whether only a holder of a secret of this keyring could have made what was opened.
    pub fn is_authenticated(&self) -> bool {
        !matches!(self, Authenticity::Unauthenticated)
    }

    /// Refuses [`Authenticity::Unauthenticated`] with [`Error::UnauthenticatedKeyring`].
    pub fn check(&self) -> Result<()> {
        if self.is_authenticated() {
            Ok(())
        } else {
            Err(Error::UnauthenticatedKeyring)
        }
    }

    /// The authentication secret the unlock learned, if any.
    pub(crate) fn auth_secret(&self) -> Option<&AuthSecret> {
        match self {
            Authenticity::Sealed(auth) => Some(auth),
            _ => None,
        }
    }
}

/// A root key opened from a slot (or given by the device), with its [`Authenticity`].
#[derive(Debug)]
pub struct UnlockedRoot {
    /// The root key.
    pub root: RootKey,
    /// How it was obtained.
    pub authenticity: Authenticity,
    /// The slot that opened it (none for a device root key).
    pub slot: Option<SlotId>,
}

/// An unlocked root key equals a root key when the keys are equal (constant time).
impl PartialEq<RootKey> for UnlockedRoot {
    fn eq(&self, other: &RootKey) -> bool {
        self.root == *other
    }
}

impl UnlockedRoot {
    /// The device's own root key.
    pub fn device(root: RootKey) -> UnlockedRoot {
        UnlockedRoot {
            root,
            authenticity: Authenticity::Device,
            slot: None,
        }
    }
}

/// Tries `key` on every recovery-key slot. A well-formed key that opens none of them (or a
/// keyring without recovery slots) is [`Error::WrongKey`].
pub fn unwrap_with_recovery_key(
    keyring_id: &KeyringId,
    generation: u64,
    slots: &[Slot],
    key: &RecoveryKey,
) -> Result<UnlockedRoot> {
    for slot in slots
        .iter()
        .filter(|slot| matches!(slot.kind(), SlotKind::RecoveryKey))
    {
        let kek = kdf::recovery_kek(key.secret(), slot.salt(), slot.kek_version())?;
        match slot.open(keyring_id, generation, &kek) {
            Err(Error::WrongKey) => continue,
            result => return result,
        }
    }
    Err(Error::WrongKey)
}

/// Opens the passkey slot of `credential_id` with the passkey's PRF output. No slot for that
/// credential is [`Error::NoMatchingSlot`]; a PRF output that does not open it is
/// [`Error::WrongKey`] (e.g. evaluated with another PRF input, or an edited slot).
pub fn unwrap_with_passkey(
    keyring_id: &KeyringId,
    generation: u64,
    slots: &[Slot],
    credential_id: &[u8],
    prf: &PrfOutput,
) -> Result<UnlockedRoot> {
    let slot = slots
        .iter()
        .find(|slot| slot.credential_id() == Some(credential_id))
        .ok_or(Error::NoMatchingSlot)?;
    let kek = kdf::passkey_kek(prf, slot.salt(), credential_id, slot.kek_version())?;
    slot.open(keyring_id, generation, &kek)
}

/// Tries `password` on every password slot (each runs Argon2id once: on the NFC form of the
/// password for a version 3 slot, on its bytes as given for a version 2 slot, as the build that
/// wrote it did). A password that opens none of them is [`Error::WrongPassword`]; a keyring
/// without password slots is [`Error::NoMatchingSlot`]. A header whose password slots together
/// ask for more Argon2 work than [`password::MAX_UNLOCK_WORK`] is refused before any
/// ([`Error::LimitExceeded`]), so a hostile header cannot make a phone work for minutes.
pub fn unwrap_with_password(
    keyring_id: &KeyringId,
    generation: u64,
    slots: &[Slot],
    password: &str,
) -> Result<UnlockedRoot> {
    password::check_unlock_work(slots.iter().filter_map(password_params))?;
    let normalized = password::normalize(password);
    let mut tried = false;
    for slot in slots {
        let Some(params) = password_params(slot) else {
            continue;
        };
        tried = true;
        let typed: &str = if slot.is_legacy() {
            password
        } else {
            &normalized
        };
        let stretched = password::stretch(typed.as_bytes(), slot.salt(), params)?;
        let kek = kdf::password_kek(&stretched, slot.salt(), slot.kek_version())?;
        match slot.open(keyring_id, generation, &kek) {
            Err(Error::WrongKey) => continue,
            result => return result,
        }
    }
    Err(if tried {
        Error::WrongPassword
    } else {
        Error::NoMatchingSlot
    })
}

/// The Argon2id costs of a password slot.
pub(crate) fn password_params(slot: &Slot) -> Option<&password::PasswordParams> {
    match slot.kind() {
        SlotKind::Password { params } => Some(params),
        _ => None,
    }
}
