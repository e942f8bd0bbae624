//! The blob store conformance suite: what the engine relies on from a store, checked against a
//! real one. Every store runs it: the directory and memory stores (core tests), S3 and WebDAV
//! servers (the remote crate's tests), and the Kotlin and Swift test stores (through the FFI's
//! `blobStoreConformance`, in test builds). Tests only; not a stable API.
//!
//! It works under fresh random prefixes and deletes what it wrote, so it can run against a store
//! that holds other objects. Checks: put, get and replace; ranges, also past the end; missing
//! objects typed (`ObjectMissing`, `stat` None, deleting one succeeds); listings by prefix with
//! sizes, across more than one page (S3 and most clouds page at 1,000 names); conditional
//! create, also by several creators at once (exactly one wins); a large object; and calls from
//! several threads at once, as the engine makes them.

use std::{fmt, sync::Barrier};

use super::store::{BlobStore, ByteRange, ObjectInfo};
use crate::{crypto::random_bytes, Error};

/// Sizes of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConformanceOptions {
    /// Bytes of the large object.
    pub large_object_bytes: usize,
    /// Objects listed in the pagination check (more than 1,000 crosses S3's page size).
    pub list_objects: usize,
    /// Threads of the concurrency checks.
    pub threads: usize,
    /// Whether the store's `create` is atomic against simultaneous creators (exactly one
    /// wins). False only for a store documented to check, then store (Apache's mod_dav_fs,
    /// `docs/STORES.md`): then at least one creator must win and the object must be a
    /// winner's whole.
    pub atomic_create: bool,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        ConformanceOptions {
            large_object_bytes: 32 * 1024 * 1024,
            list_objects: 1_100,
            threads: 8,
            atomic_create: true,
        }
    }
}

/// The first check that failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceFailure {
    /// The check's name.
    pub check: &'static str,
    /// What the store did.
    pub detail: String,
}

impl fmt::Display for ConformanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blob store conformance, {}: {}", self.check, self.detail)
    }
}

impl std::error::Error for ConformanceFailure {}

type Check = fn(&Run<'_>) -> Result<(), String>;

/// The checks, in order.
const CHECKS: &[(&str, Check)] = &[
    ("put, get and replace", put_get_replace),
    ("ranges", ranges),
    ("missing objects", missing_objects),
    ("list by prefix with sizes", list_by_prefix),
    ("list across pages", list_across_pages),
    ("conditional create", conditional_create),
    ("concurrent creators", concurrent_creators),
    ("large object", large_object),
    ("concurrent calls", concurrent_calls),
];

/// Runs every check against `store`; returns the names of the checks passed (all of them), or
/// the first failure. Objects written are deleted on success; after a failure some may remain
/// under the run's prefix (`conformance-<hex>`).
pub fn run(
    store: &dyn BlobStore,
    options: &ConformanceOptions,
) -> Result<Vec<&'static str>, ConformanceFailure> {
    let tag: [u8; 6] = random_bytes().map_err(|e| ConformanceFailure {
        check: "setup",
        detail: e.to_string(),
    })?;
    let run = Run {
        store,
        options: *options,
        base: format!("conformance-{}", hex::encode(tag)),
    };
    let mut passed = Vec::new();
    for (check, body) in CHECKS {
        body(&run).map_err(|detail| ConformanceFailure { check, detail })?;
        passed.push(*check);
    }
    Ok(passed)
}

struct Run<'s> {
    store: &'s dyn BlobStore,
    options: ConformanceOptions,
    base: String,
}

impl Run<'_> {
    /// A directory of this run: `conformance-<hex>-<area>/`.
    fn dir(&self, area: &str) -> String {
        format!("{}-{area}/", self.base)
    }

    /// Deletes every object under `dir` and checks that the listing is then empty.
    fn clear(&self, dir: &str) -> Result<(), String> {
        for object in self.store.list(dir).map_err(failed("list"))? {
            self.store.delete(&object.name).map_err(failed("delete"))?;
        }
        let left = self.store.list(dir).map_err(failed("list"))?;
        expect(left.is_empty(), || {
            format!("{} objects left after deleting all", left.len())
        })
    }
}

fn failed(op: &'static str) -> impl Fn(Error) -> String {
    move |err| format!("{op} failed: {err}")
}

fn expect(condition: bool, detail: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(detail())
    }
}

/// `len` bytes that differ from any other (seed, length): no store can pass by echoing zeros.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn get_all(store: &dyn BlobStore, name: &str) -> Result<Vec<u8>, String> {
    store.get(name, None).map_err(failed("get"))
}

fn put_get_replace(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("p");
    let name = format!("{dir}object");
    let (first, second) = (pattern(1, 1000), pattern(2, 300));
    run.store.put(&name, &first).map_err(failed("put"))?;
    expect(get_all(run.store, &name)? == first, || {
        "get returned other bytes".into()
    })?;
    run.store.put(&name, &second).map_err(failed("put"))?;
    expect(get_all(run.store, &name)? == second, || {
        "a put did not replace the object".into()
    })?;
    let size = run.store.stat(&name).map_err(failed("stat"))?;
    expect(size == Some(300), || {
        format!("stat gave {size:?}, not Some(300)")
    })?;
    run.store
        .put(&format!("{dir}empty"), &[])
        .map_err(failed("put"))?;
    expect(
        get_all(run.store, &format!("{dir}empty"))?.is_empty(),
        || "an empty object came back non-empty".into(),
    )?;
    run.clear(&dir)
}

fn ranges(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("r");
    let name = format!("{dir}object");
    let data = pattern(3, 1000);
    run.store.put(&name, &data).map_err(failed("put"))?;
    let cases: [(u64, u64, std::ops::Range<usize>); 6] = [
        (0, 10, 0..10),
        (500, 1, 500..501),
        (990, 100, 990..1000),
        (10, 1 << 40, 10..1000),
        (1000, 5, 1000..1000),
        (5000, 1, 1000..1000),
    ];
    for (offset, len, want) in cases {
        let got = run
            .store
            .get(&name, Some(ByteRange { offset, len }))
            .map_err(|e| format!("get of {len} bytes at {offset} failed: {e}"))?;
        let expected = data.get(want).unwrap_or_default();
        expect(got == expected, || {
            format!(
                "{len} bytes at {offset} gave {} bytes, expected {}",
                got.len(),
                expected.len()
            )
        })?;
    }
    run.clear(&dir)
}

fn missing_objects(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("m");
    let name = format!("{dir}never-written");
    for range in [None, Some(ByteRange { offset: 0, len: 10 })] {
        match run.store.get(&name, range) {
            Err(Error::ObjectMissing { name: missing }) if missing == name => {}
            other => {
                return Err(format!(
                    "get of a missing object ({range:?}) gave {:?}, not ObjectMissing",
                    other.map(|b| b.len())
                ))
            }
        }
    }
    let size = run.store.stat(&name).map_err(failed("stat"))?;
    expect(size.is_none(), || {
        format!("stat of a missing object gave {size:?}")
    })?;
    run.store
        .delete(&name)
        .map_err(|e| format!("deleting a missing object failed (it must succeed): {e}"))?;
    let listed = run.store.list(&dir).map_err(failed("list"))?;
    expect(listed.is_empty(), || {
        format!("an empty prefix listed {} objects", listed.len())
    })
}

fn sorted(mut objects: Vec<ObjectInfo>) -> Vec<ObjectInfo> {
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    objects
}

fn list_by_prefix(run: &Run<'_>) -> Result<(), String> {
    let (dir, other) = (run.dir("a"), run.dir("b"));
    let mut expected = Vec::new();
    for (i, size) in [0usize, 1, 17, 4096].into_iter().enumerate() {
        let name = format!("{dir}ab{i}");
        run.store
            .put(&name, &pattern(i as u64, size))
            .map_err(failed("put"))?;
        expected.push(ObjectInfo {
            name,
            size: size as u64,
        });
    }
    run.store
        .put(&format!("{dir}cd0"), b"x")
        .map_err(failed("put"))?;
    run.store
        .put(&format!("{other}ab0"), b"y")
        .map_err(failed("put"))?;
    let listed = sorted(
        run.store
            .list(&format!("{dir}ab"))
            .map_err(failed("list"))?,
    );
    expect(listed == expected, || {
        format!("list of {dir}ab gave {listed:?}, expected {expected:?}")
    })?;
    let all = run.store.list(&dir).map_err(failed("list"))?;
    expect(all.len() == 5, || {
        format!("list of {dir} gave {} objects, expected 5", all.len())
    })?;
    // The empty prefix lists the whole store, across every folder: a backup takes its
    // inventory in one such listing (a store that lists one directory level must descend).
    let everything = run.store.list("").map_err(failed("list"))?;
    for name in expected
        .iter()
        .map(|o| o.name.clone())
        .chain([format!("{other}ab0")])
    {
        expect(everything.iter().any(|o| o.name == name), || {
            format!("list of the whole store lacks {name}")
        })?;
    }
    run.clear(&dir)?;
    run.clear(&other)
}

/// Runs `body(i)` for `i` in `0..count` on `threads` threads.
fn on_threads(
    threads: usize,
    count: usize,
    body: impl Fn(usize) -> Result<(), String> + Sync,
) -> Result<(), String> {
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let body = &body;
                scope.spawn(move || (t..count).step_by(threads).try_for_each(body))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err("a worker thread panicked".into()))
        })
    })
}

fn list_across_pages(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("l");
    let count = run.options.list_objects;
    on_threads(run.options.threads, count, |i| {
        run.store
            .put(&format!("{dir}{i:06}"), &pattern(i as u64, i % 7))
            .map_err(failed("put"))
    })?;
    let listed = sorted(run.store.list(&dir).map_err(failed("list"))?);
    expect(listed.len() == count, || {
        format!("listed {} of {count} objects", listed.len())
    })?;
    for (i, object) in listed.iter().enumerate() {
        let want = ObjectInfo {
            name: format!("{dir}{i:06}"),
            size: (i % 7) as u64,
        };
        expect(*object == want, || {
            format!("listed {object:?}, expected {want:?}")
        })?;
    }
    on_threads(run.options.threads, count, |i| {
        run.store
            .delete(&format!("{dir}{i:06}"))
            .map_err(failed("delete"))
    })?;
    run.clear(&dir)
}

fn conditional_create(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("c");
    let name = format!("{dir}lock");
    let created = run
        .store
        .create(&name, b"first")
        .map_err(failed("create"))?;
    expect(created, || "create of a free name returned false".into())?;
    let again = run
        .store
        .create(&name, b"second")
        .map_err(failed("create"))?;
    expect(!again, || "create of a taken name returned true".into())?;
    expect(get_all(run.store, &name)? == b"first", || {
        "create of a taken name replaced the object".into()
    })?;
    run.store.delete(&name).map_err(failed("delete"))?;
    let after = run
        .store
        .create(&name, b"third")
        .map_err(failed("create"))?;
    expect(after, || "create after a delete returned false".into())?;
    run.clear(&dir)
}

fn concurrent_creators(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("k");
    let threads = run.options.threads.max(2);
    for round in 0..3 {
        let name = format!("{dir}lock{round}");
        let barrier = Barrier::new(threads);
        let results: Vec<Result<bool, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (name, barrier) = (&name, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        run.store
                            .create(name, format!("creator {t}").as_bytes())
                            .map_err(failed("create"))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a creator panicked".into()))
                })
                .collect()
        });
        let mut winners = Vec::new();
        for (t, result) in results.into_iter().enumerate() {
            if result? {
                winners.push(t);
            }
        }
        let allowed = if run.options.atomic_create {
            1..=1
        } else {
            1..=threads
        };
        expect(allowed.contains(&winners.len()), || {
            format!("{} of {threads} creators of one name won", winners.len())
        })?;
        let stored = get_all(run.store, &name)?;
        expect(
            winners
                .iter()
                .any(|w| stored == format!("creator {w}").as_bytes()),
            || "the stored object is not a winner's".into(),
        )?;
    }
    run.clear(&dir)
}

fn large_object(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("g");
    let name = format!("{dir}large");
    let size = run.options.large_object_bytes;
    let data = pattern(4, size);
    run.store.put(&name, &data).map_err(failed("put"))?;
    let stat = run.store.stat(&name).map_err(failed("stat"))?;
    expect(stat == Some(size as u64), || {
        format!("stat gave {stat:?}, expected {size}")
    })?;
    expect(get_all(run.store, &name)? == data, || {
        "the large object came back different".into()
    })?;
    let tail = ByteRange {
        offset: size.saturating_sub(100_000) as u64,
        len: 200_000,
    };
    let got = run.store.get(&name, Some(tail)).map_err(failed("get"))?;
    expect(got == data[size.saturating_sub(100_000)..], || {
        "the large object's last range came back different".into()
    })?;
    let listed = run.store.list(&dir).map_err(failed("list"))?;
    expect(listed.first().map(|o| o.size) == Some(size as u64), || {
        format!("listed {listed:?}")
    })?;
    run.clear(&dir)
}

fn concurrent_calls(run: &Run<'_>) -> Result<(), String> {
    let dir = run.dir("t");
    let threads = run.options.threads.max(2);
    let shared = format!("{dir}shared");
    run.store
        .put(&shared, &pattern(5, 100_000))
        .map_err(failed("put"))?;
    let shared_data = pattern(5, 100_000);
    on_threads(threads, threads * 12, |i| {
        let name = format!("{dir}w{i:04}");
        let data = pattern(100 + i as u64, 1000 + i * 37);
        run.store.put(&name, &data).map_err(failed("put"))?;
        expect(get_all(run.store, &name)? == data, || {
            format!("{name} came back different under concurrent calls")
        })?;
        let range = ByteRange {
            offset: (i * 997 % 90_000) as u64,
            len: 5000,
        };
        let part = run.store.get(&shared, Some(range)).map_err(failed("get"))?;
        let start = range.offset as usize;
        expect(part == shared_data[start..start + 5000], || {
            "a ranged get came back different under concurrent calls".into()
        })?;
        let size = run.store.stat(&name).map_err(failed("stat"))?;
        expect(size == Some(data.len() as u64), || {
            format!("stat of {name}: {size:?}")
        })?;
        let listed = run.store.list(&name).map_err(failed("list"))?;
        expect(listed.iter().any(|o| o.name == name), || {
            format!("{name} missing from a listing")
        })?;
        if i % 2 == 0 {
            run.store.delete(&name).map_err(failed("delete"))?;
        }
        Ok(())
    })?;
    let left = run.store.list(&dir).map_err(failed("list"))?;
    // The shared object and the odd writers' objects.
    expect(left.len() == 1 + threads * 6, || {
        format!("{} objects left, expected {}", left.len(), 1 + threads * 6)
    })?;
    run.clear(&dir)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::repo::{DirStore, MemStore, RetryPolicy, RetryingStore};

    fn small() -> ConformanceOptions {
        ConformanceOptions {
            large_object_bytes: 24 * 1024 * 1024,
            list_objects: 1_100,
            threads: 8,
            atomic_create: true,
        }
    }

    #[test]
    fn the_memory_store_conforms() {
        let passed = run(&MemStore::new(), &small()).unwrap();
        assert_eq!(passed.len(), CHECKS.len());
    }

    #[test]
    fn the_directory_store_conforms_and_is_left_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        run(&store, &small()).unwrap();
        for area in std::fs::read_dir(dir.path()).unwrap() {
            let area = area.unwrap().path();
            assert_eq!(std::fs::read_dir(&area).unwrap().count(), 0, "{area:?}");
        }
    }

    #[test]
    fn the_retrying_wrapper_conforms() {
        let store = RetryingStore::new(Arc::new(MemStore::new()), RetryPolicy::default());
        run(&store, &small()).unwrap();
    }

    /// A store that lets a second creator win: the suite must notice.
    struct CheckThenPut(MemStore);

    impl BlobStore for CheckThenPut {
        fn put(&self, name: &str, data: &[u8]) -> crate::Result<()> {
            self.0.put(name, data)
        }
        fn get(&self, name: &str, range: Option<ByteRange>) -> crate::Result<Vec<u8>> {
            self.0.get(name, range)
        }
        fn create(&self, name: &str, data: &[u8]) -> crate::Result<bool> {
            let free = self.0.stat(name)?.is_none();
            std::thread::sleep(std::time::Duration::from_millis(20));
            if free {
                self.0.put(name, data)?;
            }
            Ok(free)
        }
        fn list(&self, prefix: &str) -> crate::Result<Vec<ObjectInfo>> {
            self.0.list(prefix)
        }
        fn delete(&self, name: &str) -> crate::Result<()> {
            self.0.delete(name)
        }
        fn stat(&self, name: &str) -> crate::Result<Option<u64>> {
            self.0.stat(name)
        }
    }

    #[test]
    fn a_create_that_checks_then_puts_fails_the_concurrent_creators_check() {
        let failure = run(&CheckThenPut(MemStore::new()), &small()).unwrap_err();
        assert_eq!(failure.check, "concurrent creators", "{failure}");
    }
}
