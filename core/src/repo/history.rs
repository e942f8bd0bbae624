//! The repository's snapshots as the store holds them now: the intact ones in order, and the
//! objects that are damaged, which are reported instead of failing every listing.
//!
//! A snapshot object is *damaged* when it does not authenticate or decode, was sealed below
//! the epoch floor, or claims a sequence that does not follow its parent's (an intact parent
//! must have exactly one less). Damaged objects are never "latest" and never parents; a
//! restore of the latest snapshot takes the newest intact one, and prune never reclaims space
//! while one exists, since it cannot know what a damaged snapshot references.

use std::collections::HashMap;

use super::{
    cache::Cache, inventory::Inventory, resolve::is_damage, snapshot, Repository, Snapshot,
    SnapshotId,
};
use crate::{Error, Result};

/// A snapshot object that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedSnapshot {
    /// The object's name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The snapshots of a repository.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Intact snapshots, oldest first by [`super::SnapshotInfo::order_key`].
    pub snapshots: Vec<Snapshot>,
    /// Objects under `snapshots/` that cannot be used.
    pub damaged: Vec<DamagedSnapshot>,
}

impl History {
    /// Reads every snapshot object of `inventory` (through `cache` when given).
    pub fn load(
        repo: &Repository,
        inventory: &Inventory,
        cache: Option<&Cache>,
    ) -> Result<History> {
        let store = repo.store().as_ref();
        let mut history = History::default();
        for (name, size) in &inventory.snapshots {
            let loaded = Cache::fetch(cache, store, name, Some(*size), |bytes| {
                snapshot::decode(repo, name, bytes)
            });
            match loaded {
                Ok((snap, _)) => history.snapshots.push(snap),
                Err(Error::ObjectMissing { .. }) => {}
                Err(err) if is_damage(&err) => history.damaged.push(DamagedSnapshot {
                    name: name.clone(),
                    reason: err.to_string(),
                }),
                Err(err) => return Err(err),
            }
        }
        history.refuse_broken_sequences();
        history.snapshots.sort_by_key(|s| s.info.order_key());
        Ok(history)
    }

    /// Moves snapshots whose sequence does not follow their intact parent's to `damaged`.
    fn refuse_broken_sequences(&mut self) {
        let sequences: HashMap<SnapshotId, u64> = self
            .snapshots
            .iter()
            .map(|s| (s.info.id, s.info.sequence))
            .collect();
        let (good, bad): (Vec<Snapshot>, Vec<Snapshot>) = std::mem::take(&mut self.snapshots)
            .into_iter()
            .partition(|s| match s.info.parent.and_then(|p| sequences.get(&p)) {
                Some(parent) => parent.checked_add(1) == Some(s.info.sequence),
                None => s.info.sequence >= 1,
            });
        self.snapshots = good;
        self.damaged
            .extend(bad.into_iter().map(|s| DamagedSnapshot {
                name: s.info.id.object_name(),
                reason: format!("sequence {} does not follow its parent's", s.info.sequence),
            }));
    }

    /// The newest intact snapshot.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.snapshots.last()
    }

    /// Snapshot `id`, if intact.
    pub fn get(&self, id: &SnapshotId) -> Option<&Snapshot> {
        self.snapshots.iter().find(|s| s.info.id == *id)
    }

    /// Whether the object of snapshot `id` is there but damaged.
    pub fn damaged_reason(&self, id: &SnapshotId) -> Option<&str> {
        let name = id.object_name();
        self.damaged
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.reason.as_str())
    }
}
