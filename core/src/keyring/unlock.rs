//! Opening a slot: from a recovery key or a passkey's PRF output to the root key. Used by the
//! container to unlock a backup whose header carries the keyring id and the slots.

use crate::{
    crypto::{kdf, PrfOutput, RootKey},
    keyring::{KeyringId, RecoveryKey, Slot, SlotKind},
    Error, Result,
};

/// Tries `key` on every recovery-key slot. A well-formed key that opens none of them (or a
/// keyring without recovery slots) is [`Error::WrongKey`].
pub fn unwrap_with_recovery_key(
    keyring_id: &KeyringId,
    slots: &[Slot],
    key: &RecoveryKey,
) -> Result<RootKey> {
    for slot in slots
        .iter()
        .filter(|slot| matches!(slot.kind(), SlotKind::RecoveryKey))
    {
        let kek = kdf::recovery_kek(key.secret(), slot.salt())?;
        match slot.unwrap_root_key(keyring_id, &kek) {
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
    slots: &[Slot],
    credential_id: &[u8],
    prf: &PrfOutput,
) -> Result<RootKey> {
    let slot = slots
        .iter()
        .find(|slot| slot.credential_id() == Some(credential_id))
        .ok_or(Error::NoMatchingSlot)?;
    let kek = kdf::passkey_kek(prf, slot.salt(), credential_id)?;
    slot.unwrap_root_key(keyring_id, &kek)
}
