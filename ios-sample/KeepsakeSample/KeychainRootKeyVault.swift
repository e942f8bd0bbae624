// The device copy of the keyring in the Keychain: one generic-password item holding the root key,
// its generation and the public keyring, never synced or restored to another device. The
// generation is what Keyring.restoreChecked and BackupOptions.knownGeneration compare against;
// after a slot removal (a rotation) the whole item is replaced. Readable after the first
// unlock since boot (kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly): the daily backup runs as a
// BGProcessingTask, typically at night while the device is locked and charging.
#if canImport(Security)
import Foundation
import KeepsakeFlow
import Security

final class KeychainRootKeyVault: RootKeyVault {
    struct KeychainError: Error, CustomStringConvertible {
        let status: OSStatus
        var description: String { "Keychain error \(status)" }
    }

    private let service = "app.keepsake.sample.keyring"
    private let account = "device-keyring"
    /// Version 2: version, root key (32 bytes), generation (8 bytes, big-endian), public keyring.
    /// Version 1 (no generation) items read as generation 0 and are rewritten at the next save.
    private static let version: UInt8 = 2
    private static let rootKeyLength = 32
    private static let generationLength = 8

    private var query: [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: account]
    }

    func save(_ secrets: KeyringSecrets) throws {
        var root = secrets.rootKey()
        var blob = Data([Self.version])
        blob.append(contentsOf: root)
        withUnsafeBytes(of: secrets.generation.bigEndian) { blob.append(contentsOf: $0) }
        blob.append(secrets.publicKeyring)
        defer {
            for index in root.indices { root[index] = 0 }
            blob.resetBytes(in: 0..<blob.count)
        }
        let update: [String: Any] = [kSecValueData as String: blob,
                                     kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly]
        var status = SecItemUpdate(query as CFDictionary, update as CFDictionary)
        if status == errSecItemNotFound {
            status = SecItemAdd(query.merging(update) { $1 } as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw KeychainError(status: status) }
    }

    func load() throws -> KeyringSecrets? {
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query.merging([kSecReturnData as String: true,
                                                        kSecMatchLimit as String: kSecMatchLimitOne]) { $1 } as CFDictionary,
                                         &result)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, var blob = result as? Data else { throw KeychainError(status: status) }
        defer { blob.resetBytes(in: 0..<blob.count) }
        guard let version = blob.first, version == 1 || version == Self.version else { throw KeychainError(status: errSecDecode) }
        let generationLength = version == 1 ? 0 : Self.generationLength
        let rootStart = blob.startIndex + 1
        let publicStart = rootStart + Self.rootKeyLength + generationLength
        guard blob.count > 1 + Self.rootKeyLength + generationLength else { throw KeychainError(status: errSecDecode) }
        let root = [UInt8](blob[rootStart ..< rootStart + Self.rootKeyLength])
        let generation = blob[rootStart + Self.rootKeyLength ..< publicStart].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let publicKeyring = Data(blob[publicStart...])
        return KeyringSecrets(rootKey: root, publicKeyring: publicKeyring, generation: generation)
    }

    func clear() throws {
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw KeychainError(status: status) }
    }
}
#endif
