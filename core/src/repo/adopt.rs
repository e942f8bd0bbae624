//! Bringing a repository up to the device's keyring: added slots, a rotation, a re-key
//! (`docs/REPOSITORY.md` §2.1), without ever moving it to an older key state.
//!
//! Under the repository lock the config is read again, so that what this device writes is
//! decided against the store's current config and not the one it opened earlier:
//!
//! - the same keyring and generation: the config's slots and the device's are **merged** (within
//!   a generation slots are only added, or upgraded to version 3 under the same id; removing one
//!   always rotates), so two devices adding slots at once both keep theirs;
//! - a config that moved on since this repository was opened (another device rotated or
//!   re-keyed) is never overwritten: [`Error::KeyringRolledBack`] when the device's keyring is
//!   not newer, otherwise the repository must be opened again;
//! - a rotation or re-key first looks at the snapshots and indexes in the store: one sealed
//!   under a key epoch the config does not know means the config is older than the data (a
//!   store that put back the config from before a rotation), and writing a new config over it
//!   would lose the newer epoch's key and with it every snapshot since:
//!   [`Error::RepositoryRolledBack`].

use subtle::ConstantTimeEq;

use super::{
    config::SealedConfig, lock, ByteRange, KeyringAdoption, Repository, CONFIG_NAME, INDEX_PREFIX,
    SNAPSHOT_PREFIX,
};
use crate::{
    keyring::{Authenticity, Keyring, Slot, UnlockedRoot, MAX_SLOTS},
    Error, Result,
};

/// Bytes of a sealed object's envelope header: magic (4), version (1), key epoch (4).
const ENVELOPE_HEADER_LEN: u64 = 9;

impl Repository {
    /// Brings the repository up to `keyring`, the device's keyring after a change, so that the
    /// config's slots are the keyring's and the config is sealed by its root key:
    ///
    /// - the same generation with other slots (a slot was added or upgraded): the config is
    ///   rewritten with the device's slots merged with those in the store's current config; the
    ///   keys are kept;
    /// - a newer generation (a rotation: a slot was removed, or on request), or a keyring that
    ///   re-keyed this repository's keyring ([`Keyring::rekey`]; only a repository opened with
    ///   the keyring it re-keys takes it): every epoch's data key is re-wrapped under the new
    ///   root key and a new epoch with a fresh data key and chunk-id key takes everything
    ///   written from now on. Old data is not re-encrypted or re-uploaded. A removed slot opens
    ///   nothing afterwards and reads nothing written afterwards (it still reads what it could
    ///   read before);
    /// - an older or equal generation where a newer one is needed is
    ///   [`Error::KeyringRolledBack`]; another keyring is [`Error::WrongKey`]; a config older
    ///   than the store's objects is [`Error::RepositoryRolledBack`]; a keyring no new device
    ///   could open is refused as for a backup.
    ///
    /// Afterwards the repository is authenticated by the device's keyring, also when it was
    /// opened through a version 2 slot. Call it right after rotating the device keyring, while
    /// this repository (opened with the old keyring) is still open: a repository left behind
    /// opens afterwards only with a slot's secret, and then adopts the keyring the same way.
    pub fn adopt_keyring(&mut self, keyring: &Keyring) -> Result<KeyringAdoption> {
        let rekey = keyring.id() != self.keyring.id();
        if rekey && keyring.rekeyed_from() != Some(self.keyring.id()) {
            return Err(Error::WrongKey);
        }
        keyring.check_restorable()?;
        let rotated = rekey || keyring.generation() > self.keyring.generation();
        if rekey && keyring.generation() <= self.keyring.generation() {
            return Err(Error::KeyringRolledBack {
                found: keyring.generation(),
                known: self.keyring.generation(),
            });
        }
        if !rotated {
            keyring.check_not_rolled_back(self.keyring.generation())?;
            let same_root = keyring
                .root_key()
                .expose_secret()
                .ct_eq(self.keyring.root_key().expose_secret());
            if !bool::from(same_root) {
                return Err(Error::WrongKey);
            }
        }
        if !rotated && merge_slots(keyring.slots(), self.keyring.slots()) == self.keyring.slots() {
            // Nothing to write (the config already holds every slot of the device): no lock,
            // so opening with the device keyring never waits for another writer.
            self.authenticity = authenticity_of(keyring);
            return Ok(KeyringAdoption::Unchanged);
        }
        let (target, rotation) = {
            let _lock = lock::Lock::acquire(self, lock::machine_holder()?, None)?;
            let current = self.current_slots()?;
            if rotated {
                self.check_no_newer_epoch()?;
                let target = super::clone_keyring(keyring)?;
                let (config, keys) = self.config.rotated(&self.keys)?;
                self.store
                    .put(CONFIG_NAME, &config.encode(&target, &keys)?)?;
                (target, Some((config, keys)))
            } else {
                let target = keyring.with_slots(merge_slots(keyring.slots(), &current))?;
                if target.slots() == self.keyring.slots() && current == self.keyring.slots() {
                    drop(_lock);
                    self.authenticity = authenticity_of(&target);
                    return Ok(KeyringAdoption::Unchanged);
                }
                self.store
                    .put(CONFIG_NAME, &self.config.encode(&target, &self.keys)?)?;
                (target, None)
            }
        };
        self.authenticity = authenticity_of(&target);
        self.keyring = target;
        let Some((config, keys)) = rotation else {
            return Ok(KeyringAdoption::SlotsUpdated);
        };
        self.config = config;
        self.keys = keys;
        // The small objects move to the new epoch and the floor rises, so nothing sealed under
        // a key the removed secret may hold is trusted from now on (`repo::reseal`).
        {
            let _lock = lock::Lock::acquire(self, lock::machine_holder()?, None)?;
            super::reseal::raise_floor(self)?;
        }
        let current = self.keys.current().epoch();
        self.keys.set_floor(current)?;
        Ok(KeyringAdoption::Rotated)
    }

    /// The slots of the store's current config, read again (under the lock): it must still be
    /// the config this repository was opened with (same keyring and generation, MAC under the
    /// same root key), else another writer or the store changed it since.
    fn current_slots(&self) -> Result<Vec<Slot>> {
        let current = SealedConfig::decode(&self.store.get(CONFIG_NAME, None)?)?;
        if current.keyring_id != *self.keyring.id()
            || current.generation != self.keyring.generation()
        {
            if current.keyring_id == *self.keyring.id()
                && current.generation > self.keyring.generation()
            {
                return Err(Error::KeyringRolledBack {
                    found: self.keyring.generation(),
                    known: current.generation,
                });
            }
            return Err(Error::InvalidArgument(
                "the repository's keys changed since it was opened (another device rotated or \
                 re-keyed them): open the repository again"
                    .into(),
            ));
        }
        let slots = current.slots.clone();
        current.unlock(UnlockedRoot::device(self.keyring.root_key().clone()))?;
        Ok(slots)
    }

    /// Refuses ([`Error::RepositoryRolledBack`]) when a snapshot or index in the store is sealed
    /// under a key epoch newer than the config's newest: the config was put back.
    fn check_no_newer_epoch(&self) -> Result<()> {
        let newest = self.keys.current().epoch();
        for prefix in [SNAPSHOT_PREFIX, INDEX_PREFIX] {
            for name in self.store.list_names(prefix)? {
                let header = self.store.get(
                    &name,
                    Some(ByteRange {
                        offset: 0,
                        len: ENVELOPE_HEADER_LEN,
                    }),
                )?;
                let Some(epoch) = header
                    .get(5..9)
                    .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                    .map(u32::from_be_bytes)
                else {
                    continue;
                };
                if epoch > newest {
                    return Err(Error::RepositoryRolledBack {
                        config_epoch: newest,
                        found_epoch: epoch,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The device's slots, then the config's slots the device does not have (another device added
/// them), up to the slot limit. For one id in both, the higher slot version wins (an upgrade).
fn merge_slots(device: &[Slot], config: &[Slot]) -> Vec<Slot> {
    let mut merged: Vec<Slot> = device.to_vec();
    for slot in config {
        match merged.iter_mut().find(|mine| mine.id() == slot.id()) {
            Some(mine) if mine.version() < slot.version() => *mine = slot.clone(),
            Some(_) => {}
            None => {
                let duplicate_credential = slot.credential_id().is_some_and(|credential| {
                    merged
                        .iter()
                        .any(|mine| mine.credential_id() == Some(credential))
                });
                if merged.len() < MAX_SLOTS && !duplicate_credential {
                    merged.push(slot.clone());
                }
            }
        }
    }
    merged
}

/// A repository brought to the device's keyring is as trustworthy as that keyring.
fn authenticity_of(keyring: &Keyring) -> Authenticity {
    keyring.auth_secret().map_or(Authenticity::Device, |auth| {
        Authenticity::Sealed(auth.clone())
    })
}
