//! `keepsake demo`: the whole flow on synthetic data in one command, with a summary a person can
//! read in ten seconds: seed chats and media, enroll a software passkey and a recovery key; the
//! daily backups into a repository and a new device's restore (`demo_repo`); then the
//! single-file export: back up, inspect, restore with the passkey, verify with the recovery key,
//! compare every row.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use keepsake_core::backup as core_backup;
use serde::Serialize;

use super::{
    backup::{backup, BackupReport},
    demo_repo::{self, RepoDemo},
    keys::add_recovery_key,
    passkeys::enroll_software_passkey,
    restore::{restore, RestoreReport},
    seed::{seed, MediaRequest, SeedReport},
    slots::{write_slots, SlotView},
    verify::{verify, VerifyReport},
    views::kind_name,
};
use crate::{
    cli::{BackupArgs, DemoArgs, KeysDirArg, RestoreArgs, UnlockArgs, VerifyArgs},
    compare::{compare_databases, Comparison},
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    output::{grouped, human_bytes, Report},
    Context,
};

/// The relying party the demo's software passkey belongs to.
const DEMO_RP_ID: &str = "demo.keepsake.example";

/// What the demo did and measured.
#[derive(Serialize)]
struct DemoReport {
    dir: String,
    kept: bool,
    seed: SeedReport,
    repository: RepoDemo,
    backup: BackupReport,
    inspected_kind: &'static str,
    slots: Vec<SlotView>,
    restore: RestoreReport,
    verify: VerifyReport,
    compared: Comparison,
}

impl Report for DemoReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let counts = &self.seed.counts;
        writeln!(out, "Keepsake demo in {}", self.dir)?;
        writeln!(
            out,
            "  seed     {} messages in {} conversations: {} in {:.2} s",
            grouped(counts.messages),
            grouped(counts.conversations),
            human_bytes(self.seed.bytes),
            self.seed.seconds
        )?;
        self.repository.write_text(out)?;
        writeln!(out, "The same chats as one export file (the container):")?;
        writeln!(
            out,
            "  backup   {} -> {} ({:.0}% of the database) in {:.2} s, {:.0} MiB/s",
            human_bytes(self.backup.database_bytes),
            human_bytes(self.backup.bytes),
            percent(self.backup.bytes, self.backup.database_bytes),
            self.backup.seconds,
            self.backup.throughput_mib_s
        )?;
        writeln!(
            out,
            "  inspect  {} with {} key slot(s), no secret needed:",
            self.inspected_kind.replace('_', " "),
            self.slots.len()
        )?;
        write_slots(out, "           ", &self.slots)?;
        writeln!(
            out,
            "  restore  with the software passkey into a new database: {} in {:.2} s",
            human_bytes(self.restore.database_bytes),
            self.restore.seconds
        )?;
        writeln!(
            out,
            "  verify   with the recovery key: intact, {:.2} s ({:.0} MiB/s of payload)",
            self.verify.seconds, self.verify.throughput_mib_s
        )?;
        writeln!(
            out,
            "  compare  {} rows in {} tables: every row came back identical",
            grouped(self.compared.rows),
            self.compared.tables
        )?;
        if self.kept {
            writeln!(
                out,
                "Files kept in {}: chats.db, media/, keys/, recovery.txt, phone.passkey, repo/, \
                 cache/, new-device.db, new-device-media/, chats.keepsake, restored.db",
                self.dir
            )?;
        }
        Ok(())
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Where the demo works: a new directory the user chose, or a temporary one removed at the end.
enum Workspace {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl Workspace {
    fn new(dir: Option<&Path>) -> CliResult<Workspace> {
        match dir {
            Some(dir) => {
                let has_entries = fs::read_dir(dir)
                    .map(|mut entries| entries.next().is_some())
                    .unwrap_or(false);
                if has_entries {
                    return Err(CliError::TargetExists(dir.to_path_buf()));
                }
                fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
                Ok(Workspace::Kept(dir.to_path_buf()))
            }
            None => tempfile::Builder::new()
                .prefix("keepsake-demo-")
                .tempdir()
                .map(Workspace::Temporary)
                .map_err(|e| CliError::io(std::env::temp_dir(), e)),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Workspace::Kept(dir) => dir,
            Workspace::Temporary(dir) => dir.path(),
        }
    }
}

/// Run `demo`.
pub fn run(args: &DemoArgs, context: &Context) -> CliResult<()> {
    let workspace = Workspace::new(args.dir.as_deref())?;
    let dir = workspace.path();
    let file = |name: &str| dir.join(name);

    let media = MediaRequest {
        dir: file("media"),
        bytes: args.media_bytes,
        size_divisor: 1,
    };
    let seeded = seed(
        &file("chats.db"),
        args.messages,
        1,
        None,
        Some(&media),
        context,
    )?;
    context.cancel.check()?;

    let keys = KeysDir::at(&file("keys"));
    keys.create()?;
    add_recovery_key(&keys, "demo recovery key", Some(&file("recovery.txt")))?;
    enroll_software_passkey(&keys, &file("phone.passkey"), "demo phone", DEMO_RP_ID)?;
    context.cancel.check()?;

    // The single-file export first, of the chats as seeded (the repository's day changes them).

    let backed_up = backup(
        &BackupArgs {
            keys: KeysDirArg {
                dir: keys.path().to_path_buf(),
            },
            database: file("chats.db"),
            out: file("chats.keepsake"),
            snapshot: false,
            overwrite: false,
        },
        context,
    )?;

    let info = core_backup::inspect_path(&file("chats.keepsake"))?;

    let restored = restore(
        &RestoreArgs {
            backup: file("chats.keepsake"),
            to: file("restored.db"),
            overwrite: false,
            unlock: UnlockArgs {
                passkey: Some(file("phone.passkey")),
                ..UnlockArgs::default()
            },
        },
        context,
    )?;

    let verified = verify(
        &VerifyArgs {
            backup: file("chats.keepsake"),
            unlock: UnlockArgs {
                recovery_key_file: Some(file("recovery.txt")),
                ..UnlockArgs::default()
            },
        },
        context,
    )?;
    context.cancel.check()?;

    let compared = compare_databases(&file("chats.db"), &file("restored.db"))?;
    let repository = demo_repo::run(dir, context)?;

    let report = DemoReport {
        dir: dir.display().to_string(),
        kept: matches!(workspace, Workspace::Kept(_)),
        seed: seeded,
        repository,
        backup: backed_up,
        inspected_kind: kind_name(info.header.payload_kind()),
        slots: SlotView::all(info.header.slots()),
        restore: restored,
        verify: verified,
        compared,
    };
    context.output.report(&report)
}
