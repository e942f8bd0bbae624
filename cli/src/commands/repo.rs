//! `keepsake repo ...`: incremental backups into a repository kept in a directory (the core's
//! directory blob store). The repository is opened with the keys directory (daily backups) or
//! with a passkey or the recovery key (a new device), exactly as a backup file is.

use std::{
    io::{self, Write},
    path::PathBuf,
    sync::Arc,
    time::Instant,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    keyring::Keyring,
    repo::{
        config::SealedConfig, BlobStore, CheckOptions, DirStore, KeyringAdoption, RepoOptions,
        Repository, RetentionPolicy, SnapshotId, CONFIG_NAME,
    },
    store::ChatStore,
};
use serde::Serialize;

use super::{
    passkeys::SealedBy,
    unlock::OwnedSecret,
    views::{mib_per_second, seconds, utc_timestamp, CountsView},
};
use crate::{
    cli::{
        RepoAdoptKeysArgs, RepoBackupArgs, RepoCheckArgs, RepoCommand, RepoDirArg, RepoInitArgs,
        RepoOpenArgs, RepoPruneArgs, RepoRestoreArgs,
    },
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    output::{grouped, human_bytes, Report},
    Context,
};

/// Run one `repo` subcommand.
pub fn run(command: RepoCommand, context: &Context) -> CliResult<()> {
    match command {
        RepoCommand::Init(args) => context.output.report(&init(&args)?),
        RepoCommand::Backup(args) => context.output.report(&backup(&args, context)?),
        RepoCommand::Snapshots(args) => context.output.report(&snapshots(&args)?),
        RepoCommand::Restore(args) => context.output.report(&restore(&args, context)?),
        RepoCommand::Prune(args) => context.output.report(&prune(&args, context)?),
        RepoCommand::Check(args) => context.output.report(&check(&args, context)?),
        RepoCommand::AdoptKeys(args) => context.output.report(&adopt_keys(&args)?),
    }
}

/// Opens each repository in `dirs` with the device's `keyring` before it changes (a rotation
/// needs the old root key to re-wrap the repository's keys).
pub(crate) fn open_for_rotation(
    dirs: &[PathBuf],
    keyring: &Keyring,
) -> CliResult<Vec<(PathBuf, Repository)>> {
    dirs.iter()
        .map(|dir| {
            let store = existing_store(&RepoDirArg {
                repo_dir: dir.clone(),
            })?;
            Ok((
                dir.clone(),
                Repository::open(store, &Secret::Keyring(keyring))?,
            ))
        })
        .collect()
}

/// Brings every repository opened by [`open_for_rotation`] up to `keyring`.
pub(crate) fn adopt_all(
    repos: &mut [(PathBuf, Repository)],
    keyring: &Keyring,
) -> CliResult<Vec<String>> {
    repos
        .iter_mut()
        .map(|(dir, repo)| {
            repo.adopt_keyring(keyring)?;
            Ok(dir.display().to_string())
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
}

impl Report for AdoptKeysReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let what = match self.change {
            "rotated" => "took the new root key and started a new key epoch",
            "slots_updated" => "took the keyring's new slots",
            _ => "already matched the keyring",
        };
        writeln!(
            out,
            "Repository {} {what} (keyring generation {}, key epoch {}).",
            self.repo, self.generation, self.epoch
        )
    }
}

fn adopt_keys(args: &RepoAdoptKeysArgs) -> CliResult<AdoptKeysReport> {
    let keyring = KeysDir::at(&args.to_keys).load()?;
    let (mut repo, _) = open(&args.open)?;
    let change = match repo.adopt_keyring(&keyring)? {
        KeyringAdoption::Unchanged => "unchanged",
        KeyringAdoption::SlotsUpdated => "slots_updated",
        KeyringAdoption::Rotated => "rotated",
    };
    Ok(AdoptKeysReport {
        repo: args.open.repo.repo_dir.display().to_string(),
        change,
        generation: keyring.generation(),
        epoch: repo.current_epoch(),
    })
}

/// The directory store at `--repo`, created if missing (for `init`).
fn store(repo: &RepoDirArg) -> CliResult<Arc<dyn BlobStore>> {
    Ok(Arc::new(DirStore::open(&repo.repo_dir)?))
}

/// The directory store of an existing repository: a missing directory is an I/O error, not a
/// new empty directory left behind.
fn existing_store(repo: &RepoDirArg) -> CliResult<Arc<dyn BlobStore>> {
    if !repo.repo_dir.is_dir() {
        return Err(CliError::io(
            &repo.repo_dir,
            io::Error::new(io::ErrorKind::NotFound, "no repository directory"),
        ));
    }
    store(repo)
}

/// Opens the repository with the secret chosen on the command line; a passkey is asked for the
/// PRF input and credentials named by the repository's (public) config.
fn open(args: &RepoOpenArgs) -> CliResult<(Repository, &'static str)> {
    let store = existing_store(&args.repo)?;
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
    Ok((repo, secret.kind()))
}

fn repo_id(repo: &Repository) -> String {
    repo.id().iter().map(|b| format!("{b:02x}")).collect()
}

fn control<'a>(bar: &'a crate::progress::Bar, context: &'a Context) -> Control<'a> {
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

fn init(args: &RepoInitArgs) -> CliResult<InitReport> {
    let keyring = KeysDir::at(&args.keys.dir).load()?;
    if keyring.slots().is_empty() {
        eprintln!(
            "keepsake: warning: the keyring has no key slots, so only {} can open this \
             repository; add a recovery key or a passkey (`keepsake keys`)",
            args.keys.dir.display()
        );
    }
    let repo = Repository::init(store(&args.repo)?, &keyring, &RepoOptions::default())?;
    Ok(InitReport {
        repo: args.repo.repo_dir.display().to_string(),
        id: repo_id(&repo),
        slots: keyring.slots().len(),
    })
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
    /// Wall time.
    pub seconds: f64,
    /// Archive bytes per second.
    pub throughput_mib_s: f64,
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
        self.counts.write_line(out)
    }
}

fn backup(args: &RepoBackupArgs, context: &Context) -> CliResult<RepoBackupReport> {
    let keyring = KeysDir::at(&args.keys.dir).load()?;
    super::backup::ensure_chat_store(&args.database)?;
    let chats = ChatStore::open(&args.database)?;
    let mut repo = Repository::open(existing_store(&args.repo)?, &Secret::Keyring(&keyring))?;
    let bar = context.bar();
    let started = Instant::now();
    let summary = backup::backup_store_to_repo(
        &chats,
        &mut repo,
        args.cache.as_deref(),
        &BackupOptions::default(),
        &control(&bar, context),
    )?;
    let elapsed = started.elapsed();
    bar.clear();
    Ok(RepoBackupReport {
        snapshot: summary.snapshot.to_string(),
        counts: CountsView::from(&summary.counts),
        bytes_read: summary.bytes_read,
        chunks: summary.chunks,
        new_chunks: summary.new_chunks,
        bytes_uploaded: summary.bytes_uploaded,
        objects_written: summary.objects_written,
        packs_adopted: summary.packs_adopted,
        seconds: seconds(elapsed),
        throughput_mib_s: mib_per_second(summary.bytes_read, elapsed),
    })
}

/// One snapshot, as `repo snapshots` lists it.
#[derive(Serialize)]
pub struct SnapshotView {
    /// Its id.
    pub id: String,
    /// When the backup began (UTC, ISO 8601).
    pub time: String,
    /// The snapshot it followed.
    pub parent: Option<String>,
    /// Records in it.
    pub counts: CountsView,
    /// Archive bytes.
    pub bytes: u64,
    /// Chunks it references.
    pub chunks: u64,
}

/// What `repo snapshots` found.
#[derive(Serialize)]
pub struct SnapshotsReport {
    /// The repository id.
    pub repository: String,
    /// Which secret opened it.
    pub unlocked_with: &'static str,
    /// The snapshots, oldest first.
    pub snapshots: Vec<SnapshotView>,
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
            writeln!(
                out,
                "  {}  {}  {} messages  {}",
                s.id,
                s.time,
                grouped(s.counts.messages),
                human_bytes(s.bytes)
            )?;
        }
        Ok(())
    }
}

fn snapshots(args: &RepoOpenArgs) -> CliResult<SnapshotsReport> {
    let (repo, unlocked_with) = open(args)?;
    let snapshots = repo
        .snapshots()?
        .into_iter()
        .map(|s| SnapshotView {
            id: s.id.to_string(),
            time: utc_timestamp(s.time),
            parent: s.parent.map(|p| p.to_string()),
            counts: CountsView::from(&s.counts),
            bytes: s.bytes,
            chunks: s.chunks,
        })
        .collect();
    Ok(SnapshotsReport {
        repository: repo_id(&repo),
        unlocked_with,
        snapshots,
    })
}

/// What `repo restore` put in place.
#[derive(Serialize)]
pub struct RepoRestoreReport {
    /// The snapshot restored (`latest` when none was named).
    pub snapshot: String,
    /// The restored database.
    pub target: String,
    /// Which secret opened the repository.
    pub unlocked_with: &'static str,
    /// Records restored.
    pub counts: Option<CountsView>,
    /// Size of the restored database.
    pub database_bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Report for RepoRestoreReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Restored snapshot {} into {}: {} in {:.2} s, unlocked with the {}.",
            self.snapshot,
            self.target,
            human_bytes(self.database_bytes),
            self.seconds,
            self.unlocked_with.replace('_', " ")
        )?;
        if let Some(counts) = &self.counts {
            counts.write_line(out)?;
        }
        Ok(())
    }
}

fn restore(args: &RepoRestoreArgs, context: &Context) -> CliResult<RepoRestoreReport> {
    if !args.overwrite && args.to.exists() {
        return Err(CliError::TargetExists(args.to.clone()));
    }
    let id = args
        .snapshot
        .as_deref()
        .map(str::parse::<SnapshotId>)
        .transpose()?;
    let (repo, unlocked_with) = open(&args.open)?;
    let bar = context.bar();
    let started = Instant::now();
    let restored = backup::restore_from_repo(
        &repo,
        id.as_ref(),
        &args.to,
        &RestoreOptions {
            replace: args.overwrite,
        },
        &control(&bar, context),
    )?;
    let elapsed = started.elapsed();
    bar.clear();
    Ok(RepoRestoreReport {
        snapshot: id.map_or_else(|| "latest".to_owned(), |id| id.to_string()),
        target: args.to.display().to_string(),
        unlocked_with,
        counts: CountsView::of(restored.counts.as_ref()),
        database_bytes: restored.database_bytes,
        seconds: seconds(elapsed),
    })
}

/// What `repo prune` did.
#[derive(Serialize)]
pub struct PruneView {
    /// Snapshots kept.
    pub snapshots_kept: u64,
    /// Snapshots forgotten.
    pub snapshots_removed: u64,
    /// Packs deleted.
    pub packs_deleted: u64,
    /// Packs repacked.
    pub packs_repacked: u64,
    /// Bytes deleted.
    pub bytes_deleted: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Report for PruneView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Kept {} snapshot(s), forgot {}; deleted {} pack(s) ({}), repacked {}, wrote {} in \
             {:.2} s.",
            self.snapshots_kept,
            self.snapshots_removed,
            self.packs_deleted,
            human_bytes(self.bytes_deleted),
            self.packs_repacked,
            human_bytes(self.bytes_written),
            self.seconds
        )
    }
}

fn prune(args: &RepoPruneArgs, context: &Context) -> CliResult<PruneView> {
    let policy = RetentionPolicy {
        keep_last: args.keep_last,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
    };
    let (mut repo, _) = open(&args.open)?;
    let bar = context.bar();
    let started = Instant::now();
    let report = backup::prune_repo(&mut repo, &policy, &control(&bar, context))?;
    bar.clear();
    Ok(PruneView {
        snapshots_kept: report.snapshots_kept,
        snapshots_removed: report.snapshots_removed,
        packs_deleted: report.packs_deleted,
        packs_repacked: report.packs_repacked,
        bytes_deleted: report.bytes_deleted,
        bytes_written: report.bytes_written,
        seconds: seconds(started.elapsed()),
    })
}

/// What `repo check` looked at (all of it sound).
#[derive(Serialize)]
pub struct CheckView {
    /// Snapshots checked.
    pub snapshots: u64,
    /// Packs named by the index.
    pub packs: u64,
    /// Chunks named by the index.
    pub chunks: u64,
    /// Packs read whole.
    pub packs_read: u64,
    /// Chunks authenticated.
    pub chunks_authenticated: u64,
    /// Packs no index names (a later prune removes them).
    pub unindexed_packs: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Report for CheckView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "No problem found: {} snapshot(s), {} pack(s), {} chunk(s); read {} pack(s) and \
             authenticated {} chunk(s) in {:.2} s.",
            self.snapshots,
            self.packs,
            grouped(self.chunks),
            self.packs_read,
            grouped(self.chunks_authenticated),
            self.seconds
        )?;
        if self.unindexed_packs > 0 {
            writeln!(
                out,
                "{} pack(s) left by interrupted backups: the next backup reuses them, prune \
                 removes the rest.",
                self.unindexed_packs
            )?;
        }
        Ok(())
    }
}

fn check(args: &RepoCheckArgs, context: &Context) -> CliResult<CheckView> {
    if !(0.0..=1.0).contains(&args.read_data) {
        return Err(CliError::Usage(format!(
            "--read-data {} is not between 0 and 1",
            args.read_data
        )));
    }
    let (repo, _) = open(&args.open)?;
    let bar = context.bar();
    let started = Instant::now();
    let report = backup::check_repo(
        &repo,
        &CheckOptions {
            read_data_fraction: args.read_data,
        },
        &control(&bar, context),
    )?;
    bar.clear();
    Ok(CheckView {
        snapshots: report.snapshots,
        packs: report.packs,
        chunks: report.chunks,
        packs_read: report.packs_read,
        chunks_authenticated: report.chunks_authenticated,
        unindexed_packs: report.unindexed_packs,
        seconds: seconds(started.elapsed()),
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
            repo: RepoDirArg {
                repo_dir: dir.path().join("repo"),
            },
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
        assert!(matches!(
            init(&args),
            Err(CliError::Core(keepsake_core::Error::InvalidArgument(_)))
        ));
    }
}
