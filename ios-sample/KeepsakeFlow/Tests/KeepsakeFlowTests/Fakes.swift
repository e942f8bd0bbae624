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

final class FakeEngine: BackupEngine, @unchecked Sendable {
    private var keyrings: [String: [(SlotInfo, String)]] = [:]
    private var nextId = 1
    var handedOut: [KeyringSecrets] = []
    var conversationList: [ConversationSummary] = []
    var messagesByConversation: [String: [ChatMessage]] = [:]
    var backups = 0
    var gate: Gate?

    private func secrets(_ id: String) -> KeyringSecrets {
        let s = KeyringSecrets(rootKey: [UInt8](repeating: 7, count: 32), publicKeyring: Data(id.utf8))
        handedOut.append(s)
        return s
    }

    private func keyring(_ s: KeyringSecrets) throws -> String {
        precondition(s.rootKey().contains { $0 != 0 }, "engine got a wiped keyring")
        let id = String(decoding: s.publicKeyring, as: UTF8.self)
        guard keyrings[id] != nil else { throw KeepsakeFlowError(.corrupted, "unknown keyring") }
        return id
    }

    private func prfRequest() -> PasskeyAssertionRequest {
        PasskeyAssertionRequest(relyingPartyId: "keepsake.example", challenge: Data(count: 32), prfInput: Data(count: 32), allowedCredentialIds: [])
    }

    func createKeyring() async throws -> KeyringSecrets {
        let id = "keyring-\(nextId)"
        nextId += 1
        keyrings[id] = []
        return secrets(id)
    }

    func slots(_ s: KeyringSecrets) async throws -> [SlotInfo] { keyrings[try keyring(s)]!.map(\.0) }

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
        let id = try keyring(s)
        keyrings[id]!.append((SlotInfo(kind: kind, label: label), secret))
        return secrets(id)
    }

    func addRecoveryKey(_ s: KeyringSecrets, label: String) async throws -> (KeyringSecrets, String) {
        let key = "ABCD-EFGH-\(try keyring(s))"
        return (try add(s, .recoveryKey, label, key), key)
    }

    func backUp(_ s: KeyringSecrets, to path: String, progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> BackupSummary {
        let id = try keyring(s)
        let messages = UInt64(messagesByConversation.values.map(\.count).reduce(0, +))
        progress(OperationProgress(phase: .backup, done: 0, total: messages))
        await gate?.wait()
        try Task.checkCancellation()
        progress(OperationProgress(phase: .backup, done: messages, total: messages))
        let body = Data("\(id)\n\(messages)\n".utf8)
        try body.write(to: URL(fileURLWithPath: path))
        backups += 1
        return BackupSummary(path: path, bytes: UInt64(body.count), messages: messages)
    }

    private func lines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KeepsakeFlowError(.io, "no file") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func inspect(_ path: String) async throws -> BackupInfo {
        let l = try lines(path)
        guard let id = l.first, let slots = keyrings[id] else { throw KeepsakeFlowError(.corrupted, "header") }
        return BackupInfo(path: path, createdAt: Date(timeIntervalSince1970: 1_700_000_000), slots: slots.map(\.0),
                          messageCount: l.count > 1 ? UInt64(l[1]) : nil)
    }

    func beginUnlock(_ path: String) async throws -> PendingAssertion { Assertion(request: prfRequest()) }

    func restore(_ path: String, with secret: UnlockSecret, progress: @escaping @Sendable (OperationProgress) -> Void) async throws -> RestoreResult {
        let l = try lines(path)
        let slots = keyrings[l[0]]!
        switch secret {
        case .passkey(_, let assertion):
            guard slots.contains(where: { $0.0.kind == .passkey && $0.1 == assertion.credentialId.base64EncodedString() }) else {
                throw KeepsakeFlowError(.noMatchingSlot, "credential")
            }
        case .recoveryKey(let text):
            let typed = text.trimmingCharacters(in: .whitespaces).uppercased()
            guard typed.hasPrefix("ABCD-EFGH-") else { throw KeepsakeFlowError(.recoveryKeyTypo, "checksum") }
            guard slots.contains(where: { $0.0.kind == .recoveryKey && $0.1.uppercased() == typed }) else {
                throw KeepsakeFlowError(.wrongKey, "no slot opens")
            }
        }
        progress(OperationProgress(phase: .restore, done: 0, total: nil))
        await gate?.wait()
        try Task.checkCancellation()
        progress(OperationProgress(phase: .check, done: 1, total: 1))
        return RestoreResult(messages: UInt64(l[1]) ?? 0, conversations: UInt64(conversationList.count), secrets: secrets(l[0]))
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

final class MemoryVault: RootKeyVault {
    var stored: ([UInt8], Data)?
    var saves = 0
    func save(_ secrets: KeyringSecrets) throws {
        stored = (secrets.rootKey(), secrets.publicKeyring)
        saves += 1
    }
    func load() throws -> KeyringSecrets? { stored.map { KeyringSecrets(rootKey: $0.0, publicKeyring: $0.1) } }
    func clear() throws { stored = nil }
}

final class MemoryHistory: BackupHistory {
    var lastBackup: LastBackup?
    func last() -> LastBackup? { lastBackup }
    func record(_ backup: LastBackup) { lastBackup = backup }
}
