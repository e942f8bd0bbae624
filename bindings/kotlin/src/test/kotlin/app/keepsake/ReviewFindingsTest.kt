// Security-review findings (issue 12) checked from Kotlin against the generated bindings: a new
// recovery key never printed, a throwing progress listener that leaves objects usable, and another
// keyring's backup opened with the device keyring reported as WrongKey.
package app.keepsake

import java.io.File
import java.util.concurrent.atomic.AtomicInteger
import org.junit.AfterClass
import org.junit.BeforeClass
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

class ReviewFindingsTest {
    companion object {
        lateinit var work: File

        @BeforeClass
        @JvmStatic
        fun makeDir() {
            work = tempDir("keepsake-review")
        }

        @AfterClass
        @JvmStatic
        fun removeDir() {
            work.deleteRecursively()
        }
    }

    @Test
    fun aNewRecoveryKeyIsNeverPrintedByToString() {
        Keyring.create().use { keyring ->
            val added = keyring.addRecoveryKey("Paper")
            val key = added.recoveryKey.reveal()
            assertEquals(64, key.replace("-", "").length)
            for (printed in listOf(added.toString(), added.recoveryKey.toString(), "$added")) {
                assertFalse(printed.contains(key) || printed.contains(key.take(9)), "printed: $printed")
            }
            assertTrue(added.recoveryKey.toString().contains("redacted"), "toString: ${added.recoveryKey}")
            added.recoveryKey.close()
        }
    }

    @Test
    fun aProgressListenerThatThrowsLeavesTheStoreAndKeyringUsable() {
        val calls = AtomicInteger()
        val throwing = object : ProgressListener {
            override fun onProgress(report: ProgressReport) {
                calls.incrementAndGet()
                throw IllegalStateException("listener bug")
            }
        }
        ChatStore.open(File(work, "listener.db").path).use { store ->
            Keyring.create().use { keyring ->
                keyring.addRecoveryKey("Paper") // a backup needs a slot a new phone can use
                backupToPath(store, keyring, File(work, "one.keepsake").path, listener = throwing)
                assertEquals(1, calls.get(), "a listener that threw was called again")
                store.counts()
                keyring.slots()
                backupToPath(store, keyring, File(work, "two.keepsake").path)
                val restored = File(work, "restored.db")
                BackupSecret.deviceKeyring(keyring).use { secret ->
                    restoreFromPath(File(work, "two.keepsake").path, secret, restored.path, listener = throwing)
                }
                assertTrue(restored.exists(), "restore did not complete")
            }
        }
    }

    @Test
    fun anotherKeyringsBackupOpenedWithTheDeviceKeyringIsWrongKey() {
        ChatStore.open(File(work, "wrong.db").path).use { store ->
            Keyring.create().use { mine ->
                Keyring.create().use { theirs ->
                    theirs.addRecoveryKey("Paper") // a backup needs a slot a new phone can use
                    backupToPath(store, theirs, File(work, "theirs.keepsake").path)
                    val error = runCatching {
                        BackupSecret.deviceKeyring(mine).use { verifyBackup(File(work, "theirs.keepsake").path, it) }
                    }.exceptionOrNull()
                    assertIs<KeepsakeException.WrongKey>(error)
                }
            }
        }
    }
}
