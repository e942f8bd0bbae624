//! Which chunk copies to trust: the index as the store's objects support it right now.
//!
//! Resolution, in order (`docs/REPOSITORY.md` §6):
//! 1. every index object of the inventory is read (a cached copy only while the store's object
//!    has the cached size); one that fails to authenticate is set aside as damaged, never an
//!    error: its packs are still reached through their trailers (step 4);
//! 2. a pack entry counts only if the pack is listed, and, when the index recorded the pack's
//!    size, only at that size: an entry whose pack is gone (lost, pruned, or named by a
//!    replayed old index object) or was truncated or replaced is ignored;
//! 3. every location a damage note names is dropped;
//! 4. packs that are listed but named by no readable index object, and not condemned by a
//!    prune or repair, are *uncovered*: their trailers are read (one ranged get each) and
//!    those that authenticate are used. They are a killed backup's packs (the next backup
//!    names them in its index), or packs whose index object the store lost or damaged: the
//!    listing cannot tell which, so every reader looks;
//! 5. a chunk with several copies keeps the first one met in index-object name order, then
//!    trailers in pack-name order, as its preferred location; the others are spares, tried in
//!    that order when a copy fails to authenticate.

use std::collections::HashSet;

use super::{
    cache::Cache,
    damage::DamageSet,
    index::{self, Condemned, Index, IndexObject, PackEntries},
    inventory::Inventory,
    pack, Repository,
};
use crate::{Error, Result};

/// The resolved index and what resolution found on the way.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The chunks, at trusted locations.
    pub index: Index,
    /// Index objects that did not authenticate or decode, with why.
    pub damaged_indexes: Vec<(String, Error)>,
    /// Packs an index object names that the store does not hold.
    pub lost_packs: Vec<String>,
    /// Packs whose listed size differs from the size their index object recorded.
    pub resized_packs: Vec<String>,
    /// What the index objects recorded of those packs (for `repair` to salvage).
    pub resized_entries: Vec<PackEntries>,
    /// Uncovered packs whose trailer authenticated: in `index`, but in no index object yet.
    pub adopted: Vec<PackEntries>,
    /// Uncovered packs whose trailer did not authenticate, with why.
    pub unreadable_packs: Vec<(String, Error)>,
    /// Packs condemned by earlier prunes.
    pub condemned: Vec<Condemned>,
}

/// Whether `err` says the bytes were bad (as opposed to the store failing).
pub fn is_damage(err: &Error) -> bool {
    matches!(
        err,
        Error::Corrupted { .. }
            | Error::Truncated { .. }
            | Error::UnsupportedVersion { .. }
            | Error::LimitExceeded { .. }
    )
}

/// Resolves the index of `repo` from `inventory` (see the module docs).
pub fn resolve(
    repo: &Repository,
    inventory: &Inventory,
    cache: Option<&Cache>,
    damage: &DamageSet,
) -> Result<Resolved> {
    let store = repo.store().as_ref();
    let keys = repo.keys();
    let mut resolved = Resolved::default();
    let mut objects: Vec<(String, IndexObject)> = Vec::new();
    for (name, size) in &inventory.indexes {
        let fetched = Cache::fetch(cache, store, name, Some(*size), |bytes| {
            index::decode(keys, name, bytes)
        });
        match fetched {
            Ok((object, _)) => objects.push((name.clone(), object)),
            // Deleted since the listing (a merge or a prune): what it named is elsewhere.
            Err(Error::ObjectMissing { .. }) => {}
            Err(err) if is_damage(&err) => {
                log::warn!("index object {name} is damaged and ignored: {err}");
                resolved.damaged_indexes.push((name.clone(), err));
            }
            Err(err) => return Err(err),
        }
    }
    let mut lost = HashSet::new();
    let mut resized = HashSet::new();
    let mut resized_entries = Vec::new();
    for (name, object) in &objects {
        for pack in &object.packs {
            match inventory.pack_size(&pack.pack) {
                None => {
                    lost.insert(pack.pack.clone());
                }
                Some(listed) if pack.size.is_some_and(|recorded| recorded != listed) => {
                    resized.insert(pack.pack.clone());
                    resized_entries.push(pack.clone());
                }
                Some(listed) => resolved.index.add_pack(&PackEntries {
                    size: Some(listed),
                    ..pack.clone()
                }),
            }
        }
        resolved.condemned.extend(object.condemned.iter().cloned());
        resolved.index.objects.push(name.clone());
    }
    // A pack some object lists at its true size is not resized because an older object
    // (a replayed one) recorded another size.
    resized.retain(|name| !resolved.index.has_pack(name));
    resized_entries.retain(|p: &PackEntries| resized.contains(&p.pack));
    resolved.resized_entries = resized_entries;
    damage.apply(&mut resolved.index);

    // Condemned packs are garbage waiting for deletion (a prune found them unreferenced, or
    // repair salvaged them): never adopted.
    let condemned: HashSet<&str> = resolved.condemned.iter().map(|c| c.pack.as_str()).collect();
    let mut uncovered: Vec<(&String, u64)> = inventory
        .packs
        .iter()
        .filter(|(name, _)| {
            !resolved.index.has_pack(name)
                && !resized.contains(*name)
                && !condemned.contains(name.as_str())
        })
        .map(|(name, size)| (name, *size))
        .collect();
    uncovered.sort();
    for (name, size) in uncovered {
        if index::pack_id(name).is_err() {
            continue;
        }
        match pack::read_trailer(store, keys, name, size) {
            Ok((epoch, entries)) => {
                let entries = PackEntries {
                    pack: name.clone(),
                    epoch,
                    size: Some(size),
                    entries,
                };
                resolved.index.add_pack(&entries);
                resolved.adopted.push(entries);
            }
            Err(Error::ObjectMissing { .. }) => {}
            Err(err) if is_damage(&err) => resolved.unreadable_packs.push((name.clone(), err)),
            Err(err) => return Err(err),
        }
    }
    // Adopted copies may also be noted damaged.
    damage.apply(&mut resolved.index);
    resolved.lost_packs = lost.into_iter().collect();
    resolved.lost_packs.sort();
    resolved.resized_packs = resized.into_iter().collect();
    resolved.resized_packs.sort();
    Ok(resolved)
}
