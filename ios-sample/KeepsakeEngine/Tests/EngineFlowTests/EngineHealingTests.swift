// What the user sees when the backup storage lost or damaged data (issue 19), over the real
// library, as the Kotlin EngineHealingTest: the sample's view-models over BindingsBackupEngine
// with the repository in a folder shared by the "phones" of a test, wrapped in a store that
// keeps the last lock a writer created.
import Foundation
import XCTest
import Keepsake
import KeepsakeEngine
import KeepsakeFlow

/// The cloud of a test, keeping a copy of the last lock a writer created (put back, it is a live
/// lock of this process).
final class RecordingCloud: BlobStore, @unchecked Sendable {
    let folder: URL
    private let inner: BlobStore
    private let lock = NSLock()
    private var recorded: (String, Data)?

    init(_ folder: URL) throws {
        self.folder = folder
        inner = try directoryBlobStore(path: folder.path)
    }

    var lastLock: (String, Data)? { lock.withLock { recorded } }

    func put(name: String, data: Data) throws { try inner.put(name: name, data: data) }
    func get(name: String, range: ByteRange?) throws -> Data { try inner.get(name: name, range: range) }
    func create(name: String, data: Data) throws -> Bool {
        if name.hasPrefix("locks/") { lock.withLock { recorded = (name, data) } }
        return try inner.create(name: name, data: data)
    }
    func list(prefix: String) throws -> [ObjectInfo] { try inner.list(prefix: prefix) }
    func delete(name: String) throws { try inner.delete(name: name) }
    func stat(name: String) throws -> Int64? { try inner.stat(name: name) }
}

@MainActor
final class EngineHealingTests: XCTestCase {
    var dir: URL!
    var cloud: RecordingCloud!

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-healing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        cloud = try RecordingCloud(dir.appendingPathComponent("cloud"))
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Chats on `phone`, a recovery key and one backup into the storage; returns the key.
    private func backedUp(_ phone: Phone) async throws -> String {
        await phone.chat.newConversation(title: "Ana")
        for index in 0..<3 { _ = await phone.chat.send("message \(index)") }
        await phone.backup.addRecoveryKey()?.value
        guard let key = phone.backup.state.newRecoveryKey else { throw Expectation(description: "no recovery key \(phone.backup.state)") }
        await phone.backup.backUpWithMedia()?.value
        try expect(phone.backup.state.message?.isError == false, "first backup \(phone.backup.state)")
        return key
    }

    private func restored(on phone: Phone, _ key: String) async throws -> RestoreViewModel {
        let restore = phone.restore()
        await restore.pickRepository()?.value
        await restore.unlockWithRecoveryKey(key)?.value
        return restore
    }

    func testABackupOverAStorageThatLostAPackHealsItAndSaysSoAndANewPhoneRestoresIt() async throws {
        let old = Phone(dir, "old", store: cloud)
        let key = try await backedUp(old)
        let packs = try FileManager.default.contentsOfDirectory(atPath: cloud.folder.appendingPathComponent("data").path)
            .filter { !$0.hasPrefix(".") }.sorted()
        try FileManager.default.removeItem(at: cloud.folder.appendingPathComponent("data").appendingPathComponent(packs[0]))
        _ = await old.chat.send("after the loss")
        await old.backup.backUpWithMedia()?.value
        let message = try unwrap(old.backup.state.message)
        try expect(!message.isError && message.text.contains("Your backup storage lost or damaged some data (1 lost"), "\(message)")

        let restore = try await restored(on: Phone(dir, "new", store: cloud), key)
        guard case .restored(4, _, _, _, 0, _) = restore.state else { throw Expectation(description: "\(restore.state)") }
    }

    func testADamagedNewestBackupIsPassedOverOnRestoreAndTheRepairRemovesIt() async throws {
        let old = Phone(dir, "old", store: cloud)
        let key = try await backedUp(old)
        _ = await old.chat.send("one more")
        await old.backup.backUpWithMedia()?.value
        let repository = try Repository.open(store: try directoryBlobStore(path: cloud.folder.path),
                                             secret: try BackupSecret.recoveryKey(text: key))
        let newest = try unwrap(try repository.history().snapshots.last)
        let damaged = cloud.folder.appendingPathComponent("snapshots").appendingPathComponent(newest.id)
        var bytes = try Data(contentsOf: damaged)
        bytes[bytes.startIndex + 20] ^= 0x04
        try bytes.write(to: damaged)

        let fresh = Phone(dir, "new", store: cloud)
        let restore = try await restored(on: fresh, key)
        guard case .restored(3, _, _, _, 1, _) = restore.state else { throw Expectation(description: "\(restore.state)") }
        let said = try unwrap(restore.state.restoredMessage).text
        try expect(said.contains("1 backup in the backup storage was damaged: this is the newest intact one, from "), said)

        // The repair, from the new phone's Backup screen (it keeps the keyring it restored).
        await fresh.backup.repairStorage()?.value
        try expect(fresh.backup.state.message?.text
                   == "Backup storage repaired. 1 backup that could no longer be restored was removed. Back up now to store everything again.",
                   "\(String(describing: fresh.backup.state.message))")
        try expect(!FileManager.default.fileExists(atPath: damaged.path), "the damaged snapshot is still there")
        await fresh.backup.repairStorage()?.value
        try expect(fresh.backup.state.message?.text == "Your backup storage is in order.", "\(String(describing: fresh.backup.state.message))")
    }

    func testALockALiveWriterHoldsMakesTheBackupWaitWithTheActionToTryAgainLater() async throws {
        let old = Phone(dir, "old", store: cloud)
        _ = try await backedUp(old)
        let (name, bytes) = try unwrap(cloud.lastLock)
        try cloud.put(name: name, data: bytes)
        await old.backup.backUpWithMedia()?.value
        let message = old.backup.state.message
        try expect(message == UserMessage.of(.storageBusy) && message?.action == .tryAgainLater, "\(String(describing: message))")
    }
}

/// `value`, or a failed expectation naming the line.
private func unwrap<T>(_ value: T?, line: Int = #line) throws -> T {
    guard let value else { throw Expectation(description: "line \(line): nil") }
    return value
}
