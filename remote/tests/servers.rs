//! The remote stores against real servers: the store conformance suite over moto's S3 server
//! and apache2's mod_dav, and their typed failures. The servers are started by
//! `scripts/remote-servers.sh` (`scripts/test-remote.sh` starts them, runs these with
//! `--include-ignored`, and stops them); without them these tests are ignored.
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::time::Duration;

use keepsake_core::{repo::conformance, Error, StorageErrorKind};
use keepsake_remote::{open, open_raw, Location, Secret, StoreOptions};

const NEEDS_SERVERS: &str =
    "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)";

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set: run scripts/test-remote.sh"))
}

fn fresh_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t{nanos:x}")
}

fn s3() -> Location {
    Location::parse(&format!(
        "s3:{}/keepsake/{}",
        env("KEEPSAKE_TEST_S3_ENDPOINT"),
        fresh_prefix()
    ))
    .unwrap()
}

fn webdav() -> Location {
    Location::parse(&format!(
        "webdav:{}/{}",
        env("KEEPSAKE_TEST_WEBDAV_URL"),
        fresh_prefix()
    ))
    .unwrap()
}

fn options() -> StoreOptions {
    let mut options = StoreOptions::from_env();
    options.retry.base_delay = Duration::from_millis(50);
    options
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn the_s3_store_conforms() {
    let store = open(&s3(), &options()).unwrap();
    let passed = conformance::run(store.as_ref(), &conformance::ConformanceOptions::default())
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(passed.len(), 9, "{NEEDS_SERVERS}");
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn the_webdav_store_conforms() {
    let store = open(&webdav(), &options()).unwrap();
    // Apache's mod_dav_fs evaluates If-None-Match, then writes, without a lock between:
    // sequential creates are conditional, simultaneous ones may both win (docs/STORES.md).
    let options = conformance::ConformanceOptions {
        atomic_create: false,
        ..conformance::ConformanceOptions::default()
    };
    let passed =
        conformance::run(store.as_ref(), &options).unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(passed.len(), 9);
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn a_wrong_webdav_password_is_unauthorized_and_not_retried() {
    let mut options = options();
    options.credentials.webdav_password = Some(Secret::new("not-the-password".into()));
    let store = open(&webdav(), &options).unwrap();
    let started = std::time::Instant::now();
    for err in [
        store.put("config", b"x").unwrap_err(),
        store.list("data/").unwrap_err(),
        store.create("locks/aa", b"x").unwrap_err(),
    ] {
        assert_eq!(
            err.storage_kind(),
            Some(StorageErrorKind::Unauthorized),
            "{err}"
        );
        assert!(!err.to_string().contains("not-the-password"), "{err}");
    }
    // Not retried: no backoff was slept.
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn a_missing_bucket_is_a_typed_error() {
    let location = Location::parse(&format!(
        "s3:{}/no-such-bucket/x",
        env("KEEPSAKE_TEST_S3_ENDPOINT")
    ))
    .unwrap();
    let store = open_raw(&location, &options()).unwrap();
    let err = store.put("config", b"x").unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err}");
    assert!(err.to_string().contains("put of config"), "{err}");
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn a_server_that_is_gone_is_transient_and_retried() {
    // A port nothing listens on: connection refused, a transient failure.
    let location = Location::parse("s3:http://127.0.0.1:9/keepsake/x").unwrap();
    let mut options = options();
    options.retry.attempts = 3;
    options.retry.base_delay = Duration::from_millis(100);
    let store = open(&location, &options).unwrap();
    let started = std::time::Instant::now();
    let err = store.get("config", None).unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Transient),
        "{err}"
    );
    // Two backoff waits of at least half their step: 50 + 100 ms.
    assert!(started.elapsed() >= Duration::from_millis(150));
}
