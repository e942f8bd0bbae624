// The view-models over ports whose platform implementations throw their own exceptions: a
// Keystore AEADBadTagException (the sealed key no longer opens, e.g. after the Keystore key was
// invalidated) or an IOException. Escaping a coroutine launched on viewModelScope, either would
// crash the app; the screens must show a message instead and keep working.
package app.keepsake.sample.flow

import java.io.File
import java.io.IOException
import java.nio.file.Files
import java.util.Collections
import javax.crypto.AEADBadTagException
import kotlin.test.AfterTest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking

class PlatformExceptionTest {
    /** What reached the scope uncaught: on Android, the app's crash. */
    private val uncaught: MutableList<Throwable> = Collections.synchronizedList(mutableListOf())
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineExceptionHandler { _, e -> uncaught += e })
    private val dir: File = Files.createTempDirectory("keepsake-platform").toFile()
    private val engine = FakeEngine()

    /** A vault whose sealed copy stopped opening, like a Keystore key that was invalidated. */
    private class FailingVault(private val failure: () -> Exception) : RootKeyVault {
        val inner = MemoryVault()
        var failLoads = false
        override suspend fun save(secrets: KeyringSecrets) = inner.save(secrets)
        override suspend fun load(): KeyringSecrets? = if (failLoads) throw failure() else inner.load()
        override suspend fun clear() = inner.clear()
    }

    private class FailingHistory : BackupHistory {
        override suspend fun last(): LastBackup? = throw IOException("preferences unreadable")
        override suspend fun record(backup: LastBackup) = throw IOException("disk full")
    }

    private fun backupModel(vault: RootKeyVault, history: BackupHistory = MemoryHistory()) =
        BackupViewModel(scope, engine, ScriptedProvider(), vault, history, { File(dir, "chats.keepsake").path })

    @AfterTest
    fun close() {
        scope.cancel()
        dir.deleteRecursively()
    }

    @Test
    fun `a Keystore failure while backing up is shown, not thrown`() = runBlocking {
        val vault = FailingVault { AEADBadTagException("Tag mismatch") }
        val backup = backupModel(vault)
        backup.addRecoveryKey()!!.join()
        vault.failLoads = true
        backup.backUpNow()!!.join()
        assertEquals(emptyList(), uncaught.toList())
        val state = backup.state.value
        assertNull(state.work, "still busy")
        assertEquals(UserMessages.of(Failure.OTHER), state.message)
        assertEquals(0, engine.backups)
        // The screen still works: the next attempt runs.
        vault.failLoads = false
        backup.backUpNow()!!.join()
        assertEquals(1, engine.backups)
    }

    @Test
    fun `an IOException from the history is shown as a file error on load and after a backup`() = runBlocking {
        val vault = FailingVault { IOException() }
        val backup = backupModel(vault, FailingHistory())
        backup.load().join()
        assertTrue(backup.state.value.loaded)
        assertEquals(UserMessages.of(Failure.IO), backup.state.value.message)
        backup.addRecoveryKey()!!.join()
        backup.backUpNow()!!.join()
        assertEquals(emptyList(), uncaught.toList())
        assertNull(backup.state.value.work)
        assertEquals(UserMessages.of(Failure.IO), backup.state.value.message)
    }

    @Test
    fun `a vault that cannot save after a restore sends the user back to the unlock choice`() = runBlocking {
        val source = FailingVault { IOException() }
        val backup = backupModel(source)
        backup.addRecoveryKey()!!.join()
        val key = backup.state.value.newRecoveryKey!!
        backup.backUpNow()!!.join()

        val target = object : RootKeyVault by MemoryVault() {
            override suspend fun save(secrets: KeyringSecrets) = throw AEADBadTagException("Keystore refused")
        }
        val restore = RestoreViewModel(scope, engine, ScriptedProvider(), target)
        restore.pickFile(File(dir, "chats.keepsake").path)!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        assertEquals(emptyList(), uncaught.toList())
        val state = assertIs<RestoreUiState.ChooseUnlock>(restore.state.value)
        assertEquals(UserMessages.of(Failure.OTHER), state.message)
    }

    @Test
    fun `the chat screen shows an engine's platform exception`() = runBlocking {
        val failing = object : BackupEngine by engine {
            override suspend fun conversations(): List<ConversationSummary> = throw IllegalStateException("database closed")
        }
        val chat = ChatViewModel(scope, failing)
        chat.refresh().join()
        assertEquals(emptyList(), uncaught.toList())
        assertEquals(UserMessages.of(Failure.OTHER), chat.state.value.message)
    }

    @Test
    fun `cancellation is still cancellation`() {
        val cancelled = kotlinx.coroutines.CancellationException("stop")
        val thrown = runCatching { failureOf(cancelled) }.exceptionOrNull()
        assertEquals(cancelled, thrown)
        assertEquals(Failure.IO, failureOf(IOException()))
        assertEquals(Failure.WRONG_KEY, failureOf(KeepsakeFlowException(Failure.WRONG_KEY, "x")))
    }
}
