// What the sample's flows need from Keepsake, as one narrow protocol. The app implements it over
// the generated Swift bindings (module Keepsake); keeping the view-models on this protocol lets
// them be tested on Linux and keeps every binding call in one adapter.
import Foundation

/// The device copy of a keyring: the root key (secret, sealed in the Keychain) with its
/// `generation`, and the public keyring (not secret, MACed by Keepsake). The vault seals the root
/// key and the generation together: the generation is what refuses an older keyring later (one
/// that may still hold revoked slots). Every slot removal rotates the root key, so the vault must
/// then seal the new secrets in place of the old ones. `wipe()` overwrites the root key.
public final class KeyringSecrets: CustomStringConvertible, @unchecked Sendable {
    private var root: [UInt8]
    public let publicKeyring: Data
    public let generation: Int64

    public init(rootKey: [UInt8], publicKeyring: Data, generation: Int64) {
        self.root = rootKey
        self.publicKeyring = publicKeyring
        self.generation = generation
    }

    /// A copy of the root key, for sealing; the caller wipes it.
    public func rootKey() -> [UInt8] { root }

    /// Overwrites the root key held here.
    public func wipe() {
        for index in root.indices { root[index] = 0 }
    }

    deinit { wipe() }

    /// Never prints the root key.
    public var description: String {
        "KeyringSecrets(root key redacted, generation \(generation), public \(publicKeyring.count) bytes)"
    }
}

public enum SlotKind: String, Sendable, Equatable { case passkey, recoveryKey, password }

/// A key slot as the user sees it. `id` names it for `BackupEngine.removeSlot`; `deviceBound`
/// marks a passkey that cannot sync (it is lost with this phone: warn that another slot is needed).
public struct SlotInfo: Sendable, Equatable {
    public var kind: SlotKind
    public var label: String
    public var id: String
    public var deviceBound: Bool
    public init(kind: SlotKind, label: String, id: String, deviceBound: Bool = false) {
        self.kind = kind
        self.label = label
        self.id = id
        self.deviceBound = deviceBound
    }
}

/// A passkey registration Keepsake has started and will finish with the provider's answer.
public protocol PendingRegistration: Sendable {
    var request: PasskeyRegistrationRequest { get }
}

/// A passkey assertion Keepsake has started and will finish with the provider's answer.
public protocol PendingAssertion: Sendable {
    var request: PasskeyAssertionRequest { get }
}

/// The result of handing a registration to Keepsake.
public enum EnrollmentStep: Sendable {
    /// The slot was added: seal these secrets.
    case enrolled(KeyringSecrets)
    /// PRF is supported but was not evaluated at registration: make this one assertion.
    case needsAssertion(PendingAssertion)
}

/// How a backup is unlocked for restore.
public enum UnlockSecret: Sendable, CustomStringConvertible {
    case passkey(PendingAssertion, PasskeyAssertion)
    case recoveryKey(String)
    case password(String)

    public var description: String {
        switch self {
        case .passkey(_, let assertion): return "passkey(\(assertion))"
        case .recoveryKey: return "recoveryKey(redacted)"
        case .password: return "password(redacted)"
        }
    }
}

/// `media` (attachments' files, after the chats) comes from backups into the repository with
/// media (`BackupEngine.backUpWithMedia`) and from the media restore; single-file backups hold no
/// files.
public enum Phase: Sendable, Equatable { case backup, verify, restore, index, check, media }

/// A progress report of a long operation. In the `.media` phase `done` and `total` count the bytes
/// of the attachments' files and `filesDone`/`filesTotal` the files; in the other phases the files
/// are nil.
public struct OperationProgress: Sendable, Equatable {
    public var phase: Phase
    public var done: UInt64
    public var total: UInt64?
    public var filesDone: UInt64?
    public var filesTotal: UInt64?
    public init(phase: Phase, done: UInt64, total: UInt64?, filesDone: UInt64? = nil, filesTotal: UInt64? = nil) {
        self.phase = phase
        self.done = done
        self.total = total
        self.filesDone = filesDone
        self.filesTotal = filesTotal
    }
}

/// The attachments' files in a backup with media: `filesStored` (their bytes are in the backup,
/// `bytesStored` in all), `filesNotOnDevice` (the file was not on the phone, or could not be read:
/// `filesUnreadable` of them), `filesSkipped` (left out by the media options, e.g. too large), and
/// `filesRead`, the new or changed files this backup read (the others were unchanged).
public struct MediaBackupCounts: Sendable, Equatable, Codable {
    public var filesStored: UInt64
    public var filesNotOnDevice: UInt64
    public var filesSkipped: UInt64
    public var bytesStored: UInt64
    public var filesRead: UInt64
    public var filesUnreadable: UInt64
    public init(filesStored: UInt64, filesNotOnDevice: UInt64, filesSkipped: UInt64, bytesStored: UInt64,
                filesRead: UInt64 = 0, filesUnreadable: UInt64 = 0) {
        self.filesStored = filesStored
        self.filesNotOnDevice = filesNotOnDevice
        self.filesSkipped = filesSkipped
        self.bytesStored = bytesStored
        self.filesRead = filesRead
        self.filesUnreadable = filesUnreadable
    }
}

/// An attachment the media restore could not bring back (its data in the backup is damaged).
public struct LostAttachment: Sendable, Equatable {
    public var attachmentId: Int64
    public var reason: String
    public init(attachmentId: Int64, reason: String) {
        self.attachmentId = attachmentId
        self.reason = reason
    }
}

/// What a media restore run did: files and bytes restored now, files restored before (an earlier,
/// interrupted run, or opened on demand), attachments whose file is not in the backup (shown as
/// unavailable), and the ones `lost` to damage with the reason.
public struct MediaRestoreSummary: Sendable, Equatable {
    public var filesRestored: UInt64
    public var bytesRestored: UInt64
    public var filesAlreadyRestored: UInt64
    public var filesNotInBackup: UInt64
    public var lost: [LostAttachment]
    public init(filesRestored: UInt64, bytesRestored: UInt64, filesAlreadyRestored: UInt64, filesNotInBackup: UInt64,
                lost: [LostAttachment]) {
        self.filesRestored = filesRestored
        self.bytesRestored = bytesRestored
        self.filesAlreadyRestored = filesAlreadyRestored
        self.filesNotInBackup = filesNotInBackup
        self.lost = lost
    }
}

/// An attachment's file restored on the device, ready to show.
public struct MediaFile: Sendable, Equatable {
    public var attachmentId: Int64
    public var path: String
    public var mime: String
    public var bytes: UInt64
    public init(attachmentId: Int64, path: String, mime: String, bytes: UInt64) {
        self.attachmentId = attachmentId
        self.path = path
        self.mime = mime
        self.bytes = bytes
    }
}

/// A backup's public header, readable before unlocking (nothing in it is trusted). For the backup
/// repository (`fromRepository`, `BackupEngine.inspectRepository`) `path` names where it is, and
/// the time, slots and counts are sealed in it: known only once it is open, so every unlock
/// method is offered.
public struct BackupInfo: Sendable, Equatable {
    public var path: String
    public var createdAt: Date
    public var slots: [SlotInfo]
    public var messageCount: UInt64?
    public var fromRepository: Bool
    public init(path: String, createdAt: Date, slots: [SlotInfo], messageCount: UInt64?, fromRepository: Bool = false) {
        self.path = path
        self.createdAt = createdAt
        self.slots = slots
        self.messageCount = messageCount
        self.fromRepository = fromRepository
    }
}

/// What a finished backup wrote: a file's size, or what a repository backup uploaded; `media` for a
/// backup with media (nil for a single file).
public struct BackupSummary: Sendable, Equatable {
    public var path: String
    public var bytes: UInt64
    public var messages: UInt64
    public var media: MediaBackupCounts?
    /// For a backup into the backup storage, what it healed there (nil for a single file).
    public var healed: StorageHealing?
    public init(path: String, bytes: UInt64, messages: UInt64, media: MediaBackupCounts? = nil,
                healed: StorageHealing? = nil) {
        self.path = path
        self.bytes = bytes
        self.messages = messages
        self.media = media
        self.healed = healed
    }
}

/// What a backup into the backup storage found lost or damaged there and stored again: the new
/// backup restores whole regardless. `partsLost` (packs the storage no longer had, or had cut
/// short), `partsDamaged` (damaged index and data copies, and copies put back from this phone's
/// cache), `olderBackupsDamaged` (older backups that can no longer be restored: repairing the
/// storage removes them), `storageRolledBack` (the storage went back to an older state: backups
/// made after that state are gone).
public struct StorageHealing: Sendable, Equatable {
    public var partsLost: UInt64
    public var partsDamaged: UInt64
    public var olderBackupsDamaged: UInt64
    public var storageRolledBack: Bool
    public init(partsLost: UInt64, partsDamaged: UInt64, olderBackupsDamaged: UInt64, storageRolledBack: Bool) {
        self.partsLost = partsLost
        self.partsDamaged = partsDamaged
        self.olderBackupsDamaged = olderBackupsDamaged
        self.storageRolledBack = storageRolledBack
    }

    /// Whether the user should be told.
    public var foundDamage: Bool { partsLost > 0 || partsDamaged > 0 || olderBackupsDamaged > 0 || storageRolledBack }
}

/// What repairing the backup storage did: `backupsRemoved` could no longer be restored;
/// `backupsMissingFiles` were kept although some of their photos and files are lost (their chats
/// and other files restore).
public struct StorageRepair: Sendable, Equatable {
    public var nothingToRepair: Bool
    public var backupsRemoved: Int
    public var backupsMissingFiles: Int
    public init(nothingToRepair: Bool, backupsRemoved: Int, backupsMissingFiles: Int) {
        self.nothingToRepair = nothingToRepair
        self.backupsRemoved = backupsRemoved
        self.backupsMissingFiles = backupsMissingFiles
    }
}

/// What a restore installed, and the keyring the device keeps from now on: the backup's, or the
/// device's own when it is the same keyring at the same or a newer generation
/// (`keptDeviceKeyring`; an older backup's keyring may still hold slots revoked since).
public struct RestoreResult: Sendable {
    public var messages: UInt64
    public var conversations: UInt64
    public var secrets: KeyringSecrets
    public var keptDeviceKeyring: Bool
    /// The backup's keys could not be trusted (an old key slot): `secrets` are new keys for this
    /// phone, with no slot yet. Ask for a passkey and a recovery key before the next backup.
    public var newKeys: Bool
    /// From the backup storage: damaged backups passed over to find the newest intact one (any
    /// of them may have been newer), and when the one restored was made (seconds since 1970).
    public var damagedBackupsSkipped: Int
    public var backupTime: Int64?
    public init(messages: UInt64, conversations: UInt64, secrets: KeyringSecrets, keptDeviceKeyring: Bool = false,
                newKeys: Bool = false, damagedBackupsSkipped: Int = 0, backupTime: Int64? = nil) {
        self.messages = messages
        self.conversations = conversations
        self.secrets = secrets
        self.keptDeviceKeyring = keptDeviceKeyring
        self.newKeys = newKeys
        self.damagedBackupsSkipped = damagedBackupsSkipped
        self.backupTime = backupTime
    }
}

public struct ConversationSummary: Sendable, Equatable, Identifiable {
    public var id: String
    public var title: String
    public var lastMessage: String?
    public init(id: String, title: String, lastMessage: String?) {
        self.id = id
        self.title = title
        self.lastMessage = lastMessage
    }
}

public struct ChatMessage: Sendable, Equatable, Identifiable {
    public var id: String
    public var sender: String
    public var text: String
    public var sentAt: Date
    public init(id: String, sender: String, text: String, sentAt: Date) {
        self.id = id
        self.sender = sender
        self.text = text
        self.sentAt = sentAt
    }
}

/// The failures Keepsake reports, one meaning each (the bindings' `KeepsakeError` cases).
public enum Failure: CaseIterable, Sendable {
    case wrongKey, recoveryKeyTypo, prfUnsupported, badPrfOutput, noMatchingSlot, malformedWebAuthn
    case corrupted, truncated, unsupportedVersion, cancelled, io, database
    /// A password opens no password slot.
    case wrongPassword
    /// The keyring offered is older than the generation the device keeps: it may hold revoked slots.
    case keyringRolledBack
    /// The slot is the last one a new phone could restore with: add another first.
    case lastSlot
    /// An attachment's file is not in the backup (never downloaded on the old phone): show it as unavailable.
    case mediaUnavailable
    /// The backup's keys came through an old (version 2) key slot, whose seal anyone holding the
    /// backup could have made: never kept; the phone sets up new keys.
    case untrustedKeys
    /// An old key slot blocks a rotation: unlock once with its secret on this phone, or remove it.
    case legacySlot
    /// A new password Keepsake refuses as too easy to guess (too short, too common, a pattern).
    case weakPassword
    /// The cloud storage is full (iCloud's or Drive's quota): the user must free space.
    case storageFull
    /// The cloud account refused the app (signed out of iCloud, access withdrawn): the user must sign in.
    case signInRequired
    /// The backup storage failed or could not be reached (offline, throttled), after Keepsake's retries: try again.
    case storageUnavailable
    /// Another device is backing up to the same storage: wait until it has finished.
    case storageBusy
    /// The backup storage lacks or damaged data the operation needs: repair it, then back up again.
    case storageDamaged
    case other
}

/// A Keepsake failure with its detail (never containing secrets).
public struct KeepsakeFlowError: Error, Sendable {
    public var failure: Failure
    public var detail: String
    public init(_ failure: Failure, _ detail: String) {
        self.failure = failure
        self.detail = detail
    }
}

/// Keepsake operations used by the sample; every failure is a `KeepsakeFlowError`, and a
/// cancelled task ends with `CancellationError` or `KeepsakeFlowError(.cancelled)`.
public protocol BackupEngine: AnyObject {
    func createKeyring() async throws -> KeyringSecrets
    func slots(_ secrets: KeyringSecrets) async throws -> [SlotInfo]
    /// `label` names the new slot for the user.
    func beginPasskeyRegistration(_ secrets: KeyringSecrets, userName: String, label: String) async throws -> PendingRegistration
    func finishPasskeyRegistration(_ secrets: KeyringSecrets, _ pending: PendingRegistration,
                                   _ registration: PasskeyRegistration) async throws -> EnrollmentStep
    func finishPasskeyEnrollment(_ secrets: KeyringSecrets, _ pending: PendingAssertion,
                                 _ assertion: PasskeyAssertion) async throws -> KeyringSecrets
    /// Returns the keyring with the new slot and the key to show once.
    func addRecoveryKey(_ secrets: KeyringSecrets, label: String) async throws -> (KeyringSecrets, String)
    /// Adds a password slot (at least 8 characters); returns the keyring with it.
    func addPassword(_ secrets: KeyringSecrets, label: String, password: String) async throws -> KeyringSecrets
    /// Revokes the slot `slotId`: removes it and rotates the root key (a new key and generation), so
    /// its secret opens no backup made from now on; backups made before still open with it. Returns
    /// the rotated keyring, to seal in place of `secrets`. Fails with `.lastSlot` when no other
    /// slot could restore the backups on a new phone.
    func removeSlot(_ secrets: KeyringSecrets, slotId: String) async throws -> KeyringSecrets
    /// A keyring older than its sealed generation is refused with `.keyringRolledBack`.
    func backUp(_ secrets: KeyringSecrets, to path: String,
                progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary
    /// Backs the chat store and its attachments' files up into the backup repository (created with
    /// `secrets`' slots the first time): the chats first (`.backup`), then the files (`.media`, in
    /// bytes and files; only new and changed files are read). A keyring older than its sealed
    /// generation is refused with `.keyringRolledBack`. A failed or cancelled run leaves no new
    /// snapshot; the next one reuses what was uploaded.
    func backUpWithMedia(_ secrets: KeyringSecrets,
                         progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary
    func inspect(_ path: String) async throws -> BackupInfo
    /// The backup repository, if its store holds one (`fromRepository`), else nil.
    func inspectRepository() async throws -> BackupInfo?
    /// Starts the passkey assertion that unlocks the backup repository.
    func beginRepositoryUnlock() async throws -> PendingAssertion
    /// Repairs the backup storage with the device keyring: removes backups that can no longer be
    /// restored and replaces damaged parts, keeping everything intact; the next backup stores
    /// everything again. `.storageBusy` while another device backs up.
    func repairStorage(_ secrets: KeyringSecrets) async throws -> StorageRepair
    /// Opens the backup repository with `secret` and restores the chats of its newest intact
    /// snapshot over the chat store, atomically (the result says when damaged ones were passed
    /// over); `device` as for `restore`. The attachments' files follow with
    /// `restoreMedia`: until that run finishes `mediaRestorePending()` is true, even after the app
    /// was killed.
    func restoreFromRepository(with secret: UnlockSecret, device: KeyringSecrets?,
                               progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult
    /// Whether a media restore started by `restoreFromRepository` has not finished yet.
    func mediaRestorePending() async throws -> Bool
    /// Restores the attachments' files of the snapshot `restoreFromRepository` restored, those not
    /// restored yet, into the app's media folder (`.media` progress). Its state stays on the device:
    /// a cancelled, failed or killed run goes on with the next file when called again. `secrets`
    /// (the device keyring) opens the repository when this process has not opened it yet.
    func restoreMedia(_ secrets: KeyringSecrets,
                      progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> MediaRestoreSummary
    /// Restores attachment `attachmentId` now (the user opened it before the media restore got to
    /// it), also while `restoreMedia` runs; `.mediaUnavailable` when the backup does not hold its file.
    func loadMedia(_ secrets: KeyringSecrets, attachmentId: Int64) async throws -> MediaFile
    func beginUnlock(_ path: String) async throws -> PendingAssertion
    /// Restores over the chat store. `device` is the keyring this device holds, if any: it is kept
    /// when the backup carries the same keyring at an older or the same generation, so a restore
    /// never brings back a revoked slot.
    func restore(_ path: String, with secret: UnlockSecret, device: KeyringSecrets?,
                 progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult
    func conversations() async throws -> [ConversationSummary]
    func messages(in conversationId: String) async throws -> [ChatMessage]
    func createConversation(title: String) async throws -> ConversationSummary
    func sendText(_ text: String, to conversationId: String) async throws -> ChatMessage
}

/// Seals the device copy of the keyring (the Keychain in the app): root key and generation
/// together, replacing what was there.
public protocol RootKeyVault: AnyObject {
    func save(_ secrets: KeyringSecrets) throws
    func load() throws -> KeyringSecrets?
    func clear() throws
}

/// A successful backup as the Backup screen shows it; `media` for a backup with media (absent in
/// records of older versions, which decode as nil).
public struct LastBackup: Sendable, Equatable, Codable {
    public var path: String
    public var finishedAt: Date
    public var bytes: UInt64
    public var messages: UInt64
    public var media: MediaBackupCounts?
    public init(path: String, finishedAt: Date, bytes: UInt64, messages: UInt64, media: MediaBackupCounts? = nil) {
        self.path = path
        self.finishedAt = finishedAt
        self.bytes = bytes
        self.messages = messages
        self.media = media
    }
}

/// When the last backup finished (UserDefaults in the app).
public protocol BackupHistory: AnyObject {
    func last() -> LastBackup?
    func record(_ backup: LastBackup)
}
