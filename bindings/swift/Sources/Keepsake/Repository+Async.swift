// The idiomatic Swift layer for the backup repository: `async throws` functions and progressing
// operations over the generated `Repository`, off the caller's executor, with task cancellation
// wired to Keepsake's `Cancellation` (see Keepsake+Async.swift).
import Foundation

/// Creates a repository in the empty `store`, sealed by `keyring`'s key slots.
public func createRepository(store: BlobStore, keyring: Keyring, cacheDir: String? = nil) async throws -> Repository {
    try await keepsakeBackground { _ in try Repository.create(store: store, keyring: keyring, cacheDir: cacheDir) }
}

/// Opens the repository in `store` with `secret` (a passkey, the recovery key or the device keyring).
public func openRepository(store: BlobStore, secret: BackupSecret, cacheDir: String? = nil) async throws -> Repository {
    try await keepsakeBackground { _ in try Repository.open(store: store, secret: secret, cacheDir: cacheDir) }
}

extension Repository {
    /// The snapshots, oldest first.
    public func loadSnapshots() async throws -> [SnapshotInfo] {
        try await keepsakeBackground { _ in try self.snapshots() }
    }

    /// Backs `store` up as a new snapshot (only new chunks are uploaded), with progress.
    public func backupOperation(_ store: ChatStore, options: BackupOptions? = nil) -> ProgressingOperation<RepoBackupReport> {
        keepsakeOperation { listener, flag in
            try self.backup(store: store, options: options, listener: listener, cancellation: flag)
        }
    }

    /// Restores snapshot `snapshotId` (the latest when nil) into `targetPath`, with progress.
    public func restoreOperation(to targetPath: String, snapshotId: String? = nil, replace: Bool = false) -> ProgressingOperation<RestoreReport> {
        keepsakeOperation { listener, flag in
            try self.restore(targetPath: targetPath, snapshotId: snapshotId, replace: replace, listener: listener, cancellation: flag)
        }
    }

    /// Forgets the snapshots `policy` does not keep and reclaims their space, with progress.
    public func pruneOperation(_ policy: RetentionPolicy) -> ProgressingOperation<PruneReport> {
        keepsakeOperation { listener, flag in
            try self.prune(policy: policy, listener: listener, cancellation: flag)
        }
    }

    /// Checks the repository, authenticating `readDataFraction` of its data, with progress.
    public func checkOperation(readDataFraction: Double = 0) -> ProgressingOperation<CheckReport> {
        keepsakeOperation { listener, flag in
            try self.check(readDataFraction: readDataFraction, listener: listener, cancellation: flag)
        }
    }
}
