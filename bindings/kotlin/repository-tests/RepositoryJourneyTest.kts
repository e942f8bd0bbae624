// The backup repository journey in Kotlin, run by scripts/test-bindings.sh (repository block):
//   kotlinc -classpath keepsake.jar:jna.jar:kotlinx-coroutines-core-jvm.jar -script RepositoryJourneyTest.kts
// The app implements BlobStore twice, over a directory and over an in-memory map, and runs the
// journey on each: enable, back up, add messages, back up again and see how little was uploaded,
// restore on a "new device" with the passkey (software authenticator), prune, check.
import app.keepsake.*
import java.io.File
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.runBlocking

var passed = 0
var failed = 0

fun test(name: String, body: suspend () -> Unit) {
    try {
        runBlocking { body() }
        passed++
        println("ok   $name")
    } catch (e: Throwable) {
        failed++
        println("FAIL $name: $e")
        e.printStackTrace(System.out)
    }
}

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

inline fun <reified E : Throwable> expectError(body: () -> Unit): E {
    val e = runCatching(body).exceptionOrNull()
    if (e !is E) throw AssertionError("expected ${E::class.simpleName}, got $e")
    return e
}

/** Counts what a store receives, so the journey can see how little a second backup uploads. */
abstract class CountingStore : BlobStore {
    val uploaded = AtomicLong()
    @Volatile var offline = false
    fun online() { if (offline) throw java.io.IOException("no network") }
}

/** A BlobStore over a directory, as an app would write one over its own files API. */
class DirectoryStore(private val root: File) : CountingStore() {
    private fun file(name: String) = File(root, name)
    override fun put(name: String, data: ByteArray) {
        online()
        val target = file(name)
        target.parentFile.mkdirs()
        val temp = File(target.parentFile, ".${target.name}.${System.nanoTime()}.part")
        temp.outputStream().use { it.write(data); it.fd.sync() }
        if (!temp.renameTo(target)) throw java.io.IOException("rename $temp")
        uploaded.addAndGet(data.size.toLong())
    }
    override fun get(name: String, range: ByteRange?): ByteArray {
        online()
        val f = file(name)
        if (!f.isFile) throw BlobStoreException.NotFound(name)
        if (range == null) return f.readBytes()
        java.io.RandomAccessFile(f, "r").use { raf ->
            val start = minOf(range.offset.toLong(), raf.length())
            val n = minOf(range.len.toLong(), raf.length() - start).toInt()
            val out = ByteArray(n)
            raf.seek(start)
            raf.readFully(out)
            return out
        }
    }
    override fun list(prefix: String): List<String> {
        online()
        return root.walkTopDown().filter { it.isFile && !it.name.startsWith(".") }
            .map { it.relativeTo(root).invariantSeparatorsPath }
            .filter { it.startsWith(prefix) }.toList()
    }
    override fun delete(name: String) { online(); file(name).delete() }
    override fun stat(name: String): ULong? { online(); return file(name).takeIf { it.isFile }?.length()?.toULong() }
}

/** A BlobStore over an in-memory map. */
class MapStore : CountingStore() {
    val objects = ConcurrentHashMap<String, ByteArray>()
    override fun put(name: String, data: ByteArray) { online(); objects[name] = data.copyOf(); uploaded.addAndGet(data.size.toLong()) }
    override fun get(name: String, range: ByteRange?): ByteArray {
        online()
        val data = objects[name] ?: throw BlobStoreException.NotFound(name)
        if (range == null) return data.copyOf()
        val start = minOf(range.offset.toLong(), data.size.toLong()).toInt()
        val end = minOf(start.toLong() + range.len.toLong(), data.size.toLong()).toInt()
        return data.copyOfRange(start, end)
    }
    override fun list(prefix: String): List<String> { online(); return objects.keys.filter { it.startsWith(prefix) } }
    override fun delete(name: String) { online(); objects.remove(name) }
    override fun stat(name: String): ULong? { online(); return objects[name]?.size?.toULong() }
}

val rp = "chat.example.com"
val work = java.nio.file.Files.createTempDirectory("keepsake-kotlin-repo").toFile()

fun messages(conversation: Long, firstId: Long, count: Int) = (0 until count).map { i ->
    Message(
        id = firstId + i, conversationId = conversation, sender = if (i % 3 == 0) "me" else "sam",
        kind = MessageKind.TEXT, body = "message ${firstId + i}: see you at ${i % 24}:00 👋 ${"x".repeat(i % 50)}",
        sentAt = 1_700_000_000_000 + (firstId + i) * 1000, delivery = DeliveryState.READ,
    )
}

fun journey(label: String, store: CountingStore) {
    val dbPath = File(work, "$label-chat.db").path
    val keyring = Keyring.create()
    val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION)
    lateinit var repository: Repository
    lateinit var first: RepoBackupReport

    test("$label: enable backups (passkey, recovery key, repository)") {
        PasskeyEnrollment(keyring, rp, "Keepsake Chat", byteArrayOf(4, 2), "sam", "Sam", "Pixel passkey").use { enrollment ->
            val outcome = enrollment.finishRegistrationJson(authenticator.createJson(enrollment.registrationRequestJson()))
            check(outcome is EnrollmentOutcome.Enrolled) { "outcome $outcome" }
        }
        keyring.addRecoveryKey("Paper copy")
        repository = createRepository(store, keyring, File(work, "$label-cache").path)
        check(store.stat("config") != null) { "no config object" }
        expectError<KeepsakeException.InvalidArgument> { Repository.create(store, keyring, null) }
    }

    test("$label: the first backup uploads the history, with progress") {
        ChatStore.open(dbPath).use { chats ->
            chats.upsertConversation(Conversation(id = 1, kind = ConversationKind.DIRECT, createdAt = 1))
            chats.upsertConversation(Conversation(id = 2, kind = ConversationKind.GROUP, title = "Climbing", createdAt = 2))
            chats.insertMessages(messages(1, 1, 3_000))
            chats.insertMessages(messages(2, 10_001, 2_000))
            val phases = mutableSetOf<ProgressPhase>()
            first = repository.backupFlow(chats).result { phases += it.phase }
            check(first.counts.messages == 5_000uL) { "counts ${first.counts}" }
            check(first.newChunks == first.chunks && first.chunks > 1uL) { "chunks $first" }
            check(ProgressPhase.BACKUP in phases) { "phases $phases" }
        }
    }

    test("$label: after new messages the second backup uploads little") {
        ChatStore.open(dbPath).use { chats ->
            chats.insertMessages(messages(2, 12_001, 25))
            val before = store.uploaded.get()
            val second = repository.backupFlow(chats).result()
            val received = store.uploaded.get() - before
            check(second.counts.messages == 5_025uL) { "counts ${second.counts}" }
            check(received < first.bytesUploaded.toLong() / 4) { "uploaded $received after ${first.bytesUploaded}" }
            check(second.newChunks < second.chunks) { "chunks $second" }
            println("   $label: first backup ${first.bytesUploaded} bytes, second $received bytes (${second.newChunks}/${second.chunks} chunks new)")
        }
        val snapshots = repository.snapshotsAsync()
        check(snapshots.size == 2 && snapshots[1].parent == snapshots[0].id) { "snapshots $snapshots" }
    }

    test("$label: a new device restores with the passkey") {
        // Nothing but the store and the passkey (synced by the platform's password manager).
        val unlock = PasskeyUnlock.forRepository(store, rp, false)
        val secret = unlock.finishJson(authenticator.getJson(unlock.requestJson()))
        val device = openRepository(store, secret, null)
        val target = File(work, "$label-restored.db").path
        val report = device.restoreFlow(target).result()
        check(report.counts?.messages == 5_025uL) { "restored ${report.counts}" }
        ChatStore.open(target).use { restored ->
            check(restored.message(12_025)?.body == messages(2, 12_001, 25).last().body) { "latest message" }
        }
        device.keyring().use { k -> check(k.id().contentEquals(keyring.id())) { "keyring id" } }
        val older = File(work, "$label-older.db").path
        val firstId = device.snapshotsAsync().first().id
        check(device.restoreFlow(older, firstId).result().counts?.messages == 5_000uL) { "older snapshot" }
        device.close()
    }

    test("$label: prune keeps the latest and check reads everything") {
        val pruned = repository.pruneFlow(RetentionPolicy(keepLast = 1u)).result()
        check(pruned.snapshotsKept == 1uL && pruned.snapshotsRemoved == 1uL) { "pruned $pruned" }
        val checked = repository.checkFlow(1.0).result()
        check(checked.snapshots == 1uL && checked.chunksAuthenticated > 0uL) { "checked $checked" }
    }

    test("$label: a failing store and a wrong key are typed errors") {
        store.offline = true
        val e = expectError<KeepsakeException.Storage> { repository.snapshots() }
        check(e.detail.contains("no network")) { "detail ${e.detail}" }
        store.offline = false
        val other = Keyring.create().use { it.addRecoveryKey("other").recoveryKey }
        expectError<KeepsakeException.WrongKey> { BackupSecret.recoveryKey(other).use { Repository.open(store, it, null) } }
        expectError<KeepsakeException.ObjectMissing> {
            BackupSecret.recoveryKey(other).use { Repository.open(MapStore(), it, null) }
        }
        repository.close()
    }
}

journey("directory", DirectoryStore(File(work, "repo").apply { mkdirs() }))
journey("memory", MapStore())

test("the built-in stores behave like the app's") {
    val builtIn = memoryBlobStore()
    builtIn.put("data/ab", byteArrayOf(1, 2, 3, 4))
    check(builtIn.get("data/ab", ByteRange(1uL, 2uL)).toList() == listOf<Byte>(2, 3)) { "range" }
    expectError<BlobStoreException.NotFound> { builtIn.get("data/zz", null) }
    val dir = directoryBlobStore(File(work, "builtin").path)
    dir.put("config", byteArrayOf(9))
    check(dir.list("") == listOf("config")) { "list ${dir.list("")}" }
}

work.deleteRecursively()
println("kotlin: $passed passed, $failed failed")
if (failed > 0) kotlin.system.exitProcess(1)
