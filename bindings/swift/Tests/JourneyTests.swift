// The Swift journey against the generated bindings, run by scripts/test-bindings.sh (compiled
// together with Keepsake.swift and the async layer into one test executable).
import Foundation

/// A minimal test runner: counts passes and failures and prints the closing summary line.
final class TestRun {
    var passed = 0
    var failed = 0

    func test(_ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            passed += 1
            print("ok   \(name)")
        } catch {
            failed += 1
            print("FAIL \(name): \(error)")
        }
    }
}

struct CheckFailed: Error, CustomStringConvertible {
    let description: String
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw CheckFailed(description: message()) }
}

@main
struct JourneyTests {
    static func main() async {
        let run = TestRun()

        await run.test("the library loads and reports its version") {
            let version = keepsakeVersion()
            try check(version.split(separator: ".").count >= 3, "version \(version)")
        }

        await run.test("a cancellation flag can be raised from another thread") {
            let flag = Cancellation()
            try check(!flag.isCancelled(), "fresh flag is raised")
            let thread = Thread { flag.cancel() }
            thread.start()
            for _ in 0..<200 where !flag.isCancelled() { try await Task.sleep(nanoseconds: 5_000_000) }
            try check(flag.isCancelled(), "cancel() from another thread was not seen")
        }

        print("swift: \(run.passed) passed, \(run.failed) failed")
        exit(run.failed == 0 ? 0 : 1)
    }
}
