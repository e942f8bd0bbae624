// Demo mode and tests: a PasskeyPrfProvider over Keepsake's software authenticator, which computes
// the PRF exactly as the WebAuthn spec does, so the app runs on an emulator without Play services.
package app.keepsake.sample.flow

/** The JSON face of a WebAuthn authenticator (the bindings' software authenticator has it). */
interface JsonAuthenticator {
    /** Answers a registration request JSON with registration response JSON. */
    fun create(requestJson: String): String

    /** Answers an assertion request JSON with authentication response JSON. */
    fun get(requestJson: String): String
}

/**
 * Runs ceremonies on a [JsonAuthenticator]. The software authenticator reports a request it
 * cannot answer (no matching credential) by throwing; that becomes [PasskeyResult.NoCredential]
 * when it is a [KeepsakeFlowException] of kind NO_MATCHING_SLOT and [PasskeyResult.Failed] otherwise.
 */
class SoftwareAuthenticatorProvider(private val authenticator: JsonAuthenticator) : PasskeyPrfProvider {
    override suspend fun register(requestJson: String): PasskeyResult = answer { authenticator.create(requestJson) }

    override suspend fun authenticate(requestJson: String): PasskeyResult = answer { authenticator.get(requestJson) }

    private inline fun answer(call: () -> String): PasskeyResult =
        try {
            PasskeyResult.Success(call())
        } catch (e: KeepsakeFlowException) {
            if (e.failure == Failure.NO_MATCHING_SLOT) PasskeyResult.NoCredential else PasskeyResult.Failed(e.message.orEmpty())
        }
}
