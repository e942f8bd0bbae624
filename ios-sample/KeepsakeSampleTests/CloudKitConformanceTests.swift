// The bindings' blob store conformance suite against the CloudKit store, in the app's unit-test
// target (hosted by the app, so it runs with the app's iCloud entitlements). It needs a simulator
// or device signed in to iCloud with the app's container set up; without one it is skipped (CI's
// simulators have no account). Behind the core's retry policy, as every Repository uses a store.
#if canImport(CloudKit)
import CloudKit
import Keepsake
import KeepsakeCloud
import XCTest

final class CloudKitConformanceTests: XCTestCase {
    func testTheCloudKitStoreConforms() throws {
        // A zone of its own, so the suite never touches a real backup's records.
        let store = CloudKitBlobStore(zoneName: "KeepsakeConformance")
        let status = try? store.accountStatus()
        try XCTSkipUnless(status == .available, "no iCloud account on this simulator or device (\(String(describing: status)))")
        // Synchronous on purpose: the suite calls the store from its own threads, and the
        // store blocks them on CloudKit's async calls, never a Swift concurrency thread.
        let passed = try blobStoreConformanceWithRetries(store: store, largeObjectBytes: 4 << 20, listObjects: 1_100, threads: 8)
        XCTAssertEqual(passed.count, 9, "checks passed: \(passed)")
    }
}
#endif
