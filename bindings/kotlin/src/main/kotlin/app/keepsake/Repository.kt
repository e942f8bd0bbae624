// The idiomatic Kotlin layer for the backup repository (package app.keepsake), written like
// Keepsake.kt's layer for single-file backups: suspend functions and Flows over the generated
// Repository that run the blocking Rust calls (and the BlobStore calls they make) on
// Dispatchers.IO, with coroutine cancellation wired to Keepsake's Cancellation.
package app.keepsake

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow

/**
 * Creates a repository in the empty [store], sealed by [keyring]'s key slots (any of its
 * passkeys or its recovery key opens it later from a new device), on [Dispatchers.IO].
 * [cacheDir] (app-private, e.g. `context.cacheDir`) keeps the local cache that makes daily
 * backups cheap. A store that already holds a repository is `KeepsakeException.InvalidArgument`.
 */
suspend fun createRepository(store: BlobStore, keyring: Keyring, cacheDir: String? = null): Repository =
    keepsakeIo { Repository.create(store, keyring, cacheDir) }

/**
 * Opens the repository in [store] with [secret] (a passkey from `PasskeyUnlock.forRepository`,
 * the recovery key, or the device keyring), on [Dispatchers.IO]. `WrongKey` when the secret
 * opens no slot, `ObjectMissing` when the store holds no repository, `Storage` when it failed.
 */
suspend fun openRepository(store: BlobStore, secret: BackupSecret, cacheDir: String? = null): Repository =
    keepsakeIo { Repository.open(store, secret, cacheDir) }

/** The intact snapshots, oldest first, read (and authenticated) on [Dispatchers.IO]. */
suspend fun Repository.loadSnapshots(): List<SnapshotInfo> = keepsakeIo { this.snapshots() }

/**
 * The intact snapshots and the damaged snapshot objects (with why), on [Dispatchers.IO]: what a
 * backup list shows, marking what was lost. A restore of the latest uses the newest intact one.
 */
suspend fun Repository.loadHistory(): SnapshotHistory = keepsakeIo { this.history() }

/**
 * Backs [store] up as a new snapshot, uploading only the chunks the repository lacks; progress
 * and result as a [Flow] (see [operationFlow]). A failure, a cancel or a killed process leaves
 * no snapshot; the next backup reuses what was uploaded. What the store lost or damaged is
 * healed on the way: `RepoBackupReport.healing` says what (show it when `foundDamage`).
 */
fun Repository.backupFlow(store: ChatStore, options: BackupOptions? = null): Flow<OperationEvent<RepoBackupReport>> =
    operationFlow { listener, flag -> this.backup(store, options, listener, flag) }

/**
 * Restores snapshot [snapshotId] (the newest intact one when null) into the database file [targetPath],
 * atomically; progress and result as a [Flow]. A target with data is `TargetExists` unless
 * [replace]; on failure or cancel nothing is left behind.
 */
fun Repository.restoreFlow(targetPath: String, snapshotId: String? = null, replace: Boolean = false): Flow<OperationEvent<RestoreReport>> =
    operationFlow { listener, flag -> this.restore(targetPath, snapshotId, replace, listener, flag) }

/**
 * Forgets the snapshots [policy] does not keep and reclaims their space; progress and result as
 * a [Flow]. With [dryRun] it only reports what it would do.
 */
fun Repository.pruneFlow(policy: RetentionPolicy, dryRun: Boolean = false): Flow<OperationEvent<PruneReport>> =
    operationFlow { listener, flag -> this.prune(policy, dryRun, listener, flag) }

/**
 * Checks the repository's structure, whether every snapshot restores, and the bytes of
 * [readDataFraction] (0 to 1) of its packs; progress and result as a [Flow]. Every problem is in
 * the report with a `verdict` (healthy, healed, broken); only a failing store or a cancel throws.
 */
fun Repository.checkFlow(readDataFraction: Double = 0.0): Flow<OperationEvent<CheckReport>> =
    operationFlow { listener, flag -> this.check(readDataFraction, listener, flag) }

/**
 * Repairs what a check found, on [Dispatchers.IO]: a dry run that reports what would change
 * unless [apply]. Damaged snapshot objects and snapshots that can no longer be restored are
 * removed (the next backup stores everything afresh), damaged indexes and packs replaced.
 */
suspend fun Repository.repairRepository(apply: Boolean = false): RepairReport = keepsakeIo { this.repair(apply) }

/**
 * Removes stale writer locks (and junk under `locks/`), on [Dispatchers.IO]. A lock of a live
 * writer is `KeepsakeException.RepositoryLocked` naming it, unless [force]: only when the user
 * knows that writer is gone.
 */
suspend fun Repository.unlockRepository(force: Boolean = false): UnlockReport = keepsakeIo { this.unlock(force) }

/**
 * Releases a built-in store (`directoryBlobStore`, `memoryBlobStore`) now: they are Rust objects
 * behind the [BlobStore] interface, which has no `close()` of its own. Does nothing for a store
 * the app implements. A repository still using the store keeps it alive.
 */
fun BlobStore.close() = (this as? AutoCloseable)?.close() ?: Unit
