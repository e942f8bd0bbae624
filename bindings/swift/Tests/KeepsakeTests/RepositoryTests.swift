// The backup repository from Swift (issue 10), through Repository+Async.swift and the generated
// `Repository`, over three blob stores: two an app writes itself (a directory, a dictionary) and
// the built-in memory store. Every store sits behind `AppStore`, the app's own wrapper that counts
// what it uploads and can go offline, fail or stall, as a cloud SDK does. One journey per store
// backs up twice and is shared by the read-only tests (each runs over all three stores); tests
// that change a repository (failures, cancels, prune, damage) make their own.
import Foundation
import Keepsake
import XCTest

/// Runs `body` holding `lock`.
private func locked<T>(_ lock: NSLock, _ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
}

/// The bytes `range` selects of `data` (fewer at its end, none past it).
private func slice(_ data: Data, _ range: ByteRange?) -> Data {
    guard let range else { return data }
    let start = Int(min(range.offset, Int64(data.count)))
    let end = Int(min(Int64(start) + range.len, Int64(data.count)))
    return data.subdata(in: start..<end)
}

/// A `BlobStore` over a local directory, as an app writes one over its file API.
final class DirectoryStore: BlobStore, @unchecked Sendable {
    private let root: URL
    init(root: URL) {
        self.root = root
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    private func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    func put(name: String, data: Data) throws {
        let target = url(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: target, options: .atomic)
    }

    func get(name: String, range: ByteRange?) throws -> Data {
        guard let data = FileManager.default.contents(atPath: url(name).path) else {
            throw BlobStoreError.NotFound(name: name)
        }
        return slice(data, range)
    }

    func create(name: String, data: Data) throws -> Bool {
        let target = url(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temp = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).part")
        try data.write(to: temp)
        defer { try? FileManager.default.removeItem(at: temp) }
        // A hard link never replaces its target: the name is taken whole or not at all.
        do {
            try FileManager.default.linkItem(at: temp, to: target)
            return true
        } catch CocoaError.fileWriteFileExists {
            return false
        }
    }

    func list(prefix: String) throws -> [ObjectInfo] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var objects: [ObjectInfo] = []
        for case let relative as String in walker {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: url(relative).path, isDirectory: &isDirectory)
            let hidden = relative.hasPrefix(".") || relative.contains("/.")
            if !isDirectory.boolValue && !hidden && relative.hasPrefix(prefix) {
                objects.append(ObjectInfo(name: relative, size: fileSize(url(relative).path) ?? 0))
            }
        }
        return objects
    }

    func delete(name: String) throws {
        try? FileManager.default.removeItem(at: url(name))
    }

    func stat(name: String) throws -> Int64? {
        fileSize(url(name).path)
    }
}

/// A `BlobStore` over an in-memory dictionary.
final class DictionaryStore: BlobStore, @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [String: Data] = [:]

    func put(name: String, data: Data) throws { locked(lock) { objects[name] = data } }

    func get(name: String, range: ByteRange?) throws -> Data {
        guard let data = locked(lock, { objects[name] }) else { throw BlobStoreError.NotFound(name: name) }
        return slice(data, range)
    }

    func create(name: String, data: Data) throws -> Bool {
        locked(lock) {
            guard objects[name] == nil else { return false }
            objects[name] = data
            return true
        }
    }

    func list(prefix: String) throws -> [ObjectInfo] {
        locked(lock) {
            objects.filter { $0.key.hasPrefix(prefix) }.map { ObjectInfo(name: $0.key, size: Int64($0.value.count)) }
        }
    }

    func delete(name: String) throws { _ = locked(lock) { objects.removeValue(forKey: name) } }

    func stat(name: String) throws -> Int64? { locked(lock) { objects[name].map { Int64($0.count) } } }
}

/// An error the app's store throws that Keepsake does not declare (a network error).
struct NoNetwork: Error {}

/// One call of `AppStore` held until the test releases it.
final class HeldCall: @unchecked Sendable {
    let op: String
    let prefix: String
    private let lock = NSLock()
    private var hasEntered = false
    private let released = DispatchSemaphore(value: 0)

    init(op: String, prefix: String) { self.op = op; self.prefix = prefix }

    /// Called by the store on the Rust worker thread: blocks until `release()`.
    func enter() {
        locked(lock) { hasEntered = true }
        _ = released.wait(timeout: .now() + 60)
    }

    /// Waits (polling, without blocking the test's executor) until the held call has begun.
    func waitEntered() async throws {
        for _ in 0..<30_000 where !locked(lock, { hasEntered }) { try await Task.sleep(nanoseconds: 2_000_000) }
        XCTAssertTrue(locked(lock) { hasEntered }, "no \(op) of \(prefix)* came")
    }

    func release() { released.signal() }
}

/// The app's wrapper around a store, as it would wrap its cloud SDK: counts the bytes it
/// uploads, and goes offline (an undeclared error), fails puts under a prefix (a declared
/// `BlobStoreError.Failed`) or holds one call, when a test says so.
final class AppStore: BlobStore, @unchecked Sendable {
    let inner: BlobStore
    private let lock = NSLock()
    private var received: Int64 = 0
    private var isOffline = false
    private var failingPrefix: String?
    private var held: HeldCall?

    init(_ inner: BlobStore) { self.inner = inner }

    var uploaded: Int64 { locked(lock) { received } }
    var offline: Bool {
        get { locked(lock) { isOffline } }
        set { locked(lock) { isOffline = newValue } }
    }
    var failPutsUnder: String? {
        get { locked(lock) { failingPrefix } }
        set { locked(lock) { failingPrefix = newValue } }
    }

    func holdNext(_ op: String, _ prefix: String) -> HeldCall {
        let call = HeldCall(op: op, prefix: prefix)
        locked(lock) { held = call }
        return call
    }

    private func call(_ op: String, _ name: String) throws {
        if offline { throw NoNetwork() }
        let hold: HeldCall? = locked(lock) {
            guard let h = held, h.op == op, name.hasPrefix(h.prefix) else { return nil }
            held = nil
            return h
        }
        hold?.enter()
    }

    func put(name: String, data: Data) throws {
        try call("put", name)
        if let prefix = failPutsUnder, name.hasPrefix(prefix) { throw BlobStoreError.Failed(detail: "quota exceeded") }
        try inner.put(name: name, data: data)
        locked(lock) { received += Int64(data.count) }
    }

    func get(name: String, range: ByteRange?) throws -> Data {
        try call("get", name)
        return try inner.get(name: name, range: range)
    }

    func create(name: String, data: Data) throws -> Bool {
        try call("create", name)
        return try inner.create(name: name, data: data)
    }

    func list(prefix: String) throws -> [ObjectInfo] {
        try call("list", prefix)
        return try inner.list(prefix: prefix)
    }

    func delete(name: String) throws {
        try call("delete", name)
        try inner.delete(name: name)
    }

    func stat(name: String) throws -> Int64? {
        try call("stat", name)
        return try inner.stat(name: name)
    }
}

/// The stores every journey runs over.
enum StoreKind: String, CaseIterable {
    case appDirectory, appDictionary, builtInMemory

    func make(_ dir: URL) -> BlobStore {
        switch self {
        case .appDirectory: return DirectoryStore(root: dir)
        case .appDictionary: return DictionaryStore()
        case .builtInMemory: return memoryBlobStore()
        }
    }
}

/// A chat database big enough to be many chunks: TestChats' two conversations plus 6,000 messages.
@discardableResult
func seedLargeChats(_ path: String) throws -> RecordCounts {
    try seedChats(path)
    let store = try ChatStore.open(path: path)
    defer { try? store.closeDatabase() }
    try store.insertMessages(messages: sampleMessages(1, 6_000, 100_000))
    return try store.counts()
}

/// A small change a day brings: ten new messages in the group.
@discardableResult
func addMessages(_ path: String, firstId: Int64) throws -> RecordCounts {
    let store = try ChatStore.open(path: path)
    defer { try? store.closeDatabase() }
    try store.insertMessages(messages: sampleMessages(2, 10, firstId))
    return try store.counts()
}

/// Backs the database at `path` up into `repository` through the async layer, with its progress.
func backUp(_ repository: Repository, _ path: String) async throws -> (RepoBackupReport, [ProgressReport]) {
    let chats = try ChatStore.open(path: path)
    defer { try? chats.closeDatabase() }
    let operation = repository.backupOperation(chats)
    var reports: [ProgressReport] = []
    for await report in operation.progress { reports.append(report) }
    return (try await operation.result, reports)
}

/// Asserts the async `body` throws the `KeepsakeError` case `matches` accepts; returns it.
@discardableResult
func assertThrowsKeepsake<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line,
                             _ matches: (KeepsakeError) -> Bool) async -> KeepsakeError? {
    do {
        _ = try await body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let error as KeepsakeError {
        XCTAssertTrue(matches(error), "unexpected \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("not a KeepsakeError: \(error)", file: file, line: line)
    }
    return nil
}

/// The keyring and the two backups every read-only test of one store starts from.
final class RepositoryJourney: @unchecked Sendable {
    let kind: StoreKind
    let work: URL
    let store: AppStore
    let dbPath: String
    let keyring: Keyring
    let authenticator = SoftAuthenticator(mode: .prfAtRegistration)
    let recoveryKey: String
    let startedAt = Int64(Date().timeIntervalSince1970)
    let repository: Repository
    let first: RepoBackupReport
    let firstReceived: Int64
    let firstProgress: [ProgressReport]
    let firstCounts: RecordCounts
    let firstContent: [ConversationContent]
    let second: RepoBackupReport
    let secondReceived: Int64
    let secondCounts: RecordCounts
    let secondContent: [ConversationContent]

    init(_ kind: StoreKind) async throws {
        self.kind = kind
        work = try tempDir("keepsake-repo-\(kind)")
        store = AppStore(kind.make(work.appendingPathComponent("store")))
        dbPath = work.appendingPathComponent("chat.db").path
        keyring = try Keyring.create()
        let enrollment = try PasskeyEnrollment(
            keyring: keyring, rpId: rp, rpName: "Keepsake Chat", userId: Data([4, 2]), userName: "kim",
            userDisplayName: "Kim", label: "iPhone passkey")
        guard case .enrolled = try enrollment.finishRegistrationTyped(registration: try authenticator.createTyped(enrollment: enrollment)) else {
            throw KeepsakeError.Internal(detail: "expected Enrolled")
        }
        recoveryKey = try keyring.addRecoveryKey(label: "Paper").recoveryKey.reveal()
        firstCounts = try seedLargeChats(dbPath)
        firstContent = try readBack(dbPath)
        repository = try await createRepository(store: store, keyring: keyring, cacheDir: work.appendingPathComponent("cache").path)
        var before = store.uploaded
        let firstRun = try await backUp(repository, dbPath)
        first = firstRun.0
        firstProgress = firstRun.1
        firstReceived = store.uploaded - before
        secondCounts = try addMessages(dbPath, firstId: 300_000)
        secondContent = try readBack(dbPath)
        before = store.uploaded
        second = try await backUp(repository, dbPath).0
        secondReceived = store.uploaded - before
    }

    func path(_ name: String) -> String { work.appendingPathComponent("\(name)-\(UUID().uuidString)").path }
}

final class RepositoryTests: XCTestCase {
    nonisolated(unsafe) static var journeys: [StoreKind: RepositoryJourney] = [:]

    /// Runs `body` with the journey of every store kind (made once per kind).
    private func forEachJourney(_ body: (RepositoryJourney) async throws -> Void) async throws {
        for kind in StoreKind.allCases {
            let journey: RepositoryJourney
            if let made = Self.journeys[kind] {
                journey = made
            } else {
                journey = try await RepositoryJourney(kind)
                Self.journeys[kind] = journey
            }
            try await body(journey)
        }
    }

    /// A fresh store of `kind` with a repository (of a keyring with a recovery key) and a small
    /// chat database.
    private func fresh(_ kind: StoreKind) async throws -> (AppStore, Repository, String, URL) {
        let dir = try tempDir("keepsake-repo-\(kind)")
        let store = AppStore(kind.make(dir.appendingPathComponent("store")))
        let keyring = try Keyring.create()
        _ = try keyring.addRecoveryKey(label: "Paper")
        let repository = try await createRepository(store: store, keyring: keyring,
                                                    cacheDir: dir.appendingPathComponent("cache").path)
        let db = dir.appendingPathComponent("chat.db").path
        try seedChats(db)
        return (store, repository, db, dir)
    }

    override class func tearDown() {
        for journey in journeys.values { try? FileManager.default.removeItem(at: journey.work) }
        super.tearDown()
    }

    func testTheFirstBackupUploadsTheWholeHistoryWithProgress() async throws {
        try await forEachJourney { j in
            let first = j.first
            XCTAssertEqual(first.counts, j.firstCounts, "\(j.kind)")
            XCTAssertGreaterThan(first.chunks, 20, "\(j.kind)")
            // Every data chunk is new, and so are the snapshot's list chunks (counted in newChunks only).
            XCTAssertGreaterThan(first.newChunks, first.chunks, "\(j.kind)")
            XCTAssertLessThanOrEqual(first.newChunks, 2 * first.chunks, "\(j.kind)")
            XCTAssertEqual(first.packsAdopted, 0, "\(j.kind)")
            XCTAssertGreaterThan(first.bytesRead, first.bytesUploaded, "\(j.kind): compressed")
            // What the store received is what the report says, plus the lock objects.
            XCTAssertGreaterThanOrEqual(j.firstReceived, first.bytesUploaded, "\(j.kind)")
            XCTAssertLessThan(j.firstReceived - first.bytesUploaded, 4096, "\(j.kind)")
            for prefix in ["config", "data/", "index/", "snapshots/"] {
                XCTAssertFalse(try j.store.list(prefix: prefix).isEmpty, "\(j.kind): nothing under \(prefix)")
            }
            XCTAssertFalse(j.firstProgress.isEmpty, "\(j.kind)")
            XCTAssertTrue(j.firstProgress.allSatisfy { $0.phase == .backup }, "\(j.kind)")
            for (a, b) in zip(j.firstProgress, j.firstProgress.dropFirst()) {
                XCTAssertGreaterThanOrEqual(b.done, a.done, "\(j.kind): progress went back")
            }
        }
    }

    func testASecondBackupAfterASmallChangeUploadsMuchLess() async throws {
        try await forEachJourney { j in
            let (first, second) = (j.first, j.second)
            XCTAssertEqual(second.counts, j.secondCounts, "\(j.kind)")
            XCTAssertEqual(second.counts.messages, first.counts.messages + 10, "\(j.kind)")
            XCTAssertLessThan(second.bytesUploaded * 4, first.bytesUploaded, "\(j.kind): \(second) after \(first)")
            XCTAssertGreaterThanOrEqual(second.newChunks, 1, "\(j.kind)")
            XCTAssertLessThan(second.newChunks, second.chunks / 4, "\(j.kind)")
            XCTAssertGreaterThanOrEqual(j.secondReceived, second.bytesUploaded, "\(j.kind)")
            XCTAssertLessThan(j.secondReceived - second.bytesUploaded, 4096, "\(j.kind)")
            print("   \(j.kind): first backup uploaded \(first.bytesUploaded) bytes, the second \(second.bytesUploaded) (\(second.newChunks)/\(second.chunks) chunks new)")
        }
    }

    func testTheSnapshotsAreListedOldestFirst() async throws {
        try await forEachJourney { j in
            let snapshots = try await j.repository.loadSnapshots()
            XCTAssertEqual(snapshots.map(\.id), [j.first.snapshotId, j.second.snapshotId], "\(j.kind)")
            guard snapshots.count == 2 else { return }
            XCTAssertNil(snapshots[0].parent, "\(j.kind)")
            XCTAssertEqual(snapshots[1].parent, snapshots[0].id, "\(j.kind)")
            XCTAssertEqual(snapshots.map(\.counts), [j.firstCounts, j.secondCounts], "\(j.kind)")
            XCTAssertEqual(snapshots.map(\.bytes), [j.first.bytesRead, j.second.bytesRead], "\(j.kind)")
            XCTAssertEqual(snapshots.map(\.chunks), [j.first.chunks, j.second.chunks], "\(j.kind)")
            let now = Int64(Date().timeIntervalSince1970)
            XCTAssertTrue(snapshots.allSatisfy { (j.startedAt...now).contains($0.time) }, "\(j.kind): \(snapshots.map(\.time))")
            XCTAssertLessThanOrEqual(snapshots[0].time, snapshots[1].time, "\(j.kind)")
        }
    }

    func testTheLatestAndTheFirstSnapshotRestoreIntoNewDatabases() async throws {
        try await forEachJourney { j in
            let latest = j.path("latest.db")
            let operation = j.repository.restoreOperation(to: latest)
            var reports: [ProgressReport] = []
            for await report in operation.progress { reports.append(report) }
            let restoredCounts = try await operation.result.counts
            XCTAssertEqual(restoredCounts, j.secondCounts, "\(j.kind)")
            XCTAssertEqual(try readBack(latest), j.secondContent, "\(j.kind)")
            XCTAssertFalse(reports.isEmpty, "\(j.kind)")
            for (a, b) in zip(reports, reports.dropFirst()) { XCTAssertGreaterThanOrEqual(b.done, a.done, "\(j.kind)") }

            let oldest = j.path("first.db")
            let report = try await j.repository.restoreOperation(to: oldest, snapshotId: j.first.snapshotId).result
            XCTAssertEqual(report.counts, j.firstCounts, "\(j.kind)")
            XCTAssertEqual(try readBack(oldest), j.firstContent, "\(j.kind)")

            // A target with data is refused unless replace; with replace it takes the snapshot.
            await assertThrowsKeepsake({ try await j.repository.restoreOperation(to: latest, snapshotId: j.first.snapshotId).result }) {
                if case .TargetExists = $0 { return true } else { return false }
            }
            _ = try await j.repository.restoreOperation(to: latest, snapshotId: j.first.snapshotId, replace: true).result
            XCTAssertEqual(try readBack(latest), j.firstContent, "\(j.kind)")
            await assertThrowsKeepsake({ try await j.repository.restoreOperation(to: j.path("x.db"), snapshotId: "not-an-id").result }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
        }
    }

    func testANewDeviceOpensTheRepositoryWithTheRecoveryKeyOrAPasskey() async throws {
        try await forEachJourney { j in
            // Nothing but the store and the recovery key.
            let device = try await openRepository(store: j.store, secret: try BackupSecret.recoveryKey(text: j.recoveryKey.lowercased()))
            XCTAssertEqual(try device.id(), try j.repository.id(), "\(j.kind)")
            let deviceIds = try await device.loadSnapshots().map(\.id)
            XCTAssertEqual(deviceIds, [j.first.snapshotId, j.second.snapshotId], "\(j.kind)")
            let target = j.path("new-device.db")
            let deviceCounts = try await device.restoreOperation(to: target).result.counts
            XCTAssertEqual(deviceCounts, j.secondCounts, "\(j.kind)")
            XCTAssertEqual(try readBack(target), j.secondContent, "\(j.kind)")
            XCTAssertEqual(try device.keyring().id(), try j.keyring.id(), "\(j.kind)")
            try device.closeRepository()
            // The passkey, found through the repository's own key slots.
            let unlock = try PasskeyUnlock.forRepository(store: j.store, rpId: rp, discoverable: true)
            let secret = try unlock.finishTyped(assertion: try j.authenticator.getTyped(unlock: unlock))
            let byPasskey = try await openRepository(store: j.store, secret: secret)
            let passkeyLatest = try await byPasskey.loadSnapshots().last?.id
            XCTAssertEqual(passkeyLatest, j.second.snapshotId, "\(j.kind)")
        }
    }

    func testAWrongRecoveryKeyIsWrongKeyAndAnEmptyStoreIsObjectMissing() async throws {
        try await forEachJourney { j in
            let other = try Keyring.create().addRecoveryKey(label: "other").recoveryKey.reveal()
            let error = await assertThrowsKeepsake({ try await openRepository(store: j.store, secret: try BackupSecret.recoveryKey(text: other)) }) {
                if case .WrongKey = $0 { return true } else { return false }
            }
            XCTAssertTrue(error?.localizedDescription.hasSuffix(".") ?? false, "\(j.kind)")
            let empty = AppStore(j.kind.make(try tempDir("keepsake-empty")))
            await assertThrowsKeepsake({ try await openRepository(store: empty, secret: try BackupSecret.recoveryKey(text: j.recoveryKey)) }) {
                if case .ObjectMissing = $0 { return true } else { return false }
            }
            // A repository exists there already.
            await assertThrowsKeepsake({ try await createRepository(store: j.store, keyring: j.keyring) }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
        }
    }

    func testAFailingStoreIsStorageAndARetryCompletesReusingWhatWasUploaded() async throws {
        for kind in StoreKind.allCases {
            let (store, repository, db, dir) = try await fresh(kind)
            // The packs go up, then the upload of the index fails: no snapshot.
            store.failPutsUnder = "index/"
            let failed = await assertThrowsKeepsake({ try await backUp(repository, db) }) {
                if case .Storage = $0 { return true } else { return false }
            }
            XCTAssertTrue(failed?.detail.contains("quota exceeded") ?? false, "\(kind): \(String(describing: failed))")
            XCTAssertFalse(try store.list(prefix: "data/").isEmpty, "\(kind)")
            store.failPutsUnder = nil
            // Offline: an error the app did not declare is a Storage error too.
            store.offline = true
            await assertThrowsKeepsake({ try await repository.loadSnapshots() }) {
                if case .Storage = $0 { return true } else { return false }
            }
            await assertThrowsKeepsake({ try await backUp(repository, db) }) {
                if case .Storage = $0 { return true } else { return false }
            }
            store.offline = false
            let snapshotCount = try await repository.loadSnapshots().count
            XCTAssertEqual(snapshotCount, 0, "\(kind)")

            let (retry, _) = try await backUp(repository, db)
            XCTAssertGreaterThanOrEqual(retry.packsAdopted, 1, "\(kind): \(retry)")
            XCTAssertEqual(retry.newChunks, 0, "\(kind): \(retry)")
            let idsAfterRetry = try await repository.loadSnapshots().map(\.id)
            XCTAssertEqual(idsAfterRetry, [retry.snapshotId], "\(kind)")
            let target = dir.appendingPathComponent("restored.db").path
            _ = try await repository.restoreOperation(to: target).result
            XCTAssertEqual(try readBack(target), try readBack(db), "\(kind)")
            let unindexed = try await repository.checkOperation(readDataFraction: 1).result.unindexedPacks
            XCTAssertEqual(unindexed, 0, "\(kind)")
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func testACancelledBackupIsCancelledAndLeavesNoSnapshot() async throws {
        for kind in StoreKind.allCases {
            let (_, repository, db, dir) = try await fresh(kind)
            let (kept, _) = try await backUp(repository, db)
            try addMessages(db, firstId: 500_000)
            let chats = try ChatStore.open(path: db)
            let flag = Cancellation()
            XCTAssertThrowsError(try repository.backup(store: chats, options: nil, listener: ClosureProgress { _ in flag.cancel() },
                                                       cancellation: flag), "\(kind)") { error in
                guard let error = error as? KeepsakeError, case .Cancelled = error else { return XCTFail("\(kind): \(error)") }
            }
            try chats.closeDatabase()
            let idsAfterCancel = try await repository.loadSnapshots().map(\.id)
            XCTAssertEqual(idsAfterCancel, [kept.snapshotId], "\(kind)")
            let checkedSnapshots = try await repository.checkOperation(readDataFraction: 1).result.snapshots
            XCTAssertEqual(checkedSnapshots, 1, "\(kind)")
            // The next run completes.
            let (next, _) = try await backUp(repository, db)
            XCTAssertEqual(next.counts.messages, kept.counts.messages + 10, "\(kind)")
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func testCancellingTheTaskOfARestoreLeavesNothingBehind() async throws {
        for kind in StoreKind.allCases {
            let (store, repository, db, dir) = try await fresh(kind)
            _ = try await backUp(repository, db)
            let out = try tempDir("keepsake-cancelled-restore")
            let target = out.appendingPathComponent("restored.db").path
            // The restore stalls in its first chunk download until its task was cancelled.
            let hold = store.holdNext("get", "data/")
            let operation = repository.restoreOperation(to: target)
            let screen = Task {
                for await _ in operation.progress {}
                return try await operation.result
            }
            try await hold.waitEntered()
            screen.cancel()
            hold.release()
            do {
                _ = try await screen.value
                XCTFail("\(kind): the restore finished although its task was cancelled")
            } catch KeepsakeError.Cancelled {
            } catch {
                XCTFail("\(kind): expected KeepsakeError.Cancelled, got \(error)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "\(kind)")
            // The repository is still usable.
            _ = try await repository.restoreOperation(to: target).result
            XCTAssertEqual(try readBack(target), try readBack(db), "\(kind)")
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(at: out)
        }
    }

    func testPruneKeepsWhatTheRetentionPolicySaysAndTheRestStillRestores() async throws {
        for kind in StoreKind.allCases {
            let (_, repository, db, dir) = try await fresh(kind)
            var reports: [RepoBackupReport] = []
            var contents: [[ConversationContent]] = []
            for day in 0..<3 {
                try addMessages(db, firstId: 600_000 + Int64(day) * 100)
                reports.append(try await backUp(repository, db).0)
                contents.append(try readBack(db))
            }
            let operation = repository.pruneOperation(RetentionPolicy(keepLast: 2))
            var phases: [ProgressPhase] = []
            for await report in operation.progress { phases.append(report.phase) }
            let pruned = try await operation.result
            XCTAssertEqual(pruned.snapshotsKept, 2, "\(kind)")
            XCTAssertEqual(pruned.snapshotsRemoved, 1, "\(kind)")
            XCTAssertTrue(phases.allSatisfy { $0 == .prune }, "\(kind): \(phases)")
            let idsAfterPrune = try await repository.loadSnapshots().map(\.id)
            XCTAssertEqual(idsAfterPrune, reports.dropFirst().map(\.snapshotId), "\(kind)")
            let target = dir.appendingPathComponent("restored.db").path
            _ = try await repository.restoreOperation(to: target, snapshotId: reports[1].snapshotId).result
            XCTAssertEqual(try readBack(target), contents[1], "\(kind)")
            // The forgotten snapshot is gone from the store.
            await assertThrowsKeepsake({ try await repository.restoreOperation(to: target + "2", snapshotId: reports[0].snapshotId).result }) {
                if case .ObjectMissing = $0 { return true } else { return false }
            }

            // All three snapshots are from today: one per day keeps the newest only.
            let daily = try await repository.pruneOperation(RetentionPolicy(keepDaily: 1)).result
            XCTAssertEqual(daily.snapshotsKept, 1, "\(kind)")
            XCTAssertEqual(daily.snapshotsRemoved, 1, "\(kind)")
            let idsAfterDaily = try await repository.loadSnapshots().map(\.id)
            XCTAssertEqual(idsAfterDaily, [reports[2].snapshotId], "\(kind)")
            let checkedAfterDaily = try await repository.checkOperation(readDataFraction: 1).result.snapshots
            XCTAssertEqual(checkedAfterDaily, 1, "\(kind)")

            // No rule, or a negative count, is refused before anything is deleted.
            await assertThrowsKeepsake({ try await repository.pruneOperation(RetentionPolicy()).result }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
            await assertThrowsKeepsake({ try await repository.pruneOperation(RetentionPolicy(keepLast: -1)).result }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
            let snapshotsLeft = try await repository.loadSnapshots().count
            XCTAssertEqual(snapshotsLeft, 1, "\(kind)")
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func testCheckAuthenticatesEveryChunk() async throws {
        try await forEachJourney { j in
            let operation = j.repository.checkOperation(readDataFraction: 1)
            var phases: [ProgressPhase] = []
            for await report in operation.progress { phases.append(report.phase) }
            let report = try await operation.result
            XCTAssertEqual(report.snapshots, 2, "\(j.kind)")
            XCTAssertEqual(report.packsRead, report.packs, "\(j.kind)")
            XCTAssertGreaterThanOrEqual(report.chunks, j.first.chunks, "\(j.kind)")
            XCTAssertEqual(report.chunksAuthenticated, report.chunks, "\(j.kind)")
            XCTAssertEqual(report.unindexedPacks, 0, "\(j.kind)")
            XCTAssertTrue(phases.allSatisfy { $0 == .check }, "\(j.kind): \(phases)")
            let structuralAuthenticated = try await j.repository.checkOperation().result.chunksAuthenticated
            XCTAssertEqual(structuralAuthenticated, 0, "\(j.kind)")
            await assertThrowsKeepsake({ try await j.repository.checkOperation(readDataFraction: 1.5).result }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
        }
    }

    func testCheckFindsADamagedPack() async throws {
        for kind in StoreKind.allCases {
            let (store, repository, db, dir) = try await fresh(kind)
            _ = try await backUp(repository, db)
            let pack = try XCTUnwrap(try store.list(prefix: "data/").first).name
            var bytes = try store.inner.get(name: pack, range: nil)
            bytes[bytes.startIndex + 20] ^= 1   // inside the first chunk's ciphertext
            try store.inner.put(name: pack, data: bytes)
            let target = dir.appendingPathComponent("restored.db").path
            await assertThrowsKeepsake({ try await repository.restoreOperation(to: target).result }) {
                if case .Corrupted = $0 { return true } else { return false }
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "\(kind)")
            // Check reports it, with every problem, instead of throwing (RepositoryHealingTests heals it).
            let report = try await repository.checkOperation(readDataFraction: 1).result
            XCTAssertEqual(report.verdict, .broken, "\(kind)")
            XCTAssertTrue(report.problems.contains { $0.kind == .damagedChunk && $0.objectName == pack }, "\(kind): \(report.problems)")
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func testTheBuiltInStoresStoreReadRangesListStatAndDelete() throws {
        for store in [memoryBlobStore(), try directoryBlobStore(path: try tempDir("keepsake-builtin").appendingPathComponent("repo").path)] {
            try store.put(name: "data/ab", data: Data([1, 2, 3, 4, 5]))
            try store.put(name: "index/cd", data: Data([9]))
            XCTAssertEqual(try store.get(name: "data/ab", range: ByteRange(offset: 1, len: 2)), Data([2, 3]))
            XCTAssertEqual(try store.get(name: "data/ab", range: ByteRange(offset: 3, len: 100)), Data([4, 5]))
            XCTAssertEqual(try store.list(prefix: "data/"), [ObjectInfo(name: "data/ab", size: 5)])
            XCTAssertEqual(try store.stat(name: "data/ab"), 5)
            try store.delete(name: "data/ab")
            try store.delete(name: "data/ab")
            XCTAssertNil(try store.stat(name: "data/ab"))
            XCTAssertThrowsError(try store.get(name: "data/ab", range: nil)) { error in
                guard let error = error as? BlobStoreError, case .NotFound(let name) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "data/ab")
            }
            for range in [ByteRange(offset: -1, len: 2), ByteRange(offset: 0, len: -2)] {
                XCTAssertThrowsError(try store.get(name: "index/cd", range: range)) { error in
                    guard let error = error as? BlobStoreError, case .Failed = error else { return XCTFail("\(error)") }
                }
            }
        }
    }
}
