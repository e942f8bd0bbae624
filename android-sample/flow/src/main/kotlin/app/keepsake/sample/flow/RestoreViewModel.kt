// The Restore screen's logic: pick a backup file, unlock it with a passkey, the recovery key or a
// password, restore with progress, show the result. A wrong or mistyped key goes back to the
// unlock choice. The device's own keyring is kept when the backup's is not newer.
package app.keepsake.sample.flow

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
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
        /** The backup has a passkey slot. */
        val canUsePasskey: Boolean get() = info.slots.any { it.kind == SlotKind.PASSKEY }

        /** The backup has a recovery key slot. */
        val canUseRecoveryKey: Boolean get() = info.slots.any { it.kind == SlotKind.RECOVERY_KEY }

        /** The backup has a password slot. */
        val canUsePassword: Boolean get() = info.slots.any { it.kind == SlotKind.PASSWORD }
    }

    /** Waiting for the passkey sheet, or unlocking and restoring; [progress] null before the first report. */
    data class Restoring(val info: BackupInfo, val progress: Progress?) : RestoreUiState

    /**
     * The chats are back. [keptDeviceKeyring]: the backup's keys were not newer than this
     * device's, which keeps its own (slots revoked since the backup stay revoked).
     */
    data class Restored(val messages: Long, val conversations: Long, val keptDeviceKeyring: Boolean = false) : RestoreUiState {
        /** What the screen says. */
        val message: UserMessage get() = UserMessages.restored(messages, conversations, keptDeviceKeyring)
    }
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

    private var job: Job? = null

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

    /** Unlocks with a passkey assertion and restores. */
    fun unlockWithPasskey(): Job? = restoreWith { info ->
        val ceremony = engine.beginUnlock(info.path)
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

    private fun restoreWith(secretFor: suspend (BackupInfo) -> UnlockSecret?): Job? {
        val chosen = mutableState.value as? RestoreUiState.ChooseUnlock ?: return null
        val info = chosen.info
        mutableState.value = RestoreUiState.Restoring(info, null)
        return launch {
            try {
                val secret = secretFor(info) ?: return@launch
                val device = deviceKeyring()
                val result = try {
                    engine.restore(info.path, secret, device) { progress ->
                        if (mutableState.value is RestoreUiState.Restoring) {
                            mutableState.value = RestoreUiState.Restoring(info, progress)
                        }
                    }
                } finally {
                    device?.wipe()
                }
                // Installed: from here on the restore is done, whatever a late cancel says.
                withContext(NonCancellable) { withWipe(result.secrets) { vault.save(it) } }
                mutableState.value = RestoreUiState.Restored(result.messages, result.conversations, result.keptDeviceKeyring)
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
