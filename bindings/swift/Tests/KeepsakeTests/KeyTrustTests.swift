// What a device may trust, from Swift against the generated bindings (issue 18): a backup the
// cloud store forged from public bytes fails with the typed error; a backup with version 2 slots
// opens but its keyring is never adopted; a re-key renews the passkey and moves a repository; a
// password typed with decomposed accents opens the slot made from composed ones.
import Foundation
import Keepsake
import XCTest

final class KeyTrustTests: XCTestCase {
    /// The recovery key of the vector keyring (core/tests/vectors/container/README.md).
    let vectorRecoveryKey =
        "R30W-5GY4-RQ3C-FJ69-SB5W-SKEE-SZ8D-3MPK-TKAX-DNYR-V7DD-QQ6X-VVFH-30H3-852M-24FK"
    let rp = "chat.example.com"
    var work: URL!
    var dbPath: String!

    override func setUpWithError() throws {
        work = try tempDir("keepsake-swift-trust")
        dbPath = work.appendingPathComponent("chat.db").path
        try seedChats(dbPath)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    /// A vector file scripts/test-bindings.sh copied into the exchange folder.
    func vector(_ name: String) throws -> String {
        guard let dir = ProcessInfo.processInfo.environment["KEEPSAKE_EXCHANGE"] else {
            throw XCTSkip("KEEPSAKE_EXCHANGE is not set")
        }
        return URL(fileURLWithPath: dir).appendingPathComponent("vectors").appendingPathComponent(name).path
    }

    func testABackupTheStoreForgedFromItsPublicHeaderFailsAsCorrupted() throws {
        let secret = try BackupSecret.recoveryKey(text: vectorRecoveryKey)
        _ = try keyringFromBackup(path: try vector("genuine.keepsake"), secret: secret)
        let error = assertKeepsakeError(try keyringFromBackup(path: try vector("forged.keepsake"), secret: secret)) {
            if case .Corrupted = $0 { return true } else { return false }
        }
        XCTAssertTrue("\(String(describing: error))".contains("root-key seal"), "\(String(describing: error))")
    }

    func testABackupWithVersion2SlotsOpensButItsKeyringIsNeverAdopted() throws {
        let secret = try BackupSecret.recoveryKey(text: vectorRecoveryKey)
        assertKeepsakeError(try keyringFromBackup(path: try vector("slot-v2.keepsake"), secret: secret)) {
            if case .UnauthenticatedKeyring = $0 { return true } else { return false }
        }
    }

    func testAPasswordOpensWhateverWayItsAccentsWereTyped() throws {
        let composed = "cr\u{e8}me br\u{fb}l\u{e9}e au caf\u{e9}"
        let decomposed = "cre\u{300}me bru\u{302}le\u{301}e au cafe\u{301}"
        // Swift's String compares by canonical equivalence: the bytes are what differ.
        XCTAssertNotEqual(Array(composed.utf8), Array(decomposed.utf8))
        let keyring = try Keyring.create()
        _ = try keyring.addPassword(label: "Password", password: composed)
        let path = work.appendingPathComponent("accents.keepsake").path
        let store = try ChatStore.open(path: dbPath)
        _ = try backupToPath(store: store, keyring: keyring, path: path, options: nil)
        try store.closeDatabase()
        _ = try verifyBackup(path: path, secret: BackupSecret.password(password: decomposed))
        assertKeepsakeError(try keyring.addPassword(label: "weak", password: "Password1234")) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
    }

    func testAReKeyRenewsThePasskeyAndMovesTheRepository() throws {
        let phone = SoftAuthenticator(mode: .prfAtRegistration)
        let old = try Keyring.create()
        let enrollment = try PasskeyEnrollment(
            keyring: old, rpId: rp, rpName: "Keepsake Chat", userId: Data([1]), userName: "ana",
            userDisplayName: "Ana", label: "iPhone passkey")
        guard case .enrolled = try enrollment.finishRegistrationTyped(
            registration: try phone.createTyped(enrollment: enrollment))
        else { return XCTFail("not enrolled at registration") }
        let leaked = try old.addRecoveryKey(label: "leaked").recoveryKey.reveal()
        let store = memoryBlobStore()
        let repository = try Repository.create(store: store, keyring: old, cacheDir: nil)
        let chats = try ChatStore.open(path: dbPath)
        _ = try repository.backup(store: chats, options: nil, listener: nil, cancellation: nil)

        let new = try old.rekey()
        XCTAssertEqual(try new.generation(), try old.generation() + 1)
        XCTAssertEqual(try new.rekeyedFrom(), try old.id())
        let renewal = try PasskeyUnlock.forRenewal(oldKeyring: old, newKeyring: new, rpId: rp)
        let slot = try renewal.renewTyped(newKeyring: new, assertion: try phone.getTyped(unlock: renewal))
        XCTAssertEqual(slot.label, "iPhone passkey")
        let recovery = try new.addRecoveryKey(label: "new paper").recoveryKey.reveal()
        XCTAssertEqual(try repository.adoptKeyring(keyring: new), .rotated)
        _ = try repository.backup(store: chats, options: nil, listener: nil, cancellation: nil)
        try chats.closeDatabase()

        _ = try Repository.open(store: store, secret: try BackupSecret.recoveryKey(text: recovery), cacheDir: nil)
        assertKeepsakeError(try Repository.open(store: store, secret: try BackupSecret.recoveryKey(text: leaked), cacheDir: nil)) {
            if case .WrongKey = $0 { return true } else { return false }
        }
        let unlock = try PasskeyUnlock.forRepository(store: store, rpId: rp, discoverable: false)
        _ = try Repository.open(store: store, secret: try unlock.finishTyped(assertion: try phone.getTyped(unlock: unlock)), cacheDir: nil)
    }
}
