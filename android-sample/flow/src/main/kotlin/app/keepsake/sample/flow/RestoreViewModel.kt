// The Restore screen's logic: pick a backup file or the backup repository, unlock it with a
// passkey, the recovery key or a password, restore with progress, show the result. A wrong or
// mistyped key goes back to the unlock choice. The device's own keyring is kept when the backup's
// is not newer. From the repository the chats come first (the app can show them), then the
// photos and files in the background (resumable after the app was killed), and one attachment
// can be opened on demand meanwhile.
package app.keepsake.sample.flow

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** What the Restore screen shows. */
sealed interface RestoreUiState {
    /** No file chosen yet; [message] explains a failed pick. */
    data class ChooseFile(val message: UserMessage? = null) : RestoreUiState

    /** Reading the chosen file's header. */
    data object Inspecting : RestoreUiState

    /** A backup was chosen: offer the unlock methods its slots allow. */
    data class ChooseUnlock(val info: BackupInfo, val message: UserMessage? = null) : RestoreUiState {
        /** The backup has a passkey slot (a repository's slots are sealed: every method is offered). */
        val canUsePasskey: Boolean get() = info.fromRepository || info.slots.any { it.kind == SlotKind.PASSKEY }

        /** The backup has a recovery key slot. */
        val canUseRecoveryKey: Boolean get() = info.fromRepository || info.slots.any { it.kind == SlotKind.RECOVERY_KEY }

        /** The backup has a password slot. */
        val canUsePassword: Boolean get() = info.fromRepository || info.slots.any { it.kind == SlotKind.PASSWORD }
    }

    /** Waiting for the passkey sheet, or unlocking and restoring; [progress] null before the first report. */
    data class Restoring(val info: BackupInfo, val progress: Progress?) : RestoreUiState

    /**
     * The chats are back. [keptDeviceKeyring]: the backup's keys were not newer than this
     * device's, which keeps its own (slots revoked since the backup stay revoked).
     * [damagedBackupsSkipped]: damaged backups in the backup storage were passed over for the
     * newest intact one, made at [backupTimeEpochSeconds].
     */
    data class Restored(
        val messages: Long,
        val conversations: Long,
        val keptDeviceKeyring: Boolean = false,
        val newKeys: Boolean = false,
        val damagedBackupsSkipped: Int = 0,
        val backupTimeEpochSeconds: Long? = null,
    ) : RestoreUiState {
        /** What the screen says. */
        val message: UserMessage
            get() = UserMessages.restored(messages, conversations, keptDeviceKeyring, newKeys, damagedBackupsSkipped, backupTimeEpochSeconds)
    }
}

/**
 * The photos and files restored after the chats, in the background: [running] with [progress]
 * ([Phase.MEDIA]: bytes, files; [ProgressText.of]), then [result] (counts, and the attachments
 * lost to damage with the reason: [lostLines]); [message] says how it ended or why it stopped
 * (it continues with [RestoreViewModel.resumeMedia]), or why an attachment could not be opened.
 * [opened] is the last attachment opened on demand, [opening] the one being fetched.
 */
data class MediaRestoreUiState(
    val running: Boolean = false,
    val progress: Progress? = null,
    val result: MediaRestoreSummary? = null,
    val message: UserMessage? = null,
    val opened: MediaFile? = null,
    val opening: Long? = null,
) {
    /** One line per attachment lost to damage. */
    val lostLines: List<String> get() = result?.lost.orEmpty().map(UserMessages::lost)
}

/** Restore screen logic. */
class RestoreViewModel(
    private val scope: CoroutineScope,
    private val engine: BackupEngine,
    private val passkeys: PasskeyPrfProvider,
    private val vault: RootKeyVault,
) {
    private val mutableState = MutableStateFlow<RestoreUiState>(RestoreUiState.ChooseFile())

    /** The screen state. */
    val state: StateFlow<RestoreUiState> = mutableState.asStateFlow()

    private val mutableMedia = MutableStateFlow(MediaRestoreUiState())

    /** The background media restore and the attachments opened on demand. */
    val media: StateFlow<MediaRestoreUiState> = mutableMedia.asStateFlow()

    private var job: Job? = null
    private var mediaJob: Job? = null

    /** Reads the public header of the backup at [path]. */
    fun pickFile(path: String): Job? {
        if (busy()) return null
        mutableState.value = RestoreUiState.Inspecting
        return launch {
            mutableState.value = try {
                RestoreUiState.ChooseUnlock(engine.inspect(path))
            } catch (e: Exception) {
                RestoreUiState.ChooseFile(UserMessages.of(failureOf(e)))
            }
        }
    }

    /** Looks for the backup repository (backups with media) in the backup storage. */
    fun pickRepository(): Job? {
        if (busy()) return null
        mutableState.value = RestoreUiState.Inspecting
        return launch {
            mutableState.value = try {
                engine.inspectRepository()?.let { RestoreUiState.ChooseUnlock(it) } ?: RestoreUiState.ChooseFile(UserMessages.noRepository)
            } catch (e: Exception) {
                RestoreUiState.ChooseFile(UserMessages.of(failureOf(e)))
            }
        }
    }

    /** Unlocks with a passkey assertion and restores. */
    fun unlockWithPasskey(): Job? = restoreWith { info ->
        val ceremony = if (info.fromRepository) engine.beginRepositoryUnlock() else engine.beginUnlock(info.path)
        when (val result = passkeys.authenticate(ceremony.requestJson)) {
            is PasskeyResult.Success -> UnlockSecret.Passkey(ceremony, result.responseJson)
            else -> {
                mutableState.value = RestoreUiState.ChooseUnlock(info, UserMessages.of(result))
                null
            }
        }
    }

    /** Unlocks with a typed recovery key and restores. */
    fun unlockWithRecoveryKey(text: String): Job? = restoreWith { UnlockSecret.RecoveryKey(text) }

    /** Unlocks with a typed password and restores. */
    fun unlockWithPassword(text: String): Job? = restoreWith { UnlockSecret.Password(text) }

    /** Stops the running restore; the chat store stays as it was. */
    fun cancel() {
        job?.cancel()
    }

    /** Back to choosing a file. */
    fun reset() {
        if (!busy()) mutableState.value = RestoreUiState.ChooseFile()
    }

    /**
     * Continues a media restore that did not finish (the app was killed, it was cancelled or
     * failed): call it when the app starts. Does nothing when none is pending or one is running.
     */
    fun resumeMedia(): Job = scope.launch {
        val pending = try {
            engine.mediaRestorePending()
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            mutableMedia.update { it.copy(message = UserMessages.mediaInterrupted(failureOf(e))) }
            false
        }
        if (pending) startMedia(null)?.join()
    }

    /** Stops the media restore; what was restored stays, and [resumeMedia] continues it. */
    fun cancelMedia() {
        mediaJob?.cancel()
    }

    /**
     * The user opened attachment [attachmentId] (a photo not restored yet): fetches it now, also
     * while the background restore runs. [MediaRestoreUiState.opened] then names its file; one
     * the backup does not hold gives a message saying so.
     */
    fun openAttachment(attachmentId: Long): Job = scope.launch {
        mutableMedia.update { it.copy(opening = attachmentId, message = null) }
        try {
            val file = withDeviceKeyring { engine.loadMedia(it, attachmentId) }
            mutableMedia.update { it.copy(opening = null, opened = file) }
        } catch (e: CancellationException) {
            mutableMedia.update { it.copy(opening = null) }
            throw e
        } catch (e: Exception) {
            mutableMedia.update { it.copy(opening = null, message = UserMessages.of(failureOf(e))) }
        }
    }

    /** The user read the media message. */
    fun mediaMessageShown() = mutableMedia.update { it.copy(message = null) }

    /** Starts the background media restore unless one runs; [message] is shown while it runs. */
    private fun startMedia(message: UserMessage?): Job? {
        if (mediaJob?.isActive == true) return null
        mutableMedia.update { it.copy(running = true, progress = null, result = null, message = message) }
        return scope.launch {
            try {
                val summary = withDeviceKeyring { secrets ->
                    engine.restoreMedia(secrets) { progress ->
                        mutableMedia.update { if (it.running) it.copy(progress = progress) else it }
                    }
                }
                mutableMedia.update { it.copy(running = false, result = summary, message = UserMessages.mediaRestored(summary)) }
            } catch (e: CancellationException) {
                mutableMedia.update { it.copy(running = false, message = UserMessages.mediaInterrupted(Failure.CANCELLED)) }
                throw e
            } catch (e: Exception) {
                mutableMedia.update { it.copy(running = false, message = UserMessages.mediaInterrupted(failureOf(e))) }
            }
        }.also { mediaJob = it }
    }

    /** Runs [body] with the sealed device keyring, wiped afterwards. */
    private suspend fun <T> withDeviceKeyring(body: suspend (KeyringSecrets) -> T): T {
        val secrets = vault.load() ?: throw KeepsakeFlowException(Failure.WRONG_KEY, "no keyring on this device")
        try {
            return body(secrets)
        } finally {
            secrets.wipe()
        }
    }

    private fun restoreWith(secretFor: suspend (BackupInfo) -> UnlockSecret?): Job? {
        val chosen = mutableState.value as? RestoreUiState.ChooseUnlock ?: return null
        val info = chosen.info
        mutableState.value = RestoreUiState.Restoring(info, null)
        return launch {
            try {
                val secret = secretFor(info) ?: return@launch
                val device = deviceKeyring()
                val onProgress = { progress: Progress ->
                    if (mutableState.value is RestoreUiState.Restoring) {
                        mutableState.value = RestoreUiState.Restoring(info, progress)
                    }
                }
                val result = try {
                    if (info.fromRepository) {
                        engine.restoreFromRepository(secret, device, onProgress)
                    } else {
                        engine.restore(info.path, secret, device, onProgress)
                    }
                } finally {
                    device?.wipe()
                }
                // Installed: from here on the restore is done, whatever a late cancel says.
                withContext(NonCancellable) { withWipe(result.secrets) { vault.save(it) } }
                // The chats are ready first: the app can show them while the files follow.
                mutableState.value = RestoreUiState.Restored(
                    result.messages, result.conversations, result.keptDeviceKeyring, result.newKeys,
                    result.damagedBackupsSkipped, result.backupTimeEpochSeconds,
                )
                if (info.fromRepository) startMedia(UserMessages.mediaFollows)
            } catch (e: CancellationException) {
                mutableState.value = RestoreUiState.ChooseUnlock(info, UserMessages.of(Failure.CANCELLED))
                throw e
            } catch (e: Exception) {
                // Also the vault's platform exceptions (Keystore, files): shown, never a crash.
                mutableState.value = RestoreUiState.ChooseUnlock(info, UserMessages.of(failureOf(e)))
            }
        }
    }

    /**
     * The keyring this device holds, or null. One the vault cannot open (a platform error) does
     * not block the restore: the backup's keyring replaces it.
     */
    private suspend fun deviceKeyring(): KeyringSecrets? = try {
        vault.load()
    } catch (e: CancellationException) {
        throw e
    } catch (e: Exception) {
        null
    }

    private fun busy() = mutableState.value is RestoreUiState.Inspecting || mutableState.value is RestoreUiState.Restoring

    private fun launch(body: suspend CoroutineScope.() -> Unit): Job = scope.launch(block = body).also { job = it }
}
