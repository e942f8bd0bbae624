// What the repository snippets of docs/SWIFT.md take from the app besides DocWorld: its cloud
// SDK (`cloud`, the app's own iCloud Drive / CloudKit / server wrapper, faked over a dictionary),
// its Caches folder (`cachesPath`) and the device keyring it enabled backups with (a passkey
// enrolled through the world's `passkeys`, so a new phone can open the repository with it, and a
// recovery key), its Application Support folder and its media folder (`mediaFolder`, whose
// attachment rows are in the world's database). scripts/doc-snippets.sh puts them in every
// snippet's prelude.
import Foundation
import Keepsake

/// The app's cloud SDK, as a dictionary of files; only whole-file uploads, as most cloud APIs have.
final class CloudDrive: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: Data] = [:]

    private func withFiles<T>(_ body: (inout [String: Data]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&files)
    }

    func uploadAtomically(_ name: String, _ data: Data) throws { withFiles { $0[name] = data } }

    /// `range.1` bytes from `range.0` (an HTTP Range request), or the whole file; nil when missing.
    func download(_ name: String, _ range: (Int64, Int64)?) throws -> Data? {
        guard let data = withFiles({ $0[name] }) else { return nil }
        guard let range else { return data }
        let (offset, length) = range
        let start = Int(min(offset, Int64(data.count)))
        return data.subdata(in: start..<Int(min(Int64(start) + length, Int64(data.count))))
    }

    /// Uploads only when `name` is free (an `If-None-Match: *` upload); false when it was taken.
    func uploadIfAbsent(_ name: String, _ data: Data) throws -> Bool {
        withFiles { files in
            guard files[name] == nil else { return false }
            files[name] = data
            return true
        }
    }

    /// Every file under `prefix` with its size (a listing, all pages).
    func files(prefix: String) throws -> [(name: String, size: Int64)] {
        withFiles { $0.filter { $0.key.hasPrefix(prefix) }.map { (name: $0.key, size: Int64($0.value.count)) } }
    }

    func deleteIfExists(_ name: String) throws { _ = withFiles { $0.removeValue(forKey: name) } }

    func size(of name: String) throws -> Int64? { withFiles { $0[name].map { Int64($0.count) } } }
}

extension DocWorld {
    /// The app's Caches folder.
    var cachesPath: String { dir.appendingPathComponent("Caches").path }

    /// The app's Application Support folder.
    var applicationSupport: URL { dir.appendingPathComponent("Application Support") }

    /// The app's media folder, with the attachment rows in the world's database: a photo
    /// (attachment 1), a voice note (2), and a photo never downloaded to this phone (3).
    func mediaFolder() throws -> URL {
        let folder = dir.appendingPathComponent("Media")
        let store = try ChatStore.open(path: databasePath)
        defer { try? store.closeDatabase() }
        let files: [(String, String, Data?)] = [
            ("image/jpeg", "Photos/beach.jpg", Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })),
            ("audio/ogg", "Voice/note.ogg", Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 104_729) })),
            ("image/jpeg", "Photos/old.jpg", nil),
        ]
        for (i, (mime, path, bytes)) in files.enumerated() {
            let id = Int64(i + 1)
            try store.insertMessages(messages: [Message(id: 9_000 + id, conversationId: 1, sender: "alice", kind: .media, body: nil,
                                                        sentAt: 1_700_100_000_000 + id, delivery: .read)])
            try store.insertAttachments(attachments: [Attachment(id: id, messageId: 9_000 + id, mime: mime, localRef: path)])
            if let bytes {
                let url = folder.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try bytes.write(to: url)
            }
        }
        return folder
    }

    /// The device keyring of an app that enabled backups: a passkey and a recovery key.
    func enabledKeyring() async throws -> Keyring {
        let keyring = try Keyring.create()
        let enrollment = try PasskeyEnrollment(keyring: keyring, rpId: "chat.example.com", rpName: "Example Chat",
                                               userId: userHandle, userName: "ana", userDisplayName: "Ana", label: "iPhone")
        if case .needsAssertion = try enrollment.finishRegistrationTyped(registration: try await passkeys.register(enrollment)) {
            _ = try enrollment.finishAssertionTyped(assertion: try await passkeys.authenticate(enrollment))
        }
        _ = try keyring.addRecoveryKey(label: "Paper")
        return keyring
    }
}
