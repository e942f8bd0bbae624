// Entry point of the Linux test run (scripts/test-mobile-flows.sh), where XCTest is not used.
import Foundation

let failures = await runFlowTests()
exit(failures == 0 ? 0 : 1)
