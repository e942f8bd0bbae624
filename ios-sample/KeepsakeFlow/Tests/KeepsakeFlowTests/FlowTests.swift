// XCTest tests of the sample's flows (view-models over the ports), run by `swift test` on macOS
// and on Linux (scripts/test-mobile-flows.sh). Each test builds fresh fakes and drives a view-model like a screen.
import Foundation
import XCTest
@testable import KeepsakeFlow

struct Expectation: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
    if !condition { throw Expectation(description: "line \(line): \(message())") }
}

@MainActor
final class Fixture {
    let dir: URL
    let engine = FakeEngine()
    let provider = ScriptedProvider()
    let vault = MemoryVault()
    let history = MemoryHistory()
    let backup: BackupViewModel
    let restore: RestoreViewModel
    let chat: ChatViewModel
    let backupPath: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-flow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        backupPath = dir.appendingPathComponent("chats.keepsake").path
        let path = backupPath
        backup = BackupViewModel(engine: engine, passkeys: provider, vault: vault, history: history,
                                 backupPath: { path }, now: { Date(timeIntervalSince1970: 42) })
        restore = RestoreViewModel(engine: engine, passkeys: provider, vault: vault)
        chat = ChatViewModel(engine: engine)
    }

    func close() { try? FileManager.default.removeItem(at: dir) }

    func vaultSlots() async throws -> [SlotInfo] {
        guard let s = try vault.load() else { return [] }
        return try await engine.slots(s)
    }

    /// A backup with one conversation, a passkey and a recovery key; returns its path.
    func makeBackup() async throws -> String {
        await chat.newConversation(title: "Ana")
        await chat.send("hello")
        await backup.enableWithPasskey()!.value
        await backup.addRecoveryKey()!.value
        await backup.backUpNow()!.value
        return try unwrap(history.lastBackup?.path)
    }
}

func unwrap<T>(_ value: T?, line: Int = #line) throws -> T {
    guard let value else { throw Expectation(description: "line \(line): unexpected nil") }
    return value
}

/// Yields until `condition` holds (progress arrives asynchronously); fails after 5 s.
@MainActor
func eventually(_ condition: () -> Bool, line: Int = #line) async throws {
    let deadline = Date().addingTimeInterval(5)
    while !condition() {
        if Date() > deadline { throw Expectation(description: "line \(line): condition never held") }
        try await Task.sleep(nanoseconds: 1_000_000)
    }
}

extension RestoreUiState {
    var unlockMessage: UserMessage?? {
        if case .chooseUnlock(_, let message) = self { return .some(message) }
        return nil
    }
}

/// The flows, one XCTest each: a fresh `Fixture` (fakes and view-models) per test, driven like a
/// screen on the main actor.
@MainActor
final class FlowTests: XCTestCase {
    // --- Backup screen ---------------------------------------------------------------------------
    func testEnablingWithAPasskeyWhoseRegistrationHasPRFOutputSealsAKeyringWithThatSlot() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.enableWithPasskey(label: "Phone")!.value
        let state = f.backup.state
        try expect(state.work == nil, "still busy: \(String(describing: state.work))")
        try expect(state.slots.map(\.kind) == [.passkey] && state.slots.map(\.label) == ["Phone"], "slots \(state.slots)")
        try expect(try await f.vaultSlots() == state.slots, "vault differs")
        try expect(f.provider.registrations == 1 && f.provider.assertions == 0, "ceremonies")
        try expect(state.message?.isError == false && state.canBackUp, "state \(state)")
    }

    func testRegistrationWithPRFSupportedButNoOutputMakesExactlyOneAssertionThenEnrolls() async throws {
        let f = try Fixture()
        defer { f.close() }
        f.provider.prf = .enabledOnly
        await f.backup.enableWithPasskey()!.value
        try expect(f.provider.assertions == 1, "assertions \(f.provider.assertions)")
        try expect(try await f.vaultSlots().map(\.kind) == [.passkey], "vault")
    }

    func testAProviderWithoutPRFEnrollsNothingAndOffersTheRecoveryKey() async throws {
        let f = try Fixture()
        defer { f.close() }
        f.provider.prf = .unsupported
        await f.backup.enableWithPasskey()!.value
        try expect(f.vault.stored == nil, "a keyring was sealed without a usable slot")
        try expect(f.backup.state.message?.offerRecoveryKey == true, "message \(String(describing: f.backup.state.message))")
        try expect(!f.backup.state.canBackUp, "can back up")
    }

    func testCancellingThePasskeySheetIsSilentAndStoresNothing() async throws {
        let f = try Fixture()
        defer { f.close() }
        f.provider.nextRegistrationFailure = .cancelled
        await f.backup.enableWithPasskey()!.value
        try expect(f.backup.state.message == nil && f.vault.saves == 0 && f.backup.state.work == nil, "state \(f.backup.state)")
    }

    func testEveryProviderFailureGetsItsOwnMessageConfigurationProblemsOfferTheRecoveryKey() async throws {
        let f = try Fixture()
        defer { f.close() }
        let failures: [PasskeyOutcome<PasskeyRegistration>] = [
            .noCredential, .notConfigured("x"), .rejected(name: "InvalidStateError", detail: ""),
            .rejected(name: "NotAllowedError", detail: ""), .interrupted, .failed("boom"),
        ]
        var texts = Set<String>()
        for failure in failures {
            f.provider.nextRegistrationFailure = failure
            await f.backup.enableWithPasskey()!.value
            let message = try unwrap(f.backup.state.message)
            try expect(message.isError, "not an error: \(message)")
            texts.insert(message.text)
        }
        try expect(texts.count == failures.count, "messages not distinct: \(texts)")
        f.provider.nextRegistrationFailure = .notConfigured("x")
        await f.backup.enableWithPasskey()!.value
        try expect(f.backup.state.message?.offerRecoveryKey == true, "notConfigured must offer the recovery key")
        try expect(f.vault.saves == 0, "vault saved after failures")
    }

    func testAddingARecoveryKeyShowsItOnceAndSealsTheSlotBothKindsShareOneKeyring() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.enableWithPasskey()!.value
        await f.backup.addRecoveryKey()!.value
        try expect(f.backup.state.newRecoveryKey?.hasPrefix("ABCD-EFGH-") == true, "key")
        try expect(try await f.vaultSlots().map(\.kind) == [.passkey, .recoveryKey], "vault")
        f.backup.recoveryKeyNoted()
        try expect(f.backup.state.newRecoveryKey == nil, "key still shown")
    }

    func testBackingUpWithoutAKeyringAsksToTurnBackupsOnAndWritesNothing() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.backUpNow()!.value
        try expect(f.engine.backups == 0 && f.history.lastBackup == nil, "a backup was written")
        try expect(f.backup.state.message?.isError == true, "no error")
    }

    func testBackUpNowReportsProgressRecordsTheLastBackupAndWipesEveryKeyringCopy() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.addRecoveryKey()!.value
        let gate = Gate()
        f.engine.gate = gate
        let task = try unwrap(f.backup.backUpNow())
        try await eventually { if case .backingUp(let p) = f.backup.state.work { return p != nil }; return false }
        try expect(f.backup.backUpNow() == nil, "a second operation started while busy")
        await gate.release()
        await task.value
        let last = try unwrap(f.backup.state.lastBackup)
        try expect(last.path == f.backupPath && last.finishedAt == Date(timeIntervalSince1970: 42), "last \(last)")
        try expect(f.history.lastBackup == last && FileManager.default.fileExists(atPath: f.backupPath), "not recorded")
        try expect(f.engine.handedOut.allSatisfy { $0.rootKey().allSatisfy { $0 == 0 } }, "a root key copy was not wiped")
    }

    func testCancellingABackupKeepsThePreviousLastBackupAndSaysCancelled() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.addRecoveryKey()!.value
        let gate = Gate()
        f.engine.gate = gate
        let task = try unwrap(f.backup.backUpNow())
        try await eventually { if case .backingUp(let p) = f.backup.state.work { return p != nil }; return false }
        f.backup.cancel()
        await gate.release()
        await task.value
        try expect(f.backup.state.work == nil && f.backup.state.message?.text == "Cancelled.", "state \(f.backup.state)")
        try expect(f.history.lastBackup == nil && f.engine.backups == 0, "backup recorded")
    }

    func testLoadShowsTheSealedKeyringSSlotsAndTheLastBackup() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.addRecoveryKey()!.value
        f.history.lastBackup = LastBackup(path: "p", finishedAt: Date(timeIntervalSince1970: 1), bytes: 2, messages: 3)
        let fresh = BackupViewModel(engine: f.engine, passkeys: f.provider, vault: f.vault, history: f.history, backupPath: { "unused" })
        await fresh.load()
        try expect(fresh.state.loaded && fresh.state.slots.count == 1 && fresh.state.lastBackup == f.history.lastBackup, "state \(fresh.state)")
    }

    func testAPasswordSlotIsAddedAndSealedATooShortOneIsRefusedBeforeKeepsakeSeesIt() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.addPassword("short")!.value
        try expect(f.backup.state.message == UserMessage.passwordTooShort(minPasswordChars), "message \(String(describing: f.backup.state.message))")
        try expect(f.vault.saves == 0 && f.backup.state.work == nil, "state \(f.backup.state)")
        await f.backup.addRecoveryKey()!.value
        await f.backup.addPassword("correct horse battery staple")!.value
        try expect(try await f.vaultSlots().map(\.kind) == [.recoveryKey, .password], "vault")
        try expect(try await f.backup.state.slots == f.vaultSlots() && f.backup.state.message?.isError == false, "state \(f.backup.state)")
    }

    func testRemovingASlotRevokesItTheRotatedKeyringIsSealedAndTheMessageSaysOldBackupsStillOpen() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.enableWithPasskey(label: "Phone")!.value
        await f.backup.addRecoveryKey(label: "Paper")!.value
        let generation = try unwrap(f.vault.stored).2
        let paper = try unwrap(f.backup.state.slots.first { $0.kind == .recoveryKey })
        await f.backup.removeSlot(paper)!.value
        let state = f.backup.state
        try expect(state.work == nil && state.message == UserMessage.revoked(paper), "state \(state)")
        let text = try unwrap(state.message).text
        try expect(text.contains("cannot open backups made from now on") && text.contains("still open"), "message \(text)")
        try expect(try unwrap(f.vault.stored).2 == generation + 1, "sealed generation")
        try expect(try await f.vaultSlots().map(\.kind) == [.passkey], "vault")
        try expect(try await state.slots == f.vaultSlots(), "slots \(state.slots)")
        // The next backup uses the rotated keyring.
        await f.backup.backUpNow()!.value
        try expect(try await f.engine.inspect(f.backupPath).slots.map(\.kind) == [.passkey], "backup slots")
        try expect(f.engine.handedOut.allSatisfy { $0.rootKey().allSatisfy { $0 == 0 } }, "a root key copy was not wiped")
    }

    func testTheLastSlotIsNotRemovedTheUserIsToldToAddAnotherFirst() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.addRecoveryKey(label: "Paper")!.value
        let sealed = try unwrap(f.vault.stored)
        let only = try unwrap(f.backup.state.slots.first)
        await f.backup.removeSlot(only)!.value
        try expect(f.backup.state.message == UserMessage.of(.lastSlot) && f.backup.state.work == nil, "state \(f.backup.state)")
        try expect(f.vault.saves == 1 && f.vault.stored?.1 == sealed.1 && f.vault.stored?.2 == sealed.2, "the vault changed")
        try expect(f.backup.state.slots == [only], "slots \(f.backup.state.slots)")
    }

    func testARolledBackKeyringIsRefusedBackingUpSaysSoAndWritesNothing() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.backup.enableWithPasskey()!.value
        await f.backup.addRecoveryKey()!.value
        let old = try unwrap(f.vault.stored)
        await f.backup.removeSlot(try unwrap(f.backup.state.slots.last))!.value
        // The sealed generation stays, the keyring bytes go back (older public bytes and root key).
        f.vault.stored = (old.0, old.1, try unwrap(f.vault.stored).2)
        await f.backup.backUpNow()!.value
        try expect(f.backup.state.message == UserMessage.of(.keyringRolledBack), "message \(String(describing: f.backup.state.message))")
        try expect(f.engine.backups == 0 && f.history.lastBackup == nil, "a backup was written")
        let fresh = BackupViewModel(engine: f.engine, passkeys: f.provider, vault: f.vault, history: f.history, backupPath: { "unused" })
        await fresh.load()
        try expect(fresh.state.message == UserMessage.of(.keyringRolledBack), "load \(fresh.state)")
    }

    // --- Restore screen --------------------------------------------------------------------------
    func testPickingADamagedFileStaysOnTheFileChoiceWithTheReason() async throws {
        let f = try Fixture()
        defer { f.close() }
        let bad = f.dir.appendingPathComponent("bad.keepsake")
        try Data("not a keyring\n".utf8).write(to: bad)
        await f.restore.pickFile(bad.path)!.value
        try expect(f.restore.state == .chooseFile(UserMessage.of(.corrupted)), "state \(f.restore.state)")
    }

    func testPickingABackupOffersTheUnlockMethodsItsSlotsAllow() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        await f.restore.pickFile(path)!.value
        guard case .chooseUnlock(let info, nil) = f.restore.state else { throw Expectation(description: "state \(f.restore.state)") }
        try expect(info.canUsePasskey && info.canUseRecoveryKey && info.messageCount == 1, "info \(info)")
    }

    func testKeysFromAnOldKeySlotAreNeverKeptTheChatsRestoreAndThePhoneGetsNewKeys() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        let key = try unwrap(f.backup.state.newRecoveryKey)
        try f.vault.clear()
        f.engine.untrustedKeys = true
        await f.restore.pickFile(path)!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        try expect(f.restore.state == .restored(messages: 1, conversations: 1, newKeys: true), "state \(f.restore.state)")
        let message = UserMessage.restored(messages: 1, conversations: 1, keptDeviceKeyring: false, newKeys: true)
        try expect(message.text.contains("set up new backup keys"), "message \(message)")
        try expect(try await f.vaultSlots().isEmpty, "the backup's keys were kept")
    }

    func testAMistypedRecoveryKeySaysTypoAWrongOneSaysWrongKeyTheRightOneRestores() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        let key = try unwrap(f.backup.state.newRecoveryKey)
        try f.vault.clear()
        await f.restore.pickFile(path)!.value
        await f.restore.unlockWithRecoveryKey("XBCD-EFGH-keyring-1")!.value
        try expect(f.restore.state.unlockMessage == .some(UserMessage.of(.recoveryKeyTypo)), "state \(f.restore.state)")
        await f.restore.unlockWithRecoveryKey("ABCD-EFGH-keyring-9")!.value
        try expect(f.restore.state.unlockMessage == .some(UserMessage.of(.wrongKey)), "state \(f.restore.state)")
        try expect(f.vault.stored == nil, "a failed unlock stored a keyring")
        await f.restore.unlockWithRecoveryKey(" \(key.lowercased()) ")!.value
        try expect(f.restore.state == .restored(messages: 1, conversations: 1), "state \(f.restore.state)")
        try expect(try await f.vaultSlots().count == 2, "restored keyring not sealed")
    }

    func testAPasskeyRestoreMakesOneAssertionAndSealsTheRestoredKeyring() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        try f.vault.clear()
        let before = f.provider.assertions
        await f.restore.pickFile(path)!.value
        await f.restore.unlockWithPasskey()!.value
        try expect(f.restore.state == .restored(messages: 1, conversations: 1), "state \(f.restore.state)")
        try expect(f.provider.assertions == before + 1 && f.vault.stored != nil, "assertions or vault")
    }

    func testAPasskeyFromAnotherKeyringIsToldApartFromAWrongKey() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        f.provider.credentialId = Data("someone-else".utf8)
        await f.restore.pickFile(path)!.value
        await f.restore.unlockWithPasskey()!.value
        try expect(f.restore.state.unlockMessage == .some(UserMessage.of(.noMatchingSlot)), "state \(f.restore.state)")
    }

    func testNoPasskeyOnTheDeviceOffersTheRecoveryKeyACancelledSheetIsSilent() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        await f.restore.pickFile(path)!.value
        f.provider.nextAssertionFailure = .noCredential
        await f.restore.unlockWithPasskey()!.value
        try expect(f.restore.state.unlockMessage??.offerRecoveryKey == true, "state \(f.restore.state)")
        f.provider.nextAssertionFailure = .cancelled
        await f.restore.unlockWithPasskey()!.value
        try expect(f.restore.state.unlockMessage == .some(nil), "state \(f.restore.state)")
    }

    func testCancellingARestoreReturnsToTheUnlockChoiceAndStoresNothing() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        let key = try unwrap(f.backup.state.newRecoveryKey)
        try f.vault.clear()
        await f.restore.pickFile(path)!.value
        let gate = Gate()
        f.engine.gate = gate
        let task = try unwrap(f.restore.unlockWithRecoveryKey(key))
        try await eventually { if case .restoring(_, let p) = f.restore.state { return p != nil }; return false }
        try expect(f.restore.pickFile(path) == nil, "picked a file while restoring")
        f.restore.cancel()
        await gate.release()
        await task.value
        try expect(f.restore.state.unlockMessage == .some(UserMessage.of(.cancelled)), "state \(f.restore.state)")
        try expect(f.vault.stored == nil, "cancelled restore stored a keyring")
    }

    func testAPasswordBackupOffersThePasswordAWrongOneSaysSoTheRightOneRestores() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.chat.newConversation(title: "Ana")
        await f.chat.send("hello")
        await f.backup.addPassword("correct horse battery staple")!.value
        await f.backup.backUpNow()!.value
        try f.vault.clear()
        await f.restore.pickFile(try unwrap(f.history.lastBackup?.path))!.value
        guard case .chooseUnlock(let info, nil) = f.restore.state else { throw Expectation(description: "state \(f.restore.state)") }
        try expect(info.canUsePassword && !info.canUseRecoveryKey && !info.canUsePasskey, "info \(info)")
        await f.restore.unlockWithPassword("correct horse battery stapler")!.value
        try expect(f.restore.state.unlockMessage == .some(UserMessage.of(.wrongPassword)), "state \(f.restore.state)")
        try expect(f.vault.stored == nil, "a failed unlock stored a keyring")
        await f.restore.unlockWithPassword("correct horse battery staple")!.value
        try expect(f.restore.state == .restored(messages: 1, conversations: 1), "state \(f.restore.state)")
        try expect(try await f.vaultSlots().map(\.kind) == [.password], "vault")
    }

    func testRestoringAnOlderBackupKeepsTheDeviceSNewerKeyringSoARevokedKeyStaysRevoked() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        let before = f.dir.appendingPathComponent("before.keepsake").path
        try FileManager.default.copyItem(atPath: path, toPath: before)
        let key = try unwrap(f.backup.state.newRecoveryKey)
        await f.backup.removeSlot(try unwrap(f.backup.state.slots.first { $0.kind == .recoveryKey }))!.value
        let sealed = try unwrap(f.vault.stored)
        // The removed key still opens the older backup: the chats come back, the keys stay.
        await f.restore.pickFile(before)!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        try expect(f.restore.state == .restored(messages: 1, conversations: 1, keptDeviceKeyring: true), "state \(f.restore.state)")
        let message = UserMessage.restored(messages: 1, conversations: 1, keptDeviceKeyring: true)
        try expect(message.text.contains("stay revoked"), "message \(message)")
        try expect(f.vault.stored?.1 == sealed.1 && f.vault.stored?.2 == sealed.2, "the vault went back")
        try expect(try await f.vaultSlots().map(\.kind) == [.passkey], "vault")
    }

    func testANewDeviceTakesTheBackupSKeyring() async throws {
        let f = try Fixture()
        defer { f.close() }
        let path = try await f.makeBackup()
        try f.vault.clear()
        await f.restore.pickFile(path)!.value
        await f.restore.unlockWithPasskey()!.value
        try expect(f.restore.state == .restored(messages: 1, conversations: 1, keptDeviceKeyring: false), "state \(f.restore.state)")
        try expect(try await f.vaultSlots().map(\.kind) == [.passkey, .recoveryKey], "vault")
    }

    // --- Chat screen -----------------------------------------------------------------------------
    func testChatBlankInputIsIgnoredSentMessagesAppearInOrderTheListShowsTheLastOne() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.chat.newConversation(title: "   ")
        try expect(f.chat.state.conversations.isEmpty, "blank conversation created")
        try expect(await f.chat.send("hi") == false, "sent with no open conversation")
        await f.chat.newConversation(title: "Team")
        try expect(await f.chat.send("  ") == false, "blank message sent")
        await f.chat.send("first")
        await f.chat.send(" second ")
        try expect(f.chat.state.messages.map(\.text) == ["first", "second"], "messages \(f.chat.state.messages)")
        try expect(f.chat.state.conversations.first?.lastMessage == "second", "list")
    }

    func testChatAStoreFailureBecomesAMessageNotACrash() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.chat.newConversation(title: "Team")
        f.engine.conversationList.removeAll()
        await f.chat.send("lost")
        try expect(f.chat.state.message == UserMessage.of(.database), "message \(String(describing: f.chat.state.message))")
    }

    // --- Demo provider ---------------------------------------------------------------------------
    func testTheSoftwareAuthenticatorProviderPassesRequestsThroughAndMapsItsFailures() async throws {
        final class Stub: TypedAuthenticator {
            var seen: [Data] = []
            func create(_ request: PasskeyRegistrationRequest) throws -> PasskeyRegistration {
                seen.append(request.prfInput)
                return PasskeyRegistration(credentialId: Data([1]), prfSupported: true, prfFirst: Data(repeating: 3, count: 32))
            }
            func get(_ request: PasskeyAssertionRequest) throws -> PasskeyAssertion {
                seen.append(request.prfInput)
                if request.allowedCredentialIds.isEmpty { throw KeepsakeFlowError(.noMatchingSlot, "none") }
                throw KeepsakeFlowError(.malformedWebAuthn, "bad request")
            }
        }
        let stub = Stub()
        let soft = SoftwareAuthenticatorProvider(stub)
        let input = Data(repeating: 5, count: 32)
        guard case .success(let made) = await soft.register(PasskeyRegistrationRequest(
            relyingPartyId: "r", userName: "u", userId: Data(), challenge: Data(), prfInput: input)) else {
            throw Expectation(description: "register failed")
        }
        try expect(made.credentialId == Data([1]) && made.prfFirst?.count == 32, "registration \(made)")
        let noCredential = await soft.authenticate(PasskeyAssertionRequest(relyingPartyId: "r", challenge: Data(), prfInput: input, allowedCredentialIds: []))
        guard case .noCredential = noCredential else { throw Expectation(description: "expected noCredential") }
        let failed = await soft.authenticate(PasskeyAssertionRequest(relyingPartyId: "r", challenge: Data(), prfInput: input, allowedCredentialIds: [Data([1])]))
        guard case .failed("bad request") = failed else { throw Expectation(description: "expected failed") }
        try expect(stub.seen == [input, input, input], "requests")
    }

    // --- Words -----------------------------------------------------------------------------------
    func testEveryKeepsakeFailureHasItsOwnMessage() async throws {
        let texts = Failure.allCases.map { UserMessage.of($0).text }
        try expect(Set(texts).count == Failure.allCases.count, "duplicates in \(texts)")
        try expect(UserMessage.of(.prfUnsupported).offerRecoveryKey, "prfUnsupported must offer the recovery key")
    }

    func testSecretsNeverPrint() async throws {
        let secrets = KeyringSecrets(rootKey: [UInt8](repeating: 0x41, count: 32), publicKeyring: Data(count: 3), generation: 2)
        try expect(!"\(secrets)".contains("65") && !"\(secrets)".contains("A"), "\(secrets)")
        try expect(!"\(UnlockSecret.recoveryKey("ABCD-SECRET"))".contains("SECRET"), "recovery key printed")
        try expect(!"\(UnlockSecret.password("hunter2-SECRET"))".contains("SECRET"), "password printed")
        let assertion = PasskeyAssertion(credentialId: Data(count: 4), prfFirst: Data(repeating: 0x41, count: 32))
        try expect(!"\(assertion)".contains("65"), "prf printed")
    }
}
