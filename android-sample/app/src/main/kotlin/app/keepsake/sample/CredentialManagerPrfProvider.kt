// Passkey ceremonies through androidx.credentials. Thin on purpose: it hands Keepsake's request
// JSON to Credential Manager and returns the response JSON, and turns every Credential Manager
// exception into one PasskeyResult. Keepsake parses and checks the JSON.
package app.keepsake.sample

import android.app.Activity
import androidx.credentials.CreatePublicKeyCredentialRequest
import androidx.credentials.CreatePublicKeyCredentialResponse
import androidx.credentials.CredentialManager
import androidx.credentials.GetCredentialRequest
import androidx.credentials.GetPublicKeyCredentialOption
import androidx.credentials.PublicKeyCredential
import androidx.credentials.exceptions.CreateCredentialCancellationException
import androidx.credentials.exceptions.CreateCredentialException
import androidx.credentials.exceptions.CreateCredentialInterruptedException
import androidx.credentials.exceptions.CreateCredentialNoCreateOptionException
import androidx.credentials.exceptions.CreateCredentialProviderConfigurationException
import androidx.credentials.exceptions.CreateCredentialUnknownException
import androidx.credentials.exceptions.GetCredentialCancellationException
import androidx.credentials.exceptions.GetCredentialException
import androidx.credentials.exceptions.GetCredentialInterruptedException
import androidx.credentials.exceptions.GetCredentialProviderConfigurationException
import androidx.credentials.exceptions.GetCredentialUnknownException
import androidx.credentials.exceptions.NoCredentialException
import androidx.credentials.exceptions.domerrors.AbortError
import androidx.credentials.exceptions.domerrors.ConstraintError
import androidx.credentials.exceptions.domerrors.DomError
import androidx.credentials.exceptions.domerrors.InvalidStateError
import androidx.credentials.exceptions.domerrors.NotAllowedError
import androidx.credentials.exceptions.domerrors.NotSupportedError
import androidx.credentials.exceptions.domerrors.SecurityError
import androidx.credentials.exceptions.domerrors.TimeoutError
import androidx.credentials.exceptions.publickeycredential.CreatePublicKeyCredentialDomException
import androidx.credentials.exceptions.publickeycredential.GetPublicKeyCredentialDomException
import app.keepsake.sample.flow.PasskeyPrfProvider
import app.keepsake.sample.flow.PasskeyResult

/**
 * A [PasskeyPrfProvider] over Credential Manager. [activity] must be the foreground activity:
 * Credential Manager shows its bottom sheet over it.
 */
class CredentialManagerPrfProvider(private val activity: Activity) : PasskeyPrfProvider {
    private val credentialManager = CredentialManager.create(activity)

    override suspend fun register(requestJson: String): PasskeyResult = try {
        val response = credentialManager.createCredential(activity, CreatePublicKeyCredentialRequest(requestJson))
        when (response) {
            is CreatePublicKeyCredentialResponse -> PasskeyResult.Success(response.registrationResponseJson)
            else -> PasskeyResult.Failed("unexpected response type ${response.type}")
        }
    } catch (e: CreateCredentialException) {
        createFailure(e)
    }

    override suspend fun authenticate(requestJson: String): PasskeyResult = try {
        val request = GetCredentialRequest(listOf(GetPublicKeyCredentialOption(requestJson)))
        when (val credential = credentialManager.getCredential(activity, request).credential) {
            is PublicKeyCredential -> PasskeyResult.Success(credential.authenticationResponseJson)
            else -> PasskeyResult.Failed("unexpected credential type ${credential.type}")
        }
    } catch (e: GetCredentialException) {
        getFailure(e)
    }

    private fun createFailure(e: CreateCredentialException): PasskeyResult = when (e) {
        is CreateCredentialCancellationException -> PasskeyResult.Cancelled
        is CreateCredentialInterruptedException -> PasskeyResult.Interrupted
        // No provider enabled, Play services missing or too old, or no provider can store a passkey.
        is CreateCredentialProviderConfigurationException -> PasskeyResult.NotConfigured(e.describe())
        is CreateCredentialNoCreateOptionException -> PasskeyResult.NotConfigured(e.describe())
        is CreatePublicKeyCredentialDomException -> domFailure(e.domError, e.describe())
        is CreateCredentialUnknownException -> PasskeyResult.Failed(e.describe())
        else -> PasskeyResult.Failed(e.describe())
    }

    private fun getFailure(e: GetCredentialException): PasskeyResult = when (e) {
        is GetCredentialCancellationException -> PasskeyResult.Cancelled
        is GetCredentialInterruptedException -> PasskeyResult.Interrupted
        is NoCredentialException -> PasskeyResult.NoCredential
        is GetCredentialProviderConfigurationException -> PasskeyResult.NotConfigured(e.describe())
        is GetPublicKeyCredentialDomException -> domFailure(e.domError, e.describe())
        is GetCredentialUnknownException -> PasskeyResult.Failed(e.describe())
        else -> PasskeyResult.Failed(e.describe())
    }

    /**
     * DOM errors by class, not by class name (R8 renames classes). A SecurityError means the RP id
     * does not match the app's Digital Asset Links: a setup problem, not a user decision.
     */
    private fun domFailure(error: DomError, detail: String): PasskeyResult = when (error) {
        is SecurityError -> PasskeyResult.NotConfigured("SecurityError (check assetlinks.json): $detail")
        is NotSupportedError -> PasskeyResult.NotConfigured("NotSupportedError: $detail")
        is AbortError -> PasskeyResult.Interrupted
        is NotAllowedError -> PasskeyResult.Rejected("NotAllowedError", detail)
        is InvalidStateError -> PasskeyResult.Rejected("InvalidStateError", detail)
        is ConstraintError -> PasskeyResult.Rejected("ConstraintError", detail)
        is TimeoutError -> PasskeyResult.Rejected("TimeoutError", detail)
        else -> PasskeyResult.Rejected(error.type, detail)
    }

    private fun CreateCredentialException.describe() = "$type: ${errorMessage ?: ""}"
    private fun GetCredentialException.describe() = "$type: ${errorMessage ?: ""}"
}
