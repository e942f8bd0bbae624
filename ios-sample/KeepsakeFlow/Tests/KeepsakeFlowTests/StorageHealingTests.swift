// XCTest tests of what the user sees when the backup storage lost or damaged data (issue 19), as
// the Kotlin StorageHealingTest: a backup that healed it says so with the counts (and offers a
// repair when older backups are damaged), a backup that cannot run says why and what to do
// (repair, wait, sign in again), the repair runs from the Backup screen, and a restore that
// passed over damaged backups says which one it took. Over the test doubles (Fakes.swift).
import Foundation
import XCTest
@testable import KeepsakeFlow

@MainActor
final class StorageHealingTests: XCTestCase {
    /// A chat with a photo, a recovery key, and one backup with media; returns the key.
    private func backedUp(_ f: Fixture) async throws -> String {
        await f.chat.newConversation(title: "Ana")
        _ = await f.chat.send("look")
        f.engine.attachments = [(1, "image/jpeg", 1000)]
        await f.backup.addRecoveryKey()!.value
        let key = try unwrap(f.backup.state.newRecoveryKey)
        await f.backup.backUpWithMedia()!.value
        return key
    }

    func testABackupThatHealedTheStorageSaysSoWithTheCountsAndIsNoError() async throws {
        let f = try Fixture()
        defer { f.close() }
        _ = try await backedUp(f)
        f.engine.nextHealing = StorageHealing(partsLost: 2, partsDamaged: 1, olderBackupsDamaged: 0, storageRolledBack: false)
        await f.backup.backUpWithMedia()!.value
        let message = try unwrap(f.backup.state.message)
        try expect(!message.isError && message.action == nil, "\(message)")
        try expect(message.text.hasPrefix("Backup complete:")
                   && message.text.hasSuffix("Your backup storage lost or damaged some data (2 lost, 1 damaged); this backup restored it."),
                   message.text)
        try expect(f.history.lastBackup?.media != nil, "recorded \(String(describing: f.history.lastBackup))")
        // Nothing found: nothing said.
        await f.backup.backUpWithMedia()!.value
        try expect(f.backup.state.message?.text.contains("storage") == false, "\(String(describing: f.backup.state.message))")
    }

    func testDamagedOlderBackupsAndARolledBackStorageAreToldWithARepairToOffer() async throws {
        let f = try Fixture()
        defer { f.close() }
        _ = try await backedUp(f)
        f.engine.nextHealing = StorageHealing(partsLost: 0, partsDamaged: 0, olderBackupsDamaged: 2, storageRolledBack: true)
        await f.backup.backUpWithMedia()!.value
        let message = try unwrap(f.backup.state.message)
        try expect(message.action == .repairStorage, "\(message)")
        try expect(message.text.contains("2 backups were damaged and can no longer be restored"), message.text)
        try expect(message.text.contains("went back to an older state"), message.text)
        f.engine.damagedBackups = 2
        await f.backup.repairStorage()!.value
        try expect(f.engine.calls.last == "repair", "calls \(f.engine.calls)")
        try expect(f.backup.state.work == nil, "\(f.backup.state)")
        try expect(f.backup.state.message?.text
                   == "Backup storage repaired. 2 backups that could no longer be restored were removed. Back up now to store everything again.",
                   "\(String(describing: f.backup.state.message))")
        await f.backup.repairStorage()!.value
        try expect(f.backup.state.message?.text == "Your backup storage is in order.", "\(String(describing: f.backup.state.message))")
    }

    func testABackupTheStorageStopsSaysWhatToDoAndRecordsNothing() async throws {
        let f = try Fixture()
        defer { f.close() }
        _ = try await backedUp(f)
        let recorded = f.history.lastBackup
        let expected: [(Failure, UserAction)] = [(.storageBusy, .tryAgainLater), (.storageUnavailable, .signInAgain),
                                                 (.storageDamaged, .repairStorage)]
        for (failure, action) in expected {
            f.engine.nextStorageFailure = failure
            await f.backup.backUpWithMedia()!.value
            try expect(f.backup.state.work == nil && f.backup.state.message == .of(failure), "\(failure): \(f.backup.state)")
            try expect(f.backup.state.message?.isError == true && f.backup.state.message?.action == action, "\(failure)")
            try expect(f.history.lastBackup == recorded, "\(failure) recorded \(String(describing: f.history.lastBackup))")
        }
        // The repair the damaged storage asked for, then a backup that works.
        await f.backup.repairStorage()!.value
        await f.backup.backUpWithMedia()!.value
        try expect(f.backup.state.message?.isError == false, "\(f.backup.state)")
    }

    func testARestoreThatPassedOverDamagedBackupsSaysWhichOneItTook() async throws {
        let f = try Fixture()
        defer { f.close() }
        let key = try await backedUp(f)
        f.engine.damagedBackups = 1
        await f.restore.pickRepository()!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        guard case .restored(_, _, _, _, let skipped, let time) = f.restore.state else { throw Expectation(description: "\(f.restore.state)") }
        try expect(skipped == 1 && time == f.engine.snapshotTime, "\(f.restore.state)")
        let message = try unwrap(f.restore.state.restoredMessage)
        try expect(message.text.hasSuffix("1 backup in the backup storage was damaged: this is the newest intact one, from 2025-12-06 05:46 UTC."),
                   message.text)
        try expect(!message.isError, "\(message)")
    }
}
