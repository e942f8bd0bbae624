// The idiomatic Kotlin layer over the generated bindings (package app.keepsake): suspend
// functions that run the blocking Rust calls on Dispatchers.IO, coroutine cancellation wired to
// Keepsake's Cancellation, and progress as a Flow.
package app.keepsake

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.launch

/**
 * Runs a blocking Keepsake call on [Dispatchers.IO]. Cancelling the calling coroutine raises the
 * call's [Cancellation], so the Rust side stops at its next check (and leaves nothing behind);
 * the coroutine then completes with [CancellationException].
 */
suspend fun <T> keepsakeIo(block: (Cancellation) -> T): T = Cancellation().use { flag ->
    coroutineScope {
        val work = async(Dispatchers.IO) {
            try {
                block(flag)
            } catch (e: KeepsakeException.Cancelled) {
                // Raised by us because the coroutine was cancelled: end as a coroutine
                // cancellation, not as a failure.
                if (flag.isCancelled()) throw CancellationException("cancelled").apply { initCause(e) }
                throw e
            }
        }
        try {
            work.await()
        } catch (e: CancellationException) {
            flag.cancel()
            throw e
        }
    }
}

/** What a long operation reports while it runs: progress, then its result. */
sealed interface OperationEvent<out T> {
    /** A progress report. */
    data class Progress(val report: ProgressReport) : OperationEvent<Nothing>

    /** The operation finished with [result]; always the last event. */
    data class Finished<T>(val result: T) : OperationEvent<T>
}

/**
 * A long operation as a cold [Flow]: collecting runs [operation] on [Dispatchers.IO] with a
 * listener feeding the flow; progress reports are conflated (only the newest is kept when the
 * collector is slow) and the last event is [OperationEvent.Finished]. A failure is thrown from
 * `collect`. Cancelling the collection cancels the operation through its [Cancellation].
 */
fun <T> operationFlow(
    operation: (ProgressListener, Cancellation) -> T,
): Flow<OperationEvent<T>> = channelFlow {
    val progress = Channel<ProgressReport>(Channel.CONFLATED)
    val forward = launch { for (report in progress) send(OperationEvent.Progress(report)) }
    val listener = progressListener { progress.trySend(it) }
    val result = try {
        keepsakeIo { flag -> operation(listener, flag) }
    } finally {
        progress.close()
    }
    forward.join()
    send(OperationEvent.Finished(result))
}

/** The result of an [operationFlow], passing every progress report to [onProgress]. */
suspend fun <T> Flow<OperationEvent<T>>.result(onProgress: (ProgressReport) -> Unit = {}): T {
    var finished: OperationEvent.Finished<T>? = null
    collect { event ->
        when (event) {
            is OperationEvent.Progress -> onProgress(event.report)
            is OperationEvent.Finished -> finished = event
        }
    }
    return finished?.result ?: throw IllegalStateException("operation ended without a result")
}

/** A [ProgressListener] from a lambda. */
fun progressListener(onProgress: (ProgressReport) -> Unit): ProgressListener =
    object : ProgressListener {
        override fun onProgress(report: ProgressReport) = onProgress(report)
    }

/** A [ByteSink] writing into an [java.io.OutputStream] (an upload stream); closes it on finish. */
class OutputStreamSink(private val out: java.io.OutputStream) : ByteSink {
    override fun write(chunk: ByteArray) = out.write(chunk)
    override fun finish() = out.close()
}

/** A [ByteSource] reading from an [java.io.InputStream] (a download stream). */
class InputStreamSource(private val input: java.io.InputStream) : ByteSource {
    override fun read(maxLen: Long): ByteArray {
        val buffer = ByteArray(minOf(maxLen, 1L shl 16).toInt())
        val n = input.read(buffer)
        return if (n <= 0) ByteArray(0) else buffer.copyOf(n)
    }
}

/** Backs this store up to the file [path]; progress and result as a [Flow] (see [operationFlow]). */
fun ChatStore.backupFlow(keyring: Keyring, path: String, options: BackupOptions? = null): Flow<OperationEvent<BackupReport>> =
    operationFlow { listener, flag -> backupToPath(this, keyring, path, options, listener, flag) }

/** Backs this store up into [out] (an upload stream), which is closed at the end. */
fun ChatStore.backupFlow(keyring: Keyring, out: java.io.OutputStream, options: BackupOptions? = null): Flow<OperationEvent<BackupReport>> =
    operationFlow { listener, flag -> backupToSink(this, keyring, OutputStreamSink(out), options, listener, flag) }

/** Restores the backup file [backupPath] into [targetPath]; progress and result as a [Flow]. */
fun restoreFlow(backupPath: String, secret: BackupSecret, targetPath: String, replace: Boolean = false): Flow<OperationEvent<RestoreReport>> =
    operationFlow { listener, flag -> restoreFromPath(backupPath, secret, targetPath, replace, listener, flag) }

/** Restores from [input] (a download stream) into [targetPath]; progress and result as a [Flow]. */
fun restoreFlow(input: java.io.InputStream, secret: BackupSecret, targetPath: String, replace: Boolean = false): Flow<OperationEvent<RestoreReport>> =
    operationFlow { listener, flag -> restoreFromSource(InputStreamSource(input), secret, targetPath, replace, listener, flag) }

/** Reads a backup's public header on [Dispatchers.IO]. */
suspend fun inspect(path: String): BackupInfo = keepsakeIo { inspectBackup(path) }

/** Sends Keepsake's log records at [level] and above to [log] (e.g. `Log.println` on Android). */
fun installLogger(level: LogLevel, log: (LogLevel, String, String) -> Unit) =
    installLogger(object : Logger {
        override fun log(level: LogLevel, target: String, message: String) = log(level, target, message)
    }, level)
