// The core's blob store conformance suite (`blobStoreConformance`, in test builds) against the
// stores this test suite writes as an app would: what the engine relies on, checked from
// Swift. The engine calls a store from several threads at once; `ConcurrencyCheckingStore`
// proves the suite did, and that the stores stayed correct while it did.

import Foundation
import Keepsake
import XCTest

/// Wraps a store, counting the calls in flight and the most seen at once.
final class ConcurrencyCheckingStore: BlobStore, @unchecked Sendable {
    private let inner: BlobStore
    private let lock = NSLock()
    private var inFlight = 0
    private(set) var maxInFlight = 0

    init(_ inner: BlobStore) { self.inner = inner }

    private func call<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
        lock.unlock()
        defer {
            lock.lock()
            inFlight -= 1
            lock.unlock()
        }
        // A cloud call takes a while: let the calls of other threads overlap this one.
        Thread.sleep(forTimeInterval: 0.001)
        return try body()
    }

    func put(name: String, data: Data) throws { try call { try inner.put(name: name, data: data) } }
    func get(name: String, range: ByteRange?) throws -> Data { try call { try inner.get(name: name, range: range) } }
    func create(name: String, data: Data) throws -> Bool { try call { try inner.create(name: name, data: data) } }
    func list(prefix: String) throws -> [ObjectInfo] { try call { try inner.list(prefix: prefix) } }
    func delete(name: String) throws { try call { try inner.delete(name: name) } }
    func stat(name: String) throws -> Int64? { try call { try inner.stat(name: name) } }
}

final class BlobStoreConformanceTests: XCTestCase {
    private func conform(_ store: BlobStore) throws {
        let checked = ConcurrencyCheckingStore(store)
        let passed = try blobStoreConformance(store: checked, largeObjectBytes: 24 << 20, listObjects: 1_100, threads: 8)
        XCTAssertEqual(passed.count, 9, "checks passed: \(passed)")
        XCTAssertGreaterThan(checked.maxInFlight, 1, "the suite never called the store concurrently")
    }

    func testTheDictionaryStoreConforms() throws { try conform(DictionaryStore()) }

    func testTheDirectoryStoreConforms() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-conformance-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try conform(DirectoryStore(root: dir))
    }

    func testTheBuiltInMemoryStoreConforms() throws { try conform(memoryBlobStore()) }
}
