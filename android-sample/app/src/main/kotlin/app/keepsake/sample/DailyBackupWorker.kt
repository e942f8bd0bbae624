// The daily background backup on Android: WorkManager runs DailyBackupWorker once a day on an
// unmetered network while charging. The decision and the run are DailyBackupRunner's (flow module,
// tested on the JVM); this file only schedules it and maps its result onto WorkManager's.
package app.keepsake.sample

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.keepsake.sample.flow.DailyBackupPolicy
import app.keepsake.sample.flow.ScheduledRunResult
import java.util.concurrent.TimeUnit

/**
 * One scheduled run. When WorkManager stops the worker (constraints lost, quota), it cancels this
 * coroutine; the engine turns that into Keepsake's cancellation, nothing is written, and the runner
 * records the run as stopped before the cancellation propagates.
 */
class DailyBackupWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val services = SampleServices.get(applicationContext, demo = false)
        return when (val result = services.dailyBackups.run()) {
            is ScheduledRunResult.Completed, is ScheduledRunResult.Skipped -> Result.success()
            ScheduledRunResult.Stopped -> Result.retry()
            is ScheduledRunResult.Failed -> if (result.willRetry) Result.retry() else Result.failure()
        }
    }

    companion object {
        private const val UNIQUE_NAME = "keepsake-daily-backup"

        /**
         * Schedules the daily run once: KEEP leaves an existing schedule alone, so app starts do
         * not push the next run back. [initialDelayMillis]: from DailyBackupRunner.nextRunAt.
         */
        fun schedule(context: Context, initialDelayMillis: Long) {
            val constraints = Constraints.Builder()
                .setRequiredNetworkType(NetworkType.UNMETERED)
                .setRequiresCharging(true)
                .build()
            val request = PeriodicWorkRequestBuilder<DailyBackupWorker>(DailyBackupPolicy.DAY_MILLIS, TimeUnit.MILLISECONDS)
                .setConstraints(constraints)
                .setInitialDelay(initialDelayMillis.coerceAtLeast(0), TimeUnit.MILLISECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(UNIQUE_NAME, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /** Stops scheduling (the user turned backups off). */
        fun cancel(context: Context) {
            WorkManager.getInstance(context).cancelUniqueWork(UNIQUE_NAME)
        }
    }
}
