//! Turning the user's choice of secret (`--keys`, `--passkey`, a recovery key) into the core's
//! [`Secret`], reading key material only from files, stdin or a prompt.

use std::path::Path;

use keepsake_core::{
    backup::Secret,
    crypto::PrfOutput,
    format::Header,
    keyring::{Keyring, RecoveryKey, SlotSecret},
    Error as CoreError,
};

use zeroize::Zeroizing;

use crate::{cli::Unlock, error::CliResult, keys_dir::KeysDir, secrets};

use super::passkeys::{self, SealedBy};

/// Key material that opens a backup, owned for the duration of one command.
pub enum OwnedSecret {
    /// A parsed recovery key.
    RecoveryKey(RecoveryKey),
    /// The device's keyring (its root key opens every backup made with it).
    Keyring(Keyring),
    /// A password for the backup's password slots.
    Password(Zeroizing<String>),
    /// A passkey's PRF output for the keyring's PRF input, with its credential id.
    Passkey {
        /// The credential that answered.
        credential_id: Vec<u8>,
        /// Its PRF output.
        prf: PrfOutput,
    },
}

impl OwnedSecret {
    /// Gather the secret chosen on the command line; a passkey is asked for the PRF input and
    /// credentials of `header` (the backup's public header).
    pub fn gather(choice: &Unlock, header: &Header) -> CliResult<OwnedSecret> {
        Self::gather_for(choice, &SealedBy::of_header(header))
    }

    /// Gather the secret chosen on the command line for whatever `sealed`'s slots seal.
    pub fn gather_for(choice: &Unlock, sealed: &SealedBy<'_>) -> CliResult<OwnedSecret> {
        Ok(match choice {
            Unlock::Keys(dir) => {
                let keyring = KeysDir::at(dir).load()?;
                // The root key of another keyring would fail the MAC, which reads as damage;
                // the keyring id tells the two apart.
                if *keyring.id() != sealed.keyring_id {
                    return Err(CoreError::WrongKey.into());
                }
                OwnedSecret::Keyring(keyring)
            }
            Unlock::RecoveryKey(source) => {
                OwnedSecret::RecoveryKey(secrets::read_recovery_key(source)?)
            }
            Unlock::Password { stdin } => {
                OwnedSecret::Password(secrets::read_password(*stdin, false)?)
            }
            Unlock::Passkey(file) => {
                let (credential_id, prf) = passkeys::evaluate_for_slots(file, sealed)?;
                OwnedSecret::Passkey { credential_id, prf }
            }
        })
    }

    /// The core's view of this secret.
    pub fn as_secret(&self) -> Secret<'_> {
        match self {
            OwnedSecret::RecoveryKey(key) => Secret::RecoveryKey(key),
            OwnedSecret::Keyring(keyring) => Secret::Keyring(keyring),
            OwnedSecret::Password(password) => Secret::Password(password),
            OwnedSecret::Passkey { credential_id, prf } => Secret::Passkey { credential_id, prf },
        }
    }

    /// The secret as the keyring's upgrade path takes it; none for a keyring.
    pub fn slot_secret(&self) -> Option<SlotSecret<'_>> {
        match self {
            OwnedSecret::RecoveryKey(key) => Some(SlotSecret::RecoveryKey(key)),
            OwnedSecret::Keyring(_) => None,
            OwnedSecret::Password(password) => Some(SlotSecret::Password(password)),
            OwnedSecret::Passkey { credential_id, prf } => {
                Some(SlotSecret::Passkey { credential_id, prf })
            }
        }
    }

    /// What kind of secret this is, for reports: `recovery_key`, `root_key`, `password` or
    /// `passkey`.
    pub fn kind(&self) -> &'static str {
        match self {
            OwnedSecret::RecoveryKey(_) => "recovery_key",
            OwnedSecret::Keyring(_) => "root_key",
            OwnedSecret::Password(_) => "password",
            OwnedSecret::Passkey { .. } => "passkey",
        }
    }
}

/// Read the header of `backup` (public, unauthenticated) and gather the chosen secret for it.
pub fn secret_for(backup: &Path, choice: &Unlock) -> CliResult<OwnedSecret> {
    let info = keepsake_core::backup::inspect_path(backup)?;
    OwnedSecret::gather(choice, &info.header)
}
