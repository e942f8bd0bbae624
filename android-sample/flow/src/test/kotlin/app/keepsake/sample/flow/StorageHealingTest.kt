// JUnit tests of what the user sees when the backup storage lost or damaged data (issue 19): a
// backup that healed it says so with the counts (and offers a repair when older backups are
// damaged), a backup that cannot run says why and what to do (repair, wait, sign in again), the
// repair runs from the Backup screen, and a restore that passed over damaged backups says which
// one it took. Over the test doubles of Fakes.kt.
package app.keepsake.sample.flow

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Test

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

class StorageHealingTest {
    private val fixture = Fixture()

    @After
    fun close() = fixture.close()

    private fun flow(body: suspend Fixture.() -> Unit) = runBlocking { withTimeout(10_000) { fixture.body() } }

    /** A chat with a photo, a recovery key, and one backup with media; returns the key. */
    private suspend fun Fixture.backedUp(): String {
        chat.newConversation("Ana")!!.join()
        chat.send("look")!!.join()
        engine.attachments += FakeAttachment(1, "image/jpeg", 1000)
        backup.addRecoveryKey()!!.join()
        val key = backup.state.value.newRecoveryKey ?: throw AssertionError("no recovery key: ${backup.state.value}")
        backup.backUpWithMedia()!!.join()
        return key
    }

    @Test
    fun `a backup that healed the storage says so with the counts, and is no error`() = flow {
        backedUp()
        engine.nextHealing = StorageHealing(partsLost = 2, partsDamaged = 1, olderBackupsDamaged = 0, storageRolledBack = false)
        backup.backUpWithMedia()!!.join()
        val message = backup.state.value.message ?: throw AssertionError("no message: ${backup.state.value}")
        expect(!message.isError && message.action == null) { "$message" }
        expect(
            message.text.startsWith("Backup complete:") &&
                message.text.endsWith("Your backup storage lost or damaged some data (2 lost, 1 damaged); this backup restored it."),
        ) { message.text }
        expect(history.lastBackup?.media != null) { "recorded ${history.lastBackup}" }
        // Nothing found: nothing said.
        backup.backUpWithMedia()!!.join()
        expect(backup.state.value.message?.text?.contains("storage") == false) { "${backup.state.value.message}" }
    }

    @Test
    fun `damaged older backups and a rolled back storage are told, with a repair to offer`() = flow {
        backedUp()
        engine.nextHealing = StorageHealing(partsLost = 0, partsDamaged = 0, olderBackupsDamaged = 2, storageRolledBack = true)
        backup.backUpWithMedia()!!.join()
        val message = backup.state.value.message!!
        expect(message.action == UserAction.REPAIR_STORAGE) { "$message" }
        expect("2 backups were damaged and can no longer be restored" in message.text) { message.text }
        expect("went back to an older state" in message.text) { message.text }
        engine.damagedBackups = 2
        backup.repairStorage()!!.join()
        expect(engine.calls.last() == "repair") { "calls ${engine.calls}" }
        val repaired = backup.state.value
        expect(repaired.work == null && repaired.message == UserMessages.repaired(StorageRepair(false, 2, 0))) { "$repaired" }
        expect(repaired.message!!.text == "Backup storage repaired. 2 backups that could no longer be restored were removed. Back up now to store everything again.") {
            repaired.message!!.text
        }
        backup.repairStorage()!!.join()
        expect(backup.state.value.message?.text == "Your backup storage is in order.") { "${backup.state.value.message}" }
    }

    @Test
    fun `a backup the storage stops says what to do, and records nothing`() = flow {
        backedUp()
        val recorded = history.lastBackup
        val expected = mapOf(
            Failure.STORAGE_BUSY to UserAction.TRY_AGAIN_LATER,
            Failure.STORAGE_UNAVAILABLE to UserAction.SIGN_IN_AGAIN,
            Failure.STORAGE_DAMAGED to UserAction.REPAIR_STORAGE,
        )
        for ((failure, action) in expected) {
            engine.nextStorageFailure = failure
            backup.backUpWithMedia()!!.join()
            val state = backup.state.value
            expect(state.work == null && state.message == UserMessages.of(failure)) { "$failure: $state" }
            expect(state.message!!.isError && state.message!!.action == action) { "$failure: ${state.message}" }
            expect(history.lastBackup == recorded) { "$failure recorded ${history.lastBackup}" }
        }
        // The repair the damaged storage asked for, then a backup that works.
        backup.repairStorage()!!.join()
        backup.backUpWithMedia()!!.join()
        expect(backup.state.value.message?.isError == false) { "${backup.state.value}" }
    }

    @Test
    fun `a restore that passed over damaged backups says which one it took`() = flow {
        val key = backedUp()
        engine.damagedBackups = 1
        restore.pickRepository()!!.join()
        restore.unlockWithRecoveryKey(key)!!.join()
        val state = restore.state.value as? RestoreUiState.Restored ?: throw AssertionError("${restore.state.value}")
        expect(state.damagedBackupsSkipped == 1 && state.backupTimeEpochSeconds == engine.snapshotTime) { "$state" }
        expect(
            state.message.text.endsWith(
                "1 backup in the backup storage was damaged: this is the newest intact one, from 2025-12-06 05:46 UTC.",
            ),
        ) { state.message.text }
        expect(!state.message.isError) { "${state.message}" }
    }
}
