// The passkey provider the view-models call, forwarding to the provider of the screen in the
// foreground. View-models outlive activities, and Credential Manager needs the current Activity.
package app.keepsake.sample.flow

import java.util.concurrent.atomic.AtomicReference

/**
 * Forwards ceremonies to the provider attached by the screen in the foreground.
 *
 * Held strongly: a weak reference is cleared by any garbage collection, after which every
 * ceremony would fail as [PasskeyResult.Interrupted]. A screen attaches when it is created and
 * detaches only when it is destroyed, never on pause: the Credential Manager sheet pauses the
 * activity, and the second ceremony of an enrollment (registration, then one assertion) starts
 * while it is paused. [detach] names its owner, so a destroyed screen cannot detach the provider
 * its successor (after a rotation, say) already attached.
 */
class ForegroundPasskeyProvider : PasskeyPrfProvider {
    private class Attachment(val owner: Any, val provider: PasskeyPrfProvider)

    private val current = AtomicReference<Attachment?>(null)

    /** Makes [provider] of [owner] (the activity) the one ceremonies go to. */
    fun attach(owner: Any, provider: PasskeyPrfProvider) {
        current.set(Attachment(owner, provider))
    }

    /** Forgets the provider of [owner]; a provider attached by another owner stays. */
    fun detach(owner: Any) {
        current.getAndUpdate { attached -> if (attached?.owner === owner) null else attached }
    }

    // No screen at all (the process is in the background): the prompt cannot be shown; the user retries.
    override suspend fun register(requestJson: String) =
        current.get()?.provider?.register(requestJson) ?: PasskeyResult.Interrupted

    override suspend fun authenticate(requestJson: String) =
        current.get()?.provider?.authenticate(requestJson) ?: PasskeyResult.Interrupted
}
