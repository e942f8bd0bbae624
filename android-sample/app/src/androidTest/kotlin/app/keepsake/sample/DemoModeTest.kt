// Instrumentation test in demo mode (software authenticator, no Play services): chat, enable
// backups with a passkey, add a recovery key, back up; then restore that file with the recovery
// key. Runs on the API 34 x86_64 emulator in .github/workflows/android.yml.
package app.keepsake.sample

import android.content.Intent
import androidx.compose.ui.test.assertTextContains
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.junit4.createEmptyComposeRule
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performTextInput
import androidx.test.core.app.ActivityScenario
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import org.junit.Rule
import org.junit.Test
import org.junit.runner.RunWith

@RunWith(AndroidJUnit4::class)
class DemoModeTest {
    @get:Rule
    val compose = createEmptyComposeRule()

    @Test
    fun backUpAndRestoreWithTheRecoveryKey() {
        val context = InstrumentationRegistry.getInstrumentation().targetContext
        val intent = Intent(context, MainActivity::class.java).putExtra(MainActivity.EXTRA_DEMO, true)
        ActivityScenario.launch<MainActivity>(intent).use {
            compose.onNodeWithTag("new-title").performTextInput("Ana")
            compose.onNodeWithTag("create").performClick()
            compose.waitUntil(5_000) { compose.onAllNodes(hasTestTag("draft")).fetchSemanticsNodes().isNotEmpty() }
            compose.onNodeWithTag("draft").performTextInput("hello from the emulator")
            compose.onNodeWithTag("send").performClick()

            compose.onNodeWithTag("tab-Backup").performClick()
            compose.onNodeWithTag("enable-passkey").performClick()
            compose.waitUntil(10_000) { text("message").contains("protected by your passkey") }
            compose.onNodeWithTag("add-recovery-key").performClick()
            compose.waitUntil(10_000) { compose.onAllNodes(hasTestTag("recovery-key")).fetchSemanticsNodes().isNotEmpty() }
            val recoveryKey = text("recovery-key")
            compose.onNodeWithTag("back-up-now").performClick()
            compose.waitUntil(30_000) { text("message") == "Backup complete." }
            compose.onNodeWithTag("last-backup").assertTextContains("1 messages", substring = true)

            // Restore the file just written (the document picker is bypassed in tests).
            val services = SampleServices.get(context, demo = true)
            compose.onNodeWithTag("tab-Restore").performClick()
            it.onActivity { activity -> activity.viewModelsForTest().restore.pickFile(services.backupPath()) }
            compose.waitUntil(10_000) { compose.onAllNodes(hasTestTag("recovery-key-input")).fetchSemanticsNodes().isNotEmpty() }
            compose.onNodeWithTag("recovery-key-input").performTextInput(recoveryKey)
            compose.onNodeWithTag("unlock-recovery-key").performClick()
            compose.waitUntil(30_000) { compose.onAllNodes(hasTestTag("restored")).fetchSemanticsNodes().isNotEmpty() }
            compose.onNodeWithTag("restored").assertTextContains("Restored 1 messages", substring = true)
        }
    }

    private fun text(tag: String): String = compose.onAllNodes(hasTestTag(tag)).fetchSemanticsNodes()
        .firstOrNull()?.config?.getOrNull(androidx.compose.ui.semantics.SemanticsProperties.Text)
        ?.joinToString("") { it.text }.orEmpty()
}
