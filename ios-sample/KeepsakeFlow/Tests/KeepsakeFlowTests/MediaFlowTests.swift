// XCTest tests of the media flows over the test doubles (Fakes.swift), as the Kotlin
// MediaFlowTest: the backup into the repository with the attachments' files (the chats, then the
// media phase in files and bytes, then the counts) and the restore from it (the chats ready first,
// the files in the background, resumed after the app was killed, one opened on demand, lost ones
// and MediaUnavailable shown).
import Foundation
import XCTest
@testable import KeepsakeFlow

@MainActor
final class MediaFlowTests: XCTestCase {
    /// A chat with five attachments: a photo (1000 bytes) and a voice note (2072) on the phone, a
    /// photo never downloaded, a video over the size limit and a file the phone cannot read; a
    /// recovery key. Returns the key.
    private func chatWithMedia(_ f: Fixture) async throws -> String {
        await f.chat.newConversation(title: "Ana")
        _ = await f.chat.send("look")
        f.engine.attachments = [(1, "image/jpeg", 1000), (2, "audio/ogg", 2072), (3, "image/jpeg", nil),
                                (4, "video/mp4", 50_000), (5, "application/pdf", 10)]
        f.engine.maxMediaBytes = 10_000
        f.engine.unreadable = [5]
        await f.backup.addRecoveryKey()!.value
        return try unwrap(f.backup.state.newRecoveryKey)
    }

    private func backedUpWithMedia(_ f: Fixture) async throws -> String {
        let key = try await chatWithMedia(f)
        await f.backup.backUpWithMedia()!.value
        try expect(f.history.lastBackup?.media != nil, "no backup with media: \(f.backup.state)")
        return key
    }

    private func mediaProgress(_ f: Fixture) -> OperationProgress? {
        if case .backingUpWithMedia(let p) = f.backup.state.work { return p }
        return nil
    }

    func testBackingUpWithMediaShowsTheChatsThenTheMediaPhaseThenTheCounts() async throws {
        let f = try Fixture()
        defer { f.close() }
        _ = try await chatWithMedia(f)
        let chats = Gate(), files = Gate()
        f.engine.gate = chats
        f.engine.mediaGate = files
        let task = try unwrap(f.backup.backUpWithMedia())
        try await eventually { self.mediaProgress(f) != nil }
        try expect(mediaProgress(f) == OperationProgress(phase: .backup, done: 0, total: 1), "first \(String(describing: mediaProgress(f)))")
        try expect(ProgressText.of(mediaProgress(f)) == "Backing up chats: 0%", ProgressText.of(mediaProgress(f)))
        await chats.release()
        try await eventually { self.mediaProgress(f)?.phase == .media }
        let report = try unwrap(mediaProgress(f))
        try expect(report == OperationProgress(phase: .media, done: 0, total: 3072, filesDone: 0, filesTotal: 2), "media \(report)")
        try expect(ProgressText.of(report) == "Photos and files: 0 of 2 files, 0 B of 3.0 KB", ProgressText.of(report))
        await files.release()
        await task.value

        let counts = MediaBackupCounts(filesStored: 2, filesNotOnDevice: 2, filesSkipped: 1, bytesStored: 3072, filesRead: 2, filesUnreadable: 1)
        try expect(f.backup.state.work == nil && f.backup.state.lastBackup?.media == counts, "last \(String(describing: f.backup.state.lastBackup))")
        try expect(f.history.lastBackup == f.backup.state.lastBackup, "history")
        try expect(f.backup.state.message == UserMessage("Backup complete: 2 photos and files in the backup (3.0 KB), 2 not on this phone, 1 skipped.",
                                                         isError: false), "message \(String(describing: f.backup.state.message))")
        // The single-file backup still works beside it.
        await f.backup.backUpNow()!.value
        try expect(f.backup.state.message == UserMessage("Backup complete.", isError: false) && f.history.lastBackup?.media == nil, "file backup")
    }

    func testTheProgressLineMapsPhasesFilesAndBytes() async throws {
        try expect(ProgressText.of(OperationProgress(phase: .media, done: 1536, total: 3 << 20, filesDone: 1, filesTotal: 3))
                   == "Photos and files: 1 of 3 files, 1.5 KB of 3.0 MB", "media")
        try expect(ProgressText.of(OperationProgress(phase: .media, done: 10, total: nil, filesDone: 0, filesTotal: 0))
                   == "Photos and files: 0 of 0 files, 10 B", "no total")
        try expect(ProgressText.of(OperationProgress(phase: .restore, done: 5, total: 20)) == "Restoring chats: 25%", "restore")
        try expect(ProgressText.of(OperationProgress(phase: .check, done: 0, total: nil)) == "Checking", "check")
        try expect(ProgressText.of(nil) == "Starting…", "none")
        try expect(ProgressText.bytes(1023) == "1023 B" && ProgressText.bytes(5 << 30) == "5.0 GB" && ProgressText.bytes(73_000) == "71.3 KB", "bytes")
    }

    func testNoRepositoryYetSaysSo() async throws {
        let f = try Fixture()
        defer { f.close() }
        await f.restore.pickRepository()!.value
        try expect(f.restore.state == .chooseFile(.noRepository), "state \(f.restore.state)")
    }

    func testTheChatsAreReadyBeforeAnyMediaProgressThenTheFilesRestoreInTheBackground() async throws {
        let f = try Fixture()
        defer { f.close() }
        let key = try await backedUpWithMedia(f)
        var stateAtMediaStart: RestoreUiState?
        f.engine.onMediaRestoreStart = { stateAtMediaStart = f.restore.state }
        let gate = Gate()
        f.engine.mediaGate = gate
        await f.restore.pickRepository()!.value
        guard case .chooseUnlock(let info, _) = f.restore.state else { throw Expectation(description: "state \(f.restore.state)") }
        try expect(info.fromRepository && info.canUsePasskey && info.canUseRecoveryKey && info.canUsePassword, "info \(info)")
        await f.restore.unlockWithRecoveryKey(key)!.value
        // The same phone: it keeps its own keyring.
        try expect(f.restore.state == .restored(messages: 1, conversations: 1, keptDeviceKeyring: true, backupTime: f.engine.snapshotTime),
                   "state \(f.restore.state)")
        try expect(f.restore.media.running && f.restore.media.message == .mediaFollows, "media \(f.restore.media)")
        try await eventually { f.restore.media.progress != nil }
        if case .restored = stateAtMediaStart {} else { throw Expectation(description: "the media restore began on \(String(describing: stateAtMediaStart))") }
        try expect(Array(f.engine.calls.suffix(2)) == ["restore", "media"], "calls \(f.engine.calls)")
        try expect(f.restore.media.progress == OperationProgress(phase: .media, done: 0, total: 3072, filesDone: 0, filesTotal: 2),
                   "progress \(String(describing: f.restore.media.progress))")
        // Meanwhile the app shows the chats.
        await f.chat.refresh()
        try expect(f.chat.state.conversations.map(\.title) == ["Ana"], "chats \(f.chat.state)")

        await gate.release()
        try await eventually { !f.restore.media.running }
        try expect(f.restore.media.result == MediaRestoreSummary(filesRestored: 2, bytesRestored: 3072, filesAlreadyRestored: 0,
                                                                 filesNotInBackup: 3, lost: []), "result \(f.restore.media)")
        try expect(f.restore.media.message == UserMessage("Restored 2 photos and files (3.0 KB now). 3 photos and files were not in the backup.",
                                                          isError: false), "message \(String(describing: f.restore.media.message))")
        try expect(f.engine.restoredMedia == [1: 1000, 2: 2072], "restored \(f.engine.restoredMedia)")
        let pending = try await f.engine.mediaRestorePending()
        try expect(!pending, "still pending")
    }

    func testAWrongKeyRestoresNothingAndStartsNoMediaRestore() async throws {
        let f = try Fixture()
        defer { f.close() }
        _ = try await backedUpWithMedia(f)
        await f.restore.pickRepository()!.value
        await f.restore.unlockWithRecoveryKey("ABCD-EFGH-WRONG")!.value
        try expect(f.restore.state.unlockMessage == .some(UserMessage.of(.wrongKey)), "state \(f.restore.state)")
        try expect(!f.engine.calls.contains("media") && !f.restore.media.running, "calls \(f.engine.calls)")
    }

    func testAttachmentsLostToDamageAreListedWithTheirReasons() async throws {
        let f = try Fixture()
        defer { f.close() }
        let key = try await backedUpWithMedia(f)
        f.engine.damaged[2] = "pack data/3fa2 is damaged"
        await f.restore.pickRepository()!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        try await eventually { f.restore.media.result != nil }
        let media = f.restore.media
        try expect(media.result?.lost == [LostAttachment(attachmentId: 2, reason: "pack data/3fa2 is damaged")], "result \(media)")
        try expect(media.lostLines == ["Attachment 2 could not be restored: pack data/3fa2 is damaged"], "lines \(media.lostLines)")
        try expect(media.message?.isError == true && media.message!.text.hasSuffix("1 photo or file could not be restored."), "message \(media)")
        try expect(media.result?.filesRestored == 1 && media.result?.filesNotInBackup == 3, "counts \(media)")
    }

    func testAnInterruptedMediaRestoreResumesAfterTheAppIsKilledAndCountsTheFilesAlreadyRestored() async throws {
        let f = try Fixture()
        defer { f.close() }
        let key = try await backedUpWithMedia(f)
        f.engine.mediaFailsAfter = 1
        await f.restore.pickRepository()!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        try await eventually { !f.restore.media.running }
        try expect(f.restore.media.result == nil && f.restore.media.message == .mediaInterrupted(.io), "stopped \(f.restore.media)")
        try expect(f.restore.media.message!.text.hasSuffix("It continues where it stopped."), f.restore.media.message!.text)
        var pending = try await f.engine.mediaRestorePending()
        try expect(Set(f.engine.restoredMedia.keys) == [1] && pending, "restored \(f.engine.restoredMedia)")

        // The app was killed: a new view-model over the same state.
        f.engine.mediaFailsAfter = nil
        let relaunched = RestoreViewModel(engine: f.engine, passkeys: f.provider, vault: f.vault)
        await relaunched.resumeMedia().value
        try expect(relaunched.media.result == MediaRestoreSummary(filesRestored: 1, bytesRestored: 2072, filesAlreadyRestored: 1,
                                                                  filesNotInBackup: 3, lost: []), "resumed \(relaunched.media)")
        pending = try await f.engine.mediaRestorePending()
        try expect(Set(f.engine.restoredMedia.keys) == [1, 2] && !pending, "restored \(f.engine.restoredMedia)")
        // Nothing left: the next launch starts nothing.
        let calls = f.engine.calls.count
        await RestoreViewModel(engine: f.engine, passkeys: f.provider, vault: f.vault).resumeMedia().value
        try expect(f.engine.calls.count == calls, "ran again: \(f.engine.calls)")
    }

    func testACancelledMediaRestoreSaysSoAndResumes() async throws {
        let f = try Fixture()
        defer { f.close() }
        let key = try await backedUpWithMedia(f)
        let gate = Gate()
        f.engine.mediaGate = gate
        await f.restore.pickRepository()!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        try await eventually { f.restore.media.progress != nil }
        f.restore.cancelMedia()
        await gate.release()
        try await eventually { !f.restore.media.running }
        try expect(f.restore.media.message == .mediaInterrupted(.cancelled), "media \(f.restore.media)")
        f.engine.mediaGate = nil
        await f.restore.resumeMedia().value
        try expect(f.restore.media.result?.filesRestored == 2, "resumed \(f.restore.media)")
    }

    func testAPhotoNotRestoredYetOpensOnDemandDuringTheRestoreOneNotInTheBackupSaysSo() async throws {
        let f = try Fixture()
        defer { f.close() }
        let key = try await backedUpWithMedia(f)
        let gate = Gate()
        f.engine.mediaGate = gate
        await f.restore.pickRepository()!.value
        await f.restore.unlockWithRecoveryKey(key)!.value
        try await eventually { f.restore.media.progress != nil }

        await f.restore.openAttachment(2).value
        try expect(f.restore.media.running && f.restore.media.opened == MediaFile(attachmentId: 2, path: "media/2", mime: "audio/ogg", bytes: 2072)
                   && f.restore.media.message == nil, "opened \(f.restore.media)")
        await f.restore.openAttachment(3).value
        try expect(f.restore.media.message == UserMessage.of(.mediaUnavailable) && f.restore.media.opening == nil, "unavailable \(f.restore.media)")
        try expect(f.restore.media.message == UserMessage("This photo or file was not in the backup.", isError: false), "words")
        try expect(Array(f.engine.calls.suffix(2)) == ["load 2", "load 3"], "calls \(f.engine.calls)")

        await gate.release()
        try await eventually { f.restore.media.result != nil }
        let result = try unwrap(f.restore.media.result)
        try expect(result.filesRestored == 1 && result.filesAlreadyRestored == 1 && result.bytesRestored == 1000, "result \(result)")
    }
}
