// What the Swift snippets of README.md and docs/SWIFT.md take from the app and the platform,
// faked so the snippets compile and run unchanged: scripts/test-bindings.sh extracts every
// ```swift block into DocSnippetTests (build output), each running with a fresh DocWorld.
// `passkeys` stands for the app's ASAuthorization wrapper, answered by the software
// authenticator in the mode many providers show (PRF output only at assertion), so a snippet that
// ignores the enrollment outcome enrolls nothing and fails here.
import Foundation
import Keepsake
import XCTest

/// The app's passkey ceremonies, returning Keepsake's typed values.
final class DocPasskeys: @unchecked Sendable {
    private let authenticator = SoftAuthenticator(mode: .prfEnabledWithoutResults)

    /// Registration with `enrollment.registrationRequest()`.
    func register(_ enrollment: PasskeyEnrollment) async throws -> PasskeyRegistration {
        try authenticator.createTyped(enrollment: enrollment)
    }

    /// The follow-up assertion of an enrollment that answered `.needsAssertion`.
    func authenticate(_ enrollment: PasskeyEnrollment) async throws -> PasskeyAssertion {
        try authenticator.getTypedForEnrollment(enrollment: enrollment)
    }

    /// The assertion for `unlock.request()`.
    func authenticate(_ unlock: PasskeyUnlock) async throws -> PasskeyAssertion {
        try authenticator.getTyped(unlock: unlock)
    }
}

/// The app around a snippet: a chat database with messages, storage, a progress UI.
final class DocWorld: @unchecked Sendable {
    let dir: URL
    let userHandle = Data([1, 2, 3, 4])
    let passkeys = DocPasskeys()
    /// This phone's chat database, with messages.
    let databasePath: String
    /// The new phone's database path (nothing there yet).
    let newPhoneDatabasePath: String
    let backupPath: String
    private let lock = NSLock()
    private var sealed: Data?
    private var sealedGeneration: Int64?
    private var stored: Data?
    private var progress: [(Int64, Int64)] = []

    init() throws {
        dir = try tempDir("keepsake-docs")
        databasePath = dir.appendingPathComponent("chats.db").path
        newPhoneDatabasePath = dir.appendingPathComponent("new-phone.db").path
        backupPath = dir.appendingPathComponent("chats.keepsake").path
        try seedChats(databasePath)
    }

    /// Seals the root key with its generation (one Keychain item), replacing the old.
    func seal(_ rootKey: Data, _ generation: Int64) { lock.lock(); sealed = rootKey; sealedGeneration = generation; lock.unlock() }
    func save(_ publicBytes: Data) { lock.lock(); stored = publicBytes; lock.unlock() }
    func show(_ done: Int64, _ total: Int64) { lock.lock(); progress.append((done, total)); lock.unlock() }

    /// After a snippet: what it restored matches what it backed up; progress never went back.
    func finish() throws {
        if FileManager.default.fileExists(atPath: newPhoneDatabasePath) {
            XCTAssertEqual(try readBack(newPhoneDatabasePath), try readBack(databasePath), "the new phone's database differs")
        }
        lock.lock(); defer { lock.unlock() }
        for (a, b) in zip(progress, progress.dropFirst()) { XCTAssertGreaterThanOrEqual(b.0, a.0, "progress went back") }
        try? FileManager.default.removeItem(at: dir)
    }
}
