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
    /// The intact snapshots, oldest first, read (and authenticated) off the caller's executor.
    public func loadSnapshots() async throws -> [SnapshotInfo] {
        try await keepsakeBackground { _ in try self.snapshots() }
    }

    /// The intact snapshots and the damaged snapshot objects (with why), off the caller's
    /// executor: what a backup list shows, marking what was lost. A restore of the latest uses
    /// the newest intact one.
    public func loadHistory() async throws -> SnapshotHistory {
        try await keepsakeBackground { _ in try self.history() }
    }

    /// Backs `store` up as a new snapshot, uploading only the chunks the repository lacks, with
    /// progress. A failure, a cancel or a killed process leaves no snapshot; the next backup
    /// reuses what was uploaded. What the store lost or damaged is healed on the way:
    /// `RepoBackupReport.healing` says what (show it when `foundDamage`).
    public func backupOperation(_ store: ChatStore, options: BackupOptions? = nil) -> ProgressingOperation<RepoBackupReport> {
        keepsakeOperation { listener, flag in
            try self.backup(store: store, options: options, listener: listener, cancellation: flag)
        }
    }

    /// Restores snapshot `snapshotId` (the newest intact one when nil) into the database file `targetPath`,
    /// atomically, with progress. A target with data throws `TargetExists` unless `replace`; on
    /// failure or cancel nothing is left behind.
    public func restoreOperation(to targetPath: String, snapshotId: String? = nil, replace: Bool = false) -> ProgressingOperation<RestoreReport> {
        keepsakeOperation { listener, flag in
            try self.restore(targetPath: targetPath, snapshotId: snapshotId, replace: replace, listener: listener, cancellation: flag)
        }
    }

    /// Forgets the snapshots `policy` does not keep and reclaims their space, with progress.
    /// With `dryRun` it only reports what it would do.
    public func pruneOperation(_ policy: RetentionPolicy, dryRun: Bool = false) -> ProgressingOperation<PruneReport> {
        keepsakeOperation { listener, flag in
            try self.prune(policy: policy, dryRun: dryRun, listener: listener, cancellation: flag)
        }
    }

    /// Checks the repository's structure, whether every snapshot restores, and the bytes of
    /// `readDataFraction` (0 to 1) of its packs, with progress. Every problem is in the report
    /// with a `verdict` (healthy, healed, broken); only a failing store or a cancel throws.
    public func checkOperation(readDataFraction: Double = 0) -> ProgressingOperation<CheckReport> {
        keepsakeOperation { listener, flag in
            try self.check(readDataFraction: readDataFraction, listener: listener, cancellation: flag)
        }
    }

    /// Repairs what a check found, off the caller's executor: a dry run that reports what would
    /// change unless `apply`. Damaged snapshot objects and snapshots that can no longer be
    /// restored are removed (the next backup stores everything afresh), damaged indexes and
    /// packs replaced.
    public func repairRepository(apply: Bool = false) async throws -> RepairReport {
        try await keepsakeBackground { _ in try self.repair(apply: apply) }
    }

    /// Removes stale writer locks (and junk under `locks/`), off the caller's executor. A lock
    /// of a live writer throws `KeepsakeError.RepositoryLocked` naming it, unless `force`: only
    /// when the user knows that writer is gone.
    public func unlockRepository(force: Bool = false) async throws -> UnlockReport {
        try await keepsakeBackground { _ in try self.unlock(force: force) }
    }
}
