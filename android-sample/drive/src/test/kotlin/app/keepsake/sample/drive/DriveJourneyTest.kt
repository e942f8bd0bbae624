package app.keepsake.sample.drive

import app.keepsake.sample.engine.BindingsBackupEngine
import app.keepsake.sample.flow.UnlockSecret
import java.io.File
import java.nio.file.Files
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/**
 * The sample's engine over the Drive store, as the app runs it: an old phone backs its chats and
 * a photo and a voice note up into Drive while the stand-in throttles, fails and drops uploads; a
 * new phone signs in to the same Drive, restores the chats with the recovery key and then the
 * files, byte for byte.
 */
class DriveJourneyTest {
    private val dir: File = Files.createTempDirectory("keepsake-drive-journey").toFile()

    @After
    fun close() {
        dir.deleteRecursively()
    }

    private fun phone(name: String, url: String): BindingsBackupEngine {
        val home = File(dir, name).apply { mkdirs() }
        return BindingsBackupEngine(File(home, "chats.sqlite").path, rpId = "keepsake.example", blobStore = { standInStore(url) })
    }

    @Test
    fun aNewPhoneRestoresChatsAndFilesFromDriveThroughFaults() = runBlocking {
        val url = StandIn.fresh()
        StandIn.configure("""{"max_page_size": 20, "fault_rate": 0.05, "seed": 7, "retry_after": "0", "reset_chunks": 1}""")
        val old = phone("old", url)
        val (secrets, recoveryKey) = old.addRecoveryKey(old.createKeyring(), "Recovery key")
        val conversation = old.createConversation("Ana")
        repeat(20) { old.sendText(conversation.id, "message $it") }
        val files = mapOf("photos/a.jpg" to Random(1).nextBytes(30_000), "voice/b.ogg" to Random(2).nextBytes(1_500_000))
        for ((ref, bytes) in files) {
            old.sendAttachment(conversation.id, ref, "application/octet-stream", bytes.size.toLong())
            File(dir, "old/media/$ref").apply { parentFile.mkdirs() }.writeBytes(bytes)
        }
        val summary = old.backUpWithMedia(secrets) {}
        assertEquals(2L, summary.media?.filesStored)
        assertTrue(StandIn.stat("faults") > 0, "no fault was injected")
        assertEquals(1L, StandIn.stat("resets"), "the large pack's upload was dropped once")

        val fresh = phone("new", url)
        val restored = fresh.restoreFromRepository(UnlockSecret.RecoveryKey(recoveryKey), null) {}
        assertEquals(22L, restored.messages, "20 texts and one message per attachment")
        val media = fresh.restoreMedia(restored.secrets) {}
        assertEquals(2L, media.filesRestored)
        for ((ref, bytes) in files) assertContentEquals(bytes, File(dir, "new/media/$ref").readBytes(), ref)
    }
}
