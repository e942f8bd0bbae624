// The Backup screen's logic: enable backups with a passkey, add a recovery key or a password,
// revoke a slot (which rotates the root key), back up now (a single file, or the chats and their
// photos and files into the backup repository), and show the last backup. Plain Kotlin over
// ports; the app wraps it in an androidx ViewModel.
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

/** What the Backup screen shows. */
data class BackupUiState(
    val loaded: Boolean = false,
    val slots: List<SlotInfo> = emptyList(),
    val lastBackup: LastBackup? = null,
    val work: BackupWork? = null,
    /** Shown once right after it was created; the user must write it down. */
    val newRecoveryKey: String? = null,
    val message: UserMessage? = null,
    /** The last daily background run, when the app schedules them. */
    val lastScheduledRun: ScheduledRun? = null,
) {
    /** Backups need at least one way to unlock them on a new device. */
    val canBackUp: Boolean get() = slots.isNotEmpty() && work == null
}

/** The operation in progress. */
sealed interface BackupWork {
    /** Waiting for the passkey sheet or Keepsake. */
    data object EnrollingPasskey : BackupWork

    /** Creating the recovery key slot. */
    data object AddingRecoveryKey : BackupWork

    /** Creating the password slot (Argon2id: about a second). */
    data object AddingPassword : BackupWork

    /** Revoking the slot [slotId] and rotating the root key. */
    data class RemovingSlot(val slotId: String) : BackupWork

    /**
     * Backing up; [progress] is null until the first report. With media the chats come first
     * ([Phase.BACKUP]), then the files ([Phase.MEDIA]: [ProgressText.of] says "files x of y").
     */
    data class BackingUp(val progress: Progress?, val withMedia: Boolean = false) : BackupWork

    /** Repairing the backup storage (after a message offered [UserAction.REPAIR_STORAGE]). */
    data object RepairingStorage : BackupWork
}

/**
 * Backup screen logic. One operation at a time; [cancel] stops the running one and leaves the
 * stored keyring and the last backup as they were.
 */
class BackupViewModel(
    private val scope: CoroutineScope,
    private val engine: BackupEngine,
    private val passkeys: PasskeyPrfProvider,
    private val vault: RootKeyVault,
    private val history: BackupHistory,
    private val backupPath: () -> String,
    private val clock: () -> Long = System::currentTimeMillis,
    private val userName: String = "Keepsake backup",
    private val scheduledRuns: ScheduledRunLog? = null,
) {
    private val mutableState = MutableStateFlow(BackupUiState())

    /** The screen state. */
    val state: StateFlow<BackupUiState> = mutableState.asStateFlow()

    private var job: Job? = null

    /** Loads the keyring's slots and the last backup. */
    fun load(): Job = scope.launch {
        var last: LastBackup? = null
        try {
            last = history.last()
            val scheduled = scheduledRuns?.last()
            val slots = vault.load()?.let { secrets -> withWipe(secrets) { engine.slots(it) } }.orEmpty()
            mutableState.update { it.copy(loaded = true, slots = slots, lastBackup = last, lastScheduledRun = scheduled) }
        } catch (e: Exception) {
            val failure = failureOf(e)
            mutableState.update { it.copy(loaded = true, lastBackup = last, message = UserMessages.of(failure)) }
        }
    }

    /** Creates a passkey (and the keyring, the first time) and adds its slot. */
    fun enableWithPasskey(label: String = "Passkey"): Job? = start(BackupWork.EnrollingPasskey) {
        val secrets = vault.load() ?: engine.createKeyring()
        withWipe(secrets) {
            val registration = engine.beginPasskeyRegistration(secrets, userName, label)
            val created = passkeys.register(registration.requestJson)
            if (created !is PasskeyResult.Success) return@withWipe finishWith(UserMessages.of(created))

            val enrolled = when (val step = engine.finishPasskeyRegistration(secrets, registration, created.responseJson)) {
                is EnrollmentStep.Enrolled -> step.secrets
                is EnrollmentStep.NeedsAssertion -> {
                    val asserted = passkeys.authenticate(step.assertion.requestJson)
                    if (asserted !is PasskeyResult.Success) return@withWipe finishWith(UserMessages.of(asserted))
                    engine.finishPasskeyEnrollment(secrets, step.assertion, asserted.responseJson)
                }
            }
            saveAndShow(enrolled, UserMessage("Backups are protected by your passkey.", isError = false))
        }
    }

    /** Adds a recovery key slot (creating the keyring the first time) and shows the key once. */
    fun addRecoveryKey(label: String = "Recovery key"): Job? = start(BackupWork.AddingRecoveryKey) {
        val secrets = vault.load() ?: engine.createKeyring()
        withWipe(secrets) {
            val (updated, key) = engine.addRecoveryKey(secrets, label)
            saveAndShow(updated, UserMessage("Write the recovery key down and keep it safe.", isError = false))
            mutableState.update { it.copy(newRecoveryKey = key) }
        }
    }

    /** Adds a password slot (creating the keyring the first time). */
    fun addPassword(password: String, label: String = "Password"): Job? = start(BackupWork.AddingPassword) {
        // Keepsake's own rule (it refuses shorter ones), checked first to say it in the user's words.
        if (password.codePointCount(0, password.length) < MIN_PASSWORD_CHARS) {
            finishWith(UserMessages.passwordTooShort(MIN_PASSWORD_CHARS))
            return@start
        }
        val secrets = vault.load() ?: engine.createKeyring()
        withWipe(secrets) {
            val updated = engine.addPassword(secrets, label, password)
            saveAndShow(updated, UserMessage("Backups can also be opened with your password.", isError = false))
        }
    }

    /**
     * Revokes [slot]: Keepsake removes it and rotates the root key, and the rotated keyring (new
     * root key, generation and public bytes) replaces the sealed one. The slot's secret opens no
     * backup made from now on, but still opens the backups made before: the message says so.
     * The last slot a new phone could use is refused ([Failure.LAST_SLOT]) and nothing changes.
     */
    fun removeSlot(slot: SlotInfo): Job? = start(BackupWork.RemovingSlot(slot.id)) {
        val secrets = vault.load()
        if (secrets == null) {
            finishWith(UserMessage("Turn on backups first: add a passkey or a recovery key.", isError = true))
            return@start
        }
        withWipe(secrets) {
            val rotated = engine.removeSlot(secrets, slot.id)
            // The old root key still opens the backups written before: sealing the new one in its
            // place must not be skipped by a late cancel.
            withContext(NonCancellable) { saveAndShow(rotated, UserMessages.revoked(slot)) }
        }
    }

    /** The user confirmed they wrote the recovery key down: stop showing it. */
    fun recoveryKeyNoted() = mutableState.update { it.copy(newRecoveryKey = null) }

    /** Backs up now with the device's keyring to the backup file; needs no prompt. */
    fun backUpNow(): Job? = backUp(withMedia = false)

    /**
     * Backs the chats and their photos, voice notes, videos and documents up into the backup
     * repository with the device's keyring; needs no prompt. Progress shows the chats, then the
     * files; the last backup then shows the media counts (stored, not on this phone, skipped).
     */
    fun backUpWithMedia(): Job? = backUp(withMedia = true)

    private fun backUp(withMedia: Boolean): Job? = start(BackupWork.BackingUp(null, withMedia)) {
        val secrets = vault.load()
        if (secrets == null) {
            finishWith(UserMessage("Turn on backups first: add a passkey or a recovery key.", isError = true))
            return@start
        }
        withWipe(secrets) {
            val onProgress = { progress: Progress ->
                mutableState.update { state ->
                    if (state.work is BackupWork.BackingUp) state.copy(work = BackupWork.BackingUp(progress, withMedia)) else state
                }
            }
            val summary = if (withMedia) engine.backUpWithMedia(secrets, onProgress) else engine.backUp(secrets, backupPath(), onProgress)
            val last = LastBackup(summary.path, clock(), summary.bytes, summary.messages, summary.media)
            // Written (a file renamed into place, or a snapshot): a late cancel must not lose the record of it.
            withContext(NonCancellable) { history.record(last) }
            mutableState.update {
                it.copy(work = null, lastBackup = last, message = UserMessages.backedUp(summary))
            }
        }
    }

    /**
     * Repairs the backup storage with the device's keyring, when a backup or failure offered
     * [UserAction.REPAIR_STORAGE]: backups that can no longer be restored are removed, damaged
     * parts replaced; the message then asks for a backup, which stores everything again.
     */
    fun repairStorage(): Job? = start(BackupWork.RepairingStorage) {
        val secrets = vault.load()
        if (secrets == null) {
            finishWith(UserMessage("Turn on backups first: add a passkey or a recovery key.", isError = true))
            return@start
        }
        withWipe(secrets) {
            val repair = engine.repairStorage(it)
            finishWith(UserMessages.repaired(repair))
        }
    }

    /** Stops the running operation. */
    fun cancel() {
        job?.cancel()
    }

    /** The user read the message. */
    fun messageShown() = mutableState.update { it.copy(message = null) }

    private fun start(work: BackupWork, body: suspend () -> Unit): Job? {
        if (mutableState.value.work != null) return null
        mutableState.update { it.copy(work = work, message = null) }
        val launched = scope.launch {
            try {
                body()
            } catch (e: CancellationException) {
                finishWith(UserMessages.of(Failure.CANCELLED))
                throw e
            } catch (e: Exception) {
                // Also the vault's and history's platform exceptions: shown, never a crash.
                finishWith(UserMessages.of(failureOf(e)))
            }
        }
        job = launched
        return launched
    }

    private suspend fun saveAndShow(secrets: KeyringSecrets, message: UserMessage) {
        withWipe(secrets) {
            vault.save(it)
            val slots = engine.slots(it)
            mutableState.update { state -> state.copy(work = null, slots = slots, message = message) }
        }
    }

    private fun finishWith(message: UserMessage?) = mutableState.update { it.copy(work = null, message = message) }
}

/** The fewest characters Keepsake accepts in a new password. */
const val MIN_PASSWORD_CHARS = 12

/** Runs [body] and wipes [secrets] afterwards, whatever happens. */
internal inline fun <T> withWipe(secrets: KeyringSecrets, body: (KeyringSecrets) -> T): T =
    try {
        body(secrets)
    } finally {
        secrets.wipe()
    }
