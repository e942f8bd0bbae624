// The words the screens show for each outcome, in one place so both screens say the same thing
// and the tests can check that every failure gets a specific message.
import Foundation

/// What a message offers the user to do next.
public enum UserAction: Sendable, Equatable {
    /// Repair the backup storage (`BackupViewModel.repairStorage`), then back up again.
    case repairStorage
    /// Try again in a few minutes (another device is backing up).
    case tryAgainLater
    /// Sign in to the backup storage again (or reconnect), then try again.
    case signInAgain
}

/// A message for the user, with whether it is an error and what the screen can offer next.
public struct UserMessage: Sendable, Equatable {
    public var text: String
    public var isError: Bool
    public var offerRecoveryKey: Bool
    /// What the screen offers to do about it (a button), if anything.
    public var action: UserAction?

    public init(_ text: String, isError: Bool, offerRecoveryKey: Bool = false, action: UserAction? = nil) {
        self.text = text
        self.isError = isError
        self.offerRecoveryKey = offerRecoveryKey
        self.action = action
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
        case .untrustedKeys:
            return .error("This backup was made by an older version of the app and its keys cannot be verified. "
                          + "Your chats can be restored, but set up new backup keys on this phone.")
        case .legacySlot:
            return .error("One of your backup keys is from an older version of the app. Unlock once with it on this phone, "
                          + "or remove it, then try again.")
        case .weakPassword: return .error("This password is too easy to guess. Use a phrase of four or more unrelated words.")
        case .storageFull: return .error("The backup storage is full. Free up space, then back up again.")
        case .signInRequired:
            return UserMessage("The backup storage needs you to sign in again.", isError: true, action: .signInAgain)
        case .storageUnavailable:
            return UserMessage("The backup storage could not be reached. Check your connection, or sign in to it again, then try again.",
                               isError: true, action: .signInAgain)
        case .storageBusy:
            return UserMessage("Another device is backing up to the same storage. Try again when it has finished.",
                               isError: true, action: .tryAgainLater)
        case .storageDamaged:
            return UserMessage("Your backup storage is missing or has damaged data. Repair it, then back up again.",
                               isError: true, action: .repairStorage)
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

    /// What to say after a restore; `keptDeviceKeyring` when the backup's keys were older than this
    /// phone's, `newKeys` when they could not be trusted and the phone set up new ones;
    /// `damagedSkipped` damaged backups passed over for the newest intact one, made at `backupTime`.
    public static func restored(messages: UInt64, conversations: UInt64, keptDeviceKeyring: Bool,
                                newKeys: Bool = false, damagedSkipped: Int = 0, backupTime: Int64? = nil) -> UserMessage {
        var text = "Restored \(messages) messages in \(conversations) conversations."
        if keptDeviceKeyring { text += " This phone keeps its current backup keys: keys removed since that backup stay revoked." }
        if newKeys {
            text += " The backup was made by an older version of the app, so this phone set up new backup keys: "
                + "add a passkey and a recovery key before the next backup."
        }
        if damagedSkipped > 0 {
            let from = backupTime.map { ", from \(time($0))" } ?? ""
            text += " \(backups(damagedSkipped)) in the backup storage \(were(damagedSkipped)) damaged: this is the newest intact one\(from)."
        }
        return .info(text)
    }

    /// What to say after a backup; with media, what became of the photos and files; what it healed.
    public static func backedUp(_ summary: BackupSummary) -> UserMessage {
        var done = summary.media.map { UserMessage.info("Backup complete: \(mediaCounts($0)).") } ?? .info("Backup complete.")
        guard let healed = summary.healed, healed.foundDamage else { return done }
        done.text += " " + healing(healed)
        done.action = healed.olderBackupsDamaged > 0 ? .repairStorage : nil
        return done
    }

    /// What a backup healed in the backup storage, in words.
    public static func healing(_ healed: StorageHealing) -> String {
        var parts: [String] = []
        if healed.partsLost > 0 || healed.partsDamaged > 0 {
            let counts = [healed.partsLost > 0 ? "\(healed.partsLost) lost" : nil,
                          healed.partsDamaged > 0 ? "\(healed.partsDamaged) damaged" : nil].compactMap { $0 }
            parts.append("Your backup storage lost or damaged some data (\(counts.joined(separator: ", "))); this backup restored it.")
        }
        if healed.olderBackupsDamaged > 0 {
            let n = Int(healed.olderBackupsDamaged)
            parts.append("\(backups(n)) \(were(n)) damaged and can no longer be restored: repair the backup storage to remove \(n == 1 ? "it" : "them").")
        }
        if healed.storageRolledBack {
            parts.append("Your backup storage went back to an older state: backups made after it are gone, this one is complete.")
        }
        return parts.joined(separator: " ")
    }

    /// What to say after repairing the backup storage.
    public static func repaired(_ repair: StorageRepair) -> UserMessage {
        if repair.nothingToRepair { return .info("Your backup storage is in order.") }
        var text = "Backup storage repaired."
        if repair.backupsRemoved > 0 {
            text += " \(backups(repair.backupsRemoved)) that could no longer be restored \(were(repair.backupsRemoved)) removed."
        }
        if repair.backupsMissingFiles > 0 {
            text += " \(backups(repair.backupsMissingFiles)) \(were(repair.backupsMissingFiles)) kept without some photos or files that are lost."
        }
        return .info(text + " Back up now to store everything again.")
    }

    /// The media counts of a backup, as the Backup screen shows them.
    public static func mediaCounts(_ media: MediaBackupCounts) -> String {
        "\(files(media.filesStored)) in the backup (\(ProgressText.bytes(media.bytesStored))), "
            + "\(media.filesNotOnDevice) not on this phone, \(media.filesSkipped) skipped"
    }

    /// No backup repository in the backup storage (nothing backed up with media yet).
    public static let noRepository = UserMessage.error("No backup was found in the backup storage.")

    /// The chats are back; the photos and files follow in the background.
    public static let mediaFollows = UserMessage.info("Your chats are ready. Photos and files are being restored in the background.")

    /// What to say when the media restore finished.
    public static func mediaRestored(_ summary: MediaRestoreSummary) -> UserMessage {
        var text = "Restored \(files(summary.filesRestored + summary.filesAlreadyRestored)) (\(ProgressText.bytes(summary.bytesRestored)) now)."
        if summary.filesNotInBackup > 0 {
            text += " \(files(summary.filesNotInBackup)) \(summary.filesNotInBackup == 1 ? "was" : "were") not in the backup."
        }
        if !summary.lost.isEmpty { text += " \(files(UInt64(summary.lost.count))) could not be restored." }
        return UserMessage(text, isError: !summary.lost.isEmpty)
    }

    /// One line per attachment lost to damage, with Keepsake's reason.
    public static func lost(_ attachment: LostAttachment) -> String {
        "Attachment \(attachment.attachmentId) could not be restored: \(attachment.reason)"
    }

    /// The media restore stopped (cancelled, offline, killed): it goes on where it stopped.
    public static func mediaInterrupted(_ failure: Failure) -> UserMessage {
        var message = of(failure)
        message.text = "Restoring photos and files stopped: \(message.text) It continues where it stopped."
        return message
    }

    private static func files(_ n: UInt64) -> String { n == 1 ? "1 photo or file" : "\(n) photos and files" }
    private static func backups(_ n: Int) -> String { n == 1 ? "1 backup" : "\(n) backups" }
    private static func were(_ n: Int) -> String { n == 1 ? "was" : "were" }

    /// A backup's time for people: "2026-12-06 21:57 UTC".
    private static func time(_ secondsSince1970: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(secondsSince1970))) + " UTC"
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

/// The progress line of the Backup and Restore screens.
public enum ProgressText {
    /// "Photos and files: 3 of 10 files, 1.5 MB of 4.0 MB" in the media phase, else the phase and a percentage.
    public static func of(_ progress: OperationProgress?) -> String {
        guard let progress else { return "Starting…" }
        if progress.phase == .media {
            let files = "\(progress.filesDone ?? 0) of \(progress.filesTotal ?? 0) files"
            let size = progress.total.map { "\(bytes(progress.done)) of \(bytes($0))" } ?? bytes(progress.done)
            return "\(phase(progress.phase)): \(files), \(size)"
        }
        guard let total = progress.total, total > 0 else { return phase(progress.phase) }
        return "\(phase(progress.phase)): \(min(progress.done, total) * 100 / total)%"
    }

    /// What each phase is called on screen.
    public static func phase(_ phase: Phase) -> String {
        switch phase {
        case .backup: return "Backing up chats"
        case .restore: return "Restoring chats"
        case .verify, .check: return "Checking"
        case .index: return "Indexing"
        case .media: return "Photos and files"
        }
    }

    /// Bytes for people: "512 B", "1.5 KB", "3.0 MB", "1.2 GB" (1 KB = 1024 bytes).
    public static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KB", "MB", "GB", "TB"]
        var value = Double(n) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        // One decimal, rounded half away from zero like Kotlin's "%.1f", without locale.
        let tenths = (value * 10).rounded(.toNearestOrAwayFromZero)
        return "\(Int(tenths) / 10).\(Int(tenths) % 10) \(units[unit])"
    }
}
