// The sample's BackupEngine over the generated Keepsake Swift bindings (typed ASAuthorization
// path): keyrings travel between calls as KeyringSecrets (root key, generation, public keyring)
// so the Keychain vault can seal them and every keyring is rebuilt with Keyring.restoreChecked
// against the sealed generation; blocking calls run off the main actor, and every KeepsakeError
// becomes a KeepsakeFlowError. Backups with media go into a backup Repository (a BlobStore: a
// folder of the app here, the app's cloud in a real app) with the files of the app's media folder;
// the restore brings the chats back first, then the files, resumable through a state folder that
// outlives the process.
import Foundation
import Keepsake
import KeepsakeFlow

/// Backups with media: `mediaFolder` is the app's media folder (each attachment's file at its
/// `localRef`; restored files are written there too), `mediaStateFolder` the media restore's state
/// (app-private, excluded from iCloud backup: under Application Support), `cacheDir` the
/// repository's local cache, `mediaOptions` what to leave out. `blobStore` is where the backup
/// repository lives: **a real app returns its cloud `BlobStore` here** (iCloud Drive, CloudKit,
/// its own server: docs/SWIFT.md); the sample keeps the repository in a folder of the app.
public final class BindingsBackupEngine: KeepsakeFlow.BackupEngine, @unchecked Sendable {
    private let chatDatabase: String
    private let relyingPartyId: String
    private let lock = NSLock()
    private var openStore: ChatStore?
    private let mediaFolder: URL
    private let mediaStateFolder: URL
    private let cacheDir: String?
    private let mediaOptions: MediaOptions?
    private let repositoryName: String
    private let makeBlobStore: () throws -> BlobStore
    private var openBlobStore: BlobStore?
    /// The repository opened by this process (reads, such as a fetch during a media restore, run side by side).
    private var openRepository: Repository?
    /// The snapshot whose chats were restored: its files are restored from it (kept across a kill).
    private let restoredSnapshotFile: URL
    /// Present while the media restore of that snapshot has not finished.
    private let mediaPendingFile: URL
    /// Demo mode's passkey store. Two engines given the same one model a passkey synced between
    /// devices by the password manager.
    public let soft: SoftAuthenticator
    /// Ceremonies in progress by challenge, so demo mode can answer them with the software authenticator.
    private var enrollments: [Data: PasskeyEnrollment] = [:]
    private var unlocks: [Data: PasskeyUnlock] = [:]

    public init(chatDatabase: String, relyingPartyId: String,
                softAuthenticator: SoftAuthenticator = SoftAuthenticator(mode: .prfAtRegistration),
                mediaFolder: URL? = nil, mediaStateFolder: URL? = nil, cacheDir: String? = nil,
                mediaOptions: MediaOptions? = nil, repositoryName: String = "Backup storage",
                blobStore: (() throws -> BlobStore)? = nil) {
        self.chatDatabase = chatDatabase
        self.relyingPartyId = relyingPartyId
        soft = softAuthenticator
        let folder = URL(fileURLWithPath: chatDatabase).deletingLastPathComponent()
        self.mediaFolder = mediaFolder ?? folder.appendingPathComponent("Media")
        let state = mediaStateFolder ?? folder.appendingPathComponent("keepsake-media-state")
        self.mediaStateFolder = state
        restoredSnapshotFile = state.deletingLastPathComponent().appendingPathComponent(state.lastPathComponent + ".snapshot")
        mediaPendingFile = state.deletingLastPathComponent().appendingPathComponent(state.lastPathComponent + ".pending")
        self.cacheDir = cacheDir
        self.mediaOptions = mediaOptions
        self.repositoryName = repositoryName
        // The cloud goes here: the sample's repository is a folder beside the chat database.
        makeBlobStore = blobStore ?? { try directoryBlobStore(path: folder.appendingPathComponent("keepsake-repository").path) }
    }

    private struct Registration: PendingRegistration {
        let keyring: Keyring
        let enrollment: PasskeyEnrollment
        let request: PasskeyRegistrationRequest
    }

    private struct EnrollmentAssertion: PendingAssertion {
        let keyring: Keyring
        let enrollment: PasskeyEnrollment
        let request: PasskeyAssertionRequest
    }

    private struct Unlock: PendingAssertion {
        let unlock: PasskeyUnlock
        let request: PasskeyAssertionRequest
    }

    // MARK: keyrings and passkeys

    public func createKeyring() async throws -> KeyringSecrets {
        try await call { try Self.secrets(of: try Keyring.create()) }
    }

    public func slots(_ secrets: KeyringSecrets) async throws -> [KeepsakeFlow.SlotInfo] {
        try await call { try Self.keyring(secrets).slots().map(Self.slotInfo) }
    }

    public func beginPasskeyRegistration(_ secrets: KeyringSecrets, userName: String, label: String) async throws -> PendingRegistration {
        try await call { [self] in
            let keyring = try Self.keyring(secrets)
            var userId = Data(count: 16)
            userId.withUnsafeMutableBytes { RandomBytes.fill($0) }
            let enrollment = try PasskeyEnrollment(keyring: keyring, rpId: relyingPartyId, rpName: "Keepsake", userId: userId,
                                                   userName: userName, userDisplayName: userName, label: label)
            let info = try enrollment.registrationRequest()
            remember(enrollment, for: info.challenge)
            return Registration(keyring: keyring, enrollment: enrollment, request: PasskeyRegistrationRequest(
                relyingPartyId: info.rpId, userName: info.userName, userDisplayName: info.userDisplayName, userId: info.userId,
                challenge: info.challenge, prfInput: info.prfInput, excludedCredentialIds: info.excludeCredentials))
        }
    }

    public func finishPasskeyRegistration(_ secrets: KeyringSecrets, _ pending: PendingRegistration,
                                          _ registration: KeepsakeFlow.PasskeyRegistration) async throws -> EnrollmentStep {
        try await call { [self] in
            guard let pending = pending as? Registration else { throw KeepsakeFlowError(.other, "not a registration of this engine") }
            let typed = Keepsake.PasskeyRegistration(credentialId: registration.credentialId, prfSupported: registration.prfSupported,
                                                     prfFirst: registration.prfFirst, aaguid: nil)
            switch try pending.enrollment.finishRegistrationTyped(registration: typed) {
            case .enrolled:
                adoptIfPossible(pending.keyring)
                return .enrolled(try Self.secrets(of: pending.keyring))
            case .needsAssertion(_, let info):
                remember(pending.enrollment, for: info.challenge)
                return .needsAssertion(EnrollmentAssertion(keyring: pending.keyring, enrollment: pending.enrollment,
                                                           request: Self.assertionRequest(info)))
            }
        }
    }

    public func finishPasskeyEnrollment(_ secrets: KeyringSecrets, _ pending: PendingAssertion,
                                        _ assertion: KeepsakeFlow.PasskeyAssertion) async throws -> KeyringSecrets {
        try await call { [self] in
            guard let pending = pending as? EnrollmentAssertion else { throw KeepsakeFlowError(.other, "not an enrollment assertion") }
            _ = try pending.enrollment.finishAssertionTyped(assertion: Keepsake.PasskeyAssertion(
                credentialId: assertion.credentialId, prfFirst: assertion.prfFirst))
            adoptIfPossible(pending.keyring)
            return try Self.secrets(of: pending.keyring)
        }
    }

    public func addRecoveryKey(_ secrets: KeyringSecrets, label: String) async throws -> (KeyringSecrets, String) {
        try await call { [self] in
            let keyring = try Self.keyring(secrets)
            let added = try keyring.addRecoveryKey(label: label)
            adoptIfPossible(keyring)
            return (try Self.secrets(of: keyring), added.recoveryKey.reveal())
        }
    }

    public func addPassword(_ secrets: KeyringSecrets, label: String, password: String) async throws -> KeyringSecrets {
        try await call { [self] in
            let keyring = try Self.keyring(secrets)
            do {
                _ = try keyring.addPassword(label: label, password: password)
            } catch KeepsakeError.InvalidArgument(let detail) {
                // The core's strength rule (length, common passwords, patterns) says why.
                throw KeepsakeFlowError(.weakPassword, detail)
            }
            adoptIfPossible(keyring)
            return try Self.secrets(of: keyring)
        }
    }

    public func removeSlot(_ secrets: KeyringSecrets, slotId: String) async throws -> KeyringSecrets {
        try await call { [self] in
            let keyring = try Self.keyring(secrets)
            guard let id = Data(hex: slotId) else { throw KeepsakeFlowError(.other, "not a slot id") }
            // Removal rotates the root key: the new key, generation and public bytes must all replace
            // the sealed ones, and the backup repository must start a new key epoch (adoptKeyring) on
            // a repository opened before the rotation: after it the device keyring no longer opens
            // it. A repository that cannot be opened now (offline) stops the removal, to try again.
            let repository = try repositoryExists() ? try repository(for: keyring, adopt: false) : nil
            _ = try keyring.removeSlot(slotId: id)
            _ = try repository?.adoptKeyring(keyring: keyring)
            return try Self.secrets(of: keyring)
        }
    }

    // MARK: backup and restore

    public func backUp(_ secrets: KeyringSecrets, to path: String,
                       progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary {
        try await cancellable { [self] cancellation in
            // The sealed generation again: a keyring older than it never writes a backup.
            let options = BackupOptions(compressionLevel: 3, extraMetadata: [:], knownGeneration: secrets.generation)
            let report = try backupToPath(store: try store(), keyring: try Self.keyring(secrets), path: path,
                                          options: options, listener: Listener(progress), cancellation: cancellation)
            return BackupSummary(path: path, bytes: UInt64(report.containerBytes), messages: UInt64(report.counts?.messages ?? 0))
        }
    }

    public func backUpWithMedia(_ secrets: KeyringSecrets,
                                progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary {
        try await cancellable(inStorage: true) { [self] cancellation in
            let keyring = try Self.keyring(secrets)
            // Created with the keyring's slots the first time; later its new slots are adopted.
            let repository = try repository(for: keyring, adopt: true)
            let options = BackupOptions(compressionLevel: 3, extraMetadata: [:], knownGeneration: secrets.generation)
            let report = try repository.backupWithMedia(store: try store(), source: FileMediaSource(root: mediaFolder),
                                                        mediaOptions: mediaOptions, options: options,
                                                        listener: Listener(progress), cancellation: cancellation)
            return BackupSummary(path: repositoryName, bytes: UInt64(report.bytesUploaded), messages: UInt64(report.counts.messages),
                                 media: report.media.map(Self.mediaCounts), healed: Self.storageHealing(report.healing))
        }
    }

    public func repairStorage(_ secrets: KeyringSecrets) async throws -> StorageRepair {
        try await call(inStorage: true) { [self] in
            guard try repositoryExists() else { throw KeepsakeFlowError(.other, "no backup storage to repair yet") }
            let repository = try repository(for: try Self.keyring(secrets), adopt: false)
            // Applied at once: the sample's button is the user's go-ahead (an app may show the
            // dry run, repair(apply: false), first).
            let report = try repository.repair(apply: true)
            return StorageRepair(nothingToRepair: report.nothingToRepair, backupsRemoved: report.snapshotsRemoved.count,
                                 backupsMissingFiles: report.mediaLost.count)
        }
    }

    /// What a backup healed, in the counts the Backup screen shows (nil when nothing was wrong).
    static func storageHealing(_ h: Healing) -> StorageHealing? {
        guard h.foundDamage else { return nil }
        return StorageHealing(partsLost: UInt64(h.packsLost + h.packsResized),
                              partsDamaged: UInt64(h.indexObjectsReplaced + h.chunksDamaged + h.objectsRestored),
                              olderBackupsDamaged: UInt64(h.snapshotsDamaged), storageRolledBack: h.storeRolledBack)
    }

    public func inspectRepository() async throws -> KeepsakeFlow.BackupInfo? {
        try await call { [self] in
            guard try repositoryExists() else { return nil }
            return KeepsakeFlow.BackupInfo(path: repositoryName, createdAt: Date(timeIntervalSince1970: 0), slots: [],
                                           messageCount: nil, fromRepository: true)
        }
    }

    public func beginRepositoryUnlock() async throws -> PendingAssertion {
        try await call { [self] in
            let unlock = try PasskeyUnlock.forRepository(store: try blobs(), rpId: relyingPartyId, discoverable: true)
            let info = unlock.request()
            lock.withLock { unlocks[info.challenge] = unlock }
            return Unlock(unlock: unlock, request: Self.assertionRequest(info))
        }
    }

    public func restoreFromRepository(with secret: UnlockSecret, device: KeyringSecrets?,
                                      progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult {
        try await cancellable(inStorage: true) { [self] cancellation in
            let backupSecret = try Self.backupSecret(secret)
            // Opening checks the secret before the chat store is touched.
            let repository = try Repository.open(store: try blobs(), secret: backupSecret, cacheDir: cacheDir)
            // Keys that came through an old (version 2) slot are never kept: the phone sets up new
            // ones that re-key the repository's (adopted once a slot is added).
            let (fromBackup, newKeys): (Keyring, Bool)
            do {
                (fromBackup, newKeys) = (try repository.keyring(), false)
            } catch KeepsakeError.UnauthenticatedKeyring {
                (fromBackup, newKeys) = (try repository.rekeyedKeyring(), true)
            }
            let kept = newKeys ? nil : device.flatMap { Self.keepsDevice($0, over: fromBackup) ? $0 : nil }
            // The newest intact snapshot; damaged ones are passed over, and the user told.
            let history = try repository.history()
            guard let latest = history.snapshots.last else {
                throw history.damaged.isEmpty ? KeepsakeFlowError(.other, "the repository holds no backup yet")
                    : KeepsakeFlowError(.storageDamaged, "every backup in the storage is damaged")
            }
            closeStore()
            let report = try repository.restore(targetPath: chatDatabase, snapshotId: latest.id, replace: true,
                                                listener: Listener(progress), cancellation: cancellation)
            // From here the files of this snapshot are due, also after the app was killed.
            try Data(latest.id.utf8).write(to: restoredSnapshotFile, options: .atomic)
            try Data(latest.id.utf8).write(to: mediaPendingFile, options: .atomic)
            lock.withLock { openRepository = repository }
            let secrets = try kept.map { try Self.upgraded($0, with: backupSecret) } ?? Self.secrets(of: fromBackup)
            return RestoreResult(messages: UInt64(report.counts?.messages ?? 0), conversations: UInt64(report.counts?.conversations ?? 0),
                                 secrets: secrets, keptDeviceKeyring: kept != nil, newKeys: newKeys,
                                 damagedBackupsSkipped: history.damaged.count, backupTime: latest.time)
        }
    }

    public func mediaRestorePending() async throws -> Bool {
        try await call { [self] in FileManager.default.fileExists(atPath: mediaPendingFile.path) }
    }

    public func restoreMedia(_ secrets: KeyringSecrets,
                             progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> MediaRestoreSummary {
        try await cancellable(inStorage: true) { [self] cancellation in
            let snapshot = try restoredSnapshot()
            let repository = try repository(for: try Self.keyring(secrets), adopt: false)
            try FileManager.default.createDirectory(at: mediaStateFolder, withIntermediateDirectories: true)
            let report = try repository.restoreMedia(stateDir: mediaStateFolder.path, sink: FileMediaSink(fileFor: mediaFile(of:)),
                                                     snapshotId: snapshot, filter: nil, listener: Listener(progress),
                                                     cancellation: cancellation)
            // Done: a file lost to damage stays lost, another run would not bring it back.
            try? FileManager.default.removeItem(at: mediaPendingFile)
            return MediaRestoreSummary(filesRestored: UInt64(report.filesRestored), bytesRestored: UInt64(report.bytesRestored),
                                       filesAlreadyRestored: UInt64(report.filesAlreadyRestored),
                                       filesNotInBackup: UInt64(report.filesNotInBackup),
                                       lost: report.lost.map { LostAttachment(attachmentId: $0.attachmentId, reason: $0.reason) })
        }
    }

    public func loadMedia(_ secrets: KeyringSecrets, attachmentId: Int64) async throws -> MediaFile {
        try await call(inStorage: true) { [self] in
            let snapshot = try restoredSnapshot()
            let repository = try repository(for: try Self.keyring(secrets), adopt: false)
            try FileManager.default.createDirectory(at: mediaStateFolder, withIntermediateDirectories: true)
            let item = try repository.fetchMedia(stateDir: mediaStateFolder.path, attachmentId: attachmentId,
                                                 sink: FileMediaSink(fileFor: mediaFile(of:)), snapshotId: snapshot)
            return MediaFile(attachmentId: item.attachmentId, path: mediaFile(of: item).path, mime: item.mime, bytes: UInt64(item.size))
        }
    }

    /// Sample chat: a media message in `conversationId` whose attachment's file is `localRef` in the
    /// media folder (`size` bytes; the caller puts the file there, or not: a photo never downloaded).
    /// Returns the attachment id. Tests and demos use it; the sample's chat screen sends text only.
    public func sendAttachment(to conversationId: String, localRef: String, mime: String, size: Int64) async throws -> Int64 {
        try await call { [self] in
            let store = try store()
            guard let conversation = Int64(conversationId), try store.conversation(id: conversation) != nil else {
                throw KeepsakeFlowError(.database, "no conversation \(conversationId)")
            }
            let id = Int64(try store.counts().messages) + 1
            try store.insertMessages(messages: [Message(id: id, conversationId: conversation, sender: "me", kind: .media, body: nil,
                                                         sentAt: Self.now(), receivedAt: nil, replyTo: nil, editedAt: nil, deletedAt: nil,
                                                         delivery: .sent, extra: nil)])
            try store.insertAttachments(attachments: [Attachment(id: id, messageId: id, mime: mime,
                                                                 fileName: (localRef as NSString).lastPathComponent,
                                                                 size: size, localRef: localRef)])
            return id
        }
    }

    /// Where the media folder keeps `item`'s file: at its `localRef` when that is a plain relative
    /// path, else `attachments/<id>`.
    public func mediaFile(of item: MediaItem) -> URL {
        let parts = item.localRef.split(separator: "/", omittingEmptySubsequences: false)
        if !item.localRef.isEmpty, !item.localRef.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }) {
            return mediaFolder.appendingPathComponent(item.localRef)
        }
        return mediaFolder.appendingPathComponent("attachments/\(item.attachmentId)")
    }

    public func inspect(_ path: String) async throws -> KeepsakeFlow.BackupInfo {
        try await call {
            let info = try inspectBackup(path: path)
            return KeepsakeFlow.BackupInfo(path: path, createdAt: Date(timeIntervalSince1970: TimeInterval(info.createdAt)),
                                           slots: info.slots.map(Self.slotInfo), messageCount: info.declaredCounts.map { UInt64($0.messages) })
        }
    }

    public func beginUnlock(_ path: String) async throws -> PendingAssertion {
        try await call { [self] in
            // Discoverable: a new device does not know the credential ids; the response picks the slot.
            let unlock = try PasskeyUnlock.forBackupFile(path: path, rpId: relyingPartyId, discoverable: true)
            let info = unlock.request()
            lock.withLock { unlocks[info.challenge] = unlock }
            return Unlock(unlock: unlock, request: Self.assertionRequest(info))
        }
    }

    public func restore(_ path: String, with secret: UnlockSecret, device: KeyringSecrets?,
                        progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult {
        try await cancellable { [self] cancellation in
            let backupSecret = try Self.backupSecret(secret)
            // Unlocking first checks the secret before the chat store is touched. Keys that came
            // through an old (version 2) slot are never kept: new ones instead.
            let (keyring, newKeys): (Keyring, Bool)
            do {
                (keyring, newKeys) = (try keyringFromBackup(path: path, secret: backupSecret), false)
            } catch KeepsakeError.UnauthenticatedKeyring {
                (keyring, newKeys) = (try Keyring.create(), true)
            }
            let kept = newKeys ? nil : device.flatMap { Self.keepsDevice($0, over: keyring) ? $0 : nil }
            closeStore()
            let report = try restoreFromPath(backupPath: path, secret: backupSecret, targetPath: chatDatabase, replace: true,
                                             listener: Listener(progress), cancellation: cancellation)
            let secrets = try kept.map { try Self.upgraded($0, with: backupSecret) } ?? Self.secrets(of: keyring)
            return RestoreResult(messages: UInt64(report.counts?.messages ?? 0), conversations: UInt64(report.counts?.conversations ?? 0),
                                 secrets: secrets, keptDeviceKeyring: kept != nil, newKeys: newKeys)
        }
    }

    /// The device's keys after the user unlocked with `secret` on this phone: an old key slot that
    /// secret opens becomes a version 3 slot (the next use of its secret), so the keys can rotate.
    private static func upgraded(_ device: KeyringSecrets, with secret: BackupSecret) throws -> KeyringSecrets {
        let keyring = try Self.keyring(device)
        _ = try keyring.upgradeSlots(secret: secret)
        return try Self.secrets(of: keyring)
    }

    private static func backupSecret(_ secret: UnlockSecret) throws -> BackupSecret {
        switch secret {
        case .passkey(let pending, let assertion):
            guard let pending = pending as? Unlock else { throw KeepsakeFlowError(.other, "not an unlock of this engine") }
            return try pending.unlock.finishTyped(assertion: Keepsake.PasskeyAssertion(
                credentialId: assertion.credentialId, prfFirst: assertion.prfFirst))
        case .recoveryKey(let text):
            return try BackupSecret.recoveryKey(text: text)
        case .password(let text):
            return BackupSecret.password(password: text)
        }
    }

    // MARK: the backup repository

    private func blobs() throws -> BlobStore {
        try lock.withLock {
            if let openBlobStore { return openBlobStore }
            let made = try makeBlobStore()
            openBlobStore = made
            return made
        }
    }

    /// Whether the blob store holds a repository (its config object).
    private func repositoryExists() throws -> Bool {
        do {
            return try blobs().stat(name: "config") != nil
        } catch let error as BlobStoreError {
            throw KeepsakeFlowError(blobStoreFailure(error), "the backup storage cannot be read: \(error)")
        }
    }

    /// The repository, opened once per process with the device keyring `keyring` (or created with
    /// its slots in an empty store); `adopt` brings it up to the keyring's slots first.
    private func repository(for keyring: Keyring, adopt: Bool) throws -> Repository {
        if let open = lock.withLock({ openRepository }) {
            if adopt { _ = try open.adoptKeyring(keyring: keyring) }
            return open
        }
        let repository: Repository
        if try repositoryExists() {
            repository = try Repository.open(store: try blobs(), secret: try BackupSecret.deviceKeyring(keyring: keyring), cacheDir: cacheDir)
            if adopt { _ = try repository.adoptKeyring(keyring: keyring) }
        } else {
            repository = try Repository.create(store: try blobs(), keyring: keyring, cacheDir: cacheDir)
        }
        lock.withLock { openRepository = repository }
        return repository
    }

    /// After a slot was added: the repository's config takes it now, so a new phone can already open
    /// the repository with it. The storage being unreachable does not stop the slot: the next backup
    /// adopts it.
    private func adoptIfPossible(_ keyring: Keyring) {
        if (try? repositoryExists()) == true { _ = try? repository(for: keyring, adopt: true) }
    }

    /// The snapshot whose chats were restored here; its files are the ones to restore.
    private func restoredSnapshot() throws -> String {
        guard let data = FileManager.default.contents(atPath: restoredSnapshotFile.path),
              case let id = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty else {
            throw KeepsakeFlowError(.other, "no chats were restored from the backup repository")
        }
        return id
    }

    private static func mediaCounts(_ media: MediaBackupReport) -> MediaBackupCounts {
        MediaBackupCounts(filesStored: UInt64(media.summary.filesStored), filesNotOnDevice: UInt64(media.summary.filesAbsent),
                          filesSkipped: UInt64(media.summary.filesSkipped), bytesStored: UInt64(media.summary.bytesStored),
                          filesRead: UInt64(media.filesRead), filesUnreadable: UInt64(media.filesUnreadable))
    }

    /// Whether the device keeps its own keyring `device` rather than `fromBackup`: the same keyring,
    /// and the backup's is not newer (an older one may hold slots revoked since, and one of the same
    /// generation may lack slots added since). A device keyring that cannot be rebuilt (damaged, or
    /// itself rolled back) is replaced.
    private static func keepsDevice(_ device: KeyringSecrets, over fromBackup: Keyring) -> Bool {
        guard let mine = try? keyring(device), let myId = try? mine.id(), let backupId = try? fromBackup.id(),
              let myGeneration = try? mine.generation(), let backupGeneration = try? fromBackup.generation() else { return false }
        return myId == backupId && backupGeneration <= myGeneration
    }

    // MARK: chat (ids assigned here in order: 1, 2, ...)

    public func conversations() async throws -> [ConversationSummary] {
        try await call { [self] in
            let store = try store()
            let count = try store.counts().conversations
            guard count > 0 else { return [] }
            return try (1...Int64(count)).compactMap { id -> (Int64, ConversationSummary)? in
                guard let conversation = try store.conversation(id: id) else { return nil }
                let last = try store.timeline(conversationId: id, before: nil, limit: 1).messages.first
                return (last?.sentAt ?? conversation.createdAt,
                        ConversationSummary(id: String(id), title: conversation.title ?? "Chat \(id)", lastMessage: last?.body))
            }.sorted { $0.0 > $1.0 }.map(\.1)
        }
    }

    public func messages(in conversationId: String) async throws -> [ChatMessage] {
        try await call { [self] in
            guard let id = Int64(conversationId) else { return [] }
            return try store().timeline(conversationId: id, before: nil, limit: 200).messages.reversed().map {
                ChatMessage(id: String($0.id), sender: $0.sender, text: $0.body ?? "",
                            sentAt: Date(timeIntervalSince1970: TimeInterval($0.sentAt) / 1000))
            }
        }
    }

    public func createConversation(title: String) async throws -> ConversationSummary {
        try await call { [self] in
            let store = try store()
            let id = Int64(try store.counts().conversations) + 1
            try store.upsertConversation(conversation: Conversation(id: id, kind: .group, title: title, createdAt: Self.now(),
                                                                    archived: false, mutedUntil: nil, pinned: false, extra: nil))
            return ConversationSummary(id: String(id), title: title, lastMessage: nil)
        }
    }

    public func sendText(_ text: String, to conversationId: String) async throws -> ChatMessage {
        try await call { [self] in
            let store = try store()
            guard let conversation = Int64(conversationId), try store.conversation(id: conversation) != nil else {
                throw KeepsakeFlowError(.database, "no conversation \(conversationId)")
            }
            let id = Int64(try store.counts().messages) + 1
            let sentAt = Self.now()
            try store.insertMessages(messages: [Message(id: id, conversationId: conversation, sender: "me", kind: .text, body: text,
                                                         sentAt: sentAt, receivedAt: nil, replyTo: nil, editedAt: nil, deletedAt: nil,
                                                         delivery: .sent, extra: nil)])
            return ChatMessage(id: String(id), sender: "me", text: text, sentAt: Date(timeIntervalSince1970: TimeInterval(sentAt) / 1000))
        }
    }

    // MARK: demo mode

    /// Demo mode: the software authenticator behind the typed provider interface.
    public func demoAuthenticator() -> TypedAuthenticator { DemoAuthenticator(engine: self) }

    /// Demo mode and tests: how the software authenticator behaves.
    public func setDemoMode(_ mode: SoftAuthenticatorMode) throws { try Self.mapped { try soft.setMode(mode: mode) } }

    private final class DemoAuthenticator: TypedAuthenticator {
        let engine: BindingsBackupEngine
        init(engine: BindingsBackupEngine) { self.engine = engine }

        func create(_ request: PasskeyRegistrationRequest) throws -> KeepsakeFlow.PasskeyRegistration {
            try BindingsBackupEngine.mapped {
                guard let enrollment = engine.lock.withLock({ engine.enrollments[request.challenge] }) else {
                    throw KeepsakeFlowError(.other, "unknown registration")
                }
                let made = try engine.soft.createTyped(enrollment: enrollment)
                return KeepsakeFlow.PasskeyRegistration(credentialId: made.credentialId, prfSupported: made.prfSupported, prfFirst: made.prfFirst)
            }
        }

        func get(_ request: PasskeyAssertionRequest) throws -> KeepsakeFlow.PasskeyAssertion {
            try BindingsBackupEngine.mapped {
                let (enrollment, unlock) = engine.lock.withLock { (engine.enrollments[request.challenge], engine.unlocks[request.challenge]) }
                let made: Keepsake.PasskeyAssertion
                if let unlock {
                    made = try engine.soft.getTyped(unlock: unlock)
                } else if let enrollment {
                    made = try engine.soft.getTypedForEnrollment(enrollment: enrollment)
                } else {
                    throw KeepsakeFlowError(.other, "unknown assertion")
                }
                return KeepsakeFlow.PasskeyAssertion(credentialId: made.credentialId, prfFirst: made.prfFirst)
            }
        }
    }

    // MARK: plumbing

    private func remember(_ enrollment: PasskeyEnrollment, for challenge: Data) {
        lock.withLock { enrollments[challenge] = enrollment }
    }

    private func store() throws -> ChatStore {
        try lock.withLock {
            if let openStore { return openStore }
            let opened = try ChatStore.open(path: chatDatabase)
            openStore = opened
            return opened
        }
    }

    private func closeStore() {
        lock.withLock {
            try? openStore?.closeDatabase()
            openStore = nil
        }
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The keyring of `secrets`; public bytes older than the sealed generation are `.keyringRolledBack`.
    private static func keyring(_ secrets: KeyringSecrets) throws -> Keyring {
        var root = secrets.rootKey()
        defer { for index in root.indices { root[index] = 0 } }
        return try Keyring.restoreChecked(rootKey: Data(root), publicBytes: secrets.publicKeyring,
                                          knownGeneration: secrets.generation)
    }

    /// What the vault seals: the root key with its generation, and the public bytes.
    private static func secrets(of keyring: Keyring) throws -> KeyringSecrets {
        var root = try keyring.exportRootKey()
        defer { root.resetBytes(in: 0..<root.count) }
        return KeyringSecrets(rootKey: [UInt8](root), publicKeyring: try keyring.publicBytes(), generation: try keyring.generation())
    }

    private static func slotInfo(_ slot: Keepsake.SlotInfo) -> KeepsakeFlow.SlotInfo {
        let kind: KeepsakeFlow.SlotKind
        switch slot.kind {
        case .passkey: kind = .passkey
        case .recoveryKey: kind = .recoveryKey
        case .password: kind = .password
        }
        return KeepsakeFlow.SlotInfo(kind: kind, label: slot.label, id: slot.id.map { String(format: "%02x", $0) }.joined(),
                                     deviceBound: slot.deviceBound)
    }

    private static func assertionRequest(_ info: AssertionRequestInfo) -> PasskeyAssertionRequest {
        PasskeyAssertionRequest(relyingPartyId: info.rpId, challenge: info.challenge, prfInput: info.prfInput,
                                allowedCredentialIds: info.allowCredentials)
    }

    private final class Listener: ProgressListener, @unchecked Sendable {
        let forward: @Sendable (OperationProgress) -> Void
        init(_ forward: @escaping @Sendable (OperationProgress) -> Void) { self.forward = forward }
        func onProgress(report: ProgressReport) {
            let phase: Phase
            switch report.phase {
            case .backup: phase = .backup
            case .verify: phase = .verify
            case .restore: phase = .restore
            case .index: phase = .index
            case .check: phase = .check
            case .media:
                // The Media phase in its own bytes and files; the others as the whole operation.
                forward(OperationProgress(phase: .media, done: UInt64(report.phaseDone),
                                          total: report.phaseTotal > 0 ? UInt64(report.phaseTotal) : nil,
                                          filesDone: UInt64(report.filesDone), filesTotal: UInt64(report.filesTotal)))
                return
            // Repository housekeeping: the sample never prunes, so this never comes.
            case .prune: phase = .check
            }
            forward(OperationProgress(phase: phase, done: UInt64(report.done), total: UInt64(report.total)))
        }
    }

    /// A short blocking call off the caller's actor, with Keepsake errors mapped; `inStorage` for
    /// a call on the backup storage.
    private func call<T>(inStorage: Bool = false, _ body: @escaping () throws -> T) async throws -> T {
        // On a thread of its own (keepsakeBackground), never on the cooperative pool: a media
        // restore blocks its thread for minutes, and the pool has one thread per core.
        try await keepsakeBackground { _ in try Self.mapped(inStorage: inStorage, body) }
    }

    /// A long call with a Cancellation raised when the calling task is cancelled.
    private func cancellable<T>(inStorage: Bool = false, _ body: @escaping (Cancellation) throws -> T) async throws -> T {
        try await keepsakeBackground { cancellation in try Self.mapped(inStorage: inStorage) { try body(cancellation) } }
    }

    /// Runs `body` with Keepsake errors mapped; in a call on the backup storage (`inStorage`),
    /// damaged data there is `.storageDamaged` (repair the storage), not a damaged backup file.
    static func mapped<T>(inStorage: Bool = false, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as KeepsakeError {
            var failure = failure(of: error)
            if inStorage && (failure == .corrupted || failure == .truncated) { failure = .storageDamaged }
            throw KeepsakeFlowError(failure, "\(error)")
        }
    }

    /// One Failure per KeepsakeError case: no `default`, so a new case fails the build here.
    static func failure(of error: KeepsakeError) -> Failure {
        switch error {
        case .WrongKey: return .wrongKey
        case .RecoveryKeyTypo: return .recoveryKeyTypo
        case .PrfUnsupported: return .prfUnsupported
        case .BadPrfOutput: return .badPrfOutput
        case .NoMatchingSlot: return .noMatchingSlot
        case .MalformedWebAuthn: return .malformedWebAuthn
        case .Corrupted: return .corrupted
        case .Truncated: return .truncated
        case .UnsupportedVersion: return .unsupportedVersion
        case .Cancelled: return .cancelled
        case .Io: return .io
        case .Database: return .database
        case .WrongPassword: return .wrongPassword
        case .KeyringRolledBack: return .keyringRolledBack
        case .LastSlot: return .lastSlot
        case .UnauthenticatedKeyring: return .untrustedKeys
        case .LegacySlot: return .legacySlot
        case .MediaUnavailable: return .mediaUnavailable
        // A too-short password (the view-model checks it first), a closed object: bugs of the sample.
        case .InvalidArgument, .Internal: return .other
        // The restore replaces the chat store on purpose (replace: true).
        case .TargetExists: return .other
        // The cloud is full or refused the account: the user acts (CloudMessages says where);
        // otherwise it failed or could not be reached (offline): try again.
        case .Storage(_, let kind, _): return storageFailure(kind)
        // Another device is backing up: wait until it has finished.
        case .RepositoryLocked: return .storageBusy
        // The storage lost an object this operation needs (a backup heals what it can itself).
        case .ObjectMissing: return .storageDamaged
        }
    }
}

private extension Data {
    /// The bytes of an even-length hex string, nil for anything else.
    init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index ..< index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes)
    }
}

private enum RandomBytes {
    /// Fills `buffer` from the system generator.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var generator = SystemRandomNumberGenerator()
        for index in buffer.indices { buffer[index] = UInt8.random(in: .min ... .max, using: &generator) }
    }
}
