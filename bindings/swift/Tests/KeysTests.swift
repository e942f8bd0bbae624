// Keys a user can revoke, from Swift: password slot, rotation, revocation, rollback, last slot.
// Compiled into the test executable by scripts/test-bindings.sh; `JourneyTests.main` runs it.
import Foundation

enum KeysTests {
    static func run(_ run: TestRun) async {
        let work = FileManager.default.temporaryDirectory
            .appendingPathComponent("keepsake-swift-keys-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        func path(_ name: String) -> String { work.appendingPathComponent(name).path }
        let dbPath = path("chat.db")
        let password = "correct horse battery staple"

        func expectError(_ body: () throws -> Void, _ matches: (KeepsakeError) -> Bool) throws {
            do {
                try body()
            } catch let error as KeepsakeError {
                try check(matches(error), "unexpected error \(error)")
                return
            }
            throw CheckFailed(description: "no error thrown")
        }

        func backup(_ keyring: Keyring, _ name: String, knownGeneration: UInt64 = 0) throws -> String {
            let store = try ChatStore.open(path: dbPath)
            _ = try backupToPath(
                store: store, keyring: keyring, path: path(name),
                options: BackupOptions(compressionLevel: 3, extraMetadata: [:], knownGeneration: knownGeneration),
                listener: nil, cancellation: nil)
            return path(name)
        }

        func opens(_ backupPath: String, _ secret: BackupSecret) -> Bool {
            (try? verifyBackup(path: backupPath, secret: secret)) != nil
        }

        await run.test("keys: a chat store to back up") {
            let store = try ChatStore.open(path: dbPath)
            try store.upsertConversation(conversation: Conversation(
                id: 1, kind: .direct, createdAt: 1_700_000_000_000))
        }

        await run.test("keys: a password slot round-trips and a wrong password is WrongPassword") {
            let keyring = try Keyring.create()
            try expectError({ _ = try keyring.addPassword(label: "short", password: "seven77") }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
            let slot = try keyring.addPassword(label: "Password", password: password)
            try check(slot.kind == .password && slot.version == 2, "slot \(slot)")
            let file = try backup(keyring, "password.keepsake")
            try check(opens(file, BackupSecret.password(password: password)), "the password does not open it")
            try expectError({ _ = try verifyBackup(path: file, secret: BackupSecret.password(password: password + "!")) }) {
                if case .WrongPassword = $0 { return true } else { return false }
            }
        }

        await run.test("keys: removing a recovery key rotates; it opens older backups only") {
            let keyring = try Keyring.create()
            _ = try keyring.addPassword(label: "Password", password: password)
            let revoked = try keyring.addRecoveryKey(label: "old paper copy")
            let before = try backup(keyring, "before.keepsake")
            let generation = try keyring.generation()
            _ = try keyring.removeSlot(slotId: revoked.slot.id)
            try check(try keyring.generation() == generation + 1, "generation")
            let after = try backup(keyring, "after.keepsake", knownGeneration: try keyring.generation())
            try expectError({ _ = try verifyBackup(path: after, secret: BackupSecret.recoveryKey(text: revoked.recoveryKey)) }) {
                if case .WrongKey = $0 { return true } else { return false }
            }
            try check(opens(before, try BackupSecret.recoveryKey(text: revoked.recoveryKey)), "old backup no longer opens")
            try check(opens(after, BackupSecret.password(password: password)), "the remaining slot does not open")
        }

        await run.test("keys: a rolled-back keyring is refused") {
            let keyring = try Keyring.create()
            let recovery = try keyring.addRecoveryKey(label: "paper").recoveryKey
            let oldRoot = try keyring.exportRootKey()
            let oldPublic = try keyring.publicBytes()
            let old = try backup(keyring, "old.keepsake")
            let known = try keyring.rotateRootKey()
            try expectError({ _ = try Keyring.restoreChecked(rootKey: oldRoot, publicBytes: oldPublic, knownGeneration: known) }) {
                if case .KeyringRolledBack = $0 { return true } else { return false }
            }
            let fromOld = try keyringFromBackup(path: old, secret: BackupSecret.recoveryKey(text: recovery))
            try expectError({ try fromOld.checkNotRolledBack(knownGeneration: known) }) {
                if case .KeyringRolledBack = $0 { return true } else { return false }
            }
            try expectError({ _ = try backup(fromOld, "refused.keepsake", knownGeneration: known) }) {
                if case .KeyringRolledBack = $0 { return true } else { return false }
            }
        }

        await run.test("keys: the last slot stays unless forced; no slot, no backup") {
            let keyring = try Keyring.create()
            try expectError({ _ = try backup(keyring, "empty.keepsake") }) {
                if case .InvalidArgument = $0 { return true } else { return false }
            }
            let only = try keyring.addRecoveryKey(label: "only").slot
            try expectError({ _ = try keyring.removeSlot(slotId: only.id) }) {
                if case .LastSlot = $0 { return true } else { return false }
            }
            _ = try keyring.removeSlotForced(slotId: only.id)
            try check(try keyring.slots().isEmpty, "slot not removed")
        }
    }
}
