// The words the screens show for each outcome, in one place so both screens say the same thing
// and the tests can check that every failure gets a specific message.

/// A message for the user, with whether it is an error and what the screen can offer next.
public struct UserMessage: Sendable, Equatable {
    public var text: String
    public var isError: Bool
    public var offerRecoveryKey: Bool

    public init(_ text: String, isError: Bool, offerRecoveryKey: Bool = false) {
        self.text = text
        self.isError = isError
        self.offerRecoveryKey = offerRecoveryKey
    }

    static func error(_ text: String) -> UserMessage { UserMessage(text, isError: true) }
    static func info(_ text: String) -> UserMessage { UserMessage(text, isError: false) }

    /// What to say for a Keepsake failure.
    public static func of(_ failure: Failure) -> UserMessage {
        switch failure {
        case .wrongKey: return .error("That key does not open this backup.")
        case .recoveryKeyTypo: return .error("The recovery key has a typo. Check each group and try again.")
        case .prfUnsupported:
            return UserMessage("This passkey provider cannot protect backups. Add a recovery key instead.",
                               isError: true, offerRecoveryKey: true)
        case .badPrfOutput:
            return UserMessage("The passkey provider gave an unusable key. Try another provider or the recovery key.",
                               isError: true, offerRecoveryKey: true)
        case .malformedWebAuthn:
            return UserMessage("The passkey provider gave an answer Keepsake cannot read. Try another provider or the recovery key.",
                               isError: true, offerRecoveryKey: true)
        case .noMatchingSlot:
            return .error("This passkey was not set up for this backup. Try another passkey or the recovery key.")
        case .corrupted: return .error("The backup file is damaged or was modified.")
        case .truncated: return .error("The backup file is incomplete.")
        case .unsupportedVersion: return .error("This backup was made by a newer app version. Update the app.")
        case .cancelled: return .info("Cancelled.")
        case .io: return .error("The file could not be read or written.")
        case .database: return .error("The chat database could not be read or written.")
        case .wrongPassword:
            return .error("That password does not open this backup. Check it, or use a passkey or the recovery key.")
        case .keyringRolledBack:
            return .error("These backup keys are older than the ones this phone last used and may include keys you removed. "
                          + "They were not used: restore from your latest backup, or set up backups again.")
        case .lastSlot:
            return .error("This is the last way to restore your backups on a new phone. Add another passkey, recovery key or password first.")
        case .mediaUnavailable: return .info("This photo or file was not in the backup.")
        case .other: return .error("Something went wrong.")
        }
    }

    /// What to say for a new password Keepsake would refuse as too short.
    public static func passwordTooShort(_ minChars: Int) -> UserMessage {
        .error("Use a password of at least \(minChars) characters.")
    }

    /// What to say once `slot` was revoked: it opens nothing new, but old backups still open with it.
    public static func revoked(_ slot: SlotInfo) -> UserMessage {
        .info("\"\(slot.label)\" is revoked: it cannot open backups made from now on. Backups made before still open "
              + "with it, so delete them if it may be in the wrong hands.")
    }

    /// What to say after a restore; `keptDeviceKeyring` when the backup's keys were older than this phone's.
    public static func restored(messages: UInt64, conversations: UInt64, keptDeviceKeyring: Bool) -> UserMessage {
        .info("Restored \(messages) messages in \(conversations) conversations."
              + (keptDeviceKeyring ? " This phone keeps its current backup keys: keys removed since that backup stay revoked." : ""))
    }

    /// What to say when a ceremony did not succeed; nil for success and for a plain cancel.
    public static func of<Value>(_ outcome: PasskeyOutcome<Value>) -> UserMessage? {
        switch outcome {
        case .success, .cancelled: return nil
        case .noCredential:
            return UserMessage("No passkey for Keepsake was found on this device. Use the recovery key instead.",
                               isError: true, offerRecoveryKey: true)
        case .notConfigured:
            return UserMessage("Passkeys are not available on this device. Turn on a password manager, or use a recovery key.",
                               isError: true, offerRecoveryKey: true)
        case .rejected(let name, _):
            if name == "InvalidStateError" {
                return .error("A passkey for this backup already exists in this password manager.")
            }
            return .error("The passkey was refused (\(name)).")
        case .interrupted: return .error("The passkey prompt was interrupted. Try again.")
        case .failed: return .error("The passkey did not work. Try again.")
        }
    }

    /// What to say for any error a flow caught.
    static func of(error: Error) -> UserMessage {
        if let flow = error as? KeepsakeFlowError { return of(flow.failure) }
        if error is CancellationError { return of(.cancelled) }
        return of(.other)
    }
}
