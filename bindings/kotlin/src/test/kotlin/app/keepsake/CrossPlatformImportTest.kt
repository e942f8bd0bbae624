// The other half of the cross-platform restore: restores the backup the Swift tests exported
// (CrossPlatformTests.swift) through the Kotlin bindings, once with the passkey (the Swift
// side's saved software authenticator, answering through the JSON path Credential Manager uses)
// and once with the recovery key, and compares every conversation, participant and message with
// the database the backup was made from.
//
// Needs $KEEPSAKE_IMPORT_FROM (the Swift export folder): scripts/test-bindings.sh runs this class
// after the Swift tests; elsewhere (a plain Gradle run) it is skipped, and says so.
package app.keepsake

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Assume.assumeTrue
import org.junit.Before
import org.junit.Test
import kotlin.test.assertEquals

class CrossPlatformImportTest {
    private lateinit var from: File
    private lateinit var work: File

    @Before
    fun exchange() {
        val path = System.getenv("KEEPSAKE_IMPORT_FROM")
        assumeTrue("KEEPSAKE_IMPORT_FROM is not set: no Swift export to restore", path != null)
        from = File(path!!)
        work = tempDir("keepsake-import")
    }

    private val backup get() = File(from, "chats.keepsake").path
    private val original get() = File(from, "original.db").path

    @Test
    fun `a Swift backup restores here with the synced passkey`() = runBlocking {
        val secret = SoftAuthenticator.load(File(from, "authenticator.json").path).use { passkey ->
            PasskeyUnlock.forBackupFile(backup, RP, true).use { u -> u.finishJson(passkey.getJson(u.requestJson())) }
        }
        val target = File(work, "from-swift-passkey.db").path
        val report = secret.use { restoreFlow(backup, it, target).result() }
        assertEquals(ChatStore.open(original).use { it.counts() }, report.counts)
        assertEquals(readBack(original), readBack(target))
    }

    @Test
    fun `a Swift backup restores here with the recovery key`() = runBlocking {
        val target = File(work, "from-swift-recovery.db").path
        val report = BackupSecret.recoveryKey(File(from, "recovery-key.txt").readText().trim()).use { secret ->
            restoreFlow(backup, secret, target).result()
        }
        assertEquals(ChatStore.open(original).use { it.counts() }, report.counts)
        assertEquals(readBack(original), readBack(target))
    }
}
