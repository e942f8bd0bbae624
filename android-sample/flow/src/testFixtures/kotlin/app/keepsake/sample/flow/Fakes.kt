// Test doubles for the ports: an in-memory engine with a small keyring model, a scripted passkey
// provider, and memory-backed vault and history. They keep real state, so the view-model tests
// check what ends up stored, not only what was called.
package app.keepsake.sample.flow

import kotlinx.coroutines.CompletableDeferred

/** How the scripted provider answers a registration. */
enum class PrfBehaviour { RESULTS, ENABLED_ONLY, UNSUPPORTED }

/** A passkey provider that answers from a script, counting the ceremonies. */
class ScriptedProvider(var credentialId: String = "cred-1") : PasskeyPrfProvider {
    var prf = PrfBehaviour.RESULTS
    var nextRegistrationFailure: PasskeyResult? = null
    var nextAssertionFailure: PasskeyResult? = null
    var registrations = 0
    var assertions = 0

    override suspend fun register(requestJson: String): PasskeyResult {
        registrations++
        require(requestJson.startsWith("{\"type\":\"create\"")) { "not a registration request: $requestJson" }
        nextRegistrationFailure?.let { nextRegistrationFailure = null; return it }
        return PasskeyResult.Success("""{"credential":"$credentialId","prf":"${prf.name}"}""")
    }

    override suspend fun authenticate(requestJson: String): PasskeyResult {
        assertions++
        require(requestJson.startsWith("{\"type\":\"get\"")) { "not an assertion request: $requestJson" }
        nextAssertionFailure?.let { nextAssertionFailure = null; return it }
        return PasskeyResult.Success("""{"credential":"$credentialId","prf":"RESULTS"}""")
    }
}

/** A slot as the fake engine keeps it: what the user sees, and the secret that opens it. */
private class FakeSlot(val info: SlotInfo, val secret: String)

/** One version of a keyring (a generation); its public bytes are "id@generation". */
private class FakeKeyring(val id: String, val generation: Long, val slots: MutableList<FakeSlot>) {
    val public get() = "$id@$generation"
}

/** An attachment of the fake chat store: its file's size on the phone, null when the file is not on it. */
class FakeAttachment(val id: Long, val mime: String, var bytes: Long?)

/** A snapshot of the fake repository: the keyring and slots of the moment, the chats and the files stored. */
private class FakeSnapshot(
    val keyring: FakeKeyring,
    val slots: List<FakeSlot>,
    val messages: Long,
    val attachments: List<FakeAttachment>,
    val stored: Map<Long, Long>,
)

/**
 * An engine over an in-memory model: keyrings with generations (removing a slot makes a new
 * generation without it; the old one stays, as an old root key keeps opening old backups) and
 * slots (passkeys by credential id, recovery keys and passwords by their text), backups as files
 * holding the keyring version and the slots of the moment, a chat store as lists, and a backup
 * repository whose latest snapshot holds the attachments' files (the media restore's state, like
 * the real state folder, outlives the view-models: a new view-model models a restarted app).
 */
class FakeEngine : BackupEngine {
    private val versions = mutableMapOf<String, FakeKeyring>()
    private var nextId = 1
    private var nextSlot = 1
    val handedOutSecrets = mutableListOf<KeyringSecrets>()
    val conversations = mutableListOf<ConversationSummary>()
    val messagesByConversation = mutableMapOf<String, MutableList<ChatMessage>>()
    var backups = 0

    /** When set, a backup or restore waits for it after its first progress report. */
    var gate: CompletableDeferred<Unit>? = null

    /** The chat store's attachments and their files on this phone. */
    val attachments = mutableListOf<FakeAttachment>()

    /** Files larger than this are left out of backups (the media options). */
    var maxMediaBytes = Long.MAX_VALUE

    /** Attachments whose file cannot be read (recorded as not on the phone). */
    val unreadable = mutableSetOf<Long>()

    /** Attachments whose stored data is damaged, with the reason the restore reports. */
    val damaged = mutableMapOf<Long, String>()

    /** The repository's latest snapshot, null before the first backup with media. */
    private var snapshot: FakeSnapshot? = null

    /** The media restore's state: the snapshot it restores, null when none is pending. */
    private var restoring: FakeSnapshot? = null
    private var lastRestored: FakeSnapshot? = null

    /** Attachments restored on this phone (the state folder), with their files' sizes. */
    val restoredMedia = mutableMapOf<Long, Long>()

    /** When set, a media restore waits for it after its first progress report. */
    var mediaGate: CompletableDeferred<Unit>? = null

    /** When set, a media restore fails with [Failure.IO] after restoring this many files (offline, killed). */
    var mediaFailsAfter: Int? = null

    /** Called when a media restore starts, before its first progress report. */
    var onMediaRestoreStart: (() -> Unit)? = null

    /** What was called, in order: "backup", "restore", "media", "load <id>", "repair". */
    val calls = mutableListOf<String>()

    /** What the next backup with media reports it healed in the backup storage (used once). */
    var nextHealing: StorageHealing? = null

    /** When set, the next backup with media fails with it (used once): the storage offline, busy or damaged. */
    var nextStorageFailure: Failure? = null

    /** Damaged backups in the backup storage: a restore passes them over, a repair removes them. */
    var damagedBackups = 0

    /** When the repository's latest intact snapshot was made (epoch seconds). */
    val snapshotTime = 1_765_000_000L

    private class Ceremony(override val requestJson: String) : PendingCeremony

    private fun secretsFor(keyring: FakeKeyring) =
        KeyringSecrets(ByteArray(32) { 7 }, keyring.public.toByteArray(), keyring.generation).also { handedOutSecrets += it }

    /** The keyring version of [secrets]; like Keyring.restoreChecked, older public bytes than the sealed generation are refused. */
    private fun keyringOf(secrets: KeyringSecrets): FakeKeyring {
        check(secrets.rootKey().any { it != 0.toByte() }) { "engine got a wiped keyring" }
        val public = String(secrets.publicKeyring())
        val keyring = versions[public] ?: throw KeepsakeFlowException(Failure.CORRUPTED, "unknown keyring $public")
        if (keyring.generation < secrets.generation) {
            throw KeepsakeFlowException(Failure.KEYRING_ROLLED_BACK, "generation ${keyring.generation} below ${secrets.generation}")
        }
        return keyring
    }
    private fun field(json: String, name: String) = Regex("\"$name\":\"([^\"]*)\"").find(json)?.groupValues?.get(1)
        ?: throw KeepsakeFlowException(Failure.MALFORMED_WEBAUTHN, "no $name")

    override suspend fun createKeyring(): KeyringSecrets {
        val keyring = FakeKeyring("keyring-${nextId++}", 1, mutableListOf())
        versions[keyring.public] = keyring
        return secretsFor(keyring)
    }

    override suspend fun slots(secrets: KeyringSecrets) = keyringOf(secrets).slots.map { it.info }

    override suspend fun beginPasskeyRegistration(secrets: KeyringSecrets, userName: String, label: String): PendingCeremony {
        keyringOf(secrets)
        return Ceremony("""{"type":"create","user":"$userName","label":"$label"}""")
    }

    override suspend fun finishPasskeyRegistration(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): EnrollmentStep = when (field(responseJson, "prf")) {
        "RESULTS" -> EnrollmentStep.Enrolled(add(secrets, SlotKind.PASSKEY, field(ceremony.requestJson, "label"), field(responseJson, "credential")))
        "ENABLED_ONLY" -> EnrollmentStep.NeedsAssertion(
            Ceremony("""{"type":"get","allow":"${field(responseJson, "credential")}","label":"${field(ceremony.requestJson, "label")}"}"""),
        )
        else -> throw KeepsakeFlowException(Failure.PRF_UNSUPPORTED, "prf not enabled")
    }

    override suspend fun finishPasskeyEnrollment(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): KeyringSecrets {
        check(field(responseJson, "prf") == "RESULTS")
        return add(secrets, SlotKind.PASSKEY, field(ceremony.requestJson, "label"), field(responseJson, "credential"))
    }

    private fun add(secrets: KeyringSecrets, kind: SlotKind, label: String, secret: String): KeyringSecrets {
        val keyring = keyringOf(secrets)
        keyring.slots += FakeSlot(SlotInfo(kind, label, "slot-${nextSlot++}"), secret)
        return secretsFor(keyring)
    }

    override suspend fun addRecoveryKey(secrets: KeyringSecrets, label: String): Pair<KeyringSecrets, String> {
        val key = "ABCD-EFGH-K$nextSlot"
        return add(secrets, SlotKind.RECOVERY_KEY, label, key) to key
    }

    override suspend fun addPassword(secrets: KeyringSecrets, label: String, password: String): KeyringSecrets {
        if (password.length < MIN_PASSWORD_CHARS) throw KeepsakeFlowException(Failure.OTHER, "short password")
        return add(secrets, SlotKind.PASSWORD, label, password)
    }

    override suspend fun removeSlot(secrets: KeyringSecrets, slotId: String): KeyringSecrets {
        val keyring = keyringOf(secrets)
        val remaining = keyring.slots.filter { it.info.id != slotId }
        if (remaining.size == keyring.slots.size) throw KeepsakeFlowException(Failure.OTHER, "no slot $slotId")
        if (remaining.isEmpty()) throw KeepsakeFlowException(Failure.LAST_SLOT, "the last slot")
        val rotated = FakeKeyring(keyring.id, keyring.generation + 1, remaining.toMutableList())
        versions[rotated.public] = rotated
        return secretsFor(rotated)
    }

    override suspend fun backUp(secrets: KeyringSecrets, destinationPath: String, onProgress: (Progress) -> Unit): BackupSummary {
        val keyring = keyringOf(secrets)
        val messages = messagesByConversation.values.sumOf { it.size }.toLong()
        onProgress(Progress(Phase.BACKUP, 0, messages))
        gate?.await()
        onProgress(Progress(Phase.BACKUP, messages, messages))
        val file = java.io.File(destinationPath)
        // The header carries the keyring version and its slots as they are now.
        val slots = keyring.slots.joinToString("") { "${it.info.kind}|${it.info.label}|${it.info.id}|${it.secret}\n" }
        file.writeText("${keyring.public}\n$messages\n$slots")
        backups++
        return BackupSummary(destinationPath, file.length(), messages)
    }

    override suspend fun backUpWithMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit): BackupSummary {
        val keyring = keyringOf(secrets)
        calls += "backup"
        nextStorageFailure?.let {
            nextStorageFailure = null
            throw KeepsakeFlowException(it, "the backup storage said no")
        }
        val messages = messagesByConversation.values.sumOf { it.size }.toLong()
        onProgress(Progress(Phase.BACKUP, 0, messages))
        gate?.await()
        onProgress(Progress(Phase.BACKUP, messages, messages))
        val readable = attachments.filter { it.bytes != null && it.id !in unreadable }
        val kept = readable.filter { it.bytes!! <= maxMediaBytes }
        val total = kept.sumOf { it.bytes!! }
        var done = 0L
        onProgress(Progress(Phase.MEDIA, 0, total, 0, kept.size.toLong()))
        mediaGate?.await()
        kept.forEachIndexed { index, attachment ->
            done += attachment.bytes!!
            onProgress(Progress(Phase.MEDIA, done, total, index + 1L, kept.size.toLong()))
        }
        val stored = kept.associate { it.id to it.bytes!! }
        snapshot = FakeSnapshot(
            keyring,
            keyring.slots.toList(),
            messages,
            attachments.map { FakeAttachment(it.id, it.mime, it.bytes) },
            stored,
        )
        val counts = MediaBackupCounts(
            filesStored = stored.size.toLong(),
            filesNotOnDevice = (attachments.size - readable.size).toLong(),
            filesSkipped = (readable.size - kept.size).toLong(),
            bytesStored = total,
            filesRead = kept.size.toLong(),
            filesUnreadable = attachments.count { it.bytes != null && it.id in unreadable }.toLong(),
        )
        backups++
        return BackupSummary("repository", total, messages, counts, healed = nextHealing.also { nextHealing = null })
    }

    override suspend fun repairStorage(secrets: KeyringSecrets): StorageRepair {
        keyringOf(secrets)
        calls += "repair"
        val removed = damagedBackups
        damagedBackups = 0
        return StorageRepair(nothingToRepair = removed == 0, backupsRemoved = removed, backupsMissingFiles = 0)
    }

    override suspend fun inspectRepository(): BackupInfo? =
        snapshot?.let { BackupInfo("repository", 0, emptyList(), null, fromRepository = true) }

    override suspend fun beginRepositoryUnlock(): PendingCeremony {
        if (snapshot == null) throw KeepsakeFlowException(Failure.OTHER, "no repository")
        return Ceremony("""{"type":"get","repository":"yes"}""")
    }

    override suspend fun restoreFromRepository(secret: UnlockSecret, device: KeyringSecrets?, onProgress: (Progress) -> Unit): RestoreResult {
        val latest = snapshot ?: throw KeepsakeFlowException(Failure.OTHER, "no repository")
        unlock(latest.slots, secret)
        val mine = device?.let { runCatching { keyringOf(it) }.getOrNull() }
        val keep = mine != null && mine.id == latest.keyring.id && latest.keyring.generation <= mine.generation
        onProgress(Progress(Phase.RESTORE, 0, latest.messages))
        gate?.await()
        onProgress(Progress(Phase.RESTORE, latest.messages, latest.messages))
        calls += "restore"
        restoring = latest
        lastRestored = latest
        return RestoreResult(
            latest.messages, conversations.size.toLong(), secretsFor(if (keep) mine!! else latest.keyring), keep,
            damagedBackupsSkipped = damagedBackups,
            backupTimeEpochSeconds = snapshotTime,
        )
    }

    override suspend fun mediaRestorePending(): Boolean = restoring != null

    override suspend fun restoreMedia(secrets: KeyringSecrets, onProgress: (Progress) -> Unit): MediaRestoreSummary {
        keyringOf(secrets)
        val from = restoring ?: lastRestored ?: throw KeepsakeFlowException(Failure.OTHER, "nothing restored from the repository")
        calls += "media"
        onMediaRestoreStart?.invoke()
        val selection = from.attachments.map { it.id }.sorted()
        val already = selection.count { it in restoredMedia }.toLong()
        val todo = selection.filter { it !in restoredMedia && it in from.stored && it !in damaged }
        val total = todo.sumOf { from.stored.getValue(it) }
        onProgress(Progress(Phase.MEDIA, 0, total, 0, todo.size.toLong()))
        mediaGate?.await()
        var done = 0L
        var restored = 0L
        var fetchedMeanwhile = 0L
        var restoredBytes = 0L
        todo.forEachIndexed { index, id ->
            if (mediaFailsAfter == index) throw KeepsakeFlowException(Failure.IO, "offline after $index files")
            // Opened on demand while this run waited: already there, not restored twice.
            if (id in restoredMedia) {
                fetchedMeanwhile++
            } else {
                restored++
                restoredBytes += from.stored.getValue(id)
                restoredMedia[id] = from.stored.getValue(id)
            }
            done += from.stored.getValue(id)
            onProgress(Progress(Phase.MEDIA, done, total, index + 1L, todo.size.toLong()))
        }
        restoring = null
        return MediaRestoreSummary(
            filesRestored = restored,
            bytesRestored = restoredBytes,
            filesAlreadyRestored = already + fetchedMeanwhile,
            filesNotInBackup = selection.count { it !in from.stored }.toLong(),
            lost = selection.filter { it in from.stored && it in damaged && it !in restoredMedia }.map { LostAttachment(it, damaged.getValue(it)) },
        )
    }

    override suspend fun loadMedia(secrets: KeyringSecrets, attachmentId: Long): MediaFile {
        keyringOf(secrets)
        calls += "load $attachmentId"
        val from = lastRestored ?: throw KeepsakeFlowException(Failure.OTHER, "nothing restored from the repository")
        val attachment = from.attachments.firstOrNull { it.id == attachmentId }
            ?: throw KeepsakeFlowException(Failure.OTHER, "no attachment $attachmentId")
        val size = from.stored[attachmentId]
        if (size == null || attachmentId in damaged) throw KeepsakeFlowException(Failure.MEDIA_UNAVAILABLE, "attachment $attachmentId")
        restoredMedia[attachmentId] = size
        return MediaFile(attachmentId, "media/$attachmentId", attachment.mime, size)
    }

    /** A backup file: its keyring version, message count and slots with their secrets. */
    private class FakeBackup(val keyring: FakeKeyring, val messages: Long?, val slots: List<FakeSlot>)

    private fun read(path: String): FakeBackup {
        val file = java.io.File(path).takeIf { it.isFile } ?: throw KeepsakeFlowException(Failure.IO, "no file $path")
        val lines = file.readLines()
        val keyring = lines.firstOrNull()?.let { versions[it] } ?: throw KeepsakeFlowException(Failure.CORRUPTED, "header")
        val slots = lines.drop(2).filter { it.isNotEmpty() }.map { line ->
            val (kind, label, id, secret) = line.split("|")
            FakeSlot(SlotInfo(SlotKind.valueOf(kind), label, id), secret)
        }
        return FakeBackup(keyring, lines.getOrNull(1)?.toLongOrNull(), slots)
    }

    override suspend fun inspect(path: String): BackupInfo {
        val backup = read(path)
        return BackupInfo(path, 1_700_000_000, backup.slots.map { it.info }, backup.messages)
    }

    override suspend fun beginUnlock(path: String): PendingCeremony = Ceremony("""{"type":"get","path":"$path"}""")

    /**
     * The backups' keys came through an old (version 2) key slot: a restore gives the chats and
     * new keys without slots, as the real engine does on `UnauthenticatedKeyring`.
     */
    var untrustedKeys = false

    override suspend fun restore(path: String, secret: UnlockSecret, device: KeyringSecrets?, onProgress: (Progress) -> Unit): RestoreResult {
        val backup = read(path)
        unlock(backup.slots, secret)
        if (untrustedKeys) {
            val fresh = FakeKeyring("keyring-${nextId++}", 1, mutableListOf())
            versions[fresh.public] = fresh
            return RestoreResult(backup.messages ?: 0, conversations.size.toLong(), secretsFor(fresh), newKeys = true)
        }
        // The device keeps its own keyring when the backup's is the same one and not newer.
        val mine = device?.let { runCatching { keyringOf(it) }.getOrNull() }
        val keep = mine != null && mine.id == backup.keyring.id && backup.keyring.generation <= mine.generation
        onProgress(Progress(Phase.RESTORE, 0, null))
        gate?.await()
        onProgress(Progress(Phase.CHECK, 1, 1))
        return RestoreResult(backup.messages ?: 0, conversations.size.toLong(), secretsFor(if (keep) mine!! else backup.keyring), keep)
    }

    /** Checks [secret] against [slots] as Keepsake does, with the same failures. */
    private fun unlock(slots: List<FakeSlot>, secret: UnlockSecret) {
        fun slotsOf(kind: SlotKind) = slots.filter { it.info.kind == kind }
        when (secret) {
            is UnlockSecret.Passkey -> {
                val credential = field(secret.responseJson, "credential")
                if (slotsOf(SlotKind.PASSKEY).none { it.secret == credential }) {
                    throw KeepsakeFlowException(Failure.NO_MATCHING_SLOT, "credential $credential")
                }
            }
            is UnlockSecret.RecoveryKey -> {
                val typed = secret.text.trim().uppercase()
                if (!typed.startsWith("ABCD-EFGH-")) throw KeepsakeFlowException(Failure.RECOVERY_KEY_TYPO, "checksum")
                if (slotsOf(SlotKind.RECOVERY_KEY).none { it.secret.uppercase() == typed }) throw KeepsakeFlowException(Failure.WRONG_KEY, "no slot opens")
            }
            is UnlockSecret.Password -> {
                if (slotsOf(SlotKind.PASSWORD).isEmpty()) throw KeepsakeFlowException(Failure.NO_MATCHING_SLOT, "no password slot")
                if (slotsOf(SlotKind.PASSWORD).none { it.secret == secret.text }) throw KeepsakeFlowException(Failure.WRONG_PASSWORD, "no slot opens")
            }
        }
    }

    override suspend fun conversations() = conversations.sortedByDescending { c -> messagesByConversation[c.id]?.lastOrNull()?.sentAtEpochMillis ?: 0 }

    override suspend fun messages(conversationId: String) = messagesByConversation[conversationId].orEmpty().toList()

    override suspend fun createConversation(title: String): ConversationSummary {
        val created = ConversationSummary("c${conversations.size + 1}", title, null)
        conversations += created
        return created
    }

    override suspend fun sendText(conversationId: String, text: String): ChatMessage {
        val index = conversations.indexOfFirst { it.id == conversationId }
        if (index < 0) throw KeepsakeFlowException(Failure.DATABASE, "no conversation $conversationId")
        val list = messagesByConversation.getOrPut(conversationId) { mutableListOf() }
        val message = ChatMessage("m${list.size + 1}", "me", text, 1_000L + list.size)
        list += message
        conversations[index] = conversations[index].copy(lastMessage = text)
        return message
    }
}

/** A vault in memory that, like the real ones, keeps its own copy: root key, public bytes, generation. */
class MemoryVault : RootKeyVault {
    var stored: Triple<ByteArray, ByteArray, Long>? = null
    var saves = 0
    override suspend fun save(secrets: KeyringSecrets) {
        stored = Triple(secrets.rootKey(), secrets.publicKeyring(), secrets.generation)
        saves++
    }
    override suspend fun load() = stored?.let { KeyringSecrets(it.first, it.second, it.third) }
    override suspend fun clear() {
        stored = null
    }
}

/** Backup history in memory. */
class MemoryHistory : BackupHistory {
    var lastBackup: LastBackup? = null
    override suspend fun last() = lastBackup
    override suspend fun record(backup: LastBackup) {
        lastBackup = backup
    }
}
