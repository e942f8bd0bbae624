// Media for Kotlin apps (package app.keepsake): the app's files handed to a backup as
// InputStreams, restored files written through temporary files renamed into place, and the
// media calls of the repository as Flows and suspend functions, like Repository.kt's.
package app.keepsake

import java.io.File
import java.io.FileInputStream
import java.io.FileOutputStream
import java.io.InputStream
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import kotlinx.coroutines.flow.Flow

/** A [MediaStream] over [input], read in pieces of at most 64 KiB; `closeStream()` closes it. */
class InputStreamMediaStream(private val input: InputStream) : MediaStream {
    override fun read(maxLen: Long): ByteArray {
        val buffer = ByteArray(minOf(maxLen, 1L shl 16).toInt())
        val n = input.read(buffer)
        return if (n <= 0) ByteArray(0) else buffer.copyOf(n)
    }

    override fun closeStream() = input.close()
}

/**
 * A [MediaSource] from two lambdas over the app's media store: [stat] gives a file's size and
 * modification stamp (null when the file is not on the device), [open] its bytes as an
 * [InputStream] (null when not on the device). An exception thrown by either (an
 * `IOException`) records that one attachment as absent; `KeepsakeException.Cancelled` cancels
 * the backup.
 */
fun mediaSource(stat: (MediaRef) -> FileStamp?, open: (MediaRef) -> InputStream?): MediaSource =
    object : MediaSource {
        override fun stat(attachment: MediaRef): FileStamp? = stat(attachment)
        override fun openStream(attachment: MediaRef): MediaStream? = open(attachment)?.let(::InputStreamMediaStream)
    }

/**
 * A [MediaSource] over files: [fileFor] names the attachment's file (null when the app has
 * none). The stamp is the file's `lastModified()`, so an untouched file is not read again by
 * the next backup.
 */
fun fileMediaSource(fileFor: (MediaRef) -> File?): MediaSource = mediaSource(
    stat = { ref -> fileFor(ref)?.takeIf { it.isFile }?.let { FileStamp(it.length(), it.lastModified()) } },
    open = { ref -> fileFor(ref)?.takeIf { it.isFile }?.let(::FileInputStream) },
)

/** [fileMediaSource] over the folder [root], at each attachment's `localRef`. */
fun fileMediaSource(root: File): MediaSource = fileMediaSource { ref -> fileUnder(root, ref.localRef) }

/**
 * A [MediaSink] writing each restored file to [fileFor]`(item)`: into a temporary file beside
 * it, synced and renamed into place on `commit()` (only once Keepsake checked its size and
 * SHA-256), deleted on `abort()`; no partial or wrong file is ever visible.
 */
fun fileMediaSink(fileFor: (MediaItem) -> File): MediaSink = object : MediaSink {
    override fun begin(item: MediaItem): MediaFileWriter {
        val target = fileFor(item)
        target.parentFile?.mkdirs()
        val temp = File.createTempFile(".${target.name}.", ".part", target.absoluteFile.parentFile)
        return TempFileWriter(temp, target)
    }
}

/**
 * [fileMediaSink] into the folder [root]: at each attachment's `localRef` when it is a plain
 * relative path, else at `attachments/<id>` (a reference from a backup never writes outside
 * [root]).
 */
fun fileMediaSink(root: File): MediaSink = fileMediaSink { item ->
    fileUnder(root, item.localRef) ?: File(root, "attachments/${item.attachmentId}")
}

private class TempFileWriter(private val temp: File, private val target: File) : MediaFileWriter {
    private val out = FileOutputStream(temp)

    override fun write(bytes: ByteArray) = out.write(bytes)

    override fun commit() {
        out.fd.sync()
        out.close()
        Files.move(temp.toPath(), target.toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
    }

    override fun abort() {
        out.close()
        temp.delete()
    }
}

/** [localRef] under [root], or null when it is empty, absolute or leaves [root]. */
private fun fileUnder(root: File, localRef: String): File? {
    if (localRef.isEmpty() || File(localRef).isAbsolute) return null
    val base = root.canonicalFile
    val file = File(base, localRef).canonicalFile
    return file.takeIf { it.toPath().startsWith(base.toPath()) && it != base }
}

/**
 * Backs [store] up with its attachments' files from [source] (see [Repository.backupWithMedia]);
 * progress and result as a [Flow]: the chats, then the `MEDIA` phase in bytes with
 * `filesDone`/`filesTotal`. A failed or cancelled run leaves no snapshot.
 */
fun Repository.backupFlow(
    store: ChatStore,
    source: MediaSource,
    mediaOptions: MediaOptions? = null,
    options: BackupOptions? = null,
): Flow<OperationEvent<RepoBackupReport>> =
    operationFlow { listener, flag -> this.backupWithMedia(store, source, mediaOptions, options, listener, flag) }

/**
 * Restores the media of snapshot [snapshotId] (the latest when null) through [sink], after
 * `restoreFlow` brought the chats back: the attachments [filter] selects (all when null) not
 * restored yet. Progress (`MEDIA` phase: bytes, files) and result as a [Flow]. [stateDir]
 * (app-private, e.g. under `noBackupFilesDir`) keeps the run's state: cancelling the
 * collection, or a killed process, leaves what was restored, and the next run resumes.
 */
fun Repository.restoreMediaFlow(
    stateDir: String,
    sink: MediaSink,
    snapshotId: String? = null,
    filter: MediaFilter? = null,
): Flow<OperationEvent<MediaRestoreReport>> =
    operationFlow { listener, flag -> this.restoreMedia(stateDir, sink, snapshotId, filter, listener, flag) }

/**
 * Restores attachment [attachmentId] now, on [kotlinx.coroutines.Dispatchers.IO] (the user
 * opened it before the background restore got to it); same [stateDir] as [restoreMediaFlow].
 * `KeepsakeException.MediaUnavailable` when the backup does not hold its bytes.
 */
suspend fun Repository.loadMedia(stateDir: String, attachmentId: Long, sink: MediaSink, snapshotId: String? = null): MediaItem =
    keepsakeIo { this.fetchMedia(stateDir, attachmentId, sink, snapshotId) }

/**
 * Releases a built-in source (`directoryMediaSource`) now: a Rust object behind the
 * [MediaSource] interface, which has no `close()` of its own. Does nothing for the app's own.
 */
fun MediaSource.close() = (this as? AutoCloseable)?.close() ?: Unit

/**
 * Releases a built-in sink (`directoryMediaSink`) now: a Rust object behind the [MediaSink]
 * interface, which has no `close()` of its own. Does nothing for the app's own.
 */
fun MediaSink.close() = (this as? AutoCloseable)?.close() ?: Unit
