// The daily background backup, as BGTaskScheduler runs it (a BGProcessingTask): whether a backup
// is due, running it with the device's keyring, what to record, when to come back. The app's
// scheduling glue only hands over the clock, cancels on expiration and reschedules.
import Foundation

/// How often the sample backs up in the background, and how early a run may come.
public struct DailyBackupPolicy: Sendable, Equatable {
    public var interval: TimeInterval
    /// A backup newer than this makes a run skip: the system runs a processing task whenever it
    /// sees fit after its earliest begin date, so "less than a day ago" would skip every other day.
    /// A manual backup an hour ago still counts.
    public var freshFor: TimeInterval

    public init(interval: TimeInterval = 24 * 3600, freshFor: TimeInterval = 20 * 3600) {
        precondition(freshFor > 0 && freshFor <= interval, "freshFor must be in (0, interval]")
        self.interval = interval
        self.freshFor = freshFor
    }

    /// Whether a run at `now` backs up, given the keyring's presence and the last backup.
    public func decide(now: Date, hasKeyring: Bool, last: LastBackup?) -> DailyBackupDecision {
        guard hasKeyring else { return .skip(.notEnabled) }
        if let last {
            let age = now.timeIntervalSince(last.finishedAt)
            // A clock set back (negative age) must not stop backups for good.
            if age >= 0 && age < freshFor { return .skip(.recentBackup) }
        }
        return .backUp
    }

    /// The earliest time the next run is useful (the task request's earliestBeginDate): a day
    /// after the last backup, or now when that is past or the clock went back.
    public func nextRunAt(now: Date, last: LastBackup?) -> Date {
        guard let last else { return now }
        let due = last.finishedAt.addingTimeInterval(interval)
        return due < now || due.timeIntervalSince(now) > interval ? now : due
    }
}

/// What a scheduled run does.
public enum DailyBackupDecision: Sendable, Equatable {
    case backUp
    case skip(SkipReason)
}

/// Why a scheduled run did not back up.
public enum SkipReason: String, Sendable, Equatable, Codable {
    /// No keyring on this device yet: backups were never turned on.
    case notEnabled
    /// A backup (scheduled or manual) finished recently enough.
    case recentBackup
}

/// How a scheduled run ended, as the Backup screen shows it.
public enum ScheduledRunResult: Sendable, Equatable {
    /// Backed up; also recorded as the last backup.
    case completed(LastBackup)
    /// Ran, had nothing to do.
    case skipped(SkipReason)
    /// The system stopped the run (the task expired); nothing was written, it runs again.
    case stopped
    /// Failed; `willRetry` when a later run may succeed without the user.
    case failed(Failure, willRetry: Bool)
}

/// One scheduled run: when it ended and how.
public struct ScheduledRun: Sendable, Equatable {
    public var finishedAt: Date
    public var result: ScheduledRunResult
    public init(finishedAt: Date, result: ScheduledRunResult) {
        self.finishedAt = finishedAt
        self.result = result
    }
}

/// Where the app keeps the last scheduled run (UserDefaults in the app).
public protocol ScheduledRunLog: AnyObject {
    func last() -> ScheduledRun?
    func record(_ run: ScheduledRun)
}

/// Runs one scheduled backup: decides, backs up with the device's keyring (no prompt: the Keychain
/// item needs no user presence), records the result. Cancelling the calling task (the app does it
/// in the BGTask's expiration handler) cancels the backup through Keepsake's cancellation, leaves
/// no file and records `.stopped`.
public final class DailyBackupRunner: @unchecked Sendable {
    private let engine: BackupEngine
    private let vault: RootKeyVault
    private let history: BackupHistory
    private let log: ScheduledRunLog
    private let backupPath: () -> String
    private let policy: DailyBackupPolicy
    private let now: () -> Date

    public init(engine: BackupEngine, vault: RootKeyVault, history: BackupHistory, log: ScheduledRunLog,
                backupPath: @escaping () -> String, policy: DailyBackupPolicy = DailyBackupPolicy(),
                now: @escaping () -> Date = Date.init) {
        self.engine = engine
        self.vault = vault
        self.history = history
        self.log = log
        self.backupPath = backupPath
        self.policy = policy
        self.now = now
    }

    /// Runs now; returns (and has recorded) the result.
    @discardableResult
    public func run() async -> ScheduledRunResult {
        let result: ScheduledRunResult
        do {
            result = try await attempt()
        } catch {
            result = Self.result(of: error)
        }
        log.record(ScheduledRun(finishedAt: now(), result: result))
        return result
    }

    /// When the next run is useful, from what is recorded now.
    public func nextRunAt() -> Date { policy.nextRunAt(now: now(), last: history.last()) }

    private func attempt() async throws -> ScheduledRunResult {
        let secrets = try vault.load()
        if case .skip(let reason) = policy.decide(now: now(), hasKeyring: secrets != nil, last: history.last()) {
            secrets?.wipe()
            return .skipped(reason)
        }
        guard let secrets else { return .skipped(.notEnabled) }
        defer { secrets.wipe() }
        let summary = try await engine.backUp(secrets, to: backupPath()) { _ in }
        // Written and renamed into place: a late expiration does not undo a finished backup.
        let last = LastBackup(path: summary.path, finishedAt: now(), bytes: summary.bytes, messages: summary.messages)
        history.record(last)
        return .completed(last)
    }

    /// Storage and database failures, and a backup storage offline or busy with another device,
    /// may pass; the others need the user.
    private static func result(of error: Error) -> ScheduledRunResult {
        if error is CancellationError { return .stopped }
        let failure = (error as? KeepsakeFlowError)?.failure ?? .other
        if failure == .cancelled { return .stopped }
        return .failed(failure, willRetry: [.io, .database, .other, .storageUnavailable, .storageBusy].contains(failure))
    }
}

extension UserMessage {
    /// How the last daily background run ended, for the Backup screen.
    public static func of(_ result: ScheduledRunResult) -> UserMessage {
        switch result {
        case .completed(let backup): return .info("Daily backup done: \(backup.messages) messages.")
        case .skipped(.notEnabled): return .info("Daily backup waits until backups are turned on.")
        case .skipped(.recentBackup): return .info("Daily backup skipped: a recent backup is up to date.")
        case .stopped: return .info("Daily backup was paused by the system; it runs again later.")
        case .failed(let failure, let willRetry):
            let message = of(failure)
            return UserMessage((willRetry ? "Daily backup failed, retrying later: " : "Daily backup failed: ") + message.text,
                               isError: true, offerRecoveryKey: message.offerRecoveryKey, action: message.action)
        }
    }
}
