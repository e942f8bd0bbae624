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
    /// Wall time.
    pub seconds: f64,
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
        self.counts.write_line(out)
    }
}

/// Conversations for `messages` messages when not given: a few hundred messages each.
fn default_conversations(messages: u64) -> u32 {
    u32::try_from((messages / 400).clamp(1, 5_000)).unwrap_or(5_000)
}

/// Create the database `path` with synthetic content. It is generated under a temporary name
/// beside `path` and renamed when complete, so Ctrl-C or a failure leaves no database behind.
pub fn seed(
    path: &Path,
    messages: u64,
    seed: u64,
    conversations: Option<u32>,
    context: &Context,
) -> CliResult<SeedReport> {
    if path.exists() {
        return Err(CliError::TargetExists(path.to_path_buf()));
    }
    let spec = SyntheticSpec {
        seed,
        conversations: conversations.unwrap_or_else(|| default_conversations(messages)),
        messages,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".keepsake-seed-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| CliError::io(dir, e))?
        .into_temp_path();
    let started = Instant::now();
    let bar = context.bar();
    bar.spin("seed");
    let generated = generate_cancellably(temp.to_path_buf(), spec, &context.cancel);
    bar.clear();
    let counts = match generated {
        Ok(counts) => counts,
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
    let bytes = fs::metadata(path).map_err(|e| CliError::io(path, e))?.len();
    Ok(SeedReport {
        database: path.display().to_string(),
        seed,
        counts: CountsView::from(&counts),
        bytes,
        seconds: seconds(elapsed),
    })
}

/// The generator cannot be interrupted, so it runs on a worker thread while this one watches
/// for Ctrl-C; on cancel the caller removes the temporary files and the process exits.
fn generate_cancellably(
    temp: PathBuf,
    spec: SyntheticSpec,
    cancel: &CancellationToken,
) -> CliResult<RecordCounts> {
    let worker = thread::spawn(move || -> keepsake_core::Result<RecordCounts> {
        let mut store = ChatStore::open(&temp)?;
        let counts = synthetic::generate(&mut store, &spec)?;
        store.close()?;
        Ok(counts)
    });
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
fn apply_day(path: &Path, day: DayArg, seed: u64) -> CliResult<DayView> {
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
    let report = seed(
        &args.database,
        args.messages,
        args.seed,
        args.conversations,
        context,
    )?;
    context.output.report(&report)
}
