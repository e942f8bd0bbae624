//! A key slot as the user sees it (in `keys list`, `inspect` and the demo): public fields only,
//! and the keyring report every `keys` subcommand prints after a change.

use std::io::{self, Write};

use keepsake_core::keyring::{Keyring, Slot, SlotKind};
use serde::Serialize;

use crate::{keys_dir::KeysDir, output::Report};

/// The public description of one key slot.
#[derive(Debug, Serialize)]
pub struct SlotView {
    /// The slot id, as `keys remove` takes it.
    pub id: String,
    /// `passkey`, `recovery_key` or `password`.
    pub kind: &'static str,
    /// The user's name for it.
    pub label: String,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// The passkey's relying party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// The passkey's credential id, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The passkey's backup-eligible flag (BE: its provider can sync it), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_eligible: Option<bool>,
    /// The passkey's backup-state flag (BS: synced at registration), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_state: Option<bool>,
    /// Slot encoding version (1 or 2: cannot take a new root key; unlock once with its secret
    /// on this device to upgrade it to 3).
    pub version: u8,
}

impl SlotView {
    /// Describe `slot`.
    pub fn of(slot: &Slot) -> Self {
        let (kind, rp_id, credential_id) = match slot.kind() {
            SlotKind::Passkey {
                credential_id,
                rp_id,
                ..
            } => ("passkey", Some(rp_id.clone()), Some(hex(credential_id))),
            SlotKind::RecoveryKey => ("recovery_key", None, None),
            SlotKind::Password { .. } => ("password", None, None),
        };
        let flags = slot.backup_flags();
        SlotView {
            id: slot.id().to_string(),
            kind,
            label: slot.label().to_owned(),
            created_at: slot.created_at(),
            rp_id,
            credential_id,
            backup_eligible: flags.map(|f| f.eligible),
            backup_state: flags.map(|f| f.state),
            version: slot.version(),
        }
    }

    /// Describe every slot.
    pub fn all(slots: &[Slot]) -> Vec<SlotView> {
        slots.iter().map(SlotView::of).collect()
    }
}

/// Print slots as a table, each line starting with `indent`.
pub fn write_slots(out: &mut dyn Write, indent: &str, slots: &[SlotView]) -> io::Result<()> {
    if slots.is_empty() {
        return writeln!(out, "{indent}(no key slots)");
    }
    for slot in slots {
        write!(
            out,
            "{indent}{}  {:<12}  {}",
            slot.id, slot.kind, slot.label
        )?;
        if let Some(rp) = &slot.rp_id {
            write!(out, "  (rp {rp})")?;
        }
        match slot.backup_eligible {
            Some(false) => write!(out, "  WARNING: not synced, lost with its device")?,
            Some(true) if slot.backup_state == Some(false) => {
                write!(out, "  (syncable, not yet synced)")?
            }
            _ => {}
        }
        if slot.version < 3 {
            write!(
                out,
                "  (version {} slot: unlock once with its secret to upgrade it; rotation waits)",
                slot.version
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keyring's slots after a `keys` command.
#[derive(Serialize)]
struct KeyringReport {
    keys_dir: String,
    keyring_id: String,
    /// The root key's generation: it grows by one at every rotation.
    generation: u64,
    slots: Vec<SlotView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_slot: Option<String>,
    #[serde(skip)]
    headline: String,
}

impl Report for KeyringReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.headline)?;
        writeln!(
            out,
            "keyring {} (generation {}) in {}",
            self.keyring_id, self.generation, self.keys_dir
        )?;
        write_slots(out, "  ", &self.slots)
    }
}

/// Describe `keyring` after a change.
pub(crate) fn keyring_report(
    dir: &KeysDir,
    keyring: &Keyring,
    changed_slot: Option<String>,
    headline: String,
) -> impl Report {
    KeyringReport {
        keys_dir: dir.path().display().to_string(),
        keyring_id: keyring.id().to_string(),
        generation: keyring.generation(),
        slots: SlotView::all(keyring.slots()),
        changed_slot,
        headline,
    }
}
