package app.keepsake.sample.drive

import app.keepsake.BlobStore
import app.keepsake.BlobStoreException
import app.keepsake.ByteRange
import app.keepsake.ObjectInfo
import java.security.MessageDigest
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/** Sizes of the store's requests. */
data class DriveStoreOptions(
    /** Objects of at least this many bytes go up in a resumable session (Drive: above 5 MB). */
    val resumableThreshold: Int = 5 shl 20,
    /** Bytes per resumable chunk: a multiple of 256 KiB, as Drive requires. A reset costs one chunk. */
    val chunkBytes: Int = 4 shl 20,
    /** Files per listing page (Drive allows 1 to 1,000). */
    val pageSize: Int = 1000,
) {
    init {
        require(chunkBytes > 0 && chunkBytes % (256 * 1024) == 0) { "chunkBytes must be a multiple of 256 KiB" }
        require(resumableThreshold > 0 && pageSize in 1..1000)
    }
}

/** A file of the app's Drive folder as the store reads it. */
data class DriveFile(val id: String, val name: String, val size: Long, val createdTime: String)

/**
 * A Keepsake repository in the user's Google Drive, in the hidden `appDataFolder` (scope
 * `drive.appdata`: the app sees only its own files, and the user sees only the space they
 * take). One Drive file per object, named as the object.
 *
 * Drive is not a key-value store, and this class closes the gaps as follows:
 * - **Duplicate names.** Drive lets several files share a name. A put updates the existing
 *   file, never adds a second one; when duplicates exist anyway (two devices, an interrupted
 *   create), the *keeper* is the earliest created (then the smallest id), reads use it, a put
 *   or [removeDuplicates] deletes the others, and [duplicateNames] reports them.
 * - **No create-if-absent.** [create] checks, uploads, then lists the name again: when another
 *   file of that name was created first, it deletes its own and answers "taken". Within this
 *   process a lock per name makes it exact; across devices two creators still both win when
 *   Drive's listing lags behind their uploads (`docs/STORES.md`).
 * - **Listing by prefix.** Drive's `name contains` matches words, not prefixes of names with
 *   `/`; each file carries its first path segment as the app property `keepsakeTop`, which
 *   listings query exactly before filtering by the prefix.
 * - **Retries.** One attempt per call: the core's RetryingStore retries what this store reports
 *   as `Transient` or `Throttled`. The exceptions are a fresh token after a 401
 *   ([DriveHttp]) and resumable uploads, whose session survives a failed call, so the
 *   retried put continues from the bytes Drive already holds instead of starting over.
 *
 * Calls come from several threads at once; writes to one name are serialized by a lock.
 */
class DriveBlobStore(
    private val http: DriveHttp,
    private val options: DriveStoreOptions = DriveStoreOptions(),
) : BlobStore {
    /** Names → keeper file id, learned from listings and writes (stale ids are found by a 404). */
    private val ids = ConcurrentHashMap<String, String>()
    /** Resumable sessions of puts that failed part-way, by object name. */
    private val pending = ConcurrentHashMap<String, PendingUpload>()
    private val locks = Array(256) { ReentrantLock() }
    private val duplicates = ConcurrentHashMap.newKeySet<String>()
    private val random = SecureRandom()

    /** Names seen with more than one file and not cleaned since (by a put or [removeDuplicates]). */
    val duplicateNames: Set<String> get() = duplicates.toSet()

    override fun put(name: String, data: ByteArray) = locked(name) {
        // A name known to have duplicates is looked up again, so that the put cleans them.
        val existing = (if (name in duplicates) null else ids[name]) ?: keeperForWrite(name)?.id
        val file = if (existing == null) {
            upload(name, data, null)
        } else {
            try {
                upload(name, data, existing)
            } catch (gone: FileGone) {
                // Deleted since we learned its id (another device, a prune): create it anew.
                ids.remove(name)
                upload(name, data, keeperForWrite(name)?.id)
            }
        }
        ids[name] = file.id
    }

    override fun get(name: String, range: ByteRange?): ByteArray {
        val cached = ids[name]
        if (cached != null) {
            try {
                return download(name, cached, range)
            } catch (gone: FileGone) {
                ids.remove(name, cached)
            }
        }
        val keeper = keeper(name) ?: throw BlobStoreException.NotFound(name)
        return try {
            download(name, keeper.id, range)
        } catch (gone: FileGone) {
            throw BlobStoreException.NotFound(name)
        }
    }

    override fun create(name: String, data: ByteArray): Boolean = locked(name) {
        val before = filesNamed(name)
        if (before.isNotEmpty()) {
            noteKeeper(name, before)
            return@locked false
        }
        val mine = upload(name, data, null)
        val winner = noteKeeper(name, filesNamed(name))
        if (winner != null && winner.id != mine.id) {
            // Another device's file of this name came first: ours is the duplicate.
            deleteFile(mine.id, name)
            return@locked false
        }
        ids[name] = mine.id
        true
    }

    override fun list(prefix: String): List<ObjectInfo> {
        val terms = mutableListOf("trashed = false")
        if ('/' in prefix) {
            terms += "appProperties has { key='$TOP_KEY' and value=${DriveHttp.literal(top(prefix))} }"
        }
        val byName = listFiles(terms.joinToString(" and "), "list $prefix")
            .filter { it.name.startsWith(prefix) }
            .groupBy { it.name }
        return byName.map { (name, files) ->
            val keeper = noteKeeper(name, files)!!
            ObjectInfo(name, keeper.size)
        }
    }

    override fun delete(name: String) = locked(name) {
        pending.remove(name)
        ids.remove(name)
        for (file in filesNamed(name)) deleteFile(file.id, name)
    }

    override fun stat(name: String): Long? = keeper(name)?.size

    /**
     * Deletes every file that is not its name's keeper, across the whole folder; returns how
     * many. For a maintenance run (after a restore on a new phone, or when [duplicateNames]
     * is not empty); puts already clean the names they write.
     */
    fun removeDuplicates(): Int {
        var removed = 0
        for ((name, files) in listFiles("trashed = false", "list duplicates").groupBy { it.name }) {
            if (files.size < 2) continue
            locked(name) {
                val now = filesNamed(name)
                val keeper = noteKeeper(name, now) ?: return@locked
                for (file in now) if (file.id != keeper.id) {
                    deleteFile(file.id, name)
                    removed++
                }
                duplicates -= name
            }
        }
        return removed
    }

    /** The user's Drive quota (`about.storageQuota`), for the backup screen; null limit = unlimited. */
    fun storageQuota(): DriveQuota {
        val answer = http.send("GET", "/drive/v3/about?fields=storageQuota", "read the storage quota")
        if (answer.status != 200) throw fail(answer, "read the storage quota")
        val quota = Json.parse(answer.text()).field("storageQuota")
        return DriveQuota(limit = quota.field("limit").int64(), usage = quota.field("usage").int64() ?: 0)
    }

    // ---- lookups

    /** Every file named exactly [name] (Drive may hold several). */
    private fun filesNamed(name: String): List<DriveFile> =
        listFiles("name = ${DriveHttp.literal(name)} and trashed = false", "look up $name").filter { it.name == name }

    /** The keeper of [name], or null; remembers its id and reports duplicates. */
    private fun keeper(name: String): DriveFile? = noteKeeper(name, filesNamed(name))

    /** As [keeper], deleting the other files of the name (only under the name's lock). */
    private fun keeperForWrite(name: String): DriveFile? {
        val files = filesNamed(name)
        val keeper = noteKeeper(name, files) ?: return null
        for (file in files) if (file.id != keeper.id) deleteFile(file.id, name)
        duplicates -= name
        return keeper
    }

    private fun noteKeeper(name: String, files: List<DriveFile>): DriveFile? {
        val keeper = files.minWithOrNull(compareBy<DriveFile>({ it.createdTime }, { it.id })) ?: return null
        if (files.size > 1) duplicates += name
        ids[name] = keeper.id
        return keeper
    }

    /** files.list in the app folder with query [q], following every page. */
    private fun listFiles(q: String, what: String): List<DriveFile> {
        val out = ArrayList<DriveFile>()
        var pageToken: String? = null
        do {
            val path = buildString {
                append("/drive/v3/files?spaces=appDataFolder")
                append("&q=").append(DriveHttp.query(q))
                append("&fields=").append(DriveHttp.query("nextPageToken,files($FILE_FIELDS)"))
                append("&pageSize=").append(options.pageSize)
                if (pageToken != null) append("&pageToken=").append(DriveHttp.query(pageToken))
            }
            val answer = http.send("GET", path, what)
            if (answer.status != 200) throw fail(answer, what)
            val page = parseJson(answer, what)
            (page.field("files") as? List<*>).orEmpty().mapTo(out) { driveFile(it, what) }
            pageToken = page.field("nextPageToken") as? String
        } while (pageToken != null)
        return out
    }

    // ---- transfers

    private fun download(name: String, id: String, range: ByteRange?): ByteArray {
        if (range != null && range.len == 0L) {
            if (stat(name) == null) throw BlobStoreException.NotFound(name)
            return ByteArray(0)
        }
        val headers = if (range == null) emptyMap() else {
            val last = if (range.len > Long.MAX_VALUE - range.offset) "" else (range.offset + range.len - 1).toString()
            mapOf("Range" to "bytes=${range.offset}-$last")
        }
        val answer = http.send("GET", "/drive/v3/files/$id?alt=media", "get $name", headers)
        return when (answer.status) {
            206 -> answer.body
            // A server that ignored the range sent the whole file: cut it here.
            200 -> if (range == null) answer.body else slice(answer.body, range)
            // The range starts at or past the end (also any range of an empty file).
            416 -> ByteArray(0)
            404 -> throw FileGone()
            else -> throw fail(answer, "get $name")
        }
    }

    /** Uploads [data] as a new file named [name], or as the content of file [existing]. */
    private fun upload(name: String, data: ByteArray, existing: String?): DriveFile =
        if (data.size >= options.resumableThreshold) resumable(name, data, existing)
        else if (existing != null) simpleUpdate(name, data, existing)
        else multipartCreate(name, data)

    private fun simpleUpdate(name: String, data: ByteArray, id: String): DriveFile {
        val answer = http.send(
            "PATCH", "/upload/drive/v3/files/$id?uploadType=media&fields=$FILE_FIELDS", "put $name",
            mapOf("Content-Type" to OCTETS), data,
        )
        if (answer.status == 404) throw FileGone()
        if (answer.status != 200) throw fail(answer, "put $name")
        return driveFile(parseJson(answer, "put $name"), "put $name")
    }

    private fun multipartCreate(name: String, data: ByteArray): DriveFile {
        val boundary = "keepsake" + ByteArray(16).also(random::nextBytes).joinToString("") { "%02x".format(it) }
        val head = "--$boundary\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${metadata(name)}\r\n" +
            "--$boundary\r\nContent-Type: $OCTETS\r\n\r\n"
        val body = head.toByteArray() + data + "\r\n--$boundary--\r\n".toByteArray()
        val answer = http.send(
            "POST", "/upload/drive/v3/files?uploadType=multipart&fields=$FILE_FIELDS", "put $name",
            mapOf("Content-Type" to "multipart/related; boundary=$boundary"), body,
        )
        if (answer.status != 200) throw fail(answer, "put $name")
        return driveFile(parseJson(answer, "put $name"), "put $name")
    }

    /**
     * A resumable upload. A session left by a failed put of the same bytes is continued from
     * what Drive holds (asked with `Content-Range: bytes * /size`); an expired one (404/410) is
     * replaced once. A failure mid-chunk keeps the session for the retried call and reports
     * `Transient`: no retry loop here.
     */
    private fun resumable(name: String, data: ByteArray, existing: String?): DriveFile {
        val digest = sha256(data)
        var session = pending.remove(name)?.takeIf {
            it.size == data.size.toLong() && it.existing == existing && it.digest.contentEquals(digest)
        }
        var offset = 0L
        if (session != null) {
            when (val status = sessionStatus(name, session, data.size.toLong())) {
                is SessionState.Done -> return status.file
                is SessionState.At -> offset = status.offset
                SessionState.Expired -> session = null
            }
        }
        var restarted = false
        var stalls = 0
        if (session == null) session = startSession(name, data, existing, digest)
        while (true) {
            val end = minOf(offset + options.chunkBytes, data.size.toLong())
            val answer = try {
                http.send(
                    "PUT", session!!.url, "put $name",
                    mapOf("Content-Range" to "bytes $offset-${end - 1}/${data.size}", "Content-Type" to OCTETS),
                    data, offset.toInt() until end.toInt(),
                )
            } catch (e: BlobStoreException) {
                pending[name] = session!!
                throw e
            }
            when (answer.status) {
                200, 201 -> return driveFile(parseJson(answer, "put $name"), "put $name")
                308 -> {
                    val now = committed(answer)
                    // A server that keeps answering 308 without taking bytes must not spin this loop.
                    if (now <= offset && ++stalls > 2) {
                        pending[name] = session!!
                        throw BlobStoreException.Transient("Google Drive: put $name: the upload makes no progress")
                    }
                    offset = now
                }
                404, 410 -> {
                    if (restarted) throw BlobStoreException.Transient("Google Drive: put $name: upload session lost twice")
                    restarted = true
                    session = startSession(name, data, existing, digest)
                    offset = 0
                }
                else -> {
                    val error = fail(answer, "put $name")
                    if (error is BlobStoreException.Transient || error is BlobStoreException.Throttled) pending[name] = session!!
                    throw error
                }
            }
        }
    }

    private fun startSession(name: String, data: ByteArray, existing: String?, digest: ByteArray): PendingUpload {
        val (method, path) = if (existing == null) "POST" to "/upload/drive/v3/files?uploadType=resumable&fields=$FILE_FIELDS"
        else "PATCH" to "/upload/drive/v3/files/$existing?uploadType=resumable&fields=$FILE_FIELDS"
        val answer = http.send(
            method, path, "put $name",
            mapOf(
                "Content-Type" to "application/json; charset=UTF-8",
                "X-Upload-Content-Type" to OCTETS,
                "X-Upload-Content-Length" to data.size.toString(),
            ),
            (if (existing == null) metadata(name) else "{}").toByteArray(),
        )
        if (answer.status == 404 && existing != null) throw FileGone()
        if (answer.status != 200) throw fail(answer, "put $name")
        val url = answer.header("Location")
            ?: throw BlobStoreException.Failed("Google Drive: put $name: no session URL in the answer")
        return PendingUpload(url, data.size.toLong(), existing, digest)
    }

    private fun sessionStatus(name: String, session: PendingUpload, size: Long): SessionState {
        val answer = http.send(
            "PUT", session.url, "put $name", mapOf("Content-Range" to "bytes */$size"), ByteArray(0),
        )
        return when (answer.status) {
            200, 201 -> SessionState.Done(driveFile(parseJson(answer, "put $name"), "put $name"))
            308 -> SessionState.At(committed(answer))
            404, 410 -> SessionState.Expired
            else -> throw fail(answer, "put $name")
        }
    }

    private fun deleteFile(id: String, name: String) {
        val answer = http.send("DELETE", "/drive/v3/files/$id", "delete $name")
        if (answer.status != 204 && answer.status != 200 && answer.status != 404) throw fail(answer, "delete $name")
    }

    // ---- helpers

    private inline fun <T> locked(name: String, body: () -> T): T =
        locks[(name.hashCode() and 0x7fffffff) % locks.size].withLock(body)

    private fun metadata(name: String): String =
        "{\"name\":${Json.quote(name)},\"parents\":[\"appDataFolder\"]," +
            "\"appProperties\":{\"$TOP_KEY\":${Json.quote(top(name))}}}"

    private fun fail(answer: HttpAnswer, what: String): BlobStoreException =
        DriveErrors.map(answer.status, answer.text(), answer.header("Retry-After"), what)

    private fun parseJson(answer: HttpAnswer, what: String): Any? = try {
        Json.parse(answer.text())
    } catch (e: IllegalArgumentException) {
        throw BlobStoreException.Transient("Google Drive: $what: unreadable answer (${e.message})")
    }

    private fun driveFile(json: Any?, what: String): DriveFile {
        val id = json.field("id") as? String
            ?: throw BlobStoreException.Failed("Google Drive: $what: a file without an id")
        return DriveFile(
            id = id,
            name = json.field("name") as? String ?: "",
            size = json.field("size").int64() ?: 0,
            createdTime = json.field("createdTime") as? String ?: "",
        )
    }

    private class FileGone : Exception()

    private sealed class SessionState {
        class Done(val file: DriveFile) : SessionState()
        class At(val offset: Long) : SessionState()
        object Expired : SessionState()
    }

    /** A resumable session, kept for a retried put of the same bytes (matched by SHA-256). */
    private class PendingUpload(val url: String, val size: Long, val existing: String?, val digest: ByteArray)

    companion object {
        private const val OCTETS = "application/octet-stream"
        private const val TOP_KEY = "keepsakeTop"
        private const val FILE_FIELDS = "id,name,size,createdTime"

        /** The first path segment of [name], or "-" for a name without one (app property values cannot be empty). */
        fun top(name: String): String = if ('/' in name) name.substringBefore('/') else "-"

        /** Bytes Drive holds after a 308: its `Range: bytes=0-N` header, or none yet. */
        fun committed(answer: HttpAnswer): Long {
            val range = answer.header("Range") ?: return 0
            return range.substringAfterLast('-').trim().toLongOrNull()?.plus(1)
                ?: throw BlobStoreException.Transient("Google Drive: unreadable Range '$range' after 308")
        }

        private fun slice(bytes: ByteArray, range: ByteRange): ByteArray {
            if (range.offset >= bytes.size) return ByteArray(0)
            val from = range.offset.toInt()
            val to = if (range.len >= bytes.size - from) bytes.size else from + range.len.toInt()
            return bytes.copyOfRange(from, to)
        }

        private fun sha256(data: ByteArray): ByteArray = MessageDigest.getInstance("SHA-256").digest(data)
    }
}

/** `about.storageQuota`: bytes the account may use (null: unlimited) and uses, all of Google's storage. */
data class DriveQuota(val limit: Long?, val usage: Long)
