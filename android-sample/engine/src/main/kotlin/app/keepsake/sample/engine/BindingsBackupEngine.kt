// The sample's BackupEngine over the generated Keepsake bindings: keyrings travel between calls
// as KeyringSecrets (root key, generation, public keyring) so the app's vault can seal them and
// every keyring is rebuilt with Keyring.restoreChecked against the sealed generation; every call
// runs off the main thread through keepsakeIo (coroutine cancel = Keepsake Cancellation), and
// every KeepsakeException becomes a KeepsakeFlowException with the matching Failure. Backups
// with media go into a backup Repository (a BlobStore: a folder of the app here, the app's cloud
// in a real app) with the files of the app's media folder; the restore brings the chats back
// first, then the files, resumable through a state folder that outlives the process.
package app.keepsake.sample.engine

import app.keepsake.Attachment
import app.keepsake.BackupOptions
import app.keepsake.BackupSecret
import app.keepsake.BlobStore
import app.keepsake.BlobStoreException
import app.keepsake.ChatStore
import app.keepsake.Conversation
import app.keepsake.ConversationKind
import app.keepsake.DeliveryState
import app.keepsake.EnrollmentOutcome
import app.keepsake.Healing
import app.keepsake.KeepsakeException
import app.keepsake.Keyring
import app.keepsake.MediaBackupReport
import app.keepsake.MediaItem
import app.keepsake.MediaOptions
import app.keepsake.MediaRestoreReport
import app.keepsake.Message
import app.keepsake.MessageKind
import app.keepsake.PasskeyEnrollment
import app.keepsake.PasskeyUnlock
import app.keepsake.ProgressPhase
import app.keepsake.ProgressReport
import app.keepsake.SoftAuthenticator
import app.keepsake.StorageFailure
import app.keepsake.Repository
import app.keepsake.backupToPath
import app.keepsake.directoryBlobStore
import app.keepsake.fileMediaSink
import app.keepsake.fileMediaSource
import app.keepsake.inspectBackup
import app.keepsake.keepsakeIo
import app.keepsake.keyringFromBackup
import app.keepsake.progressListener
import app.keepsake.restoreFromPath
import app.keepsake.sample.flow.BackupEngine
import app.keepsake.sample.flow.BackupInfo
import app.keepsake.sample.flow.BackupSummary
import app.keepsake.sample.flow.ChatMessage
import app.keepsake.sample.flow.ConversationSummary
import app.keepsake.sample.flow.EnrollmentStep
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.JsonAuthenticator
import app.keepsake.sample.flow.KeepsakeFlowException
import app.keepsake.sample.flow.KeyringSecrets
import app.keepsake.sample.flow.LostAttachment
import app.keepsake.sample.flow.MediaBackupCounts
import app.keepsake.sample.flow.MediaFile
import app.keepsake.sample.flow.MediaRestoreSummary
import app.keepsake.sample.flow.PendingCeremony
import app.keepsake.sample.flow.Phase
import app.keepsake.sample.flow.Progress
import app.keepsake.sample.flow.RestoreResult
import app.keepsake.sample.flow.SlotInfo
import app.keepsake.sample.flow.SlotKind
import app.keepsake.sample.flow.StorageHealing
import app.keepsake.sample.flow.StorageRepair
import app.keepsake.sample.flow.UnlockSecret
import java.io.File
import java.security.SecureRandom
import app.keepsake.SlotInfo as FfiSlotInfo
import app.keepsake.SlotKind as FfiSlotKind

/**
 * Keepsake for the sample. [chatDatabase] is the app's ChatStore file; [rpId] the relying party
 * (a domain associated with the app). Conversation and message ids are assigned here in order
 * (1, 2, ...), which is how the sample lists conversations.
 *
 * Backups with media: [mediaDir] is the app's media folder (each attachment's file at its
 * `localRef`; restored files are written there too), [mediaStateDir] the media restore's state
 * (app-private and kept out of platform backups: Android's `noBackupFilesDir`), [cacheDir] the
 * repository's local cache, [mediaOptions] what to leave out. [blobStore] is where the backup
 * repository lives: **a real app returns its cloud `BlobStore` here** (Google Drive, its own
 * server: docs/KOTLIN.md); the sample keeps the repository in a folder of the app's storage.
 */
class BindingsBackupEngine(
    private val chatDatabase: String,
    private val rpId: String,
    private val rpName: String = "Keepsake",
    private val clock: () -> Long = System::currentTimeMillis,
    private val mediaDir: File = File(chatDatabase).absoluteFile.resolveSibling("media"),
    private val mediaStateDir: File = File(chatDatabase).absoluteFile.resolveSibling("keepsake-media-state"),
    private val cacheDir: String? = null,
    private val mediaOptions: MediaOptions? = null,
    /** Names the repository's place on the Restore screen. */
    private val repositoryName: String = "Backup storage",
    // The cloud goes here: the sample's repository is a folder beside the chat database.
    private val blobStore: () -> BlobStore = {
        directoryBlobStore(File(chatDatabase).absoluteFile.resolveSibling("keepsake-repository").path)
    },
) : BackupEngine {
    private val lock = Any()
    private var openStore: ChatStore? = null
    private var openBlobStore: BlobStore? = null

    /** The repository opened by this process (reads, such as a fetch during a media restore, run side by side). */
    private var openRepository: Repository? = null

    /** The snapshot whose chats were restored: its files are restored from it (kept across a kill). */
    private val restoredSnapshotFile = File(mediaStateDir.absoluteFile.parentFile, "${mediaStateDir.name}.snapshot")

    /** Present while the media restore of that snapshot has not finished. */
    private val mediaPendingFile = File(mediaStateDir.absoluteFile.parentFile, "${mediaStateDir.name}.pending")
    private val softAuthenticator by lazy { SoftAuthenticator(app.keepsake.SoftAuthenticatorMode.PRF_AT_REGISTRATION) }

    /** Demo mode: the software authenticator as a [JsonAuthenticator], errors mapped like the engine's. */
    fun demoAuthenticator(): JsonAuthenticator = object : JsonAuthenticator {
        override fun create(requestJson: String) = mapped { softAuthenticator.createJson(requestJson) }
        override fun get(requestJson: String) = mapped { softAuthenticator.getJson(requestJson) }
    }

    /** Demo mode and tests: how the software authenticator behaves (PRF support, user cancels). */
    fun setDemoMode(mode: app.keepsake.SoftAuthenticatorMode) = mapped { softAuthenticator.setMode(mode) }

    private fun store(): ChatStore = synchronized(lock) { openStore ?: ChatStore.open(chatDatabase).also { openStore = it } }

    private fun closeStore() = synchronized(lock) {
        openStore?.let {
            it.closeDatabase()
            it.close()
        }
        openStore = null
    }

    private class Registration(val keyring: Keyring, val enrollment: PasskeyEnrollment, override val requestJson: String) :
        PendingCeremony

    private class EnrollmentAssertion(val keyring: Keyring, val enrollment: PasskeyEnrollment, override val requestJson: String) :
        PendingCeremony

    private class Unlock(val unlock: PasskeyUnlock, override val requestJson: String) : PendingCeremony

    override suspend fun createKeyring(): KeyringSecrets = call { Keyring.create().use { it.secrets() } }

    override suspend fun slots(secrets: KeyringSecrets): List<SlotInfo> = call { keyring(secrets).use { k -> k.slots().map(::slotInfo) } }

    override suspend fun beginPasskeyRegistration(secrets: KeyringSecrets, userName: String, label: String): PendingCeremony = call {
        val keyring = keyring(secrets)
        // An opaque, random user handle: no personal data goes to the passkey provider.
        val userId = ByteArray(16).also { SecureRandom().nextBytes(it) }
        val enrollment = PasskeyEnrollment(keyring, rpId, rpName, userId, userName, userName, label)
        Registration(keyring, enrollment, enrollment.registrationRequestJson())
    }

    override suspend fun finishPasskeyRegistration(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): EnrollmentStep = call {
        val registration = ceremony as Registration
        when (val outcome = registration.enrollment.finishRegistrationJson(responseJson)) {
            is EnrollmentOutcome.Enrolled -> {
                adoptIfPossible(registration.keyring)
                EnrollmentStep.Enrolled(registration.keyring.secrets())
            }
            is EnrollmentOutcome.NeedsAssertion ->
                EnrollmentStep.NeedsAssertion(EnrollmentAssertion(registration.keyring, registration.enrollment, outcome.requestJson))
        }
    }

    override suspend fun finishPasskeyEnrollment(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): KeyringSecrets = call {
        val assertion = ceremony as EnrollmentAssertion
        assertion.enrollment.finishAssertionJson(responseJson)
        adoptIfPossible(assertion.keyring)
        assertion.keyring.secrets()
    }

    override suspend fun addRecoveryKey(secrets: KeyringSecrets, label: String): Pair<KeyringSecrets, String> = call {
        keyring(secrets).use { k ->
            val added = k.addRecoveryKey(label)
            adoptIfPossible(k)
            k.secrets() to added.recoveryKey.use { it.reveal() }
        }
    }

    override suspend fun addPassword(secrets: KeyringSecrets, label: String, password: String): KeyringSecrets = call {
        keyring(secrets).use { k ->
            try {
                k.addPassword(label, password)
            } catch (e: KeepsakeException.InvalidArgument) {
                // The core's strength rule (length, common passwords, patterns) says why.
                throw KeepsakeFlowException(Failure.WEAK_PASSWORD, e.message.orEmpty())
            }
            adoptIfPossible(k)
            k.secrets()
        }
    }

    override suspend fun removeSlot(secrets: KeyringSecrets, slotId: String): KeyringSecrets = call {
        keyring(secrets).use { k ->
            // Removal rotates the root key: the new key, generation and public bytes must all
            // replace the sealed ones, and the backup repository must start a new key epoch
            // (adoptKeyring) on a repository opened before the rotation: after it the device
            // keyring no longer opens it. A repository that cannot be opened now (offline) stops
            // the removal, to be tried again.
            val repository = if (repositoryExists()) repositoryFor(k, adopt = false) else null
            k.removeSlot(slotId.hexBytes())
            repository?.adoptKeyring(k)
            k.secrets()
        }
    }

    override suspend fun backUp(secrets: KeyringSecrets, destinationPath: String, onProgress: (Progress) -> Unit): BackupSummary =
        io { cancellation ->
            keyring(secrets).use { k ->
                // The sealed generation again: a keyring older than it never writes a backup.
                val options = BackupOptions(knownGeneration = secrets.generation, extraMetadata = emptyMap())
                val report = backupToPath(store(), k, destinationPath, options, listener(onProgress), cancellation)
                BackupSummary(destinationPath, report.containerBytes.toLong(), report.counts?.messages?.toLong() ?: 0)
            }
        }

    override suspend fun backUpWithMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit): BackupSummary =
        io { cancellation ->
            inStorage {
                keyring(secrets).use { k ->
                    // Created with the keyring's slots the first time; later its new slots are adopted.
                    val repository = repositoryFor(k, adopt = true)
                    val options = BackupOptions(knownGeneration = secrets.generation, extraMetadata = emptyMap())
                    val report = repository.backupWithMedia(
                        store(), fileMediaSource(mediaDir), mediaOptions, options, listener(onProgress), cancellation,
                    )
                    BackupSummary(
                        repositoryName, report.bytesUploaded, report.counts.messages, report.media?.let(::mediaCounts),
                        healed = storageHealing(report.healing),
                    )
                }
            }
        }

    override suspend fun repairStorage(secrets: KeyringSecrets): StorageRepair = call {
        inStorage {
            if (!repositoryExists()) throw KeepsakeFlowException(Failure.OTHER, "no backup storage to repair yet")
            val repository = keyring(secrets).use { repositoryFor(it, adopt = false) }
            // Applied at once: the sample's button is the user's go-ahead (an app may show the
            // dry run, repair(false), first).
            val report = repository.repair(true)
            StorageRepair(report.nothingToRepair, report.snapshotsRemoved.size, report.mediaLost.size)
        }
    }

    override suspend fun inspectRepository(): BackupInfo? = call {
        if (repositoryExists()) BackupInfo(repositoryName, 0, emptyList(), null, fromRepository = true) else null
    }

    override suspend fun beginRepositoryUnlock(): PendingCeremony = call {
        val unlock = PasskeyUnlock.forRepository(blobs(), rpId, true)
        Unlock(unlock, unlock.requestJson())
    }

    override suspend fun restoreFromRepository(
        secret: UnlockSecret,
        device: KeyringSecrets?,
        onProgress: (Progress) -> Unit,
    ): RestoreResult = io { cancellation ->
        inStorage { restoreRepository(secret, device, onProgress, cancellation) }
    }

    private fun restoreRepository(
        secret: UnlockSecret,
        device: KeyringSecrets?,
        onProgress: (Progress) -> Unit,
        cancellation: app.keepsake.Cancellation,
    ): RestoreResult =
        backupSecret(secret).use { s ->
            // Opening checks the secret before the chat store is touched.
            val repository = Repository.open(blobs(), s, cacheDir)
            try {
                // Keys that came through an old (version 2) slot are never kept: the phone sets up
                // new ones that re-key the repository's (adopted once a slot is added).
                val (trusted, newKeys) = try {
                    repository.keyring() to false
                } catch (e: KeepsakeException.UnauthenticatedKeyring) {
                    repository.rekeyedKeyring() to true
                }
                trusted.use { fromBackup ->
                    val kept = device?.takeIf { !newKeys && keepsDevice(it, fromBackup) }
                    // The newest intact snapshot; damaged ones are passed over, and the user told.
                    val history = repository.history()
                    val latest = history.snapshots.lastOrNull() ?: throw when {
                        history.damaged.isEmpty() -> KeepsakeFlowException(Failure.OTHER, "the repository holds no backup yet")
                        else -> KeepsakeFlowException(Failure.STORAGE_DAMAGED, "every backup in the storage is damaged")
                    }
                    closeStore()
                    val report = repository.restore(chatDatabase, latest.id, true, listener(onProgress), cancellation)
                    // From here the files of this snapshot are due, also after the app was killed.
                    writeAtomically(restoredSnapshotFile, latest.id)
                    writeAtomically(mediaPendingFile, latest.id)
                    keep(repository)
                    val counts = report.counts
                    val secrets = kept?.let { upgraded(it, s) } ?: fromBackup.secrets()
                    RestoreResult(
                        counts?.messages ?: 0, counts?.conversations ?: 0, secrets, kept != null, newKeys,
                        damagedBackupsSkipped = history.damaged.size,
                        backupTimeEpochSeconds = latest.time,
                    )
                }
            } catch (e: Throwable) {
                if (synchronized(lock) { openRepository } !== repository) repository.close()
                throw e
            }
        }

    override suspend fun mediaRestorePending(): Boolean = call { mediaPendingFile.isFile }

    override suspend fun restoreMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit): MediaRestoreSummary =
        io { cancellation -> inStorage { restoreMediaOf(secrets, onProgress, cancellation) } }

    private fun restoreMediaOf(secrets: KeyringSecrets, onProgress: (Progress) -> Unit, cancellation: app.keepsake.Cancellation): MediaRestoreSummary {
        val snapshot = restoredSnapshot()
        val repository = keyring(secrets).use { repositoryFor(it, adopt = false) }
        mediaStateDir.mkdirs()
        val report = repository.restoreMedia(mediaStateDir.path, fileMediaSink(::mediaFileOf), snapshot, null, listener(onProgress), cancellation)
        // Done: a file lost to damage stays lost, another run would not bring it back.
        mediaPendingFile.delete()
        return mediaSummary(report)
    }

    override suspend fun loadMedia(secrets: KeyringSecrets, attachmentId: Long): MediaFile = call {
        inStorage {
            val snapshot = restoredSnapshot()
            val repository = keyring(secrets).use { repositoryFor(it, adopt = false) }
            mediaStateDir.mkdirs()
            val item = repository.fetchMedia(mediaStateDir.path, attachmentId, fileMediaSink(::mediaFileOf), snapshot)
            MediaFile(item.attachmentId, mediaFileOf(item).path, item.mime, item.size)
        }
    }

    /**
     * Sample chat: a media message in [conversationId] whose attachment's file is [localRef] in
     * the media folder ([size] bytes; the caller puts the file there, or not: a photo never
     * downloaded). Returns the attachment id. Tests and demos use it; the sample's chat screen
     * sends text only.
     */
    suspend fun sendAttachment(conversationId: String, localRef: String, mime: String, size: Long): Long = call {
        val store = store()
        val conversation = conversationId.toLong()
        if (store.conversation(conversation) == null) throw KeepsakeFlowException(Failure.DATABASE, "no conversation $conversationId")
        val id = store.counts().messages.toLong() + 1
        store.insertMessages(
            listOf(Message(id = id, conversationId = conversation, sender = SELF, kind = MessageKind.MEDIA, body = null, sentAt = clock(), delivery = DeliveryState.SENT)),
        )
        store.insertAttachments(listOf(Attachment(id = id, messageId = id, mime = mime, fileName = File(localRef).name, size = size, localRef = localRef)))
        id
    }

    /** Where the media folder keeps [item]'s file: at its `localRef` when that stays inside, else `attachments/<id>`. */
    fun mediaFileOf(item: MediaItem): File {
        val base = mediaDir.canonicalFile
        val ref = item.localRef
        if (ref.isNotEmpty() && !File(ref).isAbsolute) {
            val file = File(base, ref).canonicalFile
            if (file.toPath().startsWith(base.toPath()) && file != base) return file
        }
        return File(base, "attachments/${item.attachmentId}")
    }

    override suspend fun inspect(path: String): BackupInfo = call {
        val info = inspectBackup(path)
        BackupInfo(path, info.createdAt.toLong(), info.slots.map(::slotInfo), info.declaredCounts?.messages?.toLong())
    }

    override suspend fun beginUnlock(path: String): PendingCeremony = call {
        // Discoverable: a new device does not know the credential ids; the response picks the slot.
        val unlock = PasskeyUnlock.forBackupFile(path, rpId, true)
        Unlock(unlock, unlock.requestJson())
    }

    override suspend fun restore(
        path: String,
        secret: UnlockSecret,
        device: KeyringSecrets?,
        onProgress: (Progress) -> Unit,
    ): RestoreResult = io { cancellation ->
        backupSecret(secret).use { s ->
            // Unlocking first rebuilds the keyring and checks the secret before the store is touched.
            // Keys that came through an old (version 2) slot are never kept: new ones instead.
            val (trusted, newKeys) = try {
                keyringFromBackup(path, s) to false
            } catch (e: KeepsakeException.UnauthenticatedKeyring) {
                Keyring.create() to true
            }
            trusted.use { fromBackup ->
                val kept = device?.takeIf { !newKeys && keepsDevice(it, fromBackup) }
                closeStore()
                val report = restoreFromPath(path, s, chatDatabase, true, listener(onProgress), cancellation)
                val counts = report.counts
                val secrets = kept?.let { upgraded(it, s) } ?: fromBackup.secrets()
                RestoreResult(counts?.messages?.toLong() ?: 0, counts?.conversations?.toLong() ?: 0, secrets, kept != null, newKeys)
            }
        }
    }

    private fun backupSecret(secret: UnlockSecret): BackupSecret = when (secret) {
        is UnlockSecret.Passkey -> (secret.ceremony as Unlock).unlock.finishJson(secret.responseJson)
        is UnlockSecret.RecoveryKey -> BackupSecret.recoveryKey(secret.text)
        is UnlockSecret.Password -> BackupSecret.password(secret.text)
    }

    private fun blobs(): BlobStore = synchronized(lock) { openBlobStore ?: blobStore().also { openBlobStore = it } }

    /** Whether the blob store holds a repository (its config object). */
    private fun repositoryExists(): Boolean = try {
        blobs().stat(CONFIG) != null
    } catch (e: BlobStoreException) {
        throw KeepsakeFlowException(blobStoreFailure(e), "the backup storage cannot be read: ${e.message}")
    }

    /**
     * The repository, opened once per process with the device keyring [k] (or created with its
     * slots in an empty store); [adopt] brings it up to [k]'s slots first.
     */
    private fun repositoryFor(k: Keyring, adopt: Boolean): Repository {
        synchronized(lock) { openRepository }?.let { open ->
            if (adopt) open.adoptKeyring(k)
            return open
        }
        val repository = if (repositoryExists()) {
            BackupSecret.deviceKeyring(k).use { Repository.open(blobs(), it, cacheDir) }.also { if (adopt) it.adoptKeyring(k) }
        } else {
            Repository.create(blobs(), k, cacheDir)
        }
        return keep(repository)
    }

    /** Keeps [repository] as this process's open one (closing one opened before). */
    private fun keep(repository: Repository): Repository = synchronized(lock) {
        openRepository?.takeIf { it !== repository }?.close()
        openRepository = repository
        repository
    }

    /**
     * After a slot was added: the repository's config takes it now, so a new phone can already
     * open the repository with it. The storage being unreachable does not stop the slot: the next
     * backup adopts it.
     */
    private fun adoptIfPossible(k: Keyring) {
        try {
            if (repositoryExists()) repositoryFor(k, adopt = true)
        } catch (e: KeepsakeException) {
            // Offline or locked: adopted by the next backup.
        } catch (e: KeepsakeFlowException) {
            // The same, from the store's own check.
        }
    }

    /** The snapshot whose chats were restored here; its files are the ones to restore. */
    private fun restoredSnapshot(): String =
        restoredSnapshotFile.takeIf { it.isFile }?.readText()?.trim()?.takeIf { it.isNotEmpty() }
            ?: throw KeepsakeFlowException(Failure.OTHER, "no chats were restored from the backup repository")

    private fun writeAtomically(file: File, text: String) {
        file.parentFile?.mkdirs()
        val temp = File(file.parentFile, ".${file.name}.tmp")
        temp.writeText(text)
        if (!temp.renameTo(file)) throw KeepsakeFlowException(Failure.IO, "cannot write ${file.path}")
    }

    /** What a backup healed, in the counts the Backup screen shows (null when nothing was wrong). */
    private fun storageHealing(h: Healing) = StorageHealing(
        partsLost = h.packsLost + h.packsResized,
        partsDamaged = h.indexObjectsReplaced + h.chunksDamaged + h.objectsRestored,
        olderBackupsDamaged = h.snapshotsDamaged,
        storageRolledBack = h.storeRolledBack,
    ).takeIf { h.foundDamage }

    private fun mediaCounts(media: MediaBackupReport) = MediaBackupCounts(
        filesStored = media.summary.filesStored,
        filesNotOnDevice = media.summary.filesAbsent,
        filesSkipped = media.summary.filesSkipped,
        bytesStored = media.summary.bytesStored,
        filesRead = media.filesRead,
        filesUnreadable = media.filesUnreadable,
    )

    private fun mediaSummary(report: MediaRestoreReport) = MediaRestoreSummary(
        filesRestored = report.filesRestored,
        bytesRestored = report.bytesRestored,
        filesAlreadyRestored = report.filesAlreadyRestored,
        filesNotInBackup = report.filesNotInBackup,
        lost = report.lost.map { LostAttachment(it.attachmentId, it.reason) },
    )

    /**
     * Whether the device keeps its own keyring [device] rather than [fromBackup]'s: the same
     * keyring, and the backup's is not newer (an older one may hold slots revoked since, and one
     * of the same generation may lack slots added since). A device keyring that cannot be rebuilt
     * (damaged, or itself rolled back) is replaced.
     */
    private fun keepsDevice(device: KeyringSecrets, fromBackup: Keyring): Boolean {
        val mine = try {
            keyring(device)
        } catch (e: KeepsakeException) {
            return false
        }
        return mine.use { it.id().contentEquals(fromBackup.id()) && fromBackup.generation() <= it.generation() }
    }

    override suspend fun conversations(): List<ConversationSummary> = call {
        val store = store()
        (1L..store.counts().conversations.toLong()).mapNotNull { id ->
            store.conversation(id)?.let { conversation ->
                val last = store.timeline(id, null, 1).messages.firstOrNull()
                (last?.sentAt ?: conversation.createdAt) to ConversationSummary(id.toString(), conversation.title ?: "Chat $id", last?.body)
            }
        }.sortedByDescending { it.first }.map { it.second }
    }

    override suspend fun messages(conversationId: String): List<ChatMessage> = call {
        store().timeline(conversationId.toLong(), null, MESSAGE_PAGE).messages.reversed()
            .map { ChatMessage(it.id.toString(), it.sender, it.body.orEmpty(), it.sentAt) }
    }

    override suspend fun createConversation(title: String): ConversationSummary = call {
        val store = store()
        val id = store.counts().conversations.toLong() + 1
        store.upsertConversation(Conversation(id = id, kind = ConversationKind.GROUP, title = title, createdAt = clock()))
        ConversationSummary(id.toString(), title, null)
    }

    override suspend fun sendText(conversationId: String, text: String): ChatMessage = call {
        val store = store()
        val conversation = conversationId.toLong()
        if (store.conversation(conversation) == null) throw KeepsakeFlowException(Failure.DATABASE, "no conversation $conversationId")
        val message = Message(
            id = store.counts().messages.toLong() + 1,
            conversationId = conversation,
            sender = SELF,
            kind = MessageKind.TEXT,
            body = text,
            sentAt = clock(),
            delivery = DeliveryState.SENT,
        )
        store.insertMessages(listOf(message))
        ChatMessage(message.id.toString(), SELF, text, message.sentAt)
    }

    /** The keyring of [secrets]; public bytes older than the sealed generation are KEYRING_ROLLED_BACK. */
    private fun keyring(secrets: KeyringSecrets): Keyring {
        val root = secrets.rootKey()
        try {
            return Keyring.restoreChecked(root, secrets.publicKeyring(), secrets.generation)
        } finally {
            root.fill(0)
        }
    }

    /** What the vault seals: the root key with its generation, and the public bytes. */
    /**
     * The device's keys after the user unlocked with [secret] on this phone: an old key slot that
     * secret opens becomes a version 3 slot (the next use of its secret), so the keys can rotate.
     */
    private fun upgraded(device: KeyringSecrets, secret: BackupSecret): KeyringSecrets =
        keyring(device).use { k ->
            k.upgradeSlots(secret)
            k.secrets()
        }

    private fun Keyring.secrets(): KeyringSecrets {
        val root = exportRootKey()
        try {
            return KeyringSecrets(root, publicBytes(), generation())
        } finally {
            root.fill(0)
        }
    }

    private fun slotInfo(slot: FfiSlotInfo) = SlotInfo(
        kind = when (slot.kind) {
            FfiSlotKind.PASSKEY -> SlotKind.PASSKEY
            FfiSlotKind.RECOVERY_KEY -> SlotKind.RECOVERY_KEY
            FfiSlotKind.PASSWORD -> SlotKind.PASSWORD
        },
        label = slot.label,
        id = slot.id.toHex(),
        deviceBound = slot.deviceBound,
    )

    private fun ByteArray.toHex(): String = joinToString("") { "%02x".format(it.toInt() and 0xff) }

    private fun String.hexBytes(): ByteArray {
        if (length % 2 != 0 || any { Character.digit(it, 16) < 0 }) throw KeepsakeFlowException(Failure.OTHER, "not a slot id")
        return ByteArray(length / 2) { i -> substring(2 * i, 2 * i + 2).toInt(16).toByte() }
    }

    /** Progress for the flows: the Media phase in its own bytes and files, the others as the whole operation. */
    private fun listener(onProgress: (Progress) -> Unit) = progressListener { report: ProgressReport ->
        onProgress(
            if (report.phase == ProgressPhase.MEDIA) {
                Progress(Phase.MEDIA, report.phaseDone, report.phaseTotal.takeIf { it > 0 }, report.filesDone, report.filesTotal)
            } else {
                Progress(phase(report.phase), report.done.toLong(), report.total?.toLong())
            },
        )
    }

    private fun phase(phase: ProgressPhase) = when (phase) {
        ProgressPhase.BACKUP -> Phase.BACKUP
        ProgressPhase.VERIFY -> Phase.VERIFY
        ProgressPhase.RESTORE -> Phase.RESTORE
        ProgressPhase.INDEX -> Phase.INDEX
        ProgressPhase.CHECK -> Phase.CHECK
        ProgressPhase.MEDIA -> Phase.MEDIA
        // Repository housekeeping: the sample never prunes, so this never comes.
        ProgressPhase.PRUNE -> Phase.CHECK
    }

    /** A short blocking call, off the caller's thread, with Keepsake errors mapped. */
    private suspend fun <T> call(block: () -> T): T = keepsakeIo { mapped(block) }

    /** A long call that takes a Cancellation. */
    private suspend fun <T> io(block: (app.keepsake.Cancellation) -> T): T = keepsakeIo { flag -> mapped { block(flag) } }

    private companion object {
        const val SELF = "me"

        /** The repository's config object: present when the store holds a repository. */
        const val CONFIG = "config"
        val MESSAGE_PAGE = 200
    }
}

/**
 * Runs [block], a call on the backup storage: damaged data there is [Failure.STORAGE_DAMAGED]
 * (repair the storage), not a damaged backup file.
 */
internal inline fun <T> inStorage(block: () -> T): T = try {
    mapped(block)
} catch (e: KeepsakeFlowException) {
    throw if (e.failure == Failure.CORRUPTED || e.failure == Failure.TRUNCATED) {
        KeepsakeFlowException(Failure.STORAGE_DAMAGED, e.message.orEmpty())
    } else {
        e
    }
}

/** Runs [block], turning a KeepsakeException into the flows' KeepsakeFlowException. */
internal inline fun <T> mapped(block: () -> T): T = try {
    block()
} catch (e: KeepsakeException) {
    throw KeepsakeFlowException(failureOf(e), e.message.orEmpty())
}

/** One Failure per KeepsakeException variant: no `else`, so a new variant fails the build here. */
internal fun failureOf(e: KeepsakeException): Failure = when (e) {
    is KeepsakeException.WrongKey -> Failure.WRONG_KEY
    is KeepsakeException.RecoveryKeyTypo -> Failure.RECOVERY_KEY_TYPO
    is KeepsakeException.PrfUnsupported -> Failure.PRF_UNSUPPORTED
    is KeepsakeException.BadPrfOutput -> Failure.BAD_PRF_OUTPUT
    is KeepsakeException.NoMatchingSlot -> Failure.NO_MATCHING_SLOT
    is KeepsakeException.MalformedWebAuthn -> Failure.MALFORMED_WEBAUTHN
    is KeepsakeException.Corrupted -> Failure.CORRUPTED
    is KeepsakeException.Truncated -> Failure.TRUNCATED
    is KeepsakeException.UnsupportedVersion -> Failure.UNSUPPORTED_VERSION
    is KeepsakeException.Cancelled -> Failure.CANCELLED
    is KeepsakeException.Io -> Failure.IO
    is KeepsakeException.Database -> Failure.DATABASE
    is KeepsakeException.WrongPassword -> Failure.WRONG_PASSWORD
    is KeepsakeException.KeyringRolledBack -> Failure.KEYRING_ROLLED_BACK
    is KeepsakeException.LastSlot -> Failure.LAST_SLOT
    is KeepsakeException.UnauthenticatedKeyring -> Failure.UNTRUSTED_KEYS
    is KeepsakeException.LegacySlot -> Failure.LEGACY_SLOT
    is KeepsakeException.MediaUnavailable -> Failure.MEDIA_UNAVAILABLE
    // A too-short password (the view-model checks it first), a closed object: bugs of the sample.
    is KeepsakeException.InvalidArgument, is KeepsakeException.Internal -> Failure.OTHER
    // The restore replaces the chat store on purpose (replace = true).
    is KeepsakeException.TargetExists -> Failure.OTHER
    // The cloud is full or refused the account: the user acts (CloudMessages says where);
    // otherwise it failed or could not be reached (offline): try again.
    is KeepsakeException.Storage -> storageFailure(e.kind)
    // Another device is backing up: wait until it has finished.
    is KeepsakeException.RepositoryLocked -> Failure.STORAGE_BUSY
    // The storage lost an object this operation needs (a backup heals what it can itself).
    is KeepsakeException.ObjectMissing -> Failure.STORAGE_DAMAGED
}

/** A storage failure's kind as the screens explain it. */
internal fun storageFailure(kind: StorageFailure): Failure = when (kind) {
    StorageFailure.QUOTA_EXCEEDED -> Failure.STORAGE_FULL
    StorageFailure.UNAUTHORIZED -> Failure.SIGN_IN_REQUIRED
    StorageFailure.TRANSIENT, StorageFailure.THROTTLED -> Failure.STORAGE_UNAVAILABLE
    StorageFailure.OTHER -> Failure.STORAGE_UNAVAILABLE
}
