// The CloudAccount port over the app's BlobStore (the Google Drive store, or the demo's folder)
// and its sign-in: what the backup uses is the sum of the sizes the store lists, a repository
// exists when its config object does. The sign-in itself is the app's (Credential Manager and
// AuthorizationClient on Android), handed in as functions.
package app.keepsake.sample.engine

import app.keepsake.BlobStore
import app.keepsake.BlobStoreException
import app.keepsake.sample.flow.BackupPlace
import app.keepsake.sample.flow.CloudAccount
import app.keepsake.sample.flow.CloudUsage
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.KeepsakeFlowException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

class BlobStoreCloudAccount(
    /** The store backups go to (opened when first needed: it may need the signed-in account). */
    private val store: () -> BlobStore,
    /** Where backups go now, or null while signed out. */
    private val currentPlace: suspend () -> BackupPlace?,
    /** The platform's sign-in sheet; the place afterwards, or null when the user backed out. */
    private val signInWith: suspend () -> BackupPlace?,
    /** The account's free bytes when the service says (Drive's about.storageQuota), else null. */
    private val freeBytes: suspend () -> Long? = { null },
) : CloudAccount {
    override suspend fun place(): BackupPlace? = currentPlace()

    override suspend fun signIn(): BackupPlace? = signInWith()

    override suspend fun usage(): CloudUsage = withContext(Dispatchers.IO) {
        val bytes = typed { store().list("") }.sumOf { it.size }
        CloudUsage(bytes, runCatching { freeBytes() }.getOrNull())
    }

    override suspend fun hasRepository(): Boolean = withContext(Dispatchers.IO) {
        typed { store().stat(CONFIG) } != null
    }

    private inline fun <T> typed(body: () -> T): T = try {
        body()
    } catch (e: BlobStoreException) {
        throw KeepsakeFlowException(blobStoreFailure(e), "the backup storage: ${e.message}")
    }

    private companion object {
        /** The repository's config object (docs/REPOSITORY.md section 4). */
        const val CONFIG = "config"
    }
}

/** A store's own failure (before Keepsake's retries) as the screens explain it. */
fun blobStoreFailure(e: BlobStoreException): Failure = when (e) {
    is BlobStoreException.QuotaExceeded -> Failure.STORAGE_FULL
    is BlobStoreException.Unauthorized -> Failure.SIGN_IN_REQUIRED
    is BlobStoreException.Transient, is BlobStoreException.Throttled -> Failure.STORAGE_UNAVAILABLE
    is BlobStoreException.NotFound, is BlobStoreException.Failed -> Failure.STORAGE_UNAVAILABLE
}
