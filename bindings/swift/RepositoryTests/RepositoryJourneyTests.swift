// The backup repository journey in Swift, run by scripts/test-bindings.sh (repository block) as
// its own executable (compiled with Keepsake.swift and the async layer). The app implements
// BlobStore twice, over a directory and over an in-memory dictionary, and runs the journey on
// each: enable, back up, add messages, back up again and see how little was uploaded, restore on
// a "new device" with the passkey (software authenticator), prune, check.
import Foundation

final class RepoTestRun {
    var passed = 0
    var failed = 0

    func test(_ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            passed += 1
            print("ok   \(name)")
        } catch {
            failed += 1
            print("FAIL \(name): \(error)")
        }
    }
}

struct RepoCheckFailed: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw RepoCheckFailed(description: message()) }
}

func expectKeepsakeError(_ body: () throws -> Void, _ matches: (KeepsakeError) -> Bool) throws {
    do {
        try body()
    } catch let error as KeepsakeError {
        try expect(matches(error), "unexpected error \(error)")
        return
    }
    throw RepoCheckFailed(description: "no error thrown")
}

/// Runs `body` holding `lock`.
func locked<T>(_ lock: NSLock, _ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
}

/// What every test store shares: a count of the bytes received and an offline switch.
class CountingStore: @unchecked Sendable {
    private let lock = NSLock()
    private var received: UInt64 = 0
    private var isOffline = false

    var uploaded: UInt64 { locked(lock) { received } }
    func count(_ bytes: Int) { locked(lock) { received += UInt64(bytes) } }
    func setOffline(_ value: Bool) { locked(lock) { isOffline = value } }
    func online() throws {
        if locked(lock, { isOffline }) { throw BlobStoreError.Failed(detail: "no network") }
    }
}

/// A BlobStore over a directory, as an app would write one over its own file API.
final class DirectoryStore: CountingStore, BlobStore {
    private let root: URL
    init(root: URL) { self.root = root }

    private func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    func put(name: String, data: Data) throws {
        try online()
        let target = url(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: target, options: .atomic)
        count(data.count)
    }

    func get(name: String, range: ByteRange?) throws -> Data {
        try online()
        guard let data = FileManager.default.contents(atPath: url(name).path) else {
            throw BlobStoreError.NotFound(name: name)
        }
        guard let range else { return data }
        let start = Int(min(range.offset, UInt64(data.count)))
        let end = Int(min(UInt64(start) + range.len, UInt64(data.count)))
        return data.subdata(in: start..<end)
    }

    func list(prefix: String) throws -> [String] {
        try online()
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var names: [String] = []
        for case let relative as String in walker {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: url(relative).path, isDirectory: &isDirectory)
            if !isDirectory.boolValue && relative.hasPrefix(prefix) && !relative.contains("/.") && !relative.hasPrefix(".") {
                names.append(relative)
            }
        }
        return names
    }

    func delete(name: String) throws {
        try online()
        try? FileManager.default.removeItem(at: url(name))
    }

    func stat(name: String) throws -> UInt64? {
        try online()
        let attributes = try? FileManager.default.attributesOfItem(atPath: url(name).path)
        return (attributes?[.size] as? NSNumber)?.uint64Value
    }
}

/// A BlobStore over an in-memory dictionary.
final class DictionaryStore: CountingStore, BlobStore {
    private let objectsLock = NSLock()
    private var objects: [String: Data] = [:]

    func put(name: String, data: Data) throws {
        try online()
        locked(objectsLock) { objects[name] = data }
        count(data.count)
    }

    func get(name: String, range: ByteRange?) throws -> Data {
        try online()
        guard let data = locked(objectsLock, { objects[name] }) else { throw BlobStoreError.NotFound(name: name) }
        guard let range else { return data }
        let start = Int(min(range.offset, UInt64(data.count)))
        let end = Int(min(UInt64(start) + range.len, UInt64(data.count)))
        return data.subdata(in: start..<end)
    }

    func list(prefix: String) throws -> [String] {
        try online()
        return locked(objectsLock) { objects.keys.filter { $0.hasPrefix(prefix) } }
    }

    func delete(name: String) throws {
        try online()
        _ = locked(objectsLock) { objects.removeValue(forKey: name) }
    }

    func stat(name: String) throws -> UInt64? {
        try online()
        return locked(objectsLock) { objects[name].map { UInt64($0.count) } }
    }
}

func chatMessages(_ conversation: Int64, _ firstId: Int64, _ count: Int) -> [Message] {
    (0..<count).map { i in
        let id = firstId + Int64(i)
        return Message(
            id: id, conversationId: conversation, sender: i % 3 == 0 ? "me" : "kim", kind: .text,
            body: "message \(id): see you at \(i % 24):00 🌍 " + String(repeating: "y", count: i % 50),
            sentAt: 1_700_000_000_000 + id * 1000, delivery: .read)
    }
}

@main
struct RepositoryJourneyTests {
    static func main() async {
        let run = RepoTestRun()
        let rp = "chat.example.com"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-swift-repo-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        func path(_ name: String) -> String { work.appendingPathComponent(name).path }

        func journey(_ label: String, _ store: CountingStore & BlobStore) async {
            let dbPath = path("\(label)-chat.db")
            let keyring = try! Keyring.create()
            let authenticator = SoftAuthenticator(mode: .prfAtRegistration)
            var repository: Repository?
            var firstUpload: UInt64 = 0

            await run.test("\(label): enable backups (passkey, recovery key, repository)") {
                let enrollment = try PasskeyEnrollment(
                    keyring: keyring, rpId: rp, rpName: "Keepsake Chat", userId: Data([4, 2]), userName: "kim",
                    userDisplayName: "Kim", label: "iPhone passkey")
                let registration = try authenticator.createTyped(enrollment: enrollment)
                guard case .enrolled = try enrollment.finishRegistrationTyped(registration: registration) else {
                    throw RepoCheckFailed(description: "expected Enrolled")
                }
                _ = try keyring.addRecoveryKey(label: "Paper")
                repository = try await createRepository(store: store, keyring: keyring, cacheDir: path("\(label)-cache"))
                try expect(try store.stat(name: "config") != nil, "no config object")
                try expectKeepsakeError({ _ = try Repository.create(store: store, keyring: keyring, cacheDir: nil) }) {
                    if case .InvalidArgument = $0 { return true } else { return false }
                }
            }

            await run.test("\(label): the first backup uploads the history, with progress") {
                guard let repository else { throw RepoCheckFailed(description: "no repository") }
                let chats = try ChatStore.open(path: dbPath)
                try chats.upsertConversation(conversation: Conversation(id: 1, kind: .direct, createdAt: 1))
                try chats.upsertConversation(conversation: Conversation(id: 2, kind: .group, title: "Choir", createdAt: 2))
                try chats.insertMessages(messages: chatMessages(1, 1, 3000))
                try chats.insertMessages(messages: chatMessages(2, 10_001, 2000))
                let operation = repository.backupOperation(chats)
                var phases: Set<String> = []
                for await report in operation.progress { phases.insert("\(report.phase)") }
                let first = try await operation.result.value
                firstUpload = first.bytesUploaded
                try expect(first.counts.messages == 5000, "counts \(first.counts)")
                try expect(first.newChunks == first.chunks && first.chunks > 1, "chunks \(first)")
                try expect(!phases.isEmpty, "no progress")
                try chats.closeDatabase()
            }

            await run.test("\(label): after new messages the second backup uploads little") {
                guard let repository else { throw RepoCheckFailed(description: "no repository") }
                let chats = try ChatStore.open(path: dbPath)
                try chats.insertMessages(messages: chatMessages(2, 12_001, 25))
                let before = store.uploaded
                let second = try await repository.backupOperation(chats).result.value
                let received = store.uploaded - before
                try expect(second.counts.messages == 5025, "counts \(second.counts)")
                try expect(received < firstUpload / 4, "uploaded \(received) after \(firstUpload)")
                try expect(second.newChunks < second.chunks, "chunks \(second)")
                print("   \(label): first backup \(firstUpload) bytes, second \(received) bytes (\(second.newChunks)/\(second.chunks) chunks new)")
                let snapshots = try await repository.loadSnapshots()
                try expect(snapshots.count == 2 && snapshots[1].parent == snapshots[0].id, "snapshots \(snapshots)")
                try chats.closeDatabase()
            }

            await run.test("\(label): a new device restores with the passkey") {
                // Nothing but the store and the passkey (synced by iCloud Keychain).
                let unlock = try PasskeyUnlock.forRepository(store: store, rpId: rp, discoverable: false)
                let secret = try unlock.finishTyped(assertion: try authenticator.getTyped(unlock: unlock))
                let device = try await openRepository(store: store, secret: secret)
                let target = path("\(label)-restored.db")
                let report = try await device.restoreOperation(to: target).result.value
                try expect(report.counts?.messages == 5025, "restored \(String(describing: report.counts))")
                let restored = try ChatStore.open(path: target)
                try expect(try restored.message(id: 12_025)?.body == chatMessages(2, 12_001, 25).last?.body, "latest message")
                try restored.closeDatabase()
                try expect(try device.keyring().id() == keyring.id(), "keyring id")
                let firstId = try await device.loadSnapshots()[0].id
                let older = try await device.restoreOperation(to: path("\(label)-older.db"), snapshotId: firstId).result.value
                try expect(older.counts?.messages == 5000, "older snapshot")
            }

            await run.test("\(label): prune keeps the latest and check reads everything") {
                guard let repository else { throw RepoCheckFailed(description: "no repository") }
                let pruned = try await repository.pruneOperation(RetentionPolicy(keepLast: 1)).result.value
                try expect(pruned.snapshotsKept == 1 && pruned.snapshotsRemoved == 1, "pruned \(pruned)")
                let checked = try await repository.checkOperation(readDataFraction: 1).result.value
                try expect(checked.snapshots == 1 && checked.chunksAuthenticated > 0, "checked \(checked)")
            }

            await run.test("\(label): a failing store and a wrong key are typed errors") {
                guard let repository else { throw RepoCheckFailed(description: "no repository") }
                store.setOffline(true)
                try expectKeepsakeError({ _ = try repository.snapshots() }) {
                    if case .Storage(let detail) = $0 { return detail.contains("no network") } else { return false }
                }
                store.setOffline(false)
                let other = try Keyring.create().addRecoveryKey(label: "other").recoveryKey
                try expectKeepsakeError({ _ = try Repository.open(store: store, secret: try BackupSecret.recoveryKey(text: other), cacheDir: nil) }) {
                    if case .WrongKey = $0 { return true } else { return false }
                }
                try expectKeepsakeError({ _ = try Repository.open(store: DictionaryStore(), secret: try BackupSecret.recoveryKey(text: other), cacheDir: nil) }) {
                    if case .ObjectMissing = $0 { return true } else { return false }
                }
            }
        }

        let repoDir = work.appendingPathComponent("repo")
        try? FileManager.default.createDirectory(at: repoDir, withIntermediateDirectories: true)
        await journey("directory", DirectoryStore(root: repoDir))
        await journey("memory", DictionaryStore())

        await run.test("the built-in stores behave like the app's") {
            let builtIn = memoryBlobStore()
            try builtIn.put(name: "data/ab", data: Data([1, 2, 3, 4]))
            try expect(try builtIn.get(name: "data/ab", range: ByteRange(offset: 1, len: 2)) == Data([2, 3]), "range")
            do {
                _ = try builtIn.get(name: "data/zz", range: nil)
                throw RepoCheckFailed(description: "no error")
            } catch BlobStoreError.NotFound(let name) {
                try expect(name == "data/zz", "name \(name)")
            }
            let dir = try directoryBlobStore(path: path("builtin"))
            try dir.put(name: "config", data: Data([9]))
            try expect(try dir.list(prefix: "") == ["config"], "list")
        }

        print("swift: \(run.passed) passed, \(run.failed) failed")
        if run.failed > 0 { exit(1) }
    }
}
