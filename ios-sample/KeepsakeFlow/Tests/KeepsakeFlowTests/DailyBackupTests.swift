// The decision and run code behind the daily background backup (the app's BGProcessingTask calls
// DailyBackupRunner, cancels it on expiration and reschedules with nextRunAt).
import Foundation
import XCTest
@testable import KeepsakeFlow

final class MemoryRunLog: ScheduledRunLog {
    var runs: [ScheduledRun] = []
    func last() -> ScheduledRun? { runs.last }
    func record(_ run: ScheduledRun) { runs.append(run) }
}

/// A vault that remembers the copies it handed out, to check every root key was wiped.
final class RememberingVault: RootKeyVault {
    let inner = MemoryVault()
    var handedOut: [KeyringSecrets] = []
    var failure: Error?
    func save(_ secrets: KeyringSecrets) throws { try inner.save(secrets) }
    func load() throws -> KeyringSecrets? {
        if let failure { throw failure }
        let loaded = try inner.load()
        if let loaded { handedOut.append(loaded) }
        return loaded
    }
    func clear() throws { try inner.clear() }
    var wipedEverything: Bool { handedOut.allSatisfy { $0.rootKey().allSatisfy { $0 == 0 } } }
}

final class DailyBackupTests: XCTestCase {
    let hour: TimeInterval = 3600
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = DailyBackupPolicy()
    var dir: URL!
    var engine: FakeEngine!
    var vault: RememberingVault!
    var history: MemoryHistory!
    var log: MemoryRunLog!
    var clock: Date!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-daily-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        engine = FakeEngine()
        vault = RememberingVault()
        history = MemoryHistory()
        log = MemoryRunLog()
        clock = start
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    private var backupFile: String { dir.appendingPathComponent("daily.keepsake").path }

    private func runner() -> DailyBackupRunner {
        DailyBackupRunner(engine: engine, vault: vault, history: history, log: log,
                          backupPath: { [backupFile] in backupFile }, policy: policy, now: { [unowned self] in self.clock })
    }

    private func enableBackups() async throws {
        let keyring = try await engine.createKeyring()
        let (updated, _) = try await engine.addRecoveryKey(keyring, label: "Recovery key")
        try vault.save(updated)
    }

    private func backup(at date: Date) -> LastBackup { LastBackup(path: "/b", finishedAt: date, bytes: 10, messages: 1) }

    func testDecisionBacksUpOnlyWithAKeyringAndNoFreshBackup() {
        XCTAssertEqual(policy.decide(now: start, hasKeyring: false, last: nil), .skip(.notEnabled))
        XCTAssertEqual(policy.decide(now: start, hasKeyring: true, last: nil), .backUp)
        XCTAssertEqual(policy.decide(now: start, hasKeyring: true, last: backup(at: start - 2 * hour)), .skip(.recentBackup))
        // A processing task comes some time after its earliest date: 21 hours is a day for it.
        XCTAssertEqual(policy.decide(now: start, hasKeyring: true, last: backup(at: start - 21 * hour)), .backUp)
        // A clock set back must not stop backups for good.
        XCTAssertEqual(policy.decide(now: start, hasKeyring: true, last: backup(at: start + 120 * hour)), .backUp)
    }

    func testNextRunIsADayAfterTheLastBackupOrNow() {
        XCTAssertEqual(policy.nextRunAt(now: start, last: nil), start)
        XCTAssertEqual(policy.nextRunAt(now: start, last: backup(at: start - 2 * hour)), start + 22 * hour)
        XCTAssertEqual(policy.nextRunAt(now: start, last: backup(at: start - 30 * hour)), start)
        XCTAssertEqual(policy.nextRunAt(now: start, last: backup(at: start + 120 * hour)), start)
    }

    func testADueRunBacksUpRecordsAndWipesTheKey() async throws {
        try await enableBackups()
        let result = await runner().run()
        guard case .completed(let last) = result else { return XCTFail("result \(result)") }
        XCTAssertEqual(engine.backups, 1)
        XCTAssertEqual(history.last(), last)
        XCTAssertEqual(log.runs, [ScheduledRun(finishedAt: start, result: result)])
        XCTAssertTrue(FileManager.default.fileExists(atPath: backupFile))
        XCTAssertTrue(!vault.handedOut.isEmpty && vault.wipedEverything, "a root key copy was left unwiped")
        XCTAssertEqual(runner().nextRunAt(), start + 24 * hour)
        // An early run skips without touching the engine.
        clock = start + 3 * hour
        let early = await runner().run()
        XCTAssertEqual(early, .skipped(.recentBackup))
        XCTAssertEqual(engine.backups, 1)
        XCTAssertTrue(vault.wipedEverything)
    }

    func testWithoutBackupsTurnedOnARunSkipsAndRecordsWhy() async {
        let result = await runner().run()
        XCTAssertEqual(result, .skipped(.notEnabled))
        XCTAssertEqual(engine.backups, 0)
        XCTAssertEqual(log.last()?.result, .skipped(.notEnabled))
    }

    func testAnExpiredRunRecordsStoppedAndKeepsTheLastBackup() async throws {
        try await enableBackups()
        let earlier = backup(at: start - 48 * hour)
        history.record(earlier)
        let gate = Gate()
        engine.gate = gate
        let running = Task { await runner().run() }
        // The expiration handler cancels the task; the engine stops at its next check.
        running.cancel()
        await gate.release()
        let result = await running.value
        XCTAssertEqual(result, .stopped)
        XCTAssertEqual(log.runs.map(\.result), [.stopped])
        XCTAssertEqual(history.last(), earlier)
        XCTAssertFalse(FileManager.default.fileExists(atPath: backupFile), "a stopped run left a file")
        XCTAssertEqual(engine.backups, 0)
        XCTAssertTrue(vault.wipedEverything)
    }

    func testFailuresAreRecordedAndOnlyStorageFailuresRetry() async throws {
        try await enableBackups()
        vault.failure = KeepsakeFlowError(.io, "keychain unavailable")
        let io = await runner().run()
        XCTAssertEqual(io, .failed(.io, willRetry: true))
        vault.failure = KeepsakeFlowError(.corrupted, "keyring damaged")
        let corrupted = await runner().run()
        XCTAssertEqual(corrupted, .failed(.corrupted, willRetry: false))
        XCTAssertEqual(log.runs.count, 2)
        XCTAssertNil(history.last())
        XCTAssertEqual(UserMessage.of(corrupted).text, "Daily backup failed: " + UserMessage.of(.corrupted).text)
    }

    func testABusyOrUnreachableBackupStorageRetriesLaterAndADamagedOneWaitsForTheUser() async throws {
        try await enableBackups()
        for (failure, retry) in [(Failure.storageBusy, true), (.storageUnavailable, true), (.storageDamaged, false)] {
            vault.failure = KeepsakeFlowError(failure, "the backup storage said no")
            let result = await runner().run()
            XCTAssertEqual(result, .failed(failure, willRetry: retry))
            XCTAssertEqual(UserMessage.of(result).action, UserMessage.of(failure).action)
        }
        XCTAssertNil(history.last())
    }

    func testARolledBackKeyringFailsTheRunWithoutARetryAndWritesNothing() async throws {
        try await enableBackups()
        // The sealed generation is newer than the keyring the vault holds (older public bytes).
        let stored = try XCTUnwrap(vault.inner.stored)
        vault.inner.stored = (stored.0, stored.1, stored.2 + 1)
        let result = await runner().run()
        XCTAssertEqual(result, .failed(.keyringRolledBack, willRetry: false))
        XCTAssertEqual(engine.backups, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: backupFile), "a refused run left a file")
        XCTAssertNil(history.last())
        XCTAssertTrue(vault.wipedEverything)
        XCTAssertEqual(UserMessage.of(result).text, "Daily backup failed: " + UserMessage.of(.keyringRolledBack).text)
    }

    @MainActor
    func testTheBackupScreenShowsTheLastScheduledRun() async throws {
        try await enableBackups()
        await runner().run()
        let model = BackupViewModel(engine: engine, passkeys: ScriptedProvider(), vault: vault, history: history,
                                    backupPath: { "/unused" }, scheduledRuns: log)
        await model.load()
        XCTAssertEqual(model.state.lastScheduledRun, log.last())
        XCTAssertEqual(UserMessage.of(model.state.lastScheduledRun!.result).text, "Daily backup done: 0 messages.")
    }
}
