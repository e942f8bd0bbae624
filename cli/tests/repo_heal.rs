//! Issue 19 on the command line: `repo check` reads everything by default, lists every problem
//! with a verdict and exits 0 for healthy or healed and with the first loss's code for broken;
//! `repo backup` says what it healed; `repo snapshots` lists damaged snapshot objects and the
//! sequence; `repo restore` says which snapshot it took; `repo repair` previews then applies;
//! `repo unlock` refuses a live lock without `--force`; `repo prune` refuses to forget
//! everything without `--forget-all`; `repo init` refuses a non-empty directory.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod common;

use std::{fs, path::Path, sync::Arc};

use common::{count_rows, expect_error, json_run, keepsake, Fixture};
use keepsake_core::{
    backup::Secret,
    crypto::RootKey,
    keyring::Keyring,
    repo::{DirStore, Repository, WriterOptions},
};
use serde_json::Value;

const MESSAGES: u64 = 2_000;

/// `chats.db`, keys with a recovery key, and a repository `repo` with one snapshot of it.
fn with_repository() -> Fixture {
    let fx = Fixture::empty();
    fx.seed("chats.db", MESSAGES);
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
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
    repo_backup(&fx, 0);
    fx
}

fn repo_backup(fx: &Fixture, code: i32) -> Value {
    json_run(
        &[
            "repo",
            "backup",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            "--cache",
            &fx.arg("cache"),
            &fx.arg("chats.db"),
        ],
        code,
    )
}

/// `repo <command> --repo repo --keys keys <extra>` with `--json`, expecting `code`.
fn repo(fx: &Fixture, command: &str, extra: &[&str], code: i32) -> Value {
    let mut args = vec!["repo", command];
    let (repo, keys) = (fx.arg("repo"), fx.arg("keys"));
    args.extend(["--repo", &repo, "--keys", &keys]);
    args.extend(extra);
    json_run(&args, code)
}

/// The same as text: (exit code, stdout, stderr).
fn repo_text(fx: &Fixture, command: &str, extra: &[&str]) -> (i32, String, String) {
    let output = keepsake()
        .args([
            "repo",
            command,
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn objects(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

fn restore_latest(fx: &Fixture, to: &str) -> Value {
    repo(fx, "restore", &["--to", &fx.arg(to)], 0)
}

#[test]
fn check_reads_all_data_by_default_and_structure_only_on_request() {
    let fx = with_repository();
    let full = repo(&fx, "check", &[], 0);
    assert_eq!(full["verdict"], "healthy", "{full}");
    assert_eq!(full["problems"], serde_json::json!([]), "{full}");
    assert_eq!(full["read_data_percent"], 100.0, "{full}");
    assert!(full["packs"].as_u64().unwrap() > 0, "{full}");
    assert_eq!(full["packs_read"], full["packs"], "{full}");
    assert_eq!(full["chunks_authenticated"], full["chunks"], "{full}");
    let structure = repo(&fx, "check", &["--read-data-subset", "0"], 0);
    assert_eq!(structure["packs_read"], 0, "{structure}");
    let some = repo(&fx, "check", &["--read-data-subset", "50%"], 0);
    assert_eq!(some["read_data_percent"], 50.0, "{some}");
    expect_error(
        &[
            "repo",
            "check",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            "--read-data-subset",
            "150",
        ],
        2,
        "usage",
    );
    let (code, text, _) = repo_text(&fx, "check", &[]);
    assert_eq!(code, 0);
    assert!(text.contains("Verdict: healthy"), "{text}");
}

#[test]
fn a_lost_pack_is_broken_until_the_next_backup_heals_it_and_says_so() {
    let fx = with_repository();
    let lost = objects(&fx.path("repo").join("data")).remove(0);
    fs::remove_file(&lost).unwrap();
    let lost_name = format!("data/{}", lost.file_name().unwrap().to_string_lossy());

    // Broken: the whole report (one JSON document), then the first loss's exit code.
    let broken = repo(&fx, "check", &[], 12);
    assert_eq!(broken["verdict"], "broken", "{broken}");
    let problems = broken["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["kind"] == "lost_pack" && p["object"] == *lost_name),
        "{broken}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["loss"] == true && p["kind"] == "unrestorable_snapshot"),
        "{broken}"
    );
    let (code, text, stderr) = repo_text(&fx, "check", &[]);
    assert_eq!(code, 12, "{text}{stderr}");
    assert!(
        text.contains("Verdict: broken") && text.contains(&lost_name),
        "{text}"
    );
    assert!(stderr.contains("the repository is broken"), "{stderr}");

    // The next backup uploads what the lost pack held, and says so.
    let healed = repo_backup(&fx, 0);
    assert_eq!(healed["healing"]["packs_lost"], 1, "{healed}");
    assert_eq!(healed["healing"]["found_damage"], true, "{healed}");
    assert_eq!(healed["healing"]["store_rolled_back"], false, "{healed}");
    let restored = restore_latest(&fx, "restored.db");
    assert_eq!(restored["damaged_snapshots_passed_over"], 0, "{restored}");
    assert_eq!(count_rows(&fx.path("restored.db"), "messages"), MESSAGES);

    let check = repo(&fx, "check", &[], 0);
    assert_eq!(check["verdict"], "healed", "{check}");
    let (code, text, _) = repo_text(&fx, "check", &[]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Verdict: healed") && text.contains("repo prune"),
        "{text}"
    );
    // The index names the lost pack until a prune rewrites it (each backup meanwhile says so
    // again; repair has nothing to do for it); after it a check is healthy and a backup has
    // nothing to heal.
    assert_eq!(repo(&fx, "repair", &[], 0)["nothing_to_repair"], true);
    repo(&fx, "prune", &["--keep-last", "10"], 0);
    assert_eq!(repo(&fx, "check", &[], 0)["verdict"], "healthy");
    let (code, text, _) = repo_text(
        &fx,
        "backup",
        &["--cache", &fx.arg("cache"), &fx.arg("chats.db")],
    );
    assert_eq!(code, 0);
    assert!(!text.contains("Healed"), "{text}");
}

#[test]
fn a_backup_over_a_lost_pack_prints_what_it_healed() {
    let fx = with_repository();
    fs::remove_file(objects(&fx.path("repo").join("data")).remove(0)).unwrap();
    let (code, text, _) = repo_text(
        &fx,
        "backup",
        &["--cache", &fx.arg("cache"), &fx.arg("chats.db")],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Healed:") && text.contains("1 pack(s) lost"),
        "{text}"
    );
}

#[test]
fn a_damaged_snapshot_is_listed_restore_says_which_it_took_and_repair_removes_it() {
    let fx = with_repository();
    json_run(
        &[
            "seed",
            &fx.arg("chats.db"),
            "--day",
            "realistic",
            "--seed",
            "3",
        ],
        0,
    );
    let newest = repo_backup(&fx, 0)["snapshot"].as_str().unwrap().to_owned();
    let object = fx.path("repo").join("snapshots").join(&newest);
    let mut bytes = fs::read(&object).unwrap();
    bytes[20] ^= 0x04;
    fs::write(&object, bytes).unwrap();

    let listed = repo(&fx, "snapshots", &[], 0);
    let snapshots = listed["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "{listed}");
    assert_eq!(snapshots[0]["sequence"], 1, "{listed}");
    let damaged = listed["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{listed}");
    assert_eq!(damaged[0]["id"], *newest, "{listed}");
    assert_eq!(
        damaged[0]["object"],
        format!("snapshots/{newest}"),
        "{listed}"
    );
    let (_, text, _) = repo_text(&fx, "snapshots", &[]);
    assert!(
        text.contains("#1") && text.contains("DAMAGED") && text.contains(&newest),
        "{text}"
    );

    // The restore takes the newest intact snapshot and says so.
    let restored = restore_latest(&fx, "restored.db");
    assert_eq!(restored["snapshot"], "latest", "{restored}");
    assert_eq!(restored["snapshot_id"], snapshots[0]["id"], "{restored}");
    assert_eq!(restored["damaged_snapshots_passed_over"], 1, "{restored}");
    assert_eq!(count_rows(&fx.path("restored.db"), "messages"), MESSAGES);
    let (_, text, _) = repo_text(&fx, "restore", &["--to", &fx.arg("again.db")]);
    assert!(
        text.contains("1 damaged snapshot object(s) passed over"),
        "{text}"
    );
    repo(&fx, "check", &["--read-data-subset", "0"], 12);

    // Repair: a dry run first, then --apply.
    let preview = repo(&fx, "repair", &[], 0);
    assert_eq!(preview["applied"], false, "{preview}");
    assert_eq!(
        preview["snapshots_removed"][0]["snapshot"],
        format!("snapshots/{newest}"),
        "{preview}"
    );
    assert!(object.exists(), "a dry run changes nothing");
    let (_, text, _) = repo_text(&fx, "repair", &[]);
    assert!(
        text.contains("Dry run") && text.contains("--apply"),
        "{text}"
    );
    let applied = repo(&fx, "repair", &["--apply"], 0);
    assert_eq!(applied["applied"], true, "{applied}");
    assert!(!object.exists());
    assert_eq!(
        repo(&fx, "snapshots", &[], 0)["damaged"],
        serde_json::json!([])
    );
    repo(&fx, "check", &[], 0);
    assert_eq!(repo(&fx, "repair", &[], 0)["nothing_to_repair"], true);
}

/// Opens the repository in this (live) process with the keys directory and takes its lock,
/// as a backup running here would.
fn hold_lock(fx: &Fixture) -> Repository {
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
fn unlock_refuses_a_live_lock_without_force_and_removes_junk() {
    let fx = with_repository();
    assert_eq!(
        repo(&fx, "unlock", &[], 0)["removed"],
        serde_json::json!([])
    );
    fs::create_dir_all(fx.path("repo/locks")).unwrap();
    fs::write(fx.path("repo/locks/junk"), b"not a lock").unwrap();
    let junk = repo(&fx, "unlock", &[], 0);
    assert_eq!(junk["junk"], serde_json::json!(["locks/junk"]), "{junk}");

    let repository = hold_lock(&fx);
    let writer = repository
        .begin_snapshot(None, &WriterOptions::default())
        .unwrap();
    let refused = expect_error(
        &[
            "repo",
            "unlock",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        21,
        "locked",
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("live") && message.contains("process"),
        "{message}"
    );
    expect_error(
        &[
            "repo",
            "backup",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            &fx.arg("chats.db"),
        ],
        21,
        "locked",
    );
    let forced = repo(&fx, "unlock", &["--force"], 0);
    assert_eq!(forced["removed"].as_array().unwrap().len(), 1, "{forced}");
    drop(writer);
    repo_backup(&fx, 0);
}

#[test]
fn prune_forgets_everything_only_with_forget_all_and_a_dry_run_changes_nothing() {
    let fx = with_repository();
    let refused = expect_error(
        &[
            "repo",
            "prune",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            "--keep-last",
            "0",
        ],
        2,
        "usage",
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--forget-all"),
        "{refused}"
    );
    let dry = repo(
        &fx,
        "prune",
        &["--keep-last", "0", "--forget-all", "--dry-run"],
        0,
    );
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(dry["snapshots_removed"], 1, "{dry}");
    assert_eq!(
        repo(&fx, "snapshots", &[], 0)["snapshots"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, text, _) = repo_text(&fx, "prune", &["--forget-all", "--dry-run"]);
    assert!(text.contains("Dry run"), "{text}");
    let done = repo(&fx, "prune", &["--forget-all"], 0);
    assert_eq!(
        (done["dry_run"].clone(), done["snapshots_removed"].clone()),
        (false.into(), 1.into()),
        "{done}"
    );
    assert_eq!(
        repo(&fx, "snapshots", &[], 0)["snapshots"],
        serde_json::json!([])
    );
}

#[test]
fn init_refuses_a_directory_that_is_not_empty() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    fs::create_dir(fx.path("photos")).unwrap();
    fs::write(fx.path("photos/beach.jpg"), b"jpeg").unwrap();
    let refused = expect_error(
        &[
            "repo",
            "init",
            "--repo",
            &fx.arg("photos"),
            "--keys",
            &fx.arg("keys"),
        ],
        2,
        "usage",
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not empty"),
        "{refused}"
    );
    assert!(!fx.path("photos/config").exists());
    fs::create_dir(fx.path("empty")).unwrap();
    json_run(
        &[
            "repo",
            "init",
            "--repo",
            &fx.arg("empty"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
}

#[test]
fn a_backup_over_a_store_that_lost_the_newest_snapshot_warns_of_a_rollback() {
    let fx = with_repository();
    json_run(
        &[
            "seed",
            &fx.arg("chats.db"),
            "--day",
            "realistic",
            "--seed",
            "5",
        ],
        0,
    );
    let newest = repo_backup(&fx, 0)["snapshot"].as_str().unwrap().to_owned();
    fs::remove_file(fx.path("repo").join("snapshots").join(&newest)).unwrap();
    let output = keepsake()
        .args([
            "--json",
            "repo",
            "backup",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ])
        .args(["--cache", &fx.arg("cache"), &fx.arg("chats.db")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["healing"]["store_rolled_back"], true, "{report}");
    assert_eq!(report["healing"]["found_damage"], true, "{report}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("warning: the repository lacks the newest snapshot"),
        "{stderr}"
    );
    // The new snapshot is whole.
    restore_latest(&fx, "restored.db");
    assert_eq!(
        count_rows(&fx.path("restored.db"), "messages"),
        MESSAGES + MESSAGES / 100
    );
}
