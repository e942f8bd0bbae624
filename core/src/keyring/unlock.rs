//! Opening a slot: from a recovery key, a passkey's PRF output or a password to the root key of
//! the keyring's generation. Used by the container to unlock a backup whose header carries the
//! keyring id, the generation and the slots.

use crate::{
    crypto::{kdf, password, PrfOutput, RootKey},
    keyring::{KeyringId, RecoveryKey, Slot, SlotKind},
    Error, Result,
};

/// Tries `key` on every recovery-key slot. A well-formed key that opens none of them (or a
/// keyring without recovery slots) is [`Error::WrongKey`].
pub fn unwrap_with_recovery_key(
    keyring_id: &KeyringId,
    generation: u64,
    slots: &[Slot],
    key: &RecoveryKey,
) -> Result<RootKey> {
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
) -> Result<RootKey> {
    let slot = slots
        .iter()
        .find(|slot| slot.credential_id() == Some(credential_id))
        .ok_or(Error::NoMatchingSlot)?;
    let kek = kdf::passkey_kek(prf, slot.salt(), credential_id, slot.kek_version())?;
    slot.open(keyring_id, generation, &kek)
}

/// Tries `password` on every password slot (each runs Argon2id once). A password that opens none
/// of them is [`Error::WrongPassword`]; a keyring without password slots is
/// [`Error::NoMatchingSlot`].
pub fn unwrap_with_password(
    keyring_id: &KeyringId,
    generation: u64,
    slots: &[Slot],
    password: &str,
) -> Result<RootKey> {
    let mut tried = false;
    for slot in slots {
        let SlotKind::Password { params } = slot.kind() else {
            continue;
        };
        tried = true;
        let stretched = password::stretch(password.as_bytes(), slot.salt(), params)?;
        let kek = kdf::password_kek(&stretched, slot.salt())?;
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
