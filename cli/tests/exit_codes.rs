//! The exit codes docs/CLI.md promises for common situations are the ones the binary gives:
//! every row of the "What common situations exit with" table is run here, and a situation
//! tested here but missing from the table (or the reverse) fails too.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod common;

use std::{
    collections::BTreeMap,
    fs,
    path::Path,
    process::{Command as Process, Stdio},
    sync::Arc,
};

use common::{json_run, keepsake, Fixture};
use keepsake_core::{
    backup::Secret,
    crypto::RootKey,
    keyring::Keyring,
    repo::{DirStore, Repository, WriterOptions},
};

/// The situations table of docs/CLI.md: situation -> code.
fn documented() -> BTreeMap<String, i32> {
    let docs = include_str!("../../docs/CLI.md");
    let table = docs
        .split("What common situations exit with")
        .nth(1)
        .expect("docs/CLI.md has the situations table");
    table
        .lines()
        .skip_while(|line| !line.starts_with("| situation"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].to_owned(), cells[2].parse().expect("a code"))
        })
        .collect()
}

/// The exit code of `keepsake args`.
fn code(args: &[&str]) -> i32 {
    keepsake()
        .args(args)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

/// A repository `repo` with one snapshot of `chats.db`, opened by `keys` and `recovery.txt`.
fn with_repository() -> Fixture {
    let fx = Fixture::with_backup(1_500);
    json_run(
        &[
            "repo",
            "init",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
    json_run(
        &[
            "repo",
            "backup",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            &fx.arg("chats.db"),
        ],
        0,
    );
    fx
}

/// A small tmpfs mounted for one situation, unmounted on drop; `None` where mounting is not
/// allowed (not root).
struct SmallTmpfs(tempfile::TempDir);

impl SmallTmpfs {
    fn mount(size: &str) -> Option<SmallTmpfs> {
        let dir = tempfile::tempdir().unwrap();
        Process::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            .then_some(SmallTmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(self.0.path()).status();
    }
}

/// Each documented situation, run; `None` when this machine cannot set it up.
fn run(situation: &str, fx: &Fixture) -> Option<i32> {
    let (repo, keys) = (fx.arg("repo"), fx.arg("keys"));
    Some(match situation {
        "`--repo` names a directory that does not exist" => code(&[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("nowhere"),
            "--keys",
            &keys,
        ]),
        "`--repo` names an empty directory (no repository there)" => {
            fs::create_dir_all(fx.path("empty")).unwrap();
            code(&[
                "repo",
                "snapshots",
                "--repo",
                &fx.arg("empty"),
                "--keys",
                &keys,
            ])
        }
        "`repo init --repo` names a directory that is not empty" => {
            fs::create_dir_all(fx.path("full")).unwrap();
            fs::write(fx.path("full/notes.txt"), b"mine").unwrap();
            code(&["repo", "init", "--repo", &fx.arg("full"), "--keys", &keys])
        }
        "the database to back up does not exist" => code(&[
            "repo",
            "backup",
            "--repo",
            &repo,
            "--keys",
            &keys,
            &fx.arg("missing.db"),
        ]),
        "`root.key` in the keys directory is not 32 bytes" => {
            fs::create_dir_all(fx.path("short-keys")).unwrap();
            for file in ["keyring.pub", "generation"] {
                fs::copy(fx.path("keys").join(file), fx.path("short-keys").join(file)).unwrap();
            }
            let root = fs::read(fx.path("keys/root.key")).unwrap();
            fs::write(fx.path("short-keys/root.key"), &root[..31]).unwrap();
            code(&[
                "repo",
                "snapshots",
                "--repo",
                &repo,
                "--keys",
                &fx.arg("short-keys"),
            ])
        }
        "the disk under the restore target fills up" => {
            let tmpfs = SmallTmpfs::mount("64k")?;
            let target = tmpfs.path().join("restored.db");
            let target = target.to_str().unwrap();
            let code = code(&[
                "repo", "restore", "--repo", &repo, "--keys", &keys, "--to", target,
            ]);
            let left: Vec<_> = fs::read_dir(tmpfs.path()).unwrap().collect();
            assert!(left.is_empty(), "a full disk left {left:?}");
            code
        }
        "a restore target that exists, without `--overwrite`" => code(&[
            "repo",
            "restore",
            "--repo",
            &repo,
            "--keys",
            &keys,
            "--to",
            &fx.arg("chats.db"),
        ]),
        "a recovery key of another keyring" => {
            fx.create_keys("other");
            fx.add_recovery("other", "other.txt");
            code(&[
                "repo",
                "snapshots",
                "--repo",
                &repo,
                "--recovery-key-file",
                &fx.arg("other.txt"),
            ])
        }
        "an unknown `--snapshot` id" => {
            let unknown = "00".repeat(16);
            code(&[
                "repo",
                "restore",
                "--repo",
                &repo,
                "--keys",
                &keys,
                "--to",
                &fx.arg("x.db"),
                "--snapshot",
                &unknown,
            ])
        }
        "`repo check` finds a snapshot that cannot be restored" => {
            let copy = fx.path("lost-repo");
            copy_dir(&fx.path("repo"), &copy);
            let pack = fs::read_dir(copy.join("data"))
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            fs::remove_file(pack).unwrap();
            code(&[
                "repo",
                "check",
                "--repo",
                &fx.arg("lost-repo"),
                "--keys",
                &keys,
            ])
        }
        "`repo unlock` without `--force` while a live writer holds the lock" => {
            let repository = open_here(fx);
            let _writer = repository
                .begin_snapshot(None, &WriterOptions::default())
                .unwrap();
            code(&["repo", "unlock", "--repo", &repo, "--keys", &keys])
        }
        "`repo prune --keep-last 0` without `--forget-all`" => code(&[
            "repo",
            "prune",
            "--repo",
            &repo,
            "--keys",
            &keys,
            "--keep-last",
            "0",
        ]),
        other => panic!("docs/CLI.md lists a situation this test does not run: {other}"),
    })
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// The repository opened in this (live) process with the keys directory.
fn open_here(fx: &Fixture) -> Repository {
    let root: [u8; 32] = fs::read(fx.path("keys/root.key"))
        .unwrap()
        .try_into()
        .unwrap();
    let public = fs::read(fx.path("keys/keyring.pub")).unwrap();
    let keyring = Keyring::from_parts(RootKey::from_bytes(root), &public).unwrap();
    let store = Arc::new(DirStore::open(&fx.path("repo")).unwrap());
    Repository::open(store, &Secret::Keyring(&keyring)).unwrap()
}

#[test]
fn every_documented_situation_exits_with_its_documented_code() {
    let table = documented();
    assert!(table.len() >= 12, "{table:?}");
    let fx = with_repository();
    for (situation, expected) in &table {
        match run(situation, &fx) {
            Some(got) => assert_eq!(got, *expected, "{situation}"),
            None => eprintln!("skipping here (cannot set it up, not root?): {situation}"),
        }
    }
}
