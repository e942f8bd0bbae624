//! `keepsake repo ...` and `keepsake seed --day`: the incremental journey (init, backup, a day
//! of change, a small second backup, snapshots, restore with each kind of secret, prune, check)
//! and the documented exit codes for a missing repository, wrong keys, damage and bad arguments.

mod common;

use std::{fs, path::Path};

use common::{count_rows, expect_error, expect_error_with_stdin, json_run, Fixture};

const MESSAGES: u64 = 3_000;

/// A directory with `chats.db`, keys with a recovery key and a passkey, and a repository
/// `repo` holding one snapshot of it.
fn with_repository() -> Fixture {
    let fx = Fixture::empty();
    fx.seed("chats.db", MESSAGES);
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    fx.add_passkey("keys", "phone.passkey");
    let doc = json_run(
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
    assert_eq!(doc["slots"], 2, "{doc}");
    assert_eq!(doc["id"].as_str().map(str::len), Some(32), "{doc}");
    repo_backup(&fx);
    fx
}

fn repo_backup(fx: &Fixture) -> serde_json::Value {
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
        0,
    )
}

fn snapshot_ids(fx: &Fixture) -> Vec<String> {
    let doc = json_run(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
    assert_eq!(doc["unlocked_with"], "root_key", "{doc}");
    doc["snapshots"]
        .as_array()
        .expect("a snapshot list")
        .iter()
        .map(|s| s["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .expect("readable")
        .map(|entry| {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dir_bytes(&path)
            } else {
                fs::metadata(&path).expect("a file").len()
            }
        })
        .sum()
}

#[test]
fn a_day_of_change_is_backed_up_small_and_every_snapshot_restores() {
    let fx = with_repository();
    let full = dir_bytes(&fx.path("repo"));
    let day = json_run(
        &[
            "seed",
            &fx.arg("chats.db"),
            "--day",
            "realistic",
            "--seed",
            "7",
        ],
        0,
    );
    assert_eq!(day["new_messages"], MESSAGES / 100, "{day}");
    assert_eq!(
        day["counts"]["messages"],
        MESSAGES + MESSAGES / 100,
        "{day}"
    );

    let second = repo_backup(&fx);
    assert_eq!(second["counts"]["messages"], MESSAGES + 30, "{second}");
    let uploaded = second["bytes_uploaded"].as_u64().unwrap();
    // A day's change is one chat pack (padded to a multiple of 64 KiB, REPOSITORY.md §5), one
    // index and one snapshot object (each padded to 4 KiB here): a floor of about 72 KB that
    // this small fixture's full backup is only three times larger than.
    assert!(
        uploaded < 64 * 1024 + 4 * 4096,
        "uploaded {uploaded} of {full}: {second}"
    );
    assert!(
        uploaded * 2 < full,
        "uploaded {uploaded} of {full}: {second}"
    );
    assert!(
        second["new_chunks"].as_u64() < second["chunks"].as_u64(),
        "{second}"
    );
    let ids = snapshot_ids(&fx);
    assert_eq!(ids.len(), 2);

    // A new device: the recovery key restores the latest, the passkey the first one.
    let latest = json_run(
        &[
            "repo",
            "restore",
            "--repo",
            &fx.arg("repo"),
            "--to",
            &fx.arg("latest.db"),
            "--recovery-key-file",
            &fx.arg("recovery.txt"),
        ],
        0,
    );
    assert_eq!(latest["unlocked_with"], "recovery_key", "{latest}");
    assert_eq!(latest["snapshot"], "latest", "{latest}");
    assert_eq!(count_rows(&fx.path("latest.db"), "messages"), MESSAGES + 30);
    let first = json_run(
        &[
            "repo",
            "restore",
            "--repo",
            &fx.arg("repo"),
            "--to",
            &fx.arg("first.db"),
            "--snapshot",
            &ids[0],
            "--passkey",
            &fx.arg("phone.passkey"),
        ],
        0,
    );
    assert_eq!(first["unlocked_with"], "passkey", "{first}");
    assert_eq!(count_rows(&fx.path("first.db"), "messages"), MESSAGES);

    let pruned = json_run(
        &[
            "repo",
            "prune",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            "--keep-last",
            "1",
        ],
        0,
    );
    assert_eq!(pruned["snapshots_removed"], 1, "{pruned}");
    assert_eq!(snapshot_ids(&fx), [ids[1].clone()]);
    let checked = json_run(
        &[
            "repo",
            "check",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
    assert_eq!(checked["verdict"], "healthy", "{checked}");
    assert_eq!(checked["snapshots"], 1, "{checked}");
    assert!(
        checked["chunks_authenticated"].as_u64().unwrap() > 0,
        "{checked}"
    );
}

#[test]
fn no_repository_wrong_keys_and_existing_targets_have_their_codes() {
    let fx = with_repository();
    // An empty directory holds no repository.
    fs::create_dir(fx.path("empty")).unwrap();
    expect_error(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("empty"),
            "--keys",
            &fx.arg("keys"),
        ],
        19,
        "object_missing",
    );
    // A missing directory holds no repository either, and is not created by a read.
    expect_error(
        &[
            "repo",
            "check",
            "--repo",
            &fx.arg("nowhere"),
            "--keys",
            &fx.arg("keys"),
        ],
        19,
        "object_missing",
    );
    assert!(!fx.path("nowhere").exists());
    // A second init over a repository is refused.
    expect_error(
        &[
            "repo",
            "init",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        2,
        "usage",
    );
    // Another keyring's recovery key and root key open nothing.
    fx.create_keys("other");
    fx.add_recovery("other", "other.txt");
    let other_key = fs::read_to_string(fx.path("other.txt")).unwrap();
    expect_error_with_stdin(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--recovery-key-stdin",
        ],
        10,
        "wrong_key",
        Some(&other_key),
    );
    expect_error(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("other"),
        ],
        10,
        "wrong_key",
    );
    // A typo in the recovery key is told apart from a wrong key.
    let key = fs::read_to_string(fx.path("recovery.txt")).unwrap();
    let mut chars: Vec<char> = key.trim().chars().collect();
    let swap_at = chars
        .windows(2)
        .position(|pair| pair[0] != pair[1] && pair.iter().all(|c| c.is_alphanumeric()))
        .unwrap();
    chars.swap(swap_at, swap_at + 1);
    let typo: String = chars.into_iter().collect();
    expect_error_with_stdin(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--recovery-key-stdin",
        ],
        11,
        "recovery_key_typo",
        Some(&typo),
    );
    // Restore never replaces a file unless asked, and names snapshots strictly.
    fs::write(fx.path("taken.db"), b"keep me").unwrap();
    let restore = |to: &str, extra: &[&str]| {
        let mut args = vec![
            "repo".to_owned(),
            "restore".to_owned(),
            "--repo".to_owned(),
            fx.arg("repo"),
            "--keys".to_owned(),
            fx.arg("keys"),
            "--to".to_owned(),
            fx.arg(to),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let args = restore("taken.db", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_error(&args, 18, "target_exists");
    assert_eq!(fs::read(fx.path("taken.db")).unwrap(), b"keep me");
    let args = restore("new.db", &["--snapshot", "0123"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_error(&args, 2, "usage");
    let unknown = "00".repeat(16);
    let args = restore("new.db", &["--snapshot", &unknown]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_error(&args, 19, "object_missing");
    assert!(!fx.path("new.db").exists());
    // Prune needs a policy; check a fraction between 0 and 1.
    expect_error(
        &[
            "repo",
            "prune",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        2,
        "usage",
    );
    expect_error(
        &[
            "repo",
            "check",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            "--read-data-subset",
            "200",
        ],
        2,
        "usage",
    );
}

#[test]
fn damage_stops_a_restore_without_leaving_a_file_and_check_reports_it() {
    let fx = with_repository();
    let data = fx.path("repo").join("data");
    // The largest pack, inside its first chunk (a small last pack may end in padding there).
    let pack = fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .expect("a pack");
    let mut bytes = fs::read(&pack).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&pack, bytes).unwrap();
    expect_error(
        &[
            "repo",
            "restore",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
            "--to",
            &fx.arg("restored.db"),
        ],
        12,
        "corrupted",
    );
    assert!(!fx
        .files()
        .iter()
        .any(|name| name.starts_with("restored") || name.contains(".tmp")));
    // Check prints its whole report, then exits with the first loss's code.
    let report = json_run(
        &[
            "repo",
            "check",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        12,
    );
    assert_eq!(report["verdict"], "broken", "{report}");
}

#[test]
fn text_output_reads_naturally() {
    let fx = with_repository();
    let output = common::keepsake()
        .args([
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("1 snapshot(s)"), "{text}");
    assert!(text.contains("3,000 messages"), "{text}");
    assert!(
        output.stderr.is_empty(),
        "no bars when stderr is not a terminal"
    );
}

#[test]
fn a_day_of_change_needs_an_existing_database() {
    let fx = Fixture::empty();
    expect_error(
        &["seed", &fx.arg("missing.db"), "--day", "stress"],
        15,
        "io",
    );
    assert!(fx.files().is_empty());
    // The same seed gives the same day.
    fx.seed("a.db", 1_000);
    fx.seed("b.db", 1_000);
    let a = json_run(
        &["seed", &fx.arg("a.db"), "--day", "stress", "--seed", "3"],
        0,
    );
    let b = json_run(
        &["seed", &fx.arg("b.db"), "--day", "stress", "--seed", "3"],
        0,
    );
    assert_eq!(a["edited"], 1, "{a}");
    assert_eq!(a["new_messages"], b["new_messages"]);
    assert_eq!(a["counts"], b["counts"]);
}

/// The label `keys add-recovery` gives by default.
const RECOVERY_LABEL: &str = "recovery key";

/// The id of the first slot labelled `label`.
fn slot_id_of(fx: &Fixture, label: &str) -> String {
    let doc = json_run(&["keys", "list", "--keys", &fx.arg("keys")], 0);
    doc["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .find(|slot| slot["label"] == label)
        .and_then(|slot| slot["id"].as_str())
        .unwrap_or_else(|| panic!("no slot {label} in {doc}"))
        .to_owned()
}

fn snapshots_with_recovery(fx: &Fixture, key: &str, code: i32, kind: &str) {
    let args = [
        "repo",
        "snapshots",
        "--repo",
        &fx.arg("repo"),
        "--recovery-key-stdin",
    ];
    if code == 0 {
        common::json_run_with_stdin(&args, 0, Some(key));
    } else {
        expect_error_with_stdin(&args, code, kind, Some(key));
    }
}

#[test]
fn a_revocation_carries_into_the_repository_and_a_repository_left_behind_catches_up() {
    let fx = with_repository();
    fx.add_recovery("keys", "second.txt");
    let first = fs::read_to_string(fx.path("recovery.txt")).unwrap();
    let second = fs::read_to_string(fx.path("second.txt")).unwrap();
    // The daily backup carries the added slot into the repository's config.
    repo_backup(&fx);
    snapshots_with_recovery(&fx, &second, 0, "");

    // Revoke the first recovery key, carrying the repository through the rotation.
    let first_id = slot_id_of(&fx, RECOVERY_LABEL);
    let doc = json_run(
        &[
            "keys",
            "remove",
            "--keys",
            &fx.arg("keys"),
            "--repo",
            &fx.arg("repo"),
            &first_id,
        ],
        0,
    );
    assert_eq!(doc["generation"], 2, "{doc}");
    snapshots_with_recovery(&fx, &first, 10, "wrong_key");
    snapshots_with_recovery(&fx, &second, 0, "");
    repo_backup(&fx);

    // A rotation that leaves the repository behind: the keys no longer open it (the message
    // says why); the remaining recovery key brings it up to the keys.
    json_run(&["keys", "rotate", "--keys", &fx.arg("keys")], 0);
    let refused = expect_error(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        10,
        "wrong_key",
    );
    assert!(refused.to_string().contains("generation"), "{refused}");
    let adopted = common::json_run_with_stdin(
        &[
            "repo",
            "adopt-keys",
            "--repo",
            &fx.arg("repo"),
            "--recovery-key-stdin",
            "--to-keys",
            &fx.arg("keys"),
        ],
        0,
        Some(&second),
    );
    assert_eq!(adopted["change"], "rotated", "{adopted}");
    assert_eq!(adopted["epoch"], 2, "{adopted}");
    repo_backup(&fx);
    assert_eq!(snapshot_ids(&fx).len(), 4);
}
