// End-to-end flows: the sample's view-models over BindingsBackupEngine (the real Keepsake
// library through the generated Swift bindings), with the bindings' software authenticator as the
// passkey provider. XCTest tests, run by `swift test` (scripts/test-mobile-flows.sh on Linux).
import Foundation
import XCTest
import Keepsake
import KeepsakeEngine
import KeepsakeFlow

struct Expectation: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
    if !condition { throw Expectation(description: "line \(line): \(message())") }
}

/// Keeps copies, as a Keychain would (root key, public bytes, generation): the view-models wipe
/// the secrets they hand over.
final class MemoryVault: RootKeyVault {
    var stored: ([UInt8], Data, Int64)?
    func save(_ secrets: KeyringSecrets) throws { stored = (secrets.rootKey(), secrets.publicKeyring, secrets.generation) }
    func load() throws -> KeyringSecrets? { stored.map { KeyringSecrets(rootKey: $0.0, publicKeyring: $0.1, generation: $0.2) } }
    func clear() throws { stored = nil }
}

final class MemoryHistory: BackupHistory {
    var lastBackup: LastBackup?
    func last() -> LastBackup? { lastBackup }
    func record(_ backup: LastBackup) { lastBackup = backup }
}

/// One "device": its own chat database, vault, history and view-models.
@MainActor
final class Device {
    let engine: BindingsBackupEngine
    let vault = MemoryVault()
    let history = MemoryHistory()
    let backupPath: String
    let chat: ChatViewModel

    /// `passkeysOf`: a device whose software authenticator this one shares (a synced passkey).
    init(_ dir: URL, _ name: String, passkeysOf other: Device? = nil) {
        engine = BindingsBackupEngine(chatDatabase: dir.appendingPathComponent("\(name).sqlite").path,
                                      relyingPartyId: "keepsake.example",
                                      softAuthenticator: other?.engine.soft ?? SoftAuthenticator(mode: .prfAtRegistration))
        backupPath = dir.appendingPathComponent("\(name).keepsake").path
        chat = ChatViewModel(engine: engine)
    }

    func backup(_ provider: PasskeyPrfProvider) -> BackupViewModel {
        let path = backupPath
        return BackupViewModel(engine: engine, passkeys: provider, vault: vault, history: history,
                               backupPath: { path }, now: { Date() })
    }

    func restore(_ provider: PasskeyPrfProvider) -> RestoreViewModel {
        RestoreViewModel(engine: engine, passkeys: provider, vault: vault)
    }

    /// Chats, a passkey and a recovery key, one backup; returns the recovery key.
    func backedUp() async throws -> String {
        await chat.newConversation(title: "Ana")
        _ = await chat.send("hello")
        _ = await chat.send("how are you?")
        let backup = backup(SoftwareAuthenticatorProvider(engine.demoAuthenticator()))
        await backup.enableWithPasskey(label: "Phone")?.value
        try expect(backup.state.slots.map(\.kind) == [.passkey], "after passkey: \(backup.state)")
        await backup.addRecoveryKey()?.value
        guard let key = backup.state.newRecoveryKey else { throw Expectation(description: "no recovery key: \(backup.state)") }
        await backup.backUpNow()?.value
        guard let last = backup.state.lastBackup else { throw Expectation(description: "no backup: \(backup.state)") }
        let size = try FileManager.default.attributesOfItem(atPath: backupPath)[.size] as? UInt64
        try expect(last.messages == 2 && size == last.bytes, "last backup \(last), file \(String(describing: size))")
        return key
    }
}

extension Device {
    /// A Backup screen with the keyring's slots loaded.
    func loadedBackup() async -> BackupViewModel {
        let model = backup(SoftwareAuthenticatorProvider(engine.demoAuthenticator()))
        await model.load()
        return model
    }

    /// Restores `path` here with the recovery key `key`; returns the final state.
    func restore(_ path: String, recoveryKey key: String) async -> RestoreUiState {
        let model = restore(SoftwareAuthenticatorProvider(engine.demoAuthenticator()))
        await model.pickFile(path)?.value
        await model.unlockWithRecoveryKey(key)?.value
        return model.state
    }
}

func slot(_ kind: KeepsakeFlow.SlotKind, of state: BackupUiState) throws -> KeepsakeFlow.SlotInfo {
    guard let found = state.slots.first(where: { $0.kind == kind }) else { throw Expectation(description: "no \(kind) slot: \(state.slots)") }
    return found
}

@MainActor
func chooseUnlockMessage(_ state: RestoreUiState) -> UserMessage?? {
    if case .chooseUnlock(_, let message) = state { return .some(message) }
    return nil
}

/// The flows, one XCTest each, in a fresh folder.
@MainActor
final class EngineFlowTests: XCTestCase {
    var dir: URL!

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testANewDeviceRestoresTheChatsWithTheSyncedPasskeyAndKeepsTheKeyring() async throws {
        let dir = self.dir!
        let old = Device(dir, "old")
        _ = try await old.backedUp()
        // The passkey synced through the password manager: the same software authenticator.
        let fresh = Device(dir, "new", passkeysOf: old)
        let restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        await restore.pickFile(old.backupPath)?.value
        guard case .chooseUnlock(let info, _) = restore.state else { throw Expectation(description: "\(restore.state)") }
        try expect(info.canUsePasskey && info.canUseRecoveryKey && info.messageCount == 2, "info \(info)")
        await restore.unlockWithPasskey()?.value
        try expect(restore.state == .restored(messages: 2, conversations: 1), "state \(restore.state)")
        await fresh.chat.refresh()
        await fresh.chat.open("1")
        try expect(fresh.chat.state.messages.map(\.text) == ["hello", "how are you?"], "chat \(fresh.chat.state)")
        guard let sealed = try fresh.vault.load() else { throw Expectation(description: "restored keyring not sealed") }
        try expect(try await fresh.engine.slots(sealed).map(\.kind) == [.passkey, .recoveryKey], "slots")
    }

    func testTheRecoveryKeyRestoresATypoAndAWrongKeyAreToldApartAndChangeNothing() async throws {
        let dir = self.dir!
        let old = Device(dir, "old")
        let key = try await old.backedUp()
        let otherKey = try await Device(dir, "other").backedUp()
        let fresh = Device(dir, "new")
        let restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        await restore.pickFile(old.backupPath)?.value
        let typo = (key.first == "A" ? "B" : "A") + key.dropFirst()
        await restore.unlockWithRecoveryKey(typo)?.value
        try expect(chooseUnlockMessage(restore.state) == .some(UserMessage.of(.recoveryKeyTypo)), "typo: \(restore.state)")
        await restore.unlockWithRecoveryKey(otherKey)?.value
        try expect(chooseUnlockMessage(restore.state) == .some(UserMessage.of(.wrongKey)), "wrong key: \(restore.state)")
        try expect(fresh.vault.stored == nil, "a failed unlock sealed a keyring")
        try expect(try await fresh.engine.conversations().isEmpty, "a failed unlock changed the chats")
        await restore.unlockWithRecoveryKey(key.lowercased().replacingOccurrences(of: "-", with: " "))?.value
        try expect(restore.state == .restored(messages: 2, conversations: 1), "state \(restore.state)")
    }

    func testAPasskeyProviderWithoutPRFEnrollsNothingAndOffersTheRecoveryKey() async throws {
        let dir = self.dir!
        let device = Device(dir, "device")
        try device.engine.setDemoMode(.noPrf)
        let backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        await backup.enableWithPasskey()?.value
        try expect(backup.state.message == UserMessage.of(.prfUnsupported), "state \(backup.state)")
        try expect(device.vault.stored == nil && backup.state.slots.isEmpty, "enrolled without PRF")
    }

    func testPRFEnabledWithoutOutputAtRegistrationOneAssertionCompletesTheEnrollment() async throws {
        let dir = self.dir!
        let device = Device(dir, "device")
        try device.engine.setDemoMode(.prfEnabledWithoutResults)
        let backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        await backup.enableWithPasskey()?.value
        try expect(backup.state.slots.map(\.kind) == [.passkey], "state \(backup.state)")
    }

    func testAModifiedBackupIsRefusedBeforeAnythingIsRestored() async throws {
        let dir = self.dir!
        let old = Device(dir, "old")
        let key = try await old.backedUp()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: old.backupPath))
        // A small backup is one short segment: docs/FORMAT.md reports damage there as Truncated.
        bytes[bytes.count - 40] ^= 1
        let tampered = dir.appendingPathComponent("tampered.keepsake")
        try bytes.write(to: tampered)
        let fresh = Device(dir, "new")
        let restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        await restore.pickFile(tampered.path)?.value
        await restore.unlockWithRecoveryKey(key)?.value
        try expect(chooseUnlockMessage(restore.state) == .some(UserMessage.of(.truncated)), "state \(restore.state)")
        try expect(fresh.vault.stored == nil, "a refused restore sealed a keyring")
        try expect(try await fresh.engine.conversations().isEmpty, "a refused restore changed the chats")
    }

    func testASecondPasskeyRegistrationExcludesTheEnrolledPasskeyAndNamesTheAccount() async throws {
        let dir = self.dir!
        let device = Device(dir, "one")
        _ = try await device.backedUp()
        guard let sealed = try device.vault.load() else { throw Expectation(description: "no keyring sealed") }
        let pending = try await device.engine.beginPasskeyRegistration(sealed, userName: "Ana", label: "Tablet")
        try expect(pending.request.excludedCredentialIds.count == 1, "excluded \(pending.request.excludedCredentialIds)")
        try expect(pending.request.userDisplayName == "Ana", "display name \(pending.request.userDisplayName)")
    }

    func testRemovingTheRecoveryKeyRevokesItLaterBackupsRefuseItEarlierOnesStillOpen() async throws {
        let dir = self.dir!
        let device = Device(dir, "device")
        let key = try await device.backedUp()
        let before = dir.appendingPathComponent("before.keepsake").path
        try FileManager.default.copyItem(atPath: device.backupPath, toPath: before)
        let generation = try XCTUnwrap(device.vault.stored).2
        let backup = await device.loadedBackup()
        let paper = try slot(.recoveryKey, of: backup.state)
        await backup.removeSlot(paper)?.value
        try expect(backup.state.message == UserMessage.revoked(paper), "state \(backup.state)")
        try expect(backup.state.slots.map(\.kind) == [.passkey], "slots \(backup.state.slots)")
        try expect(try XCTUnwrap(device.vault.stored).2 == generation + 1, "sealed generation")
        // The daily backup goes on without a prompt, with the rotated keyring.
        await backup.backUpNow()?.value
        try expect(backup.state.message == UserMessage("Backup complete.", isError: false), "backup \(backup.state)")

        let fresh = Device(dir, "new")
        let refused = await fresh.restore(device.backupPath, recoveryKey: key)
        try expect(chooseUnlockMessage(refused) == .some(UserMessage.of(.wrongKey)), "revoked key: \(refused)")
        try expect(fresh.vault.stored == nil, "a refused key sealed a keyring")
        let older = await fresh.restore(before, recoveryKey: key)
        try expect(older == .restored(messages: 2, conversations: 1), "older backup: \(older)")
    }

    func testTheLastSlotANewPhoneCouldUseIsKeptAndNothingChanges() async throws {
        let device = Device(dir, "device")
        let backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        await backup.addRecoveryKey()?.value
        let sealed = try XCTUnwrap(device.vault.stored)
        await backup.removeSlot(try slot(.recoveryKey, of: backup.state))?.value
        try expect(backup.state.message == UserMessage.of(.lastSlot), "state \(backup.state)")
        try expect(device.vault.stored?.1 == sealed.1 && device.vault.stored?.2 == sealed.2 && backup.state.slots.count == 1,
                   "the keyring changed")
    }

    func testAPasswordSlotAWrongPasswordIsToldApartTheRightOneRestoresOnANewPhone() async throws {
        let dir = self.dir!
        let device = Device(dir, "device")
        await device.chat.newConversation(title: "Ana")
        _ = await device.chat.send("hello")
        let backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        await backup.addPassword("correct horse battery staple")?.value
        try expect(backup.state.slots.map(\.kind) == [.password], "state \(backup.state)")
        await backup.backUpNow()?.value
        let fresh = Device(dir, "new")
        let restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        await restore.pickFile(device.backupPath)?.value
        guard case .chooseUnlock(let info, _) = restore.state else { throw Expectation(description: "\(restore.state)") }
        try expect(info.canUsePassword && !info.canUseRecoveryKey && !info.canUsePasskey, "info \(info)")
        await restore.unlockWithPassword("Correct horse battery staple")?.value
        try expect(chooseUnlockMessage(restore.state) == .some(UserMessage.of(.wrongPassword)), "wrong password: \(restore.state)")
        await restore.unlockWithPassword("correct horse battery staple")?.value
        try expect(restore.state == .restored(messages: 1, conversations: 1), "state \(restore.state)")
        guard let sealed = try fresh.vault.load() else { throw Expectation(description: "restored keyring not sealed") }
        try expect(try await fresh.engine.slots(sealed).map(\.kind) == [.password], "slots")
    }

    func testRestoringAnOlderBackupOnTheSamePhoneKeepsItsNewerKeyringTheRevokedKeyStaysRevoked() async throws {
        let dir = self.dir!
        let device = Device(dir, "device")
        let key = try await device.backedUp()
        let before = dir.appendingPathComponent("before.keepsake").path
        try FileManager.default.copyItem(atPath: device.backupPath, toPath: before)
        let backup = await device.loadedBackup()
        await backup.removeSlot(try slot(.recoveryKey, of: backup.state))?.value
        let sealed = try XCTUnwrap(device.vault.stored)
        let state = await device.restore(before, recoveryKey: key)
        try expect(state == .restored(messages: 2, conversations: 1, keptDeviceKeyring: true), "state \(state)")
        try expect(device.vault.stored?.1 == sealed.1 && device.vault.stored?.2 == sealed.2, "the keyring went back")
        // The next backup still refuses the removed key.
        let again = await device.loadedBackup()
        try expect(again.state.slots.map(\.kind) == [.passkey], "slots \(again.state.slots)")
        await again.backUpNow()?.value
        let refused = await Device(dir, "new").restore(device.backupPath, recoveryKey: key)
        try expect(chooseUnlockMessage(refused) == .some(UserMessage.of(.wrongKey)), "state \(refused)")
    }

    func testARolledBackDeviceKeyringWritesNoBackupAndSaysWhy() async throws {
        let dir = self.dir!
        let device = Device(dir, "device")
        _ = try await device.backedUp()
        let old = try XCTUnwrap(device.vault.stored)
        let backup = await device.loadedBackup()
        await backup.removeSlot(try slot(.recoveryKey, of: backup.state))?.value
        let last = device.history.lastBackup
        let bytes = try Data(contentsOf: URL(fileURLWithPath: device.backupPath))
        // The keyring's bytes go back to before the removal; the sealed generation does not.
        device.vault.stored = (old.0, old.1, try XCTUnwrap(device.vault.stored).2)
        await backup.backUpNow()?.value
        try expect(backup.state.message == UserMessage.of(.keyringRolledBack), "state \(backup.state)")
        try expect(device.history.lastBackup == last, "a backup was recorded")
        try expect(try Data(contentsOf: URL(fileURLWithPath: device.backupPath)) == bytes, "a backup was written")
    }
}
