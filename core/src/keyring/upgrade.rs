//! Replacing a keyring's version 1 and 2 slots by version 3 slots, with the secret in hand.
//!
//! A legacy slot cannot take an authenticated root key without its secret (version 1 wraps the
//! root key itself; version 2's base-mode seal proves nothing), so the keyring cannot rotate
//! while one remains ([`Error::LegacySlot`]). The next time the user unlocks with that secret on
//! a device that holds the keyring, the app hands the same secret here: the slot is replaced by
//! a version 3 slot with the same id, label, time, kind and salt, a fresh key pair, the keyring
//! authentication secret and the current root key sealed in PSK mode. The app then saves the
//! public keyring (and a repository adopts the keyring, which writes the new slot into its
//! config).

use crate::{
    crypto::{
        kdf::{self, KekVersion},
        password, random_bytes, Kek, PrfOutput,
    },
    keyring::{slot::SlotSeeds, Keyring, RecoveryKey, Slot, SlotId, SlotKind},
    Error, Result,
};

/// A secret that opens slots: what the user just entered or asserted.
pub enum SlotSecret<'a> {
    /// The recovery key.
    RecoveryKey(&'a RecoveryKey),
    /// A passkey's PRF output for the keyring's PRF input, and its credential id.
    Passkey {
        /// The credential that answered.
        credential_id: &'a [u8],
        /// Its PRF output.
        prf: &'a PrfOutput,
    },
    /// A password as typed.
    Password(&'a str),
}

impl Keyring {
    /// Replaces every version 1 or 2 slot that `secret` opens by a version 3 slot (see the
    /// module docs) and returns their ids; none is not an error. A password runs Argon2id once
    /// per legacy password slot (and once more for a password that NFC changes), once in each
    /// slot's life. Save the public keyring afterwards when the list is not empty.
    pub fn upgrade_slots(&mut self, secret: &SlotSecret<'_>) -> Result<Vec<SlotId>> {
        let legacy: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].is_legacy() && matches_kind(&self.slots[i], secret))
            .collect();
        let mut upgraded = Vec::new();
        for index in legacy {
            let Some((legacy_kek, new_kek)) = keks(&self.slots[index], secret)? else {
                continue;
            };
            let auth = self.sealing_auth()?;
            let slot = &self.slots[index];
            let seeds = SlotSeeds {
                key_pair: random_bytes()?,
                nonce: random_bytes()?,
                seal: random_bytes()?,
            };
            match slot.upgraded(
                &self.id,
                self.generation,
                &self.root,
                &auth,
                &legacy_kek,
                &new_kek,
                &seeds,
            ) {
                Ok(replacement) => {
                    upgraded.push(*replacement.id());
                    self.slots[index] = replacement;
                }
                Err(Error::WrongKey) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(upgraded)
    }
}

fn matches_kind(slot: &Slot, secret: &SlotSecret<'_>) -> bool {
    match (slot.kind(), secret) {
        (SlotKind::RecoveryKey, SlotSecret::RecoveryKey(_))
        | (SlotKind::Password { .. }, SlotSecret::Password(_)) => true,
        (
            SlotKind::Passkey { credential_id, .. },
            SlotSecret::Passkey {
                credential_id: id, ..
            },
        ) => credential_id.as_slice() == *id,
        _ => false,
    }
}

/// The slot's own KEK and the version 3 KEK of the same secret and salt.
fn keks(slot: &Slot, secret: &SlotSecret<'_>) -> Result<Option<(Kek, Kek)>> {
    let version = slot.kek_version();
    Ok(Some(match secret {
        SlotSecret::RecoveryKey(key) => (
            kdf::recovery_kek(key.secret(), slot.salt(), version)?,
            kdf::recovery_kek(key.secret(), slot.salt(), KekVersion::V3)?,
        ),
        SlotSecret::Passkey { credential_id, prf } => (
            kdf::passkey_kek(prf, slot.salt(), credential_id, version)?,
            kdf::passkey_kek(prf, slot.salt(), credential_id, KekVersion::V3)?,
        ),
        SlotSecret::Password(typed) => {
            let SlotKind::Password { params } = slot.kind() else {
                return Ok(None);
            };
            // A version 2 slot was stretched from the bytes as typed; version 3 from NFC.
            let stretched = password::stretch(typed.as_bytes(), slot.salt(), params)?;
            let legacy = kdf::password_kek(&stretched, slot.salt(), version)?;
            let normalized = password::normalize(typed);
            let new = if normalized.as_str() == *typed {
                kdf::password_kek(&stretched, slot.salt(), KekVersion::V3)?
            } else {
                let stretched = password::stretch(normalized.as_bytes(), slot.salt(), params)?;
                kdf::password_kek(&stretched, slot.salt(), KekVersion::V3)?
            };
            (legacy, new)
        }
    }))
}
