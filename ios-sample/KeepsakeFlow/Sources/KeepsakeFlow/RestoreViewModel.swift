// The Restore screen's logic: pick a backup file or the backup repository, unlock it with a
// passkey, the recovery key or a password, restore with progress, show the result. A wrong or
// mistyped key goes back to the unlock choice. The device's own keyring is kept when the backup's
// is not newer. From the repository the chats come first (the app can show them), then the
// photos and files in the background (resumable after the app was killed), and one attachment
// can be opened on demand meanwhile.
import Foundation

public enum RestoreUiState: Sendable, Equatable {
    /// No file chosen yet; the message explains a failed pick.
    case chooseFile(UserMessage?)
    case inspecting
    /// A backup was chosen: offer the unlock methods its slots allow.
    case chooseUnlock(BackupInfo, UserMessage?)
    /// Waiting for the passkey sheet, or unlocking and restoring; nil before the first report.
    case restoring(BackupInfo, OperationProgress?)
    /// The chats are back. `keptDeviceKeyring`: the backup's keys were not newer than this
    /// device's, which keeps its own (slots revoked since the backup stay revoked).
    /// `newKeys`: the backup's keys could not be trusted and the phone set up new ones;
    /// `damagedBackupsSkipped`: damaged backups in the backup storage were passed over for the
    /// newest intact one, made at `backupTime` (seconds since 1970).
    case restored(messages: UInt64, conversations: UInt64, keptDeviceKeyring: Bool = false, newKeys: Bool = false,
                  damagedBackupsSkipped: Int = 0, backupTime: Int64? = nil)

    /// What the screen says once restored (nil before).
    public var restoredMessage: UserMessage? {
        guard case .restored(let messages, let conversations, let kept, let newKeys, let skipped, let time) = self else {
            return nil
        }
        return .restored(messages: messages, conversations: conversations, keptDeviceKeyring: kept, newKeys: newKeys,
                         damagedSkipped: skipped, backupTime: time)
    }
}

extension BackupInfo {
    /// A repository's slots are sealed in it: every method is offered.
    public var canUsePasskey: Bool { fromRepository || slots.contains { $0.kind == .passkey } }
    public var canUseRecoveryKey: Bool { fromRepository || slots.contains { $0.kind == .recoveryKey } }
    public var canUsePassword: Bool { fromRepository || slots.contains { $0.kind == .password } }
}

/// The photos and files restored after the chats, in the background: `running` with `progress`
/// (`.media`: bytes, files; `ProgressText.of`), then `result` (counts, and the attachments lost to
/// damage with the reason: `lostLines`); `message` says how it ended or why it stopped (it
/// continues with `RestoreViewModel.resumeMedia()`), or why an attachment could not be opened.
/// `opened` is the last attachment opened on demand, `opening` the one being fetched.
public struct MediaRestoreUiState: Sendable, Equatable {
    public var running = false
    public var progress: OperationProgress?
    public var result: MediaRestoreSummary?
    public var message: UserMessage?
    public var opened: MediaFile?
    public var opening: Int64?

    /// One line per attachment lost to damage.
    public var lostLines: [String] { (result?.lost ?? []).map(UserMessage.lost) }

    public init() {}
}

/// Restore screen logic.
@MainActor
public final class RestoreViewModel {
    public private(set) var state = RestoreUiState.chooseFile(nil) {
        didSet { onChange?(state) }
    }

    /// Called on the main actor after every state change.
    public var onChange: ((RestoreUiState) -> Void)?

    /// The background media restore and the attachments opened on demand.
    public private(set) var media = MediaRestoreUiState() {
        didSet { onMediaChange?(media) }
    }

    /// Called on the main actor after every change of `media`.
    public var onMediaChange: ((MediaRestoreUiState) -> Void)?
    private var mediaTask: Task<Void, Never>?

    private let engine: BackupEngine
    private let passkeys: PasskeyPrfProvider
    private let vault: RootKeyVault
    private var current: Task<Void, Never>?

    public init(engine: BackupEngine, passkeys: PasskeyPrfProvider, vault: RootKeyVault) {
        self.engine = engine
        self.passkeys = passkeys
        self.vault = vault
    }

    private var busy: Bool {
        switch state {
        case .inspecting, .restoring: return true
        default: return false
        }
    }

    /// Reads the public header of the backup at `path`.
    @discardableResult
    public func pickFile(_ path: String) -> Task<Void, Never>? {
        guard !busy else { return nil }
        state = .inspecting
        return run { [self] in
            do {
                state = .chooseUnlock(try await engine.inspect(path), nil)
            } catch {
                state = .chooseFile(UserMessage.of(error: error))
            }
        }
    }

    /// Looks for the backup repository (backups with media) in the backup storage.
    @discardableResult
    public func pickRepository() -> Task<Void, Never>? {
        guard !busy else { return nil }
        state = .inspecting
        return run { [self] in
            do {
                if let info = try await engine.inspectRepository() {
                    state = .chooseUnlock(info, nil)
                } else {
                    state = .chooseFile(.noRepository)
                }
            } catch {
                state = .chooseFile(UserMessage.of(error: error))
            }
        }
    }

    /// Unlocks with a passkey assertion and restores.
    @discardableResult
    public func unlockWithPasskey() -> Task<Void, Never>? {
        restore { [self] info in
            let pending = info.fromRepository ? try await engine.beginRepositoryUnlock() : try await engine.beginUnlock(info.path)
            let outcome = await passkeys.authenticate(pending.request)
            guard case .success(let assertion) = outcome else {
                state = .chooseUnlock(info, UserMessage.of(outcome))
                return nil
            }
            return .passkey(pending, assertion)
        }
    }

    /// Unlocks with a typed recovery key and restores.
    @discardableResult
    public func unlockWithRecoveryKey(_ text: String) -> Task<Void, Never>? {
        restore { _ in .recoveryKey(text) }
    }

    /// Unlocks with a typed password and restores.
    @discardableResult
    public func unlockWithPassword(_ text: String) -> Task<Void, Never>? {
        restore { _ in .password(text) }
    }

    /// Stops the running restore; the chat store stays as it was.
    public func cancel() { current?.cancel() }

    /// Back to choosing a file.
    public func reset() {
        if !busy { state = .chooseFile(nil) }
    }

    private func restore(_ secretFor: @escaping @MainActor (BackupInfo) async throws -> UnlockSecret?) -> Task<Void, Never>? {
        guard case .chooseUnlock(let info, _) = state else { return nil }
        state = .restoring(info, nil)
        return run { [self] in
            do {
                guard let secret = try await secretFor(info) else { return }
                // A keyring the vault cannot open (a Keychain error) does not block the restore: the
                // backup's keyring replaces it.
                let device = try? vault.load()
                defer { device?.wipe() }
                let onProgress: @Sendable (OperationProgress) -> Void = { progress in
                    Task { @MainActor [weak self] in
                        guard let self, case .restoring = self.state else { return }
                        self.state = .restoring(info, progress)
                    }
                }
                let result = info.fromRepository
                    ? try await engine.restoreFromRepository(with: secret, device: device, progress: onProgress)
                    : try await engine.restore(info.path, with: secret, device: device, progress: onProgress)
                // Installed: from here on the restore is done, whatever a late cancel says.
                defer { result.secrets.wipe() }
                try vault.save(result.secrets)
                // The chats are ready first: the app can show them while the files follow.
                state = .restored(messages: result.messages, conversations: result.conversations,
                                   keptDeviceKeyring: result.keptDeviceKeyring, newKeys: result.newKeys,
                                   damagedBackupsSkipped: result.damagedBackupsSkipped, backupTime: result.backupTime)
                if info.fromRepository { startMedia(.mediaFollows) }
            } catch {
                state = .chooseUnlock(info, UserMessage.of(error: error))
            }
        }
    }

    /// Continues a media restore that did not finish (the app was killed, it was cancelled or
    /// failed): call it when the app starts. Does nothing when none is pending or one is running.
    @discardableResult
    public func resumeMedia() -> Task<Void, Never> {
        Task { @MainActor [self] in
            do {
                guard try await engine.mediaRestorePending() else { return }
            } catch {
                media.message = .mediaInterrupted((error as? KeepsakeFlowError)?.failure ?? .other)
                return
            }
            await startMedia(nil)?.value
        }
    }

    /// Stops the media restore; what was restored stays, and `resumeMedia()` continues it.
    public func cancelMedia() { mediaTask?.cancel() }

    /// The user opened attachment `attachmentId` (a photo not restored yet): fetches it now, also
    /// while the background restore runs. `media.opened` then names its file; one the backup does
    /// not hold gives a message saying so.
    @discardableResult
    public func openAttachment(_ attachmentId: Int64) -> Task<Void, Never> {
        media.opening = attachmentId
        media.message = nil
        return Task { @MainActor [self] in
            do {
                guard let secrets = try vault.load() else { throw KeepsakeFlowError(.wrongKey, "no keyring on this device") }
                defer { secrets.wipe() }
                let file = try await engine.loadMedia(secrets, attachmentId: attachmentId)
                media.opening = nil
                media.opened = file
            } catch {
                media.opening = nil
                media.message = UserMessage.of(error: error)
            }
        }
    }

    /// The user read the media message.
    public func mediaMessageShown() { media.message = nil }

    /// Starts the background media restore unless one runs; `message` is shown while it runs.
    @discardableResult
    private func startMedia(_ message: UserMessage?) -> Task<Void, Never>? {
        guard !media.running else { return nil }
        media.running = true
        media.progress = nil
        media.result = nil
        media.message = message
        let task = Task { @MainActor [self] in
            do {
                guard let secrets = try vault.load() else { throw KeepsakeFlowError(.wrongKey, "no keyring on this device") }
                defer { secrets.wipe() }
                let summary = try await engine.restoreMedia(secrets) { progress in
                    Task { @MainActor [weak self] in
                        guard let self, self.media.running else { return }
                        self.media.progress = progress
                    }
                }
                media.running = false
                media.result = summary
                media.message = .mediaRestored(summary)
            } catch {
                media.running = false
                let failure = (error as? KeepsakeFlowError)?.failure ?? (error is CancellationError ? .cancelled : .other)
                media.message = .mediaInterrupted(failure)
            }
        }
        mediaTask = task
        return task
    }

    private func run(_ body: @escaping @MainActor () async -> Void) -> Task<Void, Never> {
        let task = Task { @MainActor in await body() }
        current = task
        return task
    }
}
