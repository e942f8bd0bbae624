// The daily background backup, as the platform schedulers (WorkManager, BGTaskScheduler) run it:
// whether a backup is due, running it with the device's keyring, what to record, when to come
// back. The scheduling glue in the apps only hands over the clock and maps the outcome.
package app.keepsake.sample.flow

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.withContext

/** How often the sample backs up in the background, and how early a run may come. */
data class DailyBackupPolicy(
    val intervalMillis: Long = DAY_MILLIS,
    /**
     * A backup newer than this makes a run skip: the schedulers run a periodic job anywhere in a
     * window, so "less than a day ago" would skip every other day. A manual backup an hour ago
     * still counts.
     */
    val freshForMillis: Long = 20 * HOUR_MILLIS,
) {
    init {
        require(freshForMillis in 1..intervalMillis) { "freshForMillis must be in 1..intervalMillis" }
    }

    /** Whether a run at [nowMillis] backs up, given the keyring's presence and the last backup. */
    fun decide(nowMillis: Long, hasKeyring: Boolean, last: LastBackup?): DailyBackupDecision = when {
        !hasKeyring -> DailyBackupDecision.Skip(SkipReason.NOT_ENABLED)
        last != null && nowMillis - last.finishedAtEpochMillis in 0 until freshForMillis ->
            DailyBackupDecision.Skip(SkipReason.RECENT_BACKUP)
        else -> DailyBackupDecision.BackUp
    }

    /**
     * The earliest time the next run is useful: a day after the last backup, or now when that is
     * past (or the clock went back). BGTaskScheduler takes it as earliestBeginDate; WorkManager's
     * periodic work as the initial delay.
     */
    fun nextRunAt(nowMillis: Long, last: LastBackup?): Long {
        val due = last?.finishedAtEpochMillis?.plus(intervalMillis) ?: nowMillis
        return if (due < nowMillis || due - nowMillis > intervalMillis) nowMillis else due
    }

    companion object {
        const val HOUR_MILLIS = 60 * 60 * 1000L
        const val DAY_MILLIS = 24 * HOUR_MILLIS
    }
}

/** What a scheduled run does. */
sealed interface DailyBackupDecision {
    /** Back up now. */
    data object BackUp : DailyBackupDecision

    /** Nothing to do now. */
    data class Skip(val reason: SkipReason) : DailyBackupDecision
}

/** Why a scheduled run did not back up. */
enum class SkipReason {
    /** No keyring on this device yet: backups were never turned on. */
    NOT_ENABLED,

    /** A backup (scheduled or manual) finished recently enough. */
    RECENT_BACKUP,
}

/** How a scheduled run ended, as the Backup screen shows it. */
sealed interface ScheduledRunResult {
    /** Backed up; also recorded as the last backup. */
    data class Completed(val backup: LastBackup) : ScheduledRunResult

    /** Ran, had nothing to do. */
    data class Skipped(val reason: SkipReason) : ScheduledRunResult

    /** The system stopped the run (constraints lost, time up); nothing was written, it runs again. */
    data object Stopped : ScheduledRunResult

    /** Failed with [failure]; [willRetry] when the scheduler should try again soon. */
    data class Failed(val failure: Failure, val willRetry: Boolean) : ScheduledRunResult
}

/** One scheduled run: when it ended and how. */
data class ScheduledRun(val finishedAtEpochMillis: Long, val result: ScheduledRunResult)

/** Where the app keeps the last scheduled run (SharedPreferences, UserDefaults). */
interface ScheduledRunLog {
    /** The last scheduled run, or null. */
    suspend fun last(): ScheduledRun?

    /** Replaces the last scheduled run. */
    suspend fun record(run: ScheduledRun)
}

/**
 * Runs one scheduled backup: decides, backs up with the device's keyring (no prompt: the sealed
 * root key needs no user presence), records the result. Cancelling the calling coroutine (the
 * system stopping the worker or task) cancels the backup through Keepsake's cancellation, leaves
 * no file and records [ScheduledRunResult.Stopped].
 */
class DailyBackupRunner(
    private val engine: BackupEngine,
    private val vault: RootKeyVault,
    private val history: BackupHistory,
    private val log: ScheduledRunLog,
    private val backupPath: () -> String,
    private val policy: DailyBackupPolicy = DailyBackupPolicy(),
    private val clock: () -> Long = System::currentTimeMillis,
) {
    /** Runs now; returns (and has recorded) the result. Rethrows cancellation after recording. */
    suspend fun run(): ScheduledRunResult {
        val result = try {
            attempt()
        } catch (e: CancellationException) {
            withContext(NonCancellable) { log.record(ScheduledRun(clock(), ScheduledRunResult.Stopped)) }
            throw e
        } catch (e: Exception) {
            when (val failure = failureOf(e)) {
                Failure.CANCELLED -> ScheduledRunResult.Stopped
                else -> ScheduledRunResult.Failed(failure, willRetry = failure in RETRYABLE)
            }
        }
        withContext(NonCancellable) { log.record(ScheduledRun(clock(), result)) }
        return result
    }

    /** When the scheduler should run next, from what is recorded now. */
    suspend fun nextRunAt(): Long = policy.nextRunAt(clock(), history.last())

    private suspend fun attempt(): ScheduledRunResult {
        val secrets = vault.load()
        when (val decision = policy.decide(clock(), secrets != null, history.last())) {
            is DailyBackupDecision.Skip -> {
                secrets?.wipe()
                return ScheduledRunResult.Skipped(decision.reason)
            }
            DailyBackupDecision.BackUp -> Unit
        }
        val summary = withWipe(secrets!!) { engine.backUp(it, backupPath()) {} }
        val last = LastBackup(summary.path, clock(), summary.bytes, summary.messages)
        // Written and renamed into place: a late stop must not lose the record of it.
        withContext(NonCancellable) { history.record(last) }
        return ScheduledRunResult.Completed(last)
    }

    private companion object {
        /**
         * Failures a later run may not hit (storage, a busy database, a backup storage offline or
         * busy with another device); the others need the user.
         */
        val RETRYABLE = setOf(Failure.IO, Failure.DATABASE, Failure.OTHER, Failure.STORAGE_UNAVAILABLE, Failure.STORAGE_BUSY)
    }
}
