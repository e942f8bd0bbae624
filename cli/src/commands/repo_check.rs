//! `repo check`: every problem the repository has and the verdict (healthy, healed, broken).
//! Healthy and healed exit 0 (healed says what was healed and to run `repo repair`); broken
//! prints the whole report, then exits with the class of the first loss, so a script sees the
//! failure and a person sees everything that is wrong.

use std::{
    io::{self, Write},
    time::Instant,
};

use keepsake_core::{
    backup,
    repo::{CheckOptions, CheckReport, Problem},
};
use serde::Serialize;

use super::{
    repo::{control, open},
    views::seconds,
};
use crate::{
    cli::RepoCheckArgs,
    error::{CliError, CliResult},
    output::{grouped, Report},
    Context,
};

/// One problem, as `repo check` lists it.
#[derive(Serialize)]
pub struct ProblemView {
    /// What kind (`lost_pack`, `damaged_snapshot`, ...).
    pub kind: &'static str,
    /// Whether it loses data: a snapshot, or some of its media, cannot be restored.
    pub loss: bool,
    /// The store object concerned, if one.
    pub object: Option<String>,
    /// The snapshot concerned, if one.
    pub snapshot: Option<String>,
    /// The problem in words.
    pub message: String,
}

impl From<&Problem> for ProblemView {
    fn from(problem: &Problem) -> Self {
        let (kind, object, snapshot) = match problem {
            Problem::DamagedIndexObject { name, .. } => ("damaged_index_object", Some(name), None),
            Problem::LostPack { name } => ("lost_pack", Some(name), None),
            Problem::ResizedPack { name } => ("resized_pack", Some(name), None),
            Problem::UnreadablePack { name, .. } => ("unreadable_pack", Some(name), None),
            Problem::DamagedTrailer { name, .. } => ("damaged_trailer", Some(name), None),
            Problem::DamagedChunk { copy, .. } => ("damaged_chunk", Some(&copy.pack), None),
            Problem::DamagedSnapshot { name, .. } => ("damaged_snapshot", Some(name), None),
            Problem::IndexIncomplete { id, .. } => ("index_incomplete", None, Some(id)),
            Problem::UnrestorableSnapshot { id, .. } => ("unrestorable_snapshot", None, Some(id)),
            Problem::LostMedia { id, .. } => ("lost_media", None, Some(id)),
            Problem::UnreadableLock { name } => ("unreadable_lock", Some(name), None),
            Problem::StrayObject { name } => ("stray_object", Some(name), None),
        };
        ProblemView {
            kind,
            loss: problem.is_loss(),
            object: object.cloned(),
            snapshot: snapshot.map(ToString::to_string),
            message: problem.to_string(),
        }
    }
}

/// What `repo check` found.
#[derive(Serialize)]
pub struct CheckView {
    /// `healthy`, `healed` or `broken`.
    pub verdict: String,
    /// Everything found wrong, in the order found.
    pub problems: Vec<ProblemView>,
    /// Share of the packs read, in percent.
    pub read_data_percent: f64,
    /// Intact snapshots checked.
    pub snapshots: u64,
    /// Packs named by the index.
    pub packs: u64,
    /// Chunks named by the index.
    pub chunks: u64,
    /// Packs read whole.
    pub packs_read: u64,
    /// Chunks authenticated.
    pub chunks_authenticated: u64,
    /// Packs no index names (a later backup reuses them, prune removes the rest).
    pub unindexed_packs: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Report for CheckView {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Checked {} snapshot(s), {} pack(s), {} chunk(s); read {} pack(s) ({}% asked) and \
             authenticated {} chunk(s) in {:.2} s.",
            self.snapshots,
            self.packs,
            grouped(self.chunks),
            self.packs_read,
            self.read_data_percent,
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
        if !self.problems.is_empty() {
            writeln!(out, "{} problem(s):", self.problems.len())?;
            for p in &self.problems {
                let mark = if p.loss { "LOSS" } else { "ok  " };
                writeln!(out, "  {mark}  {}", p.message)?;
            }
        }
        match self.verdict.as_str() {
            "healthy" => writeln!(out, "Verdict: healthy. No problem found."),
            "healed" => writeln!(
                out,
                "Verdict: healed. Some data was lost or damaged, but every snapshot restores \
                 whole (through other copies, or what a later backup uploaded again). \
                 `keepsake repo repair --apply` and the next `keepsake repo prune` tidy up."
            ),
            _ => writeln!(
                out,
                "Verdict: broken. The snapshots marked LOSS cannot be restored whole. Run \
                 `keepsake repo repair` to see what it would remove, then with --apply; the next \
                 backup stores everything this device has again."
            ),
        }
    }
}

/// `repo check`: the report, and for a broken repository the first loss as the failure that
/// follows it.
pub fn run(args: &RepoCheckArgs, context: &Context) -> CliResult<()> {
    let (repo, _, _) = open(&args.open)?;
    let bar = context.bar();
    let started = Instant::now();
    let report = backup::check_repo(
        &repo,
        &CheckOptions {
            read_data_fraction: args.read_data_subset,
        },
        &control(&bar, context),
    )?;
    bar.clear();
    context
        .output
        .report(&view(&report, args.read_data_subset, started))?;
    // Broken is exactly "some problem is a loss"; the first one classifies the exit.
    match report.problems.iter().find(|p| p.is_loss()) {
        Some(loss) => Err(CliError::Broken(loss.to_error())),
        None => Ok(()),
    }
}

fn view(report: &CheckReport, fraction: f64, started: Instant) -> CheckView {
    CheckView {
        verdict: report.verdict().to_string(),
        problems: report.problems.iter().map(ProblemView::from).collect(),
        read_data_percent: fraction * 100.0,
        snapshots: report.snapshots,
        packs: report.packs,
        chunks: report.chunks,
        packs_read: report.packs_read,
        chunks_authenticated: report.chunks_authenticated,
        unindexed_packs: report.unindexed_packs,
        seconds: seconds(started.elapsed()),
    }
}
