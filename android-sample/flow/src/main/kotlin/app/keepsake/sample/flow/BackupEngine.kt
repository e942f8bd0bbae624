// What the sample's flows need from Keepsake, as one narrow interface. The app implements it over
// the generated bindings (package app.keepsake); keeping the view-models on this interface lets
// them be tested on the JVM and keeps every binding call in one adapter.
package app.keepsake.sample.flow

/**
 * The device copy of a keyring: the root key (secret, sealed by a [RootKeyVault]) with its
 * [generation], and the public keyring (id, PRF input, slots; not secret, MACed by Keepsake).
 * The vault seals the root key and the generation together: the generation is what refuses an
 * older keyring later (one that may still hold revoked slots). Every slot removal rotates the
 * root key, so the vault must then seal the new secrets in place of the old ones. [wipe]
 * overwrites the root key once it has been sealed or is no longer needed.
 */
class KeyringSecrets(rootKey: ByteArray, publicKeyring: ByteArray, val generation: Long) {
    private val root = rootKey.copyOf()
    private val public = publicKeyring.copyOf()

    /** A copy of the root key, for sealing; the caller wipes it. */
    fun rootKey(): ByteArray = root.copyOf()

    /** A copy of the public keyring bytes. */
    fun publicKeyring(): ByteArray = public.copyOf()

    /** Overwrites the root key held here. */
    fun wipe() = root.fill(0)

    /** Never prints the root key. */
    override fun toString() = "KeyringSecrets(root key redacted, generation $generation, public ${public.size} bytes)"
}

/**
 * A key slot as the user sees it. [id] names it for [BackupEngine.removeSlot]; [deviceBound] marks
 * a passkey that cannot sync (it is lost with this phone: warn that another slot is needed).
 */
data class SlotInfo(val kind: SlotKind, val label: String, val id: String, val deviceBound: Boolean = false)

/** Which secret a slot is unlocked with. */
enum class SlotKind { PASSKEY, RECOVERY_KEY, PASSWORD }

/** A ceremony Keepsake has started and will finish with the provider's response. */
interface PendingCeremony {
    /** The request JSON for the [PasskeyPrfProvider]. */
    val requestJson: String
}

/** The result of handing a registration response to Keepsake. */
sealed interface EnrollmentStep {
    /** The passkey slot was added: seal [secrets]. */
    class Enrolled(val secrets: KeyringSecrets) : EnrollmentStep

    /**
     * The provider created the passkey and reported PRF support without an output: one assertion
     * with [assertion] yields it (DESIGN.md section 4).
     */
    class NeedsAssertion(val assertion: PendingCeremony) : EnrollmentStep
}

/** How a backup is unlocked for restore. */
sealed interface UnlockSecret {
    /** A passkey assertion made for [ceremony]. */
    class Passkey(val ceremony: PendingCeremony, val responseJson: String) : UnlockSecret

    /** A recovery key as typed (any case, any separators). */
    class RecoveryKey(val text: String) : UnlockSecret {
        override fun toString() = "RecoveryKey(redacted)"
    }

    /** A password as typed, for the backup's password slot. */
    class Password(val text: String) : UnlockSecret {
        override fun toString() = "Password(redacted)"
    }
}

/**
 * A progress report of a long operation. In the [Phase.MEDIA] phase [done] and [total] count the
 * bytes of the attachments' files and [filesDone]/[filesTotal] the files; in the other phases
 * the files are null.
 */
data class Progress(
    val phase: Phase,
    val done: Long,
    val total: Long?,
    val filesDone: Long? = null,
    val filesTotal: Long? = null,
)

/**
 * The phases Keepsake reports. [MEDIA] (attachments' files, after the chats) comes from backups
 * into the repository with media ([BackupEngine.backUpWithMedia]) and from the media restore;
 * single-file backups hold no files.
 */
enum class Phase { BACKUP, VERIFY, RESTORE, INDEX, CHECK, MEDIA }

/**
 * The public header of a backup file, readable before unlocking (nothing in it is trusted). For
 * the backup repository ([fromRepository], [BackupEngine.inspectRepository]) [path] names where
 * it is, and the time, slots and counts are sealed in it: they are known only once it is open,
 * so every unlock method is offered.
 */
data class BackupInfo(
    val path: String,
    val createdAtEpochSeconds: Long,
    val slots: List<SlotInfo>,
    val messageCount: Long?,
    val fromRepository: Boolean = false,
)

/**
 * The attachments' files in a backup with media: [filesStored] (their bytes are in the backup,
 * [bytesStored] in all), [filesNotOnDevice] (the file was not on the phone, or could not be read:
 * [filesUnreadable] of them), [filesSkipped] (left out by the media options, e.g. too large), and
 * [filesRead], the new or changed files this backup read (the others were unchanged).
 */
data class MediaBackupCounts(
    val filesStored: Long,
    val filesNotOnDevice: Long,
    val filesSkipped: Long,
    val bytesStored: Long,
    val filesRead: Long = 0,
    val filesUnreadable: Long = 0,
)

/**
 * What a backup into the backup storage found lost or damaged there and stored again: the new
 * backup restores whole regardless. [partsLost] (packs the storage no longer had, or had cut
 * short), [partsDamaged] (damaged index and data copies, and copies put back from this phone's
 * cache), [olderBackupsDamaged] (older backups that can no longer be restored: repairing the
 * storage removes them), [storageRolledBack] (the storage went back to an older state: backups
 * made after that state are gone).
 */
data class StorageHealing(
    val partsLost: Long,
    val partsDamaged: Long,
    val olderBackupsDamaged: Long,
    val storageRolledBack: Boolean,
) {
    /** Whether the user should be told. */
    val foundDamage: Boolean get() = partsLost > 0 || partsDamaged > 0 || olderBackupsDamaged > 0 || storageRolledBack
}

/**
 * What a finished backup wrote; [media] for a backup with media (null for a single file), and for
 * a backup into the backup storage what it [healed] there (null for a single file).
 */
data class BackupSummary(
    val path: String,
    val bytes: Long,
    val messages: Long,
    val media: MediaBackupCounts? = null,
    val healed: StorageHealing? = null,
)

/**
 * What repairing the backup storage did: [backupsRemoved] could no longer be restored;
 * [backupsMissingFiles] were kept although some of their photos and files are lost (their chats
 * and other files restore).
 */
data class StorageRepair(val nothingToRepair: Boolean, val backupsRemoved: Int, val backupsMissingFiles: Int)

/** An attachment the media restore could not bring back (its data in the backup is damaged). */
data class LostAttachment(val attachmentId: Long, val reason: String)

/**
 * What a media restore run did: files and bytes restored now, files restored before (an earlier,
 * interrupted run, or opened on demand), attachments whose file is not in the backup (shown as
 * unavailable), and the ones [lost] to damage with the reason.
 */
data class MediaRestoreSummary(
    val filesRestored: Long,
    val bytesRestored: Long,
    val filesAlreadyRestored: Long,
    val filesNotInBackup: Long,
    val lost: List<LostAttachment>,
)

/** An attachment's file restored on the device, ready to show. */
data class MediaFile(val attachmentId: Long, val path: String, val mime: String, val bytes: Long)

/**
 * What a finished restore installed, and the keyring the device keeps from now on: the backup's,
 * or the device's own when it is the same keyring at the same or a newer generation
 * ([keptDeviceKeyring]; an older backup's keyring may still hold slots revoked since).
 */
class RestoreResult(
    val messages: Long,
    val conversations: Long,
    val secrets: KeyringSecrets,
    val keptDeviceKeyring: Boolean = false,
    /**
     * The backup's keys could not be trusted (an old key slot): [secrets] are new keys for this
     * phone, with no slot yet. Ask for a passkey and a recovery key before the next backup.
     */
    val newKeys: Boolean = false,
    /**
     * From the backup storage: damaged backups passed over to find the newest intact one (any
     * of them may have been newer), and when the one restored was made (epoch seconds).
     */
    val damagedBackupsSkipped: Int = 0,
    val backupTimeEpochSeconds: Long? = null,
)

/** One conversation in the chat list. */
data class ConversationSummary(val id: String, val title: String, val lastMessage: String?)

/** One message in a conversation. */
data class ChatMessage(val id: String, val sender: String, val text: String, val sentAtEpochMillis: Long)

/** Keepsake operations used by the sample; every failure is a [KeepsakeFlowException]. */
interface BackupEngine {
    /** A new keyring with a fresh root key and no slots yet. */
    suspend fun createKeyring(): KeyringSecrets

    /** The slots of the device's keyring. */
    suspend fun slots(secrets: KeyringSecrets): List<SlotInfo>

    /** Starts a passkey registration for [userName] with the keyring's PRF input; [label] names the slot. */
    suspend fun beginPasskeyRegistration(secrets: KeyringSecrets, userName: String, label: String): PendingCeremony

    /** Checks the registration response and adds the passkey slot, or asks for one assertion. */
    suspend fun finishPasskeyRegistration(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): EnrollmentStep

    /** Finishes an enrollment that needed an assertion; returns the keyring with the new slot. */
    suspend fun finishPasskeyEnrollment(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): KeyringSecrets

    /** Adds a recovery key slot; returns the keyring and the key to show once. */
    suspend fun addRecoveryKey(secrets: KeyringSecrets, label: String): Pair<KeyringSecrets, String>

    /** Adds a password slot (at least 8 characters); returns the keyring with it. */
    suspend fun addPassword(secrets: KeyringSecrets, label: String, password: String): KeyringSecrets

    /**
     * Revokes the slot [slotId]: removes it and rotates the root key (a new key and generation),
     * so its secret opens no backup made from now on; backups made before still open with it.
     * Returns the rotated keyring, to seal in place of [secrets]. Fails with
     * [Failure.LAST_SLOT] when no other slot could restore the backups on a new phone.
     */
    suspend fun removeSlot(secrets: KeyringSecrets, slotId: String): KeyringSecrets

    /**
     * Backs the chat store up to [destinationPath] (written atomically). A keyring older than
     * its sealed generation is refused with [Failure.KEYRING_ROLLED_BACK].
     */
    suspend fun backUp(
        secrets: KeyringSecrets,
        destinationPath: String,
        onProgress: (Progress) -> Unit,
    ): BackupSummary

    /**
     * Backs the chat store and its attachments' files up into the backup repository (created
     * with [secrets]' slots the first time): the chats first ([Phase.BACKUP]), then the files
     * ([Phase.MEDIA], in bytes and files; only new and changed files are read). A keyring older
     * than its sealed generation is refused with [Failure.KEYRING_ROLLED_BACK]. A failed or
     * cancelled run leaves no new snapshot; the next one reuses what was uploaded.
     */
    suspend fun backUpWithMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit): BackupSummary

    /** Reads a backup's public header. */
    suspend fun inspect(path: String): BackupInfo

    /** The backup repository, if its store holds one (`fromRepository`), else null. */
    suspend fun inspectRepository(): BackupInfo?

    /** Starts the passkey assertion that unlocks the backup repository. */
    suspend fun beginRepositoryUnlock(): PendingCeremony

    /**
     * Repairs the backup storage with the device keyring: removes backups that can no longer be
     * restored and replaces damaged parts, keeping everything intact; the next backup stores
     * everything again. [Failure.STORAGE_BUSY] while another device backs up.
     */
    suspend fun repairStorage(secrets: KeyringSecrets): StorageRepair

    /**
     * Opens the backup repository with [secret] and restores the chats of its newest intact
     * snapshot over the chat store, atomically (the result says when damaged ones were passed
     * over); [device] as for [restore]. The attachments' files follow
     * with [restoreMedia]: from here until that run finishes [mediaRestorePending] is true, even
     * after the app was killed.
     */
    suspend fun restoreFromRepository(
        secret: UnlockSecret,
        device: KeyringSecrets?,
        onProgress: (Progress) -> Unit,
    ): RestoreResult

    /** Whether a media restore started by [restoreFromRepository] has not finished yet. */
    suspend fun mediaRestorePending(): Boolean

    /**
     * Restores the attachments' files of the snapshot [restoreFromRepository] restored, those not
     * restored yet, into the app's media folder ([Phase.MEDIA] progress in bytes and files). Its
     * state stays on the device: a cancelled, failed or killed run goes on with the next file
     * when called again. [secrets] (the device keyring) opens the repository when this process
     * has not opened it yet.
     */
    suspend fun restoreMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit): MediaRestoreSummary

    /**
     * Restores attachment [attachmentId] now (the user opened it before the media restore got
     * to it), also while [restoreMedia] runs; [Failure.MEDIA_UNAVAILABLE] when the backup does
     * not hold its file.
     */
    suspend fun loadMedia(secrets: KeyringSecrets, attachmentId: Long): MediaFile

    /** Starts the passkey assertion that unlocks the backup at [path]. */
    suspend fun beginUnlock(path: String): PendingCeremony

    /**
     * Unlocks [path] with [secret] and restores it over the chat store, atomically. [device] is
     * the keyring this device holds, if any: it is kept when the backup carries the same keyring
     * at an older or the same generation, so a restore never brings back a revoked slot.
     */
    suspend fun restore(
        path: String,
        secret: UnlockSecret,
        device: KeyringSecrets?,
        onProgress: (Progress) -> Unit,
    ): RestoreResult

    /** The chat store's conversations, newest activity first. */
    suspend fun conversations(): List<ConversationSummary>

    /** The messages of [conversationId], oldest first. */
    suspend fun messages(conversationId: String): List<ChatMessage>

    /** Starts a conversation. */
    suspend fun createConversation(title: String): ConversationSummary

    /** Sends (stores) a text message from this device's user. */
    suspend fun sendText(conversationId: String, text: String): ChatMessage
}

/** The failures Keepsake reports, one meaning each (the bindings' `KeepsakeException` variants). */
enum class Failure {
    WRONG_KEY,
    RECOVERY_KEY_TYPO,
    PRF_UNSUPPORTED,
    BAD_PRF_OUTPUT,
    NO_MATCHING_SLOT,
    MALFORMED_WEBAUTHN,
    CORRUPTED,
    TRUNCATED,
    UNSUPPORTED_VERSION,
    CANCELLED,
    IO,
    DATABASE,

    /** A password opens no password slot. */
    WRONG_PASSWORD,

    /** The keyring offered is older than the generation the device keeps: it may hold revoked slots. */
    KEYRING_ROLLED_BACK,

    /** The slot is the last one a new phone could restore with: add another first. */
    LAST_SLOT,

    /** An attachment's file is not in the backup (never downloaded on the old phone): show it as unavailable. */
    MEDIA_UNAVAILABLE,

    /**
     * The backup's keys came through an old (version 2) key slot, whose seal anyone holding the
     * backup could have made: never kept; the phone sets up new keys.
     */
    UNTRUSTED_KEYS,

    /** An old key slot blocks a rotation: unlock once with its secret on this phone, or remove it. */
    LEGACY_SLOT,

    /** A new password Keepsake refuses as too easy to guess (too short, too common, a pattern). */
    WEAK_PASSWORD,

    /** The cloud storage is full (Drive's or iCloud's quota): the user must free space. */
    STORAGE_FULL,

    /** The cloud account refused the app (signed out, access withdrawn): the user must sign in again. */
    SIGN_IN_REQUIRED,

    /** The backup storage failed or could not be reached (offline, throttled), after Keepsake's retries: try again. */
    STORAGE_UNAVAILABLE,

    /** Another device is backing up to the same storage: wait until it has finished. */
    STORAGE_BUSY,

    /** The backup storage lacks or damaged data the operation needs: repair it, then back up again. */
    STORAGE_DAMAGED,

    OTHER,
}

/** A Keepsake failure with its detail (never containing secrets). */
class KeepsakeFlowException(val failure: Failure, detail: String) : Exception(detail)

/** Seals the device copy of the keyring: Android Keystore or the iOS Keychain in the apps. */
interface RootKeyVault {
    /** Seals and stores [secrets] (root key and generation together), replacing what was there. */
    suspend fun save(secrets: KeyringSecrets)

    /** The stored keyring, or null when this device has none yet. */
    suspend fun load(): KeyringSecrets?

    /** Forgets the keyring (the passkeys and recovery key still open old backups). */
    suspend fun clear()
}

/** When the last backup finished, kept by the app (SharedPreferences, UserDefaults). */
interface BackupHistory {
    /** The last successful backup, or null. */
    suspend fun last(): LastBackup?

    /** Records a successful backup. */
    suspend fun record(backup: LastBackup)
}

/** A successful backup as the Backup screen shows it; [media] for a backup with media. */
data class LastBackup(
    val path: String,
    val finishedAtEpochMillis: Long,
    val bytes: Long,
    val messages: Long,
    val media: MediaBackupCounts? = null,
)
