//! One writer at a time: a lock object `locks/<random hex>` (sealed-object envelope, magic
//! `KSLK`) held while a backup, prune or key rotation changes the repository.
//!
//! Lock plaintext: `holder (16) || u32 pid || u64 created || u64 refreshed` (unix seconds).
//! A writer refreshes its lock every [`REFRESH`]. A lock is stale, and removed by the next
//! writer, when it was last refreshed more than [`STALE`] ago, or when it carries this device's
//! holder id and a process id that is no longer running (a run of this device killed with
//! `kill -9`; on systems without `/proc` any other pid of this device counts as dead: one
//! process per device writes). Taking the lock: remove stale locks, refuse if a live one
//! remains, write ours, list again and back off if another writer raced us (both back off;
//! the next run retries). Readers (restore, check) take no lock. Two devices: see
//! `docs/REPOSITORY.md`, "Locks".

use std::{
    path::Path,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::{codec::Reader, object, Repository, LOCK_PREFIX};
use crate::{crypto::random_bytes, Error, Result};

/// Magic of a lock object.
pub const MAGIC: &[u8; 4] = b"KSLK";
/// How often a long operation refreshes its lock.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);
/// A lock not refreshed for this long is stale.
pub const STALE: Duration = Duration::from_secs(30 * 60);
const PLAIN_LEN: usize = 16 + 4 + 8 + 8;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) struct LockBody {
    pub(super) holder: [u8; 16],
    pub(super) pid: u32,
    pub(super) created: u64,
    pub(super) refreshed: u64,
}

impl LockBody {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PLAIN_LEN);
        out.extend_from_slice(&self.holder);
        out.extend_from_slice(&self.pid.to_be_bytes());
        out.extend_from_slice(&self.created.to_be_bytes());
        out.extend_from_slice(&self.refreshed.to_be_bytes());
        out
    }

    pub(super) fn decode(plain: &[u8]) -> Result<LockBody> {
        let mut r = Reader::new(plain, "lock");
        let body = LockBody {
            holder: r.array("holder")?,
            pid: r.u32("pid")?,
            created: r.u64("created")?,
            refreshed: r.u64("refreshed")?,
        };
        r.finish()?;
        Ok(body)
    }
}

fn process_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    proc_root.join("self").exists() && proc_root.join(pid.to_string()).exists()
}

/// A held lock; released (deleted) on drop.
pub struct Lock<'r> {
    repo: &'r Repository,
    name: String,
    body: LockBody,
    refreshed_at: Instant,
}

impl<'r> Lock<'r> {
    /// Takes the repository's lock as `holder` (a device id), or fails with
    /// [`Error::RepositoryLocked`].
    pub fn acquire(repo: &'r Repository, holder: [u8; 16]) -> Result<Lock<'r>> {
        let mine = std::process::id();
        sweep_and_check(repo, holder, None, mine)?;
        let id: [u8; 16] = random_bytes()?;
        let t = now();
        let lock = Lock {
            repo,
            name: format!("{LOCK_PREFIX}{}", hex::encode(id)),
            body: LockBody {
                holder,
                pid: mine,
                created: t,
                refreshed: t,
            },
            refreshed_at: Instant::now(),
        };
        lock.write()?;
        // Another writer may have written its lock between our list and our put.
        sweep_and_check(repo, holder, Some(&lock.name), mine)?;
        Ok(lock)
    }

    fn write(&self) -> Result<()> {
        let sealed = object::seal(
            self.repo.keys().current(),
            MAGIC,
            &self.name,
            &self.body.encode(),
        )?;
        self.repo.store().put(&self.name, &sealed)
    }

    /// Rewrites the lock with the current time if [`REFRESH`] has passed.
    pub fn refresh_if_due(&mut self) -> Result<()> {
        if self.refreshed_at.elapsed() >= REFRESH {
            self.body.refreshed = now();
            self.write()?;
            self.refreshed_at = Instant::now();
        }
        Ok(())
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        // Best effort: a lock that cannot be deleted goes stale.
        let _ = self.repo.store().delete(&self.name);
    }
}

/// Removes stale locks and fails if a live lock other than `ours` remains. When `ours` is
/// given and another live lock exists, ours is removed before failing.
fn sweep_and_check(
    repo: &Repository,
    holder: [u8; 16],
    ours: Option<&str>,
    my_pid: u32,
) -> Result<()> {
    let store = repo.store();
    for name in store.list_names(LOCK_PREFIX)? {
        if Some(name.as_str()) == ours {
            continue;
        }
        let bytes = match store.get(&name, None) {
            Ok(bytes) => bytes,
            Err(Error::ObjectMissing { .. }) => continue, // released meanwhile
            Err(err) => return Err(err),
        };
        let body = object::open(repo.keys(), MAGIC, &name, &bytes, 1024, "lock")
            .and_then(|(_, plain)| LockBody::decode(&plain));
        let held = match body {
            Err(_) => Some(format!("unreadable lock object {name}")),
            Ok(body) => {
                let age = now().saturating_sub(body.refreshed);
                let dead_here =
                    body.holder == holder && body.pid != my_pid && !process_alive(body.pid);
                if age > STALE.as_secs() || dead_here {
                    store.delete(&name)?;
                    None
                } else {
                    Some(format!(
                        "{name}: device {} process {}, refreshed {age} s ago",
                        hex::encode(&body.holder[..4]),
                        body.pid
                    ))
                }
            }
        };
        if let Some(holder) = held {
            if let Some(ours) = ours {
                let _ = store.delete(ours);
            }
            return Err(Error::RepositoryLocked { holder });
        }
    }
    Ok(())
}
