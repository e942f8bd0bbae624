// Keys a user can revoke, from Kotlin: password slot, rotation, revocation, rollback, last slot.
// Run by scripts/test-bindings.sh like every script in this folder:
//   kotlinc -classpath keepsake.jar:jna.jar:kotlinx-coroutines-core-jvm.jar -script KeysTest.kts
import app.keepsake.*
import java.io.File

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

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

val work = java.nio.file.Files.createTempDirectory("keepsake-kotlin-keys").toFile()
val dbPath = File(work, "chat.db").path
val password = "correct horse battery staple"

ChatStore.open(dbPath).use { store ->
    store.upsertConversation(Conversation(id = 1, kind = ConversationKind.DIRECT, createdAt = 1_700_000_000_000))
}

fun backup(keyring: Keyring, name: String, knownGeneration: ULong = 0uL): String {
    val path = File(work, name).path
    ChatStore.open(dbPath).use { store ->
        backupToPath(store, keyring, path, BackupOptions(3, emptyMap(), knownGeneration), null, null)
    }
    return path
}

fun verifies(path: String, secret: BackupSecret): Boolean =
    runCatching { secret.use { verifyBackup(path, it, null, null) } }.isSuccess

test("a password slot round-trips and a wrong password is WrongPassword") {
    Keyring.create().use { keyring ->
        expectError<KeepsakeException.InvalidArgument> { keyring.addPassword("short", "seven77") }
        val slot = keyring.addPassword("Password", password)
        check(slot.kind == SlotKind.PASSWORD) { "kind ${slot.kind}" }
        check(slot.version.toInt() == 2) { "version ${slot.version}" }
        val path = backup(keyring, "password.keepsake")
        check(verifies(path, BackupSecret.password(password))) { "the password does not open the backup" }
        expectError<KeepsakeException.WrongPassword> {
            BackupSecret.password("correct horse battery stapler").use { verifyBackup(path, it, null, null) }
        }
    }
}

test("removing a recovery key rotates: it opens older backups only") {
    Keyring.create().use { keyring ->
        keyring.addPassword("Password", password)
        val revoked = keyring.addRecoveryKey("old paper copy")
        val before = backup(keyring, "before.keepsake")
        val generation = keyring.generation()
        keyring.removeSlot(revoked.slot.id)
        check(keyring.generation() == generation + 1uL) { "generation ${keyring.generation()}" }
        val after = backup(keyring, "after.keepsake", keyring.generation())
        expectError<KeepsakeException.WrongKey> {
            BackupSecret.recoveryKey(revoked.recoveryKey).use { verifyBackup(after, it, null, null) }
        }
        check(verifies(before, BackupSecret.recoveryKey(revoked.recoveryKey))) { "old backup no longer opens" }
        check(verifies(after, BackupSecret.password(password))) { "the remaining slot does not open" }
    }
}

test("a rolled-back keyring is refused, from stored bytes and from an old backup") {
    Keyring.create().use { keyring ->
        val recovery = keyring.addRecoveryKey("paper").recoveryKey
        val oldRoot = keyring.exportRootKey()
        val oldPublic = keyring.publicBytes()
        val old = backup(keyring, "old.keepsake")
        val known = keyring.rotateRootKey()
        check(known == keyring.generation()) { "rotate returned $known" }
        expectError<KeepsakeException.KeyringRolledBack> { Keyring.restoreChecked(oldRoot, oldPublic, known) }
        Keyring.restoreChecked(keyring.exportRootKey(), keyring.publicBytes(), known).use { again ->
            check(again.generation() == known) { "restored generation ${again.generation()}" }
        }
        BackupSecret.recoveryKey(recovery).use { secret ->
            keyringFromBackup(old, secret).use { fromOld ->
                expectError<KeepsakeException.KeyringRolledBack> { fromOld.checkNotRolledBack(known) }
                expectError<KeepsakeException.KeyringRolledBack> { backup(fromOld, "refused.keepsake", known) }
            }
        }
    }
}

test("the last slot stays unless forced, and a keyring without slots writes no backup") {
    Keyring.create().use { keyring ->
        expectError<KeepsakeException.InvalidArgument> { backup(keyring, "empty.keepsake") }
        val only = keyring.addRecoveryKey("only").slot
        expectError<KeepsakeException.LastSlot> { keyring.removeSlot(only.id) }
        keyring.removeSlotForced(only.id)
        check(keyring.slots().isEmpty()) { "slot not removed" }
    }
}

work.deleteRecursively()
println("kotlin: $passed passed, $failed failed")
