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

    /** Uploads only when [name] is free (an `If-None-Match: *` upload); false when it was taken. */
    fun uploadIfAbsent(name: String, data: ByteArray): Boolean = files.putIfAbsent(name, data.copyOf()) == null

    /** Every file under [prefix] with its size (a listing, all pages). */
    fun listFiles(prefix: String): List<Pair<String, Long>> =
        files.entries.filter { it.key.startsWith(prefix) }.map { it.key to it.value.size.toLong() }

    fun deleteIfExists(name: String) {
        files.remove(name)
    }

    fun sizeOf(name: String): Long? = files[name]?.size?.toLong()
}

private val docCacheDir: File by lazy { tempDir("keepsake-docs-cache") }

/** `android.content.Context.getCacheDir()`. */
val Context.cacheDir: File get() = docCacheDir

private val docFilesDir: File by lazy { tempDir("keepsake-docs-files") }

/** `android.content.Context.getFilesDir()`. */
val Context.filesDir: File get() = docFilesDir

private val docNoBackupDir: File by lazy { tempDir("keepsake-docs-no-backup") }

/** `android.content.Context.getNoBackupFilesDir()`. */
val Context.noBackupFilesDir: File get() = docNoBackupDir

/** The repository snippets' app state, next to [world]'s. */
class DocCloud(private val world: DocWorld) {
    val drive = Drive()

    /**
     * The app's media folder, with the attachment rows in the world's database: a photo
     * (attachment 1), a voice note (2), and a photo never downloaded to this phone (3).
     */
    val mediaDir: File by lazy {
        val dir = tempDir("keepsake-docs-media")
        val files = listOf(
            Triple("image/jpeg", "Photos/beach.jpg", kotlin.random.Random(1).nextBytes(300_000)),
            Triple("audio/ogg", "Voice/note.ogg", kotlin.random.Random(2).nextBytes(20_000)),
            Triple("image/jpeg", "Photos/old.jpg", null),
        )
        ChatStore.open(world.dbPath).use { store ->
            files.forEachIndexed { i, (mime, path, bytes) ->
                val id = i + 1L
                store.insertMessages(listOf(Message(
                    id = 9_000 + id, conversationId = 1, sender = "alice", kind = MessageKind.MEDIA, body = null,
                    sentAt = 1_700_100_000_000 + id, delivery = DeliveryState.READ,
                )))
                store.insertAttachments(listOf(Attachment(id = id, messageId = 9_000 + id, mime = mime, localRef = path)))
                bytes?.let { File(dir, path).apply { parentFile.mkdirs() }.writeBytes(it) }
            }
        }
        dir
    }

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
