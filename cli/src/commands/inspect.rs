//! `keepsake inspect`: the public header of a backup, readable without any secret.

use std::{
    collections::BTreeMap,
    io::{self, Write},
};

use keepsake_core::backup;
use serde::Serialize;

use super::{
    slots::{write_slots, SlotView},
    views::{kind_name, utc_timestamp, CountsView},
};
use crate::{
    cli::InspectArgs,
    error::CliResult,
    output::{human_bytes, Report},
    Context,
};

/// What `inspect` shows.
#[derive(Serialize)]
struct InspectReport {
    backup: String,
    version: u16,
    kind: &'static str,
    created_at: u64,
    keyring_id: String,
    file_bytes: Option<u64>,
    declared_counts: Option<CountsView>,
    metadata: BTreeMap<String, String>,
    slots: Vec<SlotView>,
}

impl Report for InspectReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.backup)?;
        writeln!(out, "  format version  {}", self.version)?;
        writeln!(out, "  payload         {}", self.kind)?;
        writeln!(
            out,
            "  created at      {} (as claimed by the writer)",
            utc_timestamp(self.created_at)
        )?;
        writeln!(out, "  keyring         {}", self.keyring_id)?;
        if let Some(bytes) = self.file_bytes {
            writeln!(out, "  size            {}", human_bytes(bytes))?;
        }
        if let Some(counts) = &self.declared_counts {
            write!(out, "  declared        ")?;
            counts.write_line(out)?;
        }
        for (key, value) in &self.metadata {
            writeln!(out, "  metadata        {key} = {value}")?;
        }
        writeln!(out, "key slots:")?;
        write_slots(out, "  ", &self.slots)?;
        writeln!(
            out,
            "(unauthenticated until unlocked: `keepsake verify` checks all of it)"
        )
    }
}

/// Run `inspect`.
pub fn run(args: &InspectArgs, context: &Context) -> CliResult<()> {
    let info = backup::inspect_path(&args.backup)?;
    let header = &info.header;
    let report = InspectReport {
        backup: args.backup.display().to_string(),
        version: header.version(),
        kind: kind_name(header.payload_kind()),
        created_at: header.created_at(),
        keyring_id: header.keyring_id().to_string(),
        file_bytes: info.file_bytes,
        declared_counts: CountsView::of(info.declared_counts.as_ref()),
        metadata: header
            .metadata()
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
        slots: SlotView::all(header.slots()),
    };
    context.output.report(&report)
}
