//! The keyring as an FFI object: the root key and its slots (passkeys, recovery keys, passwords).
//!
//! The device keeps three things: the root key and its generation, sealed together by the app in
//! Android Keystore or the iOS Keychain ([`Keyring::export_root_key`], [`Keyring::generation`]),
//! and the public bytes ([`Keyring::public_bytes`]), which hold no secret and may live anywhere.
//! [`Keyring::restore_checked`] rebuilds the keyring from them and refuses an older keyring; a
//! new device gets it from a backup instead (`keyring_from_backup`).
//!
//! Removing a slot rotates the root key (a new key and generation): the app must then seal the
//! new root key and generation and store the new public bytes, in place of the old ones. Store
//! the public bytes again after *every* change (a slot added, upgraded or removed, a rotation,
//! a re-key): they also carry the keyring authentication secret, created with the first
//! version 3 slot, without which the keyring cannot rotate.

use std::sync::Arc;

use keepsake_core::{
    crypto::RootKey,
    keyring::{self as core_keyring, RecoveryKey, SlotId},
};
use zeroize::Zeroizing;

use crate::{
    count::{long, unsigned},
    error::{guard, FfiResult, KeepsakeError},
    lock::Guarded,
    secret::{BackupSecret, RecoveryKeyText},
};

/// What unlocks a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SlotKind {
    /// A passkey through the WebAuthn PRF extension.
    Passkey,
    /// The 64-character recovery key.
    RecoveryKey,
    /// A password (Argon2id).
    Password,
}

/// The public description of a key slot.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SlotInfo {
    /// The slot id (16 bytes), used to remove it.
    pub id: Vec<u8>,
    /// The label the user gave it.
    pub label: String,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: i64,
    /// Passkey or recovery key.
    pub kind: SlotKind,
    /// The passkey's credential id (passkey slots).
    pub credential_id: Option<Vec<u8>>,
    /// The relying party id (passkey slots).
    pub rp_id: Option<String>,
    /// The provider's AAGUID (passkey slots, when known), to show which password manager
    /// holds the passkey.
    pub provider_hint: Option<Vec<u8>>,
    /// The passkey's backup-eligible flag (BE): its provider can sync it to other devices.
    /// `None` when the registration did not report it (or a version 1 slot).
    pub backup_eligible: Option<bool>,
    /// The passkey's backup-state flag (BS): it was synced when registered.
    pub backup_state: Option<bool>,
    /// True for a passkey that cannot sync: warn the user that it is lost with this phone and
    /// that a recovery key, password or synced passkey is needed to restore elsewhere.
    pub device_bound: bool,
    /// The slot encoding version (3 today). A version 1 or 2 slot cannot take a new root key
    /// (rotation fails with `LegacySlot`): `Keyring.upgrade_slots` with its secret replaces it.
    pub version: u8,
}

impl From<&core_keyring::Slot> for SlotInfo {
    fn from(slot: &core_keyring::Slot) -> Self {
        let (kind, credential_id, rp_id, provider_hint) = match slot.kind() {
            core_keyring::SlotKind::Passkey {
                credential_id,
                rp_id,
                provider_hint,
                ..
            } => (
                SlotKind::Passkey,
                Some(credential_id.clone()),
                Some(rp_id.clone()),
                provider_hint.map(|h| h.to_vec()),
            ),
            core_keyring::SlotKind::RecoveryKey => (SlotKind::RecoveryKey, None, None, None),
            core_keyring::SlotKind::Password { .. } => (SlotKind::Password, None, None, None),
        };
        let flags = slot.backup_flags();
        SlotInfo {
            id: slot.id().as_bytes().to_vec(),
            label: slot.label().to_owned(),
            created_at: long(slot.created_at()),
            kind,
            credential_id,
            rp_id,
            provider_hint,
            backup_eligible: flags.map(|f| f.eligible),
            backup_state: flags.map(|f| f.state),
            device_bound: slot.is_device_bound(),
            version: slot.version(),
        }
    }
}

/// A recovery key just added: show `recovery_key.reveal()` to the user once, then forget it.
/// Printing this record never shows the key.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewRecoveryKey {
    /// The new slot.
    pub slot: SlotInfo,
    /// The key, revealed only on request.
    pub recovery_key: Arc<RecoveryKeyText>,
}

/// Checks a recovery key as typed by the user and returns its canonical grouped form. Fails
/// with `RecoveryKeyTypo` (saying where) when it cannot be a valid key: use it to check input
/// before trying to unlock.
#[uniffi::export]
pub fn normalize_recovery_key(input: String) -> FfiResult<String> {
    guard(|| Ok(RecoveryKey::parse(&input)?.to_string()))
}

/// A keyring: the root key plus its slots. Safe to use from any thread.
#[derive(uniffi::Object)]
pub struct Keyring {
    inner: Guarded<core_keyring::Keyring>,
}

impl Keyring {
    pub(crate) fn wrap(keyring: core_keyring::Keyring) -> Arc<Self> {
        Arc::new(Keyring {
            inner: Guarded::new(keyring, "keyring"),
        })
    }

    /// Runs `f` on the core keyring.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&core_keyring::Keyring) -> keepsake_core::Result<T>,
    ) -> FfiResult<T> {
        self.inner.with(f)
    }

    /// Runs `f` on the core keyring, mutably.
    pub(crate) fn with_mut<T>(
        &self,
        f: impl FnOnce(&mut core_keyring::Keyring) -> keepsake_core::Result<T>,
    ) -> FfiResult<T> {
        self.inner.with_mut(f)
    }
}

#[uniffi::export]
impl Keyring {
    /// A new keyring with a fresh random root key and no slots yet: add a passkey and a
    /// recovery key before the first backup.
    #[uniffi::constructor]
    pub fn create() -> FfiResult<Arc<Self>> {
        guard(|| Ok(Keyring::wrap(core_keyring::Keyring::create()?)))
    }

    /// Rebuilds the device's keyring from the root key the app sealed and the public bytes it
    /// stored. Fails with `Corrupted` when the public bytes were altered or belong to another
    /// root key.
    #[uniffi::constructor]
    pub fn restore(root_key: Vec<u8>, public_bytes: Vec<u8>) -> FfiResult<Arc<Self>> {
        guard(|| {
            let root_key = Zeroizing::new(root_key);
            let bytes: [u8; 32] = root_key.as_slice().try_into().map_err(|_| {
                KeepsakeError::invalid(format!("a root key is 32 bytes, got {}", root_key.len()))
            })?;
            let root = RootKey::from_bytes(bytes);
            Ok(Keyring::wrap(core_keyring::Keyring::from_parts(
                root,
                &public_bytes,
            )?))
        })
    }

    /// [`Keyring::restore`] that also refuses (`KeyringRolledBack`) public bytes of a generation
    /// below `known_generation`, the generation the app sealed with the root key. Use this one.
    #[uniffi::constructor]
    pub fn restore_checked(
        root_key: Vec<u8>,
        public_bytes: Vec<u8>,
        known_generation: i64,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let root_key = Zeroizing::new(root_key);
            let bytes: [u8; 32] = root_key.as_slice().try_into().map_err(|_| {
                KeepsakeError::invalid(format!("a root key is 32 bytes, got {}", root_key.len()))
            })?;
            Ok(Keyring::wrap(core_keyring::Keyring::from_stored(
                RootKey::from_bytes(bytes),
                &public_bytes,
                unsigned(known_generation, "the known generation")?,
            )?))
        })
    }

    /// The root key's generation: +1 at every rotation. Seal it with the root key and pass it
    /// to `restore_checked` and `BackupOptions.known_generation`.
    pub fn generation(&self) -> FfiResult<i64> {
        guard(|| self.with(|k| Ok(long(k.generation()))))
    }

    /// Fails with `KeyringRolledBack` if this keyring is older than `known_generation`: check a
    /// keyring from `keyring_from_backup` before adopting it on a device that had one.
    pub fn check_not_rolled_back(&self, known_generation: i64) -> FfiResult<()> {
        guard(|| {
            let known = unsigned(known_generation, "the known generation")?;
            self.with(|k| k.check_not_rolled_back(known))
        })
    }

    /// Rotates the root key without any prompt (new key, generation + 1, sealed to every slot).
    /// Returns the new generation; then seal `export_root_key()` and the generation, and store
    /// `public_bytes()`, replacing the old ones. A version 1 or 2 slot blocks it (`LegacySlot`:
    /// see `upgrade_slots`).
    pub fn rotate_root_key(&self) -> FfiResult<i64> {
        guard(|| self.with_mut(|k| Ok(long(k.rotate_root_key()?.new_generation))))
    }

    /// Replaces the version 1 and 2 slots that `secret` opens (a recovery key, a passkey's
    /// `PasskeyUnlock` result or a password the user just entered on this device) by version 3
    /// slots, and returns them; none is not an error. Call it whenever the user unlocks with a
    /// slot's secret on a device that holds the keyring; then store `public_bytes()` again.
    pub fn upgrade_slots(&self, secret: Arc<BackupSecret>) -> FfiResult<Vec<SlotInfo>> {
        guard(|| {
            let Some(slot_secret) = secret.slot_secret() else {
                return Ok(Vec::new());
            };
            self.with_mut(|k| {
                let ids = k.upgrade_slots(&slot_secret)?;
                ids.iter().map(|id| slot_info(k, id)).collect()
            })
        })
    }

    /// A new keyring to replace this one after a revocation whose secret may be in hostile
    /// hands (it still knows this keyring's authentication secret, so it could still seal root
    /// keys the remaining slots accept): new id, root key, authentication secret and PRF input,
    /// generation one above this one, no slots yet. Enroll each remaining passkey with
    /// `PasskeyUnlock.for_renewal` (one assertion each), add a new recovery key, ask for
    /// passwords again; seal its root key and generation, store its public bytes, then
    /// `Repository.adopt_keyring` it on each repository opened with this keyring. This keyring
    /// is not changed.
    pub fn rekey(&self) -> FfiResult<Arc<Keyring>> {
        guard(|| Ok(Keyring::wrap(self.with(|k| k.rekey())?)))
    }

    /// The id of the keyring this one replaced by `rekey`, if it did.
    pub fn rekeyed_from(&self) -> FfiResult<Option<Vec<u8>>> {
        guard(|| self.with(|k| Ok(k.rekeyed_from().map(|id| id.as_bytes().to_vec()))))
    }

    /// Adds a password slot: at least 12 characters, not built on the passwords people use
    /// most or on patterns (`InvalidArgument` says what to change); its NFC form is stretched
    /// with Argon2id (about a second on a phone).
    pub fn add_password(&self, label: String, password: String) -> FfiResult<SlotInfo> {
        guard(|| {
            let password = Zeroizing::new(password);
            self.with_mut(|k| {
                let id = k.add_password(&label, &password)?;
                slot_info(k, &id)
            })
        })
    }

    /// The keyring id (16 bytes); every backup made with this keyring carries it.
    pub fn id(&self) -> FfiResult<Vec<u8>> {
        guard(|| self.with(|k| Ok(k.id().as_bytes().to_vec())))
    }

    /// The 32-byte root key, ONLY to seal it in Android Keystore / the iOS Keychain. Wipe the
    /// array after sealing.
    pub fn export_root_key(&self) -> FfiResult<Vec<u8>> {
        guard(|| self.with(|k| Ok(k.root_key().expose_secret().to_vec())))
    }

    /// Everything but the root key (id, PRF input, slots), authenticated with the root key.
    /// Not secret: store it next to the sealed root key.
    pub fn public_bytes(&self) -> FfiResult<Vec<u8>> {
        guard(|| self.with(|k| Ok(k.to_public_bytes())))
    }

    /// The slots, in the order they were added.
    pub fn slots(&self) -> FfiResult<Vec<SlotInfo>> {
        guard(|| self.with(|k| Ok(k.slots().iter().map(SlotInfo::from).collect())))
    }

    /// Adds a recovery key slot and returns the key to show the user (once).
    pub fn add_recovery_key(&self, label: String) -> FfiResult<NewRecoveryKey> {
        guard(|| {
            self.with_mut(|k| {
                let (id, key) = k.add_recovery_key(&label)?;
                let slot = slot_info(k, &id)?;
                Ok(NewRecoveryKey {
                    slot,
                    recovery_key: RecoveryKeyText::new(&key),
                })
            })
        })
    }

    /// Revokes a slot (a lost passkey, a leaked recovery key or password): removes it and
    /// rotates the root key, so it opens no backup made from now on. Backups made before still
    /// open with it. Refuses (`LastSlot`) the last slot or the last one a new phone could use.
    /// Afterwards seal the new root key and generation and store the new public bytes.
    pub fn remove_slot(&self, slot_id: Vec<u8>) -> FfiResult<SlotInfo> {
        self.remove(slot_id, false)
    }

    /// [`Keyring::remove_slot`] even for the last slot (the next backup then fails until a
    /// slot is added).
    pub fn remove_slot_forced(&self, slot_id: Vec<u8>) -> FfiResult<SlotInfo> {
        self.remove(slot_id, true)
    }
}

impl Keyring {
    fn remove(&self, slot_id: Vec<u8>, force: bool) -> FfiResult<SlotInfo> {
        guard(|| {
            let id: [u8; 16] = slot_id.as_slice().try_into().map_err(|_| {
                KeepsakeError::invalid(format!("a slot id is 16 bytes, got {}", slot_id.len()))
            })?;
            self.with_mut(|k| {
                Ok(SlotInfo::from(
                    &k.remove_slot(&SlotId::from_bytes(id), force)?.slot,
                ))
            })
        })
    }
}

/// The public description of the slot `id` of `keyring`.
pub(crate) fn slot_info(
    keyring: &core_keyring::Keyring,
    id: &SlotId,
) -> keepsake_core::Result<SlotInfo> {
    keyring
        .slots()
        .iter()
        .find(|s| s.id() == id)
        .map(SlotInfo::from)
        .ok_or_else(|| keepsake_core::Error::InvalidArgument("the new slot is missing".into()))
}
