// The one thing the flows need from the platform's passkey API. Android implements it with
// Credential Manager (app: CredentialManagerPrfProvider), demo mode and the tests with the software
// authenticator. No android.* imports here: this file is compiled and tested on the JVM.
package app.keepsake.sample.flow

/**
 * Runs WebAuthn ceremonies: takes the request JSON Keepsake builds (with the PRF extension) and
 * returns the platform's response JSON untouched. Keepsake parses and checks the response, so a
 * provider never interprets it.
 */
interface PasskeyPrfProvider {
    /** Creates a passkey: `registrationResponseJson` on success. */
    suspend fun register(requestJson: String): PasskeyResult

    /** Signs in with a passkey: `authenticationResponseJson` on success. */
    suspend fun authenticate(requestJson: String): PasskeyResult
}

/** How a ceremony ended. Every platform failure maps onto exactly one of these. */
sealed interface PasskeyResult {
    /** The provider answered; [responseJson] goes back to Keepsake as is. */
    data class Success(val responseJson: String) : PasskeyResult

    /** The user dismissed the sheet: not an error, nothing to report. */
    data object Cancelled : PasskeyResult

    /** No passkey for this app on the device or in the user's password managers. */
    data object NoCredential : PasskeyResult

    /**
     * The device cannot do passkeys for this app: no provider enabled, Play services missing or
     * outdated, or Digital Asset Links / associated domains not set up. [detail] is for logs.
     */
    data class NotConfigured(val detail: String) : PasskeyResult

    /**
     * The authenticator refused with a WebAuthn DOM error, such as `NotAllowedError` or
     * `InvalidStateError` (the passkey already exists). [name] is the DOM error's name.
     */
    data class Rejected(val name: String, val detail: String) : PasskeyResult

    /** The ceremony was interrupted (for example the app went to the background): retry. */
    data object Interrupted : PasskeyResult

    /** Anything else the platform reported. */
    data class Failed(val detail: String) : PasskeyResult
}
