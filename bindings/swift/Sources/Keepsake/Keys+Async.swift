// The key calls that take long, as `async` functions off the caller's executor, like
// Keepsake+Async.swift's backups: a password is stretched with Argon2id (about a second and
// 64 MiB) whenever one is added or tried, and the generated calls block their thread.
import Foundation

extension Keyring {
    /// Adds a password slot (at least 8 characters) on a background thread: `addPassword`
    /// stretches it with Argon2id for about a second, which must not happen on the main actor.
    /// Seal the keyring's root key and generation again afterwards, as after any slot change.
    public func addPasswordSlot(label: String, password: String) async throws -> SlotInfo {
        try await keepsakeBackground { _ in try self.addPassword(label: label, password: password) }
    }
}

/// Authenticates and decodes the whole backup at `path` with `secret` without writing anything,
/// with progress. A password secret costs an Argon2id run per password slot first; a wrong one
/// throws `KeepsakeError.WrongPassword`.
public func verify(_ path: String, secret: BackupSecret) -> ProgressingOperation<VerifyReport> {
    keepsakeOperation { listener, flag in
        try verifyBackup(path: path, secret: secret, listener: listener, cancellation: flag)
    }
}

/// The keyring of the backup at `path`, rebuilt with `secret` on a background thread (a
/// password: Argon2id first). Check it with `checkNotRolledBack` before adopting it on a device
/// that had a keyring.
public func loadKeyring(fromBackup path: String, secret: BackupSecret) async throws -> Keyring {
    try await keepsakeBackground { _ in try keyringFromBackup(path: path, secret: secret) }
}
