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
        val work = async(Dispatchers.IO) { block(flag) }
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
