// The device copy of the keyring in the Keychain: one generic-password item holding the root key
// and the public keyring, never synced or restored to another device. Readable after the first
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
    private static let version: UInt8 = 1
    private static let rootKeyLength = 32

    private var query: [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: account]
    }

    func save(_ secrets: KeyringSecrets) throws {
        var root = secrets.rootKey()
        var blob = Data([Self.version])
        blob.append(contentsOf: root)
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
        guard blob.count > 1 + Self.rootKeyLength, blob.first == Self.version else { throw KeychainError(status: errSecDecode) }
        let root = [UInt8](blob[blob.startIndex + 1 ..< blob.startIndex + 1 + Self.rootKeyLength])
        let publicKeyring = Data(blob[(blob.startIndex + 1 + Self.rootKeyLength)...])
        return KeyringSecrets(rootKey: root, publicKeyring: publicKeyring)
    }

    func clear() throws {
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw KeychainError(status: status) }
    }
}
#endif
