// The core's blob store conformance suite (blobStoreConformance, in test builds) against the
// stores this test suite writes as an app would: what the engine relies on, checked from
// Kotlin. The engine calls a store from several threads at once; ConcurrencyCheckingStore
// proves the suite did, and that the stores stayed correct while it did.
package app.keepsake

import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/** Wraps a store, counting the calls in flight and the most seen at once. */
class ConcurrencyCheckingStore(private val inner: BlobStore) : BlobStore {
    private val inFlight = AtomicInteger()
    val maxInFlight = AtomicInteger()

    private fun <T> call(body: () -> T): T {
        val now = inFlight.incrementAndGet()
        maxInFlight.accumulateAndGet(now, ::maxOf)
        try {
            // A cloud call takes a while: let the calls of other threads overlap this one.
            Thread.sleep(1)
            return body()
        } finally {
            inFlight.decrementAndGet()
        }
    }

    override fun put(name: String, data: ByteArray) = call { inner.put(name, data) }
    override fun get(name: String, range: ByteRange?): ByteArray = call { inner.get(name, range) }
    override fun create(name: String, data: ByteArray): Boolean = call { inner.create(name, data) }
    override fun list(prefix: String): List<ObjectInfo> = call { inner.list(prefix) }
    override fun delete(name: String) = call { inner.delete(name) }
    override fun stat(name: String): Long? = call { inner.stat(name) }
}

class BlobStoreConformanceTest {
    private fun conform(store: BlobStore) {
        val checked = ConcurrencyCheckingStore(store)
        val passed = blobStoreConformance(checked, 24L shl 20, 1_100, 8)
        assertEquals(9, passed.size, "checks passed: $passed")
        assertTrue(checked.maxInFlight.get() > 1, "the suite never called the store concurrently")
    }

    @Test
    fun theMapStoreConforms() = conform(MapStore())

    @Test
    fun theDirectoryStoreConforms() {
        val dir = Files.createTempDirectory("keepsake-conformance").toFile()
        try {
            conform(DirectoryStore(dir))
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun theBuiltInMemoryStoreConforms() = conform(memoryBlobStore())

    @Test
    fun aStoreThatChecksThenPutsFailsTheConcurrentCreatorsCheck() {
        val racy = object : BlobStore by MapStore() {
            override fun create(name: String, data: ByteArray): Boolean {
                val free = stat(name) == null
                Thread.sleep(20)
                if (free) put(name, data)
                return free
            }
        }
        val failure = kotlin.runCatching { blobStoreConformance(racy, 1L shl 20, 10, 8) }.exceptionOrNull()
        assertTrue(failure is KeepsakeException.InvalidArgument, "$failure")
        assertTrue(failure.message.orEmpty().contains("concurrent creators"), "${failure.message}")
    }
}
