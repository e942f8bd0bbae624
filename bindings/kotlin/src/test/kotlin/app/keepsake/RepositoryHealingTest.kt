// A backup that says it succeeded always restores (issue 19), from Kotlin: a store that loses a
// pack costs nothing once the next backup ran (and the report says what it healed), a damaged
// snapshot is listed as damaged while the latest restore takes the newest intact one, check tells
// healthy from healed from broken without throwing, repair previews then applies, unlock refuses
// a live lock without force, and prune refuses to forget every snapshot unless told.
package app.keepsake

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The app's store, keeping a copy of the last lock a writer created (put back, it is a live lock of this process). */
class LockRecordingStore(private val inner: BlobStore) : BlobStore by inner {
    @Volatile var lastLock: Pair<String, ByteArray>? = null

    override fun create(name: String, data: ByteArray): Boolean {
        if (name.startsWith("locks/")) lastLock = name to data.copyOf()
        return inner.create(name, data)
    }
}

class RepositoryHealingTest {
    /** A repository (of a keyring with a recovery key) over an app-written map store, and a chat database. */
    private class Fixture(name: String) {
        val dir = tempDir("keepsake-heal-$name")
        val store = AppStore(MapStore())
        val db: String = File(dir, "chat.db").path.also { seedLargeChats(it) }
        val repository = Repository.create(store, Keyring.create().apply { addRecoveryKey("Paper copy") }, File(dir, "cache").path)

        fun target(): String = File(dir, "restored-${System.nanoTime()}.db").path

        /** Flips one bit of the object [name], as a store that damages what it holds. */
        fun damage(name: String, at: Int) {
            val bytes = store.inner.get(name, null)
            bytes[at] = (bytes[at].toInt() xor 0x04).toByte()
            store.inner.put(name, bytes)
        }
    }

    @Test
    fun `a lost pack is uploaded again by the next backup, which says so, and every snapshot restores exactly`() = runBlocking<Unit> {
        val f = Fixture("lost-pack")
        val first = backUp(f.repository, f.db)
        assertFalse(first.healing.foundDamage, "${first.healing}")
        val healthy = f.repository.checkFlow(1.0).result()
        assertEquals(CheckVerdict.HEALTHY, healthy.verdict)
        assertEquals(emptyList(), healthy.problems)

        val lost = f.store.list("data/").first().name
        f.store.inner.delete(lost)
        // Broken until a backup ran: reported with every problem, not thrown.
        val broken = f.repository.checkFlow().result()
        assertEquals(CheckVerdict.BROKEN, broken.verdict, "$broken")
        assertTrue(broken.problems.any { it.kind == ProblemKind.LOST_PACK && it.objectName == lost }, "${broken.problems}")
        assertTrue(broken.problems.any { it.loss && it.snapshotId == first.snapshotId }, "${broken.problems}")

        val second = backUp(f.repository, f.db)
        assertEquals(1L, second.healing.packsLost, "${second.healing}")
        assertTrue(second.healing.foundDamage)
        assertFalse(second.healing.storeRolledBack)
        for (snapshot in listOf(null, first.snapshotId, second.snapshotId)) {
            val target = f.target()
            f.repository.restoreFlow(target, snapshot).result()
            assertEquals(readBack(f.db), readBack(target), "snapshot ${snapshot ?: "latest"}")
        }
        val healed = f.repository.checkFlow(1.0).result()
        assertEquals(CheckVerdict.HEALED, healed.verdict, "$healed")
        assertTrue(healed.problems.isNotEmpty() && healed.problems.none { it.loss }, "${healed.problems}")
        assertTrue(healed.problems.all { it.healed && it.detail.endsWith(".") }, "${healed.problems}")
    }

    @Test
    fun `a damaged newest snapshot is listed as damaged and the latest restore takes the one before`() = runBlocking<Unit> {
        val f = Fixture("damaged-snapshot")
        val first = backUp(f.repository, f.db)
        val firstContent = readBack(f.db)
        addMessages(f.db, 700_000)
        val second = backUp(f.repository, f.db)
        val objectName = "snapshots/${second.snapshotId}"
        f.damage(objectName, 20)

        val history = f.repository.loadHistory()
        assertEquals(listOf(first.snapshotId), history.snapshots.map { it.id })
        assertEquals(listOf(1L), history.snapshots.map { it.sequence })
        val damaged = history.damaged.single()
        assertEquals(second.snapshotId, damaged.id)
        assertEquals(objectName, damaged.name)
        assertTrue(damaged.reason.isNotEmpty())
        assertEquals(history.snapshots, f.repository.loadSnapshots())
        val target = f.target()
        f.repository.restoreFlow(target).result()
        assertEquals(firstContent, readBack(target))
        val check = f.repository.checkFlow().result()
        assertEquals(CheckVerdict.BROKEN, check.verdict)
        assertTrue(check.problems.any { it.kind == ProblemKind.DAMAGED_SNAPSHOT && it.snapshotId == second.snapshotId }, "${check.problems}")

        // Repair previews, changing nothing; then removes the damaged object.
        val preview = f.repository.repairRepository()
        assertFalse(preview.applied)
        assertFalse(preview.nothingToRepair)
        assertEquals(listOf(objectName), preview.snapshotsRemoved.map { it.name })
        assertEquals(listOf(objectName), f.store.list("snapshots/").map { it.name }.filter { it == objectName })
        val applied = f.repository.repairRepository(apply = true)
        assertTrue(applied.applied)
        assertEquals(preview.snapshotsRemoved, applied.snapshotsRemoved)
        assertNull(f.store.stat(objectName))
        assertEquals(emptyList(), f.repository.loadHistory().damaged)
        assertNotEquals(CheckVerdict.BROKEN, f.repository.checkFlow(1.0).result().verdict)
        assertTrue(f.repository.repairRepository().nothingToRepair)
        // The next backup stores the device's data again.
        val third = backUp(f.repository, f.db)
        assertEquals(0L, third.healing.snapshotsDamaged)
        val latest = f.target()
        f.repository.restoreFlow(latest).result()
        assertEquals(readBack(f.db), readBack(latest))
    }

    @Test
    fun `a damaged pack is broken for check and healed by the next backup's verification`() = runBlocking<Unit> {
        val f = Fixture("damaged-pack")
        backUp(f.repository, f.db)
        val pack = f.store.list("data/").maxBy { it.size }.name
        f.damage(pack, 100) // inside the first chunk's ciphertext
        val broken = f.repository.checkFlow(1.0).result()
        assertEquals(CheckVerdict.BROKEN, broken.verdict)
        assertTrue(broken.problems.any { it.kind == ProblemKind.DAMAGED_CHUNK && it.objectName == pack && !it.healed }, "${broken.problems}")
        val healing = backUp(f.repository, f.db).healing
        assertTrue(healing.chunksDamaged >= 1 && healing.foundDamage, "$healing")
        val target = f.target()
        f.repository.restoreFlow(target).result()
        assertEquals(readBack(f.db), readBack(target))
    }

    @Test
    fun `unlock refuses a live lock without force`() = runBlocking<Unit> {
        val dir = tempDir("keepsake-heal-lock")
        val store = LockRecordingStore(MapStore())
        val repository = createRepository(store, Keyring.create().apply { addRecoveryKey("Paper copy") })
        val db = File(dir, "chat.db").path.also { seedChats(it) }
        backUp(repository, db)
        assertEquals(UnlockReport(emptyList(), emptyList()), repository.unlockRepository())
        // The backup's own lock, put back: a writer of this live process holds it.
        val (name, bytes) = checkNotNull(store.lastLock)
        store.put(name, bytes)
        val refused = assertFailsWith<KeepsakeException.RepositoryLocked> { repository.unlockRepository() }
        assertTrue("live" in refused.detail, refused.detail)
        assertFailsWith<KeepsakeException.RepositoryLocked> { backUp(repository, db) }
        val forced = repository.unlockRepository(force = true)
        assertEquals(1, forced.removed.size, "$forced")
        assertTrue(forced.removed.single().startsWith(name), "$forced")
        backUp(repository, db)
    }

    @Test
    fun `prune refuses to forget every snapshot unless told, and a dry run changes nothing`() = runBlocking<Unit> {
        val f = Fixture("prune")
        backUp(f.repository, f.db)
        val refused = assertFailsWith<KeepsakeException.InvalidArgument> { f.repository.pruneFlow(RetentionPolicy(keepLast = 0)).result() }
        assertTrue("allow_forget_all" in refused.detail, refused.detail)
        val everything = RetentionPolicy(keepLast = 0, allowForgetAll = true)
        val dry = f.repository.pruneFlow(everything, dryRun = true).result()
        assertTrue(dry.dryRun)
        assertEquals(0L to 1L, dry.snapshotsKept to dry.snapshotsRemoved)
        assertEquals(1, f.repository.loadSnapshots().size)
        val done = f.repository.pruneFlow(everything).result()
        assertFalse(done.dryRun)
        assertNull(done.notReclaimed)
        assertEquals(emptyList(), f.repository.loadSnapshots())
    }

    @Test
    fun `connections and verification are the app's to set`() = runBlocking<Unit> {
        val f = Fixture("settings")
        assertEquals(4L, f.repository.connections())
        for (bad in listOf(0L, 33L, -1L)) assertFailsWith<KeepsakeException.InvalidArgument> { f.repository.setConnections(bad) }
        f.repository.setConnections(8)
        assertEquals(8L, f.repository.connections())
        // Backups read 16 MiB of packs back by default; 0 turns it off.
        assertEquals(16L shl 20, BackupOptions(extraMetadata = emptyMap()).verifyBytes)
        backUp(f.repository, f.db)
        val off = ChatStore.open(f.db).use { f.repository.backupFlow(it, BackupOptions(extraMetadata = emptyMap(), verifyBytes = 0)).result() }
        assertEquals(0L, off.healing.packsVerified)
        val on = backUp(f.repository, f.db)
        assertTrue(on.healing.packsVerified >= 1 && on.healing.bytesVerified > 0, "${on.healing}")
    }
}
