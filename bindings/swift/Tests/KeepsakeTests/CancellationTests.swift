// Structured cancellation: cancelling the task that runs a Keepsake operation (a SwiftUI `.task`,
// a parent `Task`, the consumer of `progress`) cancels the Rust work, which throws
// `KeepsakeError.Cancelled` and leaves no file behind. Each restore is held in its first progress
// callback until the test has cancelled, so the cancellation always lands mid-operation.
import Foundation
import Keepsake
import XCTest

/// Set once; waited for by polling.
final class Signal: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    func raise() { lock.lock(); raised = true; lock.unlock() }
    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }
    func wait() async throws {
        for _ in 0..<1000 where !isRaised { try await Task.sleep(nanoseconds: 2_000_000) }
        XCTAssertTrue(isRaised, "the operation never started")
    }
}

/// A progress callback that signals the first report, then holds the worker until `release`.
final class HoldFirstReport: @unchecked Sendable {
    let started = Signal()
    let release = Signal()
    func onProgress(_ report: ProgressReport) {
        guard !started.isRaised else { return }
        started.raise()
        for _ in 0..<2000 where !release.isRaised { Thread.sleep(forTimeInterval: 0.002) }
    }
}

/// A listener forwarding to another after holding the first report.
final class HeldListener: ProgressListener, @unchecked Sendable {
    let hold: HoldFirstReport
    let next: ProgressListener
    init(_ hold: HoldFirstReport, _ next: ProgressListener) { self.hold = hold; self.next = next }
    func onProgress(report: ProgressReport) throws {
        hold.onProgress(report)
        try next.onProgress(report: report)
    }
}

final class CancellationTests: XCTestCase {
    var dir: URL!
    var backupPath: String!
    var recoveryKey: String!

    override func setUpWithError() throws {
        dir = try tempDir("keepsake-cancel")
        backupPath = dir.appendingPathComponent("chat.keepsake").path
        let db = dir.appendingPathComponent("chat.db").path
        try seedChats(db)
        let keyring = try Keyring.create()
        recoveryKey = try keyring.addRecoveryKey(label: "Paper").recoveryKey.reveal()
        _ = try backupToPath(store: try ChatStore.open(path: db), keyring: keyring, path: backupPath)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: dir)
    }

    private func target() -> String { dir.appendingPathComponent("restored.db").path }

    /// The folder holds only what setUp made (the chat database, maybe with its SQLite side files,
    /// and the backup): no restored database, no temporary file.
    private func assertNothingLeft(file: StaticString = #filePath, line: UInt = #line) throws {
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { !$0.hasPrefix("chat.db") && $0 != "chat.keepsake" }
        XCTAssertEqual(left, [], file: file, line: line)
    }

    private func assertCancelled<T>(_ task: Task<T, Error>, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await task.value
            XCTFail("the operation finished although its task was cancelled", file: file, line: line)
        } catch KeepsakeError.Cancelled {
        } catch {
            XCTFail("expected KeepsakeError.Cancelled, got \(error)", file: file, line: line)
        }
    }

    func testCancellingTheCallingTaskCancelsTheRestore() async throws {
        let hold = HoldFirstReport()
        let secret = try BackupSecret.recoveryKey(text: recoveryKey)
        let (backupPath, target) = (backupPath!, target())
        let task = Task { try await restore(from: backupPath, secret: secret, to: target, onProgress: hold.onProgress) }
        try await hold.started.wait()
        task.cancel()
        hold.release.raise()
        await assertCancelled(task)
        try assertNothingLeft()
    }

    func testCancellingAParentTaskCancelsTheRestore() async throws {
        let hold = HoldFirstReport()
        let secret = try BackupSecret.recoveryKey(text: recoveryKey)
        let (backupPath, target) = (backupPath!, target())
        let parent = Task {
            async let report = restore(from: backupPath, secret: secret, to: target, onProgress: hold.onProgress)
            return try await report
        }
        try await hold.started.wait()
        parent.cancel()
        hold.release.raise()
        await assertCancelled(parent)
        try assertNothingLeft()
    }

    func testCancellingTheTaskThatIteratesProgressCancelsTheOperation() async throws {
        let hold = HoldFirstReport()
        let secret = try BackupSecret.recoveryKey(text: recoveryKey)
        let (backupPath, target) = (backupPath!, target())
        let operation = keepsakeOperation { listener, flag in
            try restoreFromPath(backupPath: backupPath, secret: secret, targetPath: target, replace: false,
                                listener: HeldListener(hold, listener), cancellation: flag)
        }
        // What a SwiftUI `.task { for await p in op.progress { ... }; try await op.result }` does.
        let screen = Task {
            for await _ in operation.progress {}
            return try await operation.result
        }
        try await hold.started.wait()
        screen.cancel()
        hold.release.raise()
        await assertCancelled(screen)
        try assertNothingLeft()
    }

    func testCancelStopsAnOperationNobodyAwaitsYet() async throws {
        let hold = HoldFirstReport()
        let secret = try BackupSecret.recoveryKey(text: recoveryKey)
        let (backupPath, target) = (backupPath!, target())
        let operation = keepsakeOperation { listener, flag in
            try restoreFromPath(backupPath: backupPath, secret: secret, targetPath: target, replace: false,
                                listener: HeldListener(hold, listener), cancellation: flag)
        }
        try await hold.started.wait()
        operation.cancel()
        hold.release.raise()
        await assertCancelled(Task { try await operation.result })
        try assertNothingLeft()
    }

    func testAnUncancelledRestoreStillFinishes() async throws {
        let secret = try BackupSecret.recoveryKey(text: recoveryKey)
        let report = try await restore(from: backupPath, secret: secret, to: target()) { _ in }
        XCTAssertEqual(report.counts?.messages, 75)
    }
}
