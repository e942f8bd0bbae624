//! `keepsake verify`: unlock a backup and authenticate and decode all of it, writing nothing.

use std::{
    io::{self, Write},
    time::Instant,
};

use keepsake_core::backup::{self, Control};
use serde::Serialize;

use super::{
    unlock::secret_for,
    views::{kind_name, mib_per_second, seconds, CountsView},
};
use crate::{
    cli::VerifyArgs,
    error::CliResult,
    output::{human_bytes, Report},
    Context,
};

/// What `verify` found.
#[derive(Serialize)]
pub struct VerifyReport {
    /// The backup file.
    pub backup: String,
    /// `chat_archive` or `sqlite_snapshot`.
    pub kind: &'static str,
    /// Which secret opened it.
    pub unlocked_with: &'static str,
    /// Records decoded (chat archive).
    pub counts: Option<CountsView>,
    /// Decrypted, decompressed payload bytes.
    pub payload_bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// Payload throughput.
    pub throughput_mib_s: f64,
}

impl Report for VerifyReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{} is intact: unlocked with the {}, {} of {} payload checked in {:.2} s ({:.0} MiB/s).",
            self.backup,
            self.unlocked_with.replace('_', " "),
            human_bytes(self.payload_bytes),
            self.kind.replace('_', " "),
            self.seconds,
            self.throughput_mib_s
        )?;
        if let Some(counts) = &self.counts {
            counts.write_line(out)?;
        }
        Ok(())
    }
}

/// Verify `args.backup`, returning the report (the demo reuses it).
pub fn verify(args: &VerifyArgs, context: &Context) -> CliResult<VerifyReport> {
    let secret = secret_for(&args.backup, &args.unlock.choice())?;
    let bar = context.bar();
    let control = Control {
        progress: Some(&bar),
        cancel: Some(&context.cancel),
    };
    let started = Instant::now();
    let verified = backup::verify_path(&args.backup, &secret.as_secret(), &control)?;
    let elapsed = started.elapsed();
    bar.clear();
    Ok(VerifyReport {
        backup: args.backup.display().to_string(),
        kind: kind_name(verified.kind),
        unlocked_with: secret.kind(),
        counts: CountsView::of(verified.counts.as_ref()),
        payload_bytes: verified.payload_bytes,
        seconds: seconds(elapsed),
        throughput_mib_s: mib_per_second(verified.payload_bytes, elapsed),
    })
}

/// Run `verify`.
pub fn run(args: &VerifyArgs, context: &Context) -> CliResult<()> {
    let report = verify(args, context)?;
    context.output.report(&report)
}
