// The last daily background run, in UserDefaults (not secret), for the Backup screen.
import Foundation
import KeepsakeFlow

final class UserDefaultsScheduledRunLog: ScheduledRunLog {
    private let defaults: UserDefaults
    private let key = "keepsake.lastScheduledRun"

    init(defaults: UserDefaults = .standard) {
        self.defaults = defaults
    }

    /// The stored form: one flat record, so an app update can read what an older version wrote.
    private struct Stored: Codable {
        var finishedAt: Date
        var kind: String
        var backup: LastBackup?
        var skipReason: SkipReason?
        var failure: String?
        var willRetry: Bool?
    }

    func last() -> ScheduledRun? {
        guard let data = defaults.data(forKey: key), let stored = try? JSONDecoder().decode(Stored.self, from: data) else {
            return nil
        }
        let result: ScheduledRunResult
        switch stored.kind {
        case "completed":
            guard let backup = stored.backup else { return nil }
            result = .completed(backup)
        case "skipped":
            guard let reason = stored.skipReason else { return nil }
            result = .skipped(reason)
        case "stopped":
            result = .stopped
        case "failed":
            let failure = Failure.allCases.first { "\($0)" == stored.failure } ?? .other
            result = .failed(failure, willRetry: stored.willRetry ?? false)
        default:
            return nil
        }
        return ScheduledRun(finishedAt: stored.finishedAt, result: result)
    }

    func record(_ run: ScheduledRun) {
        var stored = Stored(finishedAt: run.finishedAt, kind: "")
        switch run.result {
        case .completed(let backup): stored.kind = "completed"; stored.backup = backup
        case .skipped(let reason): stored.kind = "skipped"; stored.skipReason = reason
        case .stopped: stored.kind = "stopped"
        case .failed(let failure, let willRetry): stored.kind = "failed"; stored.failure = "\(failure)"; stored.willRetry = willRetry
        }
        defaults.set(try? JSONEncoder().encode(stored), forKey: key)
    }
}
