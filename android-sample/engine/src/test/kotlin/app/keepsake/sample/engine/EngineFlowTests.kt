// End-to-end flows on the JVM: the sample's view-models over BindingsBackupEngine (the real
// Keepsake library through the generated bindings), with the software authenticator as the
// passkey provider. JUnit tests, run by scripts/test-mobile-flows.sh (kotlinc + JUnit).
package app.keepsake.sample.engine

import app.keepsake.SoftAuthenticatorMode
import app.keepsake.sample.flow.BackupViewModel
import app.keepsake.sample.flow.BackupUiState
import app.keepsake.sample.flow.ChatViewModel
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.MemoryHistory
import app.keepsake.sample.flow.MemoryVault
import app.keepsake.sample.flow.RestoreUiState
import app.keepsake.sample.flow.RestoreViewModel
import app.keepsake.sample.flow.SlotKind
import app.keepsake.sample.flow.SoftwareAuthenticatorProvider
import app.keepsake.sample.flow.UserMessage
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
private class Device(dir: File, name: String, val scope: CoroutineScope, val engine: BindingsBackupEngine = engineFor(dir, name)) {
    val vault = MemoryVault()
    val history = MemoryHistory()
    val backupFile = File(dir, "$name.keepsake")
    val chat = ChatViewModel(scope, engine)
    fun backup(provider: SoftwareAuthenticatorProvider) = BackupViewModel(scope, engine, provider, vault, history, { backupFile.path })
    fun restore(provider: SoftwareAuthenticatorProvider) = RestoreViewModel(scope, engine, provider, vault)
}

/**
 * The engine of the device [name]: its chat database, media folder and media restore state; the
 * backup repository in the folder "cloud" that every device of [dir] shares (the app's cloud).
 */
internal fun engineFor(dir: File, name: String, mediaOptions: app.keepsake.MediaOptions? = null) = BindingsBackupEngine(
    File(dir, "$name.sqlite").path,
    "keepsake.example",
    mediaDir = File(dir, "$name-media"),
    mediaStateDir = File(dir, "$name-media-state"),
    cacheDir = File(dir, "$name-cache").path,
    mediaOptions = mediaOptions,
    blobStore = { app.keepsake.directoryBlobStore(File(dir, "cloud").path) },
)

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

/** A Backup screen of [device] with its keyring's slots loaded. */
private suspend fun loadedBackup(device: Device): BackupViewModel =
    device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator())).also { it.load().join() }

/** Restores [path] on [device] with [key]; returns the final state. */
private suspend fun restoreWithKey(device: Device, path: String, key: String): RestoreUiState {
    val restore = device.restore(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
    restore.pickFile(path)!!.join()
    restore.unlockWithRecoveryKey(key)!!.join()
    return restore.state.value
}

private fun BackupUiState.slot(kind: SlotKind) = slots.single { it.kind == kind }

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

    @Test
    fun `removing the recovery key revokes it - later backups refuse it, earlier ones still open`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        val key = backedUp(device)
        val before = File(dir, "before.keepsake").apply { device.backupFile.copyTo(this) }
        val generation = device.vault.stored!!.third
        val backup = loadedBackup(device)
        val paper = backup.state.value.slot(SlotKind.RECOVERY_KEY)
        backup.removeSlot(paper)!!.join()
        expect(backup.state.value.message == UserMessages.revoked(paper)) { "state ${backup.state.value}" }
        expect(backup.state.value.slots.map { it.kind } == listOf(SlotKind.PASSKEY)) { "slots ${backup.state.value.slots}" }
        expect(device.vault.stored!!.third == generation + 1) { "sealed generation ${device.vault.stored!!.third}" }
        // The daily backup goes on without a prompt, with the rotated keyring.
        backup.backUpNow()!!.join()
        expect(backup.state.value.message == UserMessage("Backup complete.", isError = false)) { "backup ${backup.state.value}" }

        val fresh = Device(dir, "new", scope)
        var state = restoreWithKey(fresh, device.backupFile.path, key)
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.WRONG_KEY)) { "revoked key: $state" }
        expect(fresh.vault.stored == null) { "a refused key stored a keyring" }
        state = restoreWithKey(fresh, before.path, key)
        expect(state == RestoreUiState.Restored(messages = 2, conversations = 1)) { "older backup: $state" }
    }

    @Test
    fun `the last slot a new phone could use is kept, and nothing changes`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        val backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        backup.addRecoveryKey()!!.join()
        val sealed = device.vault.stored!!
        backup.removeSlot(backup.state.value.slot(SlotKind.RECOVERY_KEY))!!.join()
        expect(backup.state.value.message == UserMessages.of(Failure.LAST_SLOT)) { "state ${backup.state.value}" }
        expect(device.vault.stored === sealed && backup.state.value.slots.size == 1) { "the keyring changed" }
    }

    @Test
    fun `a password slot - a wrong password is told apart, the right one restores on a new phone`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        device.chat.newConversation("Ana")!!.join()
        device.chat.send("hello")!!.join()
        val backup = device.backup(SoftwareAuthenticatorProvider(device.engine.demoAuthenticator()))
        backup.addPassword("correct horse battery staple")!!.join()
        expect(backup.state.value.slots.map { it.kind } == listOf(SlotKind.PASSWORD)) { "state ${backup.state.value}" }
        backup.backUpNow()!!.join()
        val fresh = Device(dir, "new", scope)
        val restore = fresh.restore(SoftwareAuthenticatorProvider(fresh.engine.demoAuthenticator()))
        restore.pickFile(device.backupFile.path)!!.join()
        val chosen = restore.state.value as? RestoreUiState.ChooseUnlock ?: throw AssertionError("${restore.state.value}")
        expect(chosen.canUsePassword && !chosen.canUseRecoveryKey && !chosen.canUsePasskey) { "info ${chosen.info}" }
        restore.unlockWithPassword("Correct horse battery staple")!!.join()
        val state = restore.state.value
        expect(state is RestoreUiState.ChooseUnlock && state.message == UserMessages.of(Failure.WRONG_PASSWORD)) { "wrong password: $state" }
        restore.unlockWithPassword("correct horse battery staple")!!.join()
        expect(restore.state.value == RestoreUiState.Restored(messages = 1, conversations = 1)) { "state ${restore.state.value}" }
        val sealed = fresh.vault.load() ?: throw AssertionError("restored keyring not sealed")
        expect(fresh.engine.slots(sealed).map { it.kind } == listOf(SlotKind.PASSWORD)) { "slots" }
    }

    @Test
    fun `restoring an older backup on the same phone keeps its newer keyring, the revoked key stays revoked`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        val key = backedUp(device)
        val before = File(dir, "before.keepsake").apply { device.backupFile.copyTo(this) }
        val backup = loadedBackup(device)
        backup.removeSlot(backup.state.value.slot(SlotKind.RECOVERY_KEY))!!.join()
        val sealed = device.vault.stored!!
        val state = restoreWithKey(device, before.path, key)
        expect(state == RestoreUiState.Restored(messages = 2, conversations = 1, keptDeviceKeyring = true)) { "state $state" }
        expect(device.vault.stored!!.third == sealed.third && device.vault.stored!!.second.contentEquals(sealed.second)) { "the keyring went back" }
        // The next backup still refuses the removed key.
        val again = loadedBackup(device)
        expect(again.state.value.slots.map { it.kind } == listOf(SlotKind.PASSKEY)) { "slots ${again.state.value.slots}" }
        again.backUpNow()!!.join()
        val refused = restoreWithKey(Device(dir, "new", scope), device.backupFile.path, key)
        expect(refused is RestoreUiState.ChooseUnlock && refused.message == UserMessages.of(Failure.WRONG_KEY)) { "state $refused" }
    }

    @Test
    fun `a rolled-back device keyring writes no backup and says why`() = flow { dir, scope ->
        val device = Device(dir, "device", scope)
        backedUp(device)
        val old = device.vault.stored!!
        val backup = loadedBackup(device)
        backup.removeSlot(backup.state.value.slot(SlotKind.RECOVERY_KEY))!!.join()
        val last = device.history.lastBackup
        val bytes = device.backupFile.readBytes()
        // The keyring's bytes go back to before the removal; the sealed generation does not.
        device.vault.stored = Triple(old.first, old.second, device.vault.stored!!.third)
        backup.backUpNow()!!.join()
        expect(backup.state.value.message == UserMessages.of(Failure.KEYRING_ROLLED_BACK)) { "state ${backup.state.value}" }
        expect(device.history.lastBackup == last && device.backupFile.readBytes().contentEquals(bytes)) { "a backup was written" }
    }
}
