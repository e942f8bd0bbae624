// JUnit tests of the sample's flows (view-models over the ports), run by Gradle's unit tests and
// by scripts/test-mobile-flows.sh (kotlinc + JUnit). Each test builds fresh fakes and drives a view-model like a screen.
package app.keepsake.sample.flow

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.After
import org.junit.Test
import java.io.File
import java.nio.file.Files

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

/** Fresh fakes and view-models on a single-threaded scope of their own. */
class Fixture {
    val dir: File = Files.createTempDirectory("keepsake-flow").toFile()
    val engine = FakeEngine()
    val provider = ScriptedProvider()
    val vault = MemoryVault()
    val history = MemoryHistory()
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val backup = BackupViewModel(scope, engine, provider, vault, history, { File(dir, "chats.keepsake").path }, clock = { 42_000L })
    val restore = RestoreViewModel(scope, engine, provider, vault)
    val chat = ChatViewModel(scope, engine)

    fun vaultSlots(): List<SlotInfo> = runBlocking { vault.load()?.let { engine.slots(it) }.orEmpty() }
    fun close() {
        scope.cancel()
        dir.deleteRecursively()
    }
}

/** Waits until [condition] holds on the view-model's state (progress is asynchronous). */
private suspend fun eventually(condition: () -> Boolean) {
    while (!condition()) yield()
}

/**
 * The flows, one JUnit test each: a fresh [Fixture] (fakes and view-models on a scope of their
 * own) per test, driven like a screen, with a 10 s limit.
 */
class FlowTest {
    private val fixture = Fixture()

    @After
    fun close() = fixture.close()

    private fun flow(body: suspend Fixture.() -> Unit) = runBlocking { withTimeout(10_000) { fixture.body() } }

    // --- Backup screen ---------------------------------------------------------------------------
    @Test
    fun `enabling with a passkey whose registration has PRF results seals a keyring with that slot`() = flow {
        backup.enableWithPasskey("Phone")!!.join()
        val state = backup.state.value
        expect(state.work == null) { "still busy: ${state.work}" }
        expect(state.slots.map { it.kind to it.label } == listOf(SlotKind.PASSKEY to "Phone")) { "slots ${state.slots}" }
        expect(vaultSlots() == state.slots) { "vault holds ${vaultSlots()}" }
        expect(provider.registrations == 1 && provider.assertions == 0) { "ceremonies ${provider.registrations}/${provider.assertions}" }
        expect(state.message?.isError == false) { "message ${state.message}" }
        expect(state.canBackUp) { "cannot back up after enabling" }
    }

    @Test
    fun `registration with PRF enabled but no output makes exactly one assertion, then enrolls`() = flow {
        provider.prf = PrfBehaviour.ENABLED_ONLY
        backup.enableWithPasskey()!!.join()
        expect(provider.assertions == 1) { "assertions ${provider.assertions}" }
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.PASSKEY)) { "vault ${vaultSlots()}" }
    }

    @Test
    fun `a provider without PRF enrolls nothing and offers the recovery key`() = flow {
        provider.prf = PrfBehaviour.UNSUPPORTED
        backup.enableWithPasskey()!!.join()
        val state = backup.state.value
        expect(vault.stored == null) { "a keyring was sealed without any usable slot" }
        expect(state.message?.offerRecoveryKey == true && state.message!!.isError) { "message ${state.message}" }
        expect(state.slots.isEmpty() && !state.canBackUp) { "state $state" }
    }

    @Test
    fun `cancelling the passkey sheet is silent and stores nothing`() = flow {
        provider.nextRegistrationFailure = PasskeyResult.Cancelled
        backup.enableWithPasskey()!!.join()
        expect(backup.state.value.message == null) { "message ${backup.state.value.message}" }
        expect(vault.saves == 0) { "vault saved ${vault.saves} times" }
        expect(backup.state.value.work == null) { "still busy" }
    }

    @Test
    fun `a cancelled enrollment assertion stores nothing`() = flow {
        provider.prf = PrfBehaviour.ENABLED_ONLY
        provider.nextAssertionFailure = PasskeyResult.Cancelled
        backup.enableWithPasskey()!!.join()
        expect(vault.saves == 0 && backup.state.value.slots.isEmpty()) { "saves ${vault.saves}" }
    }

    @Test
    fun `every provider failure gets its own message, configuration problems offer the recovery key`() = flow {
        val failures = listOf(
            PasskeyResult.NoCredential,
            PasskeyResult.NotConfigured("no provider"),
            PasskeyResult.Rejected("InvalidStateError", "exists"),
            PasskeyResult.Rejected("NotAllowedError", "denied"),
            PasskeyResult.Interrupted,
            PasskeyResult.Failed("boom"),
        )
        val texts = mutableSetOf<String>()
        for (failure in failures) {
            provider.nextRegistrationFailure = failure
            backup.enableWithPasskey()!!.join()
            val message = backup.state.value.message
            expect(message != null && message.isError) { "no error for $failure" }
            texts += message!!.text
        }
        expect(texts.size == failures.size) { "messages are not distinct: $texts" }
        provider.nextRegistrationFailure = PasskeyResult.NotConfigured("x")
        backup.enableWithPasskey()!!.join()
        expect(backup.state.value.message!!.offerRecoveryKey) { "NotConfigured must offer the recovery key" }
        expect(vault.saves == 0) { "vault saved after failures" }
    }

    @Test
    fun `adding a recovery key shows it once and seals the slot`() = flow {
        backup.addRecoveryKey()!!.join()
        val key = backup.state.value.newRecoveryKey
        expect(key != null && key.startsWith("ABCD-EFGH-")) { "key $key" }
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.RECOVERY_KEY)) { "vault ${vaultSlots()}" }
        backup.recoveryKeyNoted()
        expect(backup.state.value.newRecoveryKey == null) { "key still shown" }
    }

    @Test
    fun `passkey and recovery key end up on the same keyring`() = flow {
        backup.enableWithPasskey()!!.join()
        backup.addRecoveryKey()!!.join()
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY)) { "vault ${vaultSlots()}" }
    }

    @Test
    fun `backing up without a keyring asks to turn backups on and writes nothing`() = flow {
        backup.backUpNow()!!.join()
        expect(engine.backups == 0) { "a backup was written" }
        expect(backup.state.value.message?.isError == true) { "message ${backup.state.value.message}" }
        expect(history.lastBackup == null) { "history ${history.lastBackup}" }
    }

    @Test
    fun `back up now reports progress, records the last backup and wipes the keyring it used`() = flow {
        backup.addRecoveryKey()!!.join()
        engine.gate = CompletableDeferred()
        val job = backup.backUpNow()!!
        eventually { (backup.state.value.work as? BackupWork.BackingUp)?.progress != null }
        expect(backup.backUpNow() == null) { "a second operation started while busy" }
        engine.gate!!.complete(Unit)
        job.join()
        val state = backup.state.value
        expect(state.lastBackup == LastBackup(File(dir, "chats.keepsake").path, 42_000L, state.lastBackup!!.bytes, 0)) { "last ${state.lastBackup}" }
        expect(history.lastBackup == state.lastBackup) { "history ${history.lastBackup}" }
        expect(File(dir, "chats.keepsake").isFile) { "no backup file" }
        expect(engine.handedOutSecrets.all { s -> s.rootKey().all { it == 0.toByte() } }) { "a root key copy was left unwiped" }
    }

    @Test
    fun `cancelling a backup keeps the previous last backup and says cancelled`() = flow {
        backup.addRecoveryKey()!!.join()
        engine.gate = CompletableDeferred()
        val job = backup.backUpNow()!!
        eventually { (backup.state.value.work as? BackupWork.BackingUp)?.progress != null }
        backup.cancel()
        job.join()
        expect(backup.state.value.work == null) { "still busy" }
        expect(backup.state.value.message?.text == "Cancelled.") { "message ${backup.state.value.message}" }
        expect(history.lastBackup == null && engine.backups == 0) { "history ${history.lastBackup}" }
    }

    @Test
    fun `load shows the sealed keyring's slots and the last backup`() = flow {
        backup.addRecoveryKey()!!.join()
        history.lastBackup = LastBackup("p", 1, 2, 3)
        val fresh = BackupViewModel(scope, engine, provider, vault, history, { "unused" })
        fresh.load().join()
        expect(fresh.state.value.loaded && fresh.state.value.slots.size == 1) { "state ${fresh.state.value}" }
        expect(fresh.state.value.lastBackup == history.lastBackup) { "last ${fresh.state.value.lastBackup}" }
    }

    @Test
    fun `a password slot is added and sealed, a too short one is refused before Keepsake sees it`() = flow {
        backup.addPassword("short")!!.join()
        expect(backup.state.value.message == UserMessages.passwordTooShort(MIN_PASSWORD_CHARS)) { "message ${backup.state.value.message}" }
        expect(vault.saves == 0 && backup.state.value.work == null) { "state ${backup.state.value}" }
        backup.addRecoveryKey()!!.join()
        backup.addPassword("correct horse battery staple")!!.join()
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.RECOVERY_KEY, SlotKind.PASSWORD)) { "vault ${vaultSlots()}" }
        expect(backup.state.value.slots == vaultSlots() && backup.state.value.message?.isError == false) { "state ${backup.state.value}" }
    }

    @Test
    fun `removing a slot revokes it - the rotated keyring is sealed and the message says old backups still open`() = flow {
        backup.enableWithPasskey("Phone")!!.join()
        backup.addRecoveryKey("Paper")!!.join()
        val generation = vault.stored!!.third
        val paper = backup.state.value.slots.single { it.kind == SlotKind.RECOVERY_KEY }
        backup.removeSlot(paper)!!.join()
        val state = backup.state.value
        expect(state.work == null && state.message == UserMessages.revoked(paper)) { "state $state" }
        expect("cannot open backups made from now on" in state.message!!.text && "still open" in state.message!!.text) { "message ${state.message}" }
        expect(vault.stored!!.third == generation + 1) { "sealed generation ${vault.stored!!.third}, was $generation" }
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.PASSKEY) && state.slots == vaultSlots()) { "vault ${vaultSlots()}" }
        // The next backup uses the rotated keyring.
        backup.backUpNow()!!.join()
        expect(engine.inspect(history.lastBackup!!.path).slots.map { it.kind } == listOf(SlotKind.PASSKEY)) { "backup slots" }
        expect(engine.handedOutSecrets.all { s -> s.rootKey().all { it == 0.toByte() } }) { "a root key copy was left unwiped" }
    }

    @Test
    fun `the last slot is not removed - the user is told to add another first`() = flow {
        backup.addRecoveryKey("Paper")!!.join()
        val sealed = vault.stored!!
        val only = backup.state.value.slots.single()
        backup.removeSlot(only)!!.join()
        val state = backup.state.value
        expect(state.message == UserMessages.of(Failure.LAST_SLOT) && state.work == null) { "state $state" }
        expect(vault.stored === sealed && vault.saves == 1) { "the vault changed" }
        expect(state.slots == listOf(only)) { "slots ${state.slots}" }
    }

    @Test
    fun `a rolled-back keyring is refused - backing up says so and writes nothing`() = flow {
        backup.enableWithPasskey()!!.join()
        backup.addRecoveryKey()!!.join()
        val old = vault.stored!!
        backup.removeSlot(backup.state.value.slots.last())!!.join()
        // The sealed generation stays, the keyring bytes go back (older public bytes and root key).
        vault.stored = Triple(old.first, old.second, vault.stored!!.third)
        backup.backUpNow()!!.join()
        expect(backup.state.value.message == UserMessages.of(Failure.KEYRING_ROLLED_BACK)) { "message ${backup.state.value.message}" }
        expect(engine.backups == 0 && history.lastBackup == null) { "a backup was written" }
        val fresh = BackupViewModel(scope, engine, provider, vault, history, { "unused" })
        fresh.load().join()
        expect(fresh.state.value.message == UserMessages.of(Failure.KEYRING_ROLLED_BACK)) { "load ${fresh.state.value}" }
    }

    // --- Restore screen --------------------------------------------------------------------------
    suspend fun Fixture.makeBackup(): String {
        chat.newConversation("Ana")!!.join()
        chat.send("hello")!!.join()
        backup.enableWithPasskey()!!.join()
        backup.addRecoveryKey()!!.join()
        backup.backUpNow()!!.join()
        return history.lastBackup!!.path
    }

    @Test
    fun `picking a damaged file stays on the file choice with the reason`() = flow {
        val bad = File(dir, "bad.keepsake").apply { writeText("not a keyring\n") }
        restore.pickFile(bad.path)!!.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseFile && state.message?.text == UserMessages.of(Failure.CORRUPTED).text) { "state $state" }
    }

    @Test
    fun `picking a backup offers the unlock methods its slots allow`() = flow {
        val path = makeBackup()
        restore.pickFile(path)!!.join()
        val state = restore.state.value as RestoreUiState.ChooseUnlock
        expect(state.canUsePasskey && state.canUseRecoveryKey) { "state $state" }
        expect(state.info.messageCount == 1L) { "info ${state.info}" }
    }

    @Test
    fun `a mistyped recovery key says typo, a wrong one says wrong key, the right one restores`() = flow {
        val path = makeBackup()
        val key = backup.state.value.newRecoveryKey!!
        vault.clear()
        restore.pickFile(path)!!.join()
        restore.unlockWithRecoveryKey("XBCD-EFGH-keyring-1")!!.join()
        var state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message?.text == UserMessages.of(Failure.RECOVERY_KEY_TYPO).text) { "state $state" }
        restore.unlockWithRecoveryKey("ABCD-EFGH-keyring-9")!!.join()
        state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message?.text == UserMessages.of(Failure.WRONG_KEY).text) { "state $state" }
        expect(vault.stored == null) { "a failed unlock stored a keyring" }
        restore.unlockWithRecoveryKey(" ${key.lowercase()} ")!!.join()
        state = restore.state.value
        expect(state == RestoreUiState.Restored(messages = 1, conversations = 1)) { "state $state" }
        expect(vaultSlots().size == 2) { "restored keyring not sealed: ${vaultSlots()}" }
    }

    @Test
    fun `keys from an old key slot are never kept - the chats restore and the phone gets new keys`() = flow {
        val path = makeBackup()
        val key = backup.state.value.newRecoveryKey!!
        vault.clear()
        engine.untrustedKeys = true
        restore.pickFile(path)!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        val state = restore.state.value
        expect(state == RestoreUiState.Restored(messages = 1, conversations = 1, newKeys = true)) { "state $state" }
        expect((state as RestoreUiState.Restored).message.text.contains("set up new backup keys")) { "message ${state.message}" }
        expect(vaultSlots().isEmpty()) { "the backup's keys were kept: ${vaultSlots()}" }
    }

    @Test
    fun `a passkey restore makes one assertion and seals the restored keyring`() = flow {
        val path = makeBackup()
        vault.clear()
        val before = provider.assertions
        restore.pickFile(path)!!.join()
        restore.unlockWithPasskey()!!.join()
        expect(restore.state.value is RestoreUiState.Restored) { "state ${restore.state.value}" }
        expect(provider.assertions == before + 1) { "assertions ${provider.assertions - before}" }
        expect(vault.stored != null) { "keyring not sealed" }
    }

    @Test
    fun `a passkey from another keyring is told apart from a wrong key`() = flow {
        val path = makeBackup()
        provider.credentialId = "someone-else"
        restore.pickFile(path)!!.join()
        restore.unlockWithPasskey()!!.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message?.text == UserMessages.of(Failure.NO_MATCHING_SLOT).text) { "state $state" }
    }

    @Test
    fun `no passkey on the device offers the recovery key, a cancelled sheet is silent`() = flow {
        val path = makeBackup()
        restore.pickFile(path)!!.join()
        provider.nextAssertionFailure = PasskeyResult.NoCredential
        restore.unlockWithPasskey()!!.join()
        var state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message?.offerRecoveryKey == true) { "state $state" }
        provider.nextAssertionFailure = PasskeyResult.Cancelled
        restore.unlockWithPasskey()!!.join()
        state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == null) { "state $state" }
    }

    @Test
    fun `cancelling a restore returns to the unlock choice and stores nothing`() = flow {
        val path = makeBackup()
        val key = backup.state.value.newRecoveryKey!!
        vault.clear()
        restore.pickFile(path)!!.join()
        engine.gate = CompletableDeferred()
        val job = restore.unlockWithRecoveryKey(key)!!
        eventually { (restore.state.value as? RestoreUiState.Restoring)?.progress != null }
        expect(restore.pickFile(path) == null) { "picked a file while restoring" }
        restore.cancel()
        job.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message?.text == "Cancelled.") { "state $state" }
        expect(vault.stored == null) { "cancelled restore stored a keyring" }
    }

    @Test
    fun `a password backup offers the password - a wrong one says so, the right one restores`() = flow {
        chat.newConversation("Ana")!!.join()
        chat.send("hello")!!.join()
        backup.addPassword("correct horse battery staple")!!.join()
        backup.backUpNow()!!.join()
        vault.clear()
        restore.pickFile(history.lastBackup!!.path)!!.join()
        val chosen = restore.state.value as RestoreUiState.ChooseUnlock
        expect(chosen.canUsePassword && !chosen.canUseRecoveryKey && !chosen.canUsePasskey) { "state $chosen" }
        restore.unlockWithPassword("correct horse battery stapler")!!.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.WRONG_PASSWORD)) { "state $state" }
        expect(vault.stored == null) { "a failed unlock stored a keyring" }
        restore.unlockWithPassword("correct horse battery staple")!!.join()
        expect(restore.state.value == RestoreUiState.Restored(messages = 1, conversations = 1)) { "state ${restore.state.value}" }
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.PASSWORD)) { "vault ${vaultSlots()}" }
    }

    @Test
    fun `restoring an older backup keeps the device's newer keyring, so a revoked key stays revoked`() = flow {
        val path = makeBackup()
        val before = File(dir, "before.keepsake").apply { File(path).copyTo(this) }
        val key = backup.state.value.newRecoveryKey!!
        backup.removeSlot(backup.state.value.slots.single { it.kind == SlotKind.RECOVERY_KEY })!!.join()
        val sealed = vault.stored!!
        // The removed key still opens the older backup: the chats come back, the keys stay.
        restore.pickFile(before.path)!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        val state = restore.state.value
        expect(state == RestoreUiState.Restored(messages = 1, conversations = 1, keptDeviceKeyring = true)) { "state $state" }
        expect("stay revoked" in (state as RestoreUiState.Restored).message.text) { "message ${state.message}" }
        expect(vault.stored!!.third == sealed.third && vault.stored!!.second.contentEquals(sealed.second)) { "the vault went back" }
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.PASSKEY)) { "vault ${vaultSlots()}" }
    }

    @Test
    fun `a new device takes the backup's keyring`() = flow {
        val path = makeBackup()
        vault.clear()
        restore.pickFile(path)!!.join()
        restore.unlockWithPasskey()!!.join()
        val state = restore.state.value as RestoreUiState.Restored
        expect(!state.keptDeviceKeyring && "stay revoked" !in state.message.text) { "state $state" }
        expect(vaultSlots().map { it.kind } == listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY)) { "vault ${vaultSlots()}" }
    }

    // --- Chat screen -----------------------------------------------------------------------------
    @Test
    fun `chat - blank input is ignored, sent messages appear in order, the list shows the last one`() = flow {
        expect(chat.newConversation("   ") == null) { "blank conversation created" }
        expect(chat.send("hi") == null) { "sent with no open conversation" }
        chat.newConversation("Team")!!.join()
        expect(chat.send("  ") == null) { "blank message sent" }
        chat.send("first")!!.join()
        chat.send(" second ")!!.join()
        val state = chat.state.value
        expect(state.messages.map { it.text } == listOf("first", "second")) { "messages ${state.messages}" }
        expect(state.conversations.single().lastMessage == "second") { "list ${state.conversations}" }
    }

    @Test
    fun `chat - a store failure becomes a message, not a crash`() = flow {
        chat.newConversation("Team")!!.join()
        engine.conversations.clear()
        chat.send("lost")!!.join()
        expect(chat.state.value.message?.text == UserMessages.of(Failure.DATABASE).text) { "message ${chat.state.value.message}" }
    }

    // --- Demo provider ---------------------------------------------------------------------------
    @Test
    fun `the software authenticator provider passes JSON through and maps its failures`() = flow {
        val seen = mutableListOf<String>()
        val authenticator = object : JsonAuthenticator {
            override fun create(requestJson: String): String {
                seen += requestJson
                return "{\"created\":true}"
            }
            override fun get(requestJson: String): String {
                seen += requestJson
                if (requestJson == "unknown") throw KeepsakeFlowException(Failure.NO_MATCHING_SLOT, "none")
                throw KeepsakeFlowException(Failure.MALFORMED_WEBAUTHN, "bad request")
            }
        }
        val soft = SoftwareAuthenticatorProvider(authenticator)
        expect(soft.register("{\"r\":1}") == PasskeyResult.Success("{\"created\":true}")) { "register" }
        expect(soft.authenticate("unknown") == PasskeyResult.NoCredential) { "no credential" }
        expect(soft.authenticate("x") == PasskeyResult.Failed("bad request")) { "failed" }
        expect(seen == listOf("{\"r\":1}", "unknown", "x")) { "requests $seen" }
    }

    // --- Words -----------------------------------------------------------------------------------
    @Test
    fun `every Keepsake failure has its own message`() = flow {
        val texts = Failure.values().map { UserMessages.of(it).text }
        expect(texts.toSet().size == Failure.values().size) { "duplicates in $texts" }
        expect(UserMessages.of(Failure.PRF_UNSUPPORTED).offerRecoveryKey) { "PRF_UNSUPPORTED must offer the recovery key" }
    }

    @Test
    fun `secrets never print`() = flow {
        val secrets = KeyringSecrets(ByteArray(32) { 0x41 }, ByteArray(3), 2)
        expect(!secrets.toString().contains("AAAA") && !secrets.toString().contains("65")) { secrets.toString() }
        expect(!UnlockSecret.RecoveryKey("ABCD-SECRET").toString().contains("SECRET")) { "recovery key printed" }
        expect(!UnlockSecret.Password("hunter2-SECRET").toString().contains("SECRET")) { "password printed" }
    }

}
