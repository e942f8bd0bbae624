// The idiomatic Kotlin layer for the backup repository (package app.keepsake): suspend functions
// and Flows over the generated Repository, on Dispatchers.IO, with coroutine cancellation wired
// to Keepsake's Cancellation (see Keepsake.kt for keepsakeIo and operationFlow).
package app.keepsake

import kotlinx.coroutines.flow.Flow

/** Creates a repository in the empty [store], sealed by [keyring]'s key slots. */
suspend fun createRepository(store: BlobStore, keyring: Keyring, cacheDir: String? = null): Repository =
    keepsakeIo { Repository.create(store, keyring, cacheDir) }

/** Opens the repository in [store] with [secret] (a passkey, the recovery key or the device keyring). */
suspend fun openRepository(store: BlobStore, secret: BackupSecret, cacheDir: String? = null): Repository =
    keepsakeIo { Repository.open(store, secret, cacheDir) }

/** The snapshots, oldest first. */
suspend fun Repository.snapshotsAsync(): List<SnapshotInfo> = keepsakeIo { snapshots() }

/** Backs [store] up as a new snapshot (only new chunks are uploaded); progress and result as a [Flow]. */
fun Repository.backupFlow(store: ChatStore, options: BackupOptions? = null): Flow<OperationEvent<RepoBackupReport>> =
    operationFlow { listener, flag -> this.backup(store, options, listener, flag) }

/** Restores snapshot [snapshotId] (the latest when null) into [targetPath]; progress and result as a [Flow]. */
fun Repository.restoreFlow(targetPath: String, snapshotId: String? = null, replace: Boolean = false): Flow<OperationEvent<RestoreReport>> =
    operationFlow { listener, flag -> this.restore(targetPath, snapshotId, replace, listener, flag) }

/** Forgets the snapshots [policy] does not keep and reclaims their space; progress and result as a [Flow]. */
fun Repository.pruneFlow(policy: RetentionPolicy): Flow<OperationEvent<PruneReport>> =
    operationFlow { listener, flag -> this.prune(policy, listener, flag) }

/** Checks the repository, authenticating [readDataFraction] of its data; progress and result as a [Flow]. */
fun Repository.checkFlow(readDataFraction: Double = 0.0): Flow<OperationEvent<CheckReport>> =
    operationFlow { listener, flag -> this.check(readDataFraction, listener, flag) }
