// The idiomatic Swift layer for the backup repository, written like Keepsake+Async.swift's layer
// for single-file backups: `async throws` functions and progressing operations over the
// generated `Repository` that run the blocking Rust calls (and the `BlobStore` calls they make)
// on a background thread, with task cancellation wired to Keepsake's `Cancellation`.
import Foundation

/// Creates a repository in the empty `store`, sealed by `keyring`'s key slots (any of its
/// passkeys or its recovery key opens it later from a new device), off the caller's executor.
/// `cacheDir` (app-private, e.g. the Caches directory) keeps the local cache that makes daily
/// backups cheap. A store that already holds a repository throws `KeepsakeError.InvalidArgument`.
public func createRepository(store: BlobStore, keyring: Keyring, cacheDir: String? = nil) async throws -> Repository {
    try await keepsakeBackground { _ in try Repository.create(store: store, keyring: keyring, cacheDir: cacheDir) }
}

/// Opens the repository in `store` with `secret` (a passkey from `PasskeyUnlock.forRepository`,
/// the recovery key, or the device keyring), off the caller's executor. `WrongKey` when the
/// secret opens no slot, `ObjectMissing` when the store holds no repository, `Storage` when it
/// failed.
public func openRepository(store: BlobStore, secret: BackupSecret, cacheDir: String? = nil) async throws -> Repository {
    try await keepsakeBackground { _ in try Repository.open(store: store, secret: secret, cacheDir: cacheDir) }
}

extension Repository {
    /// The snapshots, oldest first, read (and authenticated) off the caller's executor.
    public func loadSnapshots() async throws -> [SnapshotInfo] {
        try await keepsakeBackground { _ in try self.snapshots() }
    }

    /// Backs `store` up as a new snapshot, uploading only the chunks the repository lacks, with
    /// progress. A failure, a cancel or a killed process leaves no snapshot; the next backup
    /// reuses what was uploaded.
    public func backupOperation(_ store: ChatStore, options: BackupOptions? = nil) -> ProgressingOperation<RepoBackupReport> {
        keepsakeOperation { listener, flag in
            try self.backup(store: store, options: options, listener: listener, cancellation: flag)
        }
    }

    /// Restores snapshot `snapshotId` (the latest when nil) into the database file `targetPath`,
    /// atomically, with progress. A target with data throws `TargetExists` unless `replace`; on
    /// failure or cancel nothing is left behind.
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

    /// Checks the repository's structure and downloads and authenticates `readDataFraction`
    /// (0 to 1) of its packs, with progress. The first problem is thrown typed.
    public func checkOperation(readDataFraction: Double = 0) -> ProgressingOperation<CheckReport> {
        keepsakeOperation { listener, flag in
            try self.check(readDataFraction: readDataFraction, listener: listener, cancellation: flag)
        }
    }
}
