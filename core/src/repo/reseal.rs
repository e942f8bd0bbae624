//! Moving a repository's small objects to its current key epoch, and raising the epoch floor.
//!
//! After a rotation (a slot removed), the removed secret may still know the old epochs' keys.
//! Chunks stay under their epochs (re-encrypting every pack would cost a full upload), but the
//! objects that say *which* chunks make a snapshot (index and snapshot objects) are sealed
//! again under the new epoch, each in place under its own name, and then the config's epoch
//! floor is raised to the new epoch: from then on an index, snapshot, lock or damage object
//! sealed under an older epoch is refused (`repo::object`), so the holder of a removed secret
//! cannot plant a snapshot that becomes "latest", or an index that points a reader elsewhere.
//! Old chunks are still read, but only where current objects pin them by id (a chunk's id is a
//! keyed hash of its content, so a planted chunk with the same id cannot differ in content).
//!
//! Crash safety: the floor is raised (config rewritten) only after every object was sealed
//! again; a writer that finds the floor below the current epoch finishes the job first
//! ([`finish_pending`]).

use super::{
    index, inventory::Inventory, keys::KeySet, resolve::is_damage, snapshot, Repository,
    CONFIG_NAME,
};
use crate::{Error, Result};

/// What a reseal did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Index and snapshot objects sealed again under the current epoch.
    pub objects: u64,
    /// Objects that could not be read (left as they are: below the new floor they are refused,
    /// as they already were as damaged).
    pub unreadable: u64,
    /// Damage notes removed (they are only hints).
    pub notes_removed: u64,
}

/// Seals every index and snapshot object again under the current epoch, then raises the epoch
/// floor to it (rewriting the config). The caller holds the lock.
pub fn raise_floor(repo: &Repository) -> Result<Resealed> {
    let store = repo.store().as_ref();
    let keys = repo.keys();
    let current = keys.current().epoch();
    let mut done = Resealed::default();
    let inventory = Inventory::take(store)?;
    for name in inventory.indexes.keys() {
        let sealed = store
            .get(name, None)
            .and_then(|bytes| index::decode(keys, name, &bytes))
            .and_then(|object| index::encode(keys, name, &object));
        done.count(store.put_if(name, sealed))?;
    }
    for name in inventory.snapshots.keys() {
        let sealed = store
            .get(name, None)
            .and_then(|bytes| snapshot::decode(repo, name, &bytes))
            .and_then(|snap| snapshot::encode(repo, &snap));
        done.count(store.put_if(name, sealed))?;
    }
    for note in inventory.damage.keys() {
        store.delete(note)?;
        done.notes_removed += 1;
    }
    let mut raised = KeySet::new(
        keys.all()
            .map(|k| k.duplicate(&repo.id()))
            .collect::<Result<Vec<_>>>()?,
    )?;
    raised.set_floor(current)?;
    store.put(CONFIG_NAME, &repo.config_bytes(&raised)?)?;
    Ok(done)
}

impl Resealed {
    fn count(&mut self, outcome: Result<bool>) -> Result<()> {
        match outcome {
            Ok(true) => self.objects += 1,
            Ok(false) => self.unreadable += 1,
            Err(err) => return Err(err),
        }
        Ok(())
    }
}

/// Puts `sealed` as `name` when it could be made; a damaged or vanished object is skipped.
trait PutIf {
    fn put_if(&self, name: &str, sealed: Result<Vec<u8>>) -> Result<bool>;
}

impl<S: super::BlobStore + ?Sized> PutIf for S {
    fn put_if(&self, name: &str, sealed: Result<Vec<u8>>) -> Result<bool> {
        match sealed {
            Ok(bytes) => self.put(name, &bytes).map(|()| true),
            Err(Error::ObjectMissing { .. }) => Ok(false),
            Err(err) if is_damage(&err) => {
                log::warn!("{name} could not be resealed and stays below the floor: {err}");
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }
}

/// Finishes a reseal a killed rotation left (floor below the current epoch), and moves a format
/// 1 config to format 2; the caller holds the lock. Returns whether anything was done.
pub fn finish_pending(repo: &Repository) -> Result<bool> {
    if repo.keys().floor() < repo.keys().current().epoch() {
        raise_floor(repo)?;
        return Ok(true);
    }
    if repo.config_version() < super::config::VERSION {
        let store = repo.store().as_ref();
        store.put(CONFIG_NAME, &repo.config_bytes(repo.keys())?)?;
        return Ok(true);
    }
    Ok(false)
}
