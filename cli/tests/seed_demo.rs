//! `keepsake seed`, `keepsake demo`, usage errors, and Ctrl-C during a long operation.

mod common;

use std::{
    fs,
    process::{Command as StdCommand, Stdio},
    thread,
    time::{Duration, Instant},
};

use common::{count_rows, expect_error, json_run, keepsake, Fixture};
use predicates::prelude::*;

#[test]
fn seed_creates_the_requested_number_of_messages() {
    let fx = Fixture::empty();
    let doc = fx.seed("chats.db", 1_234);
    assert_eq!(doc["counts"]["messages"], 1_234, "{doc}");
    assert_eq!(count_rows(&fx.path("chats.db"), "messages"), 1_234);
    let size = fs::metadata(fx.path("chats.db")).unwrap().len();
    assert_eq!(doc["bytes"], size, "{doc}");
    assert_eq!(fx.files(), ["chats.db"], "no temporary file is left");
}

#[test]
fn the_same_seed_gives_the_same_counts() {
    let fx = Fixture::empty();
    let a = json_run(
        &["seed", &fx.arg("a.db"), "--messages", "500", "--seed", "9"],
        0,
    );
    let b = json_run(
        &["seed", &fx.arg("b.db"), "--messages", "500", "--seed", "9"],
        0,
    );
    assert_eq!(a["counts"], b["counts"]);
}

#[test]
fn seed_refuses_an_existing_database() {
    let fx = Fixture::empty();
    fs::write(fx.path("chats.db"), b"precious").unwrap();
    expect_error(
        &["seed", &fx.arg("chats.db"), "--messages", "10"],
        18,
        "target_exists",
    );
    assert_eq!(fs::read(fx.path("chats.db")).unwrap(), b"precious");
}

#[test]
fn demo_runs_the_whole_flow_and_compares_every_row() {
    let fx = Fixture::empty();
    let doc = json_run(
        &[
            "demo",
            "--messages",
            "3000",
            "--media-bytes",
            "1000000",
            "--dir",
            &fx.arg("demo"),
        ],
        0,
    );
    assert_eq!(doc["seed"]["counts"]["messages"], 3000, "{doc}");
    assert_eq!(doc["restore"]["unlocked_with"], "passkey", "{doc}");
    assert_eq!(doc["verify"]["unlocked_with"], "recovery_key", "{doc}");
    let kinds: Vec<_> = doc["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recovery_key", "passkey"], "{doc}");
    let compared = doc["compared"]["rows"].as_u64().unwrap();
    assert!(compared >= 3000, "{doc}");
    assert_eq!(count_rows(&fx.path("demo/restored.db"), "messages"), 3000);
    assert!(fx.path("demo/chats.keepsake").is_file());
}

#[test]
fn demo_backs_up_into_a_repository_daily_and_restores_a_new_device_with_the_passkey() {
    let fx = Fixture::empty();
    let doc = json_run(
        &[
            "demo",
            "--messages",
            "3000",
            "--media-bytes",
            "2000000",
            "--dir",
            &fx.arg("demo"),
        ],
        0,
    );
    let repo = &doc["repository"];
    let first = &repo["first_backup"];
    assert!(
        first["media"]["files_stored"].as_u64().unwrap() > 0,
        "{doc}"
    );
    // A day of use: new messages, and a daily backup that uploads a small share of the
    // repository and reads no unchanged media file.
    let new_messages = repo["day"]["new_messages"].as_u64().unwrap();
    assert!(new_messages > 0, "{doc}");
    let daily = repo["daily_backup"]["bytes_uploaded"].as_u64().unwrap();
    let total = repo["repository_bytes"].as_u64().unwrap();
    assert!(daily > 0 && daily * 20 < total, "{doc}");
    assert_eq!(repo["daily_backup"]["media"]["files_read"], 0, "{doc}");
    assert!(
        repo["daily_backup"]["requests"]["total"].as_u64().unwrap() > 0,
        "{doc}"
    );
    // The new device: the passkey alone, chats first, then every media file.
    let new_device = &repo["new_device"];
    assert_eq!(new_device["unlocked_with"], "passkey", "{doc}");
    assert_eq!(
        new_device["media"]["lost"].as_array().unwrap().len(),
        0,
        "{doc}"
    );
    assert!(repo["chats_seconds"].as_f64().unwrap() <= new_device["seconds"].as_f64().unwrap());
    assert_eq!(
        count_rows(&fx.path("demo/new-device.db"), "messages"),
        3000 + new_messages
    );
    assert!(repo["compared"]["rows"].as_u64().unwrap() >= 3000 + new_messages);
    let media_files = repo["media_compared"]["files"].as_u64().unwrap();
    assert!(media_files > 0, "{doc}");
    assert_eq!(
        repo["media_compared"]["bytes"], new_device["media"]["bytes_restored"],
        "{doc}"
    );
}

#[test]
fn demo_prints_a_readable_summary() {
    keepsake()
        .args(["demo", "--messages", "500", "--media-bytes", "1000000"])
        .assert()
        .success()
        .stdout(predicate::str::contains("every row came back identical"))
        .stdout(predicate::str::contains("daily backup"))
        .stdout(predicate::str::contains("new device     passkey only"))
        .stdout(predicate::str::contains("passkey"));
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    keepsake()
        .args(["backup", "--no-such-flag"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-such-flag"));
}

#[test]
fn a_usage_error_is_also_reported_as_json() {
    let doc = json_run(&["seed", "--no-such-flag"], 2);
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");
    assert_eq!(doc["error"]["exit_code"], 2, "{doc}");
}

#[test]
fn secrets_are_not_accepted_as_arguments() {
    keepsake()
        .args(["verify", "x.keepsake", "--recovery-key", "ABCD"])
        .assert()
        .code(2);
}

/// Ctrl-C (SIGINT) while a backup runs: exit code 17 and no backup file, partial or temporary.
#[cfg(unix)]
#[test]
fn ctrl_c_cancels_a_backup_and_leaves_nothing() {
    let fx = Fixture::empty();
    fx.seed("big.db", 100_000);
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt"); // a backup needs a slot
    let before = fx.files();
    let binary = assert_cmd::cargo::cargo_bin("keepsake");
    let mut child = StdCommand::new(binary)
        .args([
            "backup",
            "--keys",
            &fx.arg("keys"),
            &fx.arg("big.db"),
            "--out",
            &fx.arg("big.keepsake"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the backup has started writing (its temporary file appears), then interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    let writing = || {
        fx.files()
            .iter()
            .any(|name| name.starts_with(".big.keepsake."))
    };
    while !writing() {
        assert!(Instant::now() < deadline, "the backup never started");
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        thread::sleep(Duration::from_millis(5));
    }
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(17));
    assert_eq!(fx.files(), before, "nothing partial is left");
}
