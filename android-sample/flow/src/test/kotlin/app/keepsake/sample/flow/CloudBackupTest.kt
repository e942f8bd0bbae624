// The storage part of the Backup and Restore screens: where the backup lives, what it uses, what
// to do when the storage is full or the account needs signing in again, and a new phone finding
// its backup before the passkey unlock.
package app.keepsake.sample.flow

import java.io.IOException
import kotlin.test.AfterTest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking

class CloudBackupTest {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val drive = BackupPlace.GoogleDrive("ada@example.com")

    /** An account as the app's Drive or iCloud glue answers, scripted. */
    private class ScriptedAccount(
        var signedIn: BackupPlace? = null,
        var signInGives: BackupPlace? = null,
        var usage: CloudUsage = CloudUsage(0),
        var repository: Boolean = false,
        var failure: Exception? = null,
    ) : CloudAccount {
        var signIns = 0
        private fun check() = failure?.let { throw it }
        override suspend fun place(): BackupPlace? = check().let { signedIn }
        override suspend fun signIn(): BackupPlace? {
            signIns++
            check()
            signedIn = signInGives
            return signInGives
        }
        override suspend fun usage(): CloudUsage = check().let { usage }
        override suspend fun hasRepository(): Boolean = check().let { repository }
    }

    @AfterTest
    fun close() = scope.cancel()

    @Test
    fun `the backup screen says which account holds the backup and how much it uses`() = runBlocking {
        val account = ScriptedAccount(signedIn = drive, usage = CloudUsage(backupBytes = 5L shl 20, accountFreeBytes = 2L shl 30))
        val model = CloudBackupViewModel(scope, account)
        model.load().join()
        val state = model.state.value
        assertEquals("Backups are kept in the Google Drive of ada@example.com, in a hidden app folder.", state.whereLine)
        assertEquals("Backups use 5.0 MB, 2.0 GB free in the account.", state.usageLine)
        assertNull(state.message)
        assertEquals("Backups are kept in your iCloud.", CloudMessages.where(BackupPlace.ICloud))
        assertEquals("Backups use 512 B.", CloudMessages.usage(CloudUsage(512)))
    }

    @Test
    fun `signed out, the screen offers the sign-in and shows the account after it`() = runBlocking {
        val account = ScriptedAccount(signInGives = drive, usage = CloudUsage(1024))
        val model = CloudBackupViewModel(scope, account)
        model.load().join()
        assertEquals(CloudMessages.notSignedIn, model.state.value.whereLine)
        assertEquals(CloudAction.SIGN_IN, model.state.value.action)
        model.signIn().join()
        assertEquals(drive, model.state.value.place)
        assertEquals("Backups use 1.0 KB.", model.state.value.usageLine)
        assertNull(model.state.value.action)
    }

    @Test
    fun `a full storage or a lost sign-in after a backup says where to act`() = runBlocking {
        val model = CloudBackupViewModel(scope, ScriptedAccount(signedIn = drive))
        model.load().join()
        model.explain(UserMessages.of(Failure.STORAGE_FULL))
        assertEquals(CloudAction.MANAGE_STORAGE, model.state.value.action)
        assertTrue(model.state.value.message!!.text.startsWith("The storage of ada@example.com is full. Free up space in Google Drive"))
        model.explain(UserMessages.of(Failure.SIGN_IN_REQUIRED))
        assertEquals(CloudAction.SIGN_IN, model.state.value.action)
        assertTrue("Sign in again" in model.state.value.message!!.text)
        model.explain(Failure.STORAGE_UNAVAILABLE)
        assertEquals(CloudAction.TRY_LATER, model.state.value.action)
        assertEquals(
            "The Google Drive of ada@example.com could not be reached. Your chats are safe on this phone; the backup will be tried again later.",
            model.state.value.message!!.text,
        )
        // Not a storage failure: the Backup screen's own message stands alone.
        model.explain(UserMessages.of(Failure.WRONG_KEY))
        assertEquals(CloudAction.TRY_LATER, model.state.value.action)
        // iCloud's advice names the Settings path.
        val icloud = CloudMessages.advice(BackupPlace.ICloud, Failure.STORAGE_FULL)!!
        assertTrue("Manage Account Storage" in icloud.first.text)
        assertNull(CloudMessages.advice(drive, Failure.CORRUPTED))
    }

    @Test
    fun `every storage failure has its own words`() {
        val words = listOf(Failure.STORAGE_FULL, Failure.SIGN_IN_REQUIRED, Failure.STORAGE_UNAVAILABLE).map { UserMessages.of(it) }
        assertEquals(3, words.map { it.text }.toSet().size)
        assertTrue(words.all { it.isError })
        assertEquals(listOf(Failure.STORAGE_FULL, Failure.SIGN_IN_REQUIRED, Failure.STORAGE_UNAVAILABLE), words.map { CloudMessages.storageFailure(it) })
        assertNull(CloudMessages.storageFailure(UserMessages.of(Failure.IO)))
    }

    @Test
    fun `a new phone signs in, finds the repository and offers the passkey unlock`() = runBlocking {
        val account = ScriptedAccount(signInGives = drive, repository = true, usage = CloudUsage(3L shl 20))
        val model = CloudBackupViewModel(scope, account)
        model.findBackup().join()
        val state = model.state.value
        assertEquals(1, account.signIns)
        assertEquals(NewPhoneStep.FOUND, state.newPhone)
        assertEquals(CloudAction.UNLOCK, state.action)
        assertEquals("A backup was found in the Google Drive of ada@example.com. Unlock it with your passkey.", state.message!!.text)
        assertEquals("Backups use 3.0 MB.", state.usageLine)
    }

    @Test
    fun `a new phone without a backup in that account is told to use the old phone's account`() = runBlocking {
        val model = CloudBackupViewModel(scope, ScriptedAccount(signedIn = drive, repository = false))
        model.findBackup().join()
        assertEquals(NewPhoneStep.NOT_FOUND, model.state.value.newPhone)
        assertTrue(model.state.value.message!!.text.startsWith("No backup was found in the Google Drive of ada@example.com."))
        assertEquals(CloudAction.SIGN_IN, model.state.value.action)
    }

    @Test
    fun `backing out of the sign-in or failing to reach the storage is shown, never thrown`() = runBlocking {
        val backedOut = CloudBackupViewModel(scope, ScriptedAccount())
        backedOut.findBackup().join()
        assertEquals(NewPhoneStep.SIGN_IN, backedOut.state.value.newPhone)
        assertEquals(CloudMessages.signInToRestore, backedOut.state.value.message)
        assertEquals(false, backedOut.state.value.busy)

        val offline = ScriptedAccount(signedIn = BackupPlace.ICloud)
        val model = CloudBackupViewModel(scope, offline)
        model.load().join()
        offline.failure = KeepsakeFlowException(Failure.STORAGE_UNAVAILABLE, "timeout")
        model.findBackup().join()
        assertEquals(CloudAction.TRY_LATER, model.state.value.action)
        assertTrue(model.state.value.message!!.text.startsWith("iCloud could not be reached"), model.state.value.message!!.text)
        offline.failure = IOException("disk")
        model.load().join()
        assertEquals(UserMessages.of(Failure.IO), model.state.value.message)
    }
}
