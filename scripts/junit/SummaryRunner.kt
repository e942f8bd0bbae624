// The JUnit runner of scripts/test-bindings.sh and scripts/test-mobile-flows.sh (tooling, not a
// test): runs the JUnit 4 classes named on the command line, as JUnitCore does, and prints one
// line per test plus "<label>: N passed, M failed, K skipped" for the scripts to check.
// Usage: java -cp ... app.keepsake.junit.SummaryRunnerKt <label> <class>...
package app.keepsake.junit

import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    val label = args.first()
    val classes = args.drop(1).map { Class.forName(it) }
    var failed = 0
    var skipped = 0
    val core = JUnitCore()
    core.addListener(object : RunListener() {
        private val bad = mutableSetOf<Description>()
        override fun testFailure(failure: Failure) {
            bad += failure.description
            failed++
            println("FAIL ${failure.description.className}.${failure.description.methodName}: ${failure.message}")
            println(failure.trace)
        }
        override fun testAssumptionFailure(failure: Failure) {
            bad += failure.description
            skipped++
            println("SKIP ${failure.description.className}.${failure.description.methodName}: ${failure.message}")
        }
        override fun testFinished(description: Description) {
            if (description !in bad) println("ok   ${description.className}.${description.methodName}")
        }
    })
    val result = core.run(*classes.toTypedArray())
    val passed = result.runCount - failed - skipped
    println("$label: $passed passed, $failed failed, $skipped skipped")
    exitProcess(if (result.wasSuccessful() && result.runCount > 0) 0 else 1)
}
