// The composition root: one engine, vault and history per process, and the passkey provider of
// the activity in the foreground (Credential Manager needs an Activity; view-models outlive it).
package app.keepsake.sample

import android.app.Activity
import android.content.Context
import app.keepsake.sample.engine.BindingsBackupEngine
import app.keepsake.sample.flow.BackupEngine
import app.keepsake.sample.flow.BackupHistory
import app.keepsake.sample.flow.PasskeyPrfProvider
import app.keepsake.sample.flow.PasskeyResult
import app.keepsake.sample.flow.RootKeyVault
import app.keepsake.sample.flow.SoftwareAuthenticatorProvider
import java.io.File
import java.lang.ref.WeakReference

/** Process-wide services; [demo] swaps Credential Manager for the software authenticator. */
class SampleServices private constructor(context: Context, val demo: Boolean) {
    private val app = context.applicationContext

    /** Keepsake over the bindings, on the app's chat database. */
    private val bindingsEngine = BindingsBackupEngine(File(app.filesDir, "chats.sqlite").path, BuildConfig.RP_ID)
    val engine: BackupEngine = bindingsEngine
    val vault: RootKeyVault = KeystoreRootKeyVault(app)
    val history: BackupHistory = PreferencesBackupHistory(app)

    /** Where "back up now" writes; an app would stream to its cloud SDK instead (ByteSink). */
    fun backupPath(): String = File(app.getExternalFilesDir(null) ?: app.filesDir, "chats.keepsake").path

    /** The provider the view-models call; it forwards to the foreground activity's provider. */
    val passkeys = ForegroundPasskeyProvider()

    /** Called by the activity in onResume. */
    fun attach(activity: Activity) {
        passkeys.attach(
            // Demo mode: the software authenticator lives in memory, so its passkeys last for the process.
            if (demo) SoftwareAuthenticatorProvider(bindingsEngine.demoAuthenticator())
            else CredentialManagerPrfProvider(activity),
        )
    }

    /** Called by the activity in onPause. */
    fun detach() = passkeys.attach(null)

    companion object {
        @Volatile private var instance: SampleServices? = null

        /** The services; the first caller decides demo mode for the process. */
        fun get(context: Context, demo: Boolean): SampleServices =
            instance ?: synchronized(this) { instance ?: SampleServices(context, demo).also { instance = it } }
    }
}

/** Forwards ceremonies to the provider of the activity in the foreground, held weakly. */
class ForegroundPasskeyProvider : PasskeyPrfProvider {
    @Volatile private var current = WeakReference<PasskeyPrfProvider>(null)

    internal fun attach(provider: PasskeyPrfProvider?) {
        current = WeakReference(provider)
    }

    // No activity in the foreground: the prompt cannot be shown now; the user retries.
    override suspend fun register(requestJson: String) = current.get()?.register(requestJson) ?: PasskeyResult.Interrupted

    override suspend fun authenticate(requestJson: String) = current.get()?.authenticate(requestJson) ?: PasskeyResult.Interrupted
}
