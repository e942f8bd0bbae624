// The composition root: one engine, vault and history per process, and the passkey provider of
// the activity in the foreground (Credential Manager needs an Activity; view-models outlive it).
package app.keepsake.sample

import android.app.Activity
import android.content.Context
import androidx.activity.ComponentActivity
import app.keepsake.sample.engine.BindingsBackupEngine
import app.keepsake.sample.flow.BackupEngine
import app.keepsake.sample.flow.BackupHistory
import app.keepsake.sample.flow.DailyBackupRunner
import app.keepsake.sample.flow.ForegroundPasskeyProvider
import app.keepsake.sample.flow.RootKeyVault
import app.keepsake.sample.flow.ScheduledRunLog
import app.keepsake.sample.flow.SoftwareAuthenticatorProvider
import java.io.File

/** Process-wide services; [demo] swaps Credential Manager for the software authenticator. */
class SampleServices private constructor(context: Context, val demo: Boolean) {
    private val app = context.applicationContext

    /**
     * Keepsake over the bindings, on the app's chat database and media folder. Backups with media
     * go into a repository in the app's files: the marked line is where a real app returns its
     * cloud BlobStore (docs/KOTLIN.md, "Daily incremental backups").
     */
    /** The Google account backups go to (sign-in, Drive store, usage for the screens). */
    val googleAccount = GoogleDriveAccount(app, demo)

    private val bindingsEngine = BindingsBackupEngine(
        File(app.filesDir, "chats.sqlite").path,
        BuildConfig.RP_ID,
        mediaDir = File(app.filesDir, "media"),
        // Kept out of Android's own backups, like the vault.
        mediaStateDir = File(app.noBackupFilesDir, "keepsake-media-state"),
        cacheDir = File(app.cacheDir, "keepsake").path,
        // Google Drive's app folder once an account is signed in, else the app's folder (demo).
        blobStore = { googleAccount.store },
    )
    val engine: BackupEngine = bindingsEngine
    val vault: RootKeyVault = KeystoreRootKeyVault(app)
    val history: BackupHistory = PreferencesBackupHistory(app)
    val scheduledRuns: ScheduledRunLog = PreferencesScheduledRunLog(app)

    /** The daily background backup that DailyBackupWorker runs. */
    val dailyBackups = DailyBackupRunner(engine, vault, history, scheduledRuns, ::backupPath)

    /** Where "back up now" writes; an app would stream to its cloud SDK instead (ByteSink). */
    fun backupPath(): String = File(app.getExternalFilesDir(null) ?: app.filesDir, "chats.keepsake").path

    /** The provider the view-models call; it forwards to the foreground activity's provider. */
    val passkeys = ForegroundPasskeyProvider()

    /** Called by the activity in onCreate: its provider serves ceremonies until it is destroyed. */
    fun attach(activity: Activity) {
        (activity as? ComponentActivity)?.let { googleAccount.foreground = it }
        passkeys.attach(
            activity,
            // Demo mode: the software authenticator lives in memory, so its passkeys last for the process.
            if (demo) SoftwareAuthenticatorProvider(bindingsEngine.demoAuthenticator())
            else CredentialManagerPrfProvider(activity),
        )
    }

    /**
     * Called by the activity in onDestroy, not onPause: the Credential Manager sheet pauses the
     * activity while a ceremony (or the next one of the same enrollment) still needs it.
     */
    fun detach(activity: Activity) {
        passkeys.detach(activity)
        if (googleAccount.foreground === activity) googleAccount.foreground = null
    }

    companion object {
        @Volatile private var instance: SampleServices? = null

        /** The services; the first caller decides demo mode for the process. */
        fun get(context: Context, demo: Boolean): SampleServices =
            instance ?: synchronized(this) { instance ?: SampleServices(context, demo).also { instance = it } }
    }
}
