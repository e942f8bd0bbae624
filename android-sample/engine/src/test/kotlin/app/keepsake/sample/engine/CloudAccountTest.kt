// The storage part of the screens over the real library: a new phone finds the repository an old
// phone backed up into the store, what the backup uses is what the store holds, and a store that
// is full or refuses the account stops a backup with the failure the screens explain.
package app.keepsake.sample.engine

import app.keepsake.BlobStore
import app.keepsake.BlobStoreException
import app.keepsake.ByteRange
import app.keepsake.ObjectInfo
import app.keepsake.memoryBlobStore
import app.keepsake.sample.flow.BackupPlace
import app.keepsake.sample.flow.CloudAction
import app.keepsake.sample.flow.CloudBackupViewModel
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.KeepsakeFlowException
import app.keepsake.sample.flow.NewPhoneStep
import java.io.File
import java.nio.file.Files
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/** A store whose writes fail with [failure] while it is set (a full Drive, a withdrawn grant). */
private class RefusingStore(private val inner: BlobStore) : BlobStore by inner {
    @Volatile var failure: (() -> BlobStoreException)? = null
    override fun put(name: String, data: ByteArray) = failure?.let { throw it() } ?: inner.put(name, data)
    override fun create(name: String, data: ByteArray): Boolean = failure?.let { throw it() } ?: inner.create(name, data)
    override fun get(name: String, range: ByteRange?): ByteArray = inner.get(name, range)
    override fun list(prefix: String): List<ObjectInfo> = failure?.let { throw it() } ?: inner.list(prefix)
}

class CloudAccountTest {
    private val dir: File = Files.createTempDirectory("keepsake-cloud").toFile()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val drive = BackupPlace.GoogleDrive("ada@example.com")

    @After
    fun close() {
        scope.cancel()
        dir.deleteRecursively()
    }

    private fun engine(name: String, store: BlobStore) =
        BindingsBackupEngine(File(dir, "$name.db").path, rpId = "keepsake.example", blobStore = { store })

    @Test
    fun aNewPhoneFindsTheOldPhonesRepositoryAndSeesWhatItUses() = runBlocking {
        val store = memoryBlobStore()
        val account = BlobStoreCloudAccount({ store }, { drive }, { drive }, { 1L shl 30 })
        assertEquals(false, account.hasRepository())
        assertEquals(0L, account.usage().backupBytes)

        val old = engine("old", store)
        val (secrets, _) = old.addRecoveryKey(old.createKeyring(), "Recovery key")
        old.backUpWithMedia(secrets) {}

        val newPhone = CloudBackupViewModel(scope, account)
        newPhone.findBackup().join()
        assertEquals(NewPhoneStep.FOUND, newPhone.state.value.newPhone)
        assertEquals(CloudAction.UNLOCK, newPhone.state.value.action)
        val usage = account.usage()
        assertEquals(store.list("").sumOf { it.size }, usage.backupBytes)
        assertTrue(usage.backupBytes > 0)
        assertEquals(1L shl 30, usage.accountFreeBytes)
    }

    @Test
    fun aFullOrRefusingStoreStopsTheBackupWithTheFailureTheScreensExplain() = runBlocking {
        val store = RefusingStore(memoryBlobStore())
        val phone = engine("phone", store)
        val (secrets, _) = phone.addRecoveryKey(phone.createKeyring(), "Recovery key")
        val cases = listOf(
            { BlobStoreException.QuotaExceeded("Google Drive: HTTP 403 storageQuotaExceeded") } to Failure.STORAGE_FULL,
            { BlobStoreException.Unauthorized("Google Drive: HTTP 401") } to Failure.SIGN_IN_REQUIRED,
        )
        for ((failure, expected) in cases) {
            store.failure = failure
            val stopped = assertFailsWith<KeepsakeFlowException> { phone.backUpWithMedia(secrets) {} }
            assertEquals(expected, stopped.failure)
            val account = BlobStoreCloudAccount({ store }, { drive }, { drive })
            assertEquals(expected, assertFailsWith<KeepsakeFlowException> { account.usage() }.failure)
        }
        store.failure = { BlobStoreException.Throttled("429", 120_000) }
        val account = BlobStoreCloudAccount({ store }, { drive }, { drive })
        assertEquals(Failure.STORAGE_UNAVAILABLE, assertFailsWith<KeepsakeFlowException> { account.usage() }.failure)
        store.failure = null
        phone.backUpWithMedia(secrets) {}
        assertTrue(account.hasRepository())
    }
}
