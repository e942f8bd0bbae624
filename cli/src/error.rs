//! Why a command failed, and the one place that turns a failure into the process exit code.
//!
//! Scripts branch on the exit code, so each class of failure has its own documented code
//! (`docs/CLI.md`); [`classify`] is the only mapping from an error to that code.

use std::{io, path::PathBuf};

use keepsake_core::{Error as CoreError, StorageErrorKind};

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The core refused or failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The arguments make no sense together (clap checks the rest before we run).
    #[error("{0}")]
    Usage(String),
    /// The command would overwrite a file it must not replace.
    #[error("{} already exists; remove it or choose another path", .0.display())]
    TargetExists(PathBuf),
    /// A bug: a worker thread panicked.
    #[error("internal error: {0}")]
    Internal(String),
    /// The demo's own row-by-row comparison found a difference.
    #[error("the restored database differs from the original: {0}")]
    Mismatch(String),
    /// A media restore finished, but these attachments could not be restored (damaged or
    /// missing packs). The command's report, already printed, lists them with the reasons.
    #[error("{0} attachment(s) could not be restored; the report lists them with the reasons")]
    MediaLost(usize),
    /// `repo check` found a snapshot (or some of its media) that cannot be restored: the first
    /// such loss, after the report that lists every problem.
    #[error("the repository is broken: {0}")]
    Broken(CoreError),
}

impl CliError {
    /// Whether the command printed its report before failing (the report says what failed,
    /// so `--json` prints no second document).
    pub fn after_report(&self) -> bool {
        matches!(self, CliError::MediaLost(_) | CliError::Broken(_))
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        CliError::Core(CoreError::io_at(path, source))
    }
}

/// `Result` with a [`CliError`].
pub type CliResult<T> = Result<T, CliError>;

/// The documented exit codes, one per class of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success.
    Ok,
    /// 1: anything not covered below.
    Other,
    /// 2: bad arguments (also what clap returns for a usage error).
    Usage,
    /// 10: the secret opens no key slot.
    WrongKey,
    /// 11: the recovery key has a typo (checksum, length or character).
    RecoveryKeyTypo,
    /// 12: the backup was modified or damaged, or exceeds the format's limits.
    Corrupted,
    /// 13: the backup ends early.
    Truncated,
    /// 14: written by a newer or unknown version of the format.
    UnsupportedVersion,
    /// 15: reading or writing a file failed.
    Io,
    /// 16: the passkey has no slot, or its PRF output or data is unusable.
    Passkey,
    /// 17: cancelled (Ctrl-C).
    Cancelled,
    /// 18: the target file already exists.
    TargetExists,
    /// 19: a repository object is missing (no repository at that location, or the store lost
    /// an object).
    ObjectMissing,
    /// 20: the blob store failed (the bytes were not judged) after its retries: the network
    /// or the service failed; running again may succeed.
    Storage,
    /// 21: another writer holds the repository's lock.
    Locked,
    /// 22: an attachment's file could not be restored (not in the backup, or its data is lost).
    MediaUnavailable,
    /// 23: the keyring was opened through a version 2 slot, whose seal anyone could have made:
    /// its data reads, its keys are not adopted or written under (re-key).
    UntrustedKeyring,
    /// 24: a version 1 or 2 slot blocks a rotation: unlock once with its secret to upgrade it.
    LegacySlot,
    /// 25: the store kept throttling (or asked for a longer pause than the retries wait):
    /// run again later.
    Throttled,
    /// 26: the store is full or over its quota: free space, then run again.
    QuotaExceeded,
    /// 27: the store refused the credentials: fix them, then run again.
    Unauthorized,
}

impl ExitStatus {
    /// Every status, in code order (the table of docs/CLI.md, checked by a test).
    pub const ALL: [ExitStatus; 21] = [
        ExitStatus::Ok,
        ExitStatus::Other,
        ExitStatus::Usage,
        ExitStatus::WrongKey,
        ExitStatus::RecoveryKeyTypo,
        ExitStatus::Corrupted,
        ExitStatus::Truncated,
        ExitStatus::UnsupportedVersion,
        ExitStatus::Io,
        ExitStatus::Passkey,
        ExitStatus::Cancelled,
        ExitStatus::TargetExists,
        ExitStatus::ObjectMissing,
        ExitStatus::Storage,
        ExitStatus::Locked,
        ExitStatus::MediaUnavailable,
        ExitStatus::UntrustedKeyring,
        ExitStatus::LegacySlot,
        ExitStatus::Throttled,
        ExitStatus::QuotaExceeded,
        ExitStatus::Unauthorized,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Other => 1,
            ExitStatus::Usage => 2,
            ExitStatus::WrongKey => 10,
            ExitStatus::RecoveryKeyTypo => 11,
            ExitStatus::Corrupted => 12,
            ExitStatus::Truncated => 13,
            ExitStatus::UnsupportedVersion => 14,
            ExitStatus::Io => 15,
            ExitStatus::Passkey => 16,
            ExitStatus::Cancelled => 17,
            ExitStatus::TargetExists => 18,
            ExitStatus::ObjectMissing => 19,
            ExitStatus::Storage => 20,
            ExitStatus::Locked => 21,
            ExitStatus::MediaUnavailable => 22,
            ExitStatus::UntrustedKeyring => 23,
            ExitStatus::LegacySlot => 24,
            ExitStatus::Throttled => 25,
            ExitStatus::QuotaExceeded => 26,
            ExitStatus::Unauthorized => 27,
        }
    }

    /// A stable machine-readable name, the `error.kind` of `--json` output.
    pub fn kind(self) -> &'static str {
        match self {
            ExitStatus::Ok => "ok",
            ExitStatus::Other => "other",
            ExitStatus::Usage => "usage",
            ExitStatus::WrongKey => "wrong_key",
            ExitStatus::RecoveryKeyTypo => "recovery_key_typo",
            ExitStatus::Corrupted => "corrupted",
            ExitStatus::Truncated => "truncated",
            ExitStatus::UnsupportedVersion => "unsupported_version",
            ExitStatus::Io => "io",
            ExitStatus::Passkey => "passkey",
            ExitStatus::Cancelled => "cancelled",
            ExitStatus::TargetExists => "target_exists",
            ExitStatus::ObjectMissing => "object_missing",
            ExitStatus::Storage => "storage",
            ExitStatus::Locked => "locked",
            ExitStatus::MediaUnavailable => "media_unavailable",
            ExitStatus::UntrustedKeyring => "untrusted_keyring",
            ExitStatus::LegacySlot => "legacy_slot",
            ExitStatus::Throttled => "throttled",
            ExitStatus::QuotaExceeded => "quota_exceeded",
            ExitStatus::Unauthorized => "unauthorized",
        }
    }
}

/// The one mapping from a failure to its exit status.
pub fn classify(err: &CliError) -> ExitStatus {
    match err {
        CliError::Usage(_) => ExitStatus::Usage,
        CliError::TargetExists(_) => ExitStatus::TargetExists,
        CliError::Mismatch(_) | CliError::Internal(_) => ExitStatus::Other,
        CliError::MediaLost(_) => ExitStatus::MediaUnavailable,
        CliError::Broken(core) => classify_core(core),
        CliError::Core(core) => classify_core(core),
    }
}

/// The exit status of a core error.
fn classify_core(core: &CoreError) -> ExitStatus {
    match core {
        CoreError::WrongKey | CoreError::WrongPassword | CoreError::OtherGeneration { .. } => {
            ExitStatus::WrongKey
        }
        // A store that put back old keys or an old config: the data is not as it should be.
        CoreError::KeyringRolledBack { .. } | CoreError::RepositoryRolledBack { .. } => {
            ExitStatus::Corrupted
        }
        CoreError::UnauthenticatedKeyring => ExitStatus::UntrustedKeyring,
        CoreError::LegacySlot { .. } => ExitStatus::LegacySlot,
        CoreError::LastSlot { .. } => ExitStatus::Usage,
        CoreError::RecoveryKeyTypo { .. } => ExitStatus::RecoveryKeyTypo,
        CoreError::Corrupted { .. } | CoreError::LimitExceeded { .. } => ExitStatus::Corrupted,
        CoreError::Truncated { .. } => ExitStatus::Truncated,
        CoreError::UnsupportedVersion { .. } => ExitStatus::UnsupportedVersion,
        CoreError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists => {
            ExitStatus::TargetExists
        }
        CoreError::Io { .. } => ExitStatus::Io,
        CoreError::NoMatchingSlot
        | CoreError::PrfUnsupported
        | CoreError::BadPrfOutput { .. }
        | CoreError::MalformedWebAuthn { .. } => ExitStatus::Passkey,
        CoreError::Cancelled => ExitStatus::Cancelled,
        CoreError::InvalidArgument(_) => ExitStatus::Usage,
        CoreError::TargetExists { .. } => ExitStatus::TargetExists,
        CoreError::ObjectMissing { .. } => ExitStatus::ObjectMissing,
        CoreError::Storage { kind, .. } => match kind {
            StorageErrorKind::Throttled { .. } => ExitStatus::Throttled,
            StorageErrorKind::QuotaExceeded => ExitStatus::QuotaExceeded,
            StorageErrorKind::Unauthorized => ExitStatus::Unauthorized,
            _ => ExitStatus::Storage,
        },
        CoreError::StoreChanged { .. } => ExitStatus::Storage,
        CoreError::RepositoryLocked { .. } => ExitStatus::Locked,
        CoreError::MediaUnavailable { .. } => ExitStatus::MediaUnavailable,
        // Database failures, randomness failures and any variant added later.
        _ => ExitStatus::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(err: CoreError) -> ExitStatus {
        classify(&CliError::Core(err))
    }

    #[test]
    fn each_error_class_has_its_own_code() {
        let cases = [
            (status_of(CoreError::WrongKey), 10),
            (
                status_of(CoreError::RecoveryKeyTypo {
                    detail: "checksum".into(),
                }),
                11,
            ),
            (status_of(CoreError::Corrupted { what: "x".into() }), 12),
            (status_of(CoreError::Truncated { what: "x".into() }), 13),
            (
                status_of(CoreError::UnsupportedVersion {
                    what: "format version".into(),
                    found: 9,
                    supported: "1".into(),
                }),
                14,
            ),
            (
                status_of(CoreError::io_at(
                    "/x",
                    io::Error::from(io::ErrorKind::NotFound),
                )),
                15,
            ),
            (status_of(CoreError::NoMatchingSlot), 16),
            (status_of(CoreError::Cancelled), 17),
            (classify(&CliError::TargetExists("/x".into())), 18),
            (status_of(CoreError::TargetExists { path: "/x".into() }), 18),
            (classify(&CliError::Usage("x".into())), 2),
            (status_of(CoreError::Randomness), 1),
            (
                status_of(CoreError::ObjectMissing {
                    name: "config".into(),
                }),
                19,
            ),
            (
                status_of(CoreError::Storage {
                    op: "put".into(),
                    name: "data/ab".into(),
                    message: "quota".into(),
                    kind: StorageErrorKind::Transient,
                }),
                20,
            ),
            (
                status_of(keepsake_core::repo::storage_error_of(
                    StorageErrorKind::Throttled { retry_after: None },
                    "put",
                    "data/ab",
                    "slow down",
                )),
                25,
            ),
            (
                status_of(keepsake_core::repo::storage_error_of(
                    StorageErrorKind::QuotaExceeded,
                    "put",
                    "data/ab",
                    "full",
                )),
                26,
            ),
            (
                status_of(keepsake_core::repo::storage_error_of(
                    StorageErrorKind::Unauthorized,
                    "list",
                    "data/",
                    "expired",
                )),
                27,
            ),
            (
                status_of(CoreError::RepositoryLocked {
                    holder: "other device".into(),
                }),
                21,
            ),
            (
                status_of(CoreError::MediaUnavailable {
                    attachment_id: 7,
                    reason: "pack missing".into(),
                }),
                22,
            ),
            (classify(&CliError::MediaLost(2)), 22),
            (status_of(CoreError::UnauthenticatedKeyring), 23),
            (
                status_of(CoreError::LegacySlot {
                    slot: "00".into(),
                    label: "paper".into(),
                    version: 2,
                }),
                24,
            ),
            (
                status_of(CoreError::RepositoryRolledBack {
                    config_epoch: 0,
                    found_epoch: 1,
                }),
                12,
            ),
        ];
        for (status, code) in cases {
            assert_eq!(status.code(), code, "{status:?}");
        }
    }

    #[test]
    fn an_existing_file_reported_by_the_os_is_target_exists() {
        let err = CoreError::io_at("/x", io::Error::from(io::ErrorKind::AlreadyExists));
        assert_eq!(status_of(err), ExitStatus::TargetExists);
    }

    #[test]
    fn kinds_are_distinct() {
        let kinds: std::collections::BTreeSet<_> =
            ExitStatus::ALL.iter().map(|s| s.kind()).collect();
        let codes: std::collections::BTreeSet<_> =
            ExitStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(kinds.len(), ExitStatus::ALL.len());
        assert_eq!(codes.len(), ExitStatus::ALL.len());
    }

    /// The exit code table of docs/CLI.md lists exactly these codes with these kinds, and
    /// `--help` names every code.
    #[test]
    fn the_documented_exit_codes_are_the_codes() {
        let docs = include_str!("../../docs/CLI.md");
        let table = docs
            .split("## Exit codes")
            .nth(1)
            .expect("docs/CLI.md has an Exit codes section");
        let documented: Vec<(u8, String)> = table
            .lines()
            .skip_while(|line| !line.starts_with("| code"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells[1].parse().expect("a code");
                (code, cells[2].trim_matches('`').to_owned())
            })
            .collect();
        let expected: Vec<(u8, String)> = ExitStatus::ALL
            .iter()
            .map(|s| {
                let kind = if *s == ExitStatus::Ok { "" } else { s.kind() };
                (s.code(), kind.to_owned())
            })
            .collect();
        assert_eq!(documented, expected);
        for status in ExitStatus::ALL {
            assert!(
                crate::cli::EXIT_CODES.contains(&format!("{} ", status.code())),
                "--help lacks {}",
                status.code()
            );
        }
    }
}
