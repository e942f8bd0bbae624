//! Where `--repo` points: a directory (the core's directory store) or a remote store named as
//! restic names them (`s3:http://HOST:PORT/BUCKET/PREFIX`, `webdav:https://...`, `gs:`,
//! `azure:`; `keepsake-remote`), with store options from `-o KEY=VALUE` and `--options-file`
//! and credentials from the environment or that file only (`docs/STORES.md`).
//!
//! Every store is wrapped the same way: the core's `RetryingStore` around a `CountingStore`
//! around the store itself, so the retries are counted as the requests they are and each
//! command can report how many it made.

use std::{path::PathBuf, sync::Arc};

use keepsake_core::repo::{
    BlobStore, CountingStore, DirStore, RequestCounts, RetryingStore, CONFIG_NAME,
};
use keepsake_remote::{Location, StoreOptions};
use serde::Serialize;

use crate::{
    cli::RepoDirArg,
    error::{CliError, CliResult},
};

/// Temporary files older than this belong to no live writer (a writer syncs within seconds).
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(3600);

/// An opened store and the counter of its requests.
pub struct OpenedStore {
    /// The store, retries included, for the engine.
    pub store: Arc<dyn BlobStore>,
    counting: Arc<CountingStore>,
}

impl OpenedStore {
    /// The requests made so far, retries included.
    pub fn requests(&self) -> Requests {
        Requests::from(self.counting.counts())
    }
}

/// Requests a command made to the store, as reports print them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Requests {
    /// All calls.
    pub total: u64,
    /// Uploads (`put`) and conditional creates.
    pub puts: u64,
    /// Downloads (`get`, whole or ranged).
    pub gets: u64,
    /// Listings.
    pub lists: u64,
    /// Deletes.
    pub deletes: u64,
    /// Size queries.
    pub stats: u64,
    /// Bytes sent.
    pub bytes_up: u64,
    /// Bytes received.
    pub bytes_down: u64,
}

impl From<RequestCounts> for Requests {
    fn from(c: RequestCounts) -> Self {
        Requests {
            total: c.total(),
            puts: c.puts + c.creates,
            gets: c.gets,
            lists: c.lists,
            deletes: c.deletes,
            stats: c.stats,
            bytes_up: c.bytes_up,
            bytes_down: c.bytes_down,
        }
    }
}

/// The location `--repo` names.
pub fn location(arg: &RepoDirArg) -> CliResult<Location> {
    Ok(Location::parse(&arg.repo)?)
}

/// The store options: the environment's credentials, then the options file, then `-o`.
fn options(arg: &RepoDirArg) -> CliResult<StoreOptions> {
    let mut options = StoreOptions::from_env();
    if let Some(file) = &arg.options_file {
        // It may hold credentials: read as a secret file (a warning when others can read it).
        let bytes = crate::secrets::read_private_file(file)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", file.display())))?;
        options.apply_text(text, &file.display().to_string())?;
    }
    for option in &arg.options {
        options.apply_arg(option)?;
    }
    Ok(options)
}

/// Opens the store at `--repo`. `existing`: a directory must already exist (a typo is no
/// repository, not a new empty directory). Before a backup (`sweep`), a directory store's
/// temporaries of killed writers are removed.
pub fn open(arg: &RepoDirArg, existing: bool, sweep: bool) -> CliResult<OpenedStore> {
    let location = location(arg)?;
    let options = options(arg)?;
    if let Location::Directory(dir) = &location {
        // A missing directory holds no repository, like an empty one (exit 19,
        // `object_missing`), and is not created by a read.
        if existing && !dir.is_dir() {
            return Err(CliError::Core(keepsake_core::Error::ObjectMissing {
                name: format!(
                    "{CONFIG_NAME} (no repository at {}: the directory does not exist)",
                    dir.display()
                ),
            }));
        }
        if sweep {
            DirStore::open(dir)?.sweep_temporaries(STALE_TEMPORARY)?;
        }
    }
    let counting = Arc::new(CountingStore::new(keepsake_remote::open_raw(
        &location, &options,
    )?));
    let store = Arc::new(RetryingStore::new(counting.clone(), options.retry));
    Ok(OpenedStore { store, counting })
}

/// `--repo LOCATION` with no store options (for `keys rotate --repo`), which take their
/// credentials from the environment.
pub fn plain(location: &str) -> RepoDirArg {
    RepoDirArg {
        repo: location.to_owned(),
        options: Vec::new(),
        options_file: None::<PathBuf>,
    }
}
