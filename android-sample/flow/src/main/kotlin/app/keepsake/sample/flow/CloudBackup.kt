// Where the backup lives and what the user can do about it: the account the backup repository
// is kept in (Google Drive's hidden app folder, iCloud), how much it uses, what to do when the
// storage is full or the account needs signing in again, and a new phone's way back to it (sign
// in, find the repository, unlock it with the passkey). Plain Kotlin over one port; the app
// implements the port over its store and its sign-in (Credential Manager, AuthorizationClient).
package app.keepsake.sample.flow

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** Where the backup repository is kept, as the screens name it. */
sealed interface BackupPlace {
    /** The hidden app folder of the Google Drive of [account] (an e-mail address). */
    data class GoogleDrive(val account: String) : BackupPlace

    /** The app's iCloud storage (the account is the phone's Apple Account). */
    data object ICloud : BackupPlace

    /** A folder of the app on this phone (the demo): gone with the phone. */
    data object ThisPhone : BackupPlace
}

/** Bytes the backup takes in the store, and the account's free space when the service says. */
data class CloudUsage(val backupBytes: Long, val accountFreeBytes: Long? = null)

/** The app's cloud account. Failures are [KeepsakeFlowException]s with the storage failures. */
interface CloudAccount {
    /** Where backups go now, or null while no account is signed in. */
    suspend fun place(): BackupPlace?

    /** Shows the platform's sign-in; the place afterwards, or null when the user backed out. */
    suspend fun signIn(): BackupPlace?

    /** What the backup uses: the sum of its objects' sizes as the store lists them. */
    suspend fun usage(): CloudUsage

    /** Whether the store holds a backup repository (its `config` object). */
    suspend fun hasRepository(): Boolean
}

/** What the user can do next about the backup storage. */
enum class CloudAction {
    /** Sign in (again) to the account. */
    SIGN_IN,

    /** Open the account's storage settings to free space or buy more. */
    MANAGE_STORAGE,

    /** Nothing to fix: try again later (the daily backup will). */
    TRY_LATER,

    /** A backup was found on a new phone: unlock it (RestoreViewModel.pickRepository). */
    UNLOCK,
}

/** Where a new phone is on its way back to the backup. */
enum class NewPhoneStep { SIGN_IN, SEARCHING, FOUND, NOT_FOUND }

/** What the backup and restore screens show about the storage. */
data class CloudUiState(
    val place: BackupPlace? = null,
    /** "Backups are kept in …", or null before loading. */
    val whereLine: String? = null,
    /** "Backups use …", when known. */
    val usageLine: String? = null,
    val message: UserMessage? = null,
    val action: CloudAction? = null,
    val newPhone: NewPhoneStep? = null,
    val busy: Boolean = false,
)

/** The storage part of the Backup and Restore screens. */
class CloudBackupViewModel(private val scope: CoroutineScope, private val account: CloudAccount) {
    private val mutableState = MutableStateFlow(CloudUiState())

    /** The screen state. */
    val state: StateFlow<CloudUiState> = mutableState.asStateFlow()

    /** Reads the account and what the backup uses there. */
    fun load(): Job = scope.launch { refresh() }

    /** Signs in (from the SIGN_IN action), then reads the account again. */
    fun signIn(): Job = scope.launch {
        val place = attempt { account.signIn() } ?: return@launch
        mutableState.update { it.copy(message = null, action = null) }
        show(place)
    }

    /**
     * What a failed backup or restore means for the storage: [message] as the other view-models
     * report it. A storage failure gets where to act and the action; others are left alone.
     */
    fun explain(message: UserMessage?) {
        explain(CloudMessages.storageFailure(message) ?: return)
    }

    /** As [explain] for a [failure] itself (the daily run's last result). */
    fun explain(failure: Failure) {
        val advice = CloudMessages.advice(mutableState.value.place, failure) ?: return
        mutableState.update { it.copy(message = advice.first, action = advice.second) }
    }

    /**
     * A new phone: signs in when needed, then looks for the repository. FOUND offers the unlock
     * (the Restore screen's "Restore from backup storage" with the passkey); NOT_FOUND says why.
     */
    fun findBackup(): Job = scope.launch {
        mutableState.update { it.copy(newPhone = NewPhoneStep.SIGN_IN, message = null, action = null, busy = true) }
        try {
            val place = attempt { account.place() ?: account.signIn() }
            if (place == null) {
                // Backed out of the sign-in (a failure already left its own message).
                if (mutableState.value.message == null) {
                    mutableState.update { it.copy(message = CloudMessages.signInToRestore, action = CloudAction.SIGN_IN) }
                }
                return@launch
            }
            show(place)
            mutableState.update { it.copy(newPhone = NewPhoneStep.SEARCHING) }
            val found = attempt { account.hasRepository() } ?: return@launch
            mutableState.update {
                if (found) {
                    it.copy(newPhone = NewPhoneStep.FOUND, message = CloudMessages.found(place), action = CloudAction.UNLOCK)
                } else {
                    it.copy(newPhone = NewPhoneStep.NOT_FOUND, message = CloudMessages.notFound(place), action = CloudAction.SIGN_IN)
                }
            }
        } finally {
            mutableState.update { it.copy(busy = false) }
        }
    }

    private suspend fun refresh() {
        val place = attempt { account.place() }
        if (place == null) {
            mutableState.update {
                it.copy(place = null, whereLine = CloudMessages.notSignedIn, usageLine = null, action = it.action ?: CloudAction.SIGN_IN)
            }
            return
        }
        show(place)
    }

    private suspend fun show(place: BackupPlace) {
        mutableState.update { it.copy(place = place, whereLine = CloudMessages.where(place)) }
        val usage = attempt { account.usage() } ?: return
        mutableState.update { it.copy(usageLine = CloudMessages.usage(usage)) }
    }

    /** Runs [body]; a failure becomes the screen's message and action, and null. */
    private suspend fun <T> attempt(body: suspend () -> T): T? = try {
        body()
    } catch (e: Exception) {
        val failure = failureOf(e)
        val advice = CloudMessages.advice(mutableState.value.place, failure)
        mutableState.update { it.copy(message = advice?.first ?: UserMessages.of(failure), action = advice?.second) }
        null
    }
}

/** The words of the storage part of the screens. */
object CloudMessages {
    /** Where backups are kept. */
    fun where(place: BackupPlace): String = when (place) {
        is BackupPlace.GoogleDrive -> "Backups are kept in the Google Drive of ${place.account}, in a hidden app folder."
        BackupPlace.ICloud -> "Backups are kept in your iCloud."
        BackupPlace.ThisPhone -> "Backups are kept on this phone only: they are lost with it."
    }

    /** How much the backup takes, and the account's free space when known. */
    fun usage(usage: CloudUsage): String =
        "Backups use ${ProgressText.bytes(usage.backupBytes)}" +
            (usage.accountFreeBytes?.let { ", ${ProgressText.bytes(it)} free in the account" } ?: "") + "."

    const val notSignedIn = "Not signed in: sign in to keep backups in your cloud storage."

    val signInToRestore = UserMessage("Sign in with the account your old phone backed up to.", isError = false)

    fun found(place: BackupPlace): UserMessage =
        UserMessage("A backup was found in ${name(place)}. Unlock it with your passkey.", isError = false)

    fun notFound(place: BackupPlace): UserMessage = UserMessage(
        "No backup was found in ${name(place)}. Sign in with the account your old phone used, " +
            "or back up on the old phone first.",
        isError = true,
    )

    /** The storage failure [message] reports (the other view-models show [UserMessages.of]), or null. */
    fun storageFailure(message: UserMessage?): Failure? =
        listOf(Failure.STORAGE_FULL, Failure.SIGN_IN_REQUIRED, Failure.STORAGE_UNAVAILABLE)
            .firstOrNull { message != null && UserMessages.of(it) == message }

    /**
     * What to do about [failure] where backups are kept ([place], null when unknown), or null
     * when it is not about the storage.
     */
    fun advice(place: BackupPlace?, failure: Failure): Pair<UserMessage, CloudAction>? = when (failure) {
        Failure.STORAGE_FULL -> error(
            when (place) {
                is BackupPlace.GoogleDrive -> "The storage of ${place.account} is full. Free up space in Google Drive, " +
                    "Gmail or Photos, or get more storage, then back up again."
                BackupPlace.ICloud -> "Your iCloud storage is full. Free up space in Settings > your name > iCloud > " +
                    "Manage Account Storage, or get more storage, then back up again."
                else -> "The backup storage is full. Free up space, then back up again."
            },
        ) to CloudAction.MANAGE_STORAGE
        Failure.SIGN_IN_REQUIRED -> error(
            when (place) {
                is BackupPlace.GoogleDrive -> "Keepsake can no longer reach the Google Drive of ${place.account}. " +
                    "Sign in again to keep backing up."
                BackupPlace.ICloud -> "iCloud is not available. Sign in to iCloud in Settings to keep backing up."
                else -> "Sign in again to keep backing up."
            },
        ) to CloudAction.SIGN_IN
        Failure.STORAGE_UNAVAILABLE -> error(
            "${subject(place)} could not be reached. Your chats are safe on this phone; " +
                "the backup will be tried again later.",
        ) to CloudAction.TRY_LATER
        else -> null
    }

    private fun name(place: BackupPlace?): String = when (place) {
        is BackupPlace.GoogleDrive -> "the Google Drive of ${place.account}"
        BackupPlace.ICloud -> "iCloud"
        BackupPlace.ThisPhone -> "this phone's backup folder"
        null -> "the backup storage"
    }

    /** [name] at the start of a sentence ("iCloud" stays as it is). */
    private fun subject(place: BackupPlace?): String = name(place).let { if (it.startsWith("the ")) "The " + it.drop(4) else it }

    private fun error(text: String) = UserMessage(text, isError = true)
}
