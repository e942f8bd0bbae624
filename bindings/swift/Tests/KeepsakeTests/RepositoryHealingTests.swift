// A backup that says it succeeded always restores (issue 19), from Swift, as the Kotlin
// RepositoryHealingTest: a store that loses a pack costs nothing once the next backup ran (and
// the report says what it healed), a damaged snapshot is listed as damaged while the latest
// restore takes the newest intact one, check tells healthy from healed from broken without
// throwing, repair previews then applies, unlock refuses a live lock without force, and prune
// refuses to forget every snapshot unless told.
import Foundation
import Keepsake
import XCTest

/// The app's store, keeping a copy of the last lock a writer created (put back, it is a live
/// lock of this process).
final class LockRecordingStore: BlobStore, @unchecked Sendable {
    private let inner: BlobStore
    private let lock = NSLock()
    private var recorded: (String, Data)?

    init(_ inner: BlobStore) { self.inner = inner }

    var lastLock: (String, Data)? {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func put(name: String, data: Data) throws { try inner.put(name: name, data: data) }
    func get(name: String, range: ByteRange?) throws -> Data { try inner.get(name: name, range: range) }
    func create(name: String, data: Data) throws -> Bool {
        if name.hasPrefix("locks/") {
            lock.lock()
            recorded = (name, data)
            lock.unlock()
        }
        return try inner.create(name: name, data: data)
    }
    func list(prefix: String) throws -> [ObjectInfo] { try inner.list(prefix: prefix) }
    func delete(name: String) throws { try inner.delete(name: name) }
    func stat(name: String) throws -> Int64? { try inner.stat(name: name) }
}

final class RepositoryHealingTests: XCTestCase {
    /// A repository (of a keyring with a recovery key) over an app-written dictionary store,
    /// and a chat database of many chunks.
    private struct Fixture {
        let dir: URL
        let store = AppStore(DictionaryStore())
        let db: String
        let repository: Repository

        init(_ name: String) async throws {
            dir = try tempDir("keepsake-heal-\(name)")
            db = dir.appendingPathComponent("chat.db").path
            try seedLargeChats(db)
            let keyring = try Keyring.create()
            _ = try keyring.addRecoveryKey(label: "Paper")
            repository = try await createRepository(store: store, keyring: keyring,
                                                    cacheDir: dir.appendingPathComponent("cache").path)
        }

        func target() -> String { dir.appendingPathComponent("restored-\(UUID().uuidString).db").path }

        /// Flips one bit of the object `name`, as a store that damages what it holds.
        func damage(_ name: String, at offset: Int) throws {
            var bytes = try store.inner.get(name: name, range: nil)
            bytes[bytes.startIndex + offset] ^= 0x04
            try store.inner.put(name: name, data: bytes)
        }

        func restored(_ snapshotId: String? = nil) async throws -> [ConversationContent] {
            let path = target()
            _ = try await repository.restoreOperation(to: path, snapshotId: snapshotId).result
            return try readBack(path)
        }
    }

    func testALostPackIsUploadedAgainByTheNextBackupWhichSaysSoAndEverySnapshotRestoresExactly() async throws {
        let f = try await Fixture("lost-pack")
        let first = try await backUp(f.repository, f.db).0
        XCTAssertFalse(first.healing.foundDamage, "\(first.healing)")
        let healthy = try await f.repository.checkOperation(readDataFraction: 1).result
        XCTAssertEqual(healthy.verdict, .healthy)
        XCTAssertEqual(healthy.problems, [])

        let lost = try XCTUnwrap(try f.store.list(prefix: "data/").first).name
        try f.store.inner.delete(name: lost)
        // Broken until a backup ran: reported with every problem, not thrown.
        let broken = try await f.repository.checkOperation().result
        XCTAssertEqual(broken.verdict, .broken, "\(broken)")
        XCTAssertTrue(broken.problems.contains { $0.kind == .lostPack && $0.objectName == lost }, "\(broken.problems)")
        XCTAssertTrue(broken.problems.contains { $0.loss && $0.snapshotId == first.snapshotId }, "\(broken.problems)")

        let second = try await backUp(f.repository, f.db).0
        XCTAssertEqual(second.healing.packsLost, 1, "\(second.healing)")
        XCTAssertTrue(second.healing.foundDamage)
        XCTAssertFalse(second.healing.storeRolledBack)
        let expected = try readBack(f.db)
        for snapshot in [nil, first.snapshotId, second.snapshotId] {
            let content = try await f.restored(snapshot)
            XCTAssertEqual(content, expected, "snapshot \(snapshot ?? "latest")")
        }
        let healed = try await f.repository.checkOperation(readDataFraction: 1).result
        XCTAssertEqual(healed.verdict, .healed, "\(healed)")
        XCTAssertTrue(!healed.problems.isEmpty && healed.problems.allSatisfy { !$0.loss && $0.healed && $0.detail.hasSuffix(".") },
                      "\(healed.problems)")
    }

    func testADamagedNewestSnapshotIsListedAsDamagedAndTheLatestRestoreTakesTheOneBefore() async throws {
        let f = try await Fixture("damaged-snapshot")
        let first = try await backUp(f.repository, f.db).0
        let firstContent = try readBack(f.db)
        try addMessages(f.db, firstId: 700_000)
        let second = try await backUp(f.repository, f.db).0
        let objectName = "snapshots/\(second.snapshotId)"
        try f.damage(objectName, at: 20)

        let history = try await f.repository.loadHistory()
        XCTAssertEqual(history.snapshots.map(\.id), [first.snapshotId])
        XCTAssertEqual(history.snapshots.map(\.sequence), [1])
        XCTAssertEqual(history.damaged.count, 1)
        XCTAssertEqual(history.damaged.first?.id, second.snapshotId)
        XCTAssertEqual(history.damaged.first?.name, objectName)
        let intact = try await f.repository.loadSnapshots()
        XCTAssertEqual(intact, history.snapshots)
        let latest = try await f.restored()
        XCTAssertEqual(latest, firstContent)
        let check = try await f.repository.checkOperation().result
        XCTAssertEqual(check.verdict, .broken)
        XCTAssertTrue(check.problems.contains { $0.kind == .damagedSnapshot && $0.snapshotId == second.snapshotId }, "\(check.problems)")

        // Repair previews, changing nothing; then removes the damaged object.
        let preview = try await f.repository.repairRepository()
        XCTAssertFalse(preview.applied)
        XCTAssertFalse(preview.nothingToRepair)
        XCTAssertEqual(preview.snapshotsRemoved.map(\.name), [objectName])
        XCTAssertNotNil(try f.store.stat(name: objectName))
        let applied = try await f.repository.repairRepository(apply: true)
        XCTAssertTrue(applied.applied)
        XCTAssertEqual(applied.snapshotsRemoved, preview.snapshotsRemoved)
        XCTAssertNil(try f.store.stat(name: objectName))
        let damagedAfter = try await f.repository.loadHistory().damaged
        XCTAssertEqual(damagedAfter, [])
        let verdict = try await f.repository.checkOperation(readDataFraction: 1).result.verdict
        XCTAssertNotEqual(verdict, .broken)
        let again = try await f.repository.repairRepository()
        XCTAssertTrue(again.nothingToRepair)
        // The next backup stores the device's data again.
        let third = try await backUp(f.repository, f.db).0
        XCTAssertEqual(third.healing.snapshotsDamaged, 0)
        let restored = try await f.restored()
        XCTAssertEqual(restored, try readBack(f.db))
    }

    func testADamagedPackIsBrokenForCheckAndHealedByTheNextBackupsVerification() async throws {
        let f = try await Fixture("damaged-pack")
        _ = try await backUp(f.repository, f.db)
        let pack = try XCTUnwrap(try f.store.list(prefix: "data/").max { $0.size < $1.size }).name
        try f.damage(pack, at: 100)   // inside the first chunk's ciphertext
        let broken = try await f.repository.checkOperation(readDataFraction: 1).result
        XCTAssertEqual(broken.verdict, .broken)
        XCTAssertTrue(broken.problems.contains { $0.kind == .damagedChunk && $0.objectName == pack && !$0.healed }, "\(broken.problems)")
        let healing = try await backUp(f.repository, f.db).0.healing
        XCTAssertTrue(healing.chunksDamaged >= 1 && healing.foundDamage, "\(healing)")
        let restored = try await f.restored()
        XCTAssertEqual(restored, try readBack(f.db))
    }

    func testUnlockRefusesALiveLockWithoutForce() async throws {
        let dir = try tempDir("keepsake-heal-lock")
        let store = LockRecordingStore(DictionaryStore())
        let keyring = try Keyring.create()
        _ = try keyring.addRecoveryKey(label: "Paper")
        let repository = try await createRepository(store: store, keyring: keyring)
        let db = dir.appendingPathComponent("chat.db").path
        try seedChats(db)
        _ = try await backUp(repository, db)
        let nothing = try await repository.unlockRepository()
        XCTAssertEqual(nothing, UnlockReport(removed: [], junk: []))
        // The backup's own lock, put back: a writer of this live process holds it.
        let (name, bytes) = try XCTUnwrap(store.lastLock)
        try store.put(name: name, data: bytes)
        let refused = await assertThrowsKeepsake({ try await repository.unlockRepository() }) {
            if case .RepositoryLocked(let detail) = $0 { return detail.contains("live") } else { return false }
        }
        XCTAssertNotNil(refused)
        await assertThrowsKeepsake({ try await backUp(repository, db) }) {
            if case .RepositoryLocked = $0 { return true } else { return false }
        }
        let forced = try await repository.unlockRepository(force: true)
        XCTAssertEqual(forced.removed.count, 1, "\(forced)")
        XCTAssertTrue(forced.removed.first?.hasPrefix(name) ?? false, "\(forced)")
        _ = try await backUp(repository, db)
    }

    func testPruneRefusesToForgetEverySnapshotUnlessToldAndADryRunChangesNothing() async throws {
        let f = try await Fixture("prune")
        _ = try await backUp(f.repository, f.db)
        await assertThrowsKeepsake({ try await f.repository.pruneOperation(RetentionPolicy(keepLast: 0)).result }) {
            if case .InvalidArgument(let detail) = $0 { return detail.contains("allow_forget_all") } else { return false }
        }
        let everything = RetentionPolicy(keepLast: 0, allowForgetAll: true)
        let dry = try await f.repository.pruneOperation(everything, dryRun: true).result
        XCTAssertTrue(dry.dryRun)
        XCTAssertEqual(dry.snapshotsKept, 0)
        XCTAssertEqual(dry.snapshotsRemoved, 1)
        let kept = try await f.repository.loadSnapshots().count
        XCTAssertEqual(kept, 1)
        let done = try await f.repository.pruneOperation(everything).result
        XCTAssertFalse(done.dryRun)
        XCTAssertNil(done.notReclaimed)
        let left = try await f.repository.loadSnapshots()
        XCTAssertEqual(left, [])
    }

    func testConnectionsAndVerificationAreTheAppsToSet() async throws {
        let f = try await Fixture("settings")
        XCTAssertEqual(try f.repository.connections(), 4)
        for bad: Int64 in [0, 33, -1] {
            XCTAssertThrowsError(try f.repository.setConnections(connections: bad)) { error in
                guard case KeepsakeError.InvalidArgument = error else { return XCTFail("\(error)") }
            }
        }
        try f.repository.setConnections(connections: 8)
        XCTAssertEqual(try f.repository.connections(), 8)
        // Backups read 16 MiB of packs back by default; 0 turns it off.
        XCTAssertEqual(BackupOptions(extraMetadata: [:]).verifyBytes, 16 << 20)
        _ = try await backUp(f.repository, f.db)
        let chats = try ChatStore.open(path: f.db)
        let off = try await f.repository.backupOperation(chats, options: BackupOptions(extraMetadata: [:], verifyBytes: 0)).result
        try chats.closeDatabase()
        XCTAssertEqual(off.healing.packsVerified, 0)
        let on = try await backUp(f.repository, f.db).0
        XCTAssertTrue(on.healing.packsVerified >= 1 && on.healing.bytesVerified > 0, "\(on.healing)")
    }
}
