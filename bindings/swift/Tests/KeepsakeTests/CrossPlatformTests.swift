// The cross-platform restore (Android to iPhone and back), Swift side. Import: restores the backup
// the Kotlin tests exported (CrossPlatformExportTest.kt) with the synced passkey (the Kotlin
// side's saved software authenticator, answering through the typed path ASAuthorization uses)
// and with the recovery key, comparing every conversation, participant and message with the
// database it was made from. Export: makes a backup here for CrossPlatformImportTest.kt.
//
// Folders: $KEEPSAKE_EXCHANGE/kotlin (read) and $KEEPSAKE_EXCHANGE/swift (written), set by
// scripts/test-bindings.sh; without it the import is skipped (and says so) and the export goes
// to a temporary folder.
import Foundation
import Keepsake
import XCTest

final class CrossPlatformTests: XCTestCase {
    private var exchange: URL? {
        ProcessInfo.processInfo.environment["KEEPSAKE_EXCHANGE"].map { URL(fileURLWithPath: $0) }
    }

    private func kotlinExport() throws -> URL {
        guard let exchange else { throw XCTSkip("KEEPSAKE_EXCHANGE is not set: no Kotlin export to restore") }
        return exchange.appendingPathComponent("kotlin")
    }

    func testAKotlinBackupRestoresHereWithTheSyncedPasskey() async throws {
        let from = try kotlinExport()
        let backupPath = from.appendingPathComponent("chats.keepsake").path
        let passkey = try SoftAuthenticator.load(path: from.appendingPathComponent("authenticator.json").path)
        let unlock = try PasskeyUnlock.forBackupFile(path: backupPath, rpId: rp, discoverable: true)
        let secret = try unlock.finishTyped(assertion: try passkey.getTyped(unlock: unlock))
        let target = try tempDir("keepsake-from-kotlin").appendingPathComponent("passkey.db").path
        let report = try await restore(from: backupPath, secret: secret, to: target) { _ in }
        let original = from.appendingPathComponent("original.db").path
        XCTAssertEqual(report.counts, try ChatStore.open(path: original).counts())
        XCTAssertEqual(try readBack(target), try readBack(original))
    }

    func testAKotlinBackupRestoresHereWithTheRecoveryKey() async throws {
        let from = try kotlinExport()
        let backupPath = from.appendingPathComponent("chats.keepsake").path
        let key = try String(contentsOf: from.appendingPathComponent("recovery-key.txt"), encoding: .utf8)
        let secret = try BackupSecret.recoveryKey(text: key.trimmingCharacters(in: .whitespacesAndNewlines))
        let target = try tempDir("keepsake-from-kotlin").appendingPathComponent("recovery.db").path
        let report = try await restore(from: backupPath, secret: secret, to: target).result
        let original = from.appendingPathComponent("original.db").path
        XCTAssertEqual(report.counts, try ChatStore.open(path: original).counts())
        XCTAssertEqual(try readBack(target), try readBack(original))
    }

    func testExportABackupWithItsPasskeyAndRecoveryKeyForKotlin() async throws {
        let dir = try (exchange ?? tempDir("keepsake-exchange")).appendingPathComponent("swift")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let original = dir.appendingPathComponent("original.db").path
        let counts = try seedChats(original)
        let keyring = try Keyring.create()
        let authenticator = SoftAuthenticator(mode: .prfEnabledWithoutResults)
        let enrollment = try PasskeyEnrollment(
            keyring: keyring, rpId: rp, rpName: "Keepsake Chat", userId: Data([9, 9]), userName: "alice",
            userDisplayName: "Alice", label: "iPhone passkey")
        switch try enrollment.finishRegistrationTyped(registration: try authenticator.createTyped(enrollment: enrollment)) {
        case .enrolled: break
        case .needsAssertion:
            _ = try enrollment.finishAssertionTyped(assertion: try authenticator.getTypedForEnrollment(enrollment: enrollment))
        }
        let recovery = try keyring.addRecoveryKey(label: "Paper").recoveryKey.reveal()
        try recovery.write(to: dir.appendingPathComponent("recovery-key.txt"), atomically: true, encoding: .utf8)
        let backupPath = dir.appendingPathComponent("chats.keepsake").path
        let report = try await backup(try ChatStore.open(path: original), keyring: keyring, to: backupPath).result
        XCTAssertEqual(report.counts, counts)
        try authenticator.save(path: dir.appendingPathComponent("authenticator.json").path)
        // The saved passkey opens the backup here too, so a failure on the other side is theirs.
        let loaded = try SoftAuthenticator.load(path: dir.appendingPathComponent("authenticator.json").path)
        let unlock = try PasskeyUnlock.forBackupFile(path: backupPath, rpId: rp, discoverable: true)
        let secret = try unlock.finishTyped(assertion: try loaded.getTyped(unlock: unlock))
        let check = try tempDir("keepsake-export-check").appendingPathComponent("check.db").path
        _ = try await restore(from: backupPath, secret: secret, to: check).result
        XCTAssertEqual(try readBack(check), try readBack(original))
    }
}
