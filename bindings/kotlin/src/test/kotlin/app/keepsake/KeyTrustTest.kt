// What a device may trust, from Kotlin against the generated bindings (issue 18): a backup the
// cloud store forged from public bytes fails with the typed error; a backup with version 2 slots
// opens but its keyring is never adopted; a re-key renews the passkey and moves a repository; a
// password typed with decomposed accents opens the slot made from composed ones.
package app.keepsake

import java.io.File
import org.junit.AfterClass
import org.junit.Assume.assumeTrue
import org.junit.BeforeClass
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

class KeyTrustTest {
    companion object {
        /** The recovery key of the vector keyring (core/tests/vectors/container/README.md). */
        const val VECTOR_RECOVERY_KEY =
            "R30W-5GY4-RQ3C-FJ69-SB5W-SKEE-SZ8D-3MPK-TKAX-DNYR-V7DD-QQ6X-VVFH-30H3-852M-24FK"
        lateinit var work: File
        lateinit var dbPath: String

        @BeforeClass
        @JvmStatic
        fun makeStore() {
            work = tempDir("keepsake-trust")
            dbPath = File(work, "chat.db").path
            seedChats(dbPath)
        }

        @AfterClass
        @JvmStatic
        fun removeDir() {
            work.deleteRecursively()
        }
    }

    /** A vector file scripts/test-bindings.sh copied into the exchange folder. */
    private fun vector(name: String): String {
        val dir = System.getenv("KEEPSAKE_EXCHANGE")
        assumeTrue("KEEPSAKE_EXCHANGE is not set", dir != null)
        return File(File(dir!!, "vectors"), name).path
    }

    @Test
    fun aBackupTheStoreForgedFromItsPublicHeaderFailsAsCorrupted() {
        // The genuine backup opens with the recovery key; the forgery (same public header, the
        // store's own root key sealed to every slot) does not, and says which slot.
        BackupSecret.recoveryKey(VECTOR_RECOVERY_KEY).use { secret ->
            keyringFromBackup(vector("genuine.keepsake"), secret).close()
            val error = assertFailsWith<KeepsakeException.Corrupted> {
                keyringFromBackup(vector("forged.keepsake"), secret)
            }
            assertTrue("root-key seal" in error.message.orEmpty(), "detail: ${error.message}")
        }
    }

    @Test
    fun aBackupWithVersion2SlotsOpensButItsKeyringIsNeverAdopted() {
        BackupSecret.recoveryKey(VECTOR_RECOVERY_KEY).use { secret ->
            val error = assertFailsWith<KeepsakeException.UnauthenticatedKeyring> {
                keyringFromBackup(vector("slot-v2.keepsake"), secret)
            }
            assertTrue("new keyring" in error.message.orEmpty(), "detail: ${error.message}")
        }
    }

    @Test
    fun aPasswordOpensWhateverWayItsAccentsWereTyped() {
        val composed = "cr\u00e8me br\u00fbl\u00e9e au caf\u00e9"
        val decomposed = "cre\u0300me bru\u0302le\u0301e au cafe\u0301"
        Keyring.create().use { keyring ->
            keyring.addPassword("Password", composed)
            val path = File(work, "accents.keepsake").path
            ChatStore.open(dbPath).use { store -> backupToPath(store, keyring, path) }
            BackupSecret.password(decomposed).use { secret -> verifyBackup(path, secret) }
            assertFailsWith<KeepsakeException.InvalidArgument> { keyring.addPassword("weak", "Password1234") }
        }
    }

    @Test
    fun aReKeyRenewsThePasskeyAndMovesTheRepository() {
        SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION).use { phone ->
            Keyring.create().use { old ->
                val enrollment = PasskeyEnrollment(old, "chat.example.com", "Keepsake", byteArrayOf(1), "ana", "Ana", "Phone")
                val registration = phone.createJson(enrollment.registrationRequestJson())
                assertTrue(enrollment.finishRegistrationJson(registration) is EnrollmentOutcome.Enrolled)
                val leaked = old.addRecoveryKey("leaked").recoveryKey.use { it.reveal() }
                val store = memoryBlobStore()
                val repo = Repository.create(store, old)
                ChatStore.open(dbPath).use { chats -> repo.backup(chats) }

                val new = old.rekey()
                assertEquals(old.generation() + 1, new.generation())
                assertTrue(new.rekeyedFrom()!!.contentEquals(old.id()))
                val renewal = PasskeyUnlock.forRenewal(old, new, "chat.example.com")
                val slot = renewal.renewJson(new, phone.getJson(renewal.requestJson()))
                assertEquals("Phone", slot.label)
                val recovery = new.addRecoveryKey("new paper").recoveryKey.use { it.reveal() }
                assertEquals(KeyringAdoption.ROTATED, repo.adoptKeyring(new))
                ChatStore.open(dbPath).use { chats -> repo.backup(chats) }

                Repository.open(store, BackupSecret.recoveryKey(recovery)).close()
                assertFailsWith<KeepsakeException.WrongKey> { Repository.open(store, BackupSecret.recoveryKey(leaked)) }
                val unlock = PasskeyUnlock.forRepository(store, "chat.example.com", false)
                Repository.open(store, unlock.finishJson(phone.getJson(unlock.requestJson()))).close()
                new.close()
                repo.close()
            }
        }
    }
}
