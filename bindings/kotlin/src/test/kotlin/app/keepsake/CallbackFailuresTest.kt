// What an app callback that throws turns into (docs/KOTLIN.md, "Errors" and "Threading"): a
// typed KeepsakeException whose message is one line (the exception's message and class, never a
// Java stack trace), a Kotlin Error (TODO()) included instead of being lost; and a throwing
// progress listener, which is dropped and logged while the operation succeeds.
package app.keepsake

import java.io.File
import java.io.IOException
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class CallbackFailuresTest {
    /** A message an error UI can show: one line, no frames of a stack trace. */
    private fun assertOneLine(message: String?, vararg expected: String) {
        val text = checkNotNull(message)
        assertFalse('\n' in text, "a stack trace in: $text")
        assertFalse("\tat " in text || "at app.keepsake" in text, "a stack trace in: $text")
        for (part in expected) assertTrue(part in text, "'$part' missing from: $text")
    }

    /** [MapStore] whose `put` runs [onPut] first. */
    private class FailingStore(private val onPut: () -> Unit) : BlobStore by MapStore() {
        override fun put(name: String, data: ByteArray) {
            onPut()
        }
    }

    @Test
    fun aBlobStoreExceptionIsStorageWithItsMessageInOneLine() {
        Keyring.create().use { keyring ->
            keyring.addRecoveryKey("Paper").recoveryKey.close()
            val failure = assertFailsWith<KeepsakeException.Storage> {
                Repository.create(FailingStore { throw IOException("quota exceeded") }, keyring)
            }
            assertOneLine(failure.message, "quota exceeded (IOException)")
        }
    }

    @Test
    fun aKotlinErrorFromABlobStoreIsReportedNotSwallowed() {
        Keyring.create().use { keyring ->
            keyring.addRecoveryKey("Paper").recoveryKey.close()
            // Uncaught, JNA swallowed the Error and Rust took the put for a success.
            val failure = assertFailsWith<KeepsakeException.Storage> {
                Repository.create(FailingStore { TODO("cloud upload") }, keyring)
            }
            assertOneLine(failure.message, "cloud upload", "NotImplementedError")
            assertFalse("not enough bytes" in failure.message!!, failure.message)
        }
    }

    @Test
    fun aByteSinkExceptionIsIoInOneLine() {
        val dir = tempDir("keepsake-callbacks")
        val db = File(dir, "chat.db").path
        seedChats(db)
        Keyring.create().use { keyring ->
            keyring.addRecoveryKey("Paper").recoveryKey.close()
            val sink = object : ByteSink {
                override fun write(chunk: ByteArray) = throw IOException("disk full")
                override fun finish() = Unit
            }
            val failure = assertFailsWith<KeepsakeException.Io> {
                ChatStore.open(db).use { store -> backupToSink(store, keyring, sink) }
            }
            assertOneLine(failure.message, "disk full (IOException)")
        }
        dir.deleteRecursively()
    }

    @Test
    fun aMediaWriterExceptionReachesTheAppInOneLine(): Unit = runBlocking {
        val dir = tempDir("keepsake-callbacks-media")
        val db = File(dir, "chat.db").path
        seedChats(db)
        val files = File(dir, "media")
        File(files, "Photos/beach.jpg").apply { parentFile.mkdirs() }.writeBytes(ByteArray(50_000) { it.toByte() })
        ChatStore.open(db).use { store ->
            store.insertMessages(listOf(Message(
                id = 8_001, conversationId = 1, sender = "alice", kind = MessageKind.MEDIA, body = null,
                sentAt = 1_700_000_500_000, delivery = DeliveryState.READ,
            )))
            store.insertAttachments(listOf(Attachment(id = 1, messageId = 8_001, mime = "image/jpeg", size = 50_000, localRef = "Photos/beach.jpg")))
        }
        Keyring.create().use { keyring ->
            keyring.addRecoveryKey("Paper").recoveryKey.close()
            createRepository(MapStore(), keyring).use { repository ->
                ChatStore.open(db).use { store -> repository.backupFlow(store, fileMediaSource(files)).result() }
                val sink = object : MediaSink {
                    override fun begin(item: MediaItem): MediaFileWriter = object : MediaFileWriter {
                        override fun write(bytes: ByteArray) = throw IOException("no space left on the phone")
                        override fun commit() = Unit
                        override fun abort() = Unit
                    }
                }
                val failure = assertFailsWith<KeepsakeException> {
                    repository.loadMedia(File(dir, "state").path, attachmentId = 1, sink)
                }
                assertOneLine(failure.message, "no space left on the phone (IOException)")
            }
        }
        dir.deleteRecursively()
    }

    @Test
    fun aThrowingProgressListenerIsDroppedAndLoggedWhileTheBackupSucceeds() {
        val dir = tempDir("keepsake-callbacks-listener")
        val db = File(dir, "chat.db").path
        seedChats(db)
        val warnings = CopyOnWriteArrayList<String>()
        installLogger(LogLevel.WARN) { level, _, message -> if (level == LogLevel.WARN) warnings += message }
        val calls = AtomicInteger()
        val listener = progressListener {
            calls.incrementAndGet()
            throw IllegalStateException("the screen is gone")
        }
        Keyring.create().use { keyring ->
            keyring.addRecoveryKey("Paper").recoveryKey.close()
            val path = File(dir, "b.keepsake").path
            val report = ChatStore.open(db).use { store -> backupToPath(store, keyring, path, null, listener) }
            assertEquals(75L, report.counts?.messages, "the backup completed")
            BackupSecret.deviceKeyring(keyring).use { verifyBackup(path, it) }
        }
        assertEquals(1, calls.get(), "a listener that threw gets no more reports")
        assertEquals(1, warnings.size, "$warnings")
        assertOneLine(warnings[0], "progress listener", "the screen is gone (IllegalStateException)")
        dir.deleteRecursively()
    }
}
