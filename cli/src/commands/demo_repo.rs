//! The demo's headline: daily backups into a repository (a directory store here; any store the
//! app implements on a phone). First backup with media, a day of use, the incremental backup
//! and how little it uploaded, then a "new device" with nothing but the repository and the
//! passkey: chats first, then the media, compared row by row and byte by byte.

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

use serde::Serialize;

use super::{
    repo::{self, RepoBackupReport, RepoRestoreReport},
    seed::{apply_day, DayView},
};
use crate::{
    cli::{
        DayArg, KeysDirArg, MediaRestoreArgs, RepoBackupArgs, RepoInitArgs, RepoOpenArgs,
        RepoRestoreArgs, UnlockArgs,
    },
    compare::{compare_databases, Comparison},
    error::{CliError, CliResult},
    output::{grouped, human_bytes},
    stores, Context,
};

/// What the repository part of the demo did.
#[derive(Serialize)]
pub struct RepoDemo {
    /// The first backup (chats and media).
    pub first_backup: RepoBackupReport,
    /// The day of use applied to the chats.
    pub day: DayView,
    /// The next day's backup.
    pub daily_backup: RepoBackupReport,
    /// The repository's size after both backups.
    pub repository_bytes: u64,
    /// The new device's restore: the database, then the media.
    pub new_device: RepoRestoreReport,
    /// Seconds until the chats were usable (the restore's time before its media phase).
    pub chats_seconds: f64,
    /// The new device's database against the phone's.
    pub compared: Comparison,
    /// The new device's media files against the phone's.
    pub media_compared: MediaComparison,
}

/// Media files found identical, byte for byte.
#[derive(Serialize)]
pub struct MediaComparison {
    /// Files compared.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl RepoDemo {
    /// The lines of the demo's summary about the repository.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let first = &self.first_backup;
        let media = first.media.as_ref();
        writeln!(
            out,
            "  first backup   {} messages and {} media files ({}) into the repository: {} uploaded in {:.2} s, {} requests",
            grouped(first.counts.messages),
            grouped(media.map_or(0, |m| m.files_stored)),
            human_bytes(media.map_or(0, |m| m.bytes_stored)),
            human_bytes(first.bytes_uploaded),
            first.seconds,
            first.requests.total
        )?;
        writeln!(
            out,
            "  a day of use   {} new messages, {} edited, {} deleted, {} reactions",
            grouped(self.day.new_messages),
            grouped(self.day.edited),
            grouped(self.day.deleted),
            grouped(self.day.reactions)
        )?;
        let daily = &self.daily_backup;
        writeln!(
            out,
            "  daily backup   {} uploaded ({:.1}% of the repository's {}), media files read: {}, in {:.2} s, {} requests",
            human_bytes(daily.bytes_uploaded),
            percent(daily.bytes_uploaded, self.repository_bytes),
            human_bytes(self.repository_bytes),
            daily.media.as_ref().map_or(0, |m| m.files_read),
            daily.seconds,
            daily.requests.total
        )?;
        let media = self.new_device.media.as_ref();
        writeln!(
            out,
            "  new device     passkey only: chats back in {:.2} s ({}), then {} media files ({}) in {:.2} s",
            self.chats_seconds,
            human_bytes(self.new_device.database_bytes),
            grouped(media.map_or(0, |m| m.files_restored)),
            human_bytes(media.map_or(0, |m| m.bytes_restored)),
            media.map_or(0.0, |m| m.seconds)
        )?;
        writeln!(
            out,
            "  compare        {} rows in {} tables and {} media files ({}) came back identical",
            grouped(self.compared.rows),
            self.compared.tables,
            grouped(self.media_compared.files),
            human_bytes(self.media_compared.bytes)
        )
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Runs the repository journey in `dir`: `chats.db` and `media/` seeded, `keys/` with the
/// software passkey `phone.passkey`. Writes `repo/`, `cache/`, `new-device.db` and
/// `new-device-media/`.
pub fn run(dir: &Path, context: &Context) -> CliResult<RepoDemo> {
    let file = |name: &str| dir.join(name);
    let location = stores::plain(&file("repo").display().to_string());
    let keys = KeysDirArg { dir: file("keys") };
    repo::init(&RepoInitArgs {
        repo: location.clone(),
        keys: keys.clone(),
    })?;
    let backup_args = RepoBackupArgs {
        repo: location.clone(),
        keys,
        database: file("chats.db"),
        cache: Some(file("cache")),
        media: Some(file("media")),
        no_videos: false,
        max_file_size: None,
        exclude_conversations: Vec::new(),
    };
    let first_backup = repo::backup(&backup_args, context)?;
    context.cancel.check()?;
    let day = apply_day(&file("chats.db"), DayArg::Realistic, 2)?;
    let daily_backup = repo::backup(&backup_args, context)?;
    let repository_bytes = tree_bytes(&file("repo"))?.1;
    context.cancel.check()?;

    let new_device = repo::restore(
        &RepoRestoreArgs {
            open: RepoOpenArgs {
                repo: location,
                unlock: UnlockArgs {
                    passkey: Some(file("phone.passkey")),
                    ..UnlockArgs::default()
                },
            },
            to: file("new-device.db"),
            snapshot: None,
            overwrite: false,
            media: MediaRestoreArgs {
                media_to: Some(file("new-device-media")),
                ..MediaRestoreArgs::default()
            },
        },
        context,
    )?;
    let chats_seconds = new_device.seconds - new_device.media.as_ref().map_or(0.0, |m| m.seconds);
    let compared = compare_databases(&file("chats.db"), &file("new-device.db"))?;
    let media_compared = compare_trees(&file("media"), &file("new-device-media"))?;
    Ok(RepoDemo {
        first_backup,
        day,
        daily_backup,
        repository_bytes,
        new_device,
        chats_seconds,
        compared,
        media_compared,
    })
}

/// Files and bytes under `root`.
fn tree_bytes(root: &Path) -> CliResult<(u64, u64)> {
    let mut totals = (0, 0);
    for path in tree_files(root)? {
        let len = fs::metadata(&path)
            .map_err(|e| CliError::io(&path, e))?
            .len();
        totals = (totals.0 + 1, totals.1 + len);
    }
    Ok(totals)
}

fn tree_files(root: &Path) -> CliResult<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| CliError::io(&dir, e))? {
            let path = entry.map_err(|e| CliError::io(&dir, e))?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every file under `original` has an identical twin under `restored`.
fn compare_trees(original: &Path, restored: &Path) -> CliResult<MediaComparison> {
    let mut compared = MediaComparison { files: 0, bytes: 0 };
    for path in tree_files(original)? {
        let relative = path.strip_prefix(original).unwrap_or(&path);
        let twin = restored.join(relative);
        let a = fs::read(&path).map_err(|e| CliError::io(&path, e))?;
        let b = fs::read(&twin).map_err(|e| CliError::io(&twin, e))?;
        if a != b {
            return Err(CliError::Mismatch(format!(
                "the restored media file {} differs from the original",
                twin.display()
            )));
        }
        compared.files += 1;
        compared.bytes += a.len() as u64;
    }
    Ok(compared)
}
