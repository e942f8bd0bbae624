// Media from Kotlin (issue 11): a phone's photos, voice note, video, empty document, forwarded
// photo and an attachment whose file is gone, backed up with the InputStream source
// (fileMediaSource) and restored on a new phone opened with the recovery key: the chats first,
// then one conversation's media, one attachment on demand, then the rest, byte for byte.
package app.keepsake

import java.io.File
import kotlin.random.Random
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class MediaJourneyTest {
    /** One attachment of the old phone: its message, conversation, type, file (null: gone). */
    private class Media(val id: Long, val conversation: Long, val mime: String, val localRef: String, val bytes: ByteArray?)

    private fun jpeg(size: Int, seed: Int) =
        byteArrayOf(0xFF.toByte(), 0xD8.toByte(), 0xFF.toByte(), 0xE0.toByte()) + Random(seed).nextBytes(size - 6) +
            byteArrayOf(0xFF.toByte(), 0xD9.toByte())

    private val beach = jpeg(240_000, 1)
    private val media = listOf(
        Media(1, 1, "image/jpeg", "Photos/beach.jpg", beach),
        Media(2, 1, "image/jpeg", "Photos/cat.jpg", jpeg(120_000, 2)),
        Media(3, 2, "image/jpeg", "Photos/cake.jpg", jpeg(60_000, 3)),
        Media(4, 2, "audio/ogg", "Voice/note-1.ogg", "OggS".toByteArray() + Random(4).nextBytes(40_000)),
        Media(5, 1, "video/mp4", "Video/clip.mp4", Random(5).nextBytes(3_500_000)),
        Media(6, 2, "application/pdf", "Documents/empty.pdf", ByteArray(0)),
        Media(7, 2, "image/jpeg", "Photos/beach-forwarded.jpg", beach),
        Media(8, 1, "image/jpeg", "Photos/never-downloaded.jpg", null),
    )
    private val messageOf = { m: Media -> 10_000 + m.id }

    /** The chats of TestChats plus one media message per attachment, and the files on disk. */
    private fun oldPhone(dir: File): Pair<String, File> {
        val db = File(dir, "chats.db").path
        seedChats(db)
        val files = File(dir, "media")
        ChatStore.open(db).use { store ->
            for (m in media) {
                store.insertMessages(listOf(Message(
                    id = messageOf(m), conversationId = m.conversation, sender = "alice", kind = MessageKind.MEDIA,
                    body = null, sentAt = 1_700_100_000_000 + m.id, delivery = DeliveryState.READ,
                )))
                store.insertAttachments(listOf(Attachment(
                    id = m.id, messageId = messageOf(m), mime = m.mime, size = (m.bytes?.size ?: 0).toLong(), localRef = m.localRef,
                )))
                m.bytes?.let { bytes -> File(files, m.localRef).apply { parentFile.mkdirs() }.writeBytes(bytes) }
            }
        }
        return db to files
    }

    /** Every file under [root] by relative path. */
    private fun filesUnder(root: File): Map<String, List<Byte>> =
        root.walkTopDown().filter { it.isFile }.associate { it.relativeTo(root).invariantSeparatorsPath to it.readBytes().toList() }

    @Test
    fun `media reaches a new phone after the chats, by conversation, on demand, then the rest`() = runBlocking {
        val dir = tempDir("keepsake-media")
        val (db, files) = oldPhone(dir)
        val cloud = MapStore()
        val recovery = Keyring.create().use { keyring ->
            val key = keyring.addRecoveryKey("Paper copy").recoveryKey.use { it.reveal() }
            val repository = createRepository(cloud, keyring, File(dir, "cache").path)
            val progress = mutableListOf<ProgressReport>()
            val report = ChatStore.open(db).use { store ->
                repository.backupFlow(store, fileMediaSource(files)).result { progress += it }
            }
            repository.close()
            val summary = report.media!!.summary
            assertEquals(7, summary.filesStored, "$report")
            assertEquals(1, summary.filesAbsent)
            assertEquals(media.sumOf { (it.bytes?.size ?: 0).toLong() }, summary.bytesStored)
            assertEquals(7, report.media!!.filesRead)
            // The forwarded photo is stored once. Media packs hold whole 1 MiB blocks, so the upload
            // is the distinct files' bytes rounded up to a block (plus the chats, index and
            // snapshot): 4 MiB here, where the forward stored again would take a fifth block.
            val block = 1L shl 20
            val distinct = summary.bytesStored - beach.size
            assertTrue(report.bytesUploaded < (distinct / block + 1) * block + block / 4, "$report")
            progress.zipWithNext().forEach { (a, b) -> assertTrue(b.done >= a.done, "progress went back: $a then $b") }
            val lastMedia = progress.last { it.phase == ProgressPhase.MEDIA }
            assertEquals(8L to 8L, lastMedia.filesDone to lastMedia.filesTotal)
            assertEquals(ProgressUnit.BYTES, lastMedia.unit)
            key
        }

        // A new phone: the cloud and the recovery key, fresh folders.
        val phone = File(dir, "new-phone").apply { mkdirs() }
        val newDb = File(phone, "chats.db").path
        val newMedia = File(phone, "media")
        val state = File(phone, "media-state").path
        BackupSecret.recoveryKey(recovery).use { openRepository(cloud, it) }.use { repository ->
            val snapshot = repository.loadSnapshots().last()
            assertEquals(7, snapshot.media!!.filesStored)
            repository.restoreFlow(newDb).result()
            // The chats and attachment rows are there before any media.
            assertEquals(readBack(db), readBack(newDb))
            ChatStore.open(newDb).use { assertEquals("Video/clip.mp4", it.attachments(10_005).single().localRef) }
            assertFalse(newMedia.exists())

            val sink = fileMediaSink(newMedia)
            val progress = mutableListOf<ProgressReport>()
            val family = repository.restoreMediaFlow(state, sink, filter = MediaFilter(conversations = listOf(2))).result { progress += it }
            assertEquals(4, family.filesRestored, "$family")
            assertEquals(setOf("Photos/cake.jpg", "Voice/note-1.ogg", "Documents/empty.pdf", "Photos/beach-forwarded.jpg"), filesUnder(newMedia).keys)
            val last = progress.last { it.phase == ProgressPhase.MEDIA }
            assertEquals(4L to 4L, last.filesDone to last.filesTotal)

            // On demand: the video of conversation 1, before the rest.
            val video = repository.loadMedia(state, 5, sink)
            assertEquals(MediaKind.VIDEO, video.kind)
            assertContentEquals(media[4].bytes, File(newMedia, "Video/clip.mp4").readBytes())

            // The photo that was never downloaded is not in the backup: typed, with its id.
            val missing = assertFailsWith<KeepsakeException.MediaUnavailable> { repository.loadMedia(state, 8, sink) }
            assertEquals(8, missing.attachmentId)
            assertEquals(missing.detail, missing.message)

            val rest = repository.restoreMediaFlow(state, sink).result()
            assertEquals(2, rest.filesRestored, "$rest")
            assertEquals(5, rest.filesAlreadyRestored)
            assertEquals(1, rest.filesNotInBackup)
            assertTrue(rest.lost.isEmpty())
        }
        assertEquals(filesUnder(files), filesUnder(newMedia))
        assertFalse(File(newMedia, "Photos/never-downloaded.jpg").exists())
    }

    @Test
    fun `a file the app fails to read is recorded absent and the backup goes on`() = runBlocking {
        val dir = tempDir("keepsake-media-fail")
        val (db, files) = oldPhone(dir)
        val plain = fileMediaSource(files)
        val failing = mediaSource(
            stat = { ref -> plain.stat(ref) },
            open = { ref ->
                if (ref.attachmentId == 2L) throw java.io.IOException("the SD card went away")
                File(files, ref.localRef).takeIf { it.isFile }?.inputStream()
            },
        )
        Keyring.create().use { keyring ->
            keyring.addRecoveryKey("Paper copy")
            createRepository(memoryBlobStore(), keyring).use { repository ->
                val report = ChatStore.open(db).use { repository.backupFlow(it, failing).result() }
                assertEquals(1, report.media!!.filesUnreadable)
                assertEquals(2, report.media!!.summary.filesAbsent)
                assertEquals(6, report.media!!.summary.filesStored)
            }
        }
    }
}
