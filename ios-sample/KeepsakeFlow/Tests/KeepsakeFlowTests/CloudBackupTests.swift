// The storage part of the Backup and Restore screens: where the backup lives, what it uses, what
// to do when the storage is full or the account is signed out, and a new phone finding its backup
// before the passkey unlock.
import Foundation
@testable import KeepsakeFlow
import XCTest

/// An account as the app's CloudKit glue answers, scripted.
private final class ScriptedAccount: CloudAccount, @unchecked Sendable {
    var signedIn: BackupPlace?
    var signInGives: BackupPlace?
    var usageAnswer = CloudUsage(backupBytes: 0)
    var repository = false
    var failure: Error?
    var signIns = 0

    init(signedIn: BackupPlace? = nil, signInGives: BackupPlace? = nil, usage: CloudUsage = CloudUsage(backupBytes: 0),
         repository: Bool = false) {
        self.signedIn = signedIn
        self.signInGives = signInGives
        usageAnswer = usage
        self.repository = repository
    }

    private func check() throws { if let failure { throw failure } }
    func place() async throws -> BackupPlace? { try check(); return signedIn }
    func signIn() async throws -> BackupPlace? {
        signIns += 1
        try check()
        signedIn = signInGives
        return signInGives
    }
    func usage() async throws -> CloudUsage { try check(); return usageAnswer }
    func hasRepository() async throws -> Bool { try check(); return repository }
}

@MainActor
final class CloudBackupTests: XCTestCase {
    func testTheBackupScreenSaysWhereTheBackupLivesAndWhatItUses() async {
        let model = CloudBackupViewModel(account: ScriptedAccount(
            signedIn: .iCloud, usage: CloudUsage(backupBytes: 5 << 20, accountFreeBytes: 2 << 30)))
        await model.load()
        XCTAssertEqual(model.state.whereLine, "Backups are kept in your iCloud.")
        XCTAssertEqual(model.state.usageLine, "Backups use 5.0 MB, 2.0 GB free in the account.")
        XCTAssertNil(model.state.message)
        XCTAssertEqual(CloudMessages.where(.googleDrive(account: "ada@example.com")),
                       "Backups are kept in the Google Drive of ada@example.com, in a hidden app folder.")
    }

    func testSignedOutTheScreenOffersTheSignIn() async {
        let account = ScriptedAccount(signInGives: .iCloud, usage: CloudUsage(backupBytes: 1024))
        let model = CloudBackupViewModel(account: account)
        await model.load()
        XCTAssertEqual(model.state.whereLine, CloudMessages.notSignedIn)
        XCTAssertEqual(model.state.action, .signIn)
        await model.signIn()
        XCTAssertEqual(model.state.place, .iCloud)
        XCTAssertEqual(model.state.usageLine, "Backups use 1.0 KB.")
        XCTAssertNil(model.state.action)
    }

    func testAFullStorageOrALostAccountSaysWhereToAct() async {
        let model = CloudBackupViewModel(account: ScriptedAccount(signedIn: .iCloud))
        await model.load()
        model.explain(UserMessage.of(.storageFull))
        XCTAssertEqual(model.state.action, .manageStorage)
        XCTAssertTrue(model.state.message!.text.contains("Manage Account Storage"), model.state.message!.text)
        model.explain(UserMessage.of(.signInRequired))
        XCTAssertEqual(model.state.action, .signIn)
        XCTAssertEqual(model.state.message?.text, "iCloud is not available. Sign in to iCloud in Settings to keep backing up.")
        model.explain(.storageUnavailable)
        XCTAssertEqual(model.state.action, .tryLater)
        XCTAssertEqual(model.state.message?.text,
                       "iCloud could not be reached. Your chats are safe on this phone; the backup will be tried again later.")
        model.explain(UserMessage.of(.wrongKey))
        XCTAssertEqual(model.state.action, .tryLater, "not a storage failure: left alone")
        XCTAssertNil(CloudMessages.advice(.iCloud, .corrupted))
    }

    func testEveryStorageFailureHasItsOwnWords() async {
        let failures: [Failure] = [.storageFull, .signInRequired, .storageUnavailable]
        XCTAssertEqual(Set(failures.map { UserMessage.of($0).text }).count, 3)
        XCTAssertEqual(failures.map { CloudMessages.storageFailure(UserMessage.of($0)) }, failures)
        XCTAssertNil(CloudMessages.storageFailure(UserMessage.of(.io)))
    }

    func testANewPhoneSignsInFindsTheRepositoryAndOffersThePasskeyUnlock() async {
        let account = ScriptedAccount(signInGives: .iCloud, usage: CloudUsage(backupBytes: 3 << 20), repository: true)
        let model = CloudBackupViewModel(account: account)
        await model.findBackup()
        XCTAssertEqual(account.signIns, 1)
        XCTAssertEqual(model.state.newPhone, .found)
        XCTAssertEqual(model.state.action, .unlock)
        XCTAssertEqual(model.state.message?.text, "A backup was found in iCloud. Unlock it with your passkey.")
        XCTAssertEqual(model.state.usageLine, "Backups use 3.0 MB.")
        XCTAssertFalse(model.state.busy)
    }

    func testANewPhoneWithoutABackupIsToldToUseTheOldPhonesAccount() async {
        let model = CloudBackupViewModel(account: ScriptedAccount(signedIn: .iCloud, repository: false))
        await model.findBackup()
        XCTAssertEqual(model.state.newPhone, .notFound)
        XCTAssertTrue(model.state.message!.text.hasPrefix("No backup was found in iCloud."))
        XCTAssertEqual(model.state.action, .signIn)
    }

    func testNoAccountOrAnUnreachableStorageIsShownNeverThrown() async {
        let model = CloudBackupViewModel(account: ScriptedAccount())
        await model.findBackup()
        XCTAssertEqual(model.state.newPhone, .signIn)
        XCTAssertEqual(model.state.message, CloudMessages.signInToRestore)
        let offline = ScriptedAccount(signedIn: .iCloud)
        let other = CloudBackupViewModel(account: offline)
        await other.load()
        offline.failure = KeepsakeFlowError(.storageUnavailable, "timeout")
        await other.findBackup()
        XCTAssertEqual(other.state.action, .tryLater)
        offline.failure = KeepsakeFlowError(.io, "disk")
        await other.load()
        XCTAssertEqual(other.state.message, UserMessage.of(.io))
    }
}
