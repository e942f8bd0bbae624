// The decision and run code behind the daily background backup (WorkManager's worker and the
// BGProcessingTask call DailyBackupRunner and only map its result).
package app.keepsake.sample.flow

import java.io.File
import java.nio.file.Files
import kotlin.test.AfterTest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.runBlocking

class DailyBackupTest {
    private val hour = DailyBackupPolicy.HOUR_MILLIS
    private val day = DailyBackupPolicy.DAY_MILLIS
    private val now = 1_800_000_000_000L
    private val policy = DailyBackupPolicy()
    private fun backupAt(millis: Long) = LastBackup("/b", millis, 10, 1)

    private val dir: File = Files.createTempDirectory("keepsake-daily").toFile()
    private val engine = FakeEngine()
    private val history = MemoryHistory()
    private val log = MemoryRunLog()
    private var clock = now

    /** A vault that remembers what it handed out, to check every root-key copy is wiped. */
    private val loaded = mutableListOf<KeyringSecrets>()
    private val vault = object : RootKeyVault by MemoryVault() {
        val inner = MemoryVault()
        override suspend fun save(secrets: KeyringSecrets) = inner.save(secrets)
        override suspend fun load() = inner.load()?.also { loaded += it }
    }
    private val runner = DailyBackupRunner(engine, vault, history, log, { File(dir, "daily.keepsake").path }, policy, { clock })

    private class MemoryRunLog : ScheduledRunLog {
        val runs = mutableListOf<ScheduledRun>()
        override suspend fun last() = runs.lastOrNull()
        override suspend fun record(run: ScheduledRun) {
            runs += run
        }
    }

    private suspend fun enableBackups() {
        val keyring = engine.createKeyring()
        vault.save(engine.addRecoveryKey(keyring, "Recovery key").first)
    }

    private fun wipedEverything() = loaded.all { secrets -> secrets.rootKey().all { it == 0.toByte() } }

    @AfterTest
    fun close() {
        dir.deleteRecursively()
    }

    @Test
    fun `the decision backs up only with a keyring and no fresh backup`() {
        assertEquals(DailyBackupDecision.Skip(SkipReason.NOT_ENABLED), policy.decide(now, hasKeyring = false, last = null))
        assertEquals(DailyBackupDecision.BackUp, policy.decide(now, hasKeyring = true, last = null))
        assertEquals(DailyBackupDecision.Skip(SkipReason.RECENT_BACKUP), policy.decide(now, true, backupAt(now - 2 * hour)))
        // A periodic run comes anywhere in its window: 21 hours is a day for it.
        assertEquals(DailyBackupDecision.BackUp, policy.decide(now, true, backupAt(now - 21 * hour)))
        // A clock set back must not stop backups for good.
        assertEquals(DailyBackupDecision.BackUp, policy.decide(now, true, backupAt(now + 5 * day)))
    }

    @Test
    fun `the next run is a day after the last backup, or now when that is past`() {
        assertEquals(now, policy.nextRunAt(now, null))
        assertEquals(now - 2 * hour + day, policy.nextRunAt(now, backupAt(now - 2 * hour)))
        assertEquals(now, policy.nextRunAt(now, backupAt(now - 30 * hour)))
        assertEquals(now, policy.nextRunAt(now, backupAt(now + 5 * day)))
    }

    @Test
    fun `a due run backs up with the device keyring, records it and wipes the key`() = runBlocking {
        enableBackups()
        val result = assertIs<ScheduledRunResult.Completed>(runner.run())
        assertEquals(1, engine.backups)
        assertEquals(result.backup, history.last())
        assertEquals(listOf(ScheduledRun(now, result)), log.runs)
        assertTrue(File(dir, "daily.keepsake").isFile)
        assertTrue(loaded.isNotEmpty() && wipedEverything(), "a root key copy was left unwiped")
        // Next run: tomorrow; an early run skips without touching the engine.
        assertEquals(now + day, runner.nextRunAt())
        clock = now + 3 * hour
        assertEquals(ScheduledRunResult.Skipped(SkipReason.RECENT_BACKUP), runner.run())
        assertEquals(1, engine.backups)
        assertTrue(wipedEverything())
    }

    @Test
    fun `without backups turned on a run skips and records why`() = runBlocking {
        assertEquals(ScheduledRunResult.Skipped(SkipReason.NOT_ENABLED), runner.run())
        assertEquals(0, engine.backups)
        assertEquals(ScheduledRunResult.Skipped(SkipReason.NOT_ENABLED), log.last()?.result)
    }

    @Test
    fun `a run the system stops records Stopped and leaves the last backup as it was`() {
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            runBlocking {
                enableBackups()
                val earlier = backupAt(now - 2 * day)
                history.record(earlier)
                // The backup starts and then waits (the gate never opens) until it is cancelled.
                engine.gate = CompletableDeferred()
                val entered = CompletableDeferred<Unit>()
                val signalling = object : BackupEngine by engine {
                    override suspend fun backUp(secrets: KeyringSecrets, destinationPath: String, onProgress: (Progress) -> Unit): BackupSummary {
                        entered.complete(Unit)
                        return engine.backUp(secrets, destinationPath, onProgress)
                    }
                }
                val stoppable = DailyBackupRunner(signalling, vault, history, log, { File(dir, "daily.keepsake").path }, policy, { clock })
                val running = scope.async { stoppable.run() }
                entered.await()
                running.cancelAndJoin()
                assertEquals(listOf<ScheduledRunResult>(ScheduledRunResult.Stopped), log.runs.map { it.result })
                assertEquals(earlier, history.last())
                assertFalse(File(dir, "daily.keepsake").exists(), "a stopped run left a file")
                assertEquals(0, engine.backups)
                assertTrue(wipedEverything())
            }
        } finally {
            scope.cancel()
        }
    }

    @Test
    fun `failures are recorded, storage failures retry and a damaged keyring does not`() = runBlocking {
        enableBackups()
        val full = DailyBackupRunner(
            object : BackupEngine by engine {
                override suspend fun backUp(secrets: KeyringSecrets, destinationPath: String, onProgress: (Progress) -> Unit) =
                    throw KeepsakeFlowException(Failure.IO, "no space left")
            },
            vault, history, log, { File(dir, "daily.keepsake").path }, policy, { clock },
        )
        assertEquals(ScheduledRunResult.Failed(Failure.IO, willRetry = true), full.run())
        val damaged = DailyBackupRunner(
            engine,
            object : RootKeyVault by vault {
                override suspend fun load() = KeyringSecrets(ByteArray(32) { 1 }, "unknown".toByteArray(), 1).also { loaded += it }
            },
            history, log, { File(dir, "daily.keepsake").path }, policy, { clock },
        )
        assertEquals(ScheduledRunResult.Failed(Failure.CORRUPTED, willRetry = false), damaged.run())
        assertEquals(2, log.runs.size)
        assertNull(history.last())
        assertTrue(wipedEverything())
    }

    @Test
    fun `a busy or unreachable backup storage retries later and a damaged one waits for the user`() = runBlocking {
        enableBackups()
        for ((failure, retry) in listOf(Failure.STORAGE_BUSY to true, Failure.STORAGE_UNAVAILABLE to true, Failure.STORAGE_DAMAGED to false)) {
            val runner = DailyBackupRunner(
                object : BackupEngine by engine {
                    override suspend fun backUp(secrets: KeyringSecrets, destinationPath: String, onProgress: (Progress) -> Unit) =
                        throw KeepsakeFlowException(failure, "the backup storage said no")
                },
                vault, history, log, { File(dir, "daily.keepsake").path }, policy, { clock },
            )
            assertEquals(ScheduledRunResult.Failed(failure, willRetry = retry), runner.run())
        }
        assertNull(history.last())
    }

    @Test
    fun `a rolled-back keyring fails the run without a retry and writes nothing`() = runBlocking {
        enableBackups()
        // The sealed generation is newer than the keyring the vault hands back (older public bytes).
        val rolledBack = DailyBackupRunner(
            engine,
            object : RootKeyVault by vault {
                override suspend fun load() = vault.load()?.let { stored ->
                    KeyringSecrets(stored.rootKey(), stored.publicKeyring(), stored.generation + 1).also {
                        stored.wipe()
                        loaded += it
                    }
                }
            },
            history, log, { File(dir, "daily.keepsake").path }, policy, { clock },
        )
        assertEquals(ScheduledRunResult.Failed(Failure.KEYRING_ROLLED_BACK, willRetry = false), rolledBack.run())
        assertEquals(0, engine.backups)
        assertFalse(File(dir, "daily.keepsake").exists(), "a refused run left a file")
        assertNull(history.last())
        assertTrue(wipedEverything())
        assertTrue(UserMessages.of(log.last()!!.result).text.startsWith("Daily backup failed: These backup keys are older"))
    }

    @Test
    fun `the Backup screen shows the last scheduled run`() = runBlocking {
        enableBackups()
        runner.run()
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            val backup = BackupViewModel(
                scope, engine, ScriptedProvider(), vault, history, { File(dir, "x").path }, scheduledRuns = log,
            )
            backup.load().join()
            val shown = backup.state.value.lastScheduledRun
            assertEquals(log.last(), shown)
            assertEquals("Daily backup done: 0 messages.", UserMessages.of(shown!!.result).text)
        } finally {
            scope.cancel()
        }
    }
}
