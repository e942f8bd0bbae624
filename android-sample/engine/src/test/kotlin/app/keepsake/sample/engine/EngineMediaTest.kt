// The media flows over the real library: the sample's view-models over BindingsBackupEngine with
// a backup repository in a folder shared by the "phones" of a test (their cloud), real files in
// each phone's media folder. JUnit tests, run by scripts/test-mobile-flows.sh (kotlinc + JUnit).
package app.keepsake.sample.engine

import app.keepsake.MediaOptions
import app.keepsake.sample.flow.BackupEngine
import app.keepsake.sample.flow.BackupViewModel
import app.keepsake.sample.flow.ChatViewModel
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.KeyringSecrets
import app.keepsake.sample.flow.MediaBackupCounts
import app.keepsake.sample.flow.MediaRestoreSummary
import app.keepsake.sample.flow.MemoryHistory
import app.keepsake.sample.flow.MemoryVault
import app.keepsake.sample.flow.Phase
import app.keepsake.sample.flow.Progress
import app.keepsake.sample.flow.RestoreUiState
import app.keepsake.sample.flow.RestoreViewModel
import app.keepsake.sample.flow.SoftwareAuthenticatorProvider
import app.keepsake.sample.flow.UnlockSecret
import app.keepsake.sample.flow.UserMessage
import app.keepsake.sample.flow.UserMessages
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Test
import java.io.File
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.random.Random

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

private suspend fun until(condition: () -> Boolean) {
    while (!condition()) delay(5)
}

/**
 * The engine with hooks around the media restore: [events] in order ("chats ready" when the
 * chats' restore returned, "media progress" for each report), [onMediaProgress] runs on
 * Keepsake's thread before each report is passed on.
 */
private class Recording(val inner: BindingsBackupEngine) : BackupEngine by inner {
    val events: MutableList<String> = Collections.synchronizedList(mutableListOf())
    @Volatile var onMediaProgress: (Progress) -> Unit = {}

    override suspend fun restoreFromRepository(secret: UnlockSecret, device: KeyringSecrets?, onProgress: (Progress) -> Unit) =
        inner.restoreFromRepository(secret, device, onProgress).also { events += "chats ready" }

    override suspend fun restoreMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit) =
        inner.restoreMedia(secrets) { progress ->
            events += "media progress"
            onMediaProgress(progress)
            onProgress(progress)
        }
}

/** A phone: its engine (own database, media folder, state), vault and view-models. */
private class Phone(val dir: File, val name: String, val scope: CoroutineScope, mediaOptions: MediaOptions? = null) {
    val engine = engineFor(dir, name, mediaOptions)
    val recording = Recording(engine)
    val vault = MemoryVault()
    val history = MemoryHistory()
    val chat = ChatViewModel(scope, engine)
    val media = File(dir, "$name-media")
    val provider get() = SoftwareAuthenticatorProvider(engine.demoAuthenticator())
    val backup by lazy { BackupViewModel(scope, engine, provider, vault, history, { File(dir, "$name.keepsake").path }) }
    fun restore() = RestoreViewModel(scope, recording, provider, vault)
}

class EngineMediaTest {
    private val dir: File = Files.createTempDirectory("keepsake-media").toFile()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    @After
    fun close() {
        scope.cancel()
        dir.deleteRecursively()
    }

    private fun flow(body: suspend () -> Unit) = runBlocking { withTimeout(90_000) { body() } }

    /** The files of the old phone: attachment id to its bytes (null: not on the phone), and to its place. */
    private val files = mutableMapOf<Long, ByteArray?>()
    private val refs = mutableMapOf<Long, String>()

    /**
     * A chat with a photo (3000 bytes), a voice note (70 000), a photo never downloaded and a
     * video over the 100 000 bytes limit; a recovery key; returns the key.
     */
    private suspend fun Phone.withMedia(): String {
        chat.newConversation("Ana")!!.join()
        chat.send("hello")!!.join()
        for ((ref, mime, size) in listOf(
            Triple("photos/a.jpg", "image/jpeg", 3000),
            Triple("voice/b.ogg", "audio/ogg", 70_000),
            Triple("photos/c.jpg", "image/jpeg", 5000),
            Triple("video/d.mp4", "video/mp4", 150_000),
        )) {
            val id = engine.sendAttachment("1", ref, mime, size.toLong())
            val bytes = if (ref == "photos/c.jpg") null else Random(id).nextBytes(size)
            bytes?.let { File(media, ref).apply { parentFile.mkdirs(); writeBytes(it) } }
            files[id] = bytes
            refs[id] = ref
        }
        backup.addRecoveryKey()!!.join()
        return backup.state.value.newRecoveryKey ?: throw AssertionError("no recovery key ${backup.state.value}")
    }

    private fun id(ref: String) = refs.entries.single { it.value == ref }.key

    /** The files restored on [phone] equal the old phone's (the ones in the backup). */
    private fun sameFiles(phone: Phone, ids: List<Long>) {
        for (id in ids) {
            val restored = File(phone.media, refs.getValue(id))
            expect(restored.isFile && restored.readBytes().contentEquals(files[id]!!)) { "attachment $id at $restored" }
        }
    }

    private suspend fun Phone.unlockedRepository(key: String, restore: RestoreViewModel = restore()): RestoreViewModel {
        restore.pickRepository()!!.join()
        val chosen = restore.state.value as? RestoreUiState.ChooseUnlock ?: throw AssertionError("${restore.state.value}")
        expect(chosen.info.fromRepository && chosen.canUseRecoveryKey) { "choice $chosen" }
        restore.unlockWithRecoveryKey(key)!!.join()
        return restore
    }

    @Test
    fun `a backup with media reports the chats, then the files in bytes and files, and the counts`() = flow {
        val old = Phone(dir, "old", scope, MediaOptions(maxFileBytes = 100_000))
        old.withMedia()
        val reports = Collections.synchronizedList(mutableListOf<Progress>())
        val summary = old.engine.backUpWithMedia(old.vault.load()!!) { reports += it }
        val phases = reports.map { it.phase }.distinct()
        expect(phases.first() == Phase.BACKUP && phases.last() == Phase.MEDIA) { "phases $phases" }
        expect(reports.dropWhile { it.phase != Phase.MEDIA }.all { it.phase == Phase.MEDIA }) { "a chats report after the files: $phases" }
        // The Media phase counts every attachment's recorded size (228 000 bytes, of which the
        // 73 000 of the two stored files were read) and every file, and ends at its total.
        val last = reports.last()
        expect(last.done == 228_000L && last.total == 228_000L && last.filesDone == 4L && last.filesTotal == 4L) { "last report $last" }
        expect(summary.media == MediaBackupCounts(2, 1, 1, 73_000, filesRead = 2, filesUnreadable = 0)) { "summary $summary" }

        // The screen: a second backup reads no file again, and shows the counts.
        old.backup.backUpWithMedia()!!.join()
        val state = old.backup.state.value
        expect(state.lastBackup?.media == MediaBackupCounts(2, 1, 1, 73_000, filesRead = 0, filesUnreadable = 0)) { "state $state" }
        expect(state.message == UserMessage("Backup complete: 2 photos and files in the backup (71.3 KB), 1 not on this phone, 1 skipped.", false)) {
            "message ${state.message}"
        }
    }

    @Test
    fun `a new phone gets the chats first, then the files in the background, byte for byte`() = flow {
        val old = Phone(dir, "old", scope, MediaOptions(maxFileBytes = 100_000))
        val key = old.withMedia()
        old.backup.backUpWithMedia()!!.join()

        val fresh = Phone(dir, "new", scope)
        var stateAtFirstMedia: RestoreUiState? = null
        lateinit var restore: RestoreViewModel
        fresh.recording.onMediaProgress = { if (stateAtFirstMedia == null) stateAtFirstMedia = restore.state.value }
        restore = fresh.restore()
        fresh.unlockedRepository(key, restore)
        val restored = restore.state.value as? RestoreUiState.Restored
        // When the snapshot was made is the backup's time; the rest is exact.
        expect(restored?.copy(backupTimeEpochSeconds = null) == RestoreUiState.Restored(messages = 5, conversations = 1)) { "state $restored" }
        expect(restored?.backupTimeEpochSeconds?.let { it > 1_700_000_000 } == true) { "time of $restored" }
        fresh.chat.refresh().join()
        expect(fresh.chat.state.value.conversations.map { it.title } == listOf("Ana")) { "chats ${fresh.chat.state.value}" }
        until { restore.media.value.result != null }
        val events = fresh.recording.events.toList()
        expect(events.first() == "chats ready" && events.drop(1).all { it == "media progress" } && events.size > 1) { "events $events" }
        expect(stateAtFirstMedia is RestoreUiState.Restored) { "first media report while $stateAtFirstMedia" }
        val media = restore.media.value
        expect(media.result == MediaRestoreSummary(2, 73_000, 0, 2, emptyList())) { "result ${media.result}" }
        expect(media.progress == Progress(Phase.MEDIA, 73_000, 73_000, 2, 2)) { "progress ${media.progress}" }
        expect(media.message == UserMessage("Restored 2 photos and files (71.3 KB now). 2 photos and files were not in the backup.", false)) {
            "message ${media.message}"
        }
        sameFiles(fresh, listOf(id("photos/a.jpg"), id("voice/b.ogg")))
        expect(!fresh.engine.mediaRestorePending()) { "still pending" }
        // The new phone backs up with the keyring it restored.
        fresh.backup.backUpWithMedia()!!.join()
        expect(fresh.backup.state.value.lastBackup?.media?.filesStored == 2L) { "backup ${fresh.backup.state.value}" }
    }

    @Test
    fun `a media restore stopped midway resumes in a new process and reports the files already restored`() = flow {
        val old = Phone(dir, "old", scope)
        val key = old.withMedia()
        for (n in 0 until 6) {
            val ref = "photos/more$n.jpg"
            val id = old.engine.sendAttachment("1", ref, "image/jpeg", 40_000)
            files[id] = Random(id).nextBytes(40_000).also { File(old.media, ref).apply { parentFile.mkdirs(); writeBytes(it) } }
            refs[id] = ref
        }
        old.backup.backUpWithMedia()!!.join()
        val stored = old.history.lastBackup?.media?.filesStored ?: throw AssertionError("no backup ${old.backup.state.value}")
        expect(stored == 9L) { "stored $stored" }

        val fresh = Phone(dir, "new", scope)
        // The run stops at the sixth file: a folder stands where it goes, so the sink fails there
        // (as a full disk or a killed process would stop it), after five files were restored.
        val obstacle = File(fresh.media, "photos/more2.jpg").apply { mkdirs() }
        File(obstacle, "keep").writeText("x")
        val restore = fresh.unlockedRepository(key)
        until { !restore.media.value.running }
        val stopped = restore.media.value
        expect(stopped.result == null && stopped.message?.text?.startsWith("Restoring photos and files stopped:") == true) { "first run $stopped" }
        expect(fresh.engine.mediaRestorePending()) { "not pending after the stop" }
        obstacle.deleteRecursively()

        // A new process: a new engine and view-model over the same folders.
        val relaunched = Phone(dir, "new", scope)
        relaunched.vault.stored = fresh.vault.stored
        val again = relaunched.restore()
        again.resumeMedia().join()
        val result = again.media.value.result ?: throw AssertionError("no result ${again.media.value}")
        expect(result.filesAlreadyRestored == 5L && result.filesRestored == 4L && result.filesNotInBackup == 1L) { "result $result" }
        sameFiles(relaunched, files.filterValues { it != null }.keys.toList())
        expect(!relaunched.engine.mediaRestorePending()) { "still pending" }
    }

    @Test
    fun `a photo opens on demand while the background restore runs, one not in the backup says so`() = flow {
        val old = Phone(dir, "old", scope)
        val key = old.withMedia()
        old.backup.backUpWithMedia()!!.join()

        val fresh = Phone(dir, "new", scope)
        // The background restore is held inside Keepsake (in its first report) until the fetch is done.
        val held = CountDownLatch(1)
        val fetched = CountDownLatch(1)
        fresh.recording.onMediaProgress = {
            held.countDown()
            fetched.await(30, TimeUnit.SECONDS)
        }
        val restore = fresh.unlockedRepository(key)
        expect(held.await(30, TimeUnit.SECONDS)) { "the media restore did not start" }
        val photo = id("voice/b.ogg")
        withTimeout(20_000) { restore.openAttachment(photo).join() }
        val opened = restore.media.value.opened ?: throw AssertionError("not opened: ${restore.media.value}")
        expect(restore.media.value.running && opened.attachmentId == photo && opened.mime == "audio/ogg" && opened.bytes == 70_000L) { "opened $opened" }
        expect(File(opened.path).readBytes().contentEquals(files[photo]!!)) { "file ${opened.path}" }
        withTimeout(20_000) { restore.openAttachment(id("photos/c.jpg")).join() }
        expect(restore.media.value.message == UserMessages.of(Failure.MEDIA_UNAVAILABLE)) { "unavailable ${restore.media.value}" }
        fetched.countDown()

        until { restore.media.value.result != null }
        val result = restore.media.value.result!!
        // The fetched file is not restored twice. (Keepsake counts it in neither filesRestored nor
        // filesAlreadyRestored when it was fetched after the run counted its files.)
        expect(result.filesRestored == 2L && result.filesNotInBackup == 1L) { "result $result" }
        sameFiles(fresh, listOf(id("photos/a.jpg"), photo, id("video/d.mp4")))
    }
}
