// Security-review findings checked from Kotlin against the generated bindings, run by
// scripts/test-bindings.sh like every script here:
//   kotlinc -classpath keepsake.jar:jna.jar:kotlinx-coroutines-core-jvm.jar -script ReviewFindingsTest.kts
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

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

val work = java.nio.file.Files.createTempDirectory("keepsake-review").toFile()

test("a new recovery key is never printed by toString") {
    Keyring.create().use { keyring ->
        val added = keyring.addRecoveryKey("Paper")
        val key = added.recoveryKey.reveal()
        check(key.replace("-", "").length == 64) { "revealed key has the wrong length" }
        for (printed in listOf(added.toString(), added.recoveryKey.toString(), "$added")) {
            check(!printed.contains(key) && !printed.contains(key.take(9))) { "printed: $printed" }
        }
        check(added.recoveryKey.toString().contains("redacted")) { "toString: ${added.recoveryKey}" }
        added.recoveryKey.close()
    }
}

test("a progress listener that throws leaves the store and keyring usable") {
    val calls = java.util.concurrent.atomic.AtomicInteger()
    val throwing = object : ProgressListener {
        override fun onProgress(report: ProgressReport) {
            calls.incrementAndGet()
            throw IllegalStateException("listener bug")
        }
    }
    ChatStore.open(File(work, "listener.db").path).use { store ->
        Keyring.create().use { keyring ->
            backupToPath(store, keyring, File(work, "one.keepsake").path, listener = throwing)
            check(calls.get() == 1) { "a listener that threw was called ${calls.get()} times" }
            store.counts()
            keyring.slots()
            backupToPath(store, keyring, File(work, "two.keepsake").path)
            val restored = File(work, "restored.db")
            BackupSecret.deviceKeyring(keyring).use { secret ->
                restoreFromPath(File(work, "two.keepsake").path, secret, restored.path, listener = throwing)
            }
            check(restored.exists()) { "restore did not complete" }
        }
    }
}

test("another keyring's backup opened with the device keyring is WrongKey") {
    ChatStore.open(File(work, "wrong.db").path).use { store ->
        Keyring.create().use { mine ->
            Keyring.create().use { theirs ->
                backupToPath(store, theirs, File(work, "theirs.keepsake").path)
                val error = runCatching {
                    BackupSecret.deviceKeyring(mine).use { verifyBackup(File(work, "theirs.keepsake").path, it) }
                }.exceptionOrNull()
                check(error is KeepsakeException.WrongKey) { "got $error" }
            }
        }
    }
}

work.deleteRecursively()

println("kotlin: $passed passed, $failed failed")
if (failed > 0) kotlin.system.exitProcess(1)
