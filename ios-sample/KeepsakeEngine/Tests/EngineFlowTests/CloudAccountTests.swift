// The storage part of the screens over the real library: a new phone finds the repository an old
// phone backed up into the store, what the backup uses is what the store holds, and a store that
// is full or refuses the account stops a backup with the failure the screens explain.
import Foundation
import Keepsake
import KeepsakeEngine
import KeepsakeFlow
import XCTest

/// A store whose writes and listings fail with `failure` while it is set (a full iCloud, a
/// signed-out account).
private final class RefusingStore: BlobStore, @unchecked Sendable {
    private let inner = memoryBlobStore()
    private let lock = NSLock()
    private var current: BlobStoreError?
    var failure: BlobStoreError? {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    func put(name: String, data: Data) throws {
        if let failure { throw failure }
        try inner.put(name: name, data: data)
    }
    func get(name: String, range: ByteRange?) throws -> Data { try inner.get(name: name, range: range) }
    func create(name: String, data: Data) throws -> Bool {
        if let failure { throw failure }
        return try inner.create(name: name, data: data)
    }
    func list(prefix: String) throws -> [ObjectInfo] {
        if let failure { throw failure }
        return try inner.list(prefix: prefix)
    }
    func delete(name: String) throws { try inner.delete(name: name) }
    func stat(name: String) throws -> Int64? { try inner.stat(name: name) }
}

final class CloudAccountTests: XCTestCase {
    private var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-cloud-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func engine(_ name: String, _ store: BlobStore) -> BindingsBackupEngine {
        BindingsBackupEngine(chatDatabase: dir.appendingPathComponent("\(name).sqlite").path, relyingPartyId: "keepsake.example",
                             blobStore: { store })
    }

    @MainActor
    func testANewPhoneFindsTheOldPhonesRepositoryAndSeesWhatItUses() async throws {
        let store = memoryBlobStore()
        let account = BlobStoreCloudAccount(store: { store }, currentPlace: { .iCloud }, signInWith: { .iCloud },
                                            freeBytes: { 1 << 30 })
        let empty = try await account.hasRepository()
        XCTAssertFalse(empty)
        let old = engine("old", store)
        let (secrets, _) = try await old.addRecoveryKey(try await old.createKeyring(), label: "Recovery key")
        _ = try await old.backUpWithMedia(secrets) { _ in }
        let newPhone = CloudBackupViewModel(account: account)
        await newPhone.findBackup()
        XCTAssertEqual(newPhone.state.newPhone, .found)
        XCTAssertEqual(newPhone.state.action, .unlock)
        let usage = try await account.usage()
        let listed = try store.list(prefix: "").reduce(Int64(0)) { $0 + $1.size }
        XCTAssertEqual(usage.backupBytes, UInt64(listed))
        XCTAssertGreaterThan(usage.backupBytes, 0)
        XCTAssertEqual(usage.accountFreeBytes, 1 << 30)
    }

    func testAFullOrRefusingStoreStopsTheBackupWithTheFailureTheScreensExplain() async throws {
        let store = RefusingStore()
        let phone = engine("phone", store)
        let (secrets, _) = try await phone.addRecoveryKey(try await phone.createKeyring(), label: "Recovery key")
        let account = BlobStoreCloudAccount(store: { store }, currentPlace: { .iCloud }, signInWith: { .iCloud })
        let cases: [(BlobStoreError, Failure)] = [
            (.QuotaExceeded(detail: "iCloud: quotaExceeded"), .storageFull),
            (.Unauthorized(detail: "iCloud: notAuthenticated"), .signInRequired),
        ]
        for (failure, expected) in cases {
            store.failure = failure
            do {
                _ = try await phone.backUpWithMedia(secrets) { _ in }
                XCTFail("the backup went through a \(failure) store")
            } catch let error as KeepsakeFlowError {
                XCTAssertEqual(error.failure, expected)
            }
            do {
                _ = try await account.usage()
                XCTFail("usage went through")
            } catch let error as KeepsakeFlowError {
                XCTAssertEqual(error.failure, expected)
            }
        }
        store.failure = .Throttled(detail: "requestRateLimited", retryAfterMs: 120_000)
        do {
            _ = try await account.usage()
            XCTFail("usage went through")
        } catch let error as KeepsakeFlowError {
            XCTAssertEqual(error.failure, .storageUnavailable)
        }
        store.failure = nil
        _ = try await phone.backUpWithMedia(secrets) { _ in }
        let present = try await account.hasRepository()
        XCTAssertTrue(present)
    }
}
