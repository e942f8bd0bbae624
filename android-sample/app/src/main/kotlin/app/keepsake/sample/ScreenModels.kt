// androidx ViewModels that own the plain-Kotlin flow view-models on viewModelScope, so a running
// backup or restore survives rotation.
package app.keepsake.sample

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.keepsake.sample.flow.BackupViewModel
import app.keepsake.sample.flow.ChatViewModel
import app.keepsake.sample.flow.CloudBackupViewModel
import app.keepsake.sample.flow.RestoreViewModel

/** The three screens' logic for one activity's lifetime-independent scope. */
class ScreenModels(services: SampleServices) : ViewModel() {
    val chat = ChatViewModel(viewModelScope, services.engine)
    val backup = BackupViewModel(
        viewModelScope, services.engine, services.passkeys, services.vault, services.history, services::backupPath,
        scheduledRuns = services.scheduledRuns,
    )
    val restore = RestoreViewModel(viewModelScope, services.engine, services.passkeys, services.vault)

    /** Where the backup lives (Google Drive account, usage) and what to do about storage failures. */
    val cloud = CloudBackupViewModel(viewModelScope, services.googleAccount.cloudAccount)

    init {
        chat.refresh()
        backup.load()
        cloud.load()
        // A media restore the process was killed in goes on with the next file.
        restore.resumeMedia()
    }
}
