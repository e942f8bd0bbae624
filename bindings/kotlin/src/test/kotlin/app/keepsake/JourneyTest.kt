// The Kotlin journey against the generated bindings: enroll, back up, inspect, restore with a
// passkey and with the recovery key, verify, and every failure typed. One backup is made for the
// whole class (@BeforeClass); each test then restores or inspects it on its own.
package app.keepsake

import java.io.ByteArrayOutputStream
import java.io.File
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.BeforeClass
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

class JourneyTest {
    companion object {
        lateinit var work: File
        lateinit var dbPath: String
        lateinit var backupPath: String
        lateinit var keyring: Keyring
        lateinit var authenticator: SoftAuthenticator
        lateinit var recoveryKey: String
        lateinit var counts: RecordCounts
        lateinit var original: List<Any?>
        lateinit var backupProgress: List<ProgressReport>
        lateinit var backupReport: BackupReport
        val streamed = ByteArrayOutputStream()

        @BeforeClass
        @JvmStatic
        fun makeBackup(): Unit = runBlocking {
            work = tempDir("keepsake-journey")
            dbPath = File(work, "chat.db").path
            backupPath = File(work, "chat.keepsake").path
            counts = seedChats(dbPath)
            original = readBack(dbPath)
            keyring = Keyring.create()
            authenticator = SoftAuthenticator(SoftAuthenticatorMode.PRF_ENABLED_WITHOUT_RESULTS)
            PasskeyEnrollment(keyring, RP, "Keepsake Chat", byteArrayOf(1, 2, 3), "alice", "Alice", "Pixel passkey").use { e ->
                val outcome = e.finishRegistrationJson(authenticator.createJson(e.registrationRequestJson()))
                assertIs<EnrollmentOutcome.NeedsAssertion>(outcome)
                e.finishAssertionJson(authenticator.getJson(outcome.requestJson))
            }
            recoveryKey = keyring.addRecoveryKey("Paper copy").recoveryKey.reveal()
            val reports = mutableListOf<ProgressReport>()
            backupReport = ChatStore.open(dbPath).use { store -> store.backupFlow(keyring, backupPath).result { reports += it } }
            backupProgress = reports
            ChatStore.open(dbPath).use { store -> store.backupFlow(keyring, streamed).result() }
            Unit
        }
    }

    @Test
    fun `the library loads and reports its version`() {
        assertTrue(keepsakeVersion().matches(Regex("""\d+\.\d+\.\d+.*""")), keepsakeVersion())
    }

    @Test
    fun `a cancellation flag can be raised from another thread`() {
        Cancellation().use { flag ->
            assertFalse(flag.isCancelled())
            Thread { flag.cancel() }.apply { start(); join() }
            assertTrue(flag.isCancelled())
        }
    }

    @Test
    fun `the store holds what was written, newest first`() {
        assertEquals(2L, counts.conversations)
        assertEquals(75L, counts.messages)
        assertEquals(2L, counts.participants)
        ChatStore.open(dbPath).use { store ->
            assertEquals(2_044L, store.timeline(2, null, 10).messages.first().id)
            assertFailsWith<KeepsakeException.InvalidArgument> { store.timeline(2, null, -1) }
        }
    }

    @Test
    fun `both slots are on the keyring and the recovery key normalizes`() {
        assertEquals(64, recoveryKey.replace("-", "").length)
        assertEquals(recoveryKey, normalizeRecoveryKey(recoveryKey.lowercase().replace("-", " ")))
        assertEquals(listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY), keyring.slots().map { it.kind })
        val passkey = keyring.slots().first()
        assertEquals("Pixel passkey", passkey.label)
        assertEquals(RP, passkey.rpId)
    }

    @Test
    fun `the device keyring survives sealing, and altered public bytes are Corrupted`() {
        Keyring.restore(keyring.exportRootKey(), keyring.publicBytes()).use { again ->
            assertContentEquals(keyring.id(), again.id())
            assertEquals(2, again.slots().size)
        }
        val tampered = keyring.publicBytes().also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() }
        assertFailsWith<KeepsakeException.Corrupted> { Keyring.restore(keyring.exportRootKey(), tampered) }
    }

    @Test
    fun `a backup reports its size and counts, with progress that ends complete`() {
        assertEquals(counts, backupReport.counts)
        assertEquals(File(backupPath).length(), backupReport.containerBytes)
        assertEquals(streamed.size().toLong(), backupReport.containerBytes)
        assertTrue(backupProgress.isNotEmpty() && backupProgress.all { it.phase == ProgressPhase.BACKUP }, "$backupProgress")
        assertEquals(backupProgress.last().total, backupProgress.last().done)
    }

    @Test
    fun `inspect reads the public header without a secret`() = runBlocking {
        val info = inspect(backupPath)
        assertContentEquals(keyring.id(), info.keyringId)
        assertEquals(counts, info.declaredCounts)
        assertEquals(listOf(SlotKind.PASSKEY, SlotKind.RECOVERY_KEY), info.slots.map { it.kind })
        assertEquals(PayloadKind.CHAT_ARCHIVE, info.payloadKind)
        assertEquals(File(backupPath).length(), info.fileBytes)
        val fromStream = inspectBackupSource(InputStreamSource(streamed.toByteArray().inputStream()))
        assertContentEquals(keyring.id(), fromStream.keyringId)
    }

    @Test
    fun `a passkey restore brings back everything, with progress that never goes back`() = runBlocking {
        val target = File(work, "restored-passkey.db").path
        val secret = PasskeyUnlock.forBackupFile(backupPath, RP, true).use { unlock ->
            unlock.finishJson(authenticator.getJson(unlock.requestJson()))
        }
        val reports = mutableListOf<ProgressReport>()
        val report = secret.use { restoreFlow(backupPath, it, target).result { p -> reports += p } }
        assertEquals(counts, report.counts)
        assertEquals(original, readBack(target))
        assertTrue(reports.isNotEmpty())
        reports.zipWithNext().forEach { (a, b) -> assertTrue(b.done >= a.done, "progress went back: $a then $b") }
    }

    @Test
    fun `a restore from a download stream with the recovery key brings back everything`() = runBlocking {
        val target = File(work, "restored-recovery.db").path
        val report = BackupSecret.recoveryKey(recoveryKey).use { secret ->
            restoreFlow(streamed.toByteArray().inputStream(), secret, target).result()
        }
        assertEquals(counts, report.counts)
        assertEquals(original, readBack(target))
        BackupSecret.recoveryKey(recoveryKey).use { secret ->
            keyringFromBackup(backupPath, secret).use { k -> assertContentEquals(keyring.id(), k.id()) }
        }
    }

    @Test
    fun `the device keyring verifies its own backup`() = runBlocking {
        val report = BackupSecret.deviceKeyring(keyring).use { secret -> keepsakeIo { verifyBackup(backupPath, secret, null, it) } }
        assertEquals(counts, report.counts)
    }

    @Test
    fun `a wrong recovery key is WrongKey, with a readable message, and creates nothing`() {
        val target = File(work, "wrong.db")
        val other = Keyring.create().use { it.addRecoveryKey("other").recoveryKey.reveal() }
        val e = assertFailsWith<KeepsakeException.WrongKey> {
            BackupSecret.recoveryKey(other).use { restoreFromPath(backupPath, it, target.path, false, null, null) }
        }
        assertFalse(target.exists())
        val message = e.message.orEmpty()
        assertFalse("detail=" in message, message)
        assertTrue(message.first().isUpperCase() && message.endsWith("."), message)
    }

    @Test
    fun `a recovery-key typo is RecoveryKeyTypo, not WrongKey`() {
        val chars = recoveryKey.toCharArray()
        val i = chars.indexOfFirst { it != '-' }
        chars[i] = if (chars[i] == 'A') 'B' else 'A'
        val e = assertFailsWith<KeepsakeException.RecoveryKeyTypo> { BackupSecret.recoveryKey(String(chars)) }
        assertEquals(e.detail, e.message)
    }

    @Test
    fun `a provider without PRF is PrfUnsupported and nothing is enrolled`() {
        val noPrf = SoftAuthenticator(SoftAuthenticatorMode.NO_PRF)
        Keyring.create().use { fresh ->
            PasskeyEnrollment(fresh, RP, "Keepsake Chat", byteArrayOf(9), "alice", "Alice", "No PRF").use { e ->
                assertFailsWith<KeepsakeException.PrfUnsupported> { e.finishRegistrationJson(noPrf.createJson(e.registrationRequestJson())) }
            }
            assertEquals(0, fresh.slots().size)
        }
    }

    @Test
    fun `a tampered backup is Corrupted and leaves nothing behind`() {
        val bytes = File(backupPath).readBytes()
        // "keepsake.count..." -> "keepsake.cOunt...": the header MAC catches it once a slot opens.
        val at = String(bytes, Charsets.ISO_8859_1).indexOf("keepsake.count.")
        assertTrue(at > 0)
        bytes[at + 10] = (bytes[at + 10].toInt() xor 0x20).toByte()
        val tampered = File(work, "tampered.keepsake").apply { writeBytes(bytes) }
        val target = File(work, "tampered.db")
        assertFailsWith<KeepsakeException.Corrupted> {
            BackupSecret.recoveryKey(recoveryKey).use { restoreFromPath(tampered.path, it, target.path, false, null, null) }
        }
        assertFalse(target.exists())
    }

    @Test
    fun `a restore cancelled mid-way is Cancelled and leaves nothing behind`() {
        val dir = tempDir("keepsake-cancel")
        val target = File(dir, "cancelled.db")
        val e = runCatching {
            BackupSecret.recoveryKey(recoveryKey).use { secret ->
                Cancellation().use { flag -> restoreFromPath(backupPath, secret, target.path, false, progressListener { flag.cancel() }, flag) }
            }
        }.exceptionOrNull()
        assertIs<KeepsakeException.Cancelled>(e)
        assertEquals(emptyList(), dir.list()!!.toList())
    }

    @Test
    fun `cancelling the collecting coroutine cancels the Rust work`() = runBlocking {
        val target = File(work, "coroutine-cancel.db")
        // A slow download: 64 bytes per read, 10 ms each, so the restore is still running when cancelled.
        val slow = object : java.io.InputStream() {
            val bytes = streamed.toByteArray().inputStream()
            override fun read(): Int = bytes.read()
            override fun read(b: ByteArray, off: Int, len: Int): Int { Thread.sleep(10); return bytes.read(b, off, minOf(len, 64)) }
        }
        val job = launch { restoreFlow(slow, BackupSecret.deviceKeyring(keyring), target.path).collect {} }
        delay(50)
        job.cancel()
        job.join()
        assertTrue(job.isCancelled)
        assertFalse(target.exists())
    }

    @Test
    fun `a closed database fails with InvalidArgument`() {
        ChatStore.open(File(work, "closed.db").path).use { store ->
            store.closeDatabase()
            assertFailsWith<KeepsakeException.InvalidArgument> { store.counts() }
        }
    }

    @Test
    fun `log records reach the app's logger`() {
        val records = java.util.concurrent.CopyOnWriteArrayList<String>()
        installLogger(LogLevel.INFO) { level, target, message -> records += "$level $target $message" }
        assertTrue(records.any { it.contains("logging at") }, "$records")
    }
}
