//! `keepsake backup`: a chat database (or any SQLite file with `--snapshot`) into an encrypted
//! backup file. The core writes a temporary file and renames it only when complete.

use std::{
    fs,
    io::{self, Write},
    path::Path,
    time::Instant,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control},
    store::ChatStore,
};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::views::{kind_name, mib_per_second, seconds, CountsView};
use crate::{
    cli::BackupArgs,
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    output::{human_bytes, Report},
    Context,
};

/// What `backup` wrote.
#[derive(Serialize)]
pub struct BackupReport {
    /// The backup file.
    pub backup: String,
    /// `chat_archive` or `sqlite_snapshot`.
    pub kind: &'static str,
    /// Records written (chat archive).
    pub counts: Option<CountsView>,
    /// Size of the source database file.
    pub database_bytes: u64,
    /// Plaintext payload bytes before compression.
    pub payload_bytes: u64,
    /// Size of the backup file.
    pub bytes: u64,
    /// Key slots in the backup's header.
    pub slots: usize,
    /// Wall time.
    pub seconds: f64,
    /// Source database bytes per second.
    pub throughput_mib_s: f64,
}

impl Report for BackupReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Backed up {} ({}) into {}: {} in {:.2} s ({:.0} MiB/s), {} key slot(s).",
            human_bytes(self.database_bytes),
            self.kind.replace('_', " "),
            self.backup,
            human_bytes(self.bytes),
            self.seconds,
            self.throughput_mib_s,
            self.slots
        )?;
        if let Some(counts) = &self.counts {
            counts.write_line(out)?;
        }
        Ok(())
    }
}

/// Back up as `args` says, returning the report (the demo reuses it).
pub fn backup(args: &BackupArgs, context: &Context) -> CliResult<BackupReport> {
    if !args.overwrite && args.out.exists() {
        return Err(CliError::TargetExists(args.out.clone()));
    }
    let keys = KeysDir::at(&args.keys.dir);
    let keyring = keys.load()?;
    if keyring.slots().is_empty() {
        eprintln!(
            "keepsake: warning: the keyring has no key slots, so only {} can open this backup; \
             add a recovery key or a passkey (`keepsake keys`)",
            args.keys.dir.display()
        );
    }
    let database_bytes = fs::metadata(&args.database)
        .map_err(|e| CliError::io(&args.database, e))?
        .len();
    let bar = context.bar();
    let control = Control {
        progress: Some(&bar),
        cancel: Some(&context.cancel),
    };
    let options = BackupOptions::for_generation(keys.known_generation()?);
    let started = Instant::now();
    let summary = if args.snapshot {
        backup::backup_sqlite_file_to_path(&args.database, &keyring, &args.out, &options, &control)?
    } else {
        ensure_chat_store(&args.database)?;
        let store = ChatStore::open(&args.database)?;
        backup::backup_store_to_path(&store, &keyring, &args.out, &options, &control)?
    };
    let elapsed = started.elapsed();
    bar.clear();
    Ok(BackupReport {
        backup: args.out.display().to_string(),
        kind: kind_name(summary.kind),
        counts: CountsView::of(summary.counts.as_ref()),
        database_bytes,
        payload_bytes: summary.payload_bytes,
        bytes: summary.container_bytes,
        slots: keyring.slots().len(),
        seconds: seconds(elapsed),
        throughput_mib_s: mib_per_second(database_bytes, elapsed),
    })
}

/// Refuse a database that is not a Keepsake chat store before `ChatStore::open` would migrate
/// it (adding Keepsake's tables to someone else's schema).
pub(super) fn ensure_chat_store(path: &Path) -> CliResult<()> {
    // A missing file is an I/O error (exit 15), as for every other input file; SQLite would
    // only say it cannot open it.
    if !path.is_file() {
        return Err(CliError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no database file"),
        ));
    }
    let is_store = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| {
            conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
                [],
                |row| row.get::<_, u64>(0),
            )
        })
        .map_err(|err| {
            CliError::Core(keepsake_core::Error::Database {
                message: err.to_string(),
                path: Some(path.to_path_buf()),
            })
        })?;
    if is_store == 1 {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} is not a Keepsake chat database; back up any SQLite file with --snapshot",
            path.display()
        )))
    }
}

/// Run `backup`.
pub fn run(args: &BackupArgs, context: &Context) -> CliResult<()> {
    let report = backup(args, context)?;
    context.output.report(&report)
}
