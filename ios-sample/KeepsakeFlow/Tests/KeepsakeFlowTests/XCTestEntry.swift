// `swift test` entry on macOS (ios.yml): runs the same flow tests under XCTest.
#if canImport(XCTest)
import XCTest

final class FlowTests: XCTestCase {
    @MainActor
    func testFlows() async {
        let failures = await runFlowTests()
        XCTAssertEqual(failures, 0, "see the FAIL lines above")
    }
}
#endif
