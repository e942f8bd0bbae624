//! `keepsake seed`, `keepsake demo`, usage errors, and Ctrl-C during a long operation.

mod common;

use std::fs;

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
fn an_unknown_flag_is_a_usage_error() {
    keepsake()
        .args(["seed", "--no-such-flag"])
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
        .args([
            "keys",
            "add-recovery",
            "--keys",
            "k",
            "--recovery-key",
            "ABCD",
        ])
        .assert()
        .code(2);
}
