// JUnit tests of the media flows: the backup into the repository with the attachments' files (the
// chats, then the Media phase in files and bytes, then the counts), and the restore from it (the
// chats ready first, the files in the background, resumed after the app was killed, one opened on
// demand, lost ones and MediaUnavailable shown). Over the test doubles of Fakes.kt.
package app.keepsake.sample.flow

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.After
import org.junit.Test

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

private suspend fun until(condition: () -> Boolean) {
    while (!condition()) yield()
}

class MediaFlowTest {
    private val fixture = Fixture()

    @After
    fun close() = fixture.close()

    private fun flow(body: suspend Fixture.() -> Unit) = runBlocking { withTimeout(10_000) { fixture.body() } }

    /**
     * A chat with five attachments: a photo (1000 bytes) and a voice note (2072) on the phone, a
     * photo never downloaded (not on the phone), a video over the size limit (skipped) and a file
     * the phone cannot read.
     */
    private suspend fun Fixture.chatWithMedia(): String {
        chat.newConversation("Ana")!!.join()
        chat.send("look")!!.join()
        engine.attachments += listOf(
            FakeAttachment(1, "image/jpeg", 1000),
            FakeAttachment(2, "audio/ogg", 2072),
            FakeAttachment(3, "image/jpeg", null),
            FakeAttachment(4, "video/mp4", 50_000),
            FakeAttachment(5, "application/pdf", 10),
        )
        engine.maxMediaBytes = 10_000
        engine.unreadable += 5
        backup.addRecoveryKey()!!.join()
        return backup.state.value.newRecoveryKey ?: throw AssertionError("no recovery key: ${backup.state.value}")
    }

    /** Backs up with media (no gates) and checks it completed. */
    private suspend fun Fixture.backedUpWithMedia(): String {
        val key = chatWithMedia()
        backup.backUpWithMedia()!!.join()
        expect(history.lastBackup?.media != null) { "no backup with media: ${backup.state.value}" }
        return key
    }

    // --- Backup screen ---------------------------------------------------------------------------
    @Test
    fun `backing up with media shows the chats, then the media phase in files and bytes, then the counts`() = flow {
        chatWithMedia()
        val chats = CompletableDeferred<Unit>()
        val media = CompletableDeferred<Unit>()
        engine.gate = chats
        engine.mediaGate = media
        val job = backup.backUpWithMedia()!!
        until { (backup.state.value.work as? BackupWork.BackingUp)?.progress != null }
        val first = backup.state.value.work as BackupWork.BackingUp
        expect(first.withMedia && first.progress == Progress(Phase.BACKUP, 0, 1)) { "first report $first" }
        expect(ProgressText.of(first.progress) == "Backing up chats: 0%") { ProgressText.of(first.progress) }
        chats.complete(Unit)
        until { (backup.state.value.work as? BackupWork.BackingUp)?.progress?.phase == Phase.MEDIA }
        val files = (backup.state.value.work as BackupWork.BackingUp).progress!!
        expect(files == Progress(Phase.MEDIA, 0, 3072, filesDone = 0, filesTotal = 2)) { "media report $files" }
        expect(ProgressText.of(files) == "Photos and files: 0 of 2 files, 0 B of 3.0 KB") { ProgressText.of(files) }
        media.complete(Unit)
        job.join()

        val state = backup.state.value
        val counts = MediaBackupCounts(filesStored = 2, filesNotOnDevice = 2, filesSkipped = 1, bytesStored = 3072, filesRead = 2, filesUnreadable = 1)
        expect(state.work == null && state.lastBackup?.media == counts) { "last backup ${state.lastBackup}" }
        expect(history.lastBackup == state.lastBackup && state.lastBackup?.messages == 1L) { "history ${history.lastBackup}" }
        expect(
            state.message == UserMessage("Backup complete: 2 photos and files in the backup (3.0 KB), 2 not on this phone, 1 skipped.", isError = false),
        ) { "message ${state.message}" }
        // The single-file backup still works beside it and says nothing about media.
        backup.backUpNow()!!.join()
        expect(backup.state.value.message == UserMessage("Backup complete.", isError = false) && history.lastBackup?.media == null) {
            "file backup ${backup.state.value}"
        }
    }

    @Test
    fun `the progress line maps phases, files and bytes`() {
        expect(ProgressText.of(Progress(Phase.MEDIA, 1536, 3L shl 20, 1, 3)) == "Photos and files: 1 of 3 files, 1.5 KB of 3.0 MB") { "media" }
        expect(ProgressText.of(Progress(Phase.MEDIA, 10, null, 0, 0)) == "Photos and files: 0 of 0 files, 10 B") { "no total" }
        expect(ProgressText.of(Progress(Phase.RESTORE, 5, 20)) == "Restoring chats: 25%") { "restore" }
        expect(ProgressText.of(Progress(Phase.CHECK, 0, null)) == "Checking") { "check" }
        expect(ProgressText.of(null) == "Starting…") { "none" }
        expect(ProgressText.bytes(1023) == "1023 B" && ProgressText.bytes(5L shl 30) == "5.0 GB") { "bytes" }
    }

    @Test
    fun `a backup with media without a keyring asks to turn backups on and writes nothing`() = flow {
        backup.backUpWithMedia()!!.join()
        expect(backup.state.value.message?.isError == true && engine.calls.isEmpty()) { "state ${backup.state.value}, ${engine.calls}" }
        expect(restore.pickRepository()!!.let { it.join(); restore.state.value } == RestoreUiState.ChooseFile(UserMessages.noRepository)) {
            "repository ${restore.state.value}"
        }
    }

    // --- Restore screen --------------------------------------------------------------------------
    @Test
    fun `the chats are ready before any media progress, then the files restore in the background`() = flow {
        val key = backedUpWithMedia()
        var stateAtMediaStart: RestoreUiState? = null
        var mediaAtStart: MediaRestoreUiState? = null
        engine.onMediaRestoreStart = {
            stateAtMediaStart = restore.state.value
            mediaAtStart = restore.media.value
        }
        val gate = CompletableDeferred<Unit>()
        engine.mediaGate = gate
        restore.pickRepository()!!.join()
        val chosen = restore.state.value as? RestoreUiState.ChooseUnlock ?: throw AssertionError("${restore.state.value}")
        expect(chosen.info.fromRepository && chosen.canUseRecoveryKey && chosen.canUsePasskey && chosen.canUsePassword) { "choice $chosen" }
        restore.unlockWithRecoveryKey(key)!!.join()
        // The same phone: it keeps its own keyring (the same one, not older).
        expect(restore.state.value == RestoreUiState.Restored(messages = 1, conversations = 1, keptDeviceKeyring = true, backupTimeEpochSeconds = engine.snapshotTime)) {
            "state ${restore.state.value}"
        }
        until { restore.media.value.progress != null }
        expect(stateAtMediaStart is RestoreUiState.Restored) { "the media restore began on $stateAtMediaStart" }
        expect(mediaAtStart?.running == true && mediaAtStart?.progress == null) { "media at start $mediaAtStart" }
        expect(engine.calls.takeLast(2) == listOf("restore", "media")) { "calls ${engine.calls}" }
        val running = restore.media.value
        expect(running.running && running.message == UserMessages.mediaFollows) { "running $running" }
        expect(running.progress == Progress(Phase.MEDIA, 0, 3072, 0, 2)) { "progress ${running.progress}" }
        // Meanwhile the app shows the chats.
        chat.refresh().join()
        expect(chat.state.value.conversations.map { it.title } == listOf("Ana")) { "chats ${chat.state.value}" }

        gate.complete(Unit)
        until { !restore.media.value.running }
        val done = restore.media.value
        val summary = MediaRestoreSummary(filesRestored = 2, bytesRestored = 3072, filesAlreadyRestored = 0, filesNotInBackup = 3, lost = emptyList())
        expect(done.result == summary && done.progress == Progress(Phase.MEDIA, 3072, 3072, 2, 2)) { "done $done" }
        expect(done.message == UserMessage("Restored 2 photos and files (3.0 KB now). 3 photos and files were not in the backup.", isError = false)) {
            "message ${done.message}"
        }
        expect(engine.restoredMedia == mapOf(1L to 1000L, 2L to 2072L) && !engine.mediaRestorePending()) { "restored ${engine.restoredMedia}" }
    }

    @Test
    fun `a wrong key restores nothing and starts no media restore`() = flow {
        backedUpWithMedia()
        restore.pickRepository()!!.join()
        restore.unlockWithRecoveryKey("ABCD-EFGH-WRONG")!!.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.WRONG_KEY)) { "state $state" }
        expect("media" !in engine.calls && !restore.media.value.running) { "calls ${engine.calls}" }
    }

    @Test
    fun `attachments lost to damage are listed with their reasons`() = flow {
        val key = backedUpWithMedia()
        engine.damaged[2] = "pack data/3fa2 is damaged"
        restore.pickRepository()!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        until { restore.media.value.result != null }
        val media = restore.media.value
        expect(media.result?.lost == listOf(LostAttachment(2, "pack data/3fa2 is damaged"))) { "result ${media.result}" }
        expect(media.lostLines == listOf("Attachment 2 could not be restored: pack data/3fa2 is damaged")) { "lines ${media.lostLines}" }
        expect(media.message?.isError == true && media.message!!.text.endsWith("1 photo or file could not be restored.")) { "message ${media.message}" }
        expect(media.result?.filesRestored == 1L && media.result?.filesNotInBackup == 3L) { "counts ${media.result}" }
    }

    @Test
    fun `an interrupted media restore resumes after the app is killed and counts the files already restored`() = flow {
        val key = backedUpWithMedia()
        engine.mediaFailsAfter = 1
        restore.pickRepository()!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        until { !restore.media.value.running && restore.media.value.message != UserMessages.mediaFollows }
        val stopped = restore.media.value
        expect(stopped.result == null && stopped.message == UserMessages.mediaInterrupted(Failure.IO)) { "stopped $stopped" }
        expect(stopped.message!!.text.endsWith("It continues where it stopped.")) { stopped.message!!.text }
        expect(engine.restoredMedia.keys == setOf(1L) && engine.mediaRestorePending()) { "restored ${engine.restoredMedia}" }

        // The app was killed: a new process, a new view-model, the same state on disk.
        engine.mediaFailsAfter = null
        val relaunched = RestoreViewModel(scope, engine, provider, vault)
        relaunched.resumeMedia().join()
        val resumed = relaunched.media.value
        expect(resumed.result == MediaRestoreSummary(1, 2072, 1, 3, emptyList())) { "resumed ${resumed.result}" }
        expect(engine.restoredMedia.keys == setOf(1L, 2L) && !engine.mediaRestorePending()) { "restored ${engine.restoredMedia}" }
        // Nothing left: the next launch starts nothing.
        val calls = engine.calls.size
        RestoreViewModel(scope, engine, provider, vault).resumeMedia().join()
        expect(engine.calls.size == calls) { "ran again: ${engine.calls}" }
    }

    @Test
    fun `a cancelled media restore says so and resumes`() = flow {
        val key = backedUpWithMedia()
        val gate = CompletableDeferred<Unit>()
        engine.mediaGate = gate
        restore.pickRepository()!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        until { restore.media.value.progress != null }
        restore.cancelMedia()
        until { !restore.media.value.running }
        expect(restore.media.value.message == UserMessages.mediaInterrupted(Failure.CANCELLED)) { "media ${restore.media.value}" }
        engine.mediaGate = null
        restore.resumeMedia().join()
        expect(restore.media.value.result?.filesRestored == 2L) { "resumed ${restore.media.value}" }
    }

    @Test
    fun `a photo not restored yet opens on demand during the restore, one not in the backup says so`() = flow {
        val key = backedUpWithMedia()
        val gate = CompletableDeferred<Unit>()
        engine.mediaGate = gate
        restore.pickRepository()!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        until { restore.media.value.progress != null }

        restore.openAttachment(2).join()
        var media = restore.media.value
        expect(media.running && media.opened == MediaFile(2, "media/2", "audio/ogg", 2072) && media.message == null) { "opened $media" }
        restore.openAttachment(3).join()
        media = restore.media.value
        expect(media.message == UserMessages.of(Failure.MEDIA_UNAVAILABLE) && media.opening == null) { "unavailable $media" }
        expect(media.message == UserMessage("This photo or file was not in the backup.", isError = false)) { "words ${media.message}" }
        expect(engine.calls.takeLast(2) == listOf("load 2", "load 3")) { "calls ${engine.calls}" }

        gate.complete(Unit)
        until { restore.media.value.result != null }
        val result = restore.media.value.result!!
        expect(result.filesRestored == 1L && result.filesAlreadyRestored == 1L && result.bytesRestored == 1000L) { "result $result" }
    }
}
