//! `keepsake seed`: a synthetic chat database (deterministic for a given seed), for demos,
//! tests and benchmarks; with `--day`, a day of change applied to an existing one (for
//! incremental backups).

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use keepsake_core::{
    media::synthetic::{write_media_files, MediaSet, MediaSpec},
    progress::CancellationToken,
    store::{
        synthetic::{self, DayKind, DayOfChange, DayReport, SyntheticSpec},
        ChatStore, RecordCounts,
    },
};
use serde::Serialize;

use super::views::{seconds, CountsView};
use crate::{
    cli::{DayArg, SeedArgs},
    error::{CliError, CliResult},
    output::{human_bytes, Report},
    Context,
};

/// What `seed` created.
#[derive(Serialize)]
pub struct SeedReport {
    /// The new database.
    pub database: String,
    /// Generator seed.
    pub seed: u64,
    /// Rows per kind.
    pub counts: CountsView,
    /// Database file size.
    pub bytes: u64,
    /// The synthetic media files, when asked for.
    pub media: Option<MediaView>,
    /// Wall time.
    pub seconds: f64,
}

/// The media files `seed --media` made.
#[derive(Serialize)]
pub struct MediaView {
    /// The media directory.
    pub dir: String,
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Attachments left without a file.
    pub absent: u64,
    /// Files that repeat an earlier file's bytes (forwards).
    pub forwards: u64,
}

impl Report for SeedReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Created {} ({}) in {:.2} s:",
            self.database,
            human_bytes(self.bytes),
            self.seconds
        )?;
        self.counts.write_line(out)?;
        if let Some(media) = &self.media {
            writeln!(
                out,
                "Media in {}: {} files ({}, {} forwards), {} attachments without a file",
                media.dir,
                media.files,
                human_bytes(media.bytes),
                media.forwards,
                media.absent
            )?;
        }
        Ok(())
    }
}

/// What `seed --media` asks for.
#[derive(Debug, Clone)]
pub struct MediaRequest {
    /// The media directory to create.
    pub dir: PathBuf,
    /// Byte budget.
    pub bytes: u64,
    /// Sizes are divided by this.
    pub size_divisor: u64,
}

/// Conversations for `messages` messages when not given: a few hundred messages each.
fn default_conversations(messages: u64) -> u32 {
    u32::try_from((messages / 400).clamp(1, 5_000)).unwrap_or(5_000)
}

/// Create the database `path` with synthetic content, and media files when `media` asks. Both
/// are generated under temporary names beside their targets and renamed when complete, so
/// Ctrl-C or a failure leaves neither behind.
pub fn seed(
    path: &Path,
    messages: u64,
    seed: u64,
    conversations: Option<u32>,
    media: Option<&MediaRequest>,
    context: &Context,
) -> CliResult<SeedReport> {
    if path.exists() {
        return Err(CliError::TargetExists(path.to_path_buf()));
    }
    if let Some(media) = media.filter(|m| m.dir.exists()) {
        return Err(CliError::TargetExists(media.dir.clone()));
    }
    let spec = SyntheticSpec {
        seed,
        conversations: conversations.unwrap_or_else(|| default_conversations(messages)),
        messages,
    };
    let dir = parent_or_here(path);
    let temp = tempfile::Builder::new()
        .prefix(".keepsake-seed-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| CliError::io(dir, e))?
        .into_temp_path();
    let media_temp = media
        .map(|m| -> CliResult<(tempfile::TempDir, MediaSpec)> {
            let parent = parent_or_here(&m.dir);
            let dir = tempfile::Builder::new()
                .prefix(".keepsake-media-")
                .tempdir_in(parent)
                .map_err(|e| CliError::io(parent, e))?;
            let spec = MediaSpec {
                size_divisor: m.size_divisor,
                ..MediaSpec::realistic(seed, m.bytes)
            };
            Ok((dir, spec))
        })
        .transpose()?;
    let started = Instant::now();
    let bar = context.bar();
    bar.spin("seed");
    let job = Job {
        database: temp.to_path_buf(),
        spec,
        media: media_temp
            .as_ref()
            .map(|(dir, spec)| (dir.path().to_path_buf(), *spec)),
    };
    let generated = generate_cancellably(job, &context.cancel);
    bar.clear();
    let (counts, media_set) = match generated {
        Ok(generated) => generated,
        Err(err) => {
            remove_side_files(&temp);
            return Err(err);
        }
    };
    let elapsed = started.elapsed();
    temp.persist_noclobber(path).map_err(|err| {
        if err.error.kind() == io::ErrorKind::AlreadyExists {
            CliError::TargetExists(path.to_path_buf())
        } else {
            CliError::io(path, err.error)
        }
    })?;
    let media_view = match (media, media_temp, media_set) {
        (Some(request), Some((dir, _)), Some(set)) => {
            let made = dir.keep();
            fs::rename(&made, &request.dir).map_err(|e| CliError::io(&request.dir, e))?;
            Some(MediaView {
                dir: request.dir.display().to_string(),
                files: set.files,
                bytes: set.bytes,
                absent: set.absent,
                forwards: set.forwards,
            })
        }
        _ => None,
    };
    let bytes = fs::metadata(path).map_err(|e| CliError::io(path, e))?.len();
    Ok(SeedReport {
        database: path.display().to_string(),
        seed,
        counts: CountsView::from(&counts),
        bytes,
        media: media_view,
        seconds: seconds(elapsed),
    })
}

/// The directory `path` is in (`.` for a bare name).
fn parent_or_here(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What the generator thread makes: the database, then media files for its attachments (which
/// records the files' sizes and digests in the database).
struct Job {
    database: PathBuf,
    spec: SyntheticSpec,
    media: Option<(PathBuf, MediaSpec)>,
}

/// The generator cannot be interrupted, so it runs on a worker thread while this one watches
/// for Ctrl-C; on cancel the caller removes the temporary files and the process exits.
fn generate_cancellably(
    job: Job,
    cancel: &CancellationToken,
) -> CliResult<(RecordCounts, Option<MediaSet>)> {
    let worker = thread::spawn(
        move || -> keepsake_core::Result<(RecordCounts, Option<MediaSet>)> {
            let mut store = ChatStore::open(&job.database)?;
            let counts = synthetic::generate(&mut store, &job.spec)?;
            let media = job
                .media
                .map(|(dir, spec)| write_media_files(&mut store, &dir, &spec))
                .transpose()?;
            store.close()?;
            Ok((counts, media))
        },
    );
    while !worker.is_finished() {
        if cancel.is_cancelled() {
            return Err(keepsake_core::Error::Cancelled.into());
        }
        thread::sleep(Duration::from_millis(20));
    }
    match worker.join() {
        Ok(result) => Ok(result?),
        Err(_) => Err(CliError::Internal("the generator thread panicked".into())),
    }
}

/// Remove the SQLite side files of a temporary database (the file itself goes with its
/// `TempPath`).
fn remove_side_files(path: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = fs::remove_file(side);
    }
}

/// What `seed --day` changed.
#[derive(Serialize)]
pub struct DayView {
    /// The changed database.
    pub database: String,
    /// `realistic` or `stress`.
    pub day: &'static str,
    /// Seed of the choices.
    pub seed: u64,
    /// Messages added.
    pub new_messages: u64,
    /// Existing messages edited.
    pub edited: u64,
    /// Existing messages deleted.
    pub deleted: u64,
    /// Reactions added to existing messages.
    pub reactions: u64,
    /// Delivery state changes.
    pub delivery_changes: u64,
    /// Rows per kind afterwards.
    pub counts: CountsView,
}

impl Report for DayView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Applied a {} day to {}: {} new messages, {} edited, {} deleted, {} reactions, {} \
             delivery changes. Now:",
            self.day,
            self.database,
            self.new_messages,
            self.edited,
            self.deleted,
            self.reactions,
            self.delivery_changes
        )?;
        self.counts.write_line(out)
    }
}

/// Applies a day of change to the existing database `path` (one transaction: all or nothing).
pub fn apply_day(path: &Path, day: DayArg, seed: u64) -> CliResult<DayView> {
    if !path.exists() {
        return Err(CliError::io(
            path,
            io::Error::new(io::ErrorKind::NotFound, "no such database"),
        ));
    }
    let kind = match day {
        DayArg::Realistic => DayKind::Realistic,
        DayArg::Stress => DayKind::Stress,
    };
    let mut store = ChatStore::open(path)?;
    let DayReport {
        new_messages,
        edited,
        deleted,
        reactions,
        delivery_changes,
    } = synthetic::apply_day(&mut store, &DayOfChange { seed, kind })?;
    let counts = store.counts()?;
    store.close()?;
    Ok(DayView {
        database: path.display().to_string(),
        day: match day {
            DayArg::Realistic => "realistic",
            DayArg::Stress => "stress",
        },
        seed,
        new_messages,
        edited,
        deleted,
        reactions,
        delivery_changes,
        counts: CountsView::from(&counts),
    })
}

/// Run `seed`.
pub fn run(args: &SeedArgs, context: &Context) -> CliResult<()> {
    if let Some(day) = args.day {
        let report = apply_day(&args.database, day, args.seed)?;
        return context.output.report(&report);
    }
    let media = args.media.as_ref().map(|dir| MediaRequest {
        dir: dir.clone(),
        bytes: args.media_bytes,
        size_divisor: args.media_size_divisor,
    });
    let report = seed(
        &args.database,
        args.messages,
        args.seed,
        args.conversations,
        media.as_ref(),
        context,
    )?;
    context.output.report(&report)
}
