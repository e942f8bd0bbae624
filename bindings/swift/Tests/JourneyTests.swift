// The Swift journey against the generated bindings, run by scripts/test-bindings.sh (compiled
// together with Keepsake.swift and the async layer into one test executable).
import Foundation

/// A minimal test runner: counts passes and failures and prints the closing summary line.
final class TestRun {
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

struct CheckFailed: Error, CustomStringConvertible {
    let description: String
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw CheckFailed(description: message()) }
}

@main
struct JourneyTests {
    static func main() async {
        let run = TestRun()

        await run.test("the library loads and reports its version") {
            let version = keepsakeVersion()
            try check(version.split(separator: ".").count >= 3, "version \(version)")
        }

        await run.test("a cancellation flag can be raised from another thread") {
            let flag = Cancellation()
            try check(!flag.isCancelled(), "fresh flag is raised")
            let thread = Thread { flag.cancel() }
            thread.start()
            for _ in 0..<200 where !flag.isCancelled() { try await Task.sleep(nanoseconds: 5_000_000) }
            try check(flag.isCancelled(), "cancel() from another thread was not seen")
        }


        // ------------------------------------------------------------ the user journey
        let rp = "chat.example.com"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-swift-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        func path(_ name: String) -> String { work.appendingPathComponent(name).path }
        let dbPath = path("chat.db")
        let backupPath = path("chat.keepsake")
        let streamedPath = path("streamed.keepsake")
        let conversationIds: [Int64] = [10, 20]

        func messages(_ conversation: Int64, _ count: Int, _ firstId: Int64) -> [Message] {
            var result: [Message] = []
            for i in 0..<count {
                let id: Int64 = firstId + Int64(i)
                let sender: String = i % 2 == 0 ? "ana" : "ben"
                let body: String = "message \(i) in \(conversation): olá 🌍"
                let sentAt: Int64 = 1_700_000_000_000 + Int64(i) * 1000
                let replyTo: Int64? = i > 0 ? id - 1 : nil
                result.append(Message(
                    id: id, conversationId: conversation, sender: sender, kind: .text, body: body,
                    sentAt: sentAt, replyTo: replyTo, delivery: .delivered))
            }
            return result
        }

        struct Snapshot: Equatable {
            let conversation: Conversation?
            let participants: [Participant]
            let messages: [Message]
        }
        func snapshot(_ store: ChatStore) throws -> [Snapshot] {
            try conversationIds.map { id in
                var all: [Message] = []
                var page = try store.timeline(conversationId: id, before: nil, limit: 6)
                all += page.messages
                while let next = page.next {
                    page = try store.timeline(conversationId: id, before: next, limit: 6)
                    all += page.messages
                }
                return Snapshot(conversation: try store.conversation(id: id), participants: try store.participants(conversationId: id), messages: all)
            }
        }

        let keyring = try! Keyring.create()
        let authenticator = SoftAuthenticator(mode: .prfAtRegistration)
        var recoveryKey = ""
        var original: [Snapshot] = []
        var originalCounts = RecordCounts(conversations: 0, participants: 0, messages: 0, reactions: 0, attachments: 0)

        await run.test("create a store and add conversations, participants and messages") {
            let store = try ChatStore.open(path: dbPath)
            try store.upsertConversation(conversation: Conversation(id: 10, kind: .direct, createdAt: 1))
            try store.upsertConversation(conversation: Conversation(id: 20, kind: .group, title: "Team", createdAt: 2, archived: true))
            try store.upsertParticipant(participant: Participant(conversationId: 20, userId: "ana", displayName: "Ana", role: .admin, joinedAt: 3))
            try store.insertMessages(messages: messages(10, 25, 100))
            try store.insertMessages(messages: messages(20, 40, 500))
            originalCounts = try store.counts()
            try check(originalCounts.messages == 65 && originalCounts.conversations == 2, "counts \(originalCounts)")
            original = try snapshot(store)
            try store.closeDatabase()
        }

        await run.test("enroll a passkey through the typed (iOS) path") {
            let enrollment = try PasskeyEnrollment(
                keyring: keyring, rpId: rp, rpName: "Keepsake Chat", userId: Data([7, 7]), userName: "ana",
                userDisplayName: "Ana", label: "iPhone passkey")
            let request = try enrollment.registrationRequest()
            try check(request.prfInput.count == 32 && request.rpId == rp, "request \(request)")
            let registration = try authenticator.createTyped(enrollment: enrollment)
            guard case .enrolled(let slot) = try enrollment.finishRegistrationTyped(registration: registration) else {
                throw CheckFailed(description: "expected Enrolled")
            }
            try check(slot.kind == .passkey && slot.label == "iPhone passkey", "slot \(slot)")
        }

        await run.test("add a recovery key") {
            recoveryKey = try keyring.addRecoveryKey(label: "Paper").recoveryKey
            try check(recoveryKey.filter { $0 != "-" }.count == 64, "length")
            try check(try keyring.slots().map(\.kind) == [.passkey, .recoveryKey], "slots")
        }

        await run.test("back up to a file with progress as an AsyncStream") {
            let store = try ChatStore.open(path: dbPath)
            let operation = backup(store, keyring: keyring, to: backupPath)
            var reports: [ProgressReport] = []
            for await report in operation.progress { reports.append(report) }
            let report = try await operation.result.value
            try check(report.counts == originalCounts, "counts \(String(describing: report.counts))")
            try check(!reports.isEmpty && reports.allSatisfy { $0.phase == .backup }, "progress \(reports)")
        }

        await run.test("back up through a foreign sink (a FileHandle)") {
            let store = try ChatStore.open(path: dbPath)
            _ = FileManager.default.createFile(atPath: streamedPath, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: streamedPath))
            let report = try await backup(store, keyring: keyring, to: handle).result.value
            let size = try FileManager.default.attributesOfItem(atPath: streamedPath)[.size] as? UInt64
            try check(size == report.containerBytes, "streamed \(String(describing: size)) vs \(report.containerBytes)")
        }

        await run.test("inspect a backup without a secret") {
            let info = try await inspect(backupPath)
            try check(info.keyringId == (try keyring.id()), "keyring id")
            try check(info.declaredCounts == originalCounts, "declared")
            try check(info.slots.count == 2 && info.payloadKind == .chatArchive, "slots")
        }

        await run.test("unlock with the passkey (typed) and restore to a new database; everything matches") {
            let target = path("restored-passkey.db")
            let unlock = try PasskeyUnlock.forBackupFile(path: backupPath, rpId: rp, discoverable: false)
            try check(unlock.request().allowCredentials.count == 1, "allow list")
            let secret = try unlock.finishTyped(assertion: try authenticator.getTyped(unlock: unlock))
            let operation = restore(from: backupPath, secret: secret, to: target)
            var count = 0
            for await _ in operation.progress { count += 1 }
            let report = try await operation.result.value
            try check(count > 0, "no progress")
            try check(report.counts == originalCounts, "counts")
            try check(try snapshot(try ChatStore.open(path: target)) == original, "restored content differs")
        }

        await run.test("restore from a foreign source with the recovery key; everything matches") {
            let target = path("restored-recovery.db")
            let secret = try BackupSecret.recoveryKey(text: recoveryKey.lowercased())
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: streamedPath))
            let report = try await restore(from: handle, secret: secret, to: target).result.value
            try check(report.counts == originalCounts, "counts")
            try check(try snapshot(try ChatStore.open(path: target)) == original, "restored content differs")
        }

        // ------------------------------------------------------------ typed errors
        func expectError(_ body: () throws -> Void, _ matches: (KeepsakeError) -> Bool) throws {
            do {
                try body()
            } catch let error as KeepsakeError {
                try check(matches(error), "unexpected error \(error)")
                return
            }
            throw CheckFailed(description: "no error thrown")
        }

        await run.test("a wrong recovery key is WrongKey and creates nothing") {
            let other = try Keyring.create().addRecoveryKey(label: "x").recoveryKey
            let target = path("wrong.db")
            try expectError({ _ = try restoreFromPath(backupPath: backupPath, secret: try BackupSecret.recoveryKey(text: other), targetPath: target) }) {
                if case .WrongKey = $0 { return true } else { return false }
            }
            try check(!FileManager.default.fileExists(atPath: target), "target created")
        }

        await run.test("a recovery-key typo is RecoveryKeyTypo") {
            var chars = Array(recoveryKey)
            let i = chars.firstIndex { $0 != "-" }!
            chars[i] = chars[i] == "A" ? "B" : "A"
            try expectError({ _ = try BackupSecret.recoveryKey(text: String(chars)) }) {
                if case .RecoveryKeyTypo = $0 { return true } else { return false }
            }
        }

        await run.test("a provider without PRF is PrfUnsupported (typed path)") {
            let noPrf = SoftAuthenticator(mode: .noPrf)
            let enrollment = try PasskeyEnrollment(
                keyring: keyring, rpId: rp, rpName: "Keepsake Chat", userId: Data([8]), userName: "ana",
                userDisplayName: "Ana", label: "no prf")
            let registration = try noPrf.createTyped(enrollment: enrollment)
            try expectError({ _ = try enrollment.finishRegistrationTyped(registration: registration) }) {
                if case .PrfUnsupported = $0 { return true } else { return false }
            }
            try check(try keyring.slots().count == 2, "slot added")
        }

        await run.test("a tampered backup is Corrupted and leaves nothing behind") {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: backupPath))
            // Edit the header's public metadata ("keepsake.count" -> "keepsake.cOunt"): the header
            // MAC must catch it once the slot is unlocked.
            guard let range = bytes.range(of: Data("keepsake.count.".utf8)) else {
                throw CheckFailed(description: "metadata not found")
            }
            bytes[range.lowerBound + 10] ^= 0x20
            let tampered = path("tampered.keepsake")
            try bytes.write(to: URL(fileURLWithPath: tampered))
            let target = path("tampered.db")
            try expectError({ _ = try restoreFromPath(backupPath: tampered, secret: try BackupSecret.recoveryKey(text: recoveryKey), targetPath: target) }) {
                if case .Corrupted = $0 { return true } else { return false }
            }
            try check(!FileManager.default.fileExists(atPath: target), "target created")
        }

        await run.test("a cancelled restore is Cancelled and leaves nothing behind") {
            let target = path("cancelled.db")
            let before = Set(try FileManager.default.contentsOfDirectory(atPath: work.path))
            let flag = Cancellation()
            final class CancelOnFirst: ProgressListener, @unchecked Sendable {
                let flag: Cancellation
                init(_ flag: Cancellation) { self.flag = flag }
                func onProgress(report: ProgressReport) { flag.cancel() }
            }
            try expectError({
                _ = try restoreFromPath(
                    backupPath: backupPath, secret: try BackupSecret.recoveryKey(text: recoveryKey), targetPath: target,
                    replace: false, listener: CancelOnFirst(flag), cancellation: flag)
            }) { if case .Cancelled = $0 { return true } else { return false } }
            let after = Set(try FileManager.default.contentsOfDirectory(atPath: work.path))
            try check(after == before, "left behind: \(after.subtracting(before))")
        }

        await run.test("a closed store fails with InvalidArgument") {
            let store = try ChatStore.open(path: path("closed.db"))
            try store.closeDatabase()
            try expectError({ _ = try store.counts() }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
        }

        await run.test("log records reach the app's logger") {
            final class Box: @unchecked Sendable { var lines: [String] = []; let lock = NSLock() }
            let box = Box()
            try installLogger(logger: ClosureLogger { level, target, message in
                box.lock.lock(); box.lines.append("\(level) \(target) \(message)"); box.lock.unlock()
            }, maxLevel: .info)
            try check(box.lines.contains { $0.contains("logging at") }, "records \(box.lines)")
        }

        await KeysTests.run(run) // bindings/swift/Tests/KeysTests.swift

        print("swift: \(run.passed) passed, \(run.failed) failed")
        exit(run.failed == 0 ? 0 : 1)
    }
}
