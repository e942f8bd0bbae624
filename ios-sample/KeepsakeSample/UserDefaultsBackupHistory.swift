// When the last backup finished, in UserDefaults (not secret).
import Foundation
import KeepsakeFlow

final class UserDefaultsBackupHistory: BackupHistory {
    private let defaults: UserDefaults
    private let key = "keepsake.lastBackup"

    init(defaults: UserDefaults = .standard) {
        self.defaults = defaults
    }

    func last() -> LastBackup? {
        defaults.data(forKey: key).flatMap { try? JSONDecoder().decode(LastBackup.self, from: $0) }
    }

    func record(_ backup: LastBackup) {
        defaults.set(try? JSONEncoder().encode(backup), forKey: key)
    }
}
