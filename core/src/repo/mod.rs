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

mod adopt;
mod cache;
pub mod catalog;
pub mod check;
pub mod chunker;
mod codec;
pub mod config;
#[doc(hidden)]
pub mod conformance;
mod counting;
pub mod damage;
mod describe;
pub mod fetch;
pub mod history;
pub mod index;
pub mod inventory;
pub mod keys;
pub mod lock;
pub mod object;
pub mod pack;
mod packer;
pub mod prune;
pub mod reader;
pub mod repair;
pub mod reseal;
pub mod resolve;
mod retry;
pub mod snapshot;
mod store;
mod store_dir;
mod store_mem;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod vectors;
pub mod verify;
pub mod writer;

use std::{fmt, str::FromStr, sync::Arc};

pub use check::{CheckOptions, CheckReport, Problem, Verdict};
pub use chunker::ChunkerParams;
pub use counting::{CountingStore, RequestCounts};
pub use history::{DamagedSnapshot, History};
pub use prune::{PruneOptions, PruneReport, RetentionPolicy};
pub use reader::SnapshotReader;
pub use repair::{RepairOptions, RepairReport};
pub use retry::{RetryPolicy, RetryingStore};
pub use snapshot::Snapshot;
pub use store::{
    check_name, storage_error, storage_error_of, BlobReader, BlobStore, ByteRange, ObjectInfo,
};
pub use store_dir::DirStore;
pub use store_mem::MemStore;
pub use writer::{Healing, SnapshotMeta, SnapshotWriter, WriteStats, WriterOptions};

use crate::{
    crypto::random_bytes,
    keyring::{Authenticity, Keyring, KeyringId, Slot, UnlockedRoot},
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
/// Prefix of damage notes.
pub const DAMAGE_PREFIX: &str = "damage/";

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
    /// Store calls a transfer keeps in flight at once (uploads of packs, ranged reads).
    connections: usize,
    /// How the root key that opened the config was obtained: through a version 2 slot the
    /// config may be the store's forgery, so nothing is written until the device's own keyring
    /// is adopted.
    authenticity: Authenticity,
}

/// Transfers in flight at once by default: enough to fill a phone's uplink over a link with
/// tens of milliseconds of round trip (restic keeps five), few enough for its memory.
pub const DEFAULT_CONNECTIONS: usize = 4;
/// Most transfers in flight a repository allows.
pub const MAX_CONNECTIONS: usize = 32;

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
    /// the config sealed by `keyring`'s slots. A store that already has a config, or any other
    /// object, is refused ([`Error::InvalidArgument`]), and so is a keyring no new device could
    /// open ([`Keyring::check_restorable`]).
    pub fn init(
        store: Arc<dyn BlobStore>,
        keyring: &Keyring,
        options: &RepoOptions,
    ) -> Result<Repository> {
        options.chunker.validate()?;
        pack::validate_target(options.pack_target_bytes)?;
        keyring.check_restorable()?;
        let inventory = inventory::Inventory::take(store.as_ref())?;
        if inventory.config.is_some() {
            return Err(Error::InvalidArgument(
                "the store already holds a repository".into(),
            ));
        }
        if !inventory.is_empty() {
            return Err(Error::InvalidArgument(
                "the store is not empty: a repository is created in an empty place only".into(),
            ));
        }
        let (config, keys) = Config::create(options)?;
        store.put(CONFIG_NAME, &config.encode(keyring, &keys)?)?;
        Repository::assemble(
            store,
            config,
            clone_keyring(keyring)?,
            keys,
            Authenticity::Device,
        )
    }

    /// Opens the repository whose config unlocks with `unlock`, which gets the keyring id, the
    /// generation and the slots from the (not yet authenticated) config and returns the root key
    /// with its [`Authenticity`]. The config MAC is then verified and every epoch's data key
    /// unwrapped. `Repository::open` (defined in the backup layer) wraps this with a `Secret`.
    pub fn open_with(
        store: Arc<dyn BlobStore>,
        unlock: impl FnOnce(&KeyringId, u64, &[Slot]) -> Result<UnlockedRoot>,
    ) -> Result<Repository> {
        let bytes = store.get(CONFIG_NAME, None)?;
        let sealed = config::SealedConfig::decode(&bytes)?;
        let unlocked = unlock(&sealed.keyring_id, sealed.generation, &sealed.slots)?;
        let (config, keyring, keys, authenticity) = sealed.unlock(unlocked)?;
        Repository::assemble(store, config, keyring, keys, authenticity)
    }

    fn assemble(
        store: Arc<dyn BlobStore>,
        config: Config,
        keyring: Keyring,
        keys: KeySet,
        authenticity: Authenticity,
    ) -> Result<Repository> {
        Ok(Repository {
            store,
            config,
            keyring,
            keys,
            connections: DEFAULT_CONNECTIONS,
            authenticity,
        })
    }

    /// Sets how many store calls a backup or restore keeps in flight at once (pack uploads,
    /// ranged reads): 1 for a store that must be called one call at a time, more for a remote
    /// store over a link with latency. `1..=`[`MAX_CONNECTIONS`]; default
    /// [`DEFAULT_CONNECTIONS`]. Each upload in flight holds one pack in memory.
    pub fn set_connections(&mut self, connections: usize) -> Result<()> {
        if !(1..=MAX_CONNECTIONS).contains(&connections) {
            return Err(Error::InvalidArgument(format!(
                "connections {connections} is not within 1..={MAX_CONNECTIONS}"
            )));
        }
        self.connections = connections;
        Ok(())
    }

    /// How many store calls a transfer keeps in flight.
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// The repository id (random, fixed at creation).
    pub fn id(&self) -> [u8; 16] {
        self.config.repo_id
    }

    /// The store this repository lives in.
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// The keyring rebuilt from the config (root key and slots), as the repository uses it.
    /// A device that adopts it takes [`Self::adoptable_keyring`] instead.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Whether the config was opened by a root key only a holder of the keyring's secrets could
    /// have sealed (not through a version 2 slot, unless the device keyring was adopted since).
    pub fn is_authenticated(&self) -> bool {
        self.authenticity.is_authenticated()
    }

    /// A copy of the keyring for a new device to keep and write under: refused with
    /// [`Error::UnauthenticatedKeyring`] when the config was opened through a version 2 slot
    /// (its data still restores; set up a new keyring and adopt it, see [`Keyring::rekey`]).
    pub fn adoptable_keyring(&self) -> Result<Keyring> {
        let authenticity = match self.keyring.auth_secret() {
            Some(auth) if self.is_authenticated() => Authenticity::Sealed(auth.clone()),
            _ => self.authenticity.clone(),
        };
        Keyring::adopted(
            UnlockedRoot {
                root: self.keyring.root_key().clone(),
                authenticity,
                slot: None,
            },
            *self.keyring.id(),
            *self.keyring.prf_input(),
            self.keyring.generation(),
            self.keyring.slots().to_vec(),
        )
    }

    /// The parameters fixed at creation.
    pub fn options(&self) -> RepoOptions {
        self.config.options
    }

    /// The key epoch new data is written under.
    pub fn current_epoch(&self) -> u32 {
        self.keys.current().epoch()
    }

    /// Every intact snapshot, oldest first (by [`SnapshotInfo::order_key`]); damaged snapshot
    /// objects are left out (see [`history`](Self::history)).
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        Ok(self
            .history()?
            .snapshots
            .into_iter()
            .map(|s| s.info)
            .collect())
    }

    /// Every snapshot: the intact ones in order, and the damaged objects with why.
    pub fn history(&self) -> Result<History> {
        let inventory = inventory::Inventory::take(self.store.as_ref())?;
        History::load(self, &inventory, None)
    }

    /// Repairs what `check` found (a dry run unless `options.apply`): see [`repair`].
    pub fn repair(&self, options: &RepairOptions) -> Result<RepairReport> {
        self.check_writable()?;
        repair::repair(self, options)
    }

    /// Removes stale locks and any unreadable object under `locks/`; a live lock is refused
    /// ([`Error::RepositoryLocked`], naming its holder) unless `force`: for a user who knows the
    /// writer that holds it is gone (`keepsake repo unlock`).
    pub fn unlock(&self, force: bool) -> Result<lock::UnlockReport> {
        lock::unlock(self, force, None)
    }

    /// Removes every lock object, whoever holds it (`restic unlock --remove-all`): for an app
    /// that knows no other device is writing. Returns how many were removed.
    pub fn break_locks(&self) -> Result<usize> {
        let report = self.unlock(true)?;
        Ok(report.removed.len() + report.junk.len())
    }

    /// Starts a snapshot: takes the lock, takes stock of the store (through the local cache
    /// at `cache_dir` when given), adopts packs a killed backup left unindexed and verifies a
    /// few packs (see [`SnapshotWriter`]).
    pub fn begin_snapshot(
        &self,
        cache_dir: Option<&std::path::Path>,
        options: &WriterOptions,
    ) -> Result<SnapshotWriter<'_>> {
        self.check_writable()?;
        SnapshotWriter::begin(self, cache_dir, options)
    }

    /// Refuses to write ([`Error::UnauthenticatedKeyring`]) into a repository whose config was
    /// opened through a version 2 slot: the store could have forged it, and then it would know
    /// the keys of everything written. Adopting the device's keyring lifts it.
    pub fn check_writable(&self) -> Result<()> {
        self.authenticity.check()
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

    /// The config as it would be written now with `keys` (slots and root key of the
    /// repository's keyring).
    pub(crate) fn config_bytes(&self, keys: &KeySet) -> Result<Vec<u8>> {
        self.config.encode(&self.keyring, keys)
    }

    /// The version the config was read with.
    pub(crate) fn config_version(&self) -> u8 {
        self.config.version
    }

    /// The key epoch floor (`repo::reseal`).
    pub fn epoch_floor(&self) -> u32 {
        self.keys.floor()
    }
}

/// A copy of a keyring (its root key, public parts and authentication secret) for the
/// repository to keep.
fn clone_keyring(keyring: &Keyring) -> Result<Keyring> {
    Keyring::from_parts(keyring.root_key().clone(), &keyring.to_public_bytes())
}
