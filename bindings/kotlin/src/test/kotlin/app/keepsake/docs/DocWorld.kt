// What the Kotlin snippets of README.md and docs/KOTLIN.md take from the app and the platform,
// faked so the snippets compile and run unchanged: scripts/test-bindings.sh extracts every
// ```kotlin block into DocSnippetsTest (build output), each running inside a fresh DocWorld.
// Credential Manager is modelled by its types and calls, answered by the software authenticator
// in the mode real providers most often show (PRF output only at assertion), so a snippet that
// ignores the enrollment outcome enrolls nothing and fails here.
package app.keepsake.docs

import app.keepsake.*
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/** Stand-in for `android.content.Context`. */
object Context

open class CreateCredentialResponse
class CreatePublicKeyCredentialRequest(val requestJson: String)
class CreatePublicKeyCredentialResponse(val registrationResponseJson: String) : CreateCredentialResponse()
class GetPublicKeyCredentialOption(val requestJson: String)
class GetCredentialRequest(val credentialOptions: List<GetPublicKeyCredentialOption>)
open class Credential
class PublicKeyCredential(val authenticationResponseJson: String) : Credential()
class GetCredentialResponse(val credential: Credential)

/** `androidx.credentials.CredentialManager`, answered by a software authenticator. */
class FakeCredentialManager(private val authenticator: SoftAuthenticator) {
    suspend fun createCredential(context: Context, request: CreatePublicKeyCredentialRequest): CreateCredentialResponse =
        CreatePublicKeyCredentialResponse(authenticator.createJson(request.requestJson))

    suspend fun getCredential(context: Context, request: GetCredentialRequest): GetCredentialResponse =
        GetCredentialResponse(PublicKeyCredential(authenticator.getJson(request.credentialOptions.single().requestJson)))
}

/** The app around a snippet: a chat database with messages, storage, progress UI, upload. */
class DocWorld {
    private val dir: File = kotlin.io.path.createTempDirectory("keepsake-docs").toFile()
    private val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_ENABLED_WITHOUT_RESULTS)
    val ctx = Context
    val credentialManager = FakeCredentialManager(authenticator)
    val userHandle = byteArrayOf(1, 2, 3, 4)
    /** This phone's chat database, with messages. */
    val dbPath: String = File(dir, "chats.db").path.also { seedChats(it) }
    /** The new phone's database path (nothing there yet). */
    val newPhoneDbPath: String = File(dir, "new-phone.db").path
    val backupFile = File(dir, "chats.keepsake")
    val backupPath: String = backupFile.path
    val uploadStream = java.io.ByteArrayOutputStream()
    private var sealed: ByteArray? = null
    private var generationSealed: Long? = null
    private var stored: ByteArray? = null
    private var uploaded = 0
    private val progress = mutableListOf<Pair<Long, Long>>()

    /** Seals the root key with its generation (one Keystore-sealed record), replacing the old. */
    fun seal(rootKey: ByteArray, generation: Long) { sealed = rootKey.copyOf(); generationSealed = generation; rootKey.fill(0) }
    fun unseal(): ByteArray = checkNotNull(sealed) { "nothing sealed" }.copyOf()
    fun sealedGeneration(): Long = checkNotNull(generationSealed) { "nothing sealed" }
    fun save(publicBytes: ByteArray) { stored = publicBytes }
    fun load(): ByteArray = checkNotNull(stored) { "nothing saved" }
    fun upload(file: File) { assertTrue(file.length() > 0); uploaded++ }
    fun showProgress(done: Long, total: Long) { progress += done to total }
    fun log(level: LogLevel, message: String) = Unit

    /** After a snippet: what it restored matches what it backed up. */
    fun finish() {
        if (File(newPhoneDbPath).exists()) {
            assertEquals(readBack(dbPath), readBack(newPhoneDbPath), "the new phone's database differs")
        }
        progress.zipWithNext().forEach { (a, b) -> assertTrue(b.first >= a.first, "progress went back: $a then $b") }
        dir.deleteRecursively()
    }
}
