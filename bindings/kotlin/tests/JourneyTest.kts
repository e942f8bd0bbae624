// The Kotlin journey against the generated bindings, run by scripts/test-bindings.sh:
//   kotlinc -classpath keepsake.jar:jna.jar:kotlinx-coroutines-core-jvm.jar -script JourneyTest.kts
import app.keepsake.*
import java.io.File
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

var passed = 0
var failed = 0

fun test(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("ok   $name")
    } catch (e: Throwable) {
        failed++
        println("FAIL $name: $e")
        e.printStackTrace(System.out)
    }
}

inline fun <reified E : Throwable> expectError(body: () -> Unit): E {
    val e = runCatching(body).exceptionOrNull()
    if (e !is E) throw AssertionError("expected ${E::class.simpleName}, got $e")
    return e
}

fun testAsync(name: String, body: suspend kotlinx.coroutines.CoroutineScope.() -> Unit) =
    test(name) { runBlocking { body() } }

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

test("the library loads and reports its version") {
    check(keepsakeVersion().matches(Regex("""\d+\.\d+\.\d+.*"""))) { "version ${keepsakeVersion()}" }
}

test("a cancellation flag can be raised from another thread") {
    Cancellation().use { flag ->
        check(!flag.isCancelled()) { "fresh flag is raised" }
        val t = Thread { flag.cancel() }
        t.start(); t.join()
        check(flag.isCancelled()) { "cancel() from another thread was not seen" }
    }
}


// ---------------------------------------------------------------- the user journey
val rp = "chat.example.com"
val work = java.nio.file.Files.createTempDirectory("keepsake-kotlin").toFile()
val dbPath = File(work, "chat.db").path
val backupPath = File(work, "chat.keepsake").path

fun sampleMessages(conversation: Long, count: Int, firstId: Long) = (0 until count).map { i ->
    Message(
        id = firstId + i, conversationId = conversation, sender = if (i % 2 == 0) "alice" else "bob",
        kind = MessageKind.TEXT, body = "message $i in $conversation: héllo 👋", sentAt = 1_700_000_000_000 + i * 1000L,
        delivery = DeliveryState.READ, replyTo = if (i > 0) firstId + i - 1 else null,
    )
}

/** Every conversation with its participants and full timeline (all pages). */
fun snapshot(store: ChatStore, conversationIds: List<Long>): List<Any?> = conversationIds.map { id ->
    val messages = mutableListOf<Message>()
    var page = store.timeline(id, null, 7u)
    messages += page.messages
    while (page.next != null) { page = store.timeline(id, page.next, 7u); messages += page.messages }
    listOf(store.conversation(id), store.participants(id), messages)
}

val conversationIds = listOf(1L, 2L)
val keyring = Keyring.create()
val authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_ENABLED_WITHOUT_RESULTS)
lateinit var recoveryKey: String
lateinit var original: List<Any?>
lateinit var originalCounts: RecordCounts
val streamed = java.io.ByteArrayOutputStream()

test("create a store and add conversations, participants and messages") {
    ChatStore.open(dbPath).use { store ->
        store.upsertConversation(Conversation(id = 1, kind = ConversationKind.DIRECT, createdAt = 1_700_000_000_000))
        store.upsertConversation(Conversation(id = 2, kind = ConversationKind.GROUP, title = "Family", createdAt = 1_700_000_000_500, pinned = true))
        store.upsertParticipant(Participant(conversationId = 2, userId = "alice", displayName = "Alice", role = ParticipantRole.OWNER, joinedAt = 1))
        store.upsertParticipant(Participant(conversationId = 2, userId = "bob", role = ParticipantRole.MEMBER, joinedAt = 2))
        store.insertMessages(sampleMessages(1, 30, 1_000))
        store.insertMessages(sampleMessages(2, 45, 2_000))
        originalCounts = store.counts()
        check(originalCounts.conversations == 2uL && originalCounts.messages == 75uL && originalCounts.participants == 2uL) { "counts $originalCounts" }
        original = snapshot(store, conversationIds)
        check(store.timeline(2, null, 10u).messages.first().id == 2_044L) { "timeline is newest first" }
    }
}

test("enroll a passkey through the JSON path (provider needs a follow-up assertion)") {
    PasskeyEnrollment(keyring, rp, "Keepsake Chat", byteArrayOf(1, 2, 3), "alice", "Alice", "Pixel passkey").use { enrollment ->
        val registration = authenticator.createJson(enrollment.registrationRequestJson())
        val outcome = enrollment.finishRegistrationJson(registration)
        check(outcome is EnrollmentOutcome.NeedsAssertion) { "expected NeedsAssertion, got $outcome" }
        val slot = enrollment.finishAssertionJson(authenticator.getJson((outcome as EnrollmentOutcome.NeedsAssertion).requestJson))
        check(slot.kind == SlotKind.PASSKEY && slot.label == "Pixel passkey" && slot.rpId == rp) { "slot $slot" }
    }
}

test("add a recovery key") {
    val created = keyring.addRecoveryKey("Paper copy")
    recoveryKey = created.recoveryKey.reveal()
    check(recoveryKey.replace("-", "").length == 64) { "recovery key length" }
    check(normalizeRecoveryKey(recoveryKey.lowercase().replace("-", " ")) == recoveryKey) { "normalization" }
    check(keyring.slots().map { it.kind } == listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY)) { "slots ${keyring.slots()}" }
}

test("the device keyring survives sealing: restore from root key and public bytes") {
    Keyring.restore(keyring.exportRootKey(), keyring.publicBytes()).use { again ->
        check(again.id().contentEquals(keyring.id())) { "keyring id" }
        check(again.slots().size == 2) { "slots" }
    }
    val tampered = keyring.publicBytes().also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() }
    expectError<KeepsakeException.Corrupted> { Keyring.restore(keyring.exportRootKey(), tampered) }
}

testAsync("back up to a file with progress as a Flow") {
    val reports = mutableListOf<ProgressReport>()
    val report = ChatStore.open(dbPath).use { store -> store.backupFlow(keyring, backupPath).result { reports += it } }
    check(report.counts == originalCounts) { "report counts ${report.counts}" }
    check(File(backupPath).length().toULong() == report.containerBytes) { "file size" }
    check(reports.isNotEmpty() && reports.all { it.phase == ProgressPhase.BACKUP }) { "progress $reports" }
    check(reports.last().done == reports.last().total) { "last report ${reports.last()}" }
}

testAsync("back up through a foreign sink (an OutputStream)") {
    val report = ChatStore.open(dbPath).use { store -> store.backupFlow(keyring, streamed).result() }
    check(streamed.size().toULong() == report.containerBytes) { "streamed ${streamed.size()} vs ${report.containerBytes}" }
}

testAsync("inspect a backup without a secret") {
    val info = inspect(backupPath)
    check(info.keyringId.contentEquals(keyring.id())) { "keyring id" }
    check(info.declaredCounts == originalCounts) { "declared ${info.declaredCounts}" }
    check(info.slots.map { it.kind } == listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY)) { "slots" }
    check(info.payloadKind == PayloadKind.CHAT_ARCHIVE) { "kind" }
    val fromStream = inspectBackupSource(InputStreamSource(streamed.toByteArray().inputStream()))
    check(fromStream.keyringId.contentEquals(keyring.id())) { "streamed keyring id" }
}

testAsync("unlock with the passkey (discoverable) and restore to a new database; everything matches") {
    val target = File(work, "restored-passkey.db").path
    val secret = PasskeyUnlock.forBackupFile(backupPath, rp, true).use { unlock ->
        unlock.finishJson(authenticator.getJson(unlock.requestJson()))
    }
    val phases = mutableSetOf<ProgressPhase>()
    val report = secret.use { restoreFlow(backupPath, it, target).result { p -> phases += p.phase } }
    check(report.counts == originalCounts) { "restored counts ${report.counts}" }
    check(phases.isNotEmpty()) { "no restore progress" }
    ChatStore.open(target).use { restored -> check(snapshot(restored, conversationIds) == original) { "restored content differs" } }
}

testAsync("restore from a foreign source with the recovery key; everything matches") {
    val target = File(work, "restored-recovery.db").path
    val report = BackupSecret.recoveryKey(recoveryKey).use { secret ->
        restoreFlow(streamed.toByteArray().inputStream(), secret, target).result()
    }
    check(report.counts == originalCounts) { "counts" }
    ChatStore.open(target).use { restored -> check(snapshot(restored, conversationIds) == original) { "restored content differs" } }
    // A new device keeps using the backup's keyring.
    BackupSecret.recoveryKey(recoveryKey).use { secret ->
        keyringFromBackup(backupPath, secret).use { k -> check(k.id().contentEquals(keyring.id())) { "keyring id" } }
    }
}

testAsync("verify a backup with the device keyring") {
    val report = BackupSecret.deviceKeyring(keyring).use { secret -> keepsakeIo { verifyBackup(backupPath, secret, null, it) } }
    check(report.counts == originalCounts) { "verify counts" }
}

// ---------------------------------------------------------------- what goes wrong, typed
test("a wrong recovery key is WrongKey and creates nothing") {
    val target = File(work, "wrong.db")
    val other = Keyring.create().use { it.addRecoveryKey("other").recoveryKey.reveal() }
    expectError<KeepsakeException.WrongKey> {
        BackupSecret.recoveryKey(other).use { restoreFromPath(backupPath, it, target.path, false, null, null) }
    }
    check(!target.exists()) { "target created" }
}

test("a recovery-key typo is RecoveryKeyTypo, not WrongKey") {
    val chars = recoveryKey.toCharArray()
    val i = chars.indexOfFirst { it != '-' }
    chars[i] = if (chars[i] == 'A') 'B' else 'A'
    val e = expectError<KeepsakeException.RecoveryKeyTypo> { BackupSecret.recoveryKey(String(chars)) }
    check(e.detail.isNotBlank()) { "typo detail" }
}

test("a provider without PRF is PrfUnsupported and nothing is enrolled") {
    val noPrf = SoftAuthenticator(SoftAuthenticatorMode.NO_PRF)
    val before = keyring.slots().size
    PasskeyEnrollment(keyring, rp, "Keepsake Chat", byteArrayOf(9), "alice", "Alice", "No PRF").use { enrollment ->
        expectError<KeepsakeException.PrfUnsupported> { enrollment.finishRegistrationJson(noPrf.createJson(enrollment.registrationRequestJson())) }
    }
    check(keyring.slots().size == before) { "a slot was added" }
}

test("a tampered backup is Corrupted and leaves nothing behind") {
    val bytes = File(backupPath).readBytes()
    // Edit the header's public metadata ("keepsake.count..." -> "keepsake.cOunt..."): the
    // header MAC must catch it once the slot is unlocked.
    val at = String(bytes, Charsets.ISO_8859_1).indexOf("keepsake.count.")
    check(at > 0) { "metadata not found" }
    bytes[at + 10] = (bytes[at + 10].toInt() xor 0x20).toByte()
    val tampered = File(work, "tampered.keepsake").apply { writeBytes(bytes) }
    val target = File(work, "tampered.db")
    expectError<KeepsakeException.Corrupted> {
        BackupSecret.recoveryKey(recoveryKey).use { restoreFromPath(tampered.path, it, target.path, false, null, null) }
    }
    check(!target.exists()) { "target created" }
}

testAsync("a restore cancelled mid-way is Cancelled and leaves nothing behind") {
    val target = File(work, "cancelled.db")
    val before = work.list()!!.toSet()
    val e = runCatching {
        BackupSecret.recoveryKey(recoveryKey).use { secret ->
            Cancellation().use { flag ->
                restoreFromPath(backupPath, secret, target.path, false, progressListener { flag.cancel() }, flag)
            }
        }
    }.exceptionOrNull()
    check(e is KeepsakeException.Cancelled) { "expected Cancelled, got $e" }
    check(!target.exists()) { "target created" }
    check(work.list()!!.toSet() == before) { "left behind: ${work.list()!!.toSet() - before}" }
}

testAsync("cancelling the collecting coroutine cancels the Rust work") {
    val target = File(work, "coroutine-cancel.db")
    // A slow download: 64 bytes per read, 10 ms each, so the restore is still running when cancelled.
    val slow = object : java.io.InputStream() {
        val bytes = streamed.toByteArray().inputStream()
        override fun read(): Int = bytes.read()
        override fun read(b: ByteArray, off: Int, len: Int): Int { Thread.sleep(10); return bytes.read(b, off, minOf(len, 64)) }
    }
    val job = launch { restoreFlow(slow, BackupSecret.deviceKeyring(keyring), target.path).collect {} }
    kotlinx.coroutines.delay(50)
    job.cancel()
    job.join()
    check(job.isCancelled) { "job not cancelled" }
    check(!target.exists()) { "target created" }
}

test("closed objects fail cleanly") {
    val store = ChatStore.open(File(work, "closed.db").path)
    store.closeDatabase()
    expectError<KeepsakeException.InvalidArgument> { store.counts() }
    store.close()
    val e = runCatching { store.counts() }.exceptionOrNull()
    check(e is IllegalStateException) { "use after close: $e" }
}

test("log records reach the app's logger") {
    val records = java.util.concurrent.CopyOnWriteArrayList<String>()
    installLogger(LogLevel.INFO) { level, target, message -> records += "$level $target $message" }
    check(records.any { it.contains("logging at") }) { "records $records" }
}

work.deleteRecursively()

println("kotlin: $passed passed, $failed failed")
if (failed > 0) kotlin.system.exitProcess(1)
