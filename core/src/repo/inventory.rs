//! What the store holds, from one listing: every object's name and size, sorted by kind.
//!
//! Every operation starts from an inventory rather than trusting earlier knowledge: a pack the
//! store lost is simply not there, a pack whose size differs from what the index recorded was
//! damaged or replaced, and a cached index or snapshot copy is used only while the store's
//! object still has the cached size. One `list("")` call (a few pages on a large repository)
//! tells all of it.

use std::collections::{BTreeMap, HashMap};

use super::{
    BlobStore, CONFIG_NAME, DAMAGE_PREFIX, DATA_PREFIX, INDEX_PREFIX, LOCK_PREFIX, SNAPSHOT_PREFIX,
};
use crate::Result;

/// The store's objects by kind, with their sizes.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The config's size, if there is one.
    pub config: Option<u64>,
    /// Packs (`data/`).
    pub packs: HashMap<String, u64>,
    /// Index objects (`index/`), in name order.
    pub indexes: BTreeMap<String, u64>,
    /// Snapshot objects (`snapshots/`), in name order.
    pub snapshots: BTreeMap<String, u64>,
    /// Damage notes (`damage/`).
    pub damage: BTreeMap<String, u64>,
    /// Lock objects (`locks/`).
    pub locks: BTreeMap<String, u64>,
    /// Names outside the repository's layout (never read; `check` reports them).
    pub other: Vec<String>,
}

impl Inventory {
    /// Lists the whole store once.
    pub fn take(store: &dyn BlobStore) -> Result<Inventory> {
        let mut inventory = Inventory::default();
        for object in store.list("")? {
            let size = object.size;
            let name = object.name;
            if name == CONFIG_NAME {
                inventory.config = Some(size);
            } else if name.starts_with(DATA_PREFIX) {
                inventory.packs.insert(name, size);
            } else if name.starts_with(INDEX_PREFIX) {
                inventory.indexes.insert(name, size);
            } else if name.starts_with(SNAPSHOT_PREFIX) {
                inventory.snapshots.insert(name, size);
            } else if name.starts_with(DAMAGE_PREFIX) {
                inventory.damage.insert(name, size);
            } else if name.starts_with(LOCK_PREFIX) {
                inventory.locks.insert(name, size);
            } else {
                inventory.other.push(name);
            }
        }
        Ok(inventory)
    }

    /// The listed size of pack `name`, if the store has it.
    pub fn pack_size(&self, name: &str) -> Option<u64> {
        self.packs.get(name).copied()
    }

    /// Whether the store holds any object at all.
    pub fn is_empty(&self) -> bool {
        self.config.is_none()
            && self.packs.is_empty()
            && self.indexes.is_empty()
            && self.snapshots.is_empty()
            && self.damage.is_empty()
            && self.locks.is_empty()
            && self.other.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::MemStore;

    #[test]
    fn one_listing_sorts_every_object_by_kind() {
        let store = MemStore::new();
        for (name, len) in [
            ("config", 3),
            ("data/aa", 10),
            ("index/bb", 4),
            ("snapshots/cc", 5),
            ("damage/dd", 6),
            ("locks/writer", 7),
            ("stray", 1),
        ] {
            store.put(name, &vec![0; len]).unwrap();
        }
        let inventory = Inventory::take(&store).unwrap();
        assert_eq!(inventory.config, Some(3));
        assert_eq!(inventory.pack_size("data/aa"), Some(10));
        assert_eq!(inventory.indexes.get("index/bb"), Some(&4));
        assert_eq!(inventory.snapshots.get("snapshots/cc"), Some(&5));
        assert_eq!(inventory.damage.get("damage/dd"), Some(&6));
        assert_eq!(inventory.locks.get("locks/writer"), Some(&7));
        assert_eq!(inventory.other, vec!["stray".to_owned()]);
        assert!(!inventory.is_empty());
        assert!(Inventory::take(&MemStore::new()).unwrap().is_empty());
    }
}
