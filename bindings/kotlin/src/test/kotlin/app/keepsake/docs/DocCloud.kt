// What the repository snippets of docs/KOTLIN.md take from the app besides DocWorld: its cloud
// SDK (`drive`, the app's own Google Drive wrapper, faked over a map), its cache folder
// (`ctx.cacheDir`) and the device keyring it enabled backups with (a passkey enrolled through the
// world's credential manager, so a new phone can open the repository with it, and a recovery
// key). scripts/doc-snippets.sh runs every snippet inside `DocCloud(world).run { ... }`.
package app.keepsake.docs

import app.keepsake.*
import java.io.File
import java.util.concurrent.ConcurrentHashMap
import kotlinx.coroutines.runBlocking
import kotlin.test.assertIs

/** The app's cloud SDK, as a map of files; only whole-file uploads, as most cloud APIs have. */
class Drive {
    private val files = ConcurrentHashMap<String, ByteArray>()

    fun uploadAtomically(name: String, data: ByteArray) {
        files[name] = data.copyOf()
    }

    /** [length] bytes from [offset] (an HTTP Range request), or the whole file; null when missing. */
    fun download(name: String, offset: Long?, length: Long?): ByteArray? {
        val data = files[name] ?: return null
        if (offset == null || length == null) return data.copyOf()
        val start = minOf(offset, data.size.toLong()).toInt()
        return data.copyOfRange(start, minOf(start + length, data.size.toLong()).toInt())
    }

    fun listNames(prefix: String): List<String> = files.keys.filter { it.startsWith(prefix) }

    fun deleteIfExists(name: String) {
        files.remove(name)
    }

    fun sizeOf(name: String): Long? = files[name]?.size?.toLong()
}

private val docCacheDir: File by lazy { tempDir("keepsake-docs-cache") }

/** `android.content.Context.getCacheDir()`. */
val Context.cacheDir: File get() = docCacheDir

/** The repository snippets' app state, next to [world]'s. */
class DocCloud(private val world: DocWorld) {
    val drive = Drive()

    /** The device keyring of an app that enabled backups: a passkey and a recovery key. */
    val keyring: Keyring by lazy {
        runBlocking {
            val keyring = Keyring.create()
            PasskeyEnrollment(keyring, "chat.example.com", "Example Chat", world.userHandle, "alice", "Alice", "Pixel").use { e ->
                val created = world.credentialManager.createCredential(world.ctx, CreatePublicKeyCredentialRequest(e.registrationRequestJson()))
                val outcome = e.finishRegistrationJson((created as CreatePublicKeyCredentialResponse).registrationResponseJson)
                assertIs<EnrollmentOutcome.NeedsAssertion>(outcome)
                val got = world.credentialManager.getCredential(world.ctx, GetCredentialRequest(listOf(GetPublicKeyCredentialOption(outcome.requestJson))))
                e.finishAssertionJson((got.credential as PublicKeyCredential).authenticationResponseJson)
            }
            keyring.addRecoveryKey("Paper copy")
            keyring
        }
    }
}
