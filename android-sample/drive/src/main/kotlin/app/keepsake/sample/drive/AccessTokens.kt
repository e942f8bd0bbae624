package app.keepsake.sample.drive

/**
 * Where the Drive store gets its OAuth access token (scope [DRIVE_APPDATA_SCOPE]). On Android
 * the app implements it with the Identity `AuthorizationClient` (`GoogleDriveAuthorizer` in the
 * app module); tests hand out fixed strings. Called from the store's worker threads, so it may
 * block, and must be thread-safe.
 */
interface AccessTokens {
    /**
     * A token to send. With [rejected] set, Drive refused that token (HTTP 401): drop it from
     * any cache and return a fresh one. Throw [SignInRequiredException] when only the user can
     * help (signed out, scope withdrawn, consent needed): the store reports `Unauthorized`.
     */
    fun token(rejected: String? = null): String
}

/** The user must sign in or grant Drive access again; no token can be had without the UI. */
class SignInRequiredException(message: String, cause: Throwable? = null) : Exception(message, cause)

/** The only scope the store needs: the app's hidden folder, not the user's files (non-sensitive). */
const val DRIVE_APPDATA_SCOPE = "https://www.googleapis.com/auth/drive.appdata"
