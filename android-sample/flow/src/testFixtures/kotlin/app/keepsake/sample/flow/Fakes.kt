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

/** A keyring as the fake engine keeps it: the public part names the keyring. */
private class FakeKeyring(val slots: MutableList<Pair<SlotInfo, String>>)

/**
 * An engine over an in-memory model: keyrings with passkey slots (by credential id) and recovery
 * key slots (by key), backups as files holding the keyring id, a chat store as lists.
 */
class FakeEngine : BackupEngine {
    private val keyrings = mutableMapOf<String, FakeKeyring>()
    private var nextId = 1
    val handedOutSecrets = mutableListOf<KeyringSecrets>()
    val conversations = mutableListOf<ConversationSummary>()
    val messagesByConversation = mutableMapOf<String, MutableList<ChatMessage>>()
    var backups = 0

    /** When set, a backup or restore waits for it after its first progress report. */
    var gate: CompletableDeferred<Unit>? = null

    private class Ceremony(override val requestJson: String) : PendingCeremony

    private fun secretsFor(id: String) = KeyringSecrets(ByteArray(32) { 7 }, id.toByteArray()).also { handedOutSecrets += it }
    private fun keyringOf(secrets: KeyringSecrets): Pair<String, FakeKeyring> {
        check(secrets.rootKey().any { it != 0.toByte() }) { "engine got a wiped keyring" }
        val id = String(secrets.publicKeyring())
        return id to (keyrings[id] ?: throw KeepsakeFlowException(Failure.CORRUPTED, "unknown keyring $id"))
    }
    private fun field(json: String, name: String) = Regex("\"$name\":\"([^\"]*)\"").find(json)?.groupValues?.get(1)
        ?: throw KeepsakeFlowException(Failure.MALFORMED_WEBAUTHN, "no $name")

    override suspend fun createKeyring(): KeyringSecrets {
        val id = "keyring-${nextId++}"
        keyrings[id] = FakeKeyring(mutableListOf())
        return secretsFor(id)
    }

    override suspend fun slots(secrets: KeyringSecrets) = keyringOf(secrets).second.slots.map { it.first }

    override suspend fun beginPasskeyRegistration(secrets: KeyringSecrets, userName: String, label: String): PendingCeremony {
        keyringOf(secrets)
        return Ceremony("""{"type":"create","user":"$userName","label":"$label"}""")
    }

    override suspend fun finishPasskeyRegistration(
        secrets: KeyringSecrets,
        ceremony: PendingCeremony,
        responseJson: String,
    ): EnrollmentStep = when (field(responseJson, "prf")) {
        "RESULTS" -> EnrollmentStep.Enrolled(addPasskey(secrets, field(responseJson, "credential"), field(ceremony.requestJson, "label")))
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
        return addPasskey(secrets, field(responseJson, "credential"), field(ceremony.requestJson, "label"))
    }

    private fun addPasskey(secrets: KeyringSecrets, credential: String, label: String): KeyringSecrets {
        val (id, keyring) = keyringOf(secrets)
        keyring.slots += SlotInfo(SlotKind.PASSKEY, label) to credential
        return secretsFor(id)
    }

    override suspend fun addRecoveryKey(secrets: KeyringSecrets, label: String): Pair<KeyringSecrets, String> {
        val (id, keyring) = keyringOf(secrets)
        val key = "ABCD-EFGH-$id"
        keyring.slots += SlotInfo(SlotKind.RECOVERY_KEY, label) to key
        return secretsFor(id) to key
    }

    override suspend fun backUp(secrets: KeyringSecrets, destinationPath: String, onProgress: (Progress) -> Unit): BackupSummary {
        val (id, _) = keyringOf(secrets)
        val messages = messagesByConversation.values.sumOf { it.size }.toLong()
        onProgress(Progress(Phase.BACKUP, 0, messages))
        gate?.await()
        onProgress(Progress(Phase.BACKUP, messages, messages))
        val file = java.io.File(destinationPath)
        file.writeText("$id\n$messages\n")
        backups++
        return BackupSummary(destinationPath, file.length(), messages)
    }

    override suspend fun inspect(path: String): BackupInfo {
        val file = java.io.File(path).takeIf { it.isFile }
            ?: throw KeepsakeFlowException(Failure.IO, "no file $path")
        val lines = file.readLines()
        val keyring = lines.firstOrNull()?.let { keyrings[it] } ?: throw KeepsakeFlowException(Failure.CORRUPTED, "header")
        return BackupInfo(file.path, 1_700_000_000, keyring.slots.map { it.first }, lines.getOrNull(1)?.toLongOrNull())
    }

    override suspend fun beginUnlock(path: String): PendingCeremony = Ceremony("""{"type":"get","path":"$path"}""")

    override suspend fun restore(path: String, secret: UnlockSecret, onProgress: (Progress) -> Unit): RestoreResult {
        val id = java.io.File(path).readLines().first()
        val keyring = keyrings.getValue(id)
        val opened = when (secret) {
            is UnlockSecret.Passkey -> {
                val credential = field(secret.responseJson, "credential")
                keyring.slots.any { it.first.kind == SlotKind.PASSKEY && it.second == credential } ||
                    throw KeepsakeFlowException(Failure.NO_MATCHING_SLOT, "credential $credential")
            }
            is UnlockSecret.RecoveryKey -> {
                val typed = secret.text.trim().uppercase()
                if (!typed.startsWith("ABCD-EFGH-")) throw KeepsakeFlowException(Failure.RECOVERY_KEY_TYPO, "checksum")
                keyring.slots.any { it.first.kind == SlotKind.RECOVERY_KEY && it.second.uppercase() == typed }
            }
        }
        if (!opened) throw KeepsakeFlowException(Failure.WRONG_KEY, "no slot opens")
        onProgress(Progress(Phase.RESTORE, 0, null))
        gate?.await()
        onProgress(Progress(Phase.CHECK, 1, 1))
        return RestoreResult(java.io.File(path).readLines()[1].toLong(), conversations.size.toLong(), secretsFor(id))
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

/** A vault in memory that, like the real ones, keeps its own copy. */
class MemoryVault : RootKeyVault {
    var stored: Pair<ByteArray, ByteArray>? = null
    var saves = 0
    override suspend fun save(secrets: KeyringSecrets) {
        stored = secrets.rootKey() to secrets.publicKeyring()
        saves++
    }
    override suspend fun load() = stored?.let { KeyringSecrets(it.first, it.second) }
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
