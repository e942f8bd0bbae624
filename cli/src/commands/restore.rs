//! `keepsake restore`: unlock a backup and restore it into a database file. The core writes a
//! temporary database, checks it and renames it into place, so a failure leaves nothing.

use std::{
    io::{self, Write},
    time::Instant,
};

use keepsake_core::backup::{self, Control, RestoreOptions};
use serde::Serialize;

use super::{
    unlock::secret_for,
    views::{kind_name, seconds, CountsView},
};
use crate::{
    cli::RestoreArgs,
    error::{CliError, CliResult},
    output::{human_bytes, Report},
    Context,
};

/// What `restore` put in place.
#[derive(Serialize)]
pub struct RestoreReport {
    /// The backup file.
    pub backup: String,
    /// The restored database.
    pub target: String,
    /// `chat_archive` or `sqlite_snapshot`.
    pub kind: &'static str,
    /// Which secret opened it.
    pub unlocked_with: &'static str,
    /// Records restored (chat archive).
    pub counts: Option<CountsView>,
    /// Size of the restored database.
    pub database_bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Report for RestoreReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Restored {} ({}) into {}: {} in {:.2} s, unlocked with the {}.",
            self.backup,
            self.kind.replace('_', " "),
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

/// Restore `args.backup`, returning the report (the demo reuses it).
pub fn restore(args: &RestoreArgs, context: &Context) -> CliResult<RestoreReport> {
    if !args.overwrite && args.to.exists() {
        return Err(CliError::TargetExists(args.to.clone()));
    }
    let secret = secret_for(&args.backup, &args.unlock.choice())?;
    let bar = context.bar();
    let control = Control {
        progress: Some(&bar),
        cancel: Some(&context.cancel),
    };
    let options = RestoreOptions {
        replace: args.overwrite,
    };
    let started = Instant::now();
    let restored = backup::restore_path(
        &args.backup,
        &secret.as_secret(),
        &args.to,
        &options,
        &control,
    )?;
    let elapsed = started.elapsed();
    bar.clear();
    Ok(RestoreReport {
        backup: args.backup.display().to_string(),
        target: args.to.display().to_string(),
        kind: kind_name(restored.kind),
        unlocked_with: secret.kind(),
        counts: CountsView::of(restored.counts.as_ref()),
        database_bytes: restored.database_bytes,
        seconds: seconds(elapsed),
    })
}

/// Run `restore`.
pub fn run(args: &RestoreArgs, context: &Context) -> CliResult<()> {
    let report = restore(args, context)?;
    context.output.report(&report)
}
