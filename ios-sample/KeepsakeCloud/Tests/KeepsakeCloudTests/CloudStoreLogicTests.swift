// The parts of the iCloud store that need no Apple framework, on Linux and macOS alike. The
// CloudKit calls themselves run only on a device or simulator (CloudKitConformanceTests in the
// app's unit-test target).
import Foundation
import Keepsake
import KeepsakeCloud
import XCTest

final class CloudRecordNamesTests: XCTestCase {
    func testObjectNamesBecomeValidRecordNamesAndComeBack() throws {
        let names = ["config", "data/3fa2c0ffee", "locks/ab", "snapshots/00", "odd name_~%/é", "-", ""]
        var seen = Set<String>()
        for name in names {
            let record = try CloudRecordNames.recordName(for: name)
            XCTAssertTrue(record.hasPrefix("k-"), record)
            XCTAssertFalse(record.hasPrefix("_"))
            XCTAssertTrue(record.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "~.-".contains($0)) }, record)
            XCTAssertEqual(CloudRecordNames.objectName(forRecordName: record), name)
            seen.insert(record)
        }
        XCTAssertEqual(seen.count, names.count, "two names share a record")
        XCTAssertEqual(try CloudRecordNames.recordName(for: "data/3f"), "k-data~2f3f")
    }

    func testForeignOrBrokenRecordNamesAreNotObjects() {
        for record in ["_defaultZone", "data~2f3f", "k-data~2", "k-data~zz", "k-a/b"] {
            XCTAssertNil(CloudRecordNames.objectName(forRecordName: record), record)
        }
    }

    func testANameTooLongForCloudKitIsAFailureNotACrash() {
        XCTAssertNoThrow(try CloudRecordNames.recordName(for: String(repeating: "a", count: 253)))
        XCTAssertThrowsError(try CloudRecordNames.recordName(for: String(repeating: "/", count: 100))) { error in
            guard case BlobStoreError.Failed = error else { return XCTFail("\(error)") }
        }
    }

    func testTopSegments() {
        XCTAssertEqual(CloudRecordNames.top(of: "data/ab"), "data")
        XCTAssertEqual(CloudRecordNames.top(of: "config"), "-")
    }
}

final class CloudErrorPolicyTests: XCTestCase {
    private func map(_ code: CloudErrorCode?, _ retryAfter: Double? = nil) -> BlobStoreError {
        CloudErrorPolicy.blobStoreError(code: code, retryAfterSeconds: retryAfter, operation: "put", name: "data/ab", detail: "d")
    }

    func testTheRawValuesAreCloudKits() {
        // CKError.Code's values, as the CloudKit store converts them.
        XCTAssertEqual(CloudErrorCode.networkUnavailable.rawValue, 3)
        XCTAssertEqual(CloudErrorCode.requestRateLimited.rawValue, 7)
        XCTAssertEqual(CloudErrorCode.notAuthenticated.rawValue, 9)
        XCTAssertEqual(CloudErrorCode.unknownItem.rawValue, 11)
        XCTAssertEqual(CloudErrorCode.serverRecordChanged.rawValue, 14)
        XCTAssertEqual(CloudErrorCode.changeTokenExpired.rawValue, 21)
        XCTAssertEqual(CloudErrorCode.zoneBusy.rawValue, 23)
        XCTAssertEqual(CloudErrorCode.quotaExceeded.rawValue, 25)
        XCTAssertEqual(CloudErrorCode.serverResponseLost.rawValue, 34)
        XCTAssertEqual(CloudErrorCode.accountTemporarilyUnavailable.rawValue, 36)
        XCTAssertEqual(CloudErrorCode.allCases.count, 36)
    }

    func testRateLimitsAndBusyZonesAreThrottledWithCloudKitsWait() {
        guard case .Throttled(_, let wait) = map(.requestRateLimited, 2.5) else { return XCTFail() }
        XCTAssertEqual(wait, 2500)
        guard case .Throttled(_, let busy) = map(.zoneBusy) else { return XCTFail() }
        XCTAssertNil(busy)
        guard case .Throttled(_, let unavailable) = map(.serviceUnavailable, 30) else { return XCTFail() }
        XCTAssertEqual(unavailable, 30_000)
        guard case .Transient = map(.serviceUnavailable) else { return XCTFail() }
    }

    func testEveryOtherKindIsWhatTheScreensExplain() {
        for code: CloudErrorCode in [.networkUnavailable, .networkFailure, .serverResponseLost] {
            guard case .Transient = map(code) else { return XCTFail("\(code)") }
        }
        guard case .QuotaExceeded(let detail) = map(.quotaExceeded) else { return XCTFail() }
        XCTAssertEqual(detail, "iCloud: put data/ab: d")
        for code: CloudErrorCode in [.notAuthenticated, .permissionFailure, .accountTemporarilyUnavailable, .managedAccountRestricted] {
            guard case .Unauthorized = map(code) else { return XCTFail("\(code)") }
        }
        guard case .NotFound(let name) = map(.unknownItem) else { return XCTFail() }
        XCTAssertEqual(name, "data/ab")
        for code: CloudErrorCode? in [.internalError, .invalidArguments, .userDeletedZone, .limitExceeded, nil] {
            guard case .Failed = map(code) else { return XCTFail("\(String(describing: code))") }
        }
        XCTAssertTrue(CloudErrorPolicy.meansTaken(.serverRecordChanged))
        XCTAssertFalse(CloudErrorPolicy.meansTaken(.quotaExceeded))
        XCTAssertTrue(CloudErrorPolicy.meansAlreadyGone(.unknownItem))
    }
}

final class ZoneMirrorTests: XCTestCase {
    typealias Mirror = ZoneMirror<Int>

    func testPagesAreFollowedAndLaterListingsReadOnlyChanges() throws {
        let mirror = Mirror()
        var asked: [Int?] = []
        let pages = [
            Mirror.Page(saved: [("data/a", 1), ("data/b", 2)], deleted: [], token: 1, moreComing: true),
            Mirror.Page(saved: [("locks/x", 3), ("config", 4)], deleted: [], token: 2, moreComing: false),
        ]
        try mirror.refresh { token in asked.append(token); return pages[asked.count - 1] }
        XCTAssertEqual(asked, [nil, 1])
        XCTAssertEqual(mirror.list(prefix: "data/").map(\.name), ["data/a", "data/b"])
        XCTAssertEqual(mirror.list(prefix: "").count, 4)
        XCTAssertEqual(mirror.totalBytes, 10)
        try mirror.refresh { token in
            XCTAssertEqual(token, 2)
            return Mirror.Page(saved: [("data/a", 9)], deleted: ["locks/x"], token: 3, moreComing: false)
        }
        XCTAssertEqual(mirror.list(prefix: "data/a").map(\.size), [9])
        XCTAssertTrue(mirror.list(prefix: "locks/").isEmpty)
    }

    func testAnExpiredTokenStartsOverOnceThenFails() throws {
        let mirror = Mirror()
        try mirror.refresh { _ in Mirror.Page(saved: [("data/gone", 1)], deleted: [], token: 5, moreComing: false) }
        var calls = 0
        try mirror.refresh { token in
            calls += 1
            if token == 5 { throw Mirror.TokenExpired() }
            return Mirror.Page(saved: [("data/new", 2)], deleted: [], token: 6, moreComing: false)
        }
        XCTAssertEqual(calls, 2)
        XCTAssertEqual(mirror.list(prefix: "").map(\.name), ["data/new"], "the stale mirror was dropped")
        XCTAssertThrowsError(try mirror.refresh { _ in throw Mirror.TokenExpired() })
    }

    func testOwnWritesShowBeforeTheFeedHasThem() throws {
        let mirror = Mirror()
        mirror.noteSaved("locks/mine", size: 7)
        XCTAssertEqual(mirror.list(prefix: "locks/").map(\.name), ["locks/mine"])
        mirror.noteDeleted("locks/mine")
        XCTAssertTrue(mirror.list(prefix: "locks/").isEmpty)
    }

    func testAFailedFetchKeepsWhatWasKnown() throws {
        let mirror = Mirror()
        try mirror.refresh { _ in Mirror.Page(saved: [("config", 1)], deleted: [], token: 1, moreComing: false) }
        XCTAssertThrowsError(try mirror.refresh { _ in throw BlobStoreError.Transient(detail: "offline") })
        XCTAssertEqual(mirror.list(prefix: "").map(\.name), ["config"])
    }
}

final class BlockingAndRangeTests: XCTestCase {
    func testAsyncWorkRunsToItsResultOrError() throws {
        let value = try runBlocking { () async throws -> Int in
            try await Task.sleep(nanoseconds: 1_000_000)
            return 42
        }
        XCTAssertEqual(value, 42)
        XCTAssertThrowsError(try runBlocking { () async throws -> Int in throw BlobStoreError.Transient(detail: "x") })
        // From several threads at once, as Keepsake calls a store.
        let results = ResultsBox()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let v = try? runBlocking { () async throws -> Int in i * 2 }
            results.add(v ?? -1)
        }
        XCTAssertEqual(results.sorted, (0..<8).map { $0 * 2 })
    }

    func testRangesAreReadFromTheDownloadedFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-range-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let data = Data((0..<1000).map { UInt8($0 % 251) })
        try data.write(to: url)
        XCTAssertEqual(try readRange(of: url, offset: 10, length: 10), data[10..<20])
        XCTAssertEqual(try readRange(of: url, offset: 990, length: 100), data[990..<1000])
        XCTAssertEqual(try readRange(of: url, offset: 5, length: Int64.max), data[5...])
        XCTAssertEqual(try readRange(of: url, offset: 0, length: nil), data)
        XCTAssertEqual(try readRange(of: url, offset: 1000, length: 5), Data())
        XCTAssertEqual(try readRange(of: url, offset: 5000, length: 1), Data())
    }
}

private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    func add(_ v: Int) { lock.lock(); values.append(v); lock.unlock() }
    var sorted: [Int] { lock.lock(); defer { lock.unlock() }; return values.sorted() }
}
