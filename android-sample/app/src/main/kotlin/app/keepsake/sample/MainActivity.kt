// The sample's single activity: three tabs (Chats, Backup, Restore) in Compose, each a direct
// rendering of its flow view-model's state. Start with the extra keepsakeDemo=true for demo mode.
package app.keepsake.sample

import android.net.Uri
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.annotation.VisibleForTesting
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import androidx.lifecycle.ViewModelProvider
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.lifecycleScope
import app.keepsake.sample.flow.BackupViewModel
import app.keepsake.sample.flow.BackupWork
import app.keepsake.sample.flow.ChatRow
import app.keepsake.sample.flow.ChatViewModel
import app.keepsake.sample.flow.MediaRestoreUiState
import app.keepsake.sample.flow.chatRows
import app.keepsake.sample.flow.MIN_PASSWORD_CHARS
import app.keepsake.sample.flow.Progress
import app.keepsake.sample.flow.ProgressText
import app.keepsake.sample.flow.RestoreUiState
import app.keepsake.sample.flow.RestoreViewModel
import app.keepsake.sample.flow.SlotInfo
import app.keepsake.sample.flow.UserAction
import app.keepsake.sample.flow.UserMessage
import app.keepsake.sample.flow.UserMessages
import java.io.File
import java.text.DateFormat
import java.util.Date
import kotlinx.coroutines.launch

class MainActivity : ComponentActivity() {
    private val services by lazy { SampleServices.get(this, intent.getBooleanExtra(EXTRA_DEMO, false)) }
    private val models: ScreenModels by viewModels {
        object : ViewModelProvider.Factory {
            @Suppress("UNCHECKED_CAST")
            override fun <T : ViewModel> create(modelClass: Class<T>): T = ScreenModels(services) as T
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        services.attach(this)
        // Daily backups in the background; a run before backups are turned on only records that.
        if (!services.demo) {
            lifecycleScope.launch {
                DailyBackupWorker.schedule(applicationContext, services.dailyBackups.nextRunAt() - System.currentTimeMillis())
            }
        }
        setContent { MaterialTheme { SampleApp(models, services.demo) } }
    }

    /** The screen models, for the instrumentation test to bypass the system document picker. */
    @VisibleForTesting
    internal fun viewModelsForTest(): ScreenModels = models

    override fun onDestroy() {
        services.detach(this)
        super.onDestroy()
    }

    companion object {
        /** Intent extra: run with the software authenticator instead of Credential Manager. */
        const val EXTRA_DEMO = "keepsakeDemo"
    }
}

@Composable
private fun SampleApp(models: ScreenModels, demo: Boolean) {
    var tab by rememberSaveable { mutableStateOf(0) }
    Scaffold(
        bottomBar = {
            NavigationBar {
                listOf("Chats", "Backup", "Restore").forEachIndexed { index, title ->
                    NavigationBarItem(
                        selected = tab == index,
                        onClick = { tab = index },
                        icon = {},
                        label = { Text(title) },
                        modifier = Modifier.testTag("tab-$title"),
                    )
                }
            }
        },
    ) { padding ->
        Column(Modifier.padding(padding).padding(16.dp).fillMaxSize(), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            if (demo) Text("Demo mode: software authenticator", style = MaterialTheme.typography.labelSmall)
            when (tab) {
                0 -> ChatScreen(models.chat)
                1 -> {
                    CloudSection(models.cloud, explaining = models.backup.state.collectAsStateWithLifecycle().value.message)
                    BackupScreen(models.backup)
                }
                else -> {
                    CloudSection(models.cloud, newPhone = true, onUnlock = { models.restore.pickRepository() })
                    RestoreScreen(models.restore) { models.chat.refresh(); models.backup.load(); models.cloud.load() }
                }
            }
        }
    }
}

@Composable
private fun ColumnScope.ChatScreen(chat: ChatViewModel) {
    val state by chat.state.collectAsStateWithLifecycle()
    var draft by remember { mutableStateOf("") }
    var title by remember { mutableStateOf("") }
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        OutlinedTextField(title, { title = it }, label = { Text("New conversation") }, modifier = Modifier.weight(1f).testTag("new-title"))
        Button(onClick = { chat.newConversation(title); title = "" }, modifier = Modifier.testTag("create")) { Text("Create") }
    }
    LazyColumn(Modifier.fillMaxWidth().weight(1f)) {
        // One list, two id spaces: chatRows gives each row a key unique across both.
        items(chatRows(state), key = { it.key }) { row ->
            when (row) {
                is ChatRow.Conversation -> TextButton(onClick = { chat.open(row.conversation.id) }) {
                    Text("${row.conversation.title}: ${row.conversation.lastMessage.orEmpty()}")
                }
                is ChatRow.Message -> Text("${row.message.sender}: ${row.message.text}")
            }
        }
    }
    if (state.openConversation != null) {
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedTextField(draft, { draft = it }, label = { Text("Message") }, modifier = Modifier.weight(1f).testTag("draft"))
            Button(onClick = { chat.send(draft); draft = "" }, modifier = Modifier.testTag("send")) { Text("Send") }
        }
    }
    state.message?.let { MessageText(it) }
}

@Composable
private fun BackupScreen(backup: BackupViewModel) {
    val state by backup.state.collectAsStateWithLifecycle()
    var password by remember { mutableStateOf("") }
    // The slot the user asked to remove, until they confirm that it revokes it.
    var removing by remember { mutableStateOf<SlotInfo?>(null) }
    if (state.slots.isEmpty()) Text("Protected by: nothing yet")
    state.slots.forEach { slot ->
        Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(if (slot.deviceBound) "${slot.label} (this phone only)" else slot.label, modifier = Modifier.weight(1f))
            TextButton(onClick = { removing = slot }, enabled = state.work == null, modifier = Modifier.testTag("remove-${slot.id}")) {
                Text("Remove")
            }
        }
    }
    removing?.let { slot ->
        // Removing a slot is a revocation (a root-key rotation), not a harmless clean-up: say so.
        AlertDialog(
            onDismissRequest = { removing = null },
            title = { Text("Remove ${slot.label}?") },
            text = {
                Text("It will not open backups made from now on. Backups made before still open with it: delete them if it may be in the wrong hands.")
            },
            confirmButton = {
                TextButton(onClick = { backup.removeSlot(slot); removing = null }, modifier = Modifier.testTag("confirm-remove")) {
                    Text("Remove and revoke")
                }
            },
            dismissButton = { TextButton(onClick = { removing = null }) { Text("Keep") } },
        )
    }
    Button(onClick = { backup.enableWithPasskey() }, enabled = state.work == null, modifier = Modifier.testTag("enable-passkey")) {
        Text("Enable backups with a passkey")
    }
    OutlinedButton(onClick = { backup.addRecoveryKey() }, enabled = state.work == null, modifier = Modifier.testTag("add-recovery-key")) {
        Text("Add a recovery key")
    }
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        OutlinedTextField(
            password, { password = it },
            label = { Text("Password (at least $MIN_PASSWORD_CHARS characters)") },
            visualTransformation = PasswordVisualTransformation(),
            modifier = Modifier.weight(1f).testTag("password-input"),
        )
        OutlinedButton(
            onClick = { backup.addPassword(password); password = "" },
            enabled = state.work == null && password.isNotEmpty(),
            modifier = Modifier.testTag("add-password"),
        ) { Text("Add") }
    }
    Button(onClick = { backup.backUpNow() }, enabled = state.canBackUp, modifier = Modifier.testTag("back-up-now")) { Text("Back up now") }
    OutlinedButton(onClick = { backup.backUpWithMedia() }, enabled = state.canBackUp, modifier = Modifier.testTag("back-up-with-media")) {
        Text("Back up with photos and files")
    }
    when (val work = state.work) {
        is BackupWork.BackingUp -> {
            ProgressLine(work.progress)
            TextButton(onClick = backup::cancel) { Text("Cancel") }
        }
        null -> {}
        else -> LinearProgressIndicator(Modifier.fillMaxWidth())
    }
    state.newRecoveryKey?.let { key ->
        Text("Your recovery key. Write it down; it is shown only now:")
        Text(key, style = MaterialTheme.typography.titleMedium, modifier = Modifier.testTag("recovery-key"))
        TextButton(onClick = backup::recoveryKeyNoted) { Text("I wrote it down") }
    }
    Text(
        state.lastBackup?.let {
            "Last backup: ${DateFormat.getDateTimeInstance().format(Date(it.finishedAtEpochMillis))}, ${it.messages} messages, " +
                ProgressText.bytes(it.bytes) + it.media?.let { media -> "; ${UserMessages.mediaCounts(media)}" }.orEmpty()
        } ?: "No backup yet",
        modifier = Modifier.testTag("last-backup"),
    )
    state.lastScheduledRun?.let { run ->
        val text = UserMessages.of(run.result).text
        Text("${DateFormat.getDateTimeInstance().format(Date(run.finishedAtEpochMillis))}: $text", modifier = Modifier.testTag("last-scheduled-run"))
    }
    state.message?.let { message ->
        MessageText(message)
        // The backup storage lost or damaged data no backup can bring back: offer the repair.
        if (message.action == UserAction.REPAIR_STORAGE) {
            OutlinedButton(onClick = { backup.repairStorage() }, enabled = state.work == null, modifier = Modifier.testTag("repair-storage")) {
                Text("Repair backup storage")
            }
        }
    }
}

@Composable
private fun RestoreScreen(restore: RestoreViewModel, onRestored: () -> Unit) {
    val state by restore.state.collectAsStateWithLifecycle()
    val media by restore.media.collectAsStateWithLifecycle()
    val context = LocalContext.current
    // The engine reads a path: copy the picked document into the cache first.
    val picker = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri: Uri? ->
        if (uri != null) {
            val copy = File(context.cacheDir, "picked.keepsake")
            context.contentResolver.openInputStream(uri)?.use { input -> copy.outputStream().use { input.copyTo(it) } }
            restore.pickFile(copy.path)
        }
    }
    var recoveryKey by remember { mutableStateOf("") }
    var password by remember { mutableStateOf("") }
    when (val s = state) {
        is RestoreUiState.ChooseFile -> {
            Button(onClick = { picker.launch(arrayOf("*/*")) }, modifier = Modifier.testTag("pick-file")) { Text("Choose a backup file") }
            OutlinedButton(onClick = { restore.pickRepository() }, modifier = Modifier.testTag("pick-repository")) {
                Text("Restore from backup storage (with photos and files)")
            }
            s.message?.let { MessageText(it) }
        }
        RestoreUiState.Inspecting -> LinearProgressIndicator(Modifier.fillMaxWidth())
        is RestoreUiState.ChooseUnlock -> {
            Text(
                if (s.info.fromRepository) "Backup in ${s.info.path}"
                else "Backup of ${DateFormat.getDateTimeInstance().format(Date(s.info.createdAtEpochSeconds * 1000))}",
            )
            if (s.canUsePasskey) {
                Button(onClick = { restore.unlockWithPasskey() }, modifier = Modifier.testTag("unlock-passkey")) { Text("Unlock with passkey") }
            }
            if (s.canUseRecoveryKey) {
                OutlinedTextField(recoveryKey, { recoveryKey = it }, label = { Text("Recovery key") }, modifier = Modifier.fillMaxWidth().testTag("recovery-key-input"))
                OutlinedButton(onClick = { restore.unlockWithRecoveryKey(recoveryKey) }, modifier = Modifier.testTag("unlock-recovery-key")) {
                    Text("Unlock with recovery key")
                }
            }
            if (s.canUsePassword) {
                OutlinedTextField(
                    password, { password = it }, label = { Text("Password") },
                    visualTransformation = PasswordVisualTransformation(),
                    modifier = Modifier.fillMaxWidth().testTag("password-unlock-input"),
                )
                OutlinedButton(onClick = { restore.unlockWithPassword(password) }, modifier = Modifier.testTag("unlock-password")) {
                    Text("Unlock with password")
                }
            }
            s.message?.let { MessageText(it) }
        }
        is RestoreUiState.Restoring -> {
            ProgressLine(s.progress)
            TextButton(onClick = restore::cancel) { Text("Cancel") }
        }
        is RestoreUiState.Restored -> {
            Text(s.message.text, modifier = Modifier.testTag("restored"))
            // The chats are ready: the photos and files go on in the background (below).
            Button(onClick = { onRestored(); restore.reset() }) { Text("Show my chats") }
        }
    }
    MediaRestoreSection(restore, media)
}

/** The background media restore: progress in files and bytes, the result and the lost attachments. */
@Composable
private fun MediaRestoreSection(restore: RestoreViewModel, media: MediaRestoreUiState) {
    if (media.running) {
        ProgressLine(media.progress)
        TextButton(onClick = restore::cancelMedia, modifier = Modifier.testTag("cancel-media")) { Text("Pause photos and files") }
    } else if (media.result == null && media.message != null) {
        // Stopped (cancelled, offline): it continues where it stopped.
        OutlinedButton(onClick = { restore.resumeMedia() }, modifier = Modifier.testTag("resume-media")) { Text("Continue") }
    }
    media.message?.let { MessageText(it) }
    media.lostLines.forEach { Text(it, style = MaterialTheme.typography.bodySmall) }
    media.opened?.let { Text("Opened ${it.mime}: ${it.path}", style = MaterialTheme.typography.bodySmall) }
}

@Composable
private fun ProgressLine(progress: Progress?) {
    val total = progress?.total
    if (progress == null || total == null || total == 0L) {
        LinearProgressIndicator(Modifier.fillMaxWidth())
    } else {
        LinearProgressIndicator(progress = { progress.done.toFloat() / total }, modifier = Modifier.fillMaxWidth())
    }
    // The chats, then "Photos and files: 3 of 10 files, 1.5 MB of 4.0 MB".
    Text(ProgressText.of(progress), modifier = Modifier.testTag("progress"))
}

@Composable
private fun MessageText(message: UserMessage) {
    Text(
        message.text,
        color = if (message.isError) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface,
        modifier = Modifier.testTag("message"),
    )
}
