//! Shared fixtures for the CLI tests: a temporary directory with a seeded database, a keys
//! directory with a recovery key and a software passkey, and a backup of the database.

#![allow(dead_code)] // each test binary uses a different subset

use std::{
    fs,
    path::{Path, PathBuf},
};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The `keepsake` binary built for these tests.
pub fn keepsake() -> Command {
    let mut cmd = Command::cargo_bin("keepsake").expect("binary built");
    cmd.env_remove("KEEPSAKE_KEYS");
    cmd
}

/// Run `args` with `--json`, expect exit code `code`, and parse stdout.
pub fn json_run(args: &[&str], code: i32) -> Value {
    json_run_with_stdin(args, code, None)
}

/// [`json_run`] with `stdin` fed to the process.
pub fn json_run_with_stdin(args: &[&str], code: i32, stdin: Option<&str>) -> Value {
    let mut cmd = keepsake();
    cmd.arg("--json").args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let output = cmd.output().expect("ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "keepsake {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {stdout}\nstderr: {stderr}"))
}

/// Expect a JSON error of `kind` with exit code `code`.
pub fn expect_error(args: &[&str], code: i32, kind: &str) -> Value {
    expect_error_with_stdin(args, code, kind, None)
}

/// [`expect_error`] with `stdin` fed to the process.
pub fn expect_error_with_stdin(args: &[&str], code: i32, kind: &str, stdin: Option<&str>) -> Value {
    let doc = json_run_with_stdin(args, code, stdin);
    assert_eq!(doc["error"]["kind"], kind, "{doc}");
    assert_eq!(doc["error"]["exit_code"], code, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{doc}"
    );
    doc
}

/// A working directory for one test.
pub struct Fixture {
    pub dir: TempDir,
}

impl Fixture {
    /// An empty working directory.
    pub fn empty() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A directory with `chats.db` (`messages` messages), keys with a recovery key in
    /// `recovery.txt` and a passkey in `phone.passkey`, and their backup `chats.keepsake`.
    pub fn with_backup(messages: u64) -> Self {
        let fixture = Fixture::empty();
        fixture.seed("chats.db", messages);
        fixture.create_keys("keys");
        fixture.add_recovery("keys", "recovery.txt");
        fixture.add_passkey("keys", "phone.passkey");
        fixture.backup("keys", "chats.db", "chats.keepsake");
        fixture
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The path as a string argument.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    pub fn seed(&self, db: &str, messages: u64) -> Value {
        json_run(
            &["seed", &self.arg(db), "--messages", &messages.to_string()],
            0,
        )
    }

    pub fn create_keys(&self, keys: &str) -> Value {
        json_run(&["keys", "create", "--keys", &self.arg(keys)], 0)
    }

    pub fn add_recovery(&self, keys: &str, out: &str) -> Value {
        json_run(
            &[
                "keys",
                "add-recovery",
                "--keys",
                &self.arg(keys),
                "--out",
                &self.arg(out),
            ],
            0,
        )
    }

    pub fn add_passkey(&self, keys: &str, passkey: &str) -> Value {
        json_run(
            &[
                "keys",
                "add-passkey",
                "--keys",
                &self.arg(keys),
                "--passkey",
                &self.arg(passkey),
            ],
            0,
        )
    }

    pub fn backup(&self, keys: &str, db: &str, out: &str) -> Value {
        json_run(
            &[
                "backup",
                "--keys",
                &self.arg(keys),
                &self.arg(db),
                "--out",
                &self.arg(out),
            ],
            0,
        )
    }

    /// Names of the files in the directory (to prove nothing partial was left).
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .expect("readable")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

/// A copy of `from` at `to` with the byte at `offset` flipped.
pub fn flip_byte(from: &Path, to: &Path, offset: usize) {
    let mut bytes = fs::read(from).expect("readable");
    let byte = bytes.get_mut(offset).expect("offset inside the file");
    *byte ^= 0x40;
    fs::write(to, bytes).expect("writable");
}

/// A copy of `from` at `to` cut to `len` bytes.
pub fn truncate_copy(from: &Path, to: &Path, len: usize) {
    let bytes = fs::read(from).expect("readable");
    fs::write(to, &bytes[..len]).expect("writable");
}

/// Rows of `table` in the SQLite database at `db`.
pub fn count_rows(db: &Path, table: &str) -> u64 {
    let conn = rusqlite::Connection::open(db).expect("opens");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("counts")
}
