// Bindings that cannot be misused: an object closed by `use {}`/`close()` fails with
// IllegalStateException whether it is the receiver or an argument, before anything reaches Rust.
// UniFFI 0.32's generated `lower()` skipped that check for arguments and handed Rust a freed
// pointer (SIGSEGV, hangs, freed memory read); scripts/generate-bindings.sh patches it, and these
// tests cover every object type that can be an argument.
package app.keepsake

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.BeforeClass
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class MisuseTest {
    companion object {
        lateinit var work: File
        lateinit var dbPath: String
        lateinit var backupPath: String
        lateinit var keyring: Keyring
        lateinit var recoveryKey: String

        @BeforeClass
        @JvmStatic
        fun makeBackup() {
            work = tempDir("keepsake-misuse")
            dbPath = File(work, "chat.db").path
            backupPath = File(work, "chat.keepsake").path
            seedChats(dbPath)
            keyring = Keyring.create()
            SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION).use { authenticator ->
                PasskeyEnrollment(keyring, RP, "Chat", byteArrayOf(1), "a", "A", "Phone").use { e ->
                    e.finishRegistrationTyped(authenticator.createTyped(e))
                }
            }
            recoveryKey = keyring.addRecoveryKey("Paper").recoveryKey.reveal()
            ChatStore.open(dbPath).use { store -> backupToPath(store, keyring, backupPath) }
        }

        fun <T : AutoCloseable> closed(value: T): T = value.also { it.close() }

        fun expectClosed(body: () -> Unit) {
            val e = assertFailsWith<IllegalStateException> { body() }
            assertTrue("destroyed" in e.message.orEmpty(), "${e.message}")
        }
    }

    private fun target() = File(work, "target-${System.nanoTime()}.db").path

    @Test
    fun `a closed ChatStore as an argument`() {
        val store = closed(ChatStore.open(dbPath))
        val out = File(work, "closed-store.keepsake")
        expectClosed { backupToPath(store, keyring, out.path) }
        expectClosed { backupToSink(store, keyring, OutputStreamSink(java.io.ByteArrayOutputStream())) }
        assertFalse(out.exists())
    }

    @Test
    fun `a closed ChatStore passed to a cold Flow fails when collected`() {
        val store = ChatStore.open(dbPath)
        val flow = store.backupFlow(keyring, File(work, "cold.keepsake").path)
        store.close()
        expectClosed { runBlocking { flow.result() } }
    }

    @Test
    fun `a closed Keyring as an argument`() {
        val dead = closed(Keyring.create())
        ChatStore.open(dbPath).use { store -> expectClosed { backupToPath(store, dead, File(work, "k.keepsake").path) } }
        expectClosed { BackupSecret.deviceKeyring(dead) }
        expectClosed { PasskeyEnrollment(dead, RP, "Chat", byteArrayOf(1), "a", "A", "p") }
        expectClosed { PasskeyUnlock.forKeyring(dead, RP, false) }
    }

    @Test
    fun `a closed BackupSecret as an argument`() {
        val secret = closed(BackupSecret.recoveryKey(recoveryKey))
        val target = target()
        expectClosed { restoreFromPath(backupPath, secret, target) }
        expectClosed { restoreFromSource(InputStreamSource(File(backupPath).inputStream()), secret, target) }
        expectClosed { verifyBackup(backupPath, secret) }
        expectClosed { keyringFromBackup(backupPath, secret) }
        assertFalse(File(target).exists())
    }

    @Test
    fun `a closed BackupSecret passed to a cold restore Flow fails when collected`() {
        val target = target()
        val flow = BackupSecret.recoveryKey(recoveryKey).use { secret -> restoreFlow(backupPath, secret, target) }
        expectClosed { runBlocking { flow.result() } }
        assertFalse(File(target).exists())
    }

    @Test
    fun `a closed Cancellation as an argument`() {
        val flag = closed(Cancellation())
        expectClosed { BackupSecret.recoveryKey(recoveryKey).use { verifyBackup(backupPath, it, null, flag) } }
    }

    @Test
    fun `a closed PasskeyEnrollment as an argument`() {
        val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION)
        val enrollment = closed(PasskeyEnrollment(keyring, RP, "Chat", byteArrayOf(1), "a", "A", "p"))
        expectClosed { authenticator.createTyped(enrollment) }
        expectClosed { authenticator.getTypedForEnrollment(enrollment) }
        authenticator.close()
    }

    @Test
    fun `a closed PasskeyUnlock as an argument`() {
        val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION)
        val unlock = closed(PasskeyUnlock.forKeyring(keyring, RP, false))
        expectClosed { authenticator.getTyped(unlock) }
        authenticator.close()
    }

    @Test
    fun `every object type fails as a closed receiver too`() {
        expectClosed { closed(ChatStore.open(dbPath)).counts() }
        expectClosed { closed(Keyring.create()).slots() }
        // BackupSecret has no methods: it is only ever an argument (tested above).
        expectClosed { closed(Cancellation()).isCancelled() }
        expectClosed { closed(PasskeyEnrollment(keyring, RP, "Chat", byteArrayOf(1), "a", "A", "p")).registrationRequestJson() }
        expectClosed { closed(PasskeyUnlock.forKeyring(keyring, RP, false)).requestJson() }
        expectClosed { closed(SoftAuthenticator(SoftAuthenticatorMode.NO_PRF)).setMode(SoftAuthenticatorMode.NO_PRF) }
    }

    @Test
    fun `built-in stores, sources and sinks close without a cast and then fail as arguments`() {
        val store = memoryBlobStore()
        store.close()
        expectClosed { Repository.create(store, keyring) }
        val sink = directoryMediaSink(File(work, "sink").path)
        sink.close()
        val source = directoryMediaSource(File(work, "media").path)
        source.close()
        Repository.create(memoryBlobStore(), keyring).use { repository ->
            ChatStore.open(dbPath).use { chats -> expectClosed { repository.backupWithMedia(chats, source) } }
            expectClosed { repository.fetchMedia(File(work, "state").path, 1, sink) }
        }
        // An app's own store has nothing to release: close() leaves it usable.
        val own = MapStore()
        own.close()
        Repository.create(own, keyring).close()
    }

    @Test
    fun `an object closed elsewhere never frees memory a running call uses`() {
        // Close the keyring on another thread while backups keep passing it: each call either
        // runs on a live clone or fails with IllegalStateException, never anything else.
        val shared = Keyring.restore(keyring.exportRootKey(), keyring.publicBytes())
        var ran = 0
        ChatStore.open(dbPath).use { store ->
            val closer = Thread { Thread.sleep(5); shared.close() }
            closer.start()
            repeat(20) { i ->
                val result = runCatching { backupToPath(store, shared, File(work, "race-$i.keepsake").path) }
                result.exceptionOrNull()?.let { assertTrue(it is IllegalStateException, "$it") } ?: ran++
            }
            closer.join()
        }
        expectClosed { shared.slots() }
        assertEquals(ran, (0 until 20).count { File(work, "race-$it.keepsake").exists() })
    }
}
