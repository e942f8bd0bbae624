// The Backup screen's logic: enable backups with a passkey, add a recovery key or a password,
// revoke a slot (which rotates the root key), back up now (a single file, or the chats and their
// photos and files into the backup repository), and show the last backup. Plain Swift over the
// ports; the SwiftUI view observes `state`.
import Foundation

public struct BackupUiState: Sendable, Equatable {
    public enum Work: Sendable, Equatable {
        case enrollingPasskey
        case addingRecoveryKey
        /// Creating the password slot (Argon2id: about a second).
        case addingPassword
        /// Revoking the slot with this id and rotating the root key.
        case removingSlot(String)
        /// nil until the first progress report.
        case backingUp(OperationProgress?)
        /// Backing up into the repository: the chats (`.backup`), then the files (`.media`:
        /// `ProgressText.of` says "files x of y"); nil until the first report.
        case backingUpWithMedia(OperationProgress?)
        /// Repairing the backup storage (after a message offered `.repairStorage`).
        case repairingStorage
    }

    public var loaded = false
    public var slots: [SlotInfo] = []
    public var lastBackup: LastBackup?
    public var work: Work?
    /// Shown once right after it was created; the user must write it down.
    public var newRecoveryKey: String?
    public var message: UserMessage?
    /// The last daily background run, when the app schedules them.
    public var lastScheduledRun: ScheduledRun?

    /// Backups need at least one way to unlock them on a new device.
    public var canBackUp: Bool { !slots.isEmpty && work == nil }

    public init() {}
}

/// The fewest characters Keepsake accepts in a new password.
public let minPasswordChars = 12

/// Backup screen logic. One operation at a time; `cancel()` stops the running one and leaves the
/// stored keyring and the last backup as they were.
@MainActor
public final class BackupViewModel {
    public private(set) var state = BackupUiState() {
        didSet { onChange?(state) }
    }

    /// Called on the main actor after every state change (the SwiftUI store copies the state).
    public var onChange: ((BackupUiState) -> Void)?

    private let engine: BackupEngine
    private let passkeys: PasskeyPrfProvider
    private let vault: RootKeyVault
    private let history: BackupHistory
    private let backupPath: () -> String
    private let now: () -> Date
    private let userName: String
    private let scheduledRuns: ScheduledRunLog?
    private var current: Task<Void, Never>?

    public init(engine: BackupEngine, passkeys: PasskeyPrfProvider, vault: RootKeyVault, history: BackupHistory,
                backupPath: @escaping () -> String, now: @escaping () -> Date = Date.init,
                userName: String = "Keepsake backup", scheduledRuns: ScheduledRunLog? = nil) {
        self.scheduledRuns = scheduledRuns
        self.engine = engine
        self.passkeys = passkeys
        self.vault = vault
        self.history = history
        self.backupPath = backupPath
        self.now = now
        self.userName = userName
    }

    /// Loads the keyring's slots and the last backup.
    public func load() async {
        state.lastBackup = history.last()
        state.lastScheduledRun = scheduledRuns?.last()
        do {
            if let secrets = try vault.load() {
                defer { secrets.wipe() }
                state.slots = try await engine.slots(secrets)
            }
        } catch {
            state.message = UserMessage.of(error: error)
        }
        state.loaded = true
    }

    /// Creates a passkey (and the keyring, the first time) and adds its slot.
    @discardableResult
    public func enableWithPasskey(label: String = "Passkey") -> Task<Void, Never>? {
        start(.enrollingPasskey) { [self] in
            let secrets = try await deviceKeyring()
            defer { secrets.wipe() }
            let pending = try await engine.beginPasskeyRegistration(secrets, userName: userName, label: label)
            let created = await passkeys.register(pending.request)
            guard case .success(let registration) = created else { return finish(UserMessage.of(created)) }
            let enrolled: KeyringSecrets
            switch try await engine.finishPasskeyRegistration(secrets, pending, registration) {
            case .enrolled(let updated):
                enrolled = updated
            case .needsAssertion(let assertionPending):
                let outcome = await passkeys.authenticate(assertionPending.request)
                guard case .success(let assertion) = outcome else { return finish(UserMessage.of(outcome)) }
                enrolled = try await engine.finishPasskeyEnrollment(secrets, assertionPending, assertion)
            }
            try await saveAndShow(enrolled, .info("Backups are protected by your passkey."))
        }
    }

    /// Adds a recovery key slot (creating the keyring the first time) and shows the key once.
    @discardableResult
    public func addRecoveryKey(label: String = "Recovery key") -> Task<Void, Never>? {
        start(.addingRecoveryKey) { [self] in
            let secrets = try await deviceKeyring()
            defer { secrets.wipe() }
            let (updated, key) = try await engine.addRecoveryKey(secrets, label: label)
            try await saveAndShow(updated, .info("Write the recovery key down and keep it safe."))
            state.newRecoveryKey = key
        }
    }

    /// Adds a password slot (creating the keyring the first time).
    @discardableResult
    public func addPassword(_ password: String, label: String = "Password") -> Task<Void, Never>? {
        start(.addingPassword) { [self] in
            // Keepsake's own rule (it refuses shorter ones), checked first to say it in the user's words.
            guard password.unicodeScalars.count >= minPasswordChars else { return finish(.passwordTooShort(minPasswordChars)) }
            let secrets = try await deviceKeyring()
            defer { secrets.wipe() }
            let updated = try await engine.addPassword(secrets, label: label, password: password)
            try await saveAndShow(updated, .info("Backups can also be opened with your password."))
        }
    }

    /// Revokes `slot`: Keepsake removes it and rotates the root key, and the rotated keyring (new
    /// root key, generation and public bytes) replaces the sealed one. The slot's secret opens no
    /// backup made from now on, but still opens the backups made before: the message says so. The
    /// last slot a new phone could use is refused (`.lastSlot`) and nothing changes.
    @discardableResult
    public func removeSlot(_ slot: SlotInfo) -> Task<Void, Never>? {
        start(.removingSlot(slot.id)) { [self] in
            guard let secrets = try vault.load() else {
                return finish(.error("Turn on backups first: add a passkey or a recovery key."))
            }
            defer { secrets.wipe() }
            let rotated = try await engine.removeSlot(secrets, slotId: slot.id)
            // Sealed right away: nothing between the rotation and the seal awaits a cancellable call.
            try await saveAndShow(rotated, .revoked(slot))
        }
    }

    /// The user confirmed they wrote the recovery key down.
    public func recoveryKeyNoted() { state.newRecoveryKey = nil }

    /// Backs up now with the device's keyring to the backup file; needs no prompt.
    @discardableResult
    public func backUpNow() -> Task<Void, Never>? { backUp(withMedia: false) }

    /// Backs the chats and their photos, voice notes, videos and documents up into the backup
    /// repository with the device's keyring; needs no prompt. Progress shows the chats, then the
    /// files; the last backup then shows the media counts (stored, not on this phone, skipped).
    @discardableResult
    public func backUpWithMedia() -> Task<Void, Never>? { backUp(withMedia: true) }

    private func backUp(withMedia: Bool) -> Task<Void, Never>? {
        start(withMedia ? .backingUpWithMedia(nil) : .backingUp(nil)) { [self] in
            guard let secrets = try vault.load() else {
                return finish(.error("Turn on backups first: add a passkey or a recovery key."))
            }
            defer { secrets.wipe() }
            let onProgress: @Sendable (OperationProgress) -> Void = { progress in
                Task { @MainActor [weak self] in
                    guard let self else { return }
                    switch self.state.work {
                    case .backingUp: self.state.work = .backingUp(progress)
                    case .backingUpWithMedia: self.state.work = .backingUpWithMedia(progress)
                    default: break
                    }
                }
            }
            let summary = withMedia
                ? try await engine.backUpWithMedia(secrets, progress: onProgress)
                : try await engine.backUp(secrets, to: backupPath(), progress: onProgress)
            // Written (a file renamed into place, or a snapshot): a late cancel does not undo it.
            let last = LastBackup(path: summary.path, finishedAt: now(), bytes: summary.bytes, messages: summary.messages,
                                  media: summary.media)
            history.record(last)
            state.lastBackup = last
            finish(.backedUp(summary))
        }
    }

    /// Repairs the backup storage with the device's keyring, when a backup or failure offered
    /// `.repairStorage`: backups that can no longer be restored are removed, damaged parts
    /// replaced; the message then asks for a backup, which stores everything again.
    @discardableResult
    public func repairStorage() -> Task<Void, Never>? {
        start(.repairingStorage) { [self] in
            guard let secrets = try vault.load() else {
                return finish(.error("Turn on backups first: add a passkey or a recovery key."))
            }
            defer { secrets.wipe() }
            finish(.repaired(try await engine.repairStorage(secrets)))
        }
    }

    /// Stops the running operation.
    public func cancel() { current?.cancel() }

    /// The user read the message.
    public func messageShown() { state.message = nil }

    private func start(_ work: BackupUiState.Work, _ body: @escaping @MainActor () async throws -> Void) -> Task<Void, Never>? {
        guard state.work == nil else { return nil }
        state.work = work
        state.message = nil
        let task = Task { @MainActor [self] in
            do {
                try await body()
            } catch {
                finish(UserMessage.of(error: error))
            }
        }
        current = task
        return task
    }

    /// The sealed keyring, or a new one (sealed only once a slot was added to it).
    private func deviceKeyring() async throws -> KeyringSecrets {
        if let stored = try vault.load() { return stored }
        return try await engine.createKeyring()
    }

    private func saveAndShow(_ secrets: KeyringSecrets, _ message: UserMessage) async throws {
        defer { secrets.wipe() }
        try vault.save(secrets)
        state.slots = try await engine.slots(secrets)
        finish(message)
    }

    private func finish(_ message: UserMessage?) {
        state.work = nil
        state.message = message
    }
}
