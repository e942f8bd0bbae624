package app.keepsake.sample.drive

import app.keepsake.BlobStoreException
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.Test

class DriveErrorsTest {
    private fun body(status: Int, reason: String) =
        """{"error":{"code":$status,"message":"m","errors":[{"domain":"usageLimits","reason":"$reason","message":"m"}]}}"""

    @Test
    fun rateLimitsAreThrottledWithTheirRetryAfter() {
        val limited = DriveErrors.map(403, body(403, "userRateLimitExceeded"), "3", "put data/ab")
        assertIs<BlobStoreException.Throttled>(limited)
        assertEquals(3000L, limited.retryAfterMs)
        val project = DriveErrors.map(403, body(403, "rateLimitExceeded"), null, "put data/ab")
        assertIs<BlobStoreException.Throttled>(project)
        assertNull(project.retryAfterMs)
        // 429 with no JSON at all (a proxy's answer) is still a rate limit.
        val plain = DriveErrors.map(429, "Too Many Requests", "1", "get config")
        assertIs<BlobStoreException.Throttled>(plain)
        assertEquals(1000L, plain.retryAfterMs)
        // A daily project limit: longer than RetryingStore waits, so the work is rescheduled.
        val daily = DriveErrors.map(403, body(403, "dailyLimitExceeded"), null, "list")
        assertIs<BlobStoreException.Throttled>(daily)
        assertTrue(daily.retryAfterMs!! > 60_000)
    }

    @Test
    fun quotaSignInServerAndOtherFailuresKeepTheirKinds() {
        assertIs<BlobStoreException.QuotaExceeded>(DriveErrors.map(403, body(403, "storageQuotaExceeded"), null, "put"))
        assertIs<BlobStoreException.QuotaExceeded>(DriveErrors.map(507, null, null, "put"))
        assertIs<BlobStoreException.Unauthorized>(DriveErrors.map(401, body(401, "authError"), null, "list"))
        assertIs<BlobStoreException.Unauthorized>(DriveErrors.map(403, body(403, "insufficientPermissions"), null, "list"))
        for (status in listOf(500, 502, 503, 504, 408)) {
            assertIs<BlobStoreException.Transient>(DriveErrors.map(status, body(status, "backendError"), null, "get"), "$status")
        }
        assertIs<BlobStoreException.Failed>(DriveErrors.map(400, body(400, "invalidQuery"), null, "list"))
        assertIs<BlobStoreException.Failed>(DriveErrors.map(404, body(404, "notFound"), null, "delete"))
    }

    @Test
    fun detailsNameTheCallTheStatusAndTheReason() {
        val error = DriveErrors.map(403, body(403, "storageQuotaExceeded"), null, "put data/ab")
        assertEquals("Google Drive: put data/ab: HTTP 403 storageQuotaExceeded: m", (error as BlobStoreException.QuotaExceeded).detail)
        val server = DriveErrors.map(502, "<html>", null, "get x") as BlobStoreException.Transient
        assertEquals("Google Drive: get x: HTTP 502", server.detail)
    }

    @Test
    fun retryAfterIsReadAsSecondsOrAsAnHttpDate() {
        assertEquals(0L, DriveErrors.parseRetryAfter("0"))
        assertEquals(120_000L, DriveErrors.parseRetryAfter(" 120 "))
        val now = 1_767_225_600_000L // 2026-01-01T00:00:00Z
        assertEquals(90_000L, DriveErrors.parseRetryAfter("Thu, 01 Jan 2026 00:01:30 GMT", now))
        assertEquals(0L, DriveErrors.parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now))
        for (bad in listOf(null, "", "-5", "soon", "1.5")) assertNull(DriveErrors.parseRetryAfter(bad, now), "$bad")
    }

    @Test
    fun queryLiteralsAndUrlPartsAreEscaped() {
        assertEquals("'it\\'s a \\\\ name'", DriveHttp.literal("it's a \\ name"))
        assertEquals("name%20%3D%20%27a%2Fb%27", DriveHttp.query("name = 'a/b'"))
        assertEquals("data", DriveBlobStore.top("data/ab"))
        assertEquals("-", DriveBlobStore.top("config"))
    }
}
