// The composition root: the engine over the bindings, the Keychain vault, the history, and the
// passkey provider (AuthenticationServices, or the software authenticator in demo mode, chosen
// with the launch argument `-keepsakeDemo YES`).
#if canImport(UIKit)
import Foundation
import Keepsake
import KeepsakeCloud
import KeepsakeEngine
import KeepsakeFlow
import UIKit

@MainActor
final class SampleServices {
    static let relyingPartyId = (Bundle.main.object(forInfoDictionaryKey: "KeepsakeRelyingPartyId") as? String) ?? "keepsake.example"

    let demo = UserDefaults.standard.bool(forKey: "keepsakeDemo")
    let engine: BindingsBackupEngine
    let vault: RootKeyVault = KeychainRootKeyVault()
    let history: BackupHistory = UserDefaultsBackupHistory()
    let scheduledRuns: ScheduledRunLog = UserDefaultsScheduledRunLog()
    let passkeys: PasskeyPrfProvider
    /// Where the backup lives and what it uses (the Backup and Restore screens' storage lines).
    let cloudAccount: CloudAccount

    /// A runner of the daily background backup (DailyBackupTask).
    var dailyBackups: DailyBackupRunner {
        DailyBackupRunner(engine: engine, vault: vault, history: history, log: scheduledRuns,
                          backupPath: { [unowned self] in self.backupPath() })
    }

    init() {
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: support, withIntermediateDirectories: true)
        // Backups with media go into a repository in the user's iCloud (CloudKitBlobStore), or in
        // Application Support in demo mode (docs/SWIFT.md, "Daily incremental backups").
        var state = support.appendingPathComponent("keepsake-media-state")
        // The media restore's state stays on this device: excluded from iCloud backup.
        try? FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        var excluded = URLResourceValues()
        excluded.isExcludedFromBackup = true
        try? state.setResourceValues(excluded)
        let repository = support.appendingPathComponent("keepsake-repository")
        // Not made in demo mode: CloudKit is not touched without an iCloud account to use.
        let iCloud: CloudKitBlobStore? = demo ? nil : CloudKitBlobStore()
        let store: () throws -> BlobStore = {
            if let iCloud { return iCloud }
            return try directoryBlobStore(path: repository.path)
        }
        let place: () async throws -> BackupPlace? = {
            guard let iCloud else { return .thisPhone }
            return try await iCloud.currentAccountStatus() == .available ? .iCloud : nil
        }
        engine = BindingsBackupEngine(chatDatabase: support.appendingPathComponent("chats.sqlite").path,
                                      relyingPartyId: Self.relyingPartyId,
                                      mediaFolder: support.appendingPathComponent("Media"),
                                      mediaStateFolder: state,
                                      cacheDir: FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask)[0]
                                          .appendingPathComponent("keepsake").path,
                                      // iCloud (CloudKit's private database), or a folder in demo mode.
                                      blobStore: store)
        cloudAccount = BlobStoreCloudAccount(
            store: store,
            currentPlace: place,
            signInWith: {
                // iCloud is signed in to in Settings, not in the app: open them, then look again.
                if iCloud != nil {
                    await MainActor.run {
                        if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
                    }
                }
                return try await place()
            })
        if demo {
            // The software authenticator lives in memory: its passkeys last for the process.
            passkeys = SoftwareAuthenticatorProvider(engine.demoAuthenticator())
        } else {
            passkeys = ASAuthorizationPrfProvider(anchor: {
                UIApplication.shared.connectedScenes.compactMap { ($0 as? UIWindowScene)?.keyWindow }.first ?? UIWindow()
            })
        }
    }

    /// Where "back up now" writes; an app would stream to its cloud SDK instead (ByteSink).
    nonisolated func backupPath() -> String {
        FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0].appendingPathComponent("chats.keepsake").path
    }
}
#endif
