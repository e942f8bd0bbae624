//! `keepsake keys rekey`: replace the keyring after a revocation whose secret may be in hostile
//! hands. A removed secret still knows the old keyring's authentication secret, so it could seal
//! root keys the remaining slots accept; a rotation does not take that away, a re-key does (new
//! keyring id, root key, authentication secret and PRF input). Each software passkey named is
//! asked once under the new PRF input, a new recovery key is made, a password is entered again;
//! the keys directory then holds the new keyring, and the repositories named move to it.

use std::{
    io::{self, Write},
    path::Path,
};

use keepsake_core::{
    keyring::{Keyring, SlotKind},
    passkey::{soft::SoftAuthenticator, Unlock},
    Error as CoreError,
};
use serde::Serialize;
use zeroize::Zeroizing;

use super::{
    repo::{adopt_all, open_for_rotation},
    slots::{write_slots, SlotView},
};
use crate::{
    cli::RekeyArgs,
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    output::Report,
    secrets, Context,
};

/// What `keys rekey` did.
#[derive(Serialize)]
struct RekeyReport {
    keys_dir: String,
    old_keyring_id: String,
    keyring_id: String,
    generation: u64,
    slots: Vec<SlotView>,
    /// Passkey slots of the old keyring no `--passkey` file renewed (they open only old data).
    not_carried: Vec<String>,
    repos: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_key: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_key_written_to: Option<String>,
}

impl Report for RekeyReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Re-keyed: keyring {} (generation {}) replaces {}; the old secrets open nothing \
             written from now on.",
            self.keyring_id, self.generation, self.old_keyring_id
        )?;
        write_slots(out, "  ", &self.slots)?;
        for label in &self.not_carried {
            writeln!(out, "Not carried (no --passkey file): {label}")?;
        }
        if !self.repos.is_empty() {
            writeln!(
                out,
                "Repositories moved to the new keyring: {}.",
                self.repos.join(", ")
            )?;
        }
        match (&self.recovery_key, &self.recovery_key_written_to) {
            (Some(key), _) => {
                writeln!(
                    out,
                    "Write the new recovery key down; it is shown only once:"
                )?;
                writeln!(out, "\n    {}\n", key.as_str())
            }
            (None, Some(path)) => writeln!(out, "The new recovery key is in {path} (mode 0600)."),
            (None, None) => Ok(()),
        }
    }
}

/// Run `keys rekey`.
pub fn rekey(args: &RekeyArgs, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.keys.dir);
    let old = dir.load()?;
    if let Some(path) = &args.recovery_out {
        if path.exists() {
            return Err(CliError::TargetExists(path.clone()));
        }
    }
    // Opened with the old keyring, whose keys re-wrap the repositories' epochs.
    let mut repos = open_for_rotation(&args.repos, &old)?;
    let mut new = old.rekey()?;
    for file in &args.passkeys {
        renew_passkey(file, &old, &mut new)?;
    }
    let (_, recovery) = new.add_recovery_key("recovery key")?;
    if args.password_stdin {
        let password = secrets::read_password(true, false)?;
        new.add_password("password", &password)?;
    }
    new.check_restorable()?;
    let display = Zeroizing::new(recovery.to_string());
    if let Some(path) = &args.recovery_out {
        let mut line = Zeroizing::new(display.as_bytes().to_vec());
        line.push(b'\n');
        secrets::write_private_file(path, &line)?;
    }
    // The keys directory first (its generation file only grows: a re-key is one generation
    // above the old keyring): a repository not moved yet opens with an old secret and takes
    // the new keyring with `repo adopt-keys` (the new keyring records which one it replaced).
    dir.save(&new)?;
    let carried = adopt_all(&mut repos, &new)?;
    let not_carried = old
        .slots()
        .iter()
        .filter(|slot| matches!(slot.kind(), SlotKind::Passkey { .. }))
        .filter(|slot| {
            !new.slots()
                .iter()
                .any(|renewed| renewed.credential_id() == slot.credential_id())
        })
        .map(|slot| slot.label().to_owned())
        .collect();
    context.output.report(&RekeyReport {
        keys_dir: dir.path().display().to_string(),
        old_keyring_id: old.id().to_string(),
        keyring_id: new.id().to_string(),
        generation: new.generation(),
        slots: SlotView::all(new.slots()),
        not_carried,
        repos: carried,
        recovery_key: args.recovery_out.is_none().then_some(display),
        recovery_key_written_to: args.recovery_out.as_ref().map(|p| p.display().to_string()),
    })
}

/// Asks the software passkey in `file` once, under the new keyring's PRF input, and enrolls it
/// in `new` with its old slot's label and flags.
fn renew_passkey(file: &Path, old: &Keyring, new: &mut Keyring) -> CliResult<()> {
    let saved = secrets::read_private_file(file)?;
    let text = std::str::from_utf8(&saved).map_err(|_| {
        CliError::Usage(format!("{} is not a software passkey file", file.display()))
    })?;
    let mut authenticator = SoftAuthenticator::from_json(text)?;
    let held = authenticator.credential_ids();
    let rp_id = old
        .slots()
        .iter()
        .find_map(|slot| match slot.kind() {
            SlotKind::Passkey {
                credential_id,
                rp_id,
                ..
            } if held.contains(credential_id) => Some(rp_id.clone()),
            _ => None,
        })
        .ok_or(CoreError::NoMatchingSlot)?;
    let renewal = Unlock::for_renewal(old.slots(), new, &rp_id)?;
    let response = authenticator.get(&renewal.request().to_json())?;
    let key = renewal.verify_response(&response)?;
    renewal.renew(new, &key)?;
    Ok(())
}
