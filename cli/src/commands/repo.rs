//! `keepsake repo ...`: incremental backups into a repository kept in a directory (the core's
//! directory blob store) or a remote store (`stores`). The repository is opened with the keys directory (daily backups) or
//! with a passkey or the recovery key (a new device), exactly as a backup file is.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
    time::Instant,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    keyring::Keyring,
    media::{
        DirMediaSink, DirMediaSource, MediaBackup, MediaBackupStats, MediaFilter, MediaKind,
        MediaOptions, MediaRestore, MediaRestoreReport,
    },
    progress::{Phase, Reporter, Unit},
    repo::{
        config::SealedConfig, KeyringAdoption, RepoOptions, Repository, SnapshotId, CONFIG_NAME,
    },
    store::ChatStore,
};
use serde::Serialize;

use super::{
    passkeys::SealedBy,
    repo_check, repo_history, repo_upkeep,
    repo_upkeep::{HealingView, STORE_ROLLED_BACK},
    unlock::OwnedSecret,
    views::{mib_per_second, seconds, utc_timestamp, CountsView},
};
use crate::{
    cli::{
        MediaKindArg, MediaRestoreArgs, RepoAdoptKeysArgs, RepoBackupArgs, RepoCommand,
        RepoFetchMediaArgs, RepoInitArgs, RepoOpenArgs, RepoRestoreArgs,
    },
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    output::{grouped, human_bytes, Report},
    stores::{self, OpenedStore, Requests},
    Context,
};

/// Run one `repo` subcommand.
pub fn run(command: RepoCommand, context: &Context) -> CliResult<()> {
    match command {
        RepoCommand::Init(args) => context.output.report(&init(&args)?),
        RepoCommand::Backup(args) => context.output.report(&backup(&args, context)?),
        RepoCommand::Snapshots(args) => context.output.report(&repo_history::snapshots(&args)?),
        RepoCommand::Restore(args) => {
            let report = restore(&args, context)?;
            context.output.report(&report)?;
            // After the report, which lists them: lost attachments are a failure for scripts.
            match report.media.as_ref().map_or(0, |m| m.lost.len()) {
                0 => Ok(()),
                lost => Err(CliError::MediaLost(lost)),
            }
        }
        RepoCommand::Prune(args) => context.output.report(&repo_upkeep::prune(&args, context)?),
        RepoCommand::Check(args) => repo_check::run(&args, context),
        RepoCommand::Repair(args) => context.output.report(&repo_upkeep::repair(&args)?),
        RepoCommand::Unlock(args) => context.output.report(&repo_upkeep::unlock(&args)?),
        RepoCommand::AdoptKeys(args) => context.output.report(&adopt_keys(&args)?),
        RepoCommand::FetchMedia(args) => context.output.report(&fetch_media(&args)?),
    }
}

/// Opens each repository in `locations` with the device's `keyring` before it changes (a
/// rotation needs the old root key to re-wrap the repository's keys).
pub(crate) fn open_for_rotation(
    locations: &[String],
    keyring: &Keyring,
) -> CliResult<Vec<(String, Repository)>> {
    locations
        .iter()
        .map(|location| {
            let opened = stores::open(&stores::plain(location), true, false)?;
            Ok((
                location.clone(),
                Repository::open(opened.store, &Secret::Keyring(keyring))?,
            ))
        })
        .collect()
}

/// Brings every repository opened by [`open_for_rotation`] up to `keyring`.
pub(crate) fn adopt_all(
    repos: &mut [(String, Repository)],
    keyring: &Keyring,
) -> CliResult<Vec<String>> {
    repos
        .iter_mut()
        .map(|(location, repo)| {
            repo.adopt_keyring(keyring)?;
            Ok(location.clone())
        })
        .collect()
}

/// What `repo adopt-keys` changed.
#[derive(Serialize)]
pub struct AdoptKeysReport {
    repo: String,
    /// `unchanged`, `slots_updated` or `rotated`.
    change: &'static str,
    generation: u64,
    epoch: u32,
    /// Version 1 or 2 slots of the keys directory that the secret used here upgraded to
    /// version 3 (saved in the keys directory).
    upgraded_slots: Vec<String>,
}

impl Report for AdoptKeysReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let what = match self.change {
            "rotated" => "took the new root key and started a new key epoch",
            "slots_updated" => "took the keyring's new slots",
            _ => "already matched the keyring",
        };
        for slot in &self.upgraded_slots {
            writeln!(
                out,
                "Upgraded slot {slot} to version 3 with the secret used here."
            )?;
        }
        writeln!(
            out,
            "Repository {} {what} (keyring generation {}, key epoch {}).",
            self.repo, self.generation, self.epoch
        )
    }
}

fn adopt_keys(args: &RepoAdoptKeysArgs) -> CliResult<AdoptKeysReport> {
    let keys = KeysDir::at(&args.to_keys);
    let mut keyring = keys.load()?;
    let (mut repo, secret, _) = open_with_secret(&args.open)?;
    // The secret in hand replaces the keyring's legacy slots it opens (the next use of their
    // secret on this device), before the repository takes the keyring.
    let upgraded = match secret.slot_secret() {
        Some(slot_secret) => keyring.upgrade_slots(&slot_secret)?,
        None => Vec::new(),
    };
    if !upgraded.is_empty() {
        keys.save(&keyring)?;
    }
    let change = match repo.adopt_keyring(&keyring)? {
        KeyringAdoption::Unchanged => "unchanged",
        KeyringAdoption::SlotsUpdated => "slots_updated",
        KeyringAdoption::Rotated => "rotated",
    };
    Ok(AdoptKeysReport {
        repo: args.open.repo.repo.clone(),
        change,
        generation: keyring.generation(),
        epoch: repo.current_epoch(),
        upgraded_slots: upgraded.iter().map(ToString::to_string).collect(),
    })
}

/// Opens the repository with the secret chosen on the command line; a passkey is asked for the
/// PRF input and credentials named by the repository's (public) config.
///
/// Also returns the opened store, whose requests the reports count.
pub(super) fn open(args: &RepoOpenArgs) -> CliResult<(Repository, &'static str, OpenedStore)> {
    let (repo, secret, opened) = open_with_secret(args)?;
    Ok((repo, secret.kind(), opened))
}

/// [`open`], keeping the secret (for the keyring's upgrade path).
fn open_with_secret(args: &RepoOpenArgs) -> CliResult<(Repository, OwnedSecret, OpenedStore)> {
    let opened = stores::open(&args.repo, true, false)?;
    let store = opened.store.clone();
    let sealed = SealedConfig::decode(&store.get(CONFIG_NAME, None)?)?;
    let secret = OwnedSecret::gather_for(
        &args.unlock.choice(),
        &SealedBy {
            keyring_id: sealed.keyring_id,
            prf_input: *sealed.prf_input(),
            slots: &sealed.slots,
        },
    )?;
    let repo = Repository::open(store, &secret.as_secret())?;
    Ok((repo, secret, opened))
}

pub(super) fn repo_id(repo: &Repository) -> String {
    repo.id().iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn control<'a>(bar: &'a crate::progress::Bar, context: &'a Context) -> Control<'a> {
    Control {
        progress: Some(bar),
        cancel: Some(&context.cancel),
    }
}

/// What `repo init` created.
#[derive(Serialize)]
pub struct InitReport {
    /// The repository directory.
    pub repo: String,
    /// The repository id.
    pub id: String,
    /// Key slots that open it (besides the keys directory's root key).
    pub slots: usize,
}

impl Report for InitReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Created repository {} in {}, opened by {} key slot(s) and the keys directory.",
            self.id, self.repo, self.slots
        )
    }
}

pub(crate) fn init(args: &RepoInitArgs) -> CliResult<InitReport> {
    let keyring = KeysDir::at(&args.keys.dir).load()?;
    if let keepsake_remote::Location::Directory(dir) = stores::location(&args.repo)? {
        refuse_non_empty(&dir)?;
    }
    if keyring.slots().is_empty() {
        eprintln!(
            "keepsake: warning: the keyring has no key slots, so only {} can open this \
             repository; add a recovery key or a passkey (`keepsake keys`)",
            args.keys.dir.display()
        );
    }
    let opened = stores::open(&args.repo, false, false)?;
    let repo = Repository::init(opened.store, &keyring, &RepoOptions::default())?;
    Ok(InitReport {
        repo: args.repo.repo.clone(),
        id: repo_id(&repo),
        slots: keyring.slots().len(),
    })
}

/// `repo init` goes into a new or empty directory only (exit 2 otherwise): a repository mixed
/// with other files would have them listed, checked and reported as stray objects.
fn refuse_non_empty(dir: &Path) -> CliResult<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(CliError::io(dir, err)),
    };
    if dir.join(CONFIG_NAME).exists() {
        return Err(CliError::Usage(format!(
            "{} already holds a repository",
            dir.display()
        )));
    }
    match entries.next() {
        None => Ok(()),
        Some(_) => Err(CliError::Usage(format!(
            "{} is not empty; create the repository in a new or empty directory",
            dir.display()
        ))),
    }
}

/// What `repo backup` stored.
#[derive(Serialize)]
pub struct RepoBackupReport {
    /// The new snapshot's id.
    pub snapshot: String,
    /// Records backed up.
    pub counts: CountsView,
    /// Bytes of the archive stream (the whole history, before compression).
    pub bytes_read: u64,
    /// Chunks in the stream.
    pub chunks: u64,
    /// Chunks the repository lacked.
    pub new_chunks: u64,
    /// Bytes written to the repository.
    pub bytes_uploaded: u64,
    /// Objects written to the repository.
    pub objects_written: u64,
    /// Packs of an interrupted earlier backup reused by this one.
    pub packs_adopted: u64,
    /// What the media part did (with `--media`).
    pub media: Option<MediaBackupView>,
    /// What the backup found lost or damaged in the store and healed.
    pub healing: HealingView,
    /// Wall time.
    pub seconds: f64,
    /// Archive bytes per second.
    pub throughput_mib_s: f64,
    /// Requests made to the store (opening the repository included).
    pub requests: Requests,
}

/// What the media part of `repo backup` did.
#[derive(Serialize)]
pub struct MediaBackupView {
    /// Attachments whose files are in the snapshot.
    pub files_stored: u64,
    /// Attachments whose files were not in the media directory.
    pub files_absent: u64,
    /// Attachments left out by --no-videos, --max-file-size or --exclude-conversation.
    pub files_skipped: u64,
    /// Bytes of the stored files (duplicates included).
    pub bytes_stored: u64,
    /// Files read (new or changed since the last backup).
    pub files_read: u64,
    /// Files kept from the last backup without reading them.
    pub files_unchanged: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Files that failed to read (recorded as absent).
    pub files_unreadable: u64,
}

impl From<&MediaBackupStats> for MediaBackupView {
    fn from(stats: &MediaBackupStats) -> Self {
        MediaBackupView {
            files_stored: stats.summary.files_stored,
            files_absent: stats.summary.files_absent,
            files_skipped: stats.summary.files_skipped,
            bytes_stored: stats.summary.bytes_stored,
            files_read: stats.files_read,
            files_unchanged: stats.files_unchanged,
            bytes_read: stats.bytes_read,
            files_unreadable: stats.files_unreadable,
        }
    }
}

impl Report for RepoBackupReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Snapshot {}: {} of history in {} chunks, {} new; stored {} in {} object(s) in \
             {:.2} s.",
            self.snapshot,
            human_bytes(self.bytes_read),
            grouped(self.chunks),
            grouped(self.new_chunks),
            human_bytes(self.bytes_uploaded),
            self.objects_written,
            self.seconds
        )?;
        self.counts.write_line(out)?;
        if let Some(m) = &self.media {
            writeln!(
                out,
                "Media: {} file(s) stored ({}), {} absent, {} skipped; read {} file(s) ({}), {} \
                 unchanged.",
                grouped(m.files_stored),
                human_bytes(m.bytes_stored),
                grouped(m.files_absent),
                grouped(m.files_skipped),
                grouped(m.files_read),
                human_bytes(m.bytes_read),
                grouped(m.files_unchanged)
            )?;
            if m.files_unreadable > 0 {
                writeln!(
                    out,
                    "{} media file(s) could not be read and were recorded as absent.",
                    m.files_unreadable
                )?;
            }
        }
        self.healing.write_text(out)
    }
}

/// The media source of `repo backup --media DIR`: a missing directory is an error rather than
/// a backup that records every attachment as absent.
fn media_source(dir: &Path) -> CliResult<DirMediaSource> {
    if dir.is_dir() {
        Ok(DirMediaSource::new(dir))
    } else {
        Err(CliError::io(
            dir,
            io::Error::new(io::ErrorKind::NotFound, "no media directory"),
        ))
    }
}

pub(crate) fn backup(args: &RepoBackupArgs, context: &Context) -> CliResult<RepoBackupReport> {
    let keys = KeysDir::at(&args.keys.dir);
    let keyring = keys.load()?;
    super::backup::ensure_chat_store(&args.database)?;
    let chats = ChatStore::open(&args.database)?;
    let source = args.media.as_deref().map(media_source).transpose()?;
    let media = source.as_ref().map(|source| MediaBackup {
        source,
        options: MediaOptions {
            include_videos: !args.no_videos,
            max_file_bytes: args.max_file_size,
            excluded_conversations: args.exclude_conversations.clone(),
        },
    });
    // A directory store first drops the temporary files of a killed backup.
    let opened = stores::open(&args.repo, true, true)?;
    let mut repo = Repository::open(opened.store.clone(), &Secret::Keyring(&keyring))?;
    let bar = context.bar();
    let started = Instant::now();
    let summary = backup::backup_store_with_media(
        &chats,
        &mut repo,
        args.cache.as_deref(),
        &BackupOptions::for_generation(keys.known_generation()?),
        media.as_ref(),
        &control(&bar, context),
    )?;
    let elapsed = started.elapsed();
    bar.clear();
    if summary.healing.store_rolled_back {
        // Also on stderr: a script reading --json still leaves a trace in its logs.
        eprintln!("keepsake: warning: {STORE_ROLLED_BACK}");
    }
    Ok(RepoBackupReport {
        snapshot: summary.snapshot.to_string(),
        counts: CountsView::from(&summary.counts),
        bytes_read: summary.bytes_read,
        chunks: summary.chunks,
        new_chunks: summary.new_chunks,
        bytes_uploaded: summary.bytes_uploaded,
        objects_written: summary.objects_written,
        packs_adopted: summary.packs_adopted,
        media: summary.media.as_ref().map(MediaBackupView::from),
        healing: HealingView::from(&summary.healing),
        seconds: seconds(elapsed),
        throughput_mib_s: mib_per_second(summary.bytes_read, elapsed),
        requests: opened.requests(),
    })
}

/// What `repo restore` put in place.
#[derive(Serialize)]
pub struct RepoRestoreReport {
    /// The snapshot restored (`latest` when none was named).
    pub snapshot: String,
    /// Its id, also when it was the latest.
    pub snapshot_id: String,
    /// When the latest was made (`null` when a snapshot was named).
    pub snapshot_time: Option<String>,
    /// Damaged snapshot objects passed over to find the newest intact snapshot (any of them
    /// may have been newer); 0 when a snapshot was named.
    pub damaged_snapshots_passed_over: usize,
    /// The restored database.
    pub target: String,
    /// Which secret opened the repository.
    pub unlocked_with: &'static str,
    /// Records restored.
    pub counts: Option<CountsView>,
    /// Size of the restored database.
    pub database_bytes: u64,
    /// True when an earlier, interrupted run of this restore had put the database in place
    /// and this run only continued the media (`counts` is then `null`).
    pub database_kept: bool,
    /// The media restore (with `--media-to`).
    pub media: Option<MediaRestoreView>,
    /// Wall time.
    pub seconds: f64,
    /// Requests made to the store (opening the repository included).
    pub requests: Requests,
}

/// What the media part of `repo restore` did.
#[derive(Serialize)]
pub struct MediaRestoreView {
    /// The snapshot whose media was restored.
    pub snapshot: String,
    /// The media directory.
    pub to: String,
    /// The state directory (resume information; delete it once done).
    pub state: String,
    /// Files restored by this run.
    pub files_restored: u64,
    /// Bytes restored by this run.
    pub bytes_restored: u64,
    /// Selected files restored by earlier runs or by `fetch-media`.
    pub files_already_restored: u64,
    /// Selected attachments whose files the backup does not hold (absent or left out).
    pub files_not_in_backup: u64,
    /// Selected attachments that could not be restored, with the reason.
    pub lost: Vec<LostView>,
    /// Wall time of the media part.
    pub seconds: f64,
}

/// An attachment a media restore lost.
#[derive(Serialize)]
pub struct LostView {
    /// `attachments.id`.
    pub attachment_id: i64,
    /// Why.
    pub reason: String,
}

impl MediaRestoreView {
    fn new(
        snapshot: SnapshotId,
        to: &Path,
        state: &Path,
        report: MediaRestoreReport,
        seconds: f64,
    ) -> Self {
        MediaRestoreView {
            snapshot: snapshot.to_string(),
            to: to.display().to_string(),
            state: state.display().to_string(),
            files_restored: report.files_restored,
            bytes_restored: report.bytes_restored,
            files_already_restored: report.files_already_restored,
            files_not_in_backup: report.files_not_in_backup,
            lost: report
                .lost
                .into_iter()
                .map(|lost| LostView {
                    attachment_id: lost.attachment_id,
                    reason: lost.reason,
                })
                .collect(),
            seconds,
        }
    }
}

impl Report for RepoRestoreReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.damaged_snapshots_passed_over > 0 {
            writeln!(
                out,
                "{} damaged snapshot object(s) passed over (`keepsake repo snapshots` lists \
                 them): took the newest intact snapshot, {} of {}.",
                self.damaged_snapshots_passed_over,
                self.snapshot_id,
                self.snapshot_time.as_deref().unwrap_or("unknown time")
            )?;
        }
        if self.database_kept {
            writeln!(
                out,
                "Kept {}, restored by an earlier run; unlocked with the {}.",
                self.target,
                self.unlocked_with.replace('_', " ")
            )?;
        } else {
            let media_seconds = self.media.as_ref().map_or(0.0, |m| m.seconds);
            writeln!(
                out,
                "Restored snapshot {} into {}: {} in {:.2} s, unlocked with the {}.",
                self.snapshot,
                self.target,
                human_bytes(self.database_bytes),
                self.seconds - media_seconds,
                self.unlocked_with.replace('_', " ")
            )?;
        }
        if let Some(counts) = &self.counts {
            counts.write_line(out)?;
        }
        if let Some(m) = &self.media {
            writeln!(
                out,
                "Media into {}: restored {} file(s) ({}) in {:.2} s; {} restored before, {} not \
                 in the backup, {} lost.",
                m.to,
                grouped(m.files_restored),
                human_bytes(m.bytes_restored),
                m.seconds,
                grouped(m.files_already_restored),
                grouped(m.files_not_in_backup),
                m.lost.len()
            )?;
            for lost in &m.lost {
                writeln!(
                    out,
                    "  lost attachment {}: {}",
                    lost.attachment_id, lost.reason
                )?;
            }
        }
        Ok(())
    }
}

/// The media restore's state directory: `--media-state`, or `DIR.keepsake-state` beside the
/// media directory (kept out of the restored files, and found again by a rerun).
fn media_state_dir(media_to: &Path, chosen: Option<&Path>) -> PathBuf {
    if let Some(dir) = chosen {
        return dir.to_path_buf();
    }
    let absolute = std::path::absolute(media_to).unwrap_or_else(|_| media_to.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => {
            let mut state = name.to_owned();
            state.push(".keepsake-state");
            parent.join(state)
        }
        _ => absolute.join(".keepsake-state"),
    }
}

fn media_filter(args: &MediaRestoreArgs) -> MediaFilter {
    MediaFilter {
        conversations: (!args.conversations.is_empty()).then(|| args.conversations.clone()),
        sent_from: args.since,
        sent_until: args.until,
        kinds: (!args.kinds.is_empty()).then(|| {
            args.kinds
                .iter()
                .map(|kind| match kind {
                    MediaKindArg::Image => MediaKind::Image,
                    MediaKindArg::Video => MediaKind::Video,
                    MediaKindArg::Audio => MediaKind::Audio,
                    MediaKindArg::Document => MediaKind::Document,
                })
                .collect()
        }),
    }
}

/// Restores the database, then (with `--media-to`) the media. The media state is opened
/// before the database is restored, so a database found in place together with this
/// snapshot's media state was put there by an interrupted run of this restore: the rerun
/// keeps it and continues the media.
pub(crate) fn restore(args: &RepoRestoreArgs, context: &Context) -> CliResult<RepoRestoreReport> {
    let id = args
        .snapshot
        .as_deref()
        .map(str::parse::<SnapshotId>)
        .transpose()?;
    let state = args
        .media
        .media_to
        .as_deref()
        .map(|to| media_state_dir(to, args.media.media_state.as_deref()));
    let exists = args.to.exists();
    if exists && !args.overwrite && state.is_none() {
        return Err(CliError::TargetExists(args.to.clone()));
    }
    let (repo, unlocked_with, opened) = open(&args.open)?;
    // The snapshot is named before anything is restored: the database and the media then
    // come from the same one even if a backup lands in between, and the report can say which
    // intact snapshot was taken when damaged ones were passed over.
    let (snapshot, latest) = match id {
        Some(id) => (id, None),
        None => {
            let latest = repo_history::latest(&repo)?;
            (latest.id, Some(latest))
        }
    };
    let media = match (&args.media.media_to, &state) {
        (Some(to), Some(state)) => {
            let resumable = state.join(format!("media-{snapshot}.sqlite")).is_file();
            if exists && !args.overwrite && !resumable {
                return Err(CliError::TargetExists(args.to.clone()));
            }
            let media = MediaRestore::open(&repo, Some(&snapshot), state)?;
            Some((to, state, media))
        }
        _ => None,
    };
    let keep_database = exists && !args.overwrite;
    let bar = context.bar();
    let started = Instant::now();
    let (counts, database_bytes) = if keep_database {
        let bytes = std::fs::metadata(&args.to)
            .map_err(|e| CliError::io(&args.to, e))?
            .len();
        (None, bytes)
    } else {
        let restored = backup::restore_from_repo(
            &repo,
            Some(&snapshot),
            &args.to,
            &RestoreOptions {
                replace: args.overwrite,
            },
            &control(&bar, context),
        )?;
        (
            CountsView::of(restored.counts.as_ref()),
            restored.database_bytes,
        )
    };
    let media = match media {
        Some((to, state, mut restore)) => {
            let media_started = Instant::now();
            let mut reporter = Reporter::new(
                Some(&bar),
                Some(&context.cancel),
                Phase::Media,
                Unit::Bytes,
                0,
            );
            let report = restore.run(
                &media_filter(&args.media),
                &DirMediaSink::new(to),
                &mut reporter,
            )?;
            Some(MediaRestoreView::new(
                restore.snapshot(),
                to,
                state,
                report,
                seconds(media_started.elapsed()),
            ))
        }
        None => None,
    };
    let elapsed = started.elapsed();
    bar.clear();
    Ok(RepoRestoreReport {
        snapshot: args.snapshot.clone().unwrap_or_else(|| "latest".to_owned()),
        snapshot_id: snapshot.to_string(),
        snapshot_time: latest.as_ref().map(|l| utc_timestamp(l.time)),
        damaged_snapshots_passed_over: latest.as_ref().map_or(0, |l| l.damaged),
        target: args.to.display().to_string(),
        unlocked_with,
        counts,
        database_bytes,
        database_kept: keep_database,
        media,
        seconds: seconds(elapsed),
        requests: opened.requests(),
    })
}

/// What `repo fetch-media` restored.
#[derive(Serialize)]
pub struct FetchMediaReport {
    /// The snapshot it came from.
    pub snapshot: String,
    /// `attachments.id`.
    pub attachment_id: i64,
    /// Where the file is now.
    pub path: String,
    /// Its MIME type.
    pub mime: String,
    /// Its size.
    pub bytes: u64,
    /// Which secret opened the repository.
    pub unlocked_with: &'static str,
    /// Wall time (opening the media state included).
    pub seconds: f64,
    /// Requests made to the store (opening the repository included).
    pub requests: Requests,
}

impl Report for FetchMediaReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Restored attachment {} ({}, {}) to {} in {:.2} s.",
            self.attachment_id,
            self.mime,
            human_bytes(self.bytes),
            self.path,
            self.seconds
        )
    }
}

fn fetch_media(args: &RepoFetchMediaArgs) -> CliResult<FetchMediaReport> {
    let id = args
        .snapshot
        .as_deref()
        .map(str::parse::<SnapshotId>)
        .transpose()?;
    let (repo, unlocked_with, opened) = open(&args.open)?;
    let started = Instant::now();
    let state = media_state_dir(&args.media_to, args.media_state.as_deref());
    let restore = MediaRestore::open(&repo, id.as_ref(), &state)?;
    let sink = DirMediaSink::new(&args.media_to);
    let item = restore.fetch(args.attachment, &sink)?;
    Ok(FetchMediaReport {
        snapshot: restore.snapshot().to_string(),
        attachment_id: item.attachment_id,
        path: sink.path_for(&item).display().to_string(),
        mime: item.mime.clone(),
        bytes: item.size,
        unlocked_with,
        seconds: seconds(started.elapsed()),
        requests: opened.requests(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_the_config_into_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeysDir::at(&dir.path().join("keys"));
        let mut keyring = keys.create().unwrap();
        let args = RepoInitArgs {
            repo: stores::plain(&dir.path().join("repo").display().to_string()),
            keys: crate::cli::KeysDirArg {
                dir: keys.path().to_path_buf(),
            },
        };
        assert!(
            matches!(
                init(&args),
                Err(CliError::Core(keepsake_core::Error::InvalidArgument(_)))
            ),
            "a keyring without a slot seals no repository"
        );
        keyring.add_recovery_key("paper").unwrap();
        keys.save(&keyring).unwrap();
        let report = init(&args).unwrap();
        assert_eq!(report.id.len(), 32);
        assert!(dir.path().join("repo").join(CONFIG_NAME).is_file());
        assert!(matches!(init(&args), Err(CliError::Usage(m)) if m.contains("holds a repository")));
        let other = RepoInitArgs {
            repo: stores::plain(&dir.path().display().to_string()),
            ..args
        };
        assert!(matches!(init(&other), Err(CliError::Usage(m)) if m.contains("not empty")));
    }
}
