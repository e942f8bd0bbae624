package app.keepsake.sample.drive

import app.keepsake.BlobStore
import app.keepsake.ByteRange
import app.keepsake.ObjectInfo
import app.keepsake.blobStoreConformance
import app.keepsake.blobStoreConformanceWithRetries
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.Test

/**
 * The bindings' blob store conformance suite (what the engine relies on) against the Drive
 * store over the stand-in: listings across pages, a folder that already holds duplicate names,
 * and throttling and server errors injected into a share of the requests.
 */
class DriveConformanceTest {
    /** Counts calls in flight, to prove the suite called the store from several threads. */
    private class Overlap(private val inner: BlobStore) : BlobStore {
        private val now = AtomicInteger()
        val most = AtomicInteger()
        private fun <T> call(body: () -> T): T {
            most.accumulateAndGet(now.incrementAndGet(), ::maxOf)
            try { return body() } finally { now.decrementAndGet() }
        }
        override fun put(name: String, data: ByteArray) = call { inner.put(name, data) }
        override fun get(name: String, range: ByteRange?): ByteArray = call { inner.get(name, range) }
        override fun create(name: String, data: ByteArray): Boolean = call { inner.create(name, data) }
        override fun list(prefix: String): List<ObjectInfo> = call { inner.list(prefix) }
        override fun delete(name: String) = call { inner.delete(name) }
        override fun stat(name: String): Long? = call { inner.stat(name) }
    }

    @Test
    fun theDriveStoreConformsAcrossPagesBesideDuplicates() {
        val url = StandIn.fresh()
        StandIn.configure("""{"max_page_size": 100}""")
        StandIn.seed("config", "a".toByteArray(), "b".toByteArray())
        val store = Overlap(standInStore(url))
        val passed = blobStoreConformance(store, 3L shl 20, 1_100, 8)
        assertEquals(9, passed.size, "checks passed: $passed")
        assertTrue(store.most.get() > 1, "the suite never called the store concurrently")
        assertTrue(StandIn.stat("PUT /upload/drive/v3/files") >= 6, "the large object went up in chunks")
        // The suite cleaned up after itself; the seeded duplicates are untouched.
        assertEquals(2L, StandIn.stat("files"))
    }

    @Test
    fun theDriveStoreConformsUnderThrottlingBehindTheCoresRetries() {
        val url = StandIn.fresh()
        StandIn.configure("""{"max_page_size": 250, "fault_rate": 0.05, "seed": 21, "retry_after": "0", "reset_chunks": 2}""")
        val passed = blobStoreConformanceWithRetries(standInStore(url), 3L shl 20, 1_100, 8)
        assertEquals(9, passed.size, "checks passed: $passed")
        val stats = StandIn.stats()
        assertTrue((stats["faults"].int64() ?: 0) >= 20, "faults injected: ${stats["faults"]}")
        assertEquals(2L, stats["resets"].int64(), "both chunk resets happened")
    }
}
