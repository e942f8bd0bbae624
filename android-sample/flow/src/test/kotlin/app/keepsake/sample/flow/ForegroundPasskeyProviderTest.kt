// The holder the view-models call for passkey ceremonies (SampleServices.passkeys in the app).
package app.keepsake.sample.flow

import java.lang.ref.WeakReference
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlinx.coroutines.runBlocking

class ForegroundPasskeyProviderTest {
    private val registration = """{"type":"create"}"""
    private val assertion = """{"type":"get"}"""

    /** Attaches a provider nothing else references, as SampleServices.attach does. */
    private fun attachUnreferenced(holder: ForegroundPasskeyProvider, owner: Any): WeakReference<PasskeyPrfProvider> {
        val provider = ScriptedProvider("cred-gc")
        holder.attach(owner, provider)
        return WeakReference(provider)
    }

    /** Collects garbage until a fresh weakly held object is gone, so a weak holder would be too. */
    private fun collectGarbage() {
        val canary = WeakReference(Any())
        repeat(50) {
            if (canary.get() == null) return
            System.gc()
            Thread.sleep(10)
        }
        error("the JVM did not collect a garbage object")
    }

    @Test
    fun `an attached provider still serves ceremonies after a garbage collection`() = runBlocking {
        val holder = ForegroundPasskeyProvider()
        val owner = Any()
        val reference = attachUnreferenced(holder, owner)
        collectGarbage()
        assertEquals(PasskeyResult.Success("""{"credential":"cred-gc","prf":"RESULTS"}"""), holder.register(registration))
        assertEquals(PasskeyResult.Success("""{"credential":"cred-gc","prf":"RESULTS"}"""), holder.authenticate(assertion))
        // Held until its owner detaches it.
        holder.detach(owner)
        collectGarbage()
        assertNull(reference.get(), "the holder keeps a detached provider alive")
    }

    @Test
    fun `a destroyed screen does not detach the provider of the screen that replaced it`() = runBlocking {
        val holder = ForegroundPasskeyProvider()
        val before = Any()
        val after = Any()
        holder.attach(before, ScriptedProvider("before"))
        // A rotation: the new activity is created before the old one's onDestroy runs.
        holder.attach(after, ScriptedProvider("after"))
        holder.detach(before)
        assertEquals(PasskeyResult.Success("""{"credential":"after","prf":"RESULTS"}"""), holder.authenticate(assertion))
    }

    @Test
    fun `without a screen a ceremony is interrupted, not failed`() = runBlocking {
        val holder = ForegroundPasskeyProvider()
        assertEquals(PasskeyResult.Interrupted, holder.register(registration))
        val owner = Any()
        holder.attach(owner, ScriptedProvider())
        holder.detach(owner)
        assertEquals(PasskeyResult.Interrupted, holder.authenticate(assertion))
    }
}
