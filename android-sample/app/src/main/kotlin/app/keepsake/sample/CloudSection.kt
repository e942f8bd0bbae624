// The storage lines of the Backup and Restore screens: where the backup lives, what it uses, and
// the one action a storage failure calls for. A direct rendering of CloudBackupViewModel.
package app.keepsake.sample

import android.content.Intent
import android.net.Uri
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.keepsake.sample.flow.BackupPlace
import app.keepsake.sample.flow.CloudAction
import app.keepsake.sample.flow.CloudBackupViewModel
import app.keepsake.sample.flow.UserMessage

/**
 * [explaining]: the Backup screen's last message, so that a full storage or a lost sign-in gets
 * where to act. [newPhone]: the Restore screen's "Find my backup" (sign in, look for it), whose
 * FOUND step offers [onUnlock].
 */
@Composable
fun CloudSection(
    cloud: CloudBackupViewModel,
    explaining: UserMessage? = null,
    newPhone: Boolean = false,
    onUnlock: () -> Unit = {},
) {
    val state by cloud.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(explaining) { cloud.explain(explaining) }
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        state.whereLine?.let { Text(it, modifier = Modifier.testTag("backup-place")) }
        state.usageLine?.let { Text(it, style = MaterialTheme.typography.bodySmall, modifier = Modifier.testTag("backup-usage")) }
        if (state.busy) LinearProgressIndicator()
        state.message?.let {
            Text(it.text, color = if (it.isError) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface)
        }
        when (state.action) {
            CloudAction.SIGN_IN -> Button(onClick = { cloud.signIn() }, modifier = Modifier.testTag("sign-in")) {
                Text(if (state.place is BackupPlace.GoogleDrive) "Sign in again" else "Sign in with Google")
            }
            CloudAction.MANAGE_STORAGE -> OutlinedButton(onClick = {
                context.startActivity(Intent(Intent.ACTION_VIEW, Uri.parse("https://one.google.com/storage")))
            }) { Text("Manage Google storage") }
            CloudAction.UNLOCK -> Button(onClick = onUnlock, modifier = Modifier.testTag("unlock-found")) {
                Text("Unlock with your passkey")
            }
            CloudAction.TRY_LATER, null -> {}
        }
        if (newPhone && state.action == null && !state.busy) {
            OutlinedButton(onClick = { cloud.findBackup() }, modifier = Modifier.testTag("find-backup")) {
                Text("Find my backup")
            }
        }
    }
}
