package app.keepsake.sample.drive

import java.net.HttpURLConnection
import java.net.URL
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList
import org.junit.Assume

/**
 * The local Drive stand-in (scripts/drive-standin.py), started by scripts/test-mobile-flows.sh,
 * which passes its address in KEEPSAKE_DRIVE_STANDIN. Without it the tests that need it are
 * skipped (the script fails a run that skipped any).
 */
object StandIn {
    val url: String? = System.getenv("KEEPSAKE_DRIVE_STANDIN")

    /** Skips the calling test when no stand-in runs, else resets it to empty. */
    fun fresh(): String {
        Assume.assumeTrue("no Drive stand-in (KEEPSAKE_DRIVE_STANDIN)", url != null)
        control("reset", "{}")
        return url!!
    }

    fun configure(json: String) = control("configure", json)

    fun seed(name: String, vararg copies: ByteArray): List<String> {
        val encoded = copies.joinToString(",") { "\"" + Base64.getEncoder().encodeToString(it) + "\"" }
        val ids = Json.parse(control("seed", "{\"name\":${Json.quote(name)},\"copies\":[$encoded]}")).field("ids")
        return (ids as List<*>).map { it as String }
    }

    fun stats(): Map<*, *> = Json.parse(control("stats", "{}")) as Map<*, *>

    fun stat(key: String): Long = stats()[key].int64() ?: 0

    private fun control(verb: String, json: String): String {
        val connection = URL("$url/_control/$verb").openConnection() as HttpURLConnection
        connection.requestMethod = "POST"
        connection.doOutput = true
        connection.setRequestProperty("Content-Type", "application/json")
        connection.outputStream.use { it.write(json.toByteArray()) }
        check(connection.responseCode == 200) { "stand-in $verb: HTTP ${connection.responseCode}" }
        return connection.inputStream.use { it.readBytes().toString(Charsets.UTF_8) }
    }
}

/** Tokens as an authorizer hands them out: [tokens] in turn, each after the previous was refused. */
class TestTokens(private vararg val tokens: String) : AccessTokens {
    val refused = CopyOnWriteArrayList<String>()
    @Volatile private var current = 0

    override fun token(rejected: String?): String {
        if (rejected != null) {
            refused += rejected
            if (current + 1 >= tokens.size) throw SignInRequiredException("sign in to Google again")
            current++
        }
        return tokens[current]
    }
}

/** A Drive store on the stand-in, with small sizes so that uploads take several chunks. */
fun standInStore(
    url: String,
    tokens: AccessTokens = TestTokens("token-1"),
    options: DriveStoreOptions = DriveStoreOptions(resumableThreshold = 256 * 1024, chunkBytes = 512 * 1024, pageSize = 1000),
) = DriveBlobStore(DriveHttp(url, tokens), options)
