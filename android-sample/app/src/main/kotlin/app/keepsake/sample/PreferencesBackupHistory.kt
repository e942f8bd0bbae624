// When the last backup finished, in SharedPreferences (not secret).
package app.keepsake.sample

import android.content.Context
import app.keepsake.sample.flow.BackupHistory
import app.keepsake.sample.flow.LastBackup
import app.keepsake.sample.flow.MediaBackupCounts

/** A [BackupHistory] in SharedPreferences. */
class PreferencesBackupHistory(context: Context) : BackupHistory {
    private val prefs = context.getSharedPreferences("keepsake-backup-history", Context.MODE_PRIVATE)

    override suspend fun last(): LastBackup? {
        val path = prefs.getString("path", null) ?: return null
        val media = if (prefs.contains("mediaStored")) {
            MediaBackupCounts(
                prefs.getLong("mediaStored", 0),
                prefs.getLong("mediaNotOnDevice", 0),
                prefs.getLong("mediaSkipped", 0),
                prefs.getLong("mediaBytes", 0),
            )
        } else {
            null
        }
        return LastBackup(path, prefs.getLong("finishedAt", 0), prefs.getLong("bytes", 0), prefs.getLong("messages", 0), media)
    }

    override suspend fun record(backup: LastBackup) {
        val editor = prefs.edit()
            .putString("path", backup.path)
            .putLong("finishedAt", backup.finishedAtEpochMillis)
            .putLong("bytes", backup.bytes)
            .putLong("messages", backup.messages)
        val media = backup.media
        if (media == null) {
            editor.remove("mediaStored")
        } else {
            editor.putLong("mediaStored", media.filesStored)
                .putLong("mediaNotOnDevice", media.filesNotOnDevice)
                .putLong("mediaSkipped", media.filesSkipped)
                .putLong("mediaBytes", media.bytesStored)
        }
        editor.apply()
    }
}
