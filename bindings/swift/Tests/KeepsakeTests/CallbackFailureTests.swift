// What an app callback that throws turns into (docs/SWIFT.md, "Errors" and "Threading"): a
// throwing progress listener is dropped and logged while the operation succeeds; a blob store's
// error reaches the app as `Storage` with the error's description.
import Foundation
import Keepsake
import XCTest

/// The app's logger, keeping the warnings.
final class WarningLog: Logger, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []
    var warnings: [String] { lock.lock(); defer { lock.unlock() }; return kept }
    func log(level: LogLevel, target: String, message: String) {
        guard level == .warn else { return }
        lock.lock(); kept.append(message); lock.unlock()
    }
}

/// A listener with a bug: it throws on every report.
final class ThrowingListener: ProgressListener, @unchecked Sendable {
    struct ScreenGone: Error, CustomStringConvertible { var description: String { "the screen is gone" } }
    private let lock = NSLock()
    private var count = 0
    var calls: Int { lock.lock(); defer { lock.unlock() }; return count }
    func onProgress(report: ProgressReport) throws {
        lock.lock(); count += 1; lock.unlock()
        throw ScreenGone()
    }
}

/// A store whose uploads fail, as a full cloud quota does.
final class FullStore: BlobStore, @unchecked Sendable {
    struct QuotaExceeded: Error, CustomStringConvertible { var description: String { "quota exceeded" } }
    func put(name: String, data: Data) throws { throw QuotaExceeded() }
    func get(name: String, range: ByteRange?) throws -> Data { throw BlobStoreError.NotFound(name: name) }
    func list(prefix: String) throws -> [String] { [] }
    func delete(name: String) throws {}
    func stat(name: String) throws -> Int64? { nil }
}

final class CallbackFailureTests: XCTestCase {
    func testAThrowingProgressListenerIsDroppedAndLoggedWhileTheBackupSucceeds() throws {
        let dir = try tempDir("keepsake-swift-callbacks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("chat.db").path
        try seedChats(db)
        let log = WarningLog()
        try installLogger(logger: log, maxLevel: .warn)
        let keyring = try Keyring.create()
        _ = try keyring.addRecoveryKey(label: "Paper")
        let listener = ThrowingListener()
        let store = try ChatStore.open(path: db)
        let path = dir.appendingPathComponent("b.keepsake").path
        let report = try backupToPath(store: store, keyring: keyring, path: path, listener: listener)
        XCTAssertEqual(report.counts?.messages, 75, "the backup completed")
        _ = try verifyBackup(path: path, secret: BackupSecret.deviceKeyring(keyring: keyring))
        XCTAssertEqual(listener.calls, 1, "a listener that threw gets no more reports")
        XCTAssertEqual(log.warnings.count, 1, "\(log.warnings)")
        XCTAssertTrue(log.warnings.first?.contains("progress listener") == true, "\(log.warnings)")
        XCTAssertTrue(log.warnings.first?.contains("the screen is gone") == true, "\(log.warnings)")
    }

    func testABlobStoreErrorIsStorageWithItsDescription() throws {
        let keyring = try Keyring.create()
        _ = try keyring.addRecoveryKey(label: "Paper")
        do {
            _ = try Repository.create(store: FullStore(), keyring: keyring)
            XCTFail("a store that cannot upload held a new repository")
        } catch KeepsakeError.Storage(let detail) {
            XCTAssertTrue(detail.contains("quota exceeded"), detail)
            XCTAssertFalse(detail.contains("\n"), detail)
        }
    }
}
