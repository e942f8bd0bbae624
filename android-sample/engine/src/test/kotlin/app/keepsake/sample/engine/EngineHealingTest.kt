// What the user sees when the backup storage lost or damaged data (issue 19), over the real
// library: the sample's view-models over BindingsBackupEngine with the repository in a folder
// shared by the "phones" of a test (their cloud), wrapped in a store that keeps the last lock a
// writer created. JUnit tests, run by scripts/test-mobile-flows.sh (kotlinc + JUnit).
package app.keepsake.sample.engine

import app.keepsake.BackupSecret
import app.keepsake.BlobStore
import app.keepsake.Repository
import app.keepsake.directoryBlobStore
import app.keepsake.sample.flow.BackupViewModel
import app.keepsake.sample.flow.ChatViewModel
import app.keepsake.sample.flow.MemoryHistory
import app.keepsake.sample.flow.MemoryVault
import app.keepsake.sample.flow.RestoreUiState
import app.keepsake.sample.flow.RestoreViewModel
import app.keepsake.sample.flow.SoftwareAuthenticatorProvider
import app.keepsake.sample.flow.Failure
import app.keepsake.sample.flow.UserAction
import app.keepsake.sample.flow.UserMessages
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Test
import java.io.File
import java.nio.file.Files

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

/** The cloud of a test, keeping a copy of the last lock a writer created (put back, it is a live lock of this process). */
private class Cloud(val folder: File, private val inner: BlobStore = directoryBlobStore(folder.path)) : BlobStore by inner {
    @Volatile var lastLock: Pair<String, ByteArray>? = null

    override fun create(name: String, data: ByteArray): Boolean {
        if (name.startsWith("locks/")) lastLock = name to data.copyOf()
        return inner.create(name, data)
    }
}

/** A phone over [cloud]: its engine (own database and media), vault and view-models. */
private class HealingPhone(dir: File, name: String, scope: CoroutineScope, cloud: Cloud) {
    val engine = BindingsBackupEngine(
        File(dir, "$name.sqlite").path,
        "keepsake.example",
        mediaDir = File(dir, "$name-media"),
        mediaStateDir = File(dir, "$name-media-state"),
        cacheDir = File(dir, "$name-cache").path,
        blobStore = { cloud },
    )
    val vault = MemoryVault()
    val history = MemoryHistory()
    val chat = ChatViewModel(scope, engine)
    val backup = BackupViewModel(scope, engine, SoftwareAuthenticatorProvider(engine.demoAuthenticator()), vault, history, { File(dir, "$name.keepsake").path })
    val restore = RestoreViewModel(scope, engine, SoftwareAuthenticatorProvider(engine.demoAuthenticator()), vault)
}

class EngineHealingTest {
    private val dir: File = Files.createTempDirectory("keepsake-healing").toFile()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val cloud = Cloud(File(dir, "cloud"))

    @After
    fun close() {
        scope.cancel()
        dir.deleteRecursively()
    }

    private fun flow(body: suspend () -> Unit) = runBlocking { withTimeout(90_000) { body() } }

    /** Chats on [phone], a recovery key and one backup into the storage; returns the key. */
    private suspend fun backedUp(phone: HealingPhone, messages: Int = 3): String {
        phone.chat.newConversation("Ana")!!.join()
        repeat(messages) { phone.chat.send("message $it")!!.join() }
        phone.backup.addRecoveryKey()!!.join()
        val key = phone.backup.state.value.newRecoveryKey ?: throw AssertionError("no recovery key ${phone.backup.state.value}")
        phone.backup.backUpWithMedia()!!.join()
        expect(phone.backup.state.value.message?.isError == false) { "first backup ${phone.backup.state.value}" }
        return key
    }

    private suspend fun restoredOn(phone: HealingPhone, key: String): RestoreUiState.Restored {
        phone.restore.pickRepository()!!.join()
        phone.restore.unlockWithRecoveryKey(key)!!.join()
        return phone.restore.state.value as? RestoreUiState.Restored ?: throw AssertionError("${phone.restore.state.value}")
    }

    @Test
    fun `a backup over a storage that lost a pack heals it and says so, and a new phone restores it`() = flow {
        val old = HealingPhone(dir, "old", scope, cloud)
        val key = backedUp(old)
        File(cloud.folder, "data").listFiles()!!.filter { !it.name.startsWith(".") }.minBy { it.name }.delete()
        old.chat.send("after the loss")!!.join()
        old.backup.backUpWithMedia()!!.join()
        val message = old.backup.state.value.message ?: throw AssertionError("no message ${old.backup.state.value}")
        expect(!message.isError && "Your backup storage lost or damaged some data (1 lost" in message.text) { "$message" }

        val fresh = HealingPhone(dir, "new", scope, cloud)
        val restored = restoredOn(fresh, key)
        expect(restored.messages == 4L && restored.damagedBackupsSkipped == 0) { "$restored" }
    }

    @Test
    fun `a damaged newest backup is passed over on restore and the repair removes it`() = flow {
        val old = HealingPhone(dir, "old", scope, cloud)
        val key = backedUp(old)
        old.chat.send("one more")!!.join()
        old.backup.backUpWithMedia()!!.join()
        val newest = BackupSecret.recoveryKey(key).use { secret ->
            Repository.open(directoryBlobStore(cloud.folder.path), secret).use { it.history().snapshots.last() }
        }
        val damaged = File(cloud.folder, "snapshots/${newest.id}")
        damaged.writeBytes(damaged.readBytes().also { it[20] = (it[20].toInt() xor 0x04).toByte() })

        val fresh = HealingPhone(dir, "new", scope, cloud)
        val restored = restoredOn(fresh, key)
        expect(restored.messages == 3L && restored.damagedBackupsSkipped == 1) { "$restored" }
        expect("1 backup in the backup storage was damaged: this is the newest intact one, from " in restored.message.text) { restored.message.text }

        // The repair, from the new phone's Backup screen (it keeps the keyring it restored).
        fresh.backup.repairStorage()!!.join()
        expect(fresh.backup.state.value.message?.text == "Backup storage repaired. 1 backup that could no longer be restored was removed. Back up now to store everything again.") {
            "${fresh.backup.state.value.message}"
        }
        expect(!damaged.exists()) { "the damaged snapshot is still there" }
        fresh.backup.repairStorage()!!.join()
        expect(fresh.backup.state.value.message?.text == "Your backup storage is in order.") { "${fresh.backup.state.value.message}" }
    }

    @Test
    fun `a lock a live writer holds makes the backup wait, with the action to try again later`() = flow {
        val old = HealingPhone(dir, "old", scope, cloud)
        backedUp(old)
        val (name, bytes) = cloud.lastLock ?: throw AssertionError("no lock was taken")
        cloud.put(name, bytes)
        old.backup.backUpWithMedia()!!.join()
        val message = old.backup.state.value.message
        expect(message == UserMessages.of(Failure.STORAGE_BUSY) && message?.action == UserAction.TRY_AGAIN_LATER) { "$message" }
    }
}
