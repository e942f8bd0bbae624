package app.keepsake.sample.drive

import app.keepsake.BlobStoreException
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.URL
import java.net.URLEncoder

/** One HTTP answer: status, the headers the store reads, and the body. */
class HttpAnswer(val status: Int, private val headers: Map<String, List<String>>, val body: ByteArray) {
    fun header(name: String): String? =
        headers.entries.firstOrNull { it.key.equals(name, ignoreCase = true) }?.value?.firstOrNull()

    fun text(): String = body.toString(Charsets.UTF_8)
}

/**
 * Drive requests over `java.net.HttpURLConnection` (in every Android version and on the JVM;
 * `java.net.http` is not on Android). Adds the bearer token, asks once for a fresh token after
 * a 401 (an expired token is not a failure the user must see), and turns I/O failures into
 * `Transient`. The token goes only into the Authorization header: no message, log or
 * exception carries it.
 */
class DriveHttp(
    private val baseUrl: String,
    private val tokens: AccessTokens,
    private val connectTimeoutMs: Int = 15_000,
    private val readTimeoutMs: Int = 60_000,
) {
    /**
     * Sends [method] to [pathOrUrl] (a path under the base URL, or a whole URL such as a
     * resumable session's) with [body]. PATCH goes as POST with `X-HTTP-Method-Override`,
     * which Google's front ends honour, because HttpURLConnection refuses the PATCH verb.
     * [what] names the call in error details.
     */
    fun send(
        method: String,
        pathOrUrl: String,
        what: String,
        headers: Map<String, String> = emptyMap(),
        body: ByteArray? = null,
        bodyRange: IntRange? = null,
    ): HttpAnswer {
        val token = currentToken(null, what)
        val first = exchange(method, pathOrUrl, what, token, headers, body, bodyRange)
        if (first.status != 401) return first
        val fresh = currentToken(token, what)
        return exchange(method, pathOrUrl, what, fresh, headers, body, bodyRange)
    }

    private fun currentToken(rejected: String?, what: String): String = try {
        tokens.token(rejected)
    } catch (e: SignInRequiredException) {
        throw BlobStoreException.Unauthorized("Google Drive: $what: ${e.message}")
    }

    private fun exchange(
        method: String,
        pathOrUrl: String,
        what: String,
        token: String,
        headers: Map<String, String>,
        body: ByteArray?,
        bodyRange: IntRange?,
    ): HttpAnswer {
        val url = URL(if (pathOrUrl.startsWith("http")) pathOrUrl else baseUrl + pathOrUrl)
        val connection = url.openConnection() as HttpURLConnection
        try {
            connection.instanceFollowRedirects = false // 308 is the resumable protocol's "go on"
            connection.connectTimeout = connectTimeoutMs
            connection.readTimeout = readTimeoutMs
            connection.useCaches = false
            if (method == "PATCH") {
                connection.requestMethod = "POST"
                connection.setRequestProperty("X-HTTP-Method-Override", "PATCH")
            } else {
                connection.requestMethod = method
            }
            connection.setRequestProperty("Authorization", "Bearer $token")
            for ((name, value) in headers) connection.setRequestProperty(name, value)
            if (body != null) {
                val range = bodyRange ?: body.indices
                val length = if (range.isEmpty()) 0 else range.last - range.first + 1
                connection.doOutput = true
                connection.setFixedLengthStreamingMode(length)
                connection.outputStream.use { it.write(body, range.first, length) }
            }
            val status = connection.responseCode
            val stream: InputStream? = if (status >= 400) connection.errorStream else connection.inputStream
            val bytes = stream?.use { it.readBytes() } ?: ByteArray(0)
            return HttpAnswer(status, connection.headerFields.filterKeys { it != null }, bytes)
        } catch (e: IOException) {
            // Reset, timeout, no network: worth retrying. The message names no header.
            throw BlobStoreException.Transient("Google Drive: $what: ${e.javaClass.simpleName}: ${e.message}")
        } finally {
            connection.disconnect()
        }
    }

    companion object {
        /** [value] for a URL query. */
        fun query(value: String): String = URLEncoder.encode(value, "UTF-8").replace("+", "%20")

        /** [value] as a string literal of Drive's query language (`'` and `\` escaped). */
        fun literal(value: String): String = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    }
}
