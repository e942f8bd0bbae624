package app.keepsake.sample.drive

import app.keepsake.BlobStoreException
import app.keepsake.ByteRange
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.Test

/** The Drive store's own behaviour against the stand-in: what the conformance suite cannot see. */
class DriveStoreTest {
    private fun bytes(n: Int, seed: Int = n) = Random(seed).nextBytes(n)

    @Test
    fun anOverwriteUpdatesTheFileAndNeverAddsASecondConfig() {
        val store = standInStore(StandIn.fresh())
        store.put("config", "one".toByteArray())
        store.put("config", "two".toByteArray())
        // A second store (another process of the app) knows no id yet: it must find the file.
        standInStore(StandIn.url!!).put("config", "three".toByteArray())
        assertEquals(1L, StandIn.stat("files"))
        assertContentEquals("three".toByteArray(), store.get("config", null))
        // Large objects go up in resumable sessions and update the same file too.
        val big = bytes(1_300_000)
        store.put("data/aa", big)
        store.put("data/aa", big.reversedArray())
        assertEquals(2L, StandIn.stat("files"))
        assertEquals(2L, StandIn.stat("POST /upload/drive/v3/files"), "config's create, then data/aa's session")
        assertContentEquals(big.reversedArray(), store.get("data/aa", null))
    }

    @Test
    fun duplicateNamesReadTheEarliestFileAndAPutCleansThem() {
        val url = StandIn.fresh()
        StandIn.seed("config", "first".toByteArray(), "second".toByteArray(), "third".toByteArray())
        StandIn.seed("data/ab", "x".toByteArray(), "x".toByteArray())
        val store = standInStore(url)
        assertContentEquals("first".toByteArray(), store.get("config", null))
        assertEquals(5L, store.stat("config"))
        assertEquals(listOf("config" to 5L), store.list("").filter { it.name == "config" }.map { it.name to it.size })
        assertEquals(setOf("config", "data/ab"), store.duplicateNames)
        assertFalse(store.create("config", "mine".toByteArray()), "a taken name, even duplicated")
        store.put("config", "new".toByteArray())
        // One config left; data/ab keeps its two files until cleaned.
        assertEquals(3L, StandIn.stat("files"))
        assertEquals(setOf("data/ab"), store.duplicateNames)
        assertContentEquals("new".toByteArray(), store.get("config", null))
        assertEquals(1, store.removeDuplicates())
        assertEquals(2L, StandIn.stat("files"))
        assertEquals(emptySet(), store.duplicateNames)
        store.delete("data/ab")
        assertNull(store.stat("data/ab"))
    }

    @Test
    fun aFileReplacedByAnotherDeviceIsFoundAgainNotDuplicated() {
        val url = StandIn.fresh()
        val phone = standInStore(url)
        val other = standInStore(url)
        phone.put("config", "one".toByteArray()) // the phone now knows config's file id
        other.delete("config")
        other.put("config", "two".toByteArray()) // a new file, a new id
        assertContentEquals("two".toByteArray(), phone.get("config", null))
        other.delete("config")
        other.put("config", "three".toByteArray())
        phone.put("config", "four".toByteArray()) // its id is stale again: updates the new file
        assertEquals(1L, StandIn.stat("files"))
        assertContentEquals("four".toByteArray(), other.get("config", null))
    }

    @Test
    fun aDeleteRemovesEveryFileOfTheName() {
        val url = StandIn.fresh()
        StandIn.seed("locks/aa", "a".toByteArray(), "b".toByteArray())
        standInStore(url).delete("locks/aa")
        assertEquals(0L, StandIn.stat("files"))
    }

    @Test
    fun listingsFollowEveryPageAndFilterByPrefix() {
        val store = standInStore(StandIn.fresh())
        StandIn.configure("""{"max_page_size": 3}""")
        for (i in 0 until 10) store.put("snapshots/%02d".format(i), bytes(i))
        store.put("snapshotsX/00", bytes(1))
        store.put("index/00", bytes(1))
        val before = StandIn.stat("GET /drive/v3/files")
        val listed = store.list("snapshots/").sortedBy { it.name }
        assertEquals((0 until 10).map { "snapshots/%02d".format(it) to it.toLong() }, listed.map { it.name to it.size })
        assertEquals(4L, StandIn.stat("GET /drive/v3/files") - before, "10 files at 3 a page")
        assertEquals(listOf("snapshots/03"), store.list("snapshots/03").map { it.name })
        assertEquals(12, store.list("").size)
    }

    @Test
    fun rangedReadsAskDriveForTheRangeOnly() {
        val store = standInStore(StandIn.fresh())
        val data = bytes(1000)
        store.put("data/cc", data)
        assertContentEquals(data.copyOfRange(10, 20), store.get("data/cc", ByteRange(10, 10)))
        assertContentEquals(data.copyOfRange(990, 1000), store.get("data/cc", ByteRange(990, 100)))
        assertContentEquals(data.copyOfRange(5, 1000), store.get("data/cc", ByteRange(5, Long.MAX_VALUE)))
        assertEquals(0, store.get("data/cc", ByteRange(1000, 5)).size)
        store.put("data/empty", ByteArray(0))
        assertEquals(0, store.get("data/empty", ByteRange(0, 5)).size)
        assertEquals(0, store.get("data/empty", null).size)
        assertIs<BlobStoreException.NotFound>(runCatching { store.get("data/none", ByteRange(0, 1)) }.exceptionOrNull())
        assertIs<BlobStoreException.NotFound>(runCatching { store.get("data/none", ByteRange(0, 0)) }.exceptionOrNull())
    }

    @Test
    fun anInterruptedChunkIsResumedByTheRetriedPutNotSentAgain() {
        val store = standInStore(StandIn.fresh())
        val data = bytes(2_000_000) // four 512 KiB chunks
        StandIn.configure("""{"faults": [], "reset_chunks": 1}""")
        // The first chunk's connection drops after Drive took half of it: one attempt, typed.
        assertIs<BlobStoreException.Transient>(runCatching { store.put("data/dd", data) }.exceptionOrNull())
        assertEquals(1L, StandIn.stat("resets"))
        assertEquals(1L, StandIn.stat("sessions"))
        assertEquals(0L, StandIn.stat("files"))
        // What RetryingStore does next: the same put again. It asks the session where it stands
        // and sends only the rest.
        store.put("data/dd", data)
        assertEquals(data.size.toLong(), StandIn.stat("upload_bytes"), "no byte sent twice")
        assertEquals(0L, StandIn.stat("sessions"))
        assertContentEquals(data, store.get("data/dd", null))
        // Other bytes under the same name start a new session instead of continuing that one.
        StandIn.configure("""{"reset_chunks": 1}""")
        assertIs<BlobStoreException.Transient>(runCatching { store.put("data/ee", data) }.exceptionOrNull())
        val other = bytes(2_000_000, seed = 7)
        store.put("data/ee", other)
        assertContentEquals(other, store.get("data/ee", null))
    }

    @Test
    fun anExpiredTokenIsRenewedOnceAndARevokedOneIsUnauthorized() {
        val url = StandIn.fresh()
        StandIn.configure("""{"token": "token-2"}""")
        val tokens = TestTokens("token-1", "token-2")
        val store = standInStore(url, tokens)
        store.put("config", "x".toByteArray())
        assertEquals(listOf("token-1"), tokens.refused.toList())
        StandIn.configure("""{"token": "token-3"}""")
        val failure = runCatching { store.get("config", null) }.exceptionOrNull()
        assertIs<BlobStoreException.Unauthorized>(failure)
        // No message carries a token.
        for (token in listOf("token-1", "token-2", "token-3")) assertFalse(token in failure.detail, failure.detail)
    }

    @Test
    fun driveFailuresArriveTyped() {
        val store = standInStore(StandIn.fresh())
        StandIn.configure("""{"faults": [{"status": 429, "reason": "rateLimitExceeded", "retry_after": "7"}]}""")
        val throttled = runCatching { store.stat("config") }.exceptionOrNull()
        assertIs<BlobStoreException.Throttled>(throttled)
        assertEquals(7000L, throttled.retryAfterMs)
        StandIn.configure("""{"faults": [{"status": 403, "reason": "userRateLimitExceeded", "retry_after": "2"}]}""")
        assertEquals(2000L, (runCatching { store.list("data/") }.exceptionOrNull() as BlobStoreException.Throttled).retryAfterMs)
        StandIn.configure("""{"faults": [{"status": 503, "reason": "backendError"}]}""")
        assertIs<BlobStoreException.Transient>(runCatching { store.put("data/ff", bytes(10)) }.exceptionOrNull())
        StandIn.configure("""{"faults": [], "quota_bytes": 1000}""")
        store.put("data/ff", bytes(600))
        assertIs<BlobStoreException.QuotaExceeded>(runCatching { store.put("data/gg", bytes(600)) }.exceptionOrNull())
        assertEquals(DriveQuota(limit = 1000, usage = 600), store.storageQuota())
        // A server that is gone: the I/O failure is transient.
        val gone = DriveBlobStore(DriveHttp("http://127.0.0.1:9", TestTokens("token-1")))
        assertIs<BlobStoreException.Transient>(runCatching { gone.stat("config") }.exceptionOrNull())
        val signedOut = standInStore(
            StandIn.url!!,
            object : AccessTokens {
                override fun token(rejected: String?): String = throw SignInRequiredException("signed out")
            },
        )
        assertIs<BlobStoreException.Unauthorized>(runCatching { signedOut.list("") }.exceptionOrNull())
    }

    @Test
    fun creatorsOnTwoDevicesAtOnceLeaveExactlyOneWinnerAndOneFile() {
        val url = StandIn.fresh()
        val devices = listOf(standInStore(url), standInStore(url))
        val pool = Executors.newFixedThreadPool(8)
        try {
            for (round in 0 until 4) {
                val barrier = CyclicBarrier(8)
                val results = (0 until 8).map { t ->
                    pool.submit<Boolean> {
                        barrier.await()
                        devices[t % 2].create("locks/round$round", "creator $t".toByteArray())
                    }
                }.map { it.get(30, TimeUnit.SECONDS) }
                assertEquals(1, results.count { it }, "round $round: $results")
                val winner = results.indexOf(true)
                assertContentEquals("creator $winner".toByteArray(), devices[0].get("locks/round$round", null))
            }
            assertEquals(4L, StandIn.stat("files"), "losers deleted their files")
        } finally {
            pool.shutdownNow()
        }
    }

    @Test
    fun aLaggingListingLetsTwoDevicesCreateOneNameAndTheEarlierFileStaysTheKeeper() {
        // What docs/STORES.md says Drive cannot promise: no create-if-absent across devices while
        // its search index lags behind writes.
        val url = StandIn.fresh()
        StandIn.configure("""{"list_lag": 10}""")
        assertTrue(standInStore(url).create("locks/a", "phone".toByteArray()))
        assertTrue(standInStore(url).create("locks/a", "tablet".toByteArray()), "the second creator could not see the first")
        repeat(10) { standInStore(url).list("locks/") } // the index catches up
        val reader = standInStore(url)
        assertContentEquals("phone".toByteArray(), reader.get("locks/a", null), "every device reads the earlier file")
        assertEquals(listOf("locks/a"), reader.list("locks/").map { it.name })
        assertEquals(setOf("locks/a"), reader.duplicateNames)
        assertEquals(1, reader.removeDuplicates())
        assertEquals(1L, StandIn.stat("files"))
    }

    @Test
    fun optionsRefuseChunksDriveWouldRefuse() {
        assertFailsWith<IllegalArgumentException> { DriveStoreOptions(chunkBytes = 300_000) }
        assertFailsWith<IllegalArgumentException> { DriveStoreOptions(pageSize = 1001) }
        assertTrue(DriveStoreOptions().chunkBytes % (256 * 1024) == 0)
    }
}
