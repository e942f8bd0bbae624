//! Retries of failed blob store calls: one policy for every store, the app's own (through the
//! FFI) and the remote ones (S3, WebDAV), so a phone's flaky link and a throttling cloud are met
//! the same way everywhere.
//!
//! [`RetryingStore`] wraps a store and retries a call that failed with a
//! [`StorageErrorKind::Transient`] or [`StorageErrorKind::Throttled`] error, after a jittered,
//! exponentially growing wait (equal jitter: half of the step fixed, half random, so many clients
//! cut off at once do not return in lockstep); a throttled call waits at least as long as the
//! service asked (`Retry-After`). Quota, authorization and other failures, missing objects and
//! invalid names are returned at once: waiting cannot fix them.
//!
//! Every call the engine makes is safe to repeat: `put` replaces, `delete` of a missing object
//! succeeds, reads change nothing. `create` is the exception: when a create's answer was lost
//! after the service stored the object, the retry finds the name taken. The wrapper then reads
//! the object back and reports it as created when it holds exactly the bytes it sent.
//! [`BlobStore::sync`] is not retried: a failed sync leaves its batch in a state only the
//! store knows, and the engine's next run uploads again whatever is missing.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::store::{BlobStore, ByteRange, ObjectInfo};
use crate::{crypto::random_bytes, Error, Result, StorageErrorKind};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (1: no retry).
    pub attempts: u32,
    /// The first wait's upper bound; each further wait doubles it, up to `max_delay`.
    pub base_delay: Duration,
    /// The longest wait between two attempts that the backoff chooses.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured: a service asking for a longer pause fails the call
    /// with its `Throttled` error, so the app can schedule the work for later instead of
    /// holding a background task open.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts over about half a minute of backoff: enough to ride out a dropped
    /// connection or a throttling burst, short enough for a phone's background task.
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(15),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry) after `kind`, or None when
    /// the call must not be retried.
    fn wait(&self, retry: u32, kind: StorageErrorKind) -> Option<Duration> {
        let step = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let backoff = step / 2 + jitter(step / 2);
        match kind {
            StorageErrorKind::Transient | StorageErrorKind::Throttled { retry_after: None } => {
                Some(backoff)
            }
            StorageErrorKind::Throttled {
                retry_after: Some(asked),
            } if asked <= self.max_retry_after => Some(asked + jitter(asked / 10) + backoff / 4),
            _ => None,
        }
    }
}

/// A random duration in `0..=max` (none when the OS has no randomness to give).
fn jitter(max: Duration) -> Duration {
    let Ok(bytes) = random_bytes::<4>() else {
        return Duration::ZERO;
    };
    let unit = f64::from(u32::from_be_bytes(bytes)) / f64::from(u32::MAX);
    max.mul_f64(unit)
}

/// A store whose failed calls are retried by a [`RetryPolicy`].
pub struct RetryingStore {
    inner: Arc<dyn BlobStore>,
    policy: RetryPolicy,
    retries: AtomicU64,
}

impl RetryingStore {
    /// Wraps `inner` with `policy`.
    pub fn new(inner: Arc<dyn BlobStore>, policy: RetryPolicy) -> RetryingStore {
        RetryingStore {
            inner,
            policy,
            retries: AtomicU64::new(0),
        }
    }

    /// Retries made so far (for reports and tests).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Runs `call` until it succeeds, fails for good, or the attempts are spent. `on_retry`
    /// is told that an attempt failed retryably before the next one starts.
    fn run<T>(
        &self,
        op: &str,
        name: &str,
        mut on_retry: impl FnMut(),
        mut call: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let err = match call() {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let Some(kind) = err.storage_kind() else {
                return Err(err);
            };
            if retry + 1 >= self.policy.attempts {
                return Err(err);
            }
            let Some(wait) = self.policy.wait(retry, kind) else {
                return Err(err);
            };
            log::warn!(
                "blob store {op} of {name} failed ({kind}); attempt {} of {} in {} ms \
                 ({} ms since the first)",
                retry + 2,
                self.policy.attempts,
                wait.as_millis(),
                started.elapsed().as_millis()
            );
            on_retry();
            self.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(wait);
            retry += 1;
        }
    }
}

impl BlobStore for RetryingStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        self.run("put", name, || {}, || self.inner.put(name, data))
    }

    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        self.run("get", name, || {}, || self.inner.get(name, range))
    }

    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        let failed_before = std::cell::Cell::new(false);
        self.run(
            "create",
            name,
            || failed_before.set(true),
            || match self.inner.create(name, data)? {
                true => Ok(true),
                // An earlier attempt may have stored the object and lost the answer: then the
                // object holds our bytes. Another creator's object is a different lock body
                // (its own random nonce), so equal bytes are ours.
                false if failed_before.get() => match self.inner.get(name, None) {
                    Ok(stored) => Ok(stored == data),
                    Err(Error::ObjectMissing { .. }) => Ok(false),
                    Err(err) => Err(err),
                },
                false => Ok(false),
            },
        )
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.run("list", prefix, || {}, || self.inner.list(prefix))
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.run("delete", name, || {}, || self.inner.delete(name))
    }

    fn stat(&self, name: &str) -> Result<Option<u64>> {
        self.run("stat", name, || {}, || self.inner.stat(name))
    }

    fn put_batched(&self, name: &str, data: &[u8]) -> Result<()> {
        self.run("put", name, || {}, || self.inner.put_batched(name, data))
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::VecDeque, sync::Mutex};

    use super::*;
    use crate::repo::{storage_error_of, MemStore};

    /// A store that fails the next calls with the queued kinds, then passes them on; it can
    /// also store a create's object and still fail the call (a lost answer).
    struct Flaky {
        inner: MemStore,
        failures: Mutex<VecDeque<StorageErrorKind>>,
        calls: AtomicU64,
        lose_create_answer: Mutex<bool>,
    }

    impl Flaky {
        fn new(failures: &[StorageErrorKind]) -> Arc<Flaky> {
            Arc::new(Flaky {
                inner: MemStore::new(),
                failures: Mutex::new(failures.iter().copied().collect()),
                calls: AtomicU64::new(0),
                lose_create_answer: Mutex::new(false),
            })
        }

        fn enter(&self, op: &str, name: &str) -> Result<()> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match self.failures.lock().unwrap().pop_front() {
                Some(kind) => Err(storage_error_of(kind, op, name, "injected")),
                None => Ok(()),
            }
        }
    }

    impl BlobStore for Flaky {
        fn put(&self, name: &str, data: &[u8]) -> Result<()> {
            self.enter("put", name)?;
            self.inner.put(name, data)
        }
        fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
            self.enter("get", name)?;
            self.inner.get(name, range)
        }
        fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
            if std::mem::take(&mut *self.lose_create_answer.lock().unwrap()) {
                self.inner.create(name, data)?;
                return Err(storage_error_of(
                    StorageErrorKind::Transient,
                    "create",
                    name,
                    "connection reset after the upload",
                ));
            }
            self.enter("create", name)?;
            self.inner.create(name, data)
        }
        fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
            self.enter("list", prefix)?;
            self.inner.list(prefix)
        }
        fn delete(&self, name: &str) -> Result<()> {
            self.enter("delete", name)?;
            self.inner.delete(name)
        }
        fn stat(&self, name: &str) -> Result<Option<u64>> {
            self.enter("stat", name)?;
            self.inner.stat(name)
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(1),
        }
    }

    #[test]
    fn transient_and_throttled_failures_are_retried_until_the_call_succeeds() {
        let flaky = Flaky::new(&[
            StorageErrorKind::Transient,
            StorageErrorKind::Throttled { retry_after: None },
            StorageErrorKind::Transient,
        ]);
        let store = RetryingStore::new(flaky.clone(), quick());
        store.put("data/aa", b"pack").unwrap();
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 4);
        assert_eq!(store.retries(), 3);
        assert_eq!(store.get("data/aa", None).unwrap(), b"pack");
    }

    #[test]
    fn retries_stop_after_the_policy_s_attempts() {
        let flaky = Flaky::new(&[StorageErrorKind::Transient; 10]);
        let store = RetryingStore::new(flaky.clone(), quick());
        let err = store.list("data/").unwrap_err();
        assert_eq!(err.storage_kind(), Some(StorageErrorKind::Transient));
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn quota_authorization_other_and_missing_objects_are_not_retried() {
        for kind in [
            StorageErrorKind::QuotaExceeded,
            StorageErrorKind::Unauthorized,
            StorageErrorKind::Other,
        ] {
            let flaky = Flaky::new(&[kind]);
            let store = RetryingStore::new(flaky.clone(), quick());
            assert_eq!(
                store.put("data/aa", b"x").unwrap_err().storage_kind(),
                Some(kind)
            );
            assert_eq!(flaky.calls.load(Ordering::SeqCst), 1, "{kind}");
        }
        let flaky = Flaky::new(&[]);
        let store = RetryingStore::new(flaky.clone(), quick());
        assert!(matches!(
            store.get("data/zz", None),
            Err(Error::ObjectMissing { .. })
        ));
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_throttled_call_waits_as_long_as_the_service_asked() {
        let asked = Duration::from_millis(300);
        let flaky = Flaky::new(&[StorageErrorKind::Throttled {
            retry_after: Some(asked),
        }]);
        let store = RetryingStore::new(flaky.clone(), quick());
        let started = Instant::now();
        store.stat("data/aa").unwrap();
        assert!(started.elapsed() >= asked, "{:?}", started.elapsed());
        // A pause beyond the policy's limit is the caller's to schedule.
        let flaky = Flaky::new(&[StorageErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(3600)),
        }]);
        let store = RetryingStore::new(flaky.clone(), quick());
        let started = Instant::now();
        let err = store.stat("data/aa").unwrap_err();
        assert!(matches!(
            err.storage_kind(),
            Some(StorageErrorKind::Throttled { retry_after: Some(d) }) if d.as_secs() == 3600
        ));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_create_whose_answer_was_lost_is_recognised_as_ours() {
        let flaky = Flaky::new(&[]);
        *flaky.lose_create_answer.lock().unwrap() = true;
        let store = RetryingStore::new(flaky.clone(), quick());
        assert!(store.create("locks/aa", b"mine").unwrap());
        // Someone else's object under the name stays taken, also after a lost answer.
        flaky.inner.put("locks/bb", b"theirs").unwrap();
        *flaky.lose_create_answer.lock().unwrap() = true;
        assert!(!store.create("locks/bb", b"mine").unwrap());
        assert!(!store.create("locks/aa", b"mine").unwrap());
    }

    #[test]
    fn backoff_grows_with_jitter_up_to_its_ceiling() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_retry_after: Duration::from_secs(5),
        };
        let transient = StorageErrorKind::Transient;
        for (retry, step) in [(0, 100), (1, 200), (2, 400), (3, 800), (9, 800)] {
            let waits: Vec<_> = (0..20)
                .map(|_| policy.wait(retry, transient).unwrap())
                .collect();
            let step = Duration::from_millis(step);
            assert!(waits.iter().all(|w| *w >= step / 2 && *w <= step));
            assert!(waits.iter().any(|w| *w != waits[0]), "no jitter");
        }
        assert_eq!(policy.wait(0, StorageErrorKind::Unauthorized), None);
    }
}
