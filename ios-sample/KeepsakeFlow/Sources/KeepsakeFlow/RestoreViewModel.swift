// The Restore screen's logic: pick a backup file, unlock it with a passkey, the recovery key or a
// password, restore with progress, show the result. A wrong or mistyped key goes back to the
// unlock choice. The device's own keyring is kept when the backup's is not newer.
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
    case restored(messages: UInt64, conversations: UInt64, keptDeviceKeyring: Bool = false)
}

extension BackupInfo {
    public var canUsePasskey: Bool { slots.contains { $0.kind == .passkey } }
    public var canUseRecoveryKey: Bool { slots.contains { $0.kind == .recoveryKey } }
    public var canUsePassword: Bool { slots.contains { $0.kind == .password } }
}

/// Restore screen logic.
@MainActor
public final class RestoreViewModel {
    public private(set) var state = RestoreUiState.chooseFile(nil) {
        didSet { onChange?(state) }
    }

    /// Called on the main actor after every state change.
    public var onChange: ((RestoreUiState) -> Void)?

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

    /// Unlocks with a passkey assertion and restores.
    @discardableResult
    public func unlockWithPasskey() -> Task<Void, Never>? {
        restore { [self] info in
            let pending = try await engine.beginUnlock(info.path)
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
                let result = try await engine.restore(info.path, with: secret, device: device) { progress in
                    Task { @MainActor [weak self] in
                        guard let self, case .restoring = self.state else { return }
                        self.state = .restoring(info, progress)
                    }
                }
                // Installed: from here on the restore is done, whatever a late cancel says.
                defer { result.secrets.wipe() }
                try vault.save(result.secrets)
                state = .restored(messages: result.messages, conversations: result.conversations,
                                  keptDeviceKeyring: result.keptDeviceKeyring)
            } catch {
                state = .chooseUnlock(info, UserMessage.of(error: error))
            }
        }
    }

    private func run(_ body: @escaping @MainActor () async -> Void) -> Task<Void, Never> {
        let task = Task { @MainActor in await body() }
        current = task
        return task
    }
}
