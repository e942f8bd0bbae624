//! What opens a backup, as one FFI object: a recovery key, a verified passkey assertion, a
//! password, or the device's keyring. Held in Rust so the secret never has to be re-sent across the FFI.

use std::sync::Arc;

use keepsake_core::{
    backup::Secret,
    crypto::{PrfOutput, RootKey},
    keyring::RecoveryKey,
};

use zeroize::Zeroizing;

use crate::{
    error::{guard, FfiResult},
    keyring::Keyring,
};

/// The secret behind a [`BackupSecret`].
pub(crate) enum SecretKind {
    Recovery(RecoveryKey),
    Passkey {
        credential_id: Vec<u8>,
        prf: PrfOutput,
    },
    Password(Zeroizing<String>),
    Root(RootKey),
}

/// A secret that opens a backup. Get one from a recovery key the user typed, from a passkey
/// assertion (`PasskeyUnlock`), or from the device's keyring (the daily backup's own check).
#[derive(uniffi::Object)]
pub struct BackupSecret {
    pub(crate) kind: SecretKind,
}

impl std::fmt::Debug for BackupSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupSecret(<redacted>)")
    }
}

#[uniffi::export]
impl BackupSecret {
    /// A recovery key as typed (case, spaces and dashes do not matter). A typing mistake fails
    /// here with `RecoveryKeyTypo`; a well-formed but wrong key fails at unlock with `WrongKey`.
    #[uniffi::constructor]
    pub fn recovery_key(text: String) -> FfiResult<Arc<Self>> {
        guard(|| {
            Ok(Arc::new(BackupSecret {
                kind: SecretKind::Recovery(RecoveryKey::parse(&text)?),
            }))
        })
    }

    /// A password as typed, for the backup's password slots. A wrong one fails at unlock with
    /// `WrongPassword` (after one Argon2id run per password slot, about a second each).
    #[uniffi::constructor]
    pub fn password(password: String) -> Arc<Self> {
        Arc::new(BackupSecret {
            kind: SecretKind::Password(Zeroizing::new(password)),
        })
    }

    /// The device's keyring (its root key): opens every backup it made.
    #[uniffi::constructor]
    pub fn device_keyring(keyring: Arc<Keyring>) -> FfiResult<Arc<Self>> {
        guard(|| {
            let root = keyring.with(|k| Ok(RootKey::from_bytes(*k.root_key().expose_secret())))?;
            Ok(Arc::new(BackupSecret {
                kind: SecretKind::Root(root),
            }))
        })
    }
}

impl BackupSecret {
    pub(crate) fn passkey(credential_id: Vec<u8>, prf: PrfOutput) -> Arc<Self> {
        Arc::new(BackupSecret {
            kind: SecretKind::Passkey { credential_id, prf },
        })
    }

    /// The core's view of this secret.
    pub(crate) fn as_core(&self) -> Secret<'_> {
        match &self.kind {
            SecretKind::Recovery(key) => Secret::RecoveryKey(key),
            SecretKind::Passkey { credential_id, prf } => Secret::Passkey { credential_id, prf },
            SecretKind::Password(password) => Secret::Password(password),
            SecretKind::Root(root) => Secret::RootKey(root),
        }
    }
}
