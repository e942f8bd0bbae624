// The last daily background run, in SharedPreferences (not secret), for the Backup screen.
package app.keepsake.sample

import android.content.Context
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.LastBackup
import app.keepsake.sample.flow.ScheduledRun
import app.keepsake.sample.flow.ScheduledRunLog
import app.keepsake.sample.flow.ScheduledRunResult
import app.keepsake.sample.flow.SkipReason

/** A [ScheduledRunLog] in SharedPreferences; an unreadable entry reads as no run. */
class PreferencesScheduledRunLog(context: Context) : ScheduledRunLog {
    private val prefs = context.getSharedPreferences("keepsake-scheduled-runs", Context.MODE_PRIVATE)

    override suspend fun last(): ScheduledRun? {
        val at = prefs.getLong("finishedAt", -1).takeIf { it >= 0 } ?: return null
        val result = when (prefs.getString("kind", null)) {
            "completed" -> ScheduledRunResult.Completed(
                LastBackup(prefs.getString("path", "").orEmpty(), at, prefs.getLong("bytes", 0), prefs.getLong("messages", 0)),
            )
            "skipped" -> ScheduledRunResult.Skipped(enumOrNull<SkipReason>(prefs.getString("reason", null)) ?: return null)
            "stopped" -> ScheduledRunResult.Stopped
            "failed" -> ScheduledRunResult.Failed(
                enumOrNull<Failure>(prefs.getString("reason", null)) ?: return null,
                prefs.getBoolean("willRetry", false),
            )
            else -> return null
        }
        return ScheduledRun(at, result)
    }

    override suspend fun record(run: ScheduledRun) {
        val edit = prefs.edit().clear().putLong("finishedAt", run.finishedAtEpochMillis)
        when (val result = run.result) {
            is ScheduledRunResult.Completed -> edit.putString("kind", "completed").putString("path", result.backup.path)
                .putLong("bytes", result.backup.bytes).putLong("messages", result.backup.messages)
            is ScheduledRunResult.Skipped -> edit.putString("kind", "skipped").putString("reason", result.reason.name)
            ScheduledRunResult.Stopped -> edit.putString("kind", "stopped")
            is ScheduledRunResult.Failed -> edit.putString("kind", "failed").putString("reason", result.failure.name)
                .putBoolean("willRetry", result.willRetry)
        }
        // commit, not apply: the worker's process may end right after doWork returns.
        edit.commit()
    }

    private inline fun <reified E : Enum<E>> enumOrNull(name: String?): E? = enumValues<E>().firstOrNull { it.name == name }
}
