//! `keepsake backup`, `inspect`, `verify` and `restore`: happy paths with every kind of secret,
//! and the documented exit codes for wrong keys, typos, missing, tampered and truncated files.

mod common;

use std::fs;

use common::{
    count_rows, expect_error, expect_error_with_stdin, flip_byte, json_run, json_run_with_stdin,
    keepsake, truncate_copy, Fixture,
};

const MESSAGES: u64 = 2_000;

#[test]
fn backup_reports_what_it_wrote() {
    let fx = Fixture::empty();
    fx.seed("chats.db", MESSAGES);
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    let doc = fx.backup("keys", "chats.db", "chats.keepsake");
    assert_eq!(doc["kind"], "chat_archive", "{doc}");
    assert_eq!(doc["counts"]["messages"], MESSAGES, "{doc}");
    let size = fs::metadata(fx.path("chats.keepsake")).unwrap().len();
    assert_eq!(doc["bytes"], size, "{doc}");
    assert_eq!(doc["slots"], 1, "{doc}");
}

#[test]
fn backup_refuses_an_existing_output_unless_asked() {
    let fx = Fixture::with_backup(MESSAGES);
    let before = fs::read(fx.path("chats.keepsake")).unwrap();
    let args = [
        "backup",
        "--keys",
        &fx.arg("keys"),
        &fx.arg("chats.db"),
        "--out",
        &fx.arg("chats.keepsake"),
    ];
    expect_error(&args, 18, "target_exists");
    assert_eq!(fs::read(fx.path("chats.keepsake")).unwrap(), before);
    let mut overwrite = args.to_vec();
    overwrite.push("--overwrite");
    json_run(&overwrite, 0);
    assert_ne!(fs::read(fx.path("chats.keepsake")).unwrap(), before);
}

#[test]
fn backup_of_a_missing_database_is_an_io_error_and_leaves_nothing() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    expect_error(
        &[
            "backup",
            "--keys",
            &fx.arg("keys"),
            &fx.arg("missing.db"),
            "--out",
            &fx.arg("out.keepsake"),
        ],
        15,
        "io",
    );
    assert_eq!(fx.files(), ["keys"]);
}

#[test]
fn inspect_shows_the_public_header_without_a_secret() {
    let fx = Fixture::with_backup(MESSAGES);
    let doc = json_run(&["inspect", &fx.arg("chats.keepsake")], 0);
    assert_eq!(doc["kind"], "chat_archive", "{doc}");
    let kinds: Vec<_> = doc["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recovery_key", "passkey"], "{doc}");
    assert!(doc["version"].as_u64().is_some(), "{doc}");
    assert!(doc["metadata"].is_object(), "{doc}");
}

#[test]
fn inspect_of_a_missing_file_is_an_io_error() {
    let fx = Fixture::empty();
    expect_error(&["inspect", &fx.arg("nothing.keepsake")], 15, "io");
}

#[test]
fn inspect_of_a_file_that_is_not_a_backup_is_refused() {
    let fx = Fixture::empty();
    fs::write(fx.path("notes.txt"), "just some text, not a backup at all").unwrap();
    let doc = json_run(&["inspect", &fx.arg("notes.txt")], 12);
    assert_eq!(doc["error"]["kind"], "corrupted", "{doc}");
}

#[test]
fn verify_accepts_each_kind_of_secret() {
    let fx = Fixture::with_backup(MESSAGES);
    let backup = fx.arg("chats.keepsake");
    let by_file = json_run(
        &[
            "verify",
            &backup,
            "--recovery-key-file",
            &fx.arg("recovery.txt"),
        ],
        0,
    );
    assert_eq!(by_file["unlocked_with"], "recovery_key", "{by_file}");
    assert_eq!(by_file["counts"]["messages"], MESSAGES, "{by_file}");

    let key = fs::read_to_string(fx.path("recovery.txt")).unwrap();
    let by_stdin = json_run_with_stdin(&["verify", &backup, "--recovery-key-stdin"], 0, Some(&key));
    assert_eq!(by_stdin["unlocked_with"], "recovery_key");

    let by_passkey = json_run(
        &["verify", &backup, "--passkey", &fx.arg("phone.passkey")],
        0,
    );
    assert_eq!(by_passkey["unlocked_with"], "passkey");

    let by_root = json_run(&["verify", &backup, "--keys", &fx.arg("keys")], 0);
    assert_eq!(by_root["unlocked_with"], "root_key");
}

#[test]
fn a_recovery_key_is_accepted_in_any_case_and_grouping() {
    let fx = Fixture::with_backup(MESSAGES);
    let key = fs::read_to_string(fx.path("recovery.txt")).unwrap();
    let sloppy: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    json_run_with_stdin(
        &["verify", &fx.arg("chats.keepsake"), "--recovery-key-stdin"],
        0,
        Some(&sloppy),
    );
}

#[test]
fn a_recovery_key_of_another_keyring_is_a_wrong_key() {
    let fx = Fixture::with_backup(MESSAGES);
    fx.create_keys("other");
    fx.add_recovery("other", "other.txt");
    expect_error(
        &[
            "verify",
            &fx.arg("chats.keepsake"),
            "--recovery-key-file",
            &fx.arg("other.txt"),
        ],
        10,
        "wrong_key",
    );
}

#[test]
fn a_mistyped_recovery_key_is_a_typo_not_a_wrong_key() {
    let fx = Fixture::with_backup(MESSAGES);
    let key = fs::read_to_string(fx.path("recovery.txt")).unwrap();
    let mut chars: Vec<char> = key.trim().chars().collect();
    let swap_at = chars
        .windows(2)
        .position(|pair| pair[0] != pair[1] && pair.iter().all(|c| c.is_alphanumeric()))
        .unwrap();
    chars.swap(swap_at, swap_at + 1);
    let typo: String = chars.into_iter().collect();
    expect_error_with_stdin(
        &["verify", &fx.arg("chats.keepsake"), "--recovery-key-stdin"],
        11,
        "recovery_key_typo",
        Some(&typo),
    );
}

#[test]
fn a_passkey_not_enrolled_in_the_backup_has_no_slot() {
    let fx = Fixture::with_backup(MESSAGES);
    fx.create_keys("other");
    fx.add_passkey("other", "stranger.passkey");
    expect_error(
        &[
            "verify",
            &fx.arg("chats.keepsake"),
            "--passkey",
            &fx.arg("stranger.passkey"),
        ],
        16,
        "passkey",
    );
}

#[test]
fn without_a_secret_or_a_terminal_the_command_asks_for_one() {
    let fx = Fixture::with_backup(MESSAGES);
    expect_error(&["verify", &fx.arg("chats.keepsake")], 2, "usage");
}

#[test]
fn two_secrets_at_once_are_a_usage_error() {
    let fx = Fixture::with_backup(MESSAGES);
    keepsake()
        .args([
            "verify",
            &fx.arg("chats.keepsake"),
            "--recovery-key-stdin",
            "--keys",
            &fx.arg("keys"),
        ])
        .assert()
        .code(2);
}

#[test]
fn a_tampered_backup_is_corrupted_and_restores_nothing() {
    let fx = Fixture::with_backup(MESSAGES);
    let size = fs::metadata(fx.path("chats.keepsake")).unwrap().len() as usize;
    flip_byte(
        &fx.path("chats.keepsake"),
        &fx.path("tampered.keepsake"),
        size / 2,
    );
    let verify = [
        "verify",
        &fx.arg("tampered.keepsake"),
        "--recovery-key-file",
        &fx.arg("recovery.txt"),
    ];
    expect_error(&verify, 12, "corrupted");
    let before = fx.files();
    expect_error(
        &[
            "restore",
            &fx.arg("tampered.keepsake"),
            "--to",
            &fx.arg("restored.db"),
            "--passkey",
            &fx.arg("phone.passkey"),
        ],
        12,
        "corrupted",
    );
    assert_eq!(fx.files(), before, "no partial or temporary file is left");
}

#[test]
fn a_truncated_backup_is_reported_as_truncated() {
    let fx = Fixture::with_backup(MESSAGES);
    let size = fs::metadata(fx.path("chats.keepsake")).unwrap().len() as usize;
    truncate_copy(
        &fx.path("chats.keepsake"),
        &fx.path("cut.keepsake"),
        size / 2,
    );
    expect_error(
        &[
            "verify",
            &fx.arg("cut.keepsake"),
            "--recovery-key-file",
            &fx.arg("recovery.txt"),
        ],
        13,
        "truncated",
    );
    let before = fx.files();
    expect_error(
        &[
            "restore",
            &fx.arg("cut.keepsake"),
            "--to",
            &fx.arg("restored.db"),
            "--keys",
            &fx.arg("keys"),
        ],
        13,
        "truncated",
    );
    assert_eq!(fx.files(), before);
}

#[test]
fn restore_brings_back_every_message() {
    let fx = Fixture::with_backup(MESSAGES);
    let doc = json_run(
        &[
            "restore",
            &fx.arg("chats.keepsake"),
            "--to",
            &fx.arg("restored.db"),
            "--passkey",
            &fx.arg("phone.passkey"),
        ],
        0,
    );
    assert_eq!(doc["kind"], "chat_archive", "{doc}");
    assert_eq!(doc["unlocked_with"], "passkey", "{doc}");
    assert_eq!(doc["counts"]["messages"], MESSAGES, "{doc}");
    assert_eq!(count_rows(&fx.path("restored.db"), "messages"), MESSAGES);
}

#[test]
fn restore_refuses_an_existing_target_unless_asked() {
    let fx = Fixture::with_backup(MESSAGES);
    fx.seed("other.db", 10);
    let args = [
        "restore",
        &fx.arg("chats.keepsake"),
        "--to",
        &fx.arg("other.db"),
        "--recovery-key-file",
        &fx.arg("recovery.txt"),
    ];
    expect_error(&args, 18, "target_exists");
    assert_eq!(count_rows(&fx.path("other.db"), "messages"), 10);
    let mut overwrite = args.to_vec();
    overwrite.push("--overwrite");
    json_run(&overwrite, 0);
    assert_eq!(count_rows(&fx.path("other.db"), "messages"), MESSAGES);
}

#[test]
fn restore_with_a_wrong_key_touches_nothing() {
    let fx = Fixture::with_backup(MESSAGES);
    fx.create_keys("other");
    let before = fx.files();
    expect_error(
        &[
            "restore",
            &fx.arg("chats.keepsake"),
            "--to",
            &fx.arg("restored.db"),
            "--keys",
            &fx.arg("other"),
        ],
        10,
        "wrong_key",
    );
    assert_eq!(fx.files(), before);
}

#[test]
fn any_sqlite_file_round_trips_as_a_snapshot() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    {
        let conn = rusqlite::Connection::open(fx.path("app.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('first'), ('second'), ('third');",
        )
        .unwrap();
    }
    let doc = json_run(
        &[
            "backup",
            "--snapshot",
            "--keys",
            &fx.arg("keys"),
            &fx.arg("app.sqlite"),
            "--out",
            &fx.arg("app.keepsake"),
        ],
        0,
    );
    assert_eq!(doc["kind"], "sqlite_snapshot", "{doc}");
    let inspect = json_run(&["inspect", &fx.arg("app.keepsake")], 0);
    assert_eq!(inspect["kind"], "sqlite_snapshot", "{inspect}");
    let restored = json_run(
        &[
            "restore",
            &fx.arg("app.keepsake"),
            "--to",
            &fx.arg("copy.sqlite"),
            "--recovery-key-file",
            &fx.arg("recovery.txt"),
        ],
        0,
    );
    assert_eq!(restored["kind"], "sqlite_snapshot", "{restored}");
    let conn = rusqlite::Connection::open(fx.path("copy.sqlite")).unwrap();
    let bodies: Vec<String> = conn
        .prepare("SELECT body FROM notes ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(bodies, ["first", "second", "third"]);
}

#[test]
fn a_backup_from_a_newer_format_version_is_unsupported() {
    use keepsake_core::format::{FORMAT_VERSION, MAGIC};
    let fx = Fixture::with_backup(MESSAGES);
    let mut bytes = fs::read(fx.path("chats.keepsake")).unwrap();
    let newer = (FORMAT_VERSION + 1).to_be_bytes();
    bytes[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&newer);
    fs::write(fx.path("future.keepsake"), bytes).unwrap();
    expect_error(
        &["inspect", &fx.arg("future.keepsake")],
        14,
        "unsupported_version",
    );
    expect_error(
        &[
            "verify",
            &fx.arg("future.keepsake"),
            "--recovery-key-file",
            &fx.arg("recovery.txt"),
        ],
        14,
        "unsupported_version",
    );
}

#[test]
fn another_apps_database_needs_snapshot_mode_and_is_left_unchanged() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    {
        let conn = rusqlite::Connection::open(fx.path("app.sqlite")).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
            .unwrap();
    }
    let before = fs::read(fx.path("app.sqlite")).unwrap();
    expect_error(
        &[
            "backup",
            "--keys",
            &fx.arg("keys"),
            &fx.arg("app.sqlite"),
            "--out",
            &fx.arg("app.keepsake"),
        ],
        2,
        "usage",
    );
    assert_eq!(fs::read(fx.path("app.sqlite")).unwrap(), before);
    assert!(!fx.path("app.keepsake").exists());
}

#[test]
fn a_removed_passkey_cannot_open_later_backups_but_still_opens_earlier_ones() {
    let fx = Fixture::with_backup(MESSAGES);
    let list = json_run(&["keys", "list", "--keys", &fx.arg("keys")], 0);
    let passkey_slot = list["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|slot| slot["kind"] == "passkey")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    json_run(
        &["keys", "remove", "--keys", &fx.arg("keys"), &passkey_slot],
        0,
    );
    fx.backup("keys", "chats.db", "later.keepsake");
    let inspect = json_run(&["inspect", &fx.arg("later.keepsake")], 0);
    assert_eq!(inspect["slots"].as_array().unwrap().len(), 1, "{inspect}");
    expect_error(
        &[
            "verify",
            &fx.arg("later.keepsake"),
            "--passkey",
            &fx.arg("phone.passkey"),
        ],
        16,
        "passkey",
    );
    json_run(
        &[
            "verify",
            &fx.arg("chats.keepsake"),
            "--passkey",
            &fx.arg("phone.passkey"),
        ],
        0,
    );
}

#[test]
fn missing_backups_and_secret_files_are_io_errors() {
    let fx = Fixture::with_backup(MESSAGES);
    expect_error(
        &[
            "verify",
            &fx.arg("gone.keepsake"),
            "--recovery-key-file",
            &fx.arg("recovery.txt"),
        ],
        15,
        "io",
    );
    expect_error(
        &[
            "restore",
            &fx.arg("gone.keepsake"),
            "--to",
            &fx.arg("restored.db"),
            "--keys",
            &fx.arg("keys"),
        ],
        15,
        "io",
    );
    expect_error(
        &[
            "verify",
            &fx.arg("chats.keepsake"),
            "--recovery-key-file",
            &fx.arg("no-such-recovery.txt"),
        ],
        15,
        "io",
    );
    expect_error(
        &[
            "verify",
            &fx.arg("chats.keepsake"),
            "--passkey",
            &fx.arg("no-such.passkey"),
        ],
        15,
        "io",
    );
    assert!(!fx.path("restored.db").exists());
}
