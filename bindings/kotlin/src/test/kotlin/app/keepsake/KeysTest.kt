// Keys a user can revoke, from Kotlin against the generated bindings: the password slot, root-key
// rotation and revocation, rollback protection, the last slot, and a repository following the
// device keyring through an added and a removed slot (Repository.adoptKeyring).
package app.keepsake

import java.io.File
import org.junit.AfterClass
import org.junit.BeforeClass
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

class KeysTest {
    companion object {
        const val PASSWORD = "correct horse battery staple"
        lateinit var work: File
        lateinit var dbPath: String

        @BeforeClass
        @JvmStatic
        fun makeStore() {
            work = tempDir("keepsake-keys")
            dbPath = File(work, "chat.db").path
            seedChats(dbPath)
        }

        @AfterClass
        @JvmStatic
        fun removeDir() {
            work.deleteRecursively()
        }
    }

    /** A backup of the test chats made with [keyring], refused for a keyring below [knownGeneration]. */
    private fun backup(keyring: Keyring, name: String, knownGeneration: Long = 0L): String {
        val path = File(work, name).path
        File(path).delete()
        ChatStore.open(dbPath).use { store ->
            backupToPath(store, keyring, path, BackupOptions(3, emptyMap(), knownGeneration))
        }
        return path
    }

    /** Verifies [path] with [secret] (and releases the secret); the error when it does not open. */
    private fun verifyWith(path: String, secret: BackupSecret): Throwable? =
        runCatching { secret.use { verifyBackup(path, it) } }.exceptionOrNull()

    /** Slot ids as comparable lists (`SlotInfo` holds byte arrays, so its `equals` is by identity). */
    private fun ids(slots: List<SlotInfo>) = slots.map { it.id.toList() }

    private fun Keyring.recoveryKey(label: String): Pair<SlotInfo, String> {
        val added = addRecoveryKey(label)
        return added.slot to added.recoveryKey.use { it.reveal() }
    }

    @Test
    fun aPasswordSlotRoundTripsAndAWrongPasswordIsWrongPassword() {
        Keyring.create().use { keyring ->
            assertFailsWith<KeepsakeException.InvalidArgument> { keyring.addPassword("short", "seven77") }
            assertTrue(keyring.slots().isEmpty(), "a refused password left a slot")
            val slot = keyring.addPassword("Password", PASSWORD)
            assertEquals(SlotKind.PASSWORD, slot.kind)
            assertEquals(3, slot.version.toInt())
            assertEquals(ids(listOf(slot)), ids(keyring.slots()))
            val path = backup(keyring, "password.keepsake")
            assertEquals(null, verifyWith(path, BackupSecret.password(PASSWORD)), "the password does not open the backup")
            assertTrue(verifyWith(path, BackupSecret.password("$PASSWORD!")) is KeepsakeException.WrongPassword)
            // The backup's own slot list says what a new phone can use.
            assertEquals(listOf(SlotKind.PASSWORD), inspectBackup(path).slots.map { it.kind })
        }
    }

    @Test
    fun aRemovedPasswordIsWrongPasswordNeverAPasskeyMessage(): Unit = runBlocking {
        Keyring.create().use { keyring ->
            keyring.recoveryKey("Paper")
            val slot = keyring.addPasswordSlot("Password", PASSWORD)
            val before = backup(keyring, "password-before.keepsake")
            keyring.removeSlot(slot.id)
            val after = backup(keyring, "password-after.keepsake")
            assertEquals(null, verifyWith(before, BackupSecret.password(PASSWORD)), "an older backup still opens")
            val error = verifyWith(after, BackupSecret.password(PASSWORD))
            assertIs<KeepsakeException.WrongPassword>(error, "$error")
            val message = checkNotNull(error.message)
            assertTrue(message.startsWith("Wrong password") && "passkey" !in message, message)
            val restored = File(work, "password-restored.db").path
            val viaFlow = BackupSecret.password(PASSWORD).use { secret ->
                runCatching { restoreFlow(after, secret, restored).result() }.exceptionOrNull()
            }
            assertIs<KeepsakeException.WrongPassword>(viaFlow, "$viaFlow")
        }
    }

    @Test
    fun removingARecoveryKeyRotatesItOpensOlderBackupsOnly() {
        Keyring.create().use { keyring ->
            keyring.addPassword("Password", PASSWORD)
            val (revoked, revokedKey) = keyring.recoveryKey("old paper copy")
            val before = backup(keyring, "before.keepsake")
            val generation = keyring.generation()
            val oldRoot = keyring.exportRootKey()
            val oldPublic = keyring.publicBytes()

            val removed = keyring.removeSlot(revoked.id)
            assertTrue(removed.id.contentEquals(revoked.id), "removed another slot")
            assertEquals(generation + 1, keyring.generation())
            assertEquals(listOf(SlotKind.PASSWORD), keyring.slots().map { it.kind })
            assertTrue(!keyring.exportRootKey().contentEquals(oldRoot), "removal did not rotate the root key")

            val after = backup(keyring, "after.keepsake", keyring.generation())
            assertTrue(verifyWith(after, BackupSecret.recoveryKey(revokedKey)) is KeepsakeException.WrongKey)
            assertEquals(null, verifyWith(before, BackupSecret.recoveryKey(revokedKey)), "the older backup no longer opens")
            assertEquals(null, verifyWith(after, BackupSecret.password(PASSWORD)), "the remaining slot does not open")
            assertEquals(null, verifyWith(after, BackupSecret.deviceKeyring(keyring)), "the rotated device keyring does not open")

            // The device keyring of before the rotation: WrongKey, saying which generation.
            Keyring.restore(oldRoot, oldPublic).use { stale ->
                val error = verifyWith(after, BackupSecret.deviceKeyring(stale))
                assertTrue(error is KeepsakeException.WrongKey, "stale device keyring: $error")
                assertTrue("generation" in error.message.orEmpty(), "detail: ${error.message}")
            }
            oldRoot.fill(0)
        }
    }

    @Test
    fun aRolledBackKeyringIsRefusedFromStoredBytesAndFromAnOldBackup() {
        Keyring.create().use { keyring ->
            val (_, recovery) = keyring.recoveryKey("paper")
            val oldRoot = keyring.exportRootKey()
            val oldPublic = keyring.publicBytes()
            val oldGeneration = keyring.generation()
            val old = backup(keyring, "old.keepsake")
            val known = keyring.rotateRootKey()
            assertEquals(known, keyring.generation())
            assertEquals(oldGeneration + 1, known)

            assertFailsWith<KeepsakeException.KeyringRolledBack> { Keyring.restoreChecked(oldRoot, oldPublic, known) }
            // The old bytes still pass for what they are: the generation sealed with them.
            Keyring.restoreChecked(oldRoot, oldPublic, oldGeneration).use { assertEquals(oldGeneration, it.generation()) }
            Keyring.restoreChecked(keyring.exportRootKey(), keyring.publicBytes(), known).use { again ->
                assertEquals(known, again.generation())
                assertTrue(again.id().contentEquals(keyring.id()))
            }
            assertFailsWith<KeepsakeException.InvalidArgument> { Keyring.restoreChecked(keyring.exportRootKey(), keyring.publicBytes(), -1L) }

            BackupSecret.recoveryKey(recovery).use { secret ->
                keyringFromBackup(old, secret).use { fromOld ->
                    assertEquals(oldGeneration, fromOld.generation())
                    assertFailsWith<KeepsakeException.KeyringRolledBack> { fromOld.checkNotRolledBack(known) }
                    fromOld.checkNotRolledBack(oldGeneration)
                    assertFailsWith<KeepsakeException.KeyringRolledBack> { backup(fromOld, "refused.keepsake", known) }
                    assertTrue(!File(work, "refused.keepsake").exists(), "a refused backup left a file")
                }
            }
            // The current keyring passes the same check.
            backup(keyring, "current.keepsake", known)
            oldRoot.fill(0)
        }
    }

    @Test
    fun theLastSlotStaysUnlessForcedAndAKeyringWithoutSlotsWritesNoBackup() {
        Keyring.create().use { keyring ->
            assertFailsWith<KeepsakeException.InvalidArgument> { backup(keyring, "empty.keepsake") }
            assertTrue(!File(work, "empty.keepsake").exists(), "a refused backup left a file")
            val only = keyring.addRecoveryKey("only").slot
            val generation = keyring.generation()
            assertFailsWith<KeepsakeException.LastSlot> { keyring.removeSlot(only.id) }
            assertEquals(ids(listOf(only)), ids(keyring.slots()))
            assertEquals(generation, keyring.generation(), "a refused removal rotated")
            keyring.removeSlotForced(only.id)
            assertTrue(keyring.slots().isEmpty(), "slot not removed")
            assertFailsWith<KeepsakeException.InvalidArgument> { backup(keyring, "none.keepsake") }
        }
    }

    @Test
    fun theRepositoryFollowsTheDeviceKeyringThroughAnAddedAndARemovedSlot() {
        val store = memoryBlobStore()
        val restored = File(work, "repo-restored.db").path
        val restoredAgain = File(work, "repo-restored-again.db").path
        Keyring.create().use { keyring ->
            val (old, oldKey) = keyring.recoveryKey("old paper copy")
            var newKey = ""
            Repository.create(store, keyring).use { repo ->
                ChatStore.open(dbPath).use { chats -> repo.backup(chats) }
                val firstEpoch = keyring.generation()

                // A slot added: the config takes it, and the new key opens the store from scratch.
                newKey = keyring.recoveryKey("new paper copy").second
                assertEquals(KeyringAdoption.SLOTS_UPDATED, repo.adoptKeyring(keyring))
                assertEquals(KeyringAdoption.UNCHANGED, repo.adoptKeyring(keyring))
                assertEquals(firstEpoch, keyring.generation(), "adding a slot rotated")
                BackupSecret.recoveryKey(newKey).use { secret ->
                    Repository.open(store, secret).use { fresh ->
                        assertEquals(1, fresh.snapshots().size)
                        fresh.restore(restored)
                    }
                }
                assertEquals(readBack(dbPath), readBack(restored))

                // The old slot removed: a rotation, so a new key epoch.
                keyring.removeSlot(old.id)
                assertEquals(firstEpoch + 1, keyring.generation())
                assertEquals(KeyringAdoption.ROTATED, repo.adoptKeyring(keyring))
                assertEquals(KeyringAdoption.UNCHANGED, repo.adoptKeyring(keyring))
                ChatStore.open(dbPath).use { chats -> repo.backup(chats) }
                assertEquals(2, repo.snapshots().size)
            }
            val error = runCatching { BackupSecret.recoveryKey(oldKey).use { Repository.open(store, it) } }.exceptionOrNull()
            assertTrue(error is KeepsakeException.WrongKey, "the removed recovery key: $error")
            // The remaining key and the rotated device keyring open everything, old epoch included.
            for (secret in listOf(BackupSecret.recoveryKey(newKey), BackupSecret.deviceKeyring(keyring))) {
                File(restoredAgain).delete()
                secret.use {
                    Repository.open(store, it).use { fresh ->
                        val snapshots = fresh.snapshots()
                        assertEquals(2, snapshots.size)
                        fresh.restore(restoredAgain, snapshots.first().id)
                    }
                }
                assertEquals(readBack(dbPath), readBack(restoredAgain))
            }
        }
    }
}
