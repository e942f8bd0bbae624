// The backup repository from Kotlin (issue 10), through Repository.kt's Flow/suspend layer and the
// generated Repository, over three blob stores: two an app writes itself (a directory, a map) and
// the built-in memory store. Every store sits behind AppStore, the app's own wrapper that counts
// what it uploads and can go offline, fail or stall, as a cloud SDK does. One journey per store
// (@Parameterized) backs up twice and is shared by the read-only tests; tests that change a
// repository (failures, cancels, prune, damage) make their own.
package app.keepsake

import java.io.File
import java.io.IOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** A BlobStore over a local directory, as an app writes one over its files API. */
class DirectoryStore(private val root: File) : BlobStore {
    init {
        root.mkdirs()
    }

    private fun file(name: String) = File(root, name)

    override fun put(name: String, data: ByteArray) {
        val target = file(name)
        target.parentFile.mkdirs()
        // Atomic: a temporary file, synced, then renamed over the object.
        val temp = File(target.parentFile, ".${target.name}.${System.nanoTime()}.part")
        temp.outputStream().use { it.write(data); it.fd.sync() }
        if (!temp.renameTo(target)) throw IOException("cannot rename $temp to $target")
    }

    override fun get(name: String, range: ByteRange?): ByteArray {
        val f = file(name)
        if (!f.isFile) throw BlobStoreException.NotFound(name)
        if (range == null) return f.readBytes()
        java.io.RandomAccessFile(f, "r").use { raf ->
            val start = minOf(range.offset, raf.length())
            val out = ByteArray(minOf(range.len, raf.length() - start).toInt())
            raf.seek(start)
            raf.readFully(out)
            return out
        }
    }

    override fun create(name: String, data: ByteArray): Boolean {
        val target = file(name)
        target.parentFile.mkdirs()
        val temp = File(target.parentFile, ".${target.name}.${System.nanoTime()}.part")
        temp.outputStream().use { it.write(data); it.fd.sync() }
        // A hard link never replaces its target: the name is taken whole or not at all.
        return try {
            java.nio.file.Files.createLink(target.toPath(), temp.toPath())
            true
        } catch (e: java.nio.file.FileAlreadyExistsException) {
            false
        } finally {
            temp.delete()
        }
    }

    override fun list(prefix: String): List<ObjectInfo> =
        root.walkTopDown().filter { it.isFile && !it.name.startsWith(".") }
            .map { ObjectInfo(it.relativeTo(root).invariantSeparatorsPath, it.length()) }
            .filter { it.name.startsWith(prefix) }.toList()

    override fun delete(name: String) {
        file(name).delete()
    }

    override fun stat(name: String): Long? = file(name).takeIf { it.isFile }?.length()
}

/** A BlobStore over an in-memory map. */
class MapStore : BlobStore {
    private val objects = ConcurrentHashMap<String, ByteArray>()

    override fun put(name: String, data: ByteArray) {
        objects[name] = data.copyOf()
    }

    override fun get(name: String, range: ByteRange?): ByteArray {
        val data = objects[name] ?: throw BlobStoreException.NotFound(name)
        if (range == null) return data.copyOf()
        val start = minOf(range.offset, data.size.toLong()).toInt()
        val end = minOf(start + range.len, data.size.toLong()).toInt()
        return data.copyOfRange(start, end)
    }

    override fun create(name: String, data: ByteArray): Boolean =
        objects.putIfAbsent(name, data.copyOf()) == null

    override fun list(prefix: String): List<ObjectInfo> =
        objects.entries.filter { it.key.startsWith(prefix) }.map { ObjectInfo(it.key, it.value.size.toLong()) }

    override fun delete(name: String) {
        objects.remove(name)
    }

    override fun stat(name: String): Long? = objects[name]?.size?.toLong()
}

/** One call of [AppStore] held until the test releases it. */
class Hold(val op: String, val prefix: String) {
    val entered = CountDownLatch(1)
    val released = CountDownLatch(1)

    /** Waits (off the test's event loop) until the held call has begun. */
    suspend fun awaitEntered() = withContext(Dispatchers.IO) {
        assertTrue(entered.await(60, TimeUnit.SECONDS), "no $op of $prefix* came")
    }

    fun release() = released.countDown()
}

/**
 * The app's wrapper around a store, as it would wrap its cloud SDK: counts the bytes it uploads,
 * and goes offline (an IOException, which the app did not declare), fails puts under a prefix
 * (a declared BlobStoreException.Failed) or holds one call, when a test says so.
 */
class AppStore(val inner: BlobStore) : BlobStore {
    val uploaded = AtomicLong()
    @Volatile var offline = false
    @Volatile var failPutsUnder: String? = null
    @Volatile private var hold: Hold? = null

    fun holdNext(op: String, prefix: String) = Hold(op, prefix).also { hold = it }

    private fun call(op: String, name: String) {
        if (offline) throw IOException("no network")
        val h = hold
        if (h != null && h.op == op && name.startsWith(h.prefix)) {
            hold = null
            h.entered.countDown()
            check(h.released.await(60, TimeUnit.SECONDS)) { "the held $op was never released" }
        }
    }

    override fun put(name: String, data: ByteArray) {
        call("put", name)
        failPutsUnder?.let { if (name.startsWith(it)) throw BlobStoreException.Failed("quota exceeded") }
        inner.put(name, data)
        uploaded.addAndGet(data.size.toLong())
    }

    override fun get(name: String, range: ByteRange?): ByteArray {
        call("get", name)
        return inner.get(name, range)
    }

    override fun create(name: String, data: ByteArray): Boolean {
        call("create", name)
        return inner.create(name, data)
    }

    override fun list(prefix: String): List<ObjectInfo> {
        call("list", prefix)
        return inner.list(prefix)
    }

    override fun delete(name: String) {
        call("delete", name)
        inner.delete(name)
    }

    override fun stat(name: String): Long? {
        call("stat", name)
        return inner.stat(name)
    }
}

/** The stores every journey runs over. */
enum class StoreKind(val make: (File) -> BlobStore) {
    APP_DIRECTORY({ DirectoryStore(it) }),
    APP_MAP({ MapStore() }),
    BUILT_IN_MEMORY({ memoryBlobStore() }),
}

/** A chat database big enough to be many chunks: TestChats' two conversations plus 6,000 messages. */
fun seedLargeChats(path: String): RecordCounts {
    seedChats(path)
    return ChatStore.open(path).use { store ->
        store.insertMessages(sampleMessages(1, 6_000, 100_000))
        store.counts()
    }
}

/** A small change a day brings: ten new messages in the group. */
fun addMessages(path: String, firstId: Long): RecordCounts = ChatStore.open(path).use { store ->
    store.insertMessages(sampleMessages(2, 10, firstId))
    store.counts()
}

/** Backs the database at [path] up into [repository] with the Flow layer, collecting progress. */
suspend fun backUp(repository: Repository, path: String, progress: MutableList<ProgressReport> = mutableListOf()): RepoBackupReport =
    ChatStore.open(path).use { chats -> repository.backupFlow(chats).result { progress += it } }

/** The keyring and the two backups every read-only test of one store starts from. */
class Journey(val kind: StoreKind) {
    val work = tempDir("keepsake-repo-${kind.name.lowercase()}")
    val store = AppStore(kind.make(File(work, "store")))
    val dbPath = File(work, "chat.db").path
    val keyring = Keyring.create()
    val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_AT_REGISTRATION)
    val recoveryKey: String
    val startedAt = System.currentTimeMillis() / 1000
    val repository: Repository
    val first: RepoBackupReport
    val firstReceived: Long
    val firstProgress = mutableListOf<ProgressReport>()
    val firstContent: List<Any?>
    val firstCounts: RecordCounts
    val second: RepoBackupReport
    val secondReceived: Long
    val secondContent: List<Any?>
    val secondCounts: RecordCounts

    init {
        PasskeyEnrollment(keyring, RP, "Keepsake Chat", byteArrayOf(4, 2), "sam", "Sam", "Pixel passkey").use { e ->
            assertIs<EnrollmentOutcome.Enrolled>(e.finishRegistrationJson(authenticator.createJson(e.registrationRequestJson())))
        }
        recoveryKey = keyring.addRecoveryKey("Paper copy").recoveryKey.reveal()
        firstCounts = seedLargeChats(dbPath)
        firstContent = readBack(dbPath)
        repository = runBlocking { createRepository(store, keyring, File(work, "cache").path) }
        var before = store.uploaded.get()
        first = runBlocking { backUp(repository, dbPath, firstProgress) }
        firstReceived = store.uploaded.get() - before
        secondCounts = addMessages(dbPath, 300_000)
        secondContent = readBack(dbPath)
        before = store.uploaded.get()
        second = runBlocking { backUp(repository, dbPath) }
        secondReceived = store.uploaded.get() - before
    }

    fun path(name: String): String = File(work, name).path
}

@RunWith(Parameterized::class)
class RepositoryJourneyTest(private val kind: StoreKind) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun kinds(): List<StoreKind> = StoreKind.entries

        private val journeys = ConcurrentHashMap<StoreKind, Journey>()
    }

    private val j: Journey get() = journeys.getOrPut(kind) { Journey(kind) }

    /** A fresh store of this test's kind, with a repository (of a keyring with a recovery key) and its database. */
    private fun fresh(name: String): Triple<AppStore, Repository, String> {
        val dir = tempDir("keepsake-repo-$name")
        val store = AppStore(kind.make(File(dir, "store")))
        val keyring = Keyring.create().apply { addRecoveryKey("Paper copy") }
        val repository = Repository.create(store, keyring, File(dir, "cache").path)
        val db = File(dir, "chat.db").path
        seedChats(db)
        return Triple(store, repository, db)
    }

    @Test
    fun `the first backup uploads the whole history, with progress`() {
        val first = j.first
        assertEquals(j.firstCounts, first.counts)
        assertTrue(first.chunks > 20, "$first")
        // Every data chunk is new, and so are the snapshot's list chunks (counted in newChunks only).
        assertTrue(first.newChunks > first.chunks && first.newChunks <= 2 * first.chunks, "$first")
        assertEquals(0L, first.packsAdopted)
        assertTrue(first.bytesRead > first.bytesUploaded, "compressed: $first")
        // What the store received is what the report says, plus the lock objects.
        assertTrue(j.firstReceived >= first.bytesUploaded && j.firstReceived - first.bytesUploaded < 4096, "received ${j.firstReceived}: $first")
        for (prefix in listOf("config", "data/", "index/", "snapshots/")) {
            assertTrue(j.store.list(prefix).isNotEmpty(), "nothing under $prefix")
        }
        val progress = j.firstProgress
        assertTrue(progress.isNotEmpty() && progress.all { it.phase == ProgressPhase.BACKUP }, "$progress")
        progress.zipWithNext().forEach { (a, b) -> assertTrue(b.done >= a.done, "progress went back: $a then $b") }
    }

    @Test
    fun `a second backup after a small change uploads much less`() {
        val (first, second) = j.first to j.second
        assertEquals(j.secondCounts, second.counts)
        assertEquals(first.counts.messages + 10, second.counts.messages)
        assertTrue(second.bytesUploaded * 4 < first.bytesUploaded, "second $second after first $first")
        assertTrue(second.newChunks in 1L..<second.chunks / 4, "$second")
        assertTrue(j.secondReceived >= second.bytesUploaded && j.secondReceived - second.bytesUploaded < 4096, "received ${j.secondReceived}: $second")
        println("   $kind: first backup uploaded ${first.bytesUploaded} bytes, the second ${second.bytesUploaded} (${second.newChunks}/${second.chunks} chunks new)")
    }

    @Test
    fun `the snapshots are listed oldest first`() = runBlocking<Unit> {
        val snapshots = j.repository.loadSnapshots()
        assertEquals(listOf(j.first.snapshotId, j.second.snapshotId), snapshots.map { it.id })
        val (older, newer) = snapshots
        assertNull(older.parent)
        assertEquals(older.id, newer.parent)
        assertEquals(listOf(j.firstCounts, j.secondCounts), snapshots.map { it.counts })
        assertEquals(listOf(j.first.bytesRead, j.second.bytesRead), snapshots.map { it.bytes })
        assertEquals(listOf(j.first.chunks, j.second.chunks), snapshots.map { it.chunks })
        val now = System.currentTimeMillis() / 1000
        assertTrue(snapshots.all { it.time in j.startedAt..now }, "times ${snapshots.map { it.time }}")
        assertTrue(older.time <= newer.time)
    }

    @Test
    fun `the latest and the first snapshot restore into new databases`() = runBlocking<Unit> {
        val latest = j.path("latest-${System.nanoTime()}.db")
        val progress = mutableListOf<ProgressReport>()
        val report = j.repository.restoreFlow(latest).result { progress += it }
        assertEquals(j.secondCounts, report.counts)
        assertEquals(j.secondContent, readBack(latest))
        assertTrue(progress.isNotEmpty())
        progress.zipWithNext().forEach { (a, b) -> assertTrue(b.done >= a.done, "progress went back: $a then $b") }

        val oldest = j.path("first-${System.nanoTime()}.db")
        assertEquals(j.firstCounts, j.repository.restoreFlow(oldest, j.first.snapshotId).result().counts)
        assertEquals(j.firstContent, readBack(oldest))

        // A target with data is refused unless replace; with replace it takes the snapshot.
        assertFailsWith<KeepsakeException.TargetExists> { j.repository.restoreFlow(latest, j.first.snapshotId).result() }
        j.repository.restoreFlow(latest, j.first.snapshotId, replace = true).result()
        assertEquals(j.firstContent, readBack(latest))
        assertFailsWith<KeepsakeException.InvalidArgument> { j.repository.restoreFlow(j.path("x.db"), "not-an-id").result() }
    }

    @Test
    fun `a new device opens the repository with the recovery key, or a passkey`() = runBlocking<Unit> {
        // Nothing but the store and the recovery key.
        val device = BackupSecret.recoveryKey(j.recoveryKey.lowercase()).use { openRepository(j.store, it) }
        device.use {
            assertEquals(j.repository.id(), device.id())
            assertEquals(listOf(j.first.snapshotId, j.second.snapshotId), device.loadSnapshots().map { it.id })
            val target = j.path("new-device-${System.nanoTime()}.db")
            assertEquals(j.secondCounts, device.restoreFlow(target).result().counts)
            assertEquals(j.secondContent, readBack(target))
            device.keyring().use { k -> assertContentEquals(j.keyring.id(), k.id()) }
        }
        // The passkey, found through the repository's own key slots.
        val secret = PasskeyUnlock.forRepository(j.store, RP, true).use { u -> u.finishJson(j.authenticator.getJson(u.requestJson())) }
        secret.use { openRepository(j.store, it) }.use { byPasskey ->
            assertEquals(j.second.snapshotId, byPasskey.loadSnapshots().last().id)
        }
    }

    @Test
    fun `a wrong recovery key is WrongKey and an empty store is ObjectMissing`() = runBlocking<Unit> {
        val other = Keyring.create().use { it.addRecoveryKey("other").recoveryKey.reveal() }
        val e = assertFailsWith<KeepsakeException.WrongKey> { BackupSecret.recoveryKey(other).use { openRepository(j.store, it) } }
        assertTrue(e.message.orEmpty().endsWith("."), e.message)
        assertFailsWith<KeepsakeException.ObjectMissing> {
            BackupSecret.recoveryKey(j.recoveryKey).use { openRepository(AppStore(kind.make(tempDir("keepsake-empty"))), it) }
        }
        // A repository exists there already.
        assertFailsWith<KeepsakeException.InvalidArgument> { createRepository(j.store, j.keyring) }
    }

    @Test
    fun `a failing store is Storage and a retry completes, reusing what was uploaded`() = runBlocking<Unit> {
        val (store, repository, db) = fresh("offline")
        // The packs go up, then the upload of the index fails: no snapshot.
        store.failPutsUnder = "index/"
        val failed = assertFailsWith<KeepsakeException.Storage> { backUp(repository, db) }
        assertTrue("quota exceeded" in failed.detail, failed.detail)
        assertTrue(store.list("data/").isNotEmpty())
        store.failPutsUnder = null
        // Offline: an undeclared IOException is a Storage error too.
        store.offline = true
        val offline = assertFailsWith<KeepsakeException.Storage> { repository.loadSnapshots() }
        assertTrue("no network" in offline.detail, offline.detail)
        assertFailsWith<KeepsakeException.Storage> { backUp(repository, db) }
        store.offline = false
        assertEquals(emptyList(), repository.loadSnapshots())

        val retry = backUp(repository, db)
        assertTrue(retry.packsAdopted >= 1, "$retry")
        assertEquals(0L, retry.newChunks, "$retry")
        assertEquals(listOf(retry.snapshotId), repository.loadSnapshots().map { it.id })
        val target = File(tempDir("keepsake-retry"), "restored.db").path
        repository.restoreFlow(target).result()
        assertEquals(readBack(db), readBack(target))
        assertEquals(0L, repository.checkFlow(1.0).result().unindexedPacks)
    }

    @Test
    fun `a cancelled backup is Cancelled and leaves no snapshot`() = runBlocking<Unit> {
        val (_, repository, db) = fresh("cancel-backup")
        val kept = backUp(repository, db)
        addMessages(db, 500_000)
        val e = ChatStore.open(db).use { chats ->
            Cancellation().use { flag ->
                runCatching { repository.backup(chats, null, progressListener { flag.cancel() }, flag) }.exceptionOrNull()
            }
        }
        assertIs<KeepsakeException.Cancelled>(e)
        assertEquals(listOf(kept.snapshotId), repository.loadSnapshots().map { it.id })
        val check = repository.checkFlow(1.0).result()
        assertEquals(1L, check.snapshots)
        // The next run completes.
        assertEquals(kept.counts.messages + 10, backUp(repository, db).counts.messages)
    }

    @Test
    fun `cancelling the coroutine of a restore leaves nothing behind`() = runBlocking<Unit> {
        val (store, repository, db) = fresh("cancel-restore")
        backUp(repository, db)
        val dir = tempDir("keepsake-cancelled-restore")
        // The restore stalls in its first chunk download until the coroutine was cancelled.
        val hold = store.holdNext("get", "data/")
        val job = launch { repository.restoreFlow(File(dir, "restored.db").path).collect {} }
        hold.awaitEntered()
        job.cancel()
        hold.release()
        job.join()
        assertTrue(job.isCancelled)
        assertEquals(emptyList(), dir.list()!!.toList())
        // The repository is still usable.
        repository.restoreFlow(File(dir, "restored.db").path).result()
        assertEquals(readBack(db), readBack(File(dir, "restored.db").path))
    }

    @Test
    fun `prune keeps what the retention policy says and the rest still restores`() = runBlocking<Unit> {
        val (_, repository, db) = fresh("prune")
        val reports = mutableListOf<RepoBackupReport>()
        val contents = mutableListOf<List<Any?>>()
        for (day in 0 until 3) {
            addMessages(db, 600_000L + day * 100)
            reports += backUp(repository, db)
            contents += readBack(db)
        }
        val phases = mutableSetOf<ProgressPhase>()
        val pruned = repository.pruneFlow(RetentionPolicy(keepLast = 2)).result { phases += it.phase }
        assertEquals(2L to 1L, pruned.snapshotsKept to pruned.snapshotsRemoved)
        assertTrue(pruned.bytesDeleted >= 0 && pruned.bytesWritten >= 0, "$pruned")
        assertTrue(phases.all { it == ProgressPhase.PRUNE }, "$phases")
        assertEquals(reports.drop(1).map { it.snapshotId }, repository.loadSnapshots().map { it.id })
        val target = File(tempDir("keepsake-pruned"), "restored.db").path
        repository.restoreFlow(target, reports[1].snapshotId).result()
        assertEquals(contents[1], readBack(target))
        // The forgotten snapshot is gone from the store.
        assertFailsWith<KeepsakeException.ObjectMissing> { repository.restoreFlow(target + "2", reports[0].snapshotId).result() }

        // All three snapshots are from today: one per day keeps the newest only.
        val daily = repository.pruneFlow(RetentionPolicy(keepDaily = 1)).result()
        assertEquals(1L to 1L, daily.snapshotsKept to daily.snapshotsRemoved)
        assertEquals(listOf(reports[2].snapshotId), repository.loadSnapshots().map { it.id })
        assertEquals(1L, repository.checkFlow(1.0).result().snapshots)

        // No rule, or a negative count, is refused before anything is deleted.
        assertFailsWith<KeepsakeException.InvalidArgument> { repository.pruneFlow(RetentionPolicy()).result() }
        assertFailsWith<KeepsakeException.InvalidArgument> { repository.pruneFlow(RetentionPolicy(keepLast = -1)).result() }
        assertEquals(1, repository.loadSnapshots().size)
    }

    @Test
    fun `check authenticates every chunk`() = runBlocking<Unit> {
        val phases = mutableSetOf<ProgressPhase>()
        val report = j.repository.checkFlow(1.0).result { phases += it.phase }
        assertEquals(2L, report.snapshots)
        assertEquals(report.packs, report.packsRead)
        assertTrue(report.chunks >= j.first.chunks, "$report")
        assertEquals(report.chunks, report.chunksAuthenticated)
        assertEquals(0L, report.unindexedPacks)
        assertTrue(phases.all { it == ProgressPhase.CHECK }, "$phases")
        val structural = j.repository.checkFlow().result()
        assertEquals(0L, structural.chunksAuthenticated)
        assertFailsWith<KeepsakeException.InvalidArgument> { j.repository.checkFlow(1.5).result() }
    }

    @Test
    fun `check finds a damaged pack`() = runBlocking<Unit> {
        val (store, repository, db) = fresh("damage")
        backUp(repository, db)
        val pack = store.list("data/").first().name
        val bytes = store.inner.get(pack, null)
        bytes[20] = (bytes[20].toInt() xor 1).toByte() // inside the first chunk's ciphertext
        store.inner.put(pack.name, bytes)
        val target = File(tempDir("keepsake-damaged"), "restored.db")
        assertFailsWith<KeepsakeException.Corrupted> { repository.restoreFlow(target.path).result() }
        assertTrue(!target.exists())
        // Check reports it, with every problem, instead of throwing (RepositoryHealingTest heals it).
        val report = repository.checkFlow(1.0).result()
        assertEquals(CheckVerdict.BROKEN, report.verdict)
        assertTrue(report.problems.any { it.kind == ProblemKind.DAMAGED_CHUNK && it.objectName == pack.name }, "${report.problems}")
    }
}

/** The built-in stores, called the way the repository calls an app's store. */
class BuiltInBlobStoreTest {
    private fun stores() = listOf(memoryBlobStore(), directoryBlobStore(File(tempDir("keepsake-builtin"), "repo").path))

    @Test
    fun `they store, read ranges, list, stat and delete`() {
        for (store in stores()) {
            store.put("data/ab", byteArrayOf(1, 2, 3, 4, 5))
            store.put("index/cd", byteArrayOf(9))
            assertContentEquals(byteArrayOf(2, 3), store.get("data/ab", ByteRange(1, 2)))
            assertContentEquals(byteArrayOf(4, 5), store.get("data/ab", ByteRange(3, 100)))
            assertEquals(listOf(ObjectInfo("data/ab", 5)), store.list("data/"))
            assertEquals(5L, store.stat("data/ab"))
            store.delete("data/ab")
            store.delete("data/ab")
            assertNull(store.stat("data/ab"))
            val missing = assertFailsWith<BlobStoreException.NotFound> { store.get("data/ab", null) }
            assertEquals("data/ab", missing.name)
        }
    }

    @Test
    fun `a negative range is refused`() {
        for (store in stores()) {
            store.put("data/ab", byteArrayOf(1, 2, 3))
            assertFailsWith<BlobStoreException.Failed> { store.get("data/ab", ByteRange(-1, 2)) }
            assertFailsWith<BlobStoreException.Failed> { store.get("data/ab", ByteRange(0, -2)) }
        }
    }
}
