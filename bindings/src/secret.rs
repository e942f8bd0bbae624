//! What opens a backup, as one FFI object: a recovery key, a verified passkey assertion, a
//! password, or the device's keyring. Held in Rust so the secret never has to be re-sent across
//! the FFI. Also the text of a new recovery key, held in Rust until the app shows it.

use std::{
    fmt::{self, Write},
    sync::Arc,
};

use keepsake_core::{
    backup::Secret,
    crypto::{PrfOutput, RootKey},
    keyring::{KeyringId, RecoveryKey, SlotSecret},
    Error as CoreError,
};
use zeroize::Zeroizing;

use crate::{
    error::{guard, FfiResult, KeepsakeError},
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
    /// The device keyring's root key, with the keyring's id so that another keyring's backup
    /// is `WrongKey` rather than `Corrupted`, and the keyring object itself, whose generation a
    /// repository opened with it checks at every backup.
    Device {
        keyring_id: KeyringId,
        generation: u64,
        root: RootKey,
        keyring: Arc<Keyring>,
    },
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
        let text = Zeroizing::new(text);
        guard(|| {
            Ok(Arc::new(BackupSecret {
                kind: SecretKind::Recovery(RecoveryKey::parse(&text)?),
            }))
        })
    }

    /// A password as typed, for the backup's password slots. A wrong one fails at unlock with
    /// `WrongPassword` (after one Argon2id run per password slot, about a second each). The
    /// string crosses the FFI as a platform string, which Kotlin and Swift cannot wipe: the
    /// copy held here is wiped when this object is freed (see `docs/KOTLIN.md`).
    #[uniffi::constructor]
    pub fn password(password: String) -> Arc<Self> {
        Arc::new(BackupSecret {
            kind: SecretKind::Password(Zeroizing::new(password)),
        })
    }

    /// The device's keyring (its root key): opens every backup it made. Another keyring's
    /// backup fails with `WrongKey` (a damaged one with `Corrupted`).
    #[uniffi::constructor]
    pub fn device_keyring(keyring: Arc<Keyring>) -> FfiResult<Arc<Self>> {
        guard(|| {
            let kind = keyring.with(|k| {
                Ok(SecretKind::Device {
                    keyring_id: *k.id(),
                    generation: k.generation(),
                    root: k.root_key().clone(),
                    keyring: keyring.clone(),
                })
            })?;
            Ok(Arc::new(BackupSecret { kind }))
        })
    }
}

impl BackupSecret {
    pub(crate) fn passkey(credential_id: Vec<u8>, prf: PrfOutput) -> Arc<Self> {
        Arc::new(BackupSecret {
            kind: SecretKind::Passkey { credential_id, prf },
        })
    }

    /// Runs `unlock` (a restore, a verify, a repository's open) with the core's view of this
    /// secret. A password that finds no password slot at all (none was added, or it was removed)
    /// is a core `NoMatchingSlot`, whose message speaks of a passkey; to the user it is a password
    /// that does not open this backup, so it is `WrongPassword`, as the docs promise.
    pub(crate) fn unlock<T>(
        &self,
        unlock: impl FnOnce(&Secret<'_>) -> keepsake_core::Result<T>,
    ) -> FfiResult<T> {
        unlock(&self.as_core()).map_err(|err| match (&self.kind, err) {
            (SecretKind::Password(_), CoreError::NoMatchingSlot) => CoreError::WrongPassword.into(),
            (_, err) => KeepsakeError::from(err),
        })
    }

    /// The core's view of this secret.
    fn as_core(&self) -> Secret<'_> {
        match &self.kind {
            SecretKind::Recovery(key) => Secret::RecoveryKey(key),
            SecretKind::Passkey { credential_id, prf } => Secret::Passkey { credential_id, prf },
            SecretKind::Password(password) => Secret::Password(password),
            SecretKind::Device {
                keyring_id,
                generation,
                root,
                ..
            } => Secret::DeviceRootKey {
                keyring_id,
                generation: *generation,
                root,
            },
        }
    }

    /// The secret as the keyring's upgrade path takes it; none for the device keyring.
    pub(crate) fn slot_secret(&self) -> Option<SlotSecret<'_>> {
        match &self.kind {
            SecretKind::Recovery(key) => Some(SlotSecret::RecoveryKey(key)),
            SecretKind::Passkey { credential_id, prf } => {
                Some(SlotSecret::Passkey { credential_id, prf })
            }
            SecretKind::Password(password) => Some(SlotSecret::Password(password)),
            SecretKind::Device { .. } => None,
        }
    }

    /// The device keyring object this secret was made from, if it was.
    pub(crate) fn keyring_object(&self) -> Option<Arc<Keyring>> {
        match &self.kind {
            SecretKind::Device { keyring, .. } => Some(keyring.clone()),
            _ => None,
        }
    }
}

/// Length of a recovery key's grouped form: 64 symbols in groups of 4, joined by `-`.
const GROUPED_LEN: usize = 64 + 15;

/// The text of a new recovery key, kept in Rust (wiped when this object is freed) so that a
/// record holding it never prints it: `toString()` / `description` say `<redacted>`. Call
/// `reveal()` only to show the key to the user, then `close()` (Kotlin) or drop it.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct RecoveryKeyText {
    text: Zeroizing<String>,
}

impl RecoveryKeyText {
    /// The grouped text, written into a buffer of its final size so that no growing
    /// intermediate copy is freed unwiped.
    pub(crate) fn new(key: &RecoveryKey) -> Arc<Self> {
        let mut text = Zeroizing::new(String::with_capacity(GROUPED_LEN));
        // Writing into a `String` cannot fail.
        let _ = write!(text, "{key}");
        Arc::new(RecoveryKeyText { text })
    }
}

#[uniffi::export]
impl RecoveryKeyText {
    /// The key in its grouped display form (`XXXX-XXXX-...`), to show the user once.
    pub fn reveal(&self) -> String {
        self.text.as_str().to_owned()
    }
}

impl fmt::Debug for RecoveryKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKeyText(<redacted>)")
    }
}

impl fmt::Display for RecoveryKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted recovery key>")
    }
}
