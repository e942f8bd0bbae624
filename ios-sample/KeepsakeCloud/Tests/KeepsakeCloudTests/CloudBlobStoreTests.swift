// CloudBlobStore's logic (the iCloud store minus CloudKit) over an in-memory database that
// behaves as the CloudKit calls the store makes are documented to: a create-only save refused
// with serverRecordChanged, unknownItem for a missing record, assets handed back as files, a
// paged change feed with tokens, and injected requestRateLimited / zoneBusy / networkFailure
// answers. It is a stand-in, not CloudKit: the real calls run in KeepsakeSampleTests on a
// simulator or device signed in to iCloud.
import Foundation
import Keepsake
import KeepsakeCloud
import XCTest

final class MemoryCloudDatabase: CloudDatabase, @unchecked Sendable {
    typealias Token = Int

    private let lock = NSLock()
    private var records: [String: (fields: CloudFields, data: Data)] = [:]
    /// The change feed: (record name, fields or nil for a deletion), in order.
    private var feed: [(record: String, fields: CloudFields?)] = []
    private var calls = 0
    private let files = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-memory-cloud-\(UUID().uuidString)")
    /// Every `faultEvery`-th call fails with the next of `faults` (0: none).
    var faultEvery = 0
    private(set) var faultsInjected = 0
    var pageSize = 50
    /// Tokens below this are expired (as after a long absence).
    var oldestToken = 0

    deinit { try? FileManager.default.removeItem(at: files) }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func maybeFail() throws {
        try locked {
            calls += 1
            guard faultEvery > 0, calls % faultEvery == 0 else { return }
            faultsInjected += 1
            let faults = [
                CloudDatabaseError(code: .requestRateLimited, retryAfterSeconds: 0, detail: "injected"),
                CloudDatabaseError(code: .zoneBusy, retryAfterSeconds: 0, detail: "injected"),
                CloudDatabaseError(code: .networkFailure, detail: "injected"),
            ]
            throw faults[faultsInjected % faults.count]
        }
    }

    func prepareZone() async throws { try maybeFail() }

    func save(recordName: String, fields: CloudFields, asset: URL?, policy: CloudSavePolicy) async throws {
        try maybeFail()
        let data = try asset.map { try Data(contentsOf: $0) } ?? Data()
        try locked {
            if policy == .createOnly && records[recordName] != nil {
                throw CloudDatabaseError(code: .serverRecordChanged, detail: "record exists")
            }
            records[recordName] = (fields, data)
            feed.append((recordName, fields))
        }
    }

    func fetch(recordName: String, asset: Bool) async throws -> CloudFetched? {
        try maybeFail()
        guard let record = locked({ records[recordName] }) else {
            throw CloudDatabaseError(code: .unknownItem, detail: "no record")
        }
        guard asset, !record.data.isEmpty else { return CloudFetched(size: record.fields.size, asset: nil) }
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let url = files.appendingPathComponent(UUID().uuidString)
        try record.data.write(to: url)
        return CloudFetched(size: record.fields.size, asset: url)
    }

    func delete(recordName: String) async throws {
        try maybeFail()
        try locked {
            guard records.removeValue(forKey: recordName) != nil else {
                throw CloudDatabaseError(code: .unknownItem, detail: "no record")
            }
            feed.append((recordName, nil))
        }
    }

    func changes(since token: Int?) async throws -> ZoneMirror<Int>.Page {
        try maybeFail()
        return try locked {
            let start = token ?? 0
            if token != nil && start < oldestToken { throw ZoneMirror<Int>.TokenExpired() }
            // From nothing, the zone's records as they are now; after a token, what changed.
            if token == nil {
                let all = records.values.map { (name: $0.fields.name, size: $0.fields.size) }
                return ZoneMirror.Page(saved: all, deleted: [], token: feed.count, moreComing: false)
            }
            let page = feed[start..<min(feed.count, start + pageSize)]
            var saved: [(name: String, size: Int64)] = []
            var deleted: [String] = []
            for change in page {
                if let fields = change.fields {
                    saved.append((name: fields.name, size: fields.size))
                } else if let name = CloudRecordNames.objectName(forRecordName: change.record) {
                    deleted.append(name)
                }
            }
            let end = start + page.count
            return ZoneMirror.Page(saved: saved, deleted: deleted, token: end, moreComing: end < feed.count)
        }
    }

    var recordCount: Int { locked { records.count } }
}

final class CloudBlobStoreTests: XCTestCase {
    func testTheStoreLogicConformsOverTheInMemoryDatabase() throws {
        let database = MemoryCloudDatabase()
        let store = CloudBlobStore(database: database)
        // A first listing from nothing, so later ones page through the change feed.
        _ = try store.list(prefix: "")
        let passed = try blobStoreConformance(store: store, largeObjectBytes: 2 << 20, listObjects: 1_100, threads: 8)
        XCTAssertEqual(passed.count, 9, "checks passed: \(passed)")
        XCTAssertEqual(database.recordCount, 0, "the suite deletes what it wrote")
    }

    func testTheStoreLogicConformsBehindTheCoresRetriesWhileCloudKitThrottles() throws {
        let database = MemoryCloudDatabase()
        database.faultEvery = 17
        database.pageSize = 64
        let passed = try blobStoreConformanceWithRetries(
            store: CloudBlobStore(database: database), largeObjectBytes: 1 << 20, listObjects: 1_100, threads: 8)
        XCTAssertEqual(passed.count, 9, "checks passed: \(passed)")
        XCTAssertGreaterThan(database.faultsInjected, 20)
    }

    func testCreateIsDecidedByTheServerAndFailuresArriveTyped() throws {
        let database = MemoryCloudDatabase()
        let phone = CloudBlobStore(database: database)
        let other = CloudBlobStore(database: database) // another device on the same zone
        XCTAssertTrue(try phone.create(name: "locks/a", data: Data("mine".utf8)))
        XCTAssertFalse(try other.create(name: "locks/a", data: Data("theirs".utf8)))
        XCTAssertEqual(try other.get(name: "locks/a", range: nil), Data("mine".utf8))
        // The other device's listing sees the lock through the change feed.
        XCTAssertEqual(try other.list(prefix: "locks/").map(\.name), ["locks/a"])
        try phone.delete(name: "locks/a")
        try phone.delete(name: "locks/a") // already gone: fine
        XCTAssertEqual(try other.list(prefix: "locks/").count, 0)
        XCTAssertNil(try other.stat(name: "locks/a"))
        XCTAssertThrowsError(try other.get(name: "locks/a", range: ByteRange(offset: 0, len: 1))) { error in
            guard case BlobStoreError.NotFound(let name) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "locks/a")
        }
        database.faultEvery = 1
        XCTAssertThrowsError(try phone.put(name: "data/x", data: Data([1]))) { error in
            guard case BlobStoreError.Throttled(_, let wait) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(wait, 0)
        }
    }

    func testAnExpiredFeedTokenRereadsTheZone() throws {
        let database = MemoryCloudDatabase()
        let store = CloudBlobStore(database: database)
        try store.put(name: "snapshots/1", data: Data([1, 2]))
        XCTAssertEqual(try store.list(prefix: "snapshots/").map(\.size), [2])
        let other = CloudBlobStore(database: database)
        try other.put(name: "snapshots/2", data: Data([3]))
        database.oldestToken = Int.max
        XCTAssertEqual(try store.list(prefix: "snapshots/").map(\.name), ["snapshots/1", "snapshots/2"])
        XCTAssertEqual(store.usedBytes, 3)
    }
}
