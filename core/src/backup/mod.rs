//! Orchestration: backup to a path or any sink, inspect, unlock, verify and restore, for both
//! payload kinds (the chat archive of a [`ChatStore`] and a snapshot of any SQLite file).
//!
//! Files are written atomically (temporary file beside the target, fsync, rename, fsync of the
//! directory), and a failed or cancelled operation leaves nothing behind. The data flow, the two
//! threads of a backup or restore and where each check happens are described in
//! `docs/ARCHITECTURE.md` (section "Data flow").

mod install;
mod pipe;
mod read;
mod repository;
pub mod snapshot;
#[cfg(test)]
pub(crate) mod testing;
mod write;

use std::{collections::BTreeMap, path::PathBuf};

pub use crate::atomic::AtomicFile;
pub use read::{
    inspect, inspect_path, restore, restore_path, unlock, verify, verify_path, BackupInfo,
    RestoreReport, VerifyReport,
};
pub use repository::{
    backup_store_to_repo, backup_store_with_media, check_repo, prune_repo, restore_from_repo,
    restore_media_from_repo, RepoBackupSummary,
};
pub use write::{
    backup_sqlite_file, backup_sqlite_file_to_path, backup_store, backup_store_to_path,
    BackupSummary,
};

use crate::{
    crypto::{PrfOutput, RootKey},
    format::Metadata,
    keyring::{Keyring, KeyringId, RecoveryKey},
    progress::{CancellationToken, ProgressSink},
    store::RecordCounts,
    Error, Result,
};

/// How a backup is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    /// zstd level (1 to 19); level 3 is fast and compresses chat text well.
    pub compression_level: i32,
    /// Extra public header entries (for example the app's version). They are authenticated but
    /// not encrypted, so they must not hold anything private. Keys starting with `keepsake.` are
    /// reserved for the counts the backup writes itself.
    pub extra_metadata: BTreeMap<String, String>,
    /// Where a SQLite snapshot's temporary copy is made; beside the source file when `None`.
    pub temp_dir: Option<PathBuf>,
    /// The keyring generation the app keeps with its root key: a keyring (or a repository
    /// whose keys are) of a lower generation is refused with
    /// [`crate::Error::KeyringRolledBack`], so an app that rotated its keyring but did not
    /// adopt the rotation into an open repository does not go on writing under the old keys.
    /// There is no default: pass what the app stored ([`Self::for_generation`]).
    pub known_generation: u64,
    /// Repository backups: bytes of packs read back and verified before writing, least
    /// recently verified first (0 turns it off; see `crate::repo::verify`).
    pub verify_bytes: u64,
}

impl BackupOptions {
    /// The default options (zstd level 3, no extra metadata, temporary copy beside the source)
    /// for a device that keeps keyring generation `known_generation`.
    pub fn for_generation(known_generation: u64) -> Self {
        BackupOptions {
            compression_level: 3,
            extra_metadata: BTreeMap::new(),
            temp_dir: None,
            known_generation,
            verify_bytes: crate::repo::writer::DEFAULT_VERIFY_BYTES,
        }
    }
}

/// How a restore treats its target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Replace a target that already holds data. Without it such a target is refused with
    /// [`Error::TargetExists`]. The app must have closed the target database.
    pub replace: bool,
}

/// Progress reports and cancellation for one operation; both optional.
#[derive(Clone, Copy, Default)]
pub struct Control<'a> {
    /// Receives throttled [`crate::progress::Progress`] reports.
    pub progress: Option<&'a dyn ProgressSink>,
    /// Checked between batches; a cancelled operation returns [`Error::Cancelled`].
    pub cancel: Option<&'a CancellationToken>,
}

/// The secret that opens a backup.
pub enum Secret<'a> {
    /// The 64-character recovery key.
    RecoveryKey(&'a RecoveryKey),
    /// A passkey's PRF output, for the slot of the credential that produced it.
    Passkey {
        /// The credential id from the WebAuthn assertion.
        credential_id: &'a [u8],
        /// The PRF output of that credential for the keyring's PRF input.
        prf: &'a PrfOutput,
    },
    /// A password, for the keyring's password slots.
    Password(&'a str),
    /// A bare root key. Its keyring is unknown, so another keyring's backup is `Corrupted`
    /// (header MAC mismatch), as a damaged header is; prefer [`Secret::DeviceRootKey`].
    RootKey(&'a RootKey),
    /// The device's copy of the root key with its keyring id (the daily backup needs no
    /// prompt): another keyring's backup is `WrongKey`.
    DeviceRootKey {
        /// The id of the keyring the root key belongs to.
        keyring_id: &'a KeyringId,
        /// The root key's generation: a backup sealed by another generation is
        /// [`crate::Error::OtherGeneration`].
        generation: u64,
        /// Its root key.
        root: &'a RootKey,
    },
    /// The device's keyring (uses its root key).
    Keyring(&'a Keyring),
}

/// Header metadata keys for the per-kind record counts of a chat archive.
const COUNT_KEYS: [&str; 5] = [
    "keepsake.count.conversations",
    "keepsake.count.participants",
    "keepsake.count.messages",
    "keepsake.count.reactions",
    "keepsake.count.attachments",
];

fn count_values(counts: &RecordCounts) -> [u64; 5] {
    [
        counts.conversations,
        counts.participants,
        counts.messages,
        counts.reactions,
        counts.attachments,
    ]
}

/// The header metadata of a backup: the caller's extra entries plus the record counts.
fn metadata_with_counts(
    extra: &BTreeMap<String, String>,
    counts: Option<&RecordCounts>,
) -> Result<Metadata> {
    let mut metadata = Metadata::new();
    for (key, value) in extra {
        if key.starts_with("keepsake.") {
            return Err(Error::InvalidArgument(format!(
                "metadata key {key} is reserved for Keepsake"
            )));
        }
        metadata.insert(key.as_str(), value.as_str())?;
    }
    if let Some(counts) = counts {
        for (key, value) in COUNT_KEYS.iter().zip(count_values(counts)) {
            metadata.insert(*key, value.to_string())?;
        }
    }
    Ok(metadata)
}

/// The record counts a header declares, if it declares all of them.
fn counts_from_metadata(metadata: &Metadata) -> Result<Option<RecordCounts>> {
    let mut values = [0u64; 5];
    for (slot, key) in values.iter_mut().zip(COUNT_KEYS) {
        match metadata.get(key) {
            None => return Ok(None),
            Some(text) => {
                *slot = parse_count(text).ok_or_else(|| Error::Corrupted {
                    what: format!("header metadata {key} is not a count: {text:?}"),
                })?;
            }
        }
    }
    let [conversations, participants, messages, reactions, attachments] = values;
    Ok(Some(RecordCounts {
        conversations,
        participants,
        messages,
        reactions,
        attachments,
    }))
}

/// A count as writers write it: ASCII decimal digits, no sign, no leading zero (but `0`
/// itself), at most `u64::MAX`. Anything else (`+3`, `03`, ` 3`) is not a count.
fn parse_count(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Fails with [`Error::Corrupted`] naming the first kind whose counts differ.
fn check_counts(what: &str, expected: &RecordCounts, found: &RecordCounts) -> Result<()> {
    for ((key, want), got) in COUNT_KEYS
        .iter()
        .zip(count_values(expected))
        .zip(count_values(found))
    {
        if want != got {
            let kind = key.trim_start_matches("keepsake.count.");
            return Err(Error::Corrupted {
                what: format!("{what}: {kind} count is {got}, the backup declares {want}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::format::{ContainerWriter, PayloadKind, WriteOptions};

    #[test]
    fn counts_are_canonical_decimal() {
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count("42"), Some(42));
        assert_eq!(parse_count("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+3",
            "-0",
            "03",
            "00",
            " 3",
            "3 ",
            "3.0",
            "0x10",
            "18446744073709551616",
        ] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
    }

    fn chat_archive_with(metadata: &Metadata, keyring: &Keyring) -> Vec<u8> {
        let mut writer = ContainerWriter::new(
            Vec::new(),
            keyring,
            PayloadKind::ChatArchive,
            metadata,
            &WriteOptions::for_generation(0),
        )
        .unwrap();
        writer
            .write_all(b"not read: the header is refused first")
            .unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn a_chat_archive_without_all_five_counts_or_with_a_bad_one_is_refused() {
        let mut keyring = Keyring::create().unwrap();
        keyring.add_recovery_key("paper").unwrap();
        let counts = RecordCounts {
            conversations: 1,
            participants: 2,
            messages: 3,
            reactions: 4,
            attachments: 5,
        };
        let full = metadata_with_counts(&BTreeMap::new(), Some(&counts)).unwrap();
        let mut cases = Vec::new();
        for missing in COUNT_KEYS {
            let mut partial = Metadata::new();
            for (key, value) in full.iter().filter(|(key, _)| *key != missing) {
                partial.insert(key, value).unwrap();
            }
            cases.push((partial, "declares no record counts"));
        }
        let mut padded = Metadata::new();
        for (key, value) in full.iter() {
            let value = if key == COUNT_KEYS[2] { "03" } else { value };
            padded.insert(key, value).unwrap();
        }
        cases.push((padded, "is not a count"));
        for (metadata, expected) in cases {
            let bytes = chat_archive_with(&metadata, &keyring);
            let result = verify(
                bytes.as_slice(),
                &Secret::Keyring(&keyring),
                &Control::default(),
            );
            assert!(
                matches!(&result, Err(Error::Corrupted { what }) if what.contains(expected)),
                "{result:?}"
            );
        }
    }
}
