// When the last backup finished, in SharedPreferences (not secret).
package app.keepsake.sample

import android.content.Context
import app.keepsake.sample.flow.BackupHistory
import app.keepsake.sample.flow.LastBackup

/** A [BackupHistory] in SharedPreferences. */
class PreferencesBackupHistory(context: Context) : BackupHistory {
    private val prefs = context.getSharedPreferences("keepsake-backup-history", Context.MODE_PRIVATE)

    override suspend fun last(): LastBackup? {
        val path = prefs.getString("path", null) ?: return null
        return LastBackup(path, prefs.getLong("finishedAt", 0), prefs.getLong("bytes", 0), prefs.getLong("messages", 0))
    }

    override suspend fun record(backup: LastBackup) {
        prefs.edit()
            .putString("path", backup.path)
            .putLong("finishedAt", backup.finishedAtEpochMillis)
            .putLong("bytes", backup.bytes)
            .putLong("messages", backup.messages)
            .apply()
    }
}
