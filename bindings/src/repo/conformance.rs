//! The core's blob store conformance suite for an app's store (test builds only: the feature
//! `soft-authenticator`, which `scripts/test-bindings.sh` and the samples' demo builds turn on).
//! The Kotlin and Swift test suites run it against their own stores, so the stores an app
//! copies from them are held to exactly what the engine relies on.

use std::sync::Arc;

use keepsake_core::repo::{
    self as core_repo,
    conformance::{self, ConformanceOptions},
};

use super::blob_store::{BlobStore, ForeignBlobStore};
use crate::{
    count::unsigned,
    error::{guard, FfiResult, KeepsakeError},
};

/// Runs the blob store conformance suite against `store` (no retries: the store itself is
/// judged) and returns the names of the checks it passed; the first failing check is an
/// `InvalidArgument` naming the check and what the store did. It writes under fresh
/// `conformance-<hex>-<area>` prefixes and deletes what it wrote. The suite calls the store from
/// `threads` threads at once; `largeObjectBytes` sizes its large object, `listObjects` its
/// listing (more than 1,000 crosses a cloud API's page size).
#[uniffi::export]
pub fn blob_store_conformance(
    store: Arc<dyn BlobStore>,
    large_object_bytes: i64,
    list_objects: i64,
    threads: i64,
) -> FfiResult<Vec<String>> {
    run(
        &ForeignBlobStore(store),
        large_object_bytes,
        list_objects,
        threads,
    )
}

/// The same suite with `store` behind the retry policy every `Repository` puts around an app's
/// store (`Transient` and `Throttled` failures retried, `Retry-After` honoured): for a store
/// tested against a server that injects throttling and 5xx answers, which the store must
/// report by kind and not retry itself.
#[uniffi::export]
pub fn blob_store_conformance_with_retries(
    store: Arc<dyn BlobStore>,
    large_object_bytes: i64,
    list_objects: i64,
    threads: i64,
) -> FfiResult<Vec<String>> {
    run(
        ForeignBlobStore::wrap(store).as_ref(),
        large_object_bytes,
        list_objects,
        threads,
    )
}

fn run(
    store: &dyn core_repo::BlobStore,
    large_object_bytes: i64,
    list_objects: i64,
    threads: i64,
) -> FfiResult<Vec<String>> {
    guard(|| {
        let options = ConformanceOptions {
            large_object_bytes: usize::try_from(unsigned(large_object_bytes, "largeObjectBytes")?)
                .unwrap_or(usize::MAX),
            list_objects: usize::try_from(unsigned(list_objects, "listObjects")?)
                .unwrap_or(usize::MAX),
            threads: usize::try_from(unsigned(threads, "threads")?).unwrap_or(1),
            atomic_create: true,
        };
        conformance::run(store, &options)
            .map(|passed| passed.into_iter().map(str::to_owned).collect())
            .map_err(|failure| KeepsakeError::invalid(failure.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::{app_store::AppStore, memory_blob_store};

    #[test]
    fn the_built_in_and_the_test_app_store_conform_through_the_ffi() {
        for store in [
            memory_blob_store(),
            Arc::new(AppStore::default()) as Arc<dyn BlobStore>,
        ] {
            let passed = blob_store_conformance(store, 4 << 20, 1_100, 8).unwrap();
            assert_eq!(passed.len(), 9);
        }
        let retried =
            blob_store_conformance_with_retries(Arc::new(AppStore::default()), 1 << 20, 10, 4);
        assert_eq!(retried.unwrap().len(), 9);
        assert!(matches!(
            blob_store_conformance(memory_blob_store(), -1, 10, 2),
            Err(KeepsakeError::InvalidArgument { .. })
        ));
    }
}
