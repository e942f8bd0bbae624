//! The command line: subcommands, their arguments and help text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::secrets::RecoveryKeySource;

/// End-to-end encrypted chat backups, unlocked by a passkey or a 64-character recovery key.
///
/// Secrets never go on the command line: the recovery key comes from a prompt,
/// --recovery-key-stdin or --recovery-key-file, and the root key stays in the keys directory
/// (root.key, mode 0600).
#[derive(Debug, Parser)]
#[command(name = "keepsake", version, max_term_width = 100, after_help = EXIT_CODES)]
pub struct Cli {
    /// Print the result (or the error) as one JSON document on stdout, for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    /// Draw no progress bars (they are never drawn when stderr is not a terminal).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown under `--help` (and in docs/CLI.md).
pub(crate) const EXIT_CODES: &str =
    "Exit codes: 0 ok, 1 other, 2 usage, 10 wrong key, 11 recovery key typo, \
12 corrupted, 13 truncated, 14 unsupported version, 15 I/O, 16 passkey (no slot, no PRF), \
17 cancelled, 18 target exists, 19 repository object missing, 20 blob store failed, \
21 repository locked, 22 media unavailable (an attachment could not be restored), 23 untrusted \
keyring (opened through a version 2 slot), 24 legacy slot blocks a rotation, 25 store throttling, \
26 store quota exceeded, 27 store credentials refused.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole flow on synthetic data and print a summary: seed, enroll a software passkey
    /// and a recovery key, back up, inspect, restore, compare every row.
    Demo(DemoArgs),
    /// Create a synthetic chat database.
    Seed(SeedArgs),
    /// Create a keyring and manage its key slots.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Back up a chat database (or, with --snapshot, any SQLite file) into an encrypted file.
    Backup(BackupArgs),
    /// Show a backup's public header: version, kind, key slots, metadata. Needs no secret.
    Inspect(InspectArgs),
    /// Unlock a backup and check all of it without writing anything.
    Verify(VerifyArgs),
    /// Unlock a backup and restore it into a database file (the payload kind is detected).
    Restore(RestoreArgs),
    /// Incremental backups into a repository (a directory): each backup stores only the chunks
    /// that changed; snapshots, restore, prune and check.
    #[command(subcommand)]
    Repo(RepoCommand),
}

/// `keepsake demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Messages in the synthetic database.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,

    /// Bytes of synthetic media files (photos, voice notes, documents, clips) beside the chats.
    #[arg(long, value_name = "N", default_value_t = 32_000_000)]
    pub media_bytes: u64,

    /// Keep the demo's files (databases, keys, passkey, backup) in this new directory instead of
    /// a temporary one that is removed at the end.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `keepsake seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The database to create (must not exist).
    #[arg(value_name = "DATABASE")]
    pub database: PathBuf,

    /// Messages to generate.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,

    /// Seed of the generator: the same seed and sizes give the same database.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Conversations to spread the messages over (default: one per 400 messages).
    #[arg(long, conflicts_with = "day")]
    pub conversations: Option<u32>,

    /// Instead of creating DATABASE, change the existing one as a day of use would (new
    /// messages, edits, deletions, reactions), deterministically for --seed: `realistic`
    /// (changes among recent messages) or `stress` (edits spread over the whole history).
    #[arg(long, value_enum, conflicts_with = "messages")]
    pub day: Option<DayArg>,

    /// Also write synthetic media files for the database's attachments into this new directory
    /// (photos, voice notes, videos, documents of realistic sizes, incompressible like real
    /// media; some forwarded, some absent), at each attachment's `local_ref`.
    #[arg(long, value_name = "DIR", conflicts_with = "day")]
    pub media: Option<PathBuf>,

    /// Stop making media files once this many bytes are written (later attachments have no
    /// file, like old media a phone no longer holds).
    #[arg(long, value_name = "N", default_value_t = 256 * 1024 * 1024, requires = "media")]
    pub media_bytes: u64,

    /// Divide every media file's size by N (for tests: 1000 makes photos of 0.1 to 4 KB).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "media",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub media_size_divisor: u64,
}

/// `keepsake seed --day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DayArg {
    /// 1% new messages, plus edits, deletions, reactions and delivery changes on 5% of the most
    /// recent 2% of messages.
    Realistic,
    /// 1% new messages, plus edits of 0.1% of all messages spread over the history.
    Stress,
}

/// The keys directory: `root.key` (the root key, 0600) and `keyring.pub` (public slots).
#[derive(Debug, Clone, Args)]
pub struct KeysDirArg {
    /// The keys directory made by `keepsake keys create`.
    #[arg(long = "keys", value_name = "DIR", env = "KEEPSAKE_KEYS")]
    pub dir: PathBuf,
}

/// `keepsake keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a keyring in a new keys directory: root.key (mode 0600) and keyring.pub.
    Create(KeysDirArg),
    /// List the key slots.
    List(KeysDirArg),
    /// Add a recovery key slot and show the recovery key once.
    AddRecovery(AddRecoveryArgs),
    /// Enroll a new software passkey (saved to a file) in a new slot.
    AddPasskey(AddPasskeyArgs),
    /// Add a password slot; the password is asked for (twice) or read from stdin, never argv.
    AddPassword(AddPasswordArgs),
    /// Rotate the root key (no secret needed): later backups use a new root key.
    Rotate(RotateArgs),
    /// Remove a key slot.
    Remove(RemoveSlotArgs),
    /// Replace the keyring after a revocation whose secret may be in hostile hands: a new
    /// keyring id, root key, authentication secret and PRF input; the remaining software
    /// passkeys are renewed, a new recovery key is made, passwords are entered again.
    Rekey(RekeyArgs),
}

/// `keepsake keys rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// A software passkey of the old keyring to carry into the new one (repeatable): it is
    /// asked once, under the new PRF input. Passkeys not named are not carried.
    #[arg(long = "passkey", value_name = "FILE")]
    pub passkeys: Vec<PathBuf>,

    /// Write the new recovery key to this new file (mode 0600) instead of printing it.
    #[arg(long = "recovery-out", value_name = "FILE")]
    pub recovery_out: Option<PathBuf>,

    /// Add a password slot to the new keyring, the password read from the first line of
    /// standard input (passwords are never carried: they are entered again).
    #[arg(long)]
    pub password_stdin: bool,

    /// A repository sealed by the old keyring to move to the new one (repeatable): its keys are
    /// re-wrapped and a new key epoch starts, as for a rotation.
    #[arg(long = "repo", value_name = "LOCATION")]
    pub repos: Vec<String>,
}

/// `keepsake keys rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// A repository to carry through the rotation (repeatable): it takes the new root key and
    /// starts a new key epoch in the same step, while the old key can still re-wrap its keys.
    #[arg(long = "repo", value_name = "LOCATION")]
    pub repos: Vec<String>,
}

/// `keepsake keys add-password`.
#[derive(Debug, Args)]
pub struct AddPasswordArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// A name for the slot.
    #[arg(long, default_value = "password")]
    pub label: String,

    /// Read the password from the first line of standard input instead of a prompt.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `keepsake keys add-recovery`.
#[derive(Debug, Args)]
pub struct AddRecoveryArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// A name for the slot.
    #[arg(long, default_value = "recovery key")]
    pub label: String,

    /// Write the recovery key to this new file (mode 0600) instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `keepsake keys add-passkey`.
#[derive(Debug, Args)]
pub struct AddPasskeyArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// The new software passkey file (mode 0600); use it later with --passkey.
    #[arg(long = "passkey", value_name = "FILE")]
    pub passkey_file: PathBuf,

    /// A name for the slot.
    #[arg(long, default_value = "software passkey")]
    pub label: String,

    /// The relying party the passkey belongs to.
    #[arg(long, default_value = "keepsake.example")]
    pub rp_id: String,
}

/// `keepsake keys remove`.
#[derive(Debug, Args)]
pub struct RemoveSlotArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// The slot id, as `keepsake keys list` shows it.
    #[arg(value_name = "SLOT_ID")]
    pub slot: String,

    /// Remove it even if it is the last slot, or the last one a new phone could use.
    #[arg(long)]
    pub force: bool,

    /// A repository to carry through the rotation that the removal makes (repeatable), as for
    /// `keys rotate --repo`.
    #[arg(long = "repo", value_name = "LOCATION")]
    pub repos: Vec<String>,
}

/// `keepsake backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub keys: KeysDirArg,

    /// The database to back up.
    #[arg(value_name = "DATABASE")]
    pub database: PathBuf,

    /// The backup file to create.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,

    /// Back up any SQLite file as a consistent snapshot instead of a Keepsake chat database.
    #[arg(long)]
    pub snapshot: bool,

    /// Replace --out if it exists.
    #[arg(long)]
    pub overwrite: bool,
}

/// `keepsake inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The backup file.
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,
}

/// `keepsake verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup file.
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,

    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keepsake restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,

    /// The database file to create.
    #[arg(long, value_name = "DATABASE")]
    pub to: PathBuf,

    /// Replace --to if it exists (only after the whole backup has been checked).
    #[arg(long)]
    pub overwrite: bool,

    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keepsake repo ...`.
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Create a repository in a new or empty directory, sealed by the keyring's key slots.
    Init(RepoInitArgs),
    /// Back up a chat database as a new snapshot, storing only what the repository lacks.
    Backup(RepoBackupArgs),
    /// List the snapshots, oldest first, and the snapshot objects that are damaged.
    Snapshots(RepoOpenArgs),
    /// Restore a snapshot (the newest intact one by default) into a new database file.
    Restore(RepoRestoreArgs),
    /// Forget the snapshots a retention policy does not keep and reclaim their space.
    Prune(RepoPruneArgs),
    /// Check the repository: every problem, and whether every snapshot still restores (healthy,
    /// healed or broken); reads and authenticates all data unless told otherwise.
    Check(RepoCheckArgs),
    /// Make a damaged repository consistent again, keeping everything that authenticates
    /// (a dry run that only reports, unless --apply).
    Repair(RepoRepairArgs),
    /// Remove stale writer locks (and unreadable objects under locks/); a live writer's lock
    /// only with --force.
    Unlock(RepoUnlockArgs),
    /// Open the repository with a passkey, the recovery key or a password and bring it up to
    /// the keys directory's keyring (after a rotation it did not take part in).
    AdoptKeys(RepoAdoptKeysArgs),
    /// Restore one attachment's file now (the user opened a photo the media restore has not
    /// reached yet), reading only the packs that hold it.
    FetchMedia(RepoFetchMediaArgs),
}

/// `keepsake repo adopt-keys`.
#[derive(Debug, Args)]
pub struct RepoAdoptKeysArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// The keys directory whose keyring the repository takes (the unlock options above say
    /// which slot's secret opens the repository).
    #[arg(long = "to-keys", value_name = "DIR")]
    pub to_keys: PathBuf,
}

/// Where a repository lives, and how to reach it.
#[derive(Debug, Clone, Args)]
pub struct RepoDirArg {
    /// The repository: a directory, or a remote store as restic names them
    /// (s3:http://HOST:PORT/BUCKET/PREFIX, s3:https://..., webdav:https://HOST/PATH,
    /// gs:BUCKET:/PREFIX, azure:CONTAINER:/PREFIX). Credentials come from the environment
    /// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, KEEPSAKE_WEBDAV_USER, ...) or
    /// --options-file, never from the command line (docs/STORES.md).
    #[arg(long = "repo", value_name = "LOCATION", env = "KEEPSAKE_REPO")]
    pub repo: String,

    /// A store option (repeatable): connections=N, timeout=SECONDS, io-timeout=SECONDS,
    /// retries=N, retry-delay=SECONDS, s3.region=REGION, ... (docs/STORES.md).
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,

    /// A file of store options and credentials, KEY=VALUE per line (mode 0600).
    #[arg(
        long = "options-file",
        value_name = "FILE",
        env = "KEEPSAKE_OPTIONS_FILE"
    )]
    pub options_file: Option<PathBuf>,
}

/// `keepsake repo init`.
#[derive(Debug, Args)]
pub struct RepoInitArgs {
    #[command(flatten)]
    pub repo: RepoDirArg,

    #[command(flatten)]
    pub keys: KeysDirArg,
}

/// `keepsake repo backup`.
#[derive(Debug, Args)]
pub struct RepoBackupArgs {
    #[command(flatten)]
    pub repo: RepoDirArg,

    #[command(flatten)]
    pub keys: KeysDirArg,

    /// The chat database to back up.
    #[arg(value_name = "DATABASE")]
    pub database: PathBuf,

    /// Keep the local cache of what the repository holds here, so daily backups read almost
    /// nothing from the repository (rebuilt when lost).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Also back up the attachments' files, found at each attachment's `local_ref` under DIR.
    /// Only new and changed files are read; chunks the repository holds are not stored again.
    #[arg(long, value_name = "DIR")]
    pub media: Option<PathBuf>,

    /// Leave videos out of the media backup.
    #[arg(long, requires = "media")]
    pub no_videos: bool,

    /// Leave out media files larger than this many bytes.
    #[arg(long, value_name = "BYTES", requires = "media")]
    pub max_file_size: Option<u64>,

    /// Leave out the media of this conversation (repeatable).
    #[arg(long = "exclude-conversation", value_name = "ID", requires = "media")]
    pub exclude_conversations: Vec<i64>,
}

/// A repository and the secret that opens it.
#[derive(Debug, Args)]
pub struct RepoOpenArgs {
    #[command(flatten)]
    pub repo: RepoDirArg,

    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keepsake repo restore`.
#[derive(Debug, Args)]
pub struct RepoRestoreArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// The database file to create.
    #[arg(long, value_name = "DATABASE")]
    pub to: PathBuf,

    /// The snapshot to restore (its id as `repo snapshots` shows it); the latest by default.
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,

    /// Replace --to if it exists (only after the whole snapshot has been checked).
    #[arg(long)]
    pub overwrite: bool,

    #[command(flatten)]
    pub media: MediaRestoreArgs,
}

/// The media part of `keepsake repo restore`.
#[derive(Debug, Default, Args)]
pub struct MediaRestoreArgs {
    /// After the database, restore the attachments' files into DIR (at their `local_ref`).
    /// Resumable: running the same command again continues where it stopped.
    #[arg(long, value_name = "DIR")]
    pub media_to: Option<PathBuf>,

    /// Where the media restore keeps its progress (default: DIR.keepsake-state beside the
    /// --media-to directory). Delete it once the restore is complete.
    #[arg(long, value_name = "DIR", requires = "media_to")]
    pub media_state: Option<PathBuf>,

    /// Only the media of this conversation (repeatable).
    #[arg(long = "conversation", value_name = "ID", requires = "media_to")]
    pub conversations: Vec<i64>,

    /// Only media of messages sent at or after this time (unix milliseconds).
    #[arg(long, value_name = "UNIX_MS", requires = "media_to")]
    pub since: Option<i64>,

    /// Only media of messages sent before this time (unix milliseconds).
    #[arg(long, value_name = "UNIX_MS", requires = "media_to")]
    pub until: Option<i64>,

    /// Only media of this kind (repeatable).
    #[arg(long = "kind", value_enum, value_name = "KIND", requires = "media_to")]
    pub kinds: Vec<MediaKindArg>,
}

/// A kind of media, for `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MediaKindArg {
    /// Photos and other images.
    Image,
    /// Videos.
    Video,
    /// Voice notes and other audio.
    Audio,
    /// Everything else (documents).
    Document,
}

/// `keepsake repo fetch-media`.
#[derive(Debug, Args)]
pub struct RepoFetchMediaArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// The attachment (`attachments.id`).
    #[arg(long, value_name = "ID")]
    pub attachment: i64,

    /// The media directory to restore the file into (at its `local_ref`).
    #[arg(long, value_name = "DIR")]
    pub media_to: PathBuf,

    /// The snapshot to take it from; the latest by default.
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,

    /// The media restore's state directory (default: DIR.keepsake-state beside --media-to),
    /// shared with `repo restore --media-to`, which then skips the fetched file.
    #[arg(long, value_name = "DIR")]
    pub media_state: Option<PathBuf>,
}

/// `keepsake repo prune`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("policy").required(true).multiple(true)))]
pub struct RepoPruneArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N", group = "policy")]
    pub keep_last: Option<u32>,

    /// Keep the newest snapshot of each of the last N days (UTC).
    #[arg(long, value_name = "N", group = "policy")]
    pub keep_daily: Option<u32>,

    /// Keep the newest snapshot of each of the last N weeks (UTC).
    #[arg(long, value_name = "N", group = "policy")]
    pub keep_weekly: Option<u32>,

    /// Allow the policy to forget every snapshot (a policy that keeps none, such as
    /// --keep-last 0, is refused without it); alone, forget them all.
    #[arg(long, group = "policy")]
    pub forget_all: bool,

    /// Report what would be forgotten and reclaimed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `keepsake repo check`.
#[derive(Debug, Args)]
pub struct RepoCheckArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// Download and authenticate this share of the data packs, in percent (0 to 100; a trailing
    /// % is allowed). 0 checks the structure only, without reading data.
    #[arg(long, value_name = "PERCENT", default_value = "100", value_parser = parse_percent)]
    pub read_data_subset: f64,
}

/// A share in percent (`12.5`, `12.5%`), as a fraction of 1.
fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(percent) if (0.0..=100.0).contains(&percent) => Ok(percent / 100.0),
        _ => Err(format!("{text:?} is not a percentage between 0 and 100")),
    }
}

/// `keepsake repo repair`.
#[derive(Debug, Args)]
pub struct RepoRepairArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// Change the repository; without it, only report what would change.
    #[arg(long)]
    pub apply: bool,
}

/// `keepsake repo unlock`.
#[derive(Debug, Args)]
pub struct RepoUnlockArgs {
    #[command(flatten)]
    pub open: RepoOpenArgs,

    /// Also remove a lock whose writer looks alive: only when you know no backup, prune or
    /// repair runs there any more (its device was reset, or its process was killed elsewhere).
    #[arg(long)]
    pub force: bool,
}

/// Which secret opens a backup. Without any of these, the recovery key is asked for.
#[derive(Debug, Default, Args)]
#[group(multiple = false)]
pub struct UnlockArgs {
    /// Unlock with this device's root key (the keys directory).
    #[arg(long = "keys", value_name = "DIR")]
    pub keys: Option<PathBuf>,

    /// Unlock with a software passkey file (from `keys add-passkey`).
    #[arg(long, value_name = "FILE")]
    pub passkey: Option<PathBuf>,

    /// Read the recovery key from the first line of standard input.
    #[arg(long)]
    pub recovery_key_stdin: bool,

    /// Read the recovery key from the first line of a file.
    #[arg(long, value_name = "FILE")]
    pub recovery_key_file: Option<PathBuf>,

    /// Unlock with a password slot: ask for the password.
    #[arg(long)]
    pub password: bool,

    /// Unlock with a password slot, reading the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// The secret chosen by [`UnlockArgs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// The root key in a keys directory.
    Keys(PathBuf),
    /// A software passkey file.
    Passkey(PathBuf),
    /// A recovery key.
    RecoveryKey(RecoveryKeySource),
    /// A password; `true` reads it from stdin, `false` asks for it.
    Password { stdin: bool },
}

impl UnlockArgs {
    /// The chosen secret; clap has already refused more than one.
    pub fn choice(&self) -> Unlock {
        if let Some(dir) = &self.keys {
            Unlock::Keys(dir.clone())
        } else if let Some(file) = &self.passkey {
            Unlock::Passkey(file.clone())
        } else if self.recovery_key_stdin {
            Unlock::RecoveryKey(RecoveryKeySource::Stdin)
        } else if let Some(file) = &self.recovery_key_file {
            Unlock::RecoveryKey(RecoveryKeySource::File(file.clone()))
        } else if self.password || self.password_stdin {
            Unlock::Password {
                stdin: self.password_stdin,
            }
        } else {
            Unlock::RecoveryKey(RecoveryKeySource::Prompt)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn two_secrets_at_once_are_refused() {
        let parsed = Cli::try_parse_from([
            "keepsake",
            "verify",
            "b.keepsake",
            "--recovery-key-stdin",
            "--passkey",
            "p",
        ]);
        assert!(parsed.is_err());
    }

    #[test]
    fn percentages_read_with_or_without_the_sign() {
        assert_eq!(parse_percent("100"), Ok(1.0));
        assert_eq!(parse_percent("12.5%"), Ok(0.125));
        assert_eq!(parse_percent("0"), Ok(0.0));
        for bad in ["101", "-1", "half", "", "NaN"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_a_secret_the_recovery_key_is_asked_for() {
        let cli = Cli::try_parse_from(["keepsake", "verify", "b.keepsake"]).unwrap();
        let Command::Verify(args) = cli.command else {
            panic!("parsed {cli:?}");
        };
        assert_eq!(
            args.unlock.choice(),
            Unlock::RecoveryKey(RecoveryKeySource::Prompt)
        );
    }
}
