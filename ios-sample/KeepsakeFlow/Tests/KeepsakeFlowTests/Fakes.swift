// Test doubles for the ports: an in-memory engine with a small keyring model, a scripted passkey
// provider, and memory-backed vault and history. They keep real state, so the view-model tests
// check what ends up stored, not only what was called.
import Foundation
@testable import KeepsakeFlow

enum PrfBehaviour { case results, enabledOnly, unsupported }

final class ScriptedProvider: PasskeyPrfProvider, @unchecked Sendable {
    var credentialId = Data("cred-1".utf8)
    var prf = PrfBehaviour.results
    var nextRegistrationFailure: PasskeyOutcome<PasskeyRegistration>?
    var nextAssertionFailure: PasskeyOutcome<PasskeyAssertion>?
    var registrations = 0
    var assertions = 0

    func register(_ request: PasskeyRegistrationRequest) async -> PasskeyOutcome<PasskeyRegistration> {
        registrations += 1
        precondition(request.prfInput.count == 32, "registration without the keyring's PRF input")
        if let failure = nextRegistrationFailure {
            nextRegistrationFailure = nil
            return failure
        }
        switch prf {
        case .results: return .success(PasskeyRegistration(credentialId: credentialId, prfSupported: true, prfFirst: Data(repeating: 9, count: 32)))
        case .enabledOnly: return .success(PasskeyRegistration(credentialId: credentialId, prfSupported: true, prfFirst: nil))
        case .unsupported: return .success(PasskeyRegistration(credentialId: credentialId, prfSupported: false, prfFirst: nil))
        }
    }

    func authenticate(_ request: PasskeyAssertionRequest) async -> PasskeyOutcome<PasskeyAssertion> {
        assertions += 1
        precondition(request.prfInput.count == 32, "assertion without the keyring's PRF input")
        if let failure = nextAssertionFailure {
            nextAssertionFailure = nil
            return failure
        }
        return .success(PasskeyAssertion(credentialId: credentialId, prfFirst: Data(repeating: 9, count: 32)))
    }
}

private struct Registration: PendingRegistration { let request: PasskeyRegistrationRequest; let label: String }
private struct Assertion: PendingAssertion { let request: PasskeyAssertionRequest; var label = "" }

/// A one-shot gate a fake operation waits on, opened by the test.
actor Gate {
    private var open = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if open { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func release() {
        open = true
        waiters.forEach { $0.resume() }
        waiters = []
    }
}

/// A snapshot of the fake repository: the keyring and slots of the moment, the chats, the
/// attachments and the files stored (id to size).
private struct FakeSnapshot {
    let keyring: FakeKeyring
    let slots: [FakeSlot]
    let messages: UInt64
    let attachments: [(id: Int64, mime: String)]
    let stored: [Int64: UInt64]
}

/// A slot as the fake engine keeps it: what the user sees, and the secret that opens it.
struct FakeSlot {
    var info: SlotInfo
    var secret: String
}

/// One version of a keyring (a generation); its public bytes are "id@generation".
final class FakeKeyring {
    let id: String
    let generation: Int64
    var slots: [FakeSlot]
    init(id: String, generation: Int64, slots: [FakeSlot]) {
        self.id = id
        self.generation = generation
        self.slots = slots
    }
    var publicBytes: String { "\(id)@\(generation)" }
}

/// An engine over an in-memory model: keyrings with generations (removing a slot makes a new
/// generation without it; the old one stays, as an old root key keeps opening old backups) and
/// slots (passkeys by credential id, recovery keys and passwords by their text), backups as files
/// holding the keyring version and the slots of the moment, a chat store as lists.
final class FakeEngine: BackupEngine, @unchecked Sendable {
    private var versions: [String: FakeKeyring] = [:]
    private var nextId = 1
    private var nextSlot = 1
    var handedOut: [KeyringSecrets] = []
    var conversationList: [ConversationSummary] = []
    var messagesByConversation: [String: [ChatMessage]] = [:]
    var backups = 0
    var gate: Gate?

    // Media: the chat store's attachments and the repository's latest snapshot of them. The media
    // restore's state (`restoredMedia`, `restoring`) outlives the view-models, like the real state
    // folder: a new view-model models a restarted app.
    /// The chat store's attachments: id, MIME type, the file's size on the phone (nil: not on it).
    var attachments: [(id: Int64, mime: String, bytes: UInt64?)] = []
    /// Files larger than this are left out of backups (the media options).
    var maxMediaBytes = UInt64.max
    /// Attachments whose file cannot be read (recorded as not on the phone).
    var unreadable: Set<Int64> = []
    /// Attachments whose stored data is damaged, with the reason the restore reports.
    var damaged: [Int64: String] = [:]
    private var snapshot: FakeSnapshot?
    private var restoring: FakeSnapshot?
    private var lastRestored: FakeSnapshot?
    /// Attachments restored on this phone, with their sizes.
    var restoredMedia: [Int64: UInt64] = [:]
    /// When set, a media backup or restore waits for it after its first media report.
    var mediaGate: Gate?
    /// When set, a media restore fails with `.io` after restoring this many files (offline, killed).
    var mediaFailsAfter: Int?
    /// Called when a media restore starts, before its first report.
    var onMediaRestoreStart: (@MainActor () -> Void)?
    /// What was called, in order: "backup", "restore", "media", "load <id>".
    var calls: [String] = []
    /// What the next backup with media reports it healed in the backup storage (used once).
    var nextHealing: StorageHealing?
    /// When set, the next backup with media fails with it (used once): the storage offline, busy or damaged.
    var nextStorageFailure: Failure?
    /// Damaged backups in the backup storage: a restore passes them over, a repair removes them.
    var damagedBackups = 0
    /// When the repository's latest intact snapshot was made (seconds since 1970).
    let snapshotTime: Int64 = 1_765_000_000

    private func secrets(_ keyring: FakeKeyring) -> KeyringSecrets {
        let s = KeyringSecrets(rootKey: [UInt8](repeating: 7, count: 32), publicKeyring: Data(keyring.publicBytes.utf8),
                               generation: keyring.generation)
        handedOut.append(s)
        return s
    }

    /// The keyring version of `s`; like Keyring.restoreChecked, older public bytes than the sealed generation are refused.
    private func keyring(_ s: KeyringSecrets) throws -> FakeKeyring {
        precondition(s.rootKey().contains { $0 != 0 }, "engine got a wiped keyring")
        guard let keyring = versions[String(decoding: s.publicKeyring, as: UTF8.self)] else {
            throw KeepsakeFlowError(.corrupted, "unknown keyring")
        }
        guard keyring.generation >= s.generation else { throw KeepsakeFlowError(.keyringRolledBack, "older generation") }
        return keyring
    }

    private func prfRequest() -> PasskeyAssertionRequest {
        PasskeyAssertionRequest(relyingPartyId: "keepsake.example", challenge: Data(count: 32), prfInput: Data(count: 32), allowedCredentialIds: [])
    }

    func createKeyring() async throws -> KeyringSecrets {
        let keyring = FakeKeyring(id: "keyring-\(nextId)", generation: 1, slots: [])
        nextId += 1
        versions[keyring.publicBytes] = keyring
        return secrets(keyring)
    }

    func slots(_ s: KeyringSecrets) async throws -> [SlotInfo] { try keyring(s).slots.map(\.info) }

    func beginPasskeyRegistration(_ s: KeyringSecrets, userName: String, label: String) async throws -> PendingRegistration {
        _ = try keyring(s)
        return Registration(request: PasskeyRegistrationRequest(relyingPartyId: "keepsake.example", userName: userName,
                                                                userId: Data(count: 16), challenge: Data(count: 32), prfInput: Data(count: 32)),
                            label: label)
    }

    func finishPasskeyRegistration(_ s: KeyringSecrets, _ pending: PendingRegistration,
                                   _ registration: PasskeyRegistration) async throws -> EnrollmentStep {
        let label = (pending as! Registration).label
        guard registration.prfSupported else { throw KeepsakeFlowError(.prfUnsupported, "prf not enabled") }
        guard registration.prfFirst != nil else { return .needsAssertion(Assertion(request: prfRequest(), label: label)) }
        return .enrolled(try add(s, .passkey, label, registration.credentialId.base64EncodedString()))
    }

    func finishPasskeyEnrollment(_ s: KeyringSecrets, _ pending: PendingAssertion,
                                 _ assertion: PasskeyAssertion) async throws -> KeyringSecrets {
        guard assertion.prfFirst?.count == 32 else { throw KeepsakeFlowError(.badPrfOutput, "no output") }
        return try add(s, .passkey, (pending as! Assertion).label, assertion.credentialId.base64EncodedString())
    }

    private func add(_ s: KeyringSecrets, _ kind: SlotKind, _ label: String, _ secret: String) throws -> KeyringSecrets {
        let keyring = try keyring(s)
        keyring.slots.append(FakeSlot(info: SlotInfo(kind: kind, label: label, id: "slot-\(nextSlot)"), secret: secret))
        nextSlot += 1
        return secrets(keyring)
    }

    func addRecoveryKey(_ s: KeyringSecrets, label: String) async throws -> (KeyringSecrets, String) {
        let key = "ABCD-EFGH-K\(nextSlot)"
        return (try add(s, .recoveryKey, label, key), key)
    }

    func addPassword(_ s: KeyringSecrets, label: String, password: String) async throws -> KeyringSecrets {
        guard password.count >= minPasswordChars else { throw KeepsakeFlowError(.other, "short password") }
        return try add(s, .password, label, password)
    }

    func removeSlot(_ s: KeyringSecrets, slotId: String) async throws -> KeyringSecrets {
        let keyring = try keyring(s)
        let remaining = keyring.slots.filter { $0.info.id != slotId }
        guard remaining.count < keyring.slots.count else { throw KeepsakeFlowError(.other, "no slot \(slotId)") }
        guard !remaining.isEmpty else { throw KeepsakeFlowError(.lastSlot, "the last slot") }
        let rotated = FakeKeyring(id: keyring.id, generation: keyring.generation + 1, slots: remaining)
        versions[rotated.publicBytes] = rotated
        return secrets(rotated)
    }

    func backUp(_ s: KeyringSecrets, to path: String, progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary {
        let keyring = try keyring(s)
        let messages = UInt64(messagesByConversation.values.map(\.count).reduce(0, +))
        progress(OperationProgress(phase: .backup, done: 0, total: messages))
        await gate?.wait()
        try Task.checkCancellation()
        progress(OperationProgress(phase: .backup, done: messages, total: messages))
        // The header carries the keyring version and its slots as they are now.
        let slots = keyring.slots.map { "\($0.info.kind.rawValue)|\($0.info.label)|\($0.info.id)|\($0.secret)\n" }.joined()
        let body = Data("\(keyring.publicBytes)\n\(messages)\n\(slots)".utf8)
        try body.write(to: URL(fileURLWithPath: path))
        backups += 1
        return BackupSummary(path: path, bytes: UInt64(body.count), messages: messages)
    }

    func backUpWithMedia(_ s: KeyringSecrets, progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary {
        let keyring = try keyring(s)
        calls.append("backup")
        if let failure = nextStorageFailure {
            nextStorageFailure = nil
            throw KeepsakeFlowError(failure, "the backup storage said no")
        }
        let messages = UInt64(messagesByConversation.values.map(\.count).reduce(0, +))
        progress(OperationProgress(phase: .backup, done: 0, total: messages))
        await gate?.wait()
        try Task.checkCancellation()
        progress(OperationProgress(phase: .backup, done: messages, total: messages))
        let readable = attachments.filter { $0.bytes != nil && !unreadable.contains($0.id) }
        let kept = readable.filter { $0.bytes! <= maxMediaBytes }
        let total = kept.map { $0.bytes! }.reduce(0, +)
        progress(OperationProgress(phase: .media, done: 0, total: total, filesDone: 0, filesTotal: UInt64(kept.count)))
        await mediaGate?.wait()
        var done: UInt64 = 0
        for (index, attachment) in kept.enumerated() {
            done += attachment.bytes!
            progress(OperationProgress(phase: .media, done: done, total: total, filesDone: UInt64(index + 1), filesTotal: UInt64(kept.count)))
        }
        let stored = Dictionary(uniqueKeysWithValues: kept.map { ($0.id, $0.bytes!) })
        snapshot = FakeSnapshot(keyring: keyring, slots: keyring.slots, messages: messages,
                                attachments: attachments.map { ($0.id, $0.mime) }, stored: stored)
        backups += 1
        let counts = MediaBackupCounts(filesStored: UInt64(stored.count), filesNotOnDevice: UInt64(attachments.count - readable.count),
                                       filesSkipped: UInt64(readable.count - kept.count), bytesStored: total,
                                       filesRead: UInt64(kept.count),
                                       filesUnreadable: UInt64(attachments.filter { $0.bytes != nil && unreadable.contains($0.id) }.count))
        defer { nextHealing = nil }
        return BackupSummary(path: "repository", bytes: total, messages: messages, media: counts, healed: nextHealing)
    }

    func repairStorage(_ s: KeyringSecrets) async throws -> StorageRepair {
        _ = try keyring(s)
        calls.append("repair")
        let removed = damagedBackups
        damagedBackups = 0
        return StorageRepair(nothingToRepair: removed == 0, backupsRemoved: removed, backupsMissingFiles: 0)
    }

    func inspectRepository() async throws -> BackupInfo? {
        snapshot.map { _ in BackupInfo(path: "repository", createdAt: Date(timeIntervalSince1970: 0), slots: [], messageCount: nil,
                                       fromRepository: true) }
    }

    func beginRepositoryUnlock() async throws -> PendingAssertion {
        guard snapshot != nil else { throw KeepsakeFlowError(.other, "no repository") }
        return Assertion(request: prfRequest())
    }

    func restoreFromRepository(with secret: UnlockSecret, device: KeyringSecrets?,
                               progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult {
        guard let latest = snapshot else { throw KeepsakeFlowError(.other, "no repository") }
        try unlock(latest.slots, secret)
        let mine = device.flatMap { try? keyring($0) }
        let keep = mine.map { $0.id == latest.keyring.id && latest.keyring.generation <= $0.generation } ?? false
        progress(OperationProgress(phase: .restore, done: 0, total: latest.messages))
        await gate?.wait()
        try Task.checkCancellation()
        progress(OperationProgress(phase: .restore, done: latest.messages, total: latest.messages))
        calls.append("restore")
        restoring = latest
        lastRestored = latest
        return RestoreResult(messages: latest.messages, conversations: UInt64(conversationList.count),
                             secrets: secrets(keep ? mine! : latest.keyring), keptDeviceKeyring: keep,
                             damagedBackupsSkipped: damagedBackups, backupTime: snapshotTime)
    }

    func mediaRestorePending() async throws -> Bool { restoring != nil }

    func restoreMedia(_ s: KeyringSecrets, progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> MediaRestoreSummary {
        _ = try keyring(s)
        guard let from = restoring ?? lastRestored else { throw KeepsakeFlowError(.other, "nothing restored from the repository") }
        calls.append("media")
        await onMediaRestoreStart?()
        let selection = from.attachments.map(\.id).sorted()
        let already = UInt64(selection.filter { restoredMedia[$0] != nil }.count)
        let todo = selection.filter { restoredMedia[$0] == nil && from.stored[$0] != nil && damaged[$0] == nil }
        let total = todo.map { from.stored[$0]! }.reduce(0, +)
        progress(OperationProgress(phase: .media, done: 0, total: total, filesDone: 0, filesTotal: UInt64(todo.count)))
        await mediaGate?.wait()
        var done: UInt64 = 0
        var restored: UInt64 = 0
        var restoredBytes: UInt64 = 0
        var fetchedMeanwhile: UInt64 = 0
        for (index, id) in todo.enumerated() {
            try Task.checkCancellation()
            if mediaFailsAfter == index { throw KeepsakeFlowError(.io, "offline after \(index) files") }
            let size = from.stored[id]!
            // Opened on demand while this run waited: already there, not restored twice.
            if restoredMedia[id] != nil {
                fetchedMeanwhile += 1
            } else {
                restored += 1
                restoredBytes += size
                restoredMedia[id] = size
            }
            done += size
            progress(OperationProgress(phase: .media, done: done, total: total, filesDone: UInt64(index + 1), filesTotal: UInt64(todo.count)))
        }
        restoring = nil
        return MediaRestoreSummary(
            filesRestored: restored, bytesRestored: restoredBytes, filesAlreadyRestored: already + fetchedMeanwhile,
            filesNotInBackup: UInt64(selection.filter { from.stored[$0] == nil }.count),
            lost: selection.filter { from.stored[$0] != nil && damaged[$0] != nil && restoredMedia[$0] == nil }
                .map { LostAttachment(attachmentId: $0, reason: damaged[$0]!) })
    }

    func loadMedia(_ s: KeyringSecrets, attachmentId: Int64) async throws -> MediaFile {
        _ = try keyring(s)
        calls.append("load \(attachmentId)")
        guard let from = lastRestored else { throw KeepsakeFlowError(.other, "nothing restored from the repository") }
        guard let attachment = from.attachments.first(where: { $0.id == attachmentId }) else {
            throw KeepsakeFlowError(.other, "no attachment \(attachmentId)")
        }
        guard let size = from.stored[attachmentId], damaged[attachmentId] == nil else {
            throw KeepsakeFlowError(.mediaUnavailable, "attachment \(attachmentId)")
        }
        restoredMedia[attachmentId] = size
        return MediaFile(attachmentId: attachmentId, path: "media/\(attachmentId)", mime: attachment.mime, bytes: size)
    }

    /// A backup file: its keyring version, message count and slots with their secrets.
    private func read(_ path: String) throws -> (keyring: FakeKeyring, messages: UInt64?, slots: [FakeSlot]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw KeepsakeFlowError(.io, "no file") }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let first = lines.first, let keyring = versions[first] else { throw KeepsakeFlowError(.corrupted, "header") }
        let slots = lines.dropFirst(2).compactMap { line -> FakeSlot? in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4, let kind = SlotKind(rawValue: parts[0]) else { return nil }
            return FakeSlot(info: SlotInfo(kind: kind, label: parts[1], id: parts[2]), secret: parts[3])
        }
        return (keyring, lines.count > 1 ? UInt64(lines[1]) : nil, slots)
    }

    func inspect(_ path: String) async throws -> BackupInfo {
        let backup = try read(path)
        return BackupInfo(path: path, createdAt: Date(timeIntervalSince1970: 1_700_000_000), slots: backup.slots.map(\.info),
                          messageCount: backup.messages)
    }

    func beginUnlock(_ path: String) async throws -> PendingAssertion { Assertion(request: prfRequest()) }

    /// The backups' keys came through an old (version 2) key slot: a restore gives the chats and
    /// new keys without slots, as the real engine does on `UnauthenticatedKeyring`.
    var untrustedKeys = false

    func restore(_ path: String, with secret: UnlockSecret, device: KeyringSecrets?,
                 progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult {
        let backup = try read(path)
        try unlock(backup.slots, secret)
        if untrustedKeys {
            let fresh = FakeKeyring(id: "keyring-\(nextId)", generation: 1, slots: [])
            nextId += 1
            versions[fresh.publicBytes] = fresh
            return RestoreResult(messages: backup.messages ?? 0, conversations: UInt64(conversationList.count),
                                 secrets: secrets(fresh), newKeys: true)
        }
        // The device keeps its own keyring when the backup's is the same one and not newer.
        let mine = device.flatMap { try? keyring($0) }
        let keep = mine.map { $0.id == backup.keyring.id && backup.keyring.generation <= $0.generation } ?? false
        progress(OperationProgress(phase: .restore, done: 0, total: nil))
        await gate?.wait()
        try Task.checkCancellation()
        progress(OperationProgress(phase: .check, done: 1, total: 1))
        return RestoreResult(messages: backup.messages ?? 0, conversations: UInt64(conversationList.count),
                             secrets: secrets(keep ? mine! : backup.keyring), keptDeviceKeyring: keep)
    }

    /// Checks `secret` against `slots` as Keepsake does, with the same failures.
    private func unlock(_ backupSlots: [FakeSlot], _ secret: UnlockSecret) throws {
        func slots(_ kind: SlotKind) -> [FakeSlot] { backupSlots.filter { $0.info.kind == kind } }
        switch secret {
        case .passkey(_, let assertion):
            guard slots(.passkey).contains(where: { $0.secret == assertion.credentialId.base64EncodedString() }) else {
                throw KeepsakeFlowError(.noMatchingSlot, "credential")
            }
        case .recoveryKey(let text):
            let typed = text.trimmingCharacters(in: .whitespaces).uppercased()
            guard typed.hasPrefix("ABCD-EFGH-") else { throw KeepsakeFlowError(.recoveryKeyTypo, "checksum") }
            guard slots(.recoveryKey).contains(where: { $0.secret.uppercased() == typed }) else {
                throw KeepsakeFlowError(.wrongKey, "no slot opens")
            }
        case .password(let text):
            guard !slots(.password).isEmpty else { throw KeepsakeFlowError(.noMatchingSlot, "no password slot") }
            guard slots(.password).contains(where: { $0.secret == text }) else { throw KeepsakeFlowError(.wrongPassword, "no slot opens") }
        }
    }

    func conversations() async throws -> [ConversationSummary] { conversationList }
    func messages(in conversationId: String) async throws -> [ChatMessage] { messagesByConversation[conversationId] ?? [] }

    func createConversation(title: String) async throws -> ConversationSummary {
        let created = ConversationSummary(id: "c\(conversationList.count + 1)", title: title, lastMessage: nil)
        conversationList.append(created)
        return created
    }

    func sendText(_ text: String, to conversationId: String) async throws -> ChatMessage {
        guard let index = conversationList.firstIndex(where: { $0.id == conversationId }) else {
            throw KeepsakeFlowError(.database, "no conversation")
        }
        let list = messagesByConversation[conversationId] ?? []
        let message = ChatMessage(id: "m\(list.count + 1)", sender: "me", text: text, sentAt: Date(timeIntervalSince1970: Double(list.count)))
        messagesByConversation[conversationId] = list + [message]
        conversationList[index].lastMessage = text
        return message
    }
}

/// Keeps copies, as a Keychain would: root key, public bytes, generation.
final class MemoryVault: RootKeyVault {
    var stored: ([UInt8], Data, Int64)?
    var saves = 0
    func save(_ secrets: KeyringSecrets) throws {
        stored = (secrets.rootKey(), secrets.publicKeyring, secrets.generation)
        saves += 1
    }
    func load() throws -> KeyringSecrets? { stored.map { KeyringSecrets(rootKey: $0.0, publicKeyring: $0.1, generation: $0.2) } }
    func clear() throws { stored = nil }
}

final class MemoryHistory: BackupHistory {
    var lastBackup: LastBackup?
    func last() -> LastBackup? { lastBackup }
    func record(_ backup: LastBackup) { lastBackup = backup }
}
