//! The backup repository: incremental, deduplicated, encrypted snapshots of a byte stream over a
//! pluggable [`BlobStore`] (layer 7 of `docs/ARCHITECTURE.md`, between `archive` and `backup`).
//!
//! The engine writes a byte stream (the chat archive) as a snapshot and reads a snapshot back as
//! a byte stream; it knows nothing of databases. A stream is cut into content-defined chunks
//! ([`chunker`]); a chunk's id is a keyed MAC of its plaintext; new chunks are compressed,
//! sealed (AES-256-GCM, id bound) and grouped into pack objects of several MiB ([`pack`]); an
//! encrypted [`index`] maps chunk ids to pack, offset and length; a [`snapshot`] manifest,
//! written last, is the commit point. The [`config`] object carries the key slots, so a new
//! device needs only the store and one secret. Byte layouts: `docs/REPOSITORY.md`.

mod cache;
pub mod catalog;
pub mod check;
pub mod chunker;
mod codec;
pub mod config;
#[doc(hidden)]
pub mod conformance;
mod counting;
pub mod index;
pub mod keys;
mod lock;
mod object;
pub mod pack;
mod packer;
pub mod prune;
pub mod reader;
mod retry;
pub mod snapshot;
mod store;
mod store_dir;
mod store_mem;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod vectors;
mod writer;

use std::{fmt, str::FromStr, sync::Arc};

use subtle::ConstantTimeEq;

pub use check::{CheckOptions, CheckReport};
pub use chunker::ChunkerParams;
pub use counting::{CountingStore, RequestCounts};
pub use prune::{PruneReport, RetentionPolicy};
pub use reader::SnapshotReader;
pub use retry::{RetryPolicy, RetryingStore};
pub use store::{
    check_name, storage_error, storage_error_of, BlobReader, BlobStore, ByteRange, ObjectInfo,
};
pub use store_dir::DirStore;
pub use store_mem::MemStore;
pub use writer::{SnapshotMeta, SnapshotWriter, WriteStats};

use crate::{
    crypto::{random_bytes, RootKey},
    keyring::{Keyring, KeyringId, Slot},
    store::RecordCounts,
    Error, Result,
};
use config::Config;
use keys::KeySet;

/// Name of the config object.
pub const CONFIG_NAME: &str = "config";
/// Prefix of pack objects.
pub const DATA_PREFIX: &str = "data/";
/// Prefix of index objects.
pub const INDEX_PREFIX: &str = "index/";
/// Prefix of snapshot objects.
pub const SNAPSHOT_PREFIX: &str = "snapshots/";
/// Prefix of lock objects.
pub const LOCK_PREFIX: &str = "locks/";

/// Parameters fixed when a repository is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoOptions {
    /// Content-defined chunking sizes (see [`ChunkerParams::default`] for the measured choice).
    pub chunker: ChunkerParams,
    /// A pack is closed and uploaded once it holds this many bytes.
    pub pack_target_bytes: u32,
}

impl Default for RepoOptions {
    fn default() -> Self {
        RepoOptions {
            chunker: ChunkerParams::default(),
            pack_target_bytes: pack::DEFAULT_PACK_TARGET,
        }
    }
}

/// A snapshot's id: 16 random bytes, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotId(pub [u8; 16]);

impl SnapshotId {
    /// A fresh random id.
    pub fn generate() -> Result<SnapshotId> {
        Ok(SnapshotId(random_bytes()?))
    }

    /// The store object that holds this snapshot.
    pub fn object_name(&self) -> String {
        format!("{SNAPSHOT_PREFIX}{self}")
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotId({self})")
    }
}

impl FromStr for SnapshotId {
    type Err = Error;

    fn from_str(text: &str) -> Result<SnapshotId> {
        let mut id = [0u8; 16];
        hex::decode_to_slice(text.trim(), &mut id).map_err(|_| {
            Error::InvalidArgument(format!("{text:?} is not a snapshot id (32 hex digits)"))
        })?;
        Ok(SnapshotId(id))
    }
}

/// What a snapshot records, readable after unlocking the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The snapshot's id.
    pub id: SnapshotId,
    /// When the backup began, unix seconds.
    pub time: u64,
    /// One more than the parent's sequence (1 without parent): orders snapshots taken within
    /// one second, or on devices whose clocks disagree. "Latest" is the highest
    /// `(sequence, time, id)`.
    pub sequence: u64,
    /// Records per kind in the archive.
    pub counts: RecordCounts,
    /// The snapshot this one was made after (the latest one the writer saw), if any.
    pub parent: Option<SnapshotId>,
    /// Bytes of the archive stream (plaintext).
    pub bytes: u64,
    /// The archive's own digest (SHA-256 of the record stream, checked by import).
    pub digest: [u8; 32],
    /// Number of data chunks in the stream.
    pub chunks: u64,
    /// The media the snapshot holds, when the backup had a media source.
    pub media: Option<MediaSummary>,
}

/// Attachments of a snapshot by what became of their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaSummary {
    /// Attachments whose bytes are in the repository.
    pub files_stored: u64,
    /// Attachments whose bytes were not on the device (never downloaded, deleted).
    pub files_absent: u64,
    /// Attachments left out by the backup's media options.
    pub files_skipped: u64,
    /// Bytes of the stored files (each attachment counted, duplicates included).
    pub bytes_stored: u64,
}

impl SnapshotInfo {
    /// The key snapshots are ordered by: the highest is the latest.
    pub fn order_key(&self) -> (u64, u64, SnapshotId) {
        (self.sequence, self.time, self.id)
    }
}

/// What [`Repository::adopt_keyring`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringAdoption {
    /// The config already matched the keyring.
    Unchanged,
    /// The config was rewritten with the keyring's slots; the keys are the same.
    SlotsUpdated,
    /// The root key was rotated: old epochs re-wrapped, a new epoch started.
    Rotated,
}

/// An opened repository: the store, the decoded config and the unwrapped keys of every epoch.
pub struct Repository {
    store: Arc<dyn BlobStore>,
    config: Config,
    keyring: Keyring,
    keys: KeySet,
    /// Identifies this writer in lock objects (the device id when a cache directory is used).
    holder: [u8; 16],
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repository")
            .field("id", &hex::encode(self.config.repo_id))
            .field("epoch", &self.keys.current().epoch())
            .finish_non_exhaustive()
    }
}

impl Repository {
    /// Creates a repository in an empty store: a fresh repository id and data key (epoch 0),
    /// the config sealed by `keyring`'s slots. A store that already has a config is refused
    /// ([`Error::InvalidArgument`]), and so is a keyring no new device could open
    /// ([`Keyring::check_restorable`]).
    pub fn init(
        store: Arc<dyn BlobStore>,
        keyring: &Keyring,
        options: &RepoOptions,
    ) -> Result<Repository> {
        options.chunker.validate()?;
        pack::validate_target(options.pack_target_bytes)?;
        keyring.check_restorable()?;
        if store.stat(CONFIG_NAME)?.is_some() {
            return Err(Error::InvalidArgument(
                "the store already holds a repository".into(),
            ));
        }
        let (config, keys) = Config::create(options)?;
        store.put(CONFIG_NAME, &config.encode(keyring, &keys)?)?;
        Repository::assemble(store, config, clone_keyring(keyring)?, keys)
    }

    /// Opens the repository whose config unlocks with `unlock`, which gets the keyring id, the
    /// generation and the slots from the (not yet authenticated) config and returns the root key. The config
    /// MAC is then verified and every epoch's data key unwrapped. `backup::open_repository`
    /// (and `Repository::open`, defined in the backup layer) wrap this with a `Secret`.
    pub fn open_with(
        store: Arc<dyn BlobStore>,
        unlock: impl FnOnce(&KeyringId, u64, &[Slot]) -> Result<RootKey>,
    ) -> Result<Repository> {
        let bytes = store.get(CONFIG_NAME, None)?;
        let sealed = config::SealedConfig::decode(&bytes)?;
        let root = unlock(&sealed.keyring_id, sealed.generation, &sealed.slots)?;
        let (config, keyring, keys) = sealed.unlock(root)?;
        Repository::assemble(store, config, keyring, keys)
    }

    fn assemble(
        store: Arc<dyn BlobStore>,
        config: Config,
        keyring: Keyring,
        keys: KeySet,
    ) -> Result<Repository> {
        Ok(Repository {
            store,
            config,
            keyring,
            keys,
            holder: random_bytes()?,
        })
    }

    /// The repository id (random, fixed at creation).
    pub fn id(&self) -> [u8; 16] {
        self.config.repo_id
    }

    /// The store this repository lives in.
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// The keyring rebuilt from the config (root key and slots).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The parameters fixed at creation.
    pub fn options(&self) -> RepoOptions {
        self.config.options
    }

    /// The key epoch new data is written under.
    pub fn current_epoch(&self) -> u32 {
        self.keys.current().epoch()
    }

    /// Sets the id this writer puts in lock objects, so a lock left by a killed run of the same
    /// device can be recognised (see `docs/REPOSITORY.md`, "Locks").
    pub fn set_lock_holder(&mut self, holder: [u8; 16]) {
        self.holder = holder;
    }

    /// Every snapshot, oldest first (by [`SnapshotInfo::order_key`]). Each snapshot object is authenticated; a damaged one is an
    /// error naming it.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut all = Vec::new();
        for name in self.store.list_names(SNAPSHOT_PREFIX)? {
            all.push(snapshot::load(self, &name)?.info);
        }
        all.sort_by_key(SnapshotInfo::order_key);
        Ok(all)
    }

    /// Brings the repository up to `keyring`, the device's keyring after a change, so that
    /// the config's slots are the keyring's and the config is sealed by its root key:
    ///
    /// - the same generation with other slots (a slot was added): the config is rewritten with
    ///   the new slots, the keys are kept;
    /// - a newer generation (a rotation: a slot was removed, or on request): every epoch's data
    ///   key is re-wrapped under the new root key and a new epoch with a fresh data key and
    ///   chunk-id key takes everything written from now on. Old data is not re-encrypted or
    ///   re-uploaded. A removed slot opens nothing afterwards and reads nothing written
    ///   afterwards (it still reads what it could read before);
    /// - an older generation is [`Error::KeyringRolledBack`]; another keyring is
    ///   [`Error::WrongKey`]; a keyring no new device could open is refused as for a backup.
    ///
    /// Call it right after rotating the device keyring, while this repository (opened with the
    /// old keyring) is still open: a repository left behind opens afterwards only with a slot's
    /// secret (passkey, recovery key, password), and then adopts the keyring the same way.
    pub fn adopt_keyring(&mut self, keyring: &Keyring) -> Result<KeyringAdoption> {
        if keyring.id() != self.keyring.id() {
            return Err(Error::WrongKey);
        }
        keyring.check_not_rolled_back(self.keyring.generation())?;
        keyring.check_restorable()?;
        let rotated = keyring.generation() > self.keyring.generation();
        if !rotated {
            let same_root = keyring
                .root_key()
                .expose_secret()
                .ct_eq(self.keyring.root_key().expose_secret());
            if !bool::from(same_root) {
                return Err(Error::WrongKey);
            }
            if keyring.to_public_bytes() == self.keyring.to_public_bytes() {
                return Ok(KeyringAdoption::Unchanged);
            }
        }
        let rotation = {
            let _lock = lock::Lock::acquire(self, self.holder)?;
            if rotated {
                let (config, keys) = self.config.rotated(&self.keys)?;
                self.store
                    .put(CONFIG_NAME, &config.encode(keyring, &keys)?)?;
                Some((config, keys))
            } else {
                self.store
                    .put(CONFIG_NAME, &self.config.encode(keyring, &self.keys)?)?;
                None
            }
        };
        if let Some((config, keys)) = rotation {
            self.config = config;
            self.keys = keys;
        }
        self.keyring = clone_keyring(keyring)?;
        Ok(if rotated {
            KeyringAdoption::Rotated
        } else {
            KeyringAdoption::SlotsUpdated
        })
    }

    /// Removes every lock object, whoever holds it (`restic unlock --remove-all`): for an app
    /// that knows no other device is writing. Returns how many were removed.
    pub fn break_locks(&self) -> Result<usize> {
        let names = self.store.list_names(LOCK_PREFIX)?;
        for name in &names {
            self.store.delete(name)?;
        }
        Ok(names.len())
    }

    /// Starts a snapshot: takes the lock, loads what the repository holds (through the local
    /// cache at `cache_dir` when given) and adopts packs a killed backup left unindexed.
    pub fn begin_snapshot(
        &self,
        cache_dir: Option<&std::path::Path>,
    ) -> Result<SnapshotWriter<'_>> {
        SnapshotWriter::begin(self, cache_dir)
    }

    /// A reader of snapshot `id`'s stream (the latest snapshot when `None`), with its info.
    pub fn read_snapshot(
        &self,
        id: Option<&SnapshotId>,
    ) -> Result<(SnapshotInfo, SnapshotReader<'_>)> {
        SnapshotReader::open(self, id)
    }

    pub(crate) fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub(crate) fn holder(&self) -> [u8; 16] {
        self.holder
    }
}

/// A copy of a keyring (its root key and public parts) for the repository to keep.
fn clone_keyring(keyring: &Keyring) -> Result<Keyring> {
    Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes())
}
