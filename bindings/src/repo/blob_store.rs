//! The blob store across the FFI: a trait an app implements over its own storage (Google Drive,
//! iCloud, its own server), the adapter that lets the core's repository engine use it, and the
//! core's directory and in-memory stores handed to the app as the same trait.
//!
//! Errors keep their meaning in both directions: a missing object is `BlobStoreError.NotFound`
//! on the app's side and `ObjectMissing` in the core; `Transient`, `Throttled` (with the pause
//! the service asked for), `QuotaExceeded` and `Unauthorized` become the core's `Storage` error
//! of that kind, which the core's `RetryingStore` retries (the first two) or returns at once (the
//! others); `Failed` is a failure of no known kind, not retried. An exception the app did not
//! declare (an `IOException` from its HTTP client) counts as `Transient`.
//!
//! Every store the app hands to a `Repository` is wrapped in the core's `RetryingStore`
//! ([`ForeignBlobStore::wrap`]), so the app's store makes one attempt per call and reports what
//! happened; it must not retry itself (the retries would multiply).

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::Path,
    sync::Arc,
    time::Duration,
};

use keepsake_core::{
    repo::{self as core_repo, storage_error, storage_error_of},
    Error as CoreError, Result as CoreResult, StorageErrorKind,
};

use crate::{
    count::{long, unsigned},
    error::{guard, FfiResult},
};

/// A byte range of an object: `len` bytes starting at `offset`. Both are `i64` (Kotlin `Long`,
/// Swift `Int64`) and never negative when the repository asks; a built-in store refuses a
/// negative one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ByteRange {
    /// First byte.
    pub offset: i64,
    /// Number of bytes (fewer are returned only at the object's end).
    pub len: i64,
}

impl From<core_repo::ByteRange> for ByteRange {
    fn from(range: core_repo::ByteRange) -> Self {
        ByteRange {
            offset: long(range.offset),
            len: long(range.len),
        }
    }
}

impl ByteRange {
    /// The core's range; a negative offset or length is `InvalidArgument`.
    fn to_core(self) -> FfiResult<core_repo::ByteRange> {
        Ok(core_repo::ByteRange {
            offset: unsigned(self.offset, "a byte range's offset")?,
            len: unsigned(self.len, "a byte range's length")?,
        })
    }
}

/// An object as the app's listing reports it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ObjectInfo {
    /// The object's name, as it was stored.
    pub name: String,
    /// Its size in bytes (never negative).
    pub size: i64,
}

/// Why a blob store call failed, as the app reports it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum BlobStoreError {
    /// The object does not exist (only meaningful for `get`).
    #[error("object {name} not found")]
    NotFound {
        /// The object's name.
        name: String,
    },
    /// The network or the service failed for now (timeout, connection reset, HTTP 5xx):
    /// Keepsake retries the call with a growing, jittered pause.
    #[error("{detail}")]
    Transient {
        /// What went wrong, for logs.
        detail: String,
    },
    /// The service asked to slow down (HTTP 429, a rate limit): Keepsake waits at least
    /// `retry_after_ms` (when the service said, e.g. its `Retry-After` header) and retries.
    #[error("{detail}")]
    Throttled {
        /// What went wrong, for logs.
        detail: String,
        /// How long the service asked to wait, in milliseconds, if it said.
        retry_after_ms: Option<i64>,
    },
    /// The storage is full or the quota is spent (HTTP 507, Drive's `storageQuotaExceeded`):
    /// not retried; the operation stops with `KeepsakeError.Storage` of kind `QuotaExceeded`.
    #[error("{detail}")]
    QuotaExceeded {
        /// What went wrong, for logs.
        detail: String,
    },
    /// The credentials were refused (HTTP 401/403, an expired token): not retried; the
    /// operation stops with `KeepsakeError.Storage` of kind `Unauthorized`.
    #[error("{detail}")]
    Unauthorized {
        /// What went wrong, for logs.
        detail: String,
    },
    /// Any other failure (a bug, a bad request): not retried. The operation stops with
    /// `KeepsakeError.Storage`; running it again later resumes it.
    #[error("{detail}")]
    Failed {
        /// What went wrong, for logs.
        detail: String,
    },
}

/// An exception the app's store threw without declaring it (an `IOException` from the HTTP
/// client, most likely) is treated as transient: retried a few times, then reported.
impl From<uniffi::UnexpectedUniFFICallbackError> for BlobStoreError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        BlobStoreError::Transient {
            detail: format!("the app's blob store threw: {}", err.reason),
        }
    }
}

/// Where a repository keeps its objects; implemented by the app (or take a built-in one from
/// `directoryBlobStore` / `memoryBlobStore`). Names are opaque ASCII such as `data/3fa2...`:
/// store them as given (a `/` may become a folder). The store is not trusted: every byte read
/// back is authenticated, so a store that loses or damages objects causes an error, never a
/// wrong restore.
///
/// **Calls come from several threads at once**: a backup uploads packs while it reads the index,
/// a restore fetches ranges in parallel, and several operations may share one store. Every
/// method must be safe to call concurrently (no shared mutable state without a lock, one HTTP
/// client shared by all calls). Make one attempt per call and report failures by kind
/// (`Transient`, `Throttled`, `QuotaExceeded`, `Unauthorized`): Keepsake retries what can be
/// retried, so the store must not retry by itself.
#[uniffi::export(with_foreign)]
pub trait BlobStore: Send + Sync {
    /// Stores `data` as object `name`, replacing any object of that name, atomically: a reader
    /// sees the old object or the whole new one, never a part (upload to a temporary name and
    /// rename, or use the cloud API's atomic upload).
    fn put(&self, name: String, data: Vec<u8>) -> Result<(), BlobStoreError>;
    /// The whole object when `range` is null, else `range.len` bytes from `range.offset`
    /// (fewer only at the end of the object, none past it). A missing object is `NotFound`.
    fn get(&self, name: String, range: Option<ByteRange>) -> Result<Vec<u8>, BlobStoreError>;
    /// Stores `data` as object `name` only if no object of that name exists, returning false
    /// (and storing nothing) when one does. Use the cloud API's conditional create where it
    /// has one (`If-None-Match: *`); otherwise check, then put. Keepsake uses it for its lock
    /// objects only and re-checks them with a listing.
    fn create(&self, name: String, data: Vec<u8>) -> Result<bool, BlobStoreError>;
    /// Every object whose name starts with `prefix`, with its size, in any order (follow the
    /// cloud API's pages to the end).
    fn list(&self, prefix: String) -> Result<Vec<ObjectInfo>, BlobStoreError>;
    /// Deletes object `name`; deleting a missing object succeeds.
    fn delete(&self, name: String) -> Result<(), BlobStoreError>;
    /// The size of object `name` in bytes, or null when it does not exist.
    fn stat(&self, name: String) -> Result<Option<i64>, BlobStoreError>;
}

/// The core's view of an app's [`BlobStore`].
pub(crate) struct ForeignBlobStore(pub(crate) Arc<dyn BlobStore>);

impl ForeignBlobStore {
    /// The adapter as the core's store type, wrapped in the core's retry policy: every store
    /// a `Repository` uses, the app's own and the built-in ones, is retried the same way.
    pub(crate) fn wrap(store: Arc<dyn BlobStore>) -> Arc<dyn core_repo::BlobStore> {
        Arc::new(core_repo::RetryingStore::new(
            Arc::new(ForeignBlobStore(store)),
            core_repo::RetryPolicy::default(),
        ))
    }
}

/// An app-side error as the core's typed error for call `op` on `name`.
fn to_core(op: &str, name: &str, err: BlobStoreError) -> CoreError {
    match err {
        BlobStoreError::NotFound { .. } if op == "get" => CoreError::ObjectMissing {
            name: name.to_owned(),
        },
        // `NotFound` from a call that has no such answer is the store misbehaving.
        BlobStoreError::NotFound { name: missing } => {
            storage_error(op, name, format!("object {missing} not found"))
        }
        BlobStoreError::Transient { detail } => {
            storage_error_of(StorageErrorKind::Transient, op, name, detail)
        }
        BlobStoreError::Throttled {
            detail,
            retry_after_ms,
        } => {
            let retry_after = retry_after_ms
                .and_then(|ms| u64::try_from(ms).ok())
                .map(Duration::from_millis);
            storage_error_of(
                StorageErrorKind::Throttled { retry_after },
                op,
                name,
                detail,
            )
        }
        BlobStoreError::QuotaExceeded { detail } => {
            storage_error_of(StorageErrorKind::QuotaExceeded, op, name, detail)
        }
        BlobStoreError::Unauthorized { detail } => {
            storage_error_of(StorageErrorKind::Unauthorized, op, name, detail)
        }
        BlobStoreError::Failed { detail } => storage_error(op, name, detail),
    }
}

impl core_repo::BlobStore for ForeignBlobStore {
    fn put(&self, name: &str, data: &[u8]) -> CoreResult<()> {
        self.0
            .put(name.to_owned(), data.to_vec())
            .map_err(|e| to_core("put", name, e))
    }

    fn get(&self, name: &str, range: Option<core_repo::ByteRange>) -> CoreResult<Vec<u8>> {
        let bytes = self
            .0
            .get(name.to_owned(), range.map(ByteRange::from))
            .map_err(|e| to_core("get", name, e))?;
        // More bytes than asked for would shift every later read of a streamed object.
        match range {
            Some(range) if bytes.len() as u64 > range.len => Err(storage_error(
                "get",
                name,
                format!(
                    "the store returned {} bytes for a range of {}",
                    bytes.len(),
                    range.len
                ),
            )),
            _ => Ok(bytes),
        }
    }

    fn create(&self, name: &str, data: &[u8]) -> CoreResult<bool> {
        self.0
            .create(name.to_owned(), data.to_vec())
            .map_err(|e| to_core("create", name, e))
    }

    fn list(&self, prefix: &str) -> CoreResult<Vec<core_repo::ObjectInfo>> {
        self.0
            .list(prefix.to_owned())
            .map_err(|e| to_core("list", prefix, e))?
            .into_iter()
            .map(|object| {
                let size = u64::try_from(object.size).map_err(|_| {
                    storage_error(
                        "list",
                        prefix,
                        format!(
                            "the store listed {} with the size {}",
                            object.name, object.size
                        ),
                    )
                })?;
                Ok(core_repo::ObjectInfo {
                    name: object.name,
                    size,
                })
            })
            .collect()
    }

    fn delete(&self, name: &str) -> CoreResult<()> {
        self.0
            .delete(name.to_owned())
            .map_err(|e| to_core("delete", name, e))
    }

    fn stat(&self, name: &str) -> CoreResult<Option<u64>> {
        let size = self
            .0
            .stat(name.to_owned())
            .map_err(|e| to_core("stat", name, e))?;
        size.map(|n| {
            u64::try_from(n).map_err(|_| {
                storage_error("stat", name, format!("the store returned the size {n}"))
            })
        })
        .transpose()
    }
}

/// A core store (directory, memory) offered to the app as a [`BlobStore`], so the app can use
/// it directly or wrap it (to count uploads, to add its own retries).
struct BuiltinBlobStore(Arc<dyn core_repo::BlobStore>);

/// The core's error as the app-side error: a missing object stays `NotFound`, a storage
/// failure keeps its kind.
fn from_core(err: CoreError) -> BlobStoreError {
    let detail = err.to_string();
    match err {
        CoreError::ObjectMissing { name } => BlobStoreError::NotFound { name },
        CoreError::Storage { kind, .. } => match kind {
            StorageErrorKind::Transient => BlobStoreError::Transient { detail },
            StorageErrorKind::Throttled { retry_after } => BlobStoreError::Throttled {
                detail,
                retry_after_ms: retry_after
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            },
            StorageErrorKind::QuotaExceeded => BlobStoreError::QuotaExceeded { detail },
            StorageErrorKind::Unauthorized => BlobStoreError::Unauthorized { detail },
            _ => BlobStoreError::Failed { detail },
        },
        _ => BlobStoreError::Failed { detail },
    }
}

/// Runs one call of a built-in store without letting a panic unwind into the app.
fn contained<T>(body: impl FnOnce() -> CoreResult<T>) -> Result<T, BlobStoreError> {
    catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|_| {
            Err(CoreError::InvalidArgument(
                "internal error in the built-in blob store (please report)".into(),
            ))
        })
        .map_err(from_core)
}

impl BlobStore for BuiltinBlobStore {
    fn put(&self, name: String, data: Vec<u8>) -> Result<(), BlobStoreError> {
        contained(|| self.0.put(&name, &data))
    }

    fn get(&self, name: String, range: Option<ByteRange>) -> Result<Vec<u8>, BlobStoreError> {
        let range =
            range
                .map(ByteRange::to_core)
                .transpose()
                .map_err(|e| BlobStoreError::Failed {
                    detail: e.to_string(),
                })?;
        contained(|| self.0.get(&name, range))
    }

    fn create(&self, name: String, data: Vec<u8>) -> Result<bool, BlobStoreError> {
        contained(|| self.0.create(&name, &data))
    }

    fn list(&self, prefix: String) -> Result<Vec<ObjectInfo>, BlobStoreError> {
        contained(|| self.0.list(&prefix)).map(|objects| {
            objects
                .into_iter()
                .map(|object| ObjectInfo {
                    name: object.name,
                    size: long(object.size),
                })
                .collect()
        })
    }

    fn delete(&self, name: String) -> Result<(), BlobStoreError> {
        contained(|| self.0.delete(&name))
    }

    fn stat(&self, name: String) -> Result<Option<i64>, BlobStoreError> {
        contained(|| self.0.stat(&name)).map(|size| size.map(long))
    }
}

/// A blob store in the local directory `path` (created if missing): one file per object,
/// written to a temporary file, synced and renamed. For tests, a USB or network drive, or a
/// folder that another component syncs to the cloud.
#[uniffi::export]
pub fn directory_blob_store(path: String) -> FfiResult<Arc<dyn BlobStore>> {
    guard(|| {
        let store = core_repo::DirStore::open(Path::new(&path))?;
        Ok(Arc::new(BuiltinBlobStore(Arc::new(store))) as Arc<dyn BlobStore>)
    })
}

/// A blob store in memory, empty, gone with the object: for tests and demos.
#[uniffi::export]
pub fn memory_blob_store() -> Arc<dyn BlobStore> {
    Arc::new(BuiltinBlobStore(Arc::new(core_repo::MemStore::new())))
}

#[cfg(test)]
mod tests {
    use keepsake_core::repo::BlobStore as _;

    use super::{super::app_store::AppStore, *};

    #[test]
    fn the_adapter_gives_the_core_every_call_of_an_app_store() {
        let app = Arc::new(AppStore::default());
        let store = ForeignBlobStore(app.clone());
        store.put("data/ab", b"0123456789").unwrap();
        store.put("index/cd", b"x").unwrap();
        assert_eq!(store.get("data/ab", None).unwrap(), b"0123456789");
        let range = core_repo::ByteRange { offset: 7, len: 5 };
        assert_eq!(store.get("data/ab", Some(range)).unwrap(), b"789");
        assert_eq!(
            store.list("data/").unwrap(),
            [core_repo::ObjectInfo {
                name: "data/ab".into(),
                size: 10
            }]
        );
        assert!(!store.create("data/ab", b"other").unwrap());
        assert!(store.create("locks/ef", b"lock").unwrap());
        assert_eq!(store.get("locks/ef", None).unwrap(), b"lock");
        assert_eq!(store.stat("data/ab").unwrap(), Some(10));
        store.delete("data/ab").unwrap();
        assert_eq!(store.stat("data/ab").unwrap(), None);
        store.delete("data/ab").unwrap();
    }

    #[test]
    fn app_errors_become_the_cores_typed_errors() {
        let app = Arc::new(AppStore::default());
        let store = ForeignBlobStore(app.clone());
        assert!(matches!(
            store.get("snapshots/ff", None),
            Err(CoreError::ObjectMissing { name }) if name == "snapshots/ff"
        ));
        *app.fail.lock().unwrap() = Some("quota exceeded".into());
        for err in [
            store.put("data/ab", b"x").unwrap_err(),
            store.get("data/ab", None).unwrap_err(),
            store.list("data/").unwrap_err(),
            store.create("locks/ab", b"x").unwrap_err(),
            store.delete("data/ab").unwrap_err(),
            store.stat("data/ab").unwrap_err(),
        ] {
            assert!(
                matches!(&err, CoreError::Storage { message, .. } if message == "quota exceeded"),
                "{err:?}"
            );
        }
        let undeclared = BlobStoreError::from(uniffi::UnexpectedUniFFICallbackError {
            reason: "java.io.IOException: timeout".into(),
        });
        assert!(matches!(
            to_core("put", "data/ab", undeclared),
            CoreError::Storage { message, kind: StorageErrorKind::Transient, .. }
                if message.contains("timeout")
        ));
        let kinds = [
            (
                BlobStoreError::Throttled {
                    detail: "429".into(),
                    retry_after_ms: Some(1500),
                },
                StorageErrorKind::Throttled {
                    retry_after: Some(Duration::from_millis(1500)),
                },
            ),
            (
                BlobStoreError::QuotaExceeded {
                    detail: "full".into(),
                },
                StorageErrorKind::QuotaExceeded,
            ),
            (
                BlobStoreError::Unauthorized {
                    detail: "token expired".into(),
                },
                StorageErrorKind::Unauthorized,
            ),
            (
                BlobStoreError::Failed {
                    detail: "bug".into(),
                },
                StorageErrorKind::Other,
            ),
        ];
        for (app_error, kind) in kinds {
            assert_eq!(
                to_core("get", "data/ab", app_error).storage_kind(),
                Some(kind)
            );
        }
        // NotFound from a put is not a missing object the engine could reason about.
        assert!(matches!(
            to_core(
                "put",
                "data/ab",
                BlobStoreError::NotFound { name: "x".into() }
            ),
            CoreError::Storage { .. }
        ));
    }

    #[test]
    fn a_store_that_returns_more_than_the_range_is_refused() {
        let app = Arc::new(AppStore::default());
        let store = ForeignBlobStore(app.clone());
        store.put("data/ab", b"0123456789").unwrap();
        *app.oversize.lock().unwrap() = true;
        let range = core_repo::ByteRange { offset: 0, len: 4 };
        assert!(matches!(
            store.get("data/ab", Some(range)),
            Err(CoreError::Storage { .. })
        ));
        // A whole-object read has no length to exceed.
        assert_eq!(store.get("data/ab", None).unwrap().len(), 10);
    }

    #[test]
    fn a_negative_size_from_the_app_is_a_storage_error() {
        let app = Arc::new(AppStore::default());
        let store = ForeignBlobStore(app.clone());
        store.put("data/ab", b"0123").unwrap();
        *app.size.lock().unwrap() = Some(-4);
        assert!(matches!(
            store.stat("data/ab"),
            Err(CoreError::Storage { message, .. }) if message.contains("-4")
        ));
        *app.size.lock().unwrap() = Some(i64::MAX);
        assert_eq!(store.stat("data/ab").unwrap(), Some(i64::MAX as u64));
    }

    #[test]
    fn ranges_cross_as_i64_and_a_built_in_store_refuses_a_negative_one() {
        let core = core_repo::ByteRange {
            offset: 1 << 40,
            len: u64::MAX,
        };
        assert_eq!(
            ByteRange::from(core),
            ByteRange {
                offset: 1 << 40,
                len: i64::MAX
            }
        );
        let store = memory_blob_store();
        store.put("data/ab".into(), b"hello".to_vec()).unwrap();
        for (offset, len) in [(-1, 2), (0, -2)] {
            assert!(matches!(
                store.get("data/ab".into(), Some(ByteRange { offset, len })),
                Err(BlobStoreError::Failed { detail }) if detail.contains("negative")
            ));
        }
        assert_eq!(
            store
                .get("data/ab".into(), Some(ByteRange { offset: 1, len: 3 }))
                .unwrap(),
            b"ell"
        );
        assert_eq!(store.stat("data/ab".into()).unwrap(), Some(5));
    }

    #[test]
    fn built_in_stores_keep_missing_objects_typed_through_both_adapters() {
        let dir = tempfile::tempdir().unwrap();
        let stores = [
            directory_blob_store(dir.path().join("repo").display().to_string()).unwrap(),
            memory_blob_store(),
        ];
        for app_side in stores {
            app_side.put("data/ab".into(), b"hello".to_vec()).unwrap();
            assert!(matches!(
                app_side.get("data/zz".into(), None),
                Err(BlobStoreError::NotFound { name }) if name == "data/zz"
            ));
            // A name that could escape the directory is refused, as a failure.
            assert!(matches!(
                app_side.put("../evil".into(), Vec::new()),
                Err(BlobStoreError::Failed { .. })
            ));
            let core_side = ForeignBlobStore(app_side);
            assert_eq!(
                core_side
                    .get("data/ab", Some(core_repo::ByteRange { offset: 1, len: 3 }))
                    .unwrap(),
                b"ell"
            );
            assert!(matches!(
                core_side.get("data/zz", None),
                Err(CoreError::ObjectMissing { .. })
            ));
        }
    }
}
