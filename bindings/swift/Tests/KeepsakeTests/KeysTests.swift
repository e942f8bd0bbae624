// Keys a user can revoke, from Swift against the generated bindings: the password slot, root-key
// rotation and revocation, rollback protection, the last slot, and a repository following the
// device keyring through an added and a removed slot (Repository.adoptKeyring).
import Foundation
import Keepsake
import XCTest

final class KeysTests: XCTestCase {
    let password = "correct horse battery staple"
    var work: URL!
    var dbPath: String!

    override func setUpWithError() throws {
        work = try tempDir("keepsake-swift-keys")
        dbPath = path("chat.db")
        try seedChats(dbPath)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// A backup of the test chats made with `keyring`, refused for a keyring below `knownGeneration`.
    @discardableResult
    func backup(_ keyring: Keyring, _ name: String, knownGeneration: Int64 = 0) throws -> String {
        let store = try ChatStore.open(path: dbPath)
        defer { try? store.closeDatabase() }
        _ = try backupToPath(
            store: store, keyring: keyring, path: path(name),
            options: BackupOptions(compressionLevel: 3, extraMetadata: [:], knownGeneration: knownGeneration))
        return path(name)
    }

    /// The error verifying `backupPath` with `secret` throws; nil when it opens.
    func verifyError(_ backupPath: String, _ secret: BackupSecret) -> Error? {
        do {
            _ = try verifyBackup(path: backupPath, secret: secret)
            return nil
        } catch {
            return error
        }
    }

    func isWrongKey(_ error: Error?) -> Bool {
        if case .WrongKey = error as? KeepsakeError { return true } else { return false }
    }

    func testAPasswordSlotRoundTripsAndAWrongPasswordIsWrongPassword() throws {
        let keyring = try Keyring.create()
        assertKeepsakeError(try keyring.addPassword(label: "short", password: "seven77")) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
        XCTAssertTrue(try keyring.slots().isEmpty, "a refused password left a slot")
        let slot = try keyring.addPassword(label: "Password", password: password)
        XCTAssertEqual(slot.kind, .password)
        XCTAssertEqual(slot.version, 3)
        XCTAssertEqual(try keyring.slots(), [slot])
        let file = try backup(keyring, "password.keepsake")
        XCTAssertNil(verifyError(file, BackupSecret.password(password: password)), "the password does not open it")
        let wrong = verifyError(file, BackupSecret.password(password: password + "!"))
        guard case .WrongPassword = wrong as? KeepsakeError else { return XCTFail("wrong password: \(String(describing: wrong))") }
        XCTAssertEqual(try inspectBackup(path: file).slots.map(\.kind), [.password])
    }

    func testARemovedPasswordIsWrongPasswordNeverAPasskeyMessage() async throws {
        let keyring = try Keyring.create()
        _ = try keyring.addRecoveryKey(label: "Paper")
        let slot = try await keyring.addPasswordSlot(label: "Password", password: password)
        let before = try backup(keyring, "password-before.keepsake")
        _ = try keyring.removeSlot(slotId: slot.id)
        let after = try backup(keyring, "password-after.keepsake")
        _ = try await verify(before, secret: BackupSecret.password(password: password)).result  // older backups still open
        do {
            _ = try await verify(after, secret: BackupSecret.password(password: password)).result
            XCTFail("a removed password opened a backup made after its removal")
        } catch let error as KeepsakeError {
            guard case .WrongPassword(let detail) = error else { return XCTFail("expected WrongPassword, got \(error)") }
            XCTAssertTrue(detail.hasPrefix("Wrong password"), detail)
            XCTAssertFalse(detail.contains("passkey"), detail)
        }
        do {
            _ = try await loadKeyring(fromBackup: after, secret: BackupSecret.password(password: password))
            XCTFail("a removed password rebuilt the keyring")
        } catch KeepsakeError.WrongPassword {
        }
    }

    func testRemovingARecoveryKeyRotatesItOpensOlderBackupsOnly() throws {
        let keyring = try Keyring.create()
        _ = try keyring.addPassword(label: "Password", password: password)
        let revoked = try keyring.addRecoveryKey(label: "old paper copy")
        let revokedKey = revoked.recoveryKey.reveal()
        let before = try backup(keyring, "before.keepsake")
        let generation = try keyring.generation()
        let oldRoot = try keyring.exportRootKey()
        let oldPublic = try keyring.publicBytes()

        let removed = try keyring.removeSlot(slotId: revoked.slot.id)
        XCTAssertEqual(removed.id, revoked.slot.id)
        XCTAssertEqual(try keyring.generation(), generation + 1)
        XCTAssertEqual(try keyring.slots().map(\.kind), [.password])
        XCTAssertNotEqual(try keyring.exportRootKey(), oldRoot, "removal did not rotate the root key")

        let after = try backup(keyring, "after.keepsake", knownGeneration: try keyring.generation())
        XCTAssertTrue(isWrongKey(verifyError(after, try BackupSecret.recoveryKey(text: revokedKey))), "the removed key opens a later backup")
        XCTAssertNil(verifyError(before, try BackupSecret.recoveryKey(text: revokedKey)), "the older backup no longer opens")
        XCTAssertNil(verifyError(after, BackupSecret.password(password: password)), "the remaining slot does not open")
        XCTAssertNil(verifyError(after, try BackupSecret.deviceKeyring(keyring: keyring)), "the rotated device keyring does not open")

        // The device keyring of before the rotation: WrongKey, saying which generation.
        let stale = try Keyring.restore(rootKey: oldRoot, publicBytes: oldPublic)
        let error = verifyError(after, try BackupSecret.deviceKeyring(keyring: stale))
        XCTAssertTrue(isWrongKey(error), "stale device keyring: \(String(describing: error))")
        XCTAssertTrue((error as? KeepsakeError)?.detail.contains("generation") == true, "detail: \(String(describing: error))")
    }

    func testARolledBackKeyringIsRefusedFromStoredBytesAndFromAnOldBackup() throws {
        let keyring = try Keyring.create()
        let recovery = try keyring.addRecoveryKey(label: "paper").recoveryKey.reveal()
        let oldRoot = try keyring.exportRootKey()
        let oldPublic = try keyring.publicBytes()
        let oldGeneration = try keyring.generation()
        let old = try backup(keyring, "old.keepsake")
        let known = try keyring.rotateRootKey()
        XCTAssertEqual(known, try keyring.generation())
        XCTAssertEqual(known, oldGeneration + 1)

        assertKeepsakeError(try Keyring.restoreChecked(rootKey: oldRoot, publicBytes: oldPublic, knownGeneration: known)) {
            if case .KeyringRolledBack = $0 { return true } else { return false }
        }
        // The old bytes still pass for what they are: the generation sealed with them.
        XCTAssertEqual(try Keyring.restoreChecked(rootKey: oldRoot, publicBytes: oldPublic, knownGeneration: oldGeneration).generation(),
                       oldGeneration)
        let again = try Keyring.restoreChecked(rootKey: try keyring.exportRootKey(), publicBytes: try keyring.publicBytes(),
                                               knownGeneration: known)
        XCTAssertEqual(try again.generation(), known)
        XCTAssertEqual(try again.id(), try keyring.id())
        assertKeepsakeError(try Keyring.restoreChecked(rootKey: try keyring.exportRootKey(), publicBytes: try keyring.publicBytes(),
                                                       knownGeneration: -1)) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }

        let fromOld = try keyringFromBackup(path: old, secret: try BackupSecret.recoveryKey(text: recovery))
        XCTAssertEqual(try fromOld.generation(), oldGeneration)
        assertKeepsakeError(try fromOld.checkNotRolledBack(knownGeneration: known)) {
            if case .KeyringRolledBack = $0 { return true } else { return false }
        }
        XCTAssertNoThrow(try fromOld.checkNotRolledBack(knownGeneration: oldGeneration))
        assertKeepsakeError(try backup(fromOld, "refused.keepsake", knownGeneration: known)) {
            if case .KeyringRolledBack = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("refused.keepsake")), "a refused backup left a file")
        // The current keyring passes the same check.
        XCTAssertNoThrow(try backup(keyring, "current.keepsake", knownGeneration: known))
    }

    func testTheLastSlotStaysUnlessForcedAndAKeyringWithoutSlotsWritesNoBackup() throws {
        let keyring = try Keyring.create()
        assertKeepsakeError(try backup(keyring, "empty.keepsake")) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("empty.keepsake")), "a refused backup left a file")
        let only = try keyring.addRecoveryKey(label: "only").slot
        let generation = try keyring.generation()
        assertKeepsakeError(try keyring.removeSlot(slotId: only.id)) {
            if case .LastSlot = $0 { return true } else { return false }
        }
        XCTAssertEqual(try keyring.slots(), [only])
        XCTAssertEqual(try keyring.generation(), generation, "a refused removal rotated")
        _ = try keyring.removeSlotForced(slotId: only.id)
        XCTAssertTrue(try keyring.slots().isEmpty, "slot not removed")
        assertKeepsakeError(try backup(keyring, "none.keepsake")) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
    }

    func testTheRepositoryFollowsTheDeviceKeyringThroughAnAddedAndARemovedSlot() throws {
        let store = memoryBlobStore()
        let chats = try ChatStore.open(path: dbPath)
        defer { try? chats.closeDatabase() }
        let original = try readBack(dbPath)
        let keyring = try Keyring.create()
        let old = try keyring.addRecoveryKey(label: "old paper copy")
        let oldKey = old.recoveryKey.reveal()
        let repo = try Repository.create(store: store, keyring: keyring)
        _ = try repo.backup(store: chats)
        let firstEpoch = try keyring.generation()

        // A slot added: the config takes it, and the new key opens the store from scratch.
        let newKey = try keyring.addRecoveryKey(label: "new paper copy").recoveryKey.reveal()
        XCTAssertEqual(try repo.adoptKeyring(keyring: keyring), .slotsUpdated)
        XCTAssertEqual(try repo.adoptKeyring(keyring: keyring), .unchanged)
        XCTAssertEqual(try keyring.generation(), firstEpoch, "adding a slot rotated")
        let fresh = try Repository.open(store: store, secret: try BackupSecret.recoveryKey(text: newKey))
        XCTAssertEqual(try fresh.snapshots().count, 1)
        _ = try fresh.restore(targetPath: path("repo-restored.db"))
        XCTAssertEqual(try readBack(path("repo-restored.db")), original)
        try fresh.closeRepository()

        // The old slot removed: a rotation, so a new key epoch.
        _ = try keyring.removeSlot(slotId: old.slot.id)
        XCTAssertEqual(try keyring.generation(), firstEpoch + 1)
        XCTAssertEqual(try repo.adoptKeyring(keyring: keyring), .rotated)
        XCTAssertEqual(try repo.adoptKeyring(keyring: keyring), .unchanged)
        _ = try repo.backup(store: chats)
        XCTAssertEqual(try repo.snapshots().count, 2)
        try repo.closeRepository()

        assertKeepsakeError(try Repository.open(store: store, secret: try BackupSecret.recoveryKey(text: oldKey))) {
            if case .WrongKey = $0 { return true } else { return false }
        }
        // The remaining key and the rotated device keyring open everything, old epoch included.
        for (index, secret) in [try BackupSecret.recoveryKey(text: newKey), try BackupSecret.deviceKeyring(keyring: keyring)].enumerated() {
            let reopened = try Repository.open(store: store, secret: secret)
            let snapshots = try reopened.snapshots()
            XCTAssertEqual(snapshots.count, 2)
            let target = path("repo-restored-\(index).db")
            _ = try reopened.restore(targetPath: target, snapshotId: snapshots.first?.id)
            XCTAssertEqual(try readBack(target), original)
        }
    }
}
