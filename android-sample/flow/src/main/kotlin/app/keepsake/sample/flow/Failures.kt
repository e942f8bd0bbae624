// Which failure an exception from a port stands for. The ports are implemented over platform APIs
// that throw their own exceptions (a Keystore AEADBadTagException, an IOException from a file or
// SharedPreferences), and one of those escaping a view-model coroutine would crash the app.
package app.keepsake.sample.flow

import java.io.IOException
import kotlinx.coroutines.CancellationException

/**
 * The [Failure] that [e] stands for. Cancellation is not a failure and is rethrown, so callers can
 * catch [Exception] without swallowing it.
 */
fun failureOf(e: Exception): Failure = when (e) {
    is CancellationException -> throw e
    is KeepsakeFlowException -> e.failure
    is IOException -> Failure.IO
    else -> Failure.OTHER
}
