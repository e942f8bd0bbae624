// The Google account the backups go to, on the device: "Sign in with Google" through Credential
// Manager (the account's e-mail, for the screens), then the drive.appdata scope through Identity's
// AuthorizationClient, whose access tokens the Drive store sends. The store and its token port
// are platform-free in :drive (tested on the JVM against a Drive stand-in); this file is the glue
// that only a device runs (docs/MOBILE.md).
package app.keepsake.sample

import android.accounts.Account
import android.app.Activity
import android.content.Context
import androidx.activity.ComponentActivity
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.IntentSenderRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.credentials.CredentialManager
import androidx.credentials.CustomCredential
import androidx.credentials.GetCredentialRequest
import androidx.credentials.exceptions.GetCredentialCancellationException
import androidx.credentials.exceptions.GetCredentialException
import app.keepsake.BlobStore
import app.keepsake.ByteRange
import app.keepsake.ObjectInfo
import app.keepsake.directoryBlobStore
import app.keepsake.sample.drive.AccessTokens
import app.keepsake.sample.drive.DRIVE_APPDATA_SCOPE
import app.keepsake.sample.drive.DriveBlobStore
import app.keepsake.sample.drive.DriveHttp
import app.keepsake.sample.drive.SignInRequiredException
import app.keepsake.sample.engine.BlobStoreCloudAccount
import app.keepsake.sample.flow.BackupPlace
import app.keepsake.sample.flow.CloudAccount
import com.google.android.gms.auth.api.identity.AuthorizationRequest
import com.google.android.gms.auth.api.identity.AuthorizationResult
import com.google.android.gms.auth.api.identity.ClearTokenRequest
import com.google.android.gms.auth.api.identity.Identity
import com.google.android.gms.common.api.Scope
import com.google.android.gms.tasks.Tasks
import com.google.android.libraries.identity.googleid.GetGoogleIdOption
import com.google.android.libraries.identity.googleid.GoogleIdTokenCredential
import java.io.File
import java.util.UUID
import kotlin.coroutines.resume
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.tasks.await
import kotlinx.coroutines.withContext

/**
 * The signed-in Google account and the store backups use: Google Drive's app folder once an
 * account is signed in, else (demo mode, or before signing in) a folder of the app.
 */
class GoogleDriveAccount(context: Context, private val demo: Boolean) {
    private val app = context.applicationContext
    private val prefs = app.getSharedPreferences("keepsake-google-account", Context.MODE_PRIVATE)
    private val localStore by lazy { directoryBlobStore(File(app.filesDir, "keepsake-repository").path) }
    @Volatile private var driveStore: DriveBlobStore? = null

    /** The activity in the foreground, for the sign-in sheets (set by SampleServices.attach). */
    @Volatile var foreground: ComponentActivity? = null

    /** The signed-in account's e-mail, or null. */
    val email: String? get() = prefs.getString(KEY_EMAIL, null)

    /** The store the engine uses: it follows the sign-in, so the engine can keep one object. */
    val store: BlobStore = object : BlobStore {
        private fun current(): BlobStore = currentStore()
        override fun put(name: String, data: ByteArray) = current().put(name, data)
        override fun get(name: String, range: ByteRange?): ByteArray = current().get(name, range)
        override fun create(name: String, data: ByteArray): Boolean = current().create(name, data)
        override fun list(prefix: String): List<ObjectInfo> = current().list(prefix)
        override fun delete(name: String) = current().delete(name)
        override fun stat(name: String): Long? = current().stat(name)
    }

    /** The CloudAccount port of the screens (CloudBackupViewModel). */
    val cloudAccount: CloudAccount = BlobStoreCloudAccount(
        store = { store },
        currentPlace = ::place,
        signInWith = ::signIn,
        freeBytes = { withContext(Dispatchers.IO) { driveStore?.storageQuota()?.let { q -> q.limit?.minus(q.usage) } } },
    )

    private fun place(): BackupPlace? = email?.let { BackupPlace.GoogleDrive(it) } ?: if (demo) BackupPlace.ThisPhone else null

    private fun currentStore(): BlobStore {
        val account = email ?: return localStore
        return driveStore ?: synchronized(this) {
            driveStore ?: DriveBlobStore(DriveHttp(DRIVE_BASE_URL, DriveTokens(app, account))).also { driveStore = it }
        }
    }

    /**
     * "Sign in with Google" (Credential Manager), then the Drive consent when the app does not
     * hold it yet. Null when the user backed out of either sheet.
     */
    suspend fun signIn(): BackupPlace? {
        val activity = foreground ?: return null
        val option = GetGoogleIdOption.Builder()
            .setServerClientId(BuildConfig.GOOGLE_WEB_CLIENT_ID)
            .setFilterByAuthorizedAccounts(false)
            .build()
        val credential = try {
            CredentialManager.create(activity).getCredential(activity, GetCredentialRequest(listOf(option))).credential
        } catch (e: GetCredentialCancellationException) {
            return null
        } catch (e: GetCredentialException) {
            throw SignInRequiredException("Google sign-in failed: ${e.type}", e)
        }
        if (credential !is CustomCredential || credential.type != GoogleIdTokenCredential.TYPE_GOOGLE_ID_TOKEN_CREDENTIAL) {
            throw SignInRequiredException("Google sign-in returned an unexpected credential")
        }
        val account = GoogleIdTokenCredential.createFrom(credential.data).id
        if (!grantDriveAccess(activity, account)) return null
        synchronized(this) {
            prefs.edit().putString(KEY_EMAIL, account).apply()
            driveStore = null
        }
        return BackupPlace.GoogleDrive(account)
    }

    /** Asks for drive.appdata for [account], showing Google's consent sheet when needed. */
    private suspend fun grantDriveAccess(activity: ComponentActivity, account: String): Boolean {
        val result = Identity.getAuthorizationClient(activity).authorize(driveRequest(account)).await()
        if (!result.hasResolution()) return result.accessToken != null
        val pending = result.pendingIntent ?: return false
        // A launcher registered for this one sheet (the activity may be recreated meanwhile).
        return suspendCancellableCoroutine { done ->
            val key = "keepsake-drive-consent-${UUID.randomUUID()}"
            lateinit var launcher: ActivityResultLauncher<IntentSenderRequest>
            launcher = activity.activityResultRegistry.register(key, ActivityResultContracts.StartIntentSenderForResult()) { answer ->
                launcher.unregister()
                val granted = answer.resultCode == Activity.RESULT_OK && runCatching {
                    Identity.getAuthorizationClient(activity).getAuthorizationResultFromIntent(answer.data).accessToken != null
                }.getOrDefault(false)
                done.resume(granted)
            }
            done.invokeOnCancellation { launcher.unregister() }
            launcher.launch(IntentSenderRequest.Builder(pending.intentSender).build())
        }
    }

    companion object {
        private const val KEY_EMAIL = "email"
        private const val DRIVE_BASE_URL = "https://www.googleapis.com"

        fun driveRequest(account: String): AuthorizationRequest = AuthorizationRequest.builder()
            .setRequestedScopes(listOf(Scope(DRIVE_APPDATA_SCOPE)))
            .setAccount(Account(account, "com.google"))
            .build()
    }
}

/**
 * Access tokens for the Drive store from AuthorizationClient, on the store's worker threads
 * (blocking calls are fine there, never on the main thread). A token Drive refused is cleared
 * from Play services' cache first, so the next authorize returns a fresh one; when only the user
 * can help (consent withdrawn, account removed) the store reports Unauthorized and the screen
 * offers the sign-in. Tokens are never logged.
 */
private class DriveTokens(private val context: Context, private val account: String) : AccessTokens {
    override fun token(rejected: String?): String {
        val client = Identity.getAuthorizationClient(context)
        if (rejected != null) {
            runCatching { Tasks.await(client.clearToken(ClearTokenRequest.builder().setToken(rejected).build())) }
        }
        val result: AuthorizationResult = try {
            Tasks.await(client.authorize(GoogleDriveAccount.driveRequest(account)))
        } catch (e: Exception) {
            throw SignInRequiredException("Google Drive access could not be confirmed", e)
        }
        if (result.hasResolution()) throw SignInRequiredException("Google Drive access needs your consent again")
        return result.accessToken ?: throw SignInRequiredException("Google Drive gave no access token")
    }

    override fun toString() = "DriveTokens(account redacted)"
}
