package app.keepsake.sample.drive

import app.keepsake.BlobStoreException
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter

/**
 * Drive's HTTP failures as the bindings' [BlobStoreException] kinds. The store reports, the
 * core's RetryingStore (around every store a Repository gets) retries `Transient` and
 * `Throttled`, honouring `retryAfterMs`; quota and sign-in failures stop the operation with a
 * kind the app's screens explain.
 */
object DriveErrors {
    /** Drive's `errors[].reason` values that mean "slow down". */
    private val rateLimited = setOf("userRateLimitExceeded", "rateLimitExceeded", "sharingRateLimitExceeded")

    /** Project-wide daily quota: waiting a minute does not help; an hour tells RetryingStore
     *  (which honours at most 60 s) to fail at once, so the app schedules the work later. */
    private const val DAILY_LIMIT_WAIT_MS = 3_600_000L

    /**
     * The failure of [what] (an operation and object name, for logs) that answered [status]
     * with [body] (Drive's JSON error, or anything) and a `Retry-After` header of [retryAfter].
     * [nowMs] dates a `Retry-After` given as an HTTP date.
     */
    fun map(status: Int, body: String?, retryAfter: String?, what: String, nowMs: Long = System.currentTimeMillis()): BlobStoreException {
        val reasons = reasons(body)
        val message = message(body)
        val detail = "Google Drive: $what: HTTP $status" +
            (if (reasons.isEmpty()) "" else " " + reasons.joinToString(",")) +
            (if (message.isNullOrBlank()) "" else ": $message")
        val waitMs = parseRetryAfter(retryAfter, nowMs)
        return when {
            "storageQuotaExceeded" in reasons || status == 507 -> BlobStoreException.QuotaExceeded(detail)
            "dailyLimitExceeded" in reasons -> BlobStoreException.Throttled(detail, waitMs ?: DAILY_LIMIT_WAIT_MS)
            status == 429 || reasons.any { it in rateLimited } -> BlobStoreException.Throttled(detail, waitMs)
            status == 401 -> BlobStoreException.Unauthorized(detail)
            // 403 without a rate or storage reason: the scope was not granted or was revoked.
            status == 403 -> BlobStoreException.Unauthorized(detail)
            status == 408 || status >= 500 -> BlobStoreException.Transient(detail)
            else -> BlobStoreException.Failed(detail)
        }
    }

    /**
     * A `Retry-After` header in milliseconds: delta-seconds ("3") or an HTTP date (RFC 9110),
     * never negative; null when absent or unreadable.
     */
    fun parseRetryAfter(value: String?, nowMs: Long = System.currentTimeMillis()): Long? {
        val text = value?.trim().orEmpty()
        if (text.isEmpty()) return null
        text.toLongOrNull()?.let { return if (it < 0) null else Math.multiplyExact(it, 1000L) }
        return runCatching {
            val date = ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME)
            (date.toInstant().toEpochMilli() - nowMs).coerceAtLeast(0)
        }.getOrNull()
    }

    /** `error.errors[].reason` of a Drive error body (v3 keeps the v2 list), plus `error.status`. */
    fun reasons(body: String?): List<String> {
        val error = parsed(body).field("error") ?: return emptyList()
        val reasons = (error.field("errors") as? List<*>).orEmpty().mapNotNull { it.field("reason") as? String }
        return reasons + listOfNotNull(error.field("status") as? String)
    }

    private fun message(body: String?): String? = parsed(body).field("error").field("message") as? String

    private fun parsed(body: String?): Any? =
        if (body.isNullOrBlank()) null else runCatching { Json.parse(body) }.getOrNull()
}
