// UI test in demo mode (software authenticator; no iCloud Keychain in the simulator): chat,
// enable backups with a passkey, add a recovery key, back up. Run by ios.yml on a simulator.
import XCTest

final class DemoModeUITests: XCTestCase {
    func testBackUpInDemoMode() {
        let app = XCUIApplication()
        app.launchArguments += ["-keepsakeDemo", "YES"]
        app.launch()

        app.textFields["new-title"].tap()
        app.textFields["new-title"].typeText("Ana")
        app.buttons["create"].tap()
        XCTAssertTrue(app.textFields["draft"].waitForExistence(timeout: 5))
        app.textFields["draft"].tap()
        app.textFields["draft"].typeText("hello from the simulator")
        app.buttons["send"].tap()

        app.tabBars.buttons["Backup"].tap()
        app.buttons["enable-passkey"].tap()
        XCTAssertTrue(app.staticTexts["Backups are protected by your passkey."].waitForExistence(timeout: 10))
        app.buttons["add-recovery-key"].tap()
        XCTAssertTrue(app.staticTexts["recovery-key"].waitForExistence(timeout: 10))
        app.buttons["back-up-now"].tap()
        XCTAssertTrue(app.staticTexts["Backup complete."].waitForExistence(timeout: 30))
        XCTAssertTrue((app.staticTexts["last-backup"].label).contains("1 messages"))
    }
}
