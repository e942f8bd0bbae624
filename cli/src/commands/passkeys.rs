//! Software passkeys for the command line: a WebAuthn authenticator in software (the core's
//! `soft-authenticator` feature) kept in a file, enrolled and asked exactly as a phone's
//! password manager would be, through the request and response JSON of Credential Manager.

use std::path::Path;

use keepsake_core::{
    crypto::{random_bytes, PrfOutput},
    format::Header,
    keyring::{KeyringId, Slot, SlotId, SlotKind},
    passkey::{
        soft::{SoftAuthenticator, SoftMode},
        AssertionResponse, Enrollment, EnrollmentStep, RelyingParty, Unlock, UserAccount,
    },
    Error as CoreError,
};
use zeroize::Zeroizing;

use super::slots::keyring_report;
use crate::{
    cli::AddPasskeyArgs,
    error::{CliError, CliResult},
    keys_dir::KeysDir,
    secrets, Context,
};

/// `keys add-passkey`: enroll a new software passkey saved to a new 0600 file.
pub fn add_passkey(args: &AddPasskeyArgs, context: &Context) -> CliResult<()> {
    let dir = KeysDir::at(&args.keys.dir);
    let slot = enroll_software_passkey(&dir, &args.passkey_file, &args.label, &args.rp_id)?;
    let keyring = dir.load()?;
    let headline = format!(
        "Enrolled a software passkey in slot {slot}; it is saved in {} (mode 0600).",
        args.passkey_file.display()
    );
    let report = keyring_report(&dir, &keyring, Some(slot.to_string()), headline);
    context.output.report(&report)
}

/// Create a software passkey, enroll it in the keyring of `dir` (registration, and the extra
/// assertion when the provider evaluates PRF only then), and save it to `file`.
pub fn enroll_software_passkey(
    dir: &KeysDir,
    file: &Path,
    label: &str,
    rp_id: &str,
) -> CliResult<SlotId> {
    if file.exists() {
        return Err(CliError::TargetExists(file.to_path_buf()));
    }
    let mut keyring = dir.load()?;
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    let user = UserAccount {
        id: random_bytes::<16>()?.to_vec(),
        name: "keepsake".into(),
        display_name: label.into(),
    };
    let rp = RelyingParty {
        id: rp_id.into(),
        name: "Keepsake".into(),
    };
    let mut enrollment = Enrollment::begin(&keyring, rp, user, label)?;
    let registration = authenticator.create(&enrollment.registration_request().to_json())?;
    let slot = match enrollment.finish_registration(&mut keyring, &registration)? {
        EnrollmentStep::Enrolled(slot) => slot,
        EnrollmentStep::NeedsAssertion(request) => {
            let assertion = authenticator.get(&request.to_json())?;
            enrollment.finish_assertion(&mut keyring, &assertion)?
        }
    };
    let saved = Zeroizing::new(authenticator.to_json());
    secrets::write_private_file(file, saved.as_bytes())?;
    if let Err(err) = dir.save(&keyring) {
        let _ = std::fs::remove_file(file);
        return Err(err);
    }
    Ok(slot)
}

/// The public part of whatever a keyring's slots seal (a backup header, a repository config):
/// enough to ask a passkey for its PRF output.
pub struct SealedBy<'a> {
    /// The keyring the slots belong to.
    pub keyring_id: KeyringId,
    /// The PRF input every passkey slot was enrolled with.
    pub prf_input: [u8; 32],
    /// The slots.
    pub slots: &'a [Slot],
}

impl<'a> SealedBy<'a> {
    /// The slots of a backup's header.
    pub fn of_header(header: &'a Header) -> Self {
        SealedBy {
            keyring_id: *header.keyring_id(),
            prf_input: *header.prf_input(),
            slots: header.slots(),
        }
    }
}

/// Ask the software passkey in `file` for the PRF output that opens one of `sealed`'s slots
/// (a backup header's, a repository config's): the assertion request names the passkey slots
/// held by this authenticator.
pub fn evaluate_for_slots(file: &Path, sealed: &SealedBy<'_>) -> CliResult<(Vec<u8>, PrfOutput)> {
    let saved = secrets::read_private_file(file)?;
    let text = std::str::from_utf8(&saved).map_err(|_| {
        CliError::Usage(format!("{} is not a software passkey file", file.display()))
    })?;
    let mut authenticator = SoftAuthenticator::from_json(text)?;
    let held = authenticator.credential_ids();
    let rp_id = sealed
        .slots
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
    let unlock = Unlock::for_slots(
        sealed.keyring_id,
        &sealed.prf_input,
        sealed.slots,
        &rp_id,
        false,
    )?;
    let response = authenticator.get(&unlock.request().to_json())?;
    let assertion = unlock
        .request()
        .verify(&AssertionResponse::from_json(&response)?)?;
    let first = assertion.prf.first().ok_or(CoreError::PrfUnsupported)?;
    Ok((
        assertion.credential_id.clone(),
        PrfOutput::from_slice(first)?,
    ))
}
