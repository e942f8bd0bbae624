//! One writer at a time: the lock object `locks/writer` (sealed-object envelope, kind lock),
//! held while a backup, prune, repair or key change writes to the repository.
//!
//! Lock content: `holder (16) || nonce (16) || u32 pid || u64 created || u64 refreshed
//! || u8 host length || host (UTF-8)`. The holder is the device's id (kept in its cache
//! directory; on a computer without one, derived from the machine id), the nonce this run's,
//! the times the holder's clock in unix seconds.
//!
//! Taking it: [`BlobStore::create`](super::BlobStore::create) the object, which never replaces
//! one (atomically where the store can), then read it back and check the nonce is ours. A lock
//! already there is removed only when it is *stale*:
//! - its holder is this device and its process is not running (a run killed with `kill -9`:
//!   detected at once; on systems without `/proc` any other process of this device counts as
//!   dead, since one process per device writes at a time);
//! - or it has not been refreshed for [`STALE`]: by this device's own observation when it has a
//!   cache (the same lock seen unchanged that long ago), otherwise by the lock's timestamp, so a
//!   holder whose clock is wrong is not locked out or broken into by it;
//! - or it cannot be read at all (junk, or sealed below the epoch floor): reported and removed.
//!
//! A holder refreshes its lock every [`REFRESH`] on a timer, and re-checks that the lock is
//! still its own before every commit point ([`Lock::verify`]): a writer suspended long enough
//! for another to break its lock finds out before it writes a snapshot, and stops with
//! [`Error::RepositoryLocked`]. Readers (restore, check, snapshots) take no lock. Locks named
//! `locks/<32 hex>` (format 1) are honoured the same way. Two devices: `docs/REPOSITORY.md`
//! §8.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{
    cache::Cache,
    codec::Reader,
    keys::KeySet,
    object::{self, Kind},
    BlobStore, Repository, LOCK_PREFIX,
};
use crate::{crypto::random_bytes, Error, Result};

/// The lock object's name.
pub const LOCK_NAME: &str = "locks/writer";
/// How often a long operation refreshes its lock.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);
/// A lock not refreshed for this long is stale.
pub const STALE: Duration = Duration::from_secs(30 * 60);
/// A lock whose own timestamp is this old is stale whatever this device observed.
const CLOCK_TRUST: Duration = Duration::from_secs(24 * 60 * 60);
/// How often the refresher thread wakes up to see whether a refresh is due.
const TICK: Duration = Duration::from_secs(10);
/// Largest lock object accepted.
const MAX_LOCK_LEN: usize = 1024;
/// Longest host name kept.
const MAX_HOST_LEN: usize = 64;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a lock object says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockBody {
    /// The holding device.
    pub holder: [u8; 16],
    /// The holding run (format 2 locks; zeros in format 1).
    pub nonce: [u8; 16],
    /// The holding process.
    pub pid: u32,
    /// When it was taken, by the holder's clock.
    pub created: u64,
    /// When it was last refreshed, by the holder's clock.
    pub refreshed: u64,
    /// The holder's host name, for messages (may be empty).
    pub host: String,
}

impl LockBody {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let host = self.host.as_bytes();
        let host = host.get(..host.len().min(MAX_HOST_LEN)).unwrap_or_default();
        let mut out = Vec::with_capacity(16 + 16 + 4 + 8 + 8 + 1 + host.len());
        out.extend_from_slice(&self.holder);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.pid.to_be_bytes());
        out.extend_from_slice(&self.created.to_be_bytes());
        out.extend_from_slice(&self.refreshed.to_be_bytes());
        out.push(host.len() as u8);
        out.extend_from_slice(host);
        out
    }

    fn decode(content: &[u8], version: u8) -> Result<LockBody> {
        let mut r = Reader::new(content, "lock");
        let holder = r.array("holder")?;
        let nonce = if version >= object::VERSION_2 {
            r.array("nonce")?
        } else {
            [0; 16]
        };
        let pid = r.u32("pid")?;
        let created = r.u64("created")?;
        let refreshed = r.u64("refreshed")?;
        let host = if version >= object::VERSION_2 {
            let len = usize::from(r.u8("host length")?);
            String::from_utf8_lossy(r.take(len, "host")?).into_owned()
        } else {
            String::new()
        };
        r.finish()?;
        Ok(LockBody {
            holder,
            nonce,
            pid,
            created,
            refreshed,
            host,
        })
    }

    /// Who holds it, for an error message.
    pub fn describe(&self) -> String {
        let host = if self.host.is_empty() {
            format!("device {}", hex::encode(&self.holder[..4]))
        } else {
            format!("{} (device {})", self.host, hex::encode(&self.holder[..4]))
        };
        let age = now().saturating_sub(self.created);
        let refreshed = now().saturating_sub(self.refreshed);
        format!(
            "{host}, process {}, since {} s ago, refreshed {} s ago",
            self.pid, age, refreshed
        )
    }
}

/// Opens lock object `name` from its bytes.
pub fn decode_object(keys: &KeySet, name: &str, bytes: &[u8]) -> Result<LockBody> {
    object::open(keys, Kind::Lock, name, bytes, MAX_LOCK_LEN)
        .and_then(|opened| LockBody::decode(&opened.content, opened.version))
}

/// Reads lock object `name`: `None` when it is gone, `Some(Err)` when it cannot be read.
fn read(store: &dyn BlobStore, keys: &KeySet, name: &str) -> Result<Option<Result<LockBody>>> {
    let bytes = match store.get(name, None) {
        Ok(bytes) => bytes,
        Err(Error::ObjectMissing { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(Some(decode_object(keys, name, &bytes)))
}

/// Reads lock object `name` of `repo`: `None` when it is gone, `Some(Err)` when it cannot be
/// read (for `check`).
pub fn read_body(repo: &Repository, name: &str) -> Result<Option<Result<LockBody>>> {
    read(repo.store().as_ref(), repo.keys(), name)
}

fn process_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    proc_root.join("self").exists() && proc_root.join(pid.to_string()).exists()
}

/// This machine's name, for lock messages; empty where it cannot be read.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// This computer's device id when no cache directory gives one: derived from the machine id
/// and the user, so that every run of this user on this machine is recognised as the same
/// holder (and a killed one's lock is stale at once). Random where there is no machine id.
pub fn machine_holder() -> Result<[u8; 16]> {
    let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok());
    match machine {
        Some(id) => {
            let user = std::env::var("USER").unwrap_or_default();
            let hash = blake3::hash(
                [
                    b"keepsake/v2/lock-holder\0",
                    id.trim().as_bytes(),
                    b"\0",
                    user.as_bytes(),
                ]
                .concat()
                .as_slice(),
            );
            let mut out = [0u8; 16];
            out.copy_from_slice(&hash.as_bytes()[..16]);
            Ok(out)
        }
        None => random_bytes(),
    }
}

/// Why a lock may be removed, if it may.
fn stale_reason(
    body: &LockBody,
    holder: [u8; 16],
    my_pid: u32,
    cache: Option<&Cache>,
    name: &str,
) -> Option<String> {
    if body.holder == holder && body.pid != my_pid && !process_alive(body.pid) {
        return Some(format!(
            "its process {} on this device is not running",
            body.pid
        ));
    }
    let by_its_clock = now().saturating_sub(body.refreshed);
    let unrefreshed = match cache {
        // By our own clock: since when we have seen this very lock unchanged; its own
        // timestamp still counts once it is a day old (no clock is that wrong).
        Some(cache) => {
            let seen = cache.lock_seen_for(name, body.nonce, body.refreshed, now());
            if by_its_clock > CLOCK_TRUST.as_secs() {
                by_its_clock
            } else {
                seen
            }
        }
        None => by_its_clock,
    };
    (unrefreshed > STALE.as_secs()).then(|| format!("not refreshed for {unrefreshed} s"))
}

/// The message of a lock held by another writer.
fn locked(body: &LockBody, name: &str) -> Error {
    Error::RepositoryLocked {
        holder: format!(
            "{name} held by {}; if no backup or prune is running there, remove it with \
             `keepsake repo unlock` (or `Repository.unlock`), or wait until it is {} min old",
            body.describe(),
            STALE.as_secs() / 60
        ),
    }
}

/// A held lock; refreshed on a timer, released (deleted) on drop.
pub struct Lock<'r> {
    repo: &'r Repository,
    body: LockBody,
    lost: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl<'r> Lock<'r> {
    /// Takes the repository's lock as `holder` (a device id), or fails with
    /// [`Error::RepositoryLocked`] naming the holder and the way to break the lock.
    pub fn acquire(
        repo: &'r Repository,
        holder: [u8; 16],
        cache: Option<&Cache>,
    ) -> Result<Lock<'r>> {
        Lock::acquire_refreshing(repo, holder, cache, REFRESH, TICK)
    }

    /// [`acquire`](Self::acquire), refreshing every `every` (checked every `tick`).
    fn acquire_refreshing(
        repo: &'r Repository,
        holder: [u8; 16],
        cache: Option<&Cache>,
        every: Duration,
        tick: Duration,
    ) -> Result<Lock<'r>> {
        let store = repo.store().as_ref();
        let keys = repo.keys();
        let my_pid = std::process::id();
        sweep_format_1_locks(repo, holder, my_pid, cache)?;
        let t = now();
        let body = LockBody {
            holder,
            nonce: random_bytes()?,
            pid: my_pid,
            created: t,
            refreshed: t,
            host: host_name(),
        };
        let sealed = object::seal(keys.current(), Kind::Lock, LOCK_NAME, &body.encode())?;
        for _attempt in 0..3 {
            if store.create(LOCK_NAME, &sealed)? {
                let lock = Lock::holding(repo, body, every, tick);
                // A store without an atomic create may have let another writer overwrite us.
                lock.verify()?;
                return Ok(lock);
            }
            match read(store, keys, LOCK_NAME)? {
                None => continue, // released meanwhile
                Some(Err(err)) => {
                    log::warn!("lock object {LOCK_NAME} is unreadable and removed: {err}");
                    store.delete(LOCK_NAME)?;
                }
                Some(Ok(other)) => match stale_reason(&other, holder, my_pid, cache, LOCK_NAME) {
                    Some(reason) => {
                        log::warn!("removing a stale lock ({}): {reason}", other.describe());
                        remove_if_unchanged(store, keys, LOCK_NAME, &other)?;
                    }
                    None => return Err(locked(&other, LOCK_NAME)),
                },
            }
        }
        Err(Error::RepositoryLocked {
            holder: "other writers keep taking the lock; try again later".into(),
        })
    }

    fn holding(repo: &'r Repository, body: LockBody, every: Duration, tick: Duration) -> Lock<'r> {
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let store = repo.store().clone();
        let sealing = repo
            .keys()
            .current()
            .duplicate(&repo.id())
            .ok()
            .and_then(|current| KeySet::new(vec![current]).ok());
        let refresher = sealing.and_then(|keys| {
            let lost = lost.clone();
            let mut body = body.clone();
            std::thread::Builder::new()
                .name("keepsake-lock".into())
                .spawn(move || {
                    let mut last = std::time::Instant::now();
                    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                        if last.elapsed() < every {
                            continue;
                        }
                        if refresh(store.as_ref(), &keys, &mut body).is_err() {
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        last = std::time::Instant::now();
                    }
                })
                .ok()
        });
        Lock {
            repo,
            body,
            lost,
            stop: Some(stop),
            refresher,
        }
    }

    /// Checks that the lock is still this writer's: call before every commit point. A lock
    /// another writer broke (this one was suspended too long) is [`Error::RepositoryLocked`].
    pub fn verify(&self) -> Result<()> {
        let taken = || Error::RepositoryLocked {
            holder: "this writer's lock was removed by another writer while it ran (was the \
                     device asleep?); nothing was committed, run it again"
                .into(),
        };
        if self.lost.load(Ordering::SeqCst) {
            return Err(taken());
        }
        match read(self.repo.store().as_ref(), self.repo.keys(), LOCK_NAME)? {
            Some(Ok(body)) if body.nonce == self.body.nonce => Ok(()),
            Some(Ok(other)) => Err(locked(&other, LOCK_NAME)),
            _ => Err(taken()),
        }
    }
}

/// Rewrites our lock with the current time, if it is still ours.
fn refresh(store: &dyn BlobStore, keys: &KeySet, body: &mut LockBody) -> Result<()> {
    match read(store, keys, LOCK_NAME)? {
        Some(Ok(current)) if current.nonce == body.nonce => {}
        _ => {
            return Err(Error::RepositoryLocked {
                holder: "lock lost".into(),
            })
        }
    }
    body.refreshed = now();
    let sealed = object::seal(keys.current(), Kind::Lock, LOCK_NAME, &body.encode())?;
    store.put(LOCK_NAME, &sealed)
}

/// Deletes lock `name` if it still says `expected` (narrows the race with a writer that
/// replaced it meanwhile; the loser of any remaining race finds out in [`Lock::verify`]).
fn remove_if_unchanged(
    store: &dyn BlobStore,
    keys: &KeySet,
    name: &str,
    expected: &LockBody,
) -> Result<()> {
    match read(store, keys, name)? {
        Some(Ok(body)) if body == *expected => store.delete(name),
        _ => Ok(()),
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(refresher) = self.refresher.take() {
            let _ = refresher.join();
        }
        // Best effort, and only our own: a lock that cannot be deleted goes stale.
        let store = self.repo.store().as_ref();
        if let Ok(Some(Ok(body))) = read(store, self.repo.keys(), LOCK_NAME) {
            if body.nonce == self.body.nonce {
                let _ = store.delete(LOCK_NAME);
            }
        }
    }
}

/// Format 1 locks (`locks/<32 hex>`): a live one refuses, a stale one is removed, an
/// unreadable one (or any other object under `locks/`) is reported and ignored.
fn sweep_format_1_locks(
    repo: &Repository,
    holder: [u8; 16],
    my_pid: u32,
    cache: Option<&Cache>,
) -> Result<()> {
    let store = repo.store().as_ref();
    for name in store.list_names(LOCK_PREFIX)? {
        if name == LOCK_NAME {
            continue;
        }
        match read(store, repo.keys(), &name)? {
            None => {}
            Some(Err(err)) => log::warn!("ignoring {name} in locks/: {err}"),
            Some(Ok(body)) => match stale_reason(&body, holder, my_pid, cache, &name) {
                Some(_) => remove_if_unchanged(store, repo.keys(), &name, &body)?,
                None => return Err(locked(&body, &name)),
            },
        }
    }
    Ok(())
}

/// What [`Repository::unlock`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnlockReport {
    /// Locks removed, each described.
    pub removed: Vec<String>,
    /// Objects under `locks/` that were not locks (removed too).
    pub junk: Vec<String>,
}

/// Removes stale and unreadable locks, and live ones only when `force`: a live lock without
/// `force` is [`Error::RepositoryLocked`] with its description.
pub fn unlock(repo: &Repository, force: bool, cache: Option<&Cache>) -> Result<UnlockReport> {
    let store = repo.store().as_ref();
    let holder = machine_holder()?;
    let mut report = UnlockReport::default();
    for name in store.list_names(LOCK_PREFIX)? {
        match read(store, repo.keys(), &name)? {
            None => {}
            Some(Err(_)) => {
                store.delete(&name)?;
                report.junk.push(name);
            }
            Some(Ok(body)) => {
                let stale = stale_reason(&body, holder, std::process::id(), cache, &name);
                if stale.is_none() && !force {
                    return Err(Error::RepositoryLocked {
                        holder: format!(
                            "{name} is live: held by {}; pass force only if you know no \
                             backup or prune runs there",
                            body.describe()
                        ),
                    });
                }
                store.delete(&name)?;
                report.removed.push(format!("{name}: {}", body.describe()));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_bodies_round_trip_in_both_formats() {
        let body = LockBody {
            holder: [1; 16],
            nonce: [2; 16],
            pid: 42,
            created: 100,
            refreshed: 200,
            host: "laptop".into(),
        };
        assert_eq!(LockBody::decode(&body.encode(), 2).unwrap(), body);
        let mut v1 = Vec::new();
        v1.extend_from_slice(&[1; 16]);
        v1.extend_from_slice(&42u32.to_be_bytes());
        v1.extend_from_slice(&100u64.to_be_bytes());
        v1.extend_from_slice(&200u64.to_be_bytes());
        let old = LockBody::decode(&v1, 1).unwrap();
        assert_eq!((old.pid, old.nonce, old.host.as_str()), (42, [0; 16], ""));
    }

    #[test]
    fn a_dead_process_of_this_device_is_stale_at_once_and_an_old_lock_by_its_clock() {
        let mut body = LockBody {
            holder: [1; 16],
            nonce: [2; 16],
            pid: u32::MAX - 7,
            created: now(),
            refreshed: now(),
            host: String::new(),
        };
        assert!(stale_reason(&body, [1; 16], 1, None, LOCK_NAME).is_some());
        assert!(stale_reason(&body, [9; 16], 1, None, LOCK_NAME).is_none());
        body.refreshed = now() - STALE.as_secs() - 5;
        assert!(stale_reason(&body, [9; 16], 1, None, LOCK_NAME).is_some());
    }

    fn repository() -> Repository {
        let mut keyring = crate::keyring::Keyring::create().unwrap();
        keyring.add_recovery_key("paper").unwrap();
        let store = std::sync::Arc::new(crate::repo::MemStore::new());
        Repository::init(store, &keyring, &Default::default()).unwrap()
    }

    #[test]
    fn a_held_lock_is_refreshed_on_a_timer_and_a_broken_one_is_noticed() {
        let repo = repository();
        let ms = Duration::from_millis;
        let lock = Lock::acquire_refreshing(&repo, [1; 16], None, ms(30), ms(5)).unwrap();
        let first = read_body(&repo, LOCK_NAME)
            .unwrap()
            .unwrap()
            .unwrap()
            .refreshed;
        // Times are whole seconds: wait until a refresh lands in a later one.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let now = read_body(&repo, LOCK_NAME)
                .unwrap()
                .unwrap()
                .unwrap()
                .refreshed;
            if now > first {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never refreshed");
            std::thread::sleep(ms(50));
        }
        lock.verify().unwrap();
        // Another writer breaks it: the refresher stops, and verify says so.
        repo.store().delete(LOCK_NAME).unwrap();
        std::thread::sleep(ms(100));
        assert!(matches!(lock.verify(), Err(Error::RepositoryLocked { .. })));
        drop(lock);
        assert!(read_body(&repo, LOCK_NAME).unwrap().is_none());
    }

    #[test]
    fn the_machine_holder_is_stable_where_there_is_a_machine_id() {
        if Path::new("/etc/machine-id").exists() {
            assert_eq!(machine_holder().unwrap(), machine_holder().unwrap());
        } else {
            eprintln!("no /etc/machine-id here: the holder is random, nothing to compare");
        }
    }
}
