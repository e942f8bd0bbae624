//! `keepsake keys`: create a keyring and manage its key slots. Adding a slot rewrites
//! `keyring.pub`; removing one (or `keys rotate`) also rotates the root key, so the removed secret
//! opens no backup made afterwards. Backups made afterwards carry the new slots.

use std::{
    io::{self, Write},
    path::Path,
};

use keepsake_core::keyring::SlotId;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::{
    cli::{AddPasswordArgs, AddRecoveryArgs, KeysCommand, KeysDirArg, RemoveSlotArgs, RotateArgs},
    commands::{
        repo::{adopt_all, open_for_rotation},
        slots::keyring_report,
    },
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    output::Report,
    secrets, Context,
};

/// Run one `keys` subcommand.
pub fn run(command: KeysCommand, context: &Context) -> CliResult<()> {
    match command {
        KeysCommand::Create(args) => create(&args, context),
        KeysCommand::List(args) => list(&args, context),
        KeysCommand::AddRecovery(args) => add_recovery(&args, context),
        KeysCommand::AddPasskey(args) => super::passkeys::add_passkey(&args, context),
        KeysCommand::AddPassword(args) => add_password(&args, context),
        KeysCommand::Rotate(args) => rotate(&args, context),
        KeysCommand::Remove(args) => remove(&args, context),
        KeysCommand::Rekey(args) => super::rekey::rekey(&args, context),
    }
}

fn create(args: &KeysDirArg, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.dir);
    let keyring = dir.create()?;
    let headline = format!(
        "Created a keyring. Keep {} secret (mode 0600); add a recovery key next.",
        dir.root_key_path().display()
    );
    context
        .output
        .report(&keyring_report(&dir, &keyring, None, headline))
}

fn list(args: &KeysDirArg, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.dir);
    let keyring = dir.load()?;
    let headline = format!("{} key slot(s)", keyring.slots().len());
    context
        .output
        .report(&keyring_report(&dir, &keyring, None, headline))
}

/// `keys add-recovery`: the recovery key is shown once (or written to a 0600 file) and never
/// stored by Keepsake.
#[derive(Serialize)]
struct RecoveryKeyReport {
    slot: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_key: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    written_to: Option<String>,
}

impl Report for RecoveryKeyReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Added recovery key slot {}.", self.slot)?;
        match (&self.recovery_key, &self.written_to) {
            (Some(key), _) => {
                writeln!(out, "Write this recovery key down; it is shown only once:")?;
                writeln!(out, "\n    {}\n", key.as_str())
            }
            (None, Some(path)) => writeln!(out, "The recovery key is in {path} (mode 0600)."),
            (None, None) => Ok(()),
        }
    }
}

fn add_recovery(args: &AddRecoveryArgs, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.keys.dir);
    let (slot, shown) = add_recovery_key(&dir, &args.label, args.out.as_deref())?;
    let report = RecoveryKeyReport {
        slot: slot.to_string(),
        recovery_key: shown,
        written_to: args.out.as_ref().map(|p| p.display().to_string()),
    };
    context.output.report(&report)
}

/// Add a recovery key slot to the keyring in `dir`. The key is written to `out` (a new 0600
/// file) when given, else returned for display; Keepsake keeps no copy.
pub(crate) fn add_recovery_key(
    dir: &KeysDir,
    label: &str,
    out: Option<&Path>,
) -> CliResult<(SlotId, Option<Zeroizing<String>>)> {
    let mut keyring = dir.load()?;
    let (slot, recovery_key) = keyring.add_recovery_key(label)?;
    let display = Zeroizing::new(recovery_key.to_string());
    if let Some(path) = out {
        let mut line = Zeroizing::new(display.as_bytes().to_vec());
        line.push(b'\n');
        secrets::write_private_file(path, &line)?;
    }
    if let Err(err) = dir.save(&keyring) {
        if let Some(path) = out {
            let _ = std::fs::remove_file(path);
        }
        return Err(err);
    }
    Ok((slot, out.is_none().then_some(display)))
}

/// `keys add-password`: Argon2id with the default costs (about a second).
fn add_password(args: &AddPasswordArgs, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.keys.dir);
    let mut keyring = dir.load()?;
    let password = secrets::read_password(args.password_stdin, true)?;
    let slot = keyring.add_password(&args.label, &password)?;
    dir.save(&keyring)?;
    let headline = format!("Added password slot {slot}.");
    context.output.report(&keyring_report(
        &dir,
        &keyring,
        Some(slot.to_string()),
        headline,
    ))
}

/// `keys rotate`: a new root key for every later backup, sealed to every slot without a prompt;
/// the repositories named take it in the same step.
fn rotate(args: &RotateArgs, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.keys.dir);
    let mut keyring = dir.load()?;
    let mut repos = open_for_rotation(&args.repos, &keyring)?;
    let outcome = keyring.rotate_root_key()?;
    let carried = adopt_all(&mut repos, &keyring)?;
    dir.save(&keyring)?;
    let headline = format!(
        "Rotated the root key: generation {} -> {}.{}",
        outcome.old_generation,
        outcome.new_generation,
        carried_line(&carried)
    );
    context
        .output
        .report(&keyring_report(&dir, &keyring, None, headline))
}

fn remove(args: &RemoveSlotArgs, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.keys.dir);
    let mut keyring = dir.load()?;
    let id = keyring
        .slots()
        .iter()
        .find(|slot| slot.id().to_string() == args.slot)
        .map(|slot| *slot.id())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no slot {} in this keyring (see `keepsake keys list`)",
                args.slot
            ))
        })?;
    let mut repos = open_for_rotation(&args.repos, &keyring)?;
    let removed = keyring.remove_slot(&id, args.force)?;
    let carried = adopt_all(&mut repos, &keyring)?;
    dir.save(&keyring)?;
    let headline = format!(
        "Removed slot {} ({}) and rotated the root key (generation {}): it opens no backup made \
         from now on; backups made before still open with it.{}",
        args.slot,
        removed.slot.label(),
        keyring.generation(),
        carried_line(&carried)
    );
    context.output.report(&keyring_report(
        &dir,
        &keyring,
        Some(args.slot.clone()),
        headline,
    ))
}

/// The headline's note on the repositories that took the rotation.
fn carried_line(repos: &[String]) -> String {
    if repos.is_empty() {
        " Repositories not named with --repo take it with `keepsake repo adopt-keys`.".to_owned()
    } else {
        format!(" Repositories rotated too: {}.", repos.join(", "))
    }
}
