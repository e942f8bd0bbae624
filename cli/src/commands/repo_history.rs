//! A repository's history: `repo snapshots` (the intact snapshots in order, and the snapshot
//! objects that are damaged, which are listed rather than failing the listing) and which
//! snapshot a restore without `--snapshot` takes (the newest intact one, said aloud when damaged
//! objects were passed over).

use std::io::{self, Write};

use keepsake_core::repo::{MediaSummary, Repository, SnapshotId, SNAPSHOT_PREFIX};
use serde::Serialize;

use super::{
    repo::{open, repo_id},
    views::{utc_timestamp, CountsView},
};
use crate::{
    cli::RepoOpenArgs,
    error::{CliError, CliResult},
    output::{grouped, human_bytes, Report},
    stores::Requests,
};

/// One snapshot, as `repo snapshots` lists it.
#[derive(Serialize)]
pub struct SnapshotView {
    /// Its id.
    pub id: String,
    /// When the backup began (UTC, ISO 8601).
    pub time: String,
    /// One more than its parent's: orders snapshots whose times tie or disagree; the latest
    /// has the highest.
    pub sequence: u64,
    /// The snapshot it followed.
    pub parent: Option<String>,
    /// Records in it.
    pub counts: CountsView,
    /// Archive bytes.
    pub bytes: u64,
    /// Chunks it references.
    pub chunks: u64,
    /// Its media (`null` when the backup had none).
    pub media: Option<MediaSummaryView>,
}

/// A snapshot's media counts.
#[derive(Serialize)]
pub struct MediaSummaryView {
    /// Attachments whose files are in the snapshot.
    pub files_stored: u64,
    /// Attachments whose files were not on the device.
    pub files_absent: u64,
    /// Attachments left out by the backup's media options.
    pub files_skipped: u64,
    /// Bytes of the stored files.
    pub bytes_stored: u64,
}

impl From<&MediaSummary> for MediaSummaryView {
    fn from(summary: &MediaSummary) -> Self {
        MediaSummaryView {
            files_stored: summary.files_stored,
            files_absent: summary.files_absent,
            files_skipped: summary.files_skipped,
            bytes_stored: summary.bytes_stored,
        }
    }
}

/// A snapshot object that cannot be read.
#[derive(Serialize)]
pub struct DamagedSnapshotView {
    /// The snapshot id its name gives (`null` for a name that is not an id).
    pub id: Option<String>,
    /// The store object.
    pub object: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What `repo snapshots` found.
#[derive(Serialize)]
pub struct SnapshotsReport {
    /// The repository id.
    pub repository: String,
    /// Which secret opened it.
    pub unlocked_with: &'static str,
    /// The intact snapshots, oldest first.
    pub snapshots: Vec<SnapshotView>,
    /// Snapshot objects that are damaged (they cannot be restored; `repo repair` removes them).
    pub damaged: Vec<DamagedSnapshotView>,
    /// Requests made to the store (opening the repository included).
    pub requests: Requests,
}

impl Report for SnapshotsReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Repository {}: {} snapshot(s), oldest first.",
            self.repository,
            self.snapshots.len()
        )?;
        for s in &self.snapshots {
            write!(
                out,
                "  {}  #{}  {}  {} messages  {}",
                s.id,
                s.sequence,
                s.time,
                grouped(s.counts.messages),
                human_bytes(s.bytes)
            )?;
            match &s.media {
                Some(m) => writeln!(
                    out,
                    "  {} media files ({}), {} absent, {} skipped",
                    grouped(m.files_stored),
                    human_bytes(m.bytes_stored),
                    grouped(m.files_absent),
                    grouped(m.files_skipped)
                )?,
                None => writeln!(out)?,
            }
        }
        if !self.damaged.is_empty() {
            writeln!(
                out,
                "{} damaged snapshot object(s), which cannot be restored (`keepsake repo repair \
                 --apply` removes them):",
                self.damaged.len()
            )?;
            for d in &self.damaged {
                writeln!(out, "  DAMAGED  {}: {}", d.object, d.reason)?;
            }
        }
        Ok(())
    }
}

/// `repo snapshots`.
pub fn snapshots(args: &RepoOpenArgs) -> CliResult<SnapshotsReport> {
    let (repo, unlocked_with, opened) = open(args)?;
    let history = repo.history()?;
    let snapshots = history
        .snapshots
        .into_iter()
        .map(|s| s.info)
        .map(|s| SnapshotView {
            id: s.id.to_string(),
            time: utc_timestamp(s.time),
            sequence: s.sequence,
            parent: s.parent.map(|p| p.to_string()),
            counts: CountsView::from(&s.counts),
            bytes: s.bytes,
            chunks: s.chunks,
            media: s.media.as_ref().map(MediaSummaryView::from),
        })
        .collect();
    let damaged = history
        .damaged
        .into_iter()
        .map(|d| DamagedSnapshotView {
            id: d
                .name
                .strip_prefix(SNAPSHOT_PREFIX)
                .and_then(|id| id.parse::<SnapshotId>().ok())
                .map(|id| id.to_string()),
            object: d.name,
            reason: d.reason,
        })
        .collect();
    Ok(SnapshotsReport {
        repository: repo_id(&repo),
        unlocked_with,
        snapshots,
        damaged,
        requests: opened.requests(),
    })
}

/// The snapshot a restore without `--snapshot` takes.
pub struct Latest {
    /// The newest intact snapshot.
    pub id: SnapshotId,
    /// When it was made (unix seconds).
    pub time: u64,
    /// Damaged snapshot objects passed over (any of them may have been newer).
    pub damaged: usize,
}

/// The newest intact snapshot, named before the restore starts so that the database and the
/// media come from the same snapshot even if a backup lands in between, and so that the report
/// can say which one it was when damaged snapshot objects were passed over.
pub fn latest(repo: &Repository) -> CliResult<Latest> {
    let history = repo.history()?;
    let damaged = history.damaged.len();
    match history.latest() {
        Some(latest) => Ok(Latest {
            id: latest.info.id,
            time: latest.info.time,
            damaged,
        }),
        None if damaged > 0 => Err(CliError::Core(keepsake_core::Error::Corrupted {
            what: format!(
                "every snapshot object is damaged ({}: {})",
                history.damaged[0].name, history.damaged[0].reason
            ),
        })),
        None => Err(CliError::Core(keepsake_core::Error::ObjectMissing {
            name: "snapshots/ (the repository holds no snapshot)".into(),
        })),
    }
}
