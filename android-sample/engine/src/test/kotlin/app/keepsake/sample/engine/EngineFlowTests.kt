// End-to-end flows on the JVM: the sample's view-models over BindingsBackupEngine (the real
// Keepsake library through the generated bindings), with the software authenticator as the
// passkey provider. JUnit tests, run by scripts/test-mobile-flows.sh (kotlinc + JUnit).
package app.keepsake.sample.engine

import app.keepsake.SoftAuthenticatorMode
import app.keepsake.sample.flow.BackupViewModel
import app.keepsake.sample.flow.ChatViewModel
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.MemoryHistory
import app.keepsake.sample.flow.MemoryVault
import app.keepsake.sample.flow.RestoreUiState
import app.keepsake.sample.flow.RestoreViewModel
import app.keepsake.sample.flow.SlotKind
import app.keepsake.sample.flow.SoftwareAuthenticatorProvider
import app.keepsake.sample.flow.UserMessages
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.File
import org.junit.After
import org.junit.Test
import java.nio.file.Files

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

/** One "device": its own chat database, vault, history and view-models. */
private class Device(dir: File, name: String, val scope: CoroutineScope, val engine: BindingsBackupEngine = BindingsBackupEngine(File(dir, "$name.sqlite").path, "keepsake.example")) {
    val vault = MemoryVault()
    val history = MemoryHistory()
    val backupFile = File(dir, "$name.keepsake")
    val chat = ChatViewModel(scope, engine)
    fun backup(provider: SoftwareAuthenticatorProvider) = BackupViewModel(scope, engine, provider, vault, history, { backupFile.path })
    fun restore(provider: SoftwareAuthenticatorProvider) = RestoreViewModel(scope, engine, provider, vault)
}

/** Chats on [device], a passkey and a recovery key, one backup; returns the recovery key. */
private suspend fun backedUp(device: Device): String {
    device.chat.newConversation("Ana")!!.join()
    device.chat.send("hello")!!.join()
    device.chat.send("how are you?")!!.join()
    val provider = SoftwareAuthenticatorProvider(device.engine.demoAuthenticator())
    val backup = device.backup(provider)
    backup.enableWithPasskey("Phone")!!.join()
    expect(backup.state.value.slots.map { it.kind } == listOf(SlotKind.PASSKEY)) { "after passkey: ${backup.state.value}" }
    backup.addRecoveryKey()!!.join()
    val key = backup.state.value.newRecoveryKey ?: throw AssertionError("no recovery key: ${backup.state.value}")
    backup.backUpNow()!!.join()
    val last = backup.state.value.lastBackup ?: throw AssertionError("no backup: ${backup.state.value}")
    expect(last.messages == 2L && device.backupFile.length() == last.bytes) { "last backup $last, file ${device.backupFile.length()}" }
    return key
}

/** Each test gets a fresh folder and scope, and a minute. */
class EngineFlowTest {
    private val dir: File = Files.createTempDirectory("keepsake-engine").toFile()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    @After
    fun close() {
        scope.cancel()
        dir.deleteRecursively()
    }

    private fun flow(body: suspend (File, CoroutineScope) -> Unit) = runBlocking { withTimeout(60_000) { body(dir, scope) } }

    @Test
    fun `a new device restores the chats with the synced passkey and keeps the keyring`() = flow { dir, scope ->
        val old = Device(dir, "old", scope)
        backedUp(old)
        val fresh = Device(dir, "new", scope)
        // The passkey synced through the password manager: the same software authenticator.
        val restore = fresh.restore(SoftwareAuthenticatorProvider(old.engine.demoAuthenticator()))
        restore.pickFile(old.backupFile.path)!!.join()
        val chosen = restore.state.value as? RestoreUiState.ChooseUnlock ?: throw AssertionError("${restore.state.value}")
        expect(chosen.canUsePasskey && chosen.canUseRecoveryKey && chosen.info.messageCount == 2L) { "info ${chosen.info}" }
        restore.unlockWithPasskey()!!.join()
        expect(restore.state.value == RestoreUiState.Restored(messages = 2, conversations = 1)) { "state ${restore.state.value}" }
        fresh.chat.refresh().join()
        fresh.chat.open("1").join()
        expect(fresh.chat.state.value.messages.map { it.text } == listOf("hello", "how are you?")) { "chat ${fresh.chat.state.value}" }
        val sealed = fresh.vault.load() ?: throw AssertionError("restored keyring not sealed")
        expect(fresh.engine.slots(sealed).map { it.kind } == listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY)) { "slots" }
    }

    @Test
    fun `the recovery key restores, a typo and a wrong key are told apart and change nothing`() = flow { dir, scope ->
        val old = Device(dir, "old", scope)
        val key = backedUp(old)
        val other = Device(dir, "other", scope)
        val otherKey = backedUp(other)
        val fresh = Device(dir, "new", scope)
        val restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        restore.pickFile(old.backupFile.path)!!.join()
        val typo = key.replaceRange(0, 1, if (key[0] == 'A') "B" else "A")
        restore.unlockWithRecoveryKey(typo)!!.join()
        var state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.RECOVERY_KEY_TYPO)) { "typo: $state" }
        restore.unlockWithRecoveryKey(otherKey)!!.join()
        state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.WRONG_KEY)) { "wrong key: $state" }
        expect(fresh.vault.stored == null && fresh.engine.conversations().isEmpty()) { "a failed unlock changed the device" }
        restore.unlockWithRecoveryKey(key.lowercase().replace("-", " "))!!.join()
        expect(restore.state.value == RestoreUiState.Restored(messages = 2, conversations = 1)) { "state ${restore.state.value}" }
    }

    @Test
    fun `a passkey provider without PRF enrolls nothing and offers the recovery key`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        device.engine.setDemoMode(SoftAuthenticatorMode.NO_PRF)
        val backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        backup.enableWithPasskey()!!.join()
        expect(backup.state.value.message == UserMessages.of(Failure.PRF_UNSUPPORTED)) { "state ${backup.state.value}" }
        expect(device.vault.stored == null && backup.state.value.slots.isEmpty()) { "enrolled without PRF" }
    }

    @Test
    fun `PRF enabled without output at registration - one assertion completes the enrollment`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        device.engine.setDemoMode(SoftAuthenticatorMode.PRF_ENABLED_WITHOUT_RESULTS)
        val backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        backup.enableWithPasskey()!!.join()
        expect(backup.state.value.slots.map { it.kind } == listOf(SlotKind.PASSKEY)) { "state ${backup.state.value}" }
    }

    @Test
    fun `a modified backup is refused before anything is restored`() = flow { dir, scope ->
        val old = Device(dir, "old", scope)
        val key = backedUp(old)
        val bytes = old.backupFile.readBytes()
        // A small backup is one short segment: docs/FORMAT.md reports damage there as Truncated
        // ("ends early or its final bytes are damaged"), since AES-GCM cannot tell the two apart.
        bytes[bytes.size - 40] = (bytes[bytes.size - 40].toInt() xor 1).toByte()
        val tampered = File(dir, "tampered.keepsake").apply { writeBytes(bytes) }
        val fresh = Device(dir, "new", scope)
        val restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        restore.pickFile(tampered.path)!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.TRUNCATED)) { "state $state" }
        expect(fresh.vault.stored == null && fresh.engine.conversations().isEmpty()) { "a refused restore changed the device" }
    }

}
