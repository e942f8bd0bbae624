//! The repository's reports and options as FFI records, converted from and to the core's.

use keepsake_core::{
    backup::RepoBackupSummary,
    repo::{self as core_repo, SnapshotId},
};

use super::health::Healing;
use crate::{
    count::{long, unsigned},
    error::FfiResult,
    media::{MediaBackupReport, MediaSummary},
    store::RecordCounts,
};

/// What `Repository.adoptKeyring` changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum KeyringAdoption {
    /// The repository already had the keyring's slots and root key.
    Unchanged,
    /// The repository's config took the keyring's new slots.
    SlotsUpdated,
    /// The root key was rotated: a new key epoch takes everything written from now on.
    Rotated,
}

impl From<core_repo::KeyringAdoption> for KeyringAdoption {
    fn from(adoption: core_repo::KeyringAdoption) -> Self {
        match adoption {
            core_repo::KeyringAdoption::Unchanged => KeyringAdoption::Unchanged,
            core_repo::KeyringAdoption::SlotsUpdated => KeyringAdoption::SlotsUpdated,
            core_repo::KeyringAdoption::Rotated => KeyringAdoption::Rotated,
        }
    }
}

/// One snapshot of a repository (readable once the repository is open). Counts, sizes and
/// times are `i64` (Kotlin `Long`, Swift `Int64`), as everywhere in the FFI.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SnapshotInfo {
    /// The snapshot id, 32 lowercase hex digits.
    pub id: String,
    /// When the backup began, seconds since the Unix epoch.
    pub time: i64,
    /// One more than its parent's (1 for the first): what orders snapshots taken within one
    /// second or on devices whose clocks disagree. The latest snapshot has the highest.
    pub sequence: i64,
    /// Records per kind.
    pub counts: RecordCounts,
    /// The snapshot this one was made after, if any.
    pub parent: Option<String>,
    /// Bytes of the archive stream before compression.
    pub bytes: i64,
    /// Data chunks the snapshot references.
    pub chunks: i64,
    /// The attachments' media, when the backup had media (`Repository.backupWithMedia`).
    pub media: Option<MediaSummary>,
}

impl From<core_repo::SnapshotInfo> for SnapshotInfo {
    fn from(info: core_repo::SnapshotInfo) -> Self {
        SnapshotInfo {
            id: info.id.to_string(),
            time: long(info.time),
            sequence: long(info.sequence),
            counts: info.counts.into(),
            parent: info.parent.map(|p| p.to_string()),
            bytes: long(info.bytes),
            chunks: long(info.chunks),
            media: info.media.map(Into::into),
        }
    }
}

/// What a backup into a repository did: how little an incremental run uploads.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RepoBackupReport {
    /// The new snapshot's id.
    pub snapshot_id: String,
    /// Records per kind.
    pub counts: RecordCounts,
    /// Bytes of the archive stream (the whole chat history, before compression).
    pub bytes_read: i64,
    /// Data chunks in the stream.
    pub chunks: i64,
    /// Chunks the repository did not have yet and this backup uploaded: data chunks and the
    /// snapshot's list chunks (so a first backup has more new chunks than `chunks`).
    pub new_chunks: i64,
    /// Bytes put into the blob store (packs, index, snapshot).
    pub bytes_uploaded: i64,
    /// Objects put into the blob store.
    pub objects_written: i64,
    /// Packs of an interrupted earlier backup that this one reused.
    pub packs_adopted: i64,
    /// What the media part did, when the backup had media (`Repository.backupWithMedia`).
    pub media: Option<MediaBackupReport>,
    /// What the backup found lost or damaged in the store and healed: this snapshot restores
    /// whole regardless; tell the user when `healing.foundDamage`.
    pub healing: Healing,
}

impl From<RepoBackupSummary> for RepoBackupReport {
    fn from(s: RepoBackupSummary) -> Self {
        RepoBackupReport {
            snapshot_id: s.snapshot.to_string(),
            counts: s.counts.into(),
            bytes_read: long(s.bytes_read),
            chunks: long(s.chunks),
            new_chunks: long(s.new_chunks),
            bytes_uploaded: long(s.bytes_uploaded),
            objects_written: long(s.objects_written),
            packs_adopted: long(s.packs_adopted),
            media: s.media.map(Into::into),
            healing: s.healing.into(),
        }
    }
}

/// Which snapshots a prune keeps; a snapshot kept by any rule stays. Set at least one rule.
/// A negative count is `InvalidArgument`, and so is a policy that keeps none of the snapshots
/// (`keepLast = 0` is more often a slip than a wish to delete the whole backup) unless
/// `allow_forget_all`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct RetentionPolicy {
    /// Keep the newest N snapshots.
    #[uniffi(default = None)]
    pub keep_last: Option<i64>,
    /// Keep the newest snapshot of each of the last N days (UTC) that have one.
    #[uniffi(default = None)]
    pub keep_daily: Option<i64>,
    /// Keep the newest snapshot of each of the last N weeks (UTC) that have one.
    #[uniffi(default = None)]
    pub keep_weekly: Option<i64>,
    /// Allow the policy to forget every snapshot.
    #[uniffi(default = false)]
    pub allow_forget_all: bool,
}

impl RetentionPolicy {
    /// The core's policy; a count beyond `u32::MAX` keeps everything, as `u32::MAX` does.
    pub(crate) fn to_core(self) -> FfiResult<core_repo::RetentionPolicy> {
        let count = |value: Option<i64>, what: &str| -> FfiResult<Option<u32>> {
            value
                .map(|n| Ok(u32::try_from(unsigned(n, what)?).unwrap_or(u32::MAX)))
                .transpose()
        };
        Ok(core_repo::RetentionPolicy {
            keep_last: count(self.keep_last, "keep_last")?,
            keep_daily: count(self.keep_daily, "keep_daily")?,
            keep_weekly: count(self.keep_weekly, "keep_weekly")?,
            allow_forget_all: self.allow_forget_all,
        })
    }
}

/// What a prune did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PruneReport {
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
    /// Snapshots kept.
    pub snapshots_kept: i64,
    /// Snapshots forgotten.
    pub snapshots_removed: i64,
    /// Packs deleted: unused packs an earlier prune condemned at least an hour before (so a
    /// backup still running on another device keeps what it uploaded).
    pub packs_deleted: i64,
    /// Packs this prune condemned: a later prune deletes them.
    pub packs_condemned: i64,
    /// Packs whose live chunks were copied into new packs.
    pub packs_repacked: i64,
    /// Bytes deleted from the store.
    pub bytes_deleted: i64,
    /// Bytes written to the store (new packs and index).
    pub bytes_written: i64,
    /// Why no space was reclaimed, when none was: while a snapshot object is damaged (see
    /// `Repository.history`) prune forgets snapshots but deletes nothing, since it cannot know
    /// what the damaged one needs; `repair` first.
    pub not_reclaimed: Option<String>,
}

impl From<core_repo::PruneReport> for PruneReport {
    fn from(r: core_repo::PruneReport) -> Self {
        PruneReport {
            dry_run: r.dry_run,
            snapshots_kept: long(r.snapshots_kept),
            snapshots_removed: long(r.snapshots_removed),
            packs_deleted: long(r.packs_deleted),
            packs_condemned: long(r.packs_condemned),
            packs_repacked: long(r.packs_repacked),
            bytes_deleted: long(r.bytes_deleted),
            bytes_written: long(r.bytes_written),
            not_reclaimed: r.not_reclaimed,
        }
    }
}

/// A snapshot id typed by the app, or the latest snapshot when `None`.
pub(crate) fn snapshot_id(text: Option<&str>) -> FfiResult<Option<SnapshotId>> {
    Ok(text.map(str::parse).transpose()?)
}
