//! The remote stores through the fault-injecting proxy (`keepsake-tools`) in front of moto's
//! S3 server: throttling with Retry-After is waited out, an upload reset mid-body is retried
//! and never leaves a partial object, a stalled download is cut by the I/O timeout and
//! retried. Needs the servers of `scripts/remote-servers.sh` (`scripts/test-remote.sh`).
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::{net::SocketAddr, time::Duration};

use keepsake_core::{repo::BlobStore, StorageErrorKind};
use keepsake_remote::{open, open_raw, Location, StoreOptions};
use keepsake_tools::{config::Config, proxy};

fn upstream() -> SocketAddr {
    let endpoint = std::env::var("KEEPSAKE_TEST_S3_ENDPOINT")
        .expect("KEEPSAKE_TEST_S3_ENDPOINT is not set: run scripts/test-remote.sh");
    endpoint.trim_start_matches("http://").parse().unwrap()
}

/// A store over a proxy with `faults`, under a fresh prefix of the `faults` bucket.
fn through(faults: Config, options: &StoreOptions, retries: bool) -> std::sync::Arc<dyn BlobStore> {
    let addr = proxy::spawn(Config {
        upstream: upstream(),
        ..faults
    })
    .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let location = Location::parse(&format!("s3:http://{addr}/faults/f{nanos:x}")).unwrap();
    if retries {
        open(&location, options).unwrap()
    } else {
        open_raw(&location, options).unwrap()
    }
}

fn options() -> StoreOptions {
    let mut options = StoreOptions::from_env();
    options.retry.base_delay = Duration::from_millis(20);
    options.retry.attempts = 8;
    options
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn throttling_is_typed_with_its_retry_after_and_waited_out() {
    let throttled = Config {
        throttle_rate: 1.0,
        throttle_status: 429,
        retry_after_seconds: 1,
        ..Config::default()
    };
    let raw = through(throttled, &options(), false);
    let err = raw.put("data/aa", b"x").unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(1))
        }),
        "{err}"
    );
    // Half the requests throttled (503 + Retry-After): every call still succeeds, and the
    // pauses asked for were honoured.
    let half = Config {
        throttle_rate: 0.5,
        throttle_status: 503,
        retry_after_seconds: 1,
        seed: 3,
        ..Config::default()
    };
    let store = through(half, &options(), true);
    let started = std::time::Instant::now();
    for i in 0..6 {
        store.put(&format!("data/{i:02}"), &[i; 1000]).unwrap();
        assert_eq!(store.get(&format!("data/{i:02}"), None).unwrap(), [i; 1000]);
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "no pause was waited"
    );
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn an_upload_reset_mid_body_is_retried_and_never_leaves_part_of_an_object() {
    let resets = Config {
        reset_put_rate: 1.0,
        ..Config::default()
    };
    let mut options = options();
    options.retry.attempts = 2;
    let always = through(resets, &options, true);
    let pack = vec![7u8; 4 << 20];
    let err = always.put("data/pack", &pack).unwrap_err();
    assert_eq!(
        err.storage_kind(),
        Some(StorageErrorKind::Transient),
        "{err}"
    );
    // Nothing of the cut uploads is visible.
    assert_eq!(always.stat("data/pack").unwrap(), None);
    assert!(always.list("data/").unwrap().is_empty());

    let some = Config {
        reset_put_rate: 0.5,
        seed: 5,
        ..Config::default()
    };
    let store = through(some, &self::options(), true);
    for i in 0..6u8 {
        let pack = vec![i; 2 << 20];
        store.put(&format!("data/{i:02}"), &pack).unwrap();
        assert_eq!(store.get(&format!("data/{i:02}"), None).unwrap(), pack);
    }
}

#[test]
#[ignore = "needs the servers of scripts/remote-servers.sh (scripts/test-remote.sh)"]
fn a_stalled_download_is_cut_by_the_io_timeout_and_retried() {
    let stalls = Config {
        stall_get_rate: 0.5,
        stall: Duration::from_secs(20),
        seed: 9,
        ..Config::default()
    };
    let mut options = options();
    options.io_timeout = Duration::from_secs(1);
    let store = through(stalls, &options, true);
    let data = vec![3u8; 1 << 20];
    store.put("data/big", &data).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..4 {
        assert_eq!(store.get("data/big", None).unwrap(), data);
    }
    // Each stall costs about the I/O timeout, not the stall's 20 s.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
