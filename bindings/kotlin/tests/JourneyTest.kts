// The Kotlin journey against the generated bindings, run by scripts/test-bindings.sh:
//   kotlinc -classpath keepsake.jar:jna.jar:kotlinx-coroutines-core-jvm.jar -script JourneyTest.kts
import app.keepsake.*

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

println("kotlin: $passed passed, $failed failed")
if (failed > 0) kotlin.system.exitProcess(1)
