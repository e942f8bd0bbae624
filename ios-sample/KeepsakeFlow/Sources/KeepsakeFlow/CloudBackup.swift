// Where the backup lives and what the user can do about it: the account the backup repository is
// kept in (iCloud, or Google Drive in the Android twin), how much it uses, what to do when the
// storage is full or the account is signed out, and a new phone's way back to it (sign in, find
// the repository, unlock it with the passkey). Plain Swift over one port; the app implements the
// port over its CloudKit store and the account status.
import Foundation

/// Where the backup repository is kept, as the screens name it.
public enum BackupPlace: Equatable, Sendable {
    /// The app's iCloud storage (the phone's Apple Account).
    case iCloud
    /// The hidden app folder of the Google Drive of `account` (an e-mail address).
    case googleDrive(account: String)
    /// A folder of the app on this phone (the demo): gone with the phone.
    case thisPhone
}

/// Bytes the backup takes in the store, and the account's free space when the service says.
public struct CloudUsage: Equatable, Sendable {
    public var backupBytes: UInt64
    public var accountFreeBytes: UInt64?
    public init(backupBytes: UInt64, accountFreeBytes: UInt64? = nil) {
        self.backupBytes = backupBytes
        self.accountFreeBytes = accountFreeBytes
    }
}

/// The app's cloud account. Failures are `KeepsakeFlowError`s with the storage failures.
public protocol CloudAccount: AnyObject {
    /// Where backups go now, or nil while no account is signed in.
    func place() async throws -> BackupPlace?
    /// Leads the user to sign in (iCloud: Settings); the place afterwards, or nil.
    func signIn() async throws -> BackupPlace?
    /// What the backup uses: the sum of its objects' sizes as the store lists them.
    func usage() async throws -> CloudUsage
    /// Whether the store holds a backup repository (its `config` object).
    func hasRepository() async throws -> Bool
}

/// What the user can do next about the backup storage.
public enum CloudAction: Equatable, Sendable {
    /// Sign in (again) to the account.
    case signIn
    /// Open the account's storage settings to free space or buy more.
    case manageStorage
    /// Nothing to fix: try again later (the daily backup will).
    case tryLater
    /// A backup was found on a new phone: unlock it (`RestoreViewModel.pickRepository`).
    case unlock
}

/// Where a new phone is on its way back to the backup.
public enum NewPhoneStep: Equatable, Sendable { case signIn, searching, found, notFound }

/// What the backup and restore screens show about the storage.
public struct CloudUiState: Equatable, Sendable {
    public var place: BackupPlace?
    /// "Backups are kept in …", or nil before loading.
    public var whereLine: String?
    /// "Backups use …", when known.
    public var usageLine: String?
    public var message: UserMessage?
    public var action: CloudAction?
    public var newPhone: NewPhoneStep?
    public var busy = false
    public init() {}
}

/// The storage part of the Backup and Restore screens.
@MainActor
public final class CloudBackupViewModel {
    public private(set) var state = CloudUiState() {
        didSet { onChange?(state) }
    }

    /// Called on the main actor after every state change (the SwiftUI store copies the state).
    public var onChange: ((CloudUiState) -> Void)?

    private let account: CloudAccount

    public init(account: CloudAccount) { self.account = account }

    /// Reads the account and what the backup uses there.
    public func load() async {
        guard let found = await attempt({ try await self.account.place() }) else { return }
        guard let place = found else {
            state.place = nil
            state.whereLine = CloudMessages.notSignedIn
            state.usageLine = nil
            if state.action == nil { state.action = .signIn }
            return
        }
        await show(place)
    }

    /// Signs in (from the `.signIn` action), then reads the account again.
    public func signIn() async {
        guard let signedIn = await attempt({ try await self.account.signIn() }), let place = signedIn else { return }
        state.message = nil
        state.action = nil
        await show(place)
    }

    /// What a failed backup or restore means for the storage: `message` as the other
    /// view-models report it. A storage failure gets where to act and the action.
    public func explain(_ message: UserMessage?) {
        guard let failure = CloudMessages.storageFailure(message) else { return }
        explain(failure)
    }

    /// As `explain(_:)` for a failure itself (the daily run's last result).
    public func explain(_ failure: Failure) {
        guard let advice = CloudMessages.advice(state.place, failure) else { return }
        state.message = advice.message
        state.action = advice.action
    }

    /// A new phone: signs in when needed, then looks for the repository.
    public func findBackup() async {
        state.newPhone = .signIn
        state.message = nil
        state.action = nil
        state.busy = true
        defer { state.busy = false }
        guard let found = await attempt({ () async throws -> BackupPlace? in
            if let place = try await self.account.place() { return place }
            return try await self.account.signIn()
        }) else { return }
        guard let place = found else {
            state.message = CloudMessages.signInToRestore
            state.action = .signIn
            return
        }
        await show(place)
        state.newPhone = .searching
        guard let present = await attempt({ try await self.account.hasRepository() }) else { return }
        if present {
            state.newPhone = .found
            state.message = CloudMessages.found(place)
            state.action = .unlock
        } else {
            state.newPhone = .notFound
            state.message = CloudMessages.notFound(place)
            state.action = .signIn
        }
    }

    private func show(_ place: BackupPlace) async {
        state.place = place
        state.whereLine = CloudMessages.where(place)
        if let usage = await attempt({ try await self.account.usage() }) {
            state.usageLine = CloudMessages.usage(usage)
        }
    }

    /// Runs `body`; a failure becomes the screen's message and action, and nil.
    private func attempt<T>(_ body: () async throws -> T) async -> T? {
        do {
            return try await body()
        } catch {
            let failure = (error as? KeepsakeFlowError)?.failure ?? (error is CancellationError ? .cancelled : .other)
            if let advice = CloudMessages.advice(state.place, failure) {
                state.message = advice.message
                state.action = advice.action
            } else {
                state.message = UserMessage.of(failure)
                state.action = nil
            }
            return nil
        }
    }
}

/// The words of the storage part of the screens (the same as the Android sample's).
public enum CloudMessages {
    public static func `where`(_ place: BackupPlace) -> String {
        switch place {
        case .iCloud: return "Backups are kept in your iCloud."
        case .googleDrive(let account): return "Backups are kept in the Google Drive of \(account), in a hidden app folder."
        case .thisPhone: return "Backups are kept on this phone only: they are lost with it."
        }
    }

    public static func usage(_ usage: CloudUsage) -> String {
        var text = "Backups use \(ProgressText.bytes(usage.backupBytes))"
        if let free = usage.accountFreeBytes { text += ", \(ProgressText.bytes(free)) free in the account" }
        return text + "."
    }

    public static let notSignedIn = "Not signed in: sign in to iCloud in Settings to keep backups in your iCloud."

    public static let signInToRestore = UserMessage(
        "Sign in to iCloud in Settings with the Apple Account your old phone used, then try again.", isError: false)

    public static func found(_ place: BackupPlace) -> UserMessage {
        UserMessage("A backup was found in \(name(place)). Unlock it with your passkey.", isError: false)
    }

    public static func notFound(_ place: BackupPlace) -> UserMessage {
        UserMessage("No backup was found in \(name(place)). Sign in with the account your old phone used, "
            + "or back up on the old phone first.", isError: true)
    }

    /// The storage failure `message` reports (the other view-models show `UserMessage.of`), or nil.
    public static func storageFailure(_ message: UserMessage?) -> Failure? {
        guard let message else { return nil }
        return [Failure.storageFull, .signInRequired, .storageUnavailable].first { UserMessage.of($0) == message }
    }

    /// What to do about `failure` where backups are kept, or nil when it is not about the storage.
    public static func advice(_ place: BackupPlace?, _ failure: Failure) -> (message: UserMessage, action: CloudAction)? {
        switch failure {
        case .storageFull:
            let text: String
            switch place {
            case .iCloud?:
                text = "Your iCloud storage is full. Free up space in Settings > your name > iCloud > "
                    + "Manage Account Storage, or get more storage, then back up again."
            case .googleDrive(let account)?:
                text = "The storage of \(account) is full. Free up space in Google Drive, Gmail or Photos, "
                    + "or get more storage, then back up again."
            default:
                text = "The backup storage is full. Free up space, then back up again."
            }
            return (UserMessage(text, isError: true), .manageStorage)
        case .signInRequired:
            let text: String
            switch place {
            case .iCloud?: text = "iCloud is not available. Sign in to iCloud in Settings to keep backing up."
            case .googleDrive(let account)?:
                text = "Keepsake can no longer reach the Google Drive of \(account). Sign in again to keep backing up."
            default: text = "Sign in again to keep backing up."
            }
            return (UserMessage(text, isError: true), .signIn)
        case .storageUnavailable:
            return (UserMessage("\(subject(place)) could not be reached. Your chats are safe on this phone; "
                + "the backup will be tried again later.", isError: true), .tryLater)
        default:
            return nil
        }
    }

    private static func name(_ place: BackupPlace?) -> String {
        switch place {
        case .iCloud?: return "iCloud"
        case .googleDrive(let account)?: return "the Google Drive of \(account)"
        case .thisPhone?: return "this phone's backup folder"
        case nil: return "the backup storage"
        }
    }

    private static func subject(_ place: BackupPlace?) -> String {
        let text = name(place)
        return text.hasPrefix("the ") ? "The " + text.dropFirst(4) : text
    }
}
