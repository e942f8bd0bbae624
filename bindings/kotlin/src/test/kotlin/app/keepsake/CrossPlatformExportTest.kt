// One half of the cross-platform restore (an Android backup restored on an iPhone and back):
// makes a backup through the Kotlin bindings and leaves in an exchange folder what the other
// platform needs: the backup, the original database to compare with, the software
// authenticator's saved state (the synced passkey) and the recovery key. The Swift tests restore
// it (CrossPlatformTests.swift); CrossPlatformImportTest restores the Swift side's export.
//
// The folder is $KEEPSAKE_EXCHANGE/kotlin (scripts/test-bindings.sh sets it), else a temporary one.
package app.keepsake

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

class CrossPlatformExportTest {
    @Test
    fun `export a backup with its passkey and recovery key for the other platform`() = runBlocking {
        val dir = (System.getenv("KEEPSAKE_EXCHANGE")?.let { File(it) } ?: tempDir("keepsake-exchange")).resolve("kotlin")
        dir.deleteRecursively()
        dir.mkdirs()
        val original = File(dir, "original.db").path
        val counts = seedChats(original)
        val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION)
        Keyring.create().use { keyring ->
            PasskeyEnrollment(keyring, RP, "Keepsake Chat", byteArrayOf(7, 7), "alice", "Alice", "Pixel passkey").use { e ->
                when (val outcome = e.finishRegistrationJson(authenticator.createJson(e.registrationRequestJson()))) {
                    is EnrollmentOutcome.Enrolled -> Unit
                    is EnrollmentOutcome.NeedsAssertion -> e.finishAssertionJson(authenticator.getJson(outcome.requestJson))
                }
            }
            File(dir, "recovery-key.txt").writeText(keyring.addRecoveryKey("Paper").recoveryKey.reveal())
            val report = ChatStore.open(original).use { store -> store.backupFlow(keyring, File(dir, "chats.keepsake").path).result() }
            assertEquals(counts, report.counts)
        }
        authenticator.save(File(dir, "authenticator.json").path)
        authenticator.close()
        // The saved passkey opens the backup here too, so a failure on the other side is theirs.
        val secret = SoftAuthenticator.load(File(dir, "authenticator.json").path).use { loaded ->
            PasskeyUnlock.forBackupFile(File(dir, "chats.keepsake").path, RP, true).use { u -> u.finishJson(loaded.getJson(u.requestJson())) }
        }
        val check = File(dir, "check.db")
        secret.use { restoreFlow(File(dir, "chats.keepsake").path, it, check.path).result() }
        assertEquals(readBack(original), readBack(check.path))
        assertTrue(check.delete())
    }
}
