//! Root-key rotation, revocation and rollback protection.
//!
//! A rotation draws a new random root key, raises the generation by one and seals the new key to
//! every remaining slot's public key (HPKE, no slot secret needed), so the daily backup job can
//! rotate with only the root key it already holds. Removing a slot always rotates: the removed
//! secret opens the root keys of the generations it was sealed to (the backups written then) and
//! nothing written afterwards, because the new root key is independent of the old one and is
//! never sealed to it.
//!
//! The generation is authenticated (public keyring MAC, backup header MAC, every slot's HPKE
//! AAD). The app keeps the highest generation it has seen with its root key and refuses an older
//! keyring ([`Keyring::check_not_rolled_back`]); without that, a keyring rebuilt from an old backup
//! would bring a removed slot back.
//!
//! A removed secret still knows the keyring authentication secret its slot held, so it could
//! still seal root keys that the remaining slots accept. When it may be in hostile hands, a
//! re-key ([`Keyring::rekey`]) starts a new keyring: new id, root key, authentication secret and
//! PRF input; the remaining passkeys are asserted again under the new PRF input and a new
//! recovery key is made (passwords are entered again).

use crate::{
    crypto::{kdf, kdf::KekVersion, random_bytes, RootKey},
    keyring::{Keyring, KeyringId, Slot, SlotId},
    Error, Result,
};

/// What a rotation changed: the repository layer re-wraps its data-key epochs with these.
#[derive(Debug)]
pub struct RotationOutcome {
    /// The root key before the rotation (still opens everything written before).
    pub old_root: RootKey,
    /// The root key from now on.
    pub new_root: RootKey,
    /// The generation before the rotation.
    pub old_generation: u64,
    /// The generation from now on (`old_generation + 1`).
    pub new_generation: u64,
}

/// A slot removal: the slot that went and the rotation that revoked it.
#[derive(Debug)]
pub struct Removal {
    /// The removed slot.
    pub slot: Slot,
    /// The rotation done with the removal.
    pub rotation: RotationOutcome,
}

impl Keyring {
    /// Rotates the root key without any slot secret: a new random root key, generation + 1,
    /// sealed to every slot's public key with the authentication secret. Fails (changing
    /// nothing) with [`Error::LegacySlot`] if a version 1 or 2 slot remains, since such a slot
    /// cannot receive an authenticated new root key without its secret.
    pub fn rotate_root_key(&mut self) -> Result<RotationOutcome> {
        let seeds = self
            .slots
            .iter()
            .map(|_| random_bytes())
            .collect::<Result<Vec<_>>>()?;
        self.rotate_root_key_with(RootKey::generate()?, &seeds)
    }

    /// [`rotate_root_key`](Self::rotate_root_key) with a given new root key and one HPKE
    /// ephemeral `ikm` per slot, for test vectors only.
    #[doc(hidden)]
    pub fn rotate_root_key_with(
        &mut self,
        new_root: RootKey,
        seal_ikms: &[[u8; 32]],
    ) -> Result<RotationOutcome> {
        let slots = self.slots.clone();
        self.rotate_to(slots, new_root, seal_ikms)
    }

    /// Removes a slot and rotates the root key, so the removed secret opens no later backup.
    ///
    /// Without `force`, refuses ([`Error::LastSlot`]) to remove the last slot, or one that would
    /// leave only passkeys that cannot sync (lost with their phone). Nothing changes on error.
    pub fn remove_slot(&mut self, id: &SlotId, force: bool) -> Result<Removal> {
        let seeds = self
            .slots
            .iter()
            .skip(1)
            .map(|_| random_bytes())
            .collect::<Result<Vec<_>>>()?;
        self.remove_slot_with(id, force, RootKey::generate()?, &seeds)
    }

    /// [`remove_slot`](Self::remove_slot) with a given new root key and one HPKE ephemeral
    /// `ikm` per remaining slot, for test vectors only.
    #[doc(hidden)]
    pub fn remove_slot_with(
        &mut self,
        id: &SlotId,
        force: bool,
        new_root: RootKey,
        seal_ikms: &[[u8; 32]],
    ) -> Result<Removal> {
        let index = self
            .slots
            .iter()
            .position(|slot| slot.id() == id)
            .ok_or_else(|| Error::InvalidArgument(format!("no slot with id {id}")))?;
        let mut remaining = self.slots.clone();
        let slot = remaining.remove(index);
        if !force {
            check_restorable(&remaining, "after this removal")?;
        }
        let rotation = self.rotate_to(remaining, new_root, seal_ikms)?;
        Ok(Removal { slot, rotation })
    }

    /// Refuses a keyring older than the generation the app knows ([`Error::KeyringRolledBack`]).
    /// Call it before adopting a keyring from stored public bytes or from a backup.
    pub fn check_not_rolled_back(&self, known_generation: u64) -> Result<()> {
        if self.generation < known_generation {
            return Err(Error::KeyringRolledBack {
                found: self.generation,
                known: known_generation,
            });
        }
        Ok(())
    }

    /// Whether a backup made now could be restored on a new phone: at least one slot, and not
    /// only passkeys that cannot sync. The container writer checks it.
    pub fn check_restorable(&self) -> Result<()> {
        check_restorable(&self.slots, "in this keyring").map_err(|err| match err {
            Error::LastSlot { reason } => Error::InvalidArgument(format!(
                "a backup must be restorable on a new phone: {reason}"
            )),
            other => other,
        })
    }

    /// The passkey slots that cannot sync: show a warning for each (they are lost with their
    /// phone; another slot is needed to restore elsewhere).
    pub fn device_bound_slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter(|slot| slot.is_device_bound())
    }

    /// Seals `new_root` (generation + 1) to each of `slots`, then replaces root, generation,
    /// slots and MAC key at once; on any error nothing has changed.
    fn rotate_to(
        &mut self,
        slots: Vec<Slot>,
        new_root: RootKey,
        seal_ikms: &[[u8; 32]],
    ) -> Result<RotationOutcome> {
        if seal_ikms.len() != slots.len() {
            return Err(Error::InvalidArgument(
                "one HPKE seed per slot is needed".into(),
            ));
        }
        let new_generation = self
            .generation
            .checked_add(1)
            .ok_or_else(|| Error::InvalidArgument("keyring generation overflow".into()))?;
        if let Some(legacy) = slots.iter().find(|slot| slot.is_legacy()) {
            return Err(legacy.legacy_error());
        }
        let auth = if slots.is_empty() {
            None
        } else {
            Some(self.sealing_auth()?)
        };
        let resealed = slots
            .iter()
            .zip(seal_ikms)
            .map(|(slot, ikm)| match &auth {
                Some(auth) => slot.resealed(&self.id, new_generation, &new_root, auth, *ikm),
                None => Err(Error::InvalidArgument("no slot to reseal".into())),
            })
            .collect::<Result<Vec<_>>>()?;
        let mac_key = kdf::keyring_mac_key(&new_root, self.id.as_bytes(), KekVersion::V3)?;
        let old_root = std::mem::replace(&mut self.root, new_root.clone());
        let old_generation = std::mem::replace(&mut self.generation, new_generation);
        self.slots = resealed;
        self.mac_key = mac_key;
        Ok(RotationOutcome {
            old_root,
            new_root,
            old_generation,
            new_generation,
        })
    }
}

impl Keyring {
    /// A new keyring that replaces this one after a revocation whose secret may be in hostile
    /// hands: fresh root key, id, PRF input and authentication secret, no slots yet, generation
    /// one above this keyring's (so the generation the app keeps only grows), and a link to this
    /// keyring's id ([`Keyring::rekeyed_from`]) that lets a repository sealed by this keyring
    /// adopt it. Add the slots again: each remaining passkey by one assertion under the new PRF
    /// input (`passkey::Unlock::for_renewal`), a new recovery key, passwords entered again.
    pub fn rekey(&self) -> Result<Keyring> {
        let generation = self
            .generation
            .checked_add(1)
            .ok_or_else(|| Error::InvalidArgument("keyring generation overflow".into()))?;
        let mut keyring = Keyring::from_unlocked(
            RootKey::generate()?,
            KeyringId::generate()?,
            random_bytes()?,
            generation,
            Vec::new(),
        )?;
        keyring.rekeyed_from = Some(self.id);
        keyring.sealing_auth()?;
        Ok(keyring)
    }
}

/// At least one slot, and not only device-bound passkeys.
fn check_restorable(slots: &[Slot], when: &str) -> Result<()> {
    if slots.is_empty() {
        return Err(Error::LastSlot {
            reason: format!(
                "no key slot would remain {when}; add a passkey, recovery key or password first"
            ),
        });
    }
    if slots.iter().all(Slot::is_device_bound) {
        return Err(Error::LastSlot {
            reason: format!(
                "only passkeys that cannot sync (not backup-eligible) would remain {when}; they \
                 are lost with their phone, so add a synced passkey, recovery key or password"
            ),
        });
    }
    Ok(())
}
