// What the repository snippets of docs/SWIFT.md take from the app besides DocWorld: its cloud
// SDK (`cloud`, the app's own iCloud Drive / CloudKit / server wrapper, faked over a dictionary),
// its Caches folder (`cachesPath`) and the device keyring it enabled backups with (a passkey
// enrolled through the world's `passkeys`, so a new phone can open the repository with it, and a
// recovery key). scripts/doc-snippets.sh puts them in every snippet's prelude.
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

    func names(prefix: String) throws -> [String] { withFiles { $0.keys.filter { $0.hasPrefix(prefix) } } }

    func deleteIfExists(_ name: String) throws { _ = withFiles { $0.removeValue(forKey: name) } }

    func size(of name: String) throws -> Int64? { withFiles { $0[name].map { Int64($0.count) } } }
}

extension DocWorld {
    /// The app's Caches folder.
    var cachesPath: String { dir.appendingPathComponent("Caches").path }

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
