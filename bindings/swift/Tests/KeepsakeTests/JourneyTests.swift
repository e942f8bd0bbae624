// The Swift journey against the generated bindings: enroll through the typed (iOS) path, back up,
// inspect, restore with a passkey and with the recovery key, and every failure typed. One backup
// is made for the whole class (class setUp); each test then restores or inspects it on its own.
import Foundation
import Keepsake
import XCTest

/// The keyring, passkey and backup every test of the class starts from.
final class JourneyFixture: @unchecked Sendable {
    let work: URL
    let dbPath: String
    let backupPath: String
    let streamedPath: String
    let keyring: Keyring
    let authenticator = SoftAuthenticator(mode: .prfAtRegistration)
    let recoveryKey: String
    let counts: RecordCounts
    let original: [ConversationContent]

    init() throws {
        work = try tempDir("keepsake-journey")
        dbPath = work.appendingPathComponent("chat.db").path
        backupPath = work.appendingPathComponent("chat.keepsake").path
        streamedPath = work.appendingPathComponent("streamed.keepsake").path
        counts = try seedChats(dbPath)
        original = try readBack(dbPath)
        keyring = try Keyring.create()
        let enrollment = try PasskeyEnrollment(
            keyring: keyring, rpId: rp, rpName: "Keepsake Chat", userId: Data([7, 7]), userName: "alice",
            userDisplayName: "Alice", label: "iPhone passkey")
        guard case .enrolled = try enrollment.finishRegistrationTyped(registration: try authenticator.createTyped(enrollment: enrollment)) else {
            throw KeepsakeError.Internal(detail: "expected Enrolled")
        }
        recoveryKey = try keyring.addRecoveryKey(label: "Paper").recoveryKey.reveal()
        let store = try ChatStore.open(path: dbPath)
        _ = try backupToPath(store: store, keyring: keyring, path: backupPath)
        _ = FileManager.default.createFile(atPath: streamedPath, contents: nil)
        _ = try backupToSink(store: store, keyring: keyring, sink: FileHandleSink(try FileHandle(forWritingTo: URL(fileURLWithPath: streamedPath))))
        try store.closeDatabase()
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }
}

final class JourneyTests: XCTestCase {
    nonisolated(unsafe) static var fixture: JourneyFixture!
    var f: JourneyFixture { Self.fixture }

    override class func setUp() {
        super.setUp()
        fixture = try! JourneyFixture()
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: fixture.work)
        super.tearDown()
    }

    func testTheLibraryLoadsAndReportsItsVersion() {
        XCTAssertGreaterThanOrEqual(keepsakeVersion().split(separator: ".").count, 3)
    }

    func testACancellationFlagCanBeRaisedFromAnotherThread() async throws {
        let flag = Cancellation()
        XCTAssertFalse(flag.isCancelled())
        Thread { flag.cancel() }.start()
        for _ in 0..<200 where !flag.isCancelled() { try await Task.sleep(nanoseconds: 5_000_000) }
        XCTAssertTrue(flag.isCancelled())
    }

    func testTheStoreHoldsWhatWasWritten() throws {
        XCTAssertEqual(f.counts.messages, 75)
        XCTAssertEqual(f.counts.conversations, 2)
        XCTAssertEqual(f.original.count, 2)
        let store = try ChatStore.open(path: f.dbPath)
        assertKeepsakeError(try store.timeline(conversationId: 2, before: nil, limit: -1)) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
    }

    func testANewRecoveryKeyIsNeverPrinted() throws {
        let added = try Keyring.create().addRecoveryKey(label: "Paper")
        let key = added.recoveryKey.reveal()
        XCTAssertEqual(key.filter { $0 != "-" }.count, 64)
        for printed in ["\(added)", String(reflecting: added), "\(added.recoveryKey)",
                        String(reflecting: added.recoveryKey)] {
            XCTAssertFalse(printed.contains(key) || printed.contains(String(key.prefix(9))), "printed: \(printed)")
        }
    }

    func testBothSlotsAreOnTheKeyring() throws {
        XCTAssertEqual(f.recoveryKey.filter { $0 != "-" }.count, 64)
        XCTAssertEqual(try f.keyring.slots().map(\.kind), [.passkey, .recoveryKey])
        XCTAssertEqual(try f.keyring.slots().first?.label, "iPhone passkey")
    }

    func testABackupWithProgressAsAnAsyncStreamEndsComplete() async throws {
        let store = try ChatStore.open(path: f.dbPath)
        let operation = backup(store, keyring: f.keyring, to: f.path("again.keepsake"))
        var reports: [ProgressReport] = []
        for await report in operation.progress { reports.append(report) }
        let report = try await operation.result
        XCTAssertEqual(report.counts, f.counts)
        XCTAssertFalse(reports.isEmpty)
        XCTAssertTrue(reports.allSatisfy { $0.phase == .backup })
        let size = fileSize(f.path("again.keepsake"))
        XCTAssertEqual(size, report.containerBytes)
    }

    func testAStreamedBackupHasTheSizeItReports() throws {
        let size = fileSize(f.streamedPath)
        let info = try inspectBackup(path: f.streamedPath)
        XCTAssertEqual(info.fileBytes, size)
    }

    func testInspectReadsThePublicHeaderWithoutASecret() async throws {
        let info = try await inspect(f.backupPath)
        XCTAssertEqual(info.keyringId, try f.keyring.id())
        XCTAssertEqual(info.declaredCounts, f.counts)
        XCTAssertEqual(info.slots.count, 2)
        XCTAssertEqual(info.payloadKind, .chatArchive)
    }

    func testAPasskeyRestoreBringsBackEverythingWithProgressThatNeverGoesBack() async throws {
        let target = f.path("restored-passkey.db")
        let unlock = try PasskeyUnlock.forBackupFile(path: f.backupPath, rpId: rp, discoverable: false)
        XCTAssertEqual(unlock.request().allowCredentials.count, 1)
        let secret = try unlock.finishTyped(assertion: try f.authenticator.getTyped(unlock: unlock))
        let operation = restore(from: f.backupPath, secret: secret, to: target)
        var reports: [ProgressReport] = []
        for await report in operation.progress { reports.append(report) }
        let report = try await operation.result
        XCTAssertEqual(report.counts, f.counts)
        XCTAssertEqual(try readBack(target), f.original)
        XCTAssertFalse(reports.isEmpty)
        for (a, b) in zip(reports, reports.dropFirst()) { XCTAssertGreaterThanOrEqual(b.done, a.done, "\(a) then \(b)") }
    }

    func testARestoreFromADownloadWithTheRecoveryKeyBringsBackEverything() async throws {
        let target = f.path("restored-recovery.db")
        let secret = try BackupSecret.recoveryKey(text: f.recoveryKey.lowercased())
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: f.streamedPath))
        let report = try await restore(from: handle, secret: secret, to: target).result
        XCTAssertEqual(report.counts, f.counts)
        XCTAssertEqual(try readBack(target), f.original)
        XCTAssertEqual(try keyringFromBackup(path: f.backupPath, secret: secret).id(), try f.keyring.id())
    }

    func testAWrongRecoveryKeyIsWrongKeyWithASentenceAndCreatesNothing() throws {
        let other = try Keyring.create().addRecoveryKey(label: "x").recoveryKey.reveal()
        let target = f.path("wrong.db")
        let error = assertKeepsakeError(try restoreFromPath(backupPath: f.backupPath, secret: try BackupSecret.recoveryKey(text: other), targetPath: target)) {
            if case .WrongKey = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        let text = error?.localizedDescription ?? ""
        XCTAssertTrue(text.hasPrefix("Wrong key") && text.hasSuffix("."), text)
        XCTAssertFalse(text.contains("detail:"), text)
        XCTAssertNotNil(error?.recoverySuggestion)
    }

    func testARecoveryKeyTypoIsRecoveryKeyTypo() {
        var chars = Array(f.recoveryKey)
        let i = chars.firstIndex { $0 != "-" }!
        chars[i] = chars[i] == "A" ? "B" : "A"
        assertKeepsakeError(try BackupSecret.recoveryKey(text: String(chars))) {
            if case .RecoveryKeyTypo = $0 { return true } else { return false }
        }
    }

    func testAProviderWithoutPrfIsPrfUnsupportedAndEnrollsNothing() throws {
        let fresh = try Keyring.create()
        let enrollment = try PasskeyEnrollment(
            keyring: fresh, rpId: rp, rpName: "Keepsake Chat", userId: Data([8]), userName: "alice",
            userDisplayName: "Alice", label: "no prf")
        let registration = try SoftAuthenticator(mode: .noPrf).createTyped(enrollment: enrollment)
        assertKeepsakeError(try enrollment.finishRegistrationTyped(registration: registration)) {
            if case .PrfUnsupported = $0 { return true } else { return false }
        }
        XCTAssertEqual(try fresh.slots().count, 0)
    }

    func testATamperedBackupIsCorruptedAndLeavesNothingBehind() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: f.backupPath))
        // "keepsake.count" -> "keepsake.cOunt": the header MAC catches it once a slot opens.
        let range = try XCTUnwrap(bytes.range(of: Data("keepsake.count.".utf8)))
        bytes[range.lowerBound + 10] ^= 0x20
        let tampered = f.path("tampered.keepsake")
        try bytes.write(to: URL(fileURLWithPath: tampered))
        let target = f.path("tampered.db")
        assertKeepsakeError(try restoreFromPath(backupPath: tampered, secret: try BackupSecret.recoveryKey(text: f.recoveryKey), targetPath: target)) {
            if case .Corrupted = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
    }

    func testAClosedStoreFailsWithInvalidArgument() throws {
        let store = try ChatStore.open(path: f.path("closed.db"))
        try store.closeDatabase()
        assertKeepsakeError(try store.counts()) { if case .InvalidArgument = $0 { return true } else { return false } }
    }

    func testLogRecordsReachTheAppsLogger() throws {
        final class Box: @unchecked Sendable { var lines: [String] = []; let lock = NSLock() }
        let box = Box()
        try installLogger(logger: ClosureLogger { level, target, message in
            box.lock.lock(); box.lines.append("\(level) \(target) \(message)"); box.lock.unlock()
        }, maxLevel: .info)
        box.lock.lock(); defer { box.lock.unlock() }
        XCTAssertTrue(box.lines.contains { $0.contains("logging at") }, "\(box.lines)")
    }
}
