// The media flows over the real library, as the Kotlin EngineMediaTest: the sample's view-models
// over BindingsBackupEngine with a backup repository in a folder shared by the "phones" of a test
// (their cloud), real files in each phone's media folder.
import Foundation
import XCTest
import Keepsake
import KeepsakeEngine
import KeepsakeFlow

/// Progress reports collected from Keepsake's thread.
final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [OperationProgress] = []
    func add(_ report: OperationProgress) { lock.withLock { list.append(report) } }
    var all: [OperationProgress] { lock.withLock { list } }
}

/// A phone: its engine (own database, media folder and state; the shared "cloud"), vault and view-models.
@MainActor
final class Phone {
    let engine: BindingsBackupEngine
    let vault = MemoryVault()
    let history = MemoryHistory()
    let chat: ChatViewModel
    let media: URL
    let dir: URL
    let name: String

    /// `store` is the shared cloud; the folder `cloud` in `dir` by default.
    init(_ dir: URL, _ name: String, mediaOptions: MediaOptions? = nil, store: BlobStore? = nil) {
        self.dir = dir
        self.name = name
        media = dir.appendingPathComponent("\(name)-media")
        let cloud = dir.appendingPathComponent("cloud").path
        engine = BindingsBackupEngine(chatDatabase: dir.appendingPathComponent("\(name).sqlite").path, relyingPartyId: "keepsake.example",
                                      mediaFolder: media, mediaStateFolder: dir.appendingPathComponent("\(name)-media-state"),
                                      cacheDir: dir.appendingPathComponent("\(name)-cache").path, mediaOptions: mediaOptions,
                                      blobStore: { try store ?? directoryBlobStore(path: cloud) })
        chat = ChatViewModel(engine: engine)
    }

    var provider: SoftwareAuthenticatorProvider { SoftwareAuthenticatorProvider(engine.demoAuthenticator()) }

    lazy var backup = BackupViewModel(engine: engine, passkeys: provider, vault: vault, history: history,
                                      backupPath: { [dir, name] in dir.appendingPathComponent("\(name).keepsake").path })

    func restore() -> RestoreViewModel { RestoreViewModel(engine: engine, passkeys: provider, vault: vault) }
}

@MainActor
final class EngineMediaTests: XCTestCase {
    var dir: URL!
    /// The old phone's files: attachment id to bytes (nil: not on the phone) and to its place.
    var files: [Int64: Data?] = [:]
    var refs: [Int64: String] = [:]

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-media-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        files = [:]
        refs = [:]
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func bytes(_ count: Int, seed: Int64) -> Data {
        var state = UInt64(bitPattern: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return Data((0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        })
    }

    private func attach(_ phone: Phone, _ ref: String, _ mime: String, _ size: Int, onPhone: Bool = true) async throws {
        let id = try await phone.engine.sendAttachment(to: "1", localRef: ref, mime: mime, size: Int64(size))
        let data = onPhone ? bytes(size, seed: id) : nil
        if let data {
            let url = phone.media.appendingPathComponent(ref)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        files[id] = data
        refs[id] = ref
    }

    /// A chat with a photo (3000 bytes), a voice note (70 000), a photo never downloaded and a video
    /// of 150 000 bytes; a recovery key; returns the key.
    private func withMedia(_ phone: Phone) async throws -> String {
        await phone.chat.newConversation(title: "Ana")
        _ = await phone.chat.send("hello")
        try await attach(phone, "photos/a.jpg", "image/jpeg", 3000)
        try await attach(phone, "voice/b.ogg", "audio/ogg", 70_000)
        try await attach(phone, "photos/c.jpg", "image/jpeg", 5000, onPhone: false)
        try await attach(phone, "video/d.mp4", "video/mp4", 150_000)
        await phone.backup.addRecoveryKey()?.value
        guard let key = phone.backup.state.newRecoveryKey else { throw Expectation(description: "no recovery key \(phone.backup.state)") }
        return key
    }

    private func id(_ ref: String) -> Int64 { refs.first { $0.value == ref }!.key }

    private func sameFiles(_ phone: Phone, _ ids: [Int64], line: Int = #line) throws {
        for id in ids {
            let restored = FileManager.default.contents(atPath: phone.media.appendingPathComponent(refs[id]!).path)
            try expect(restored != nil && restored == files[id]!, "attachment \(id)", line: line)
        }
    }

    private func unlockedRepository(_ phone: Phone, _ key: String, _ restore: RestoreViewModel) async throws {
        await restore.pickRepository()?.value
        guard case .chooseUnlock(let info, _) = restore.state, info.fromRepository, info.canUseRecoveryKey else {
            throw Expectation(description: "state \(restore.state)")
        }
        await restore.unlockWithRecoveryKey(key)?.value
    }

    private func until(_ condition: () -> Bool, _ state: () -> String = { "" }) async throws {
        let deadline = Date().addingTimeInterval(60)
        while !condition() {
            if Date() > deadline { throw Expectation(description: "condition never held: \(state())") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    func testABackupWithMediaReportsTheChatsThenTheFilesAndTheCounts() async throws {
        let old = Phone(dir, "old", mediaOptions: MediaOptions(maxFileBytes: 100_000))
        _ = try await withMedia(old)
        let reports = Reports()
        let summary = try await old.engine.backUpWithMedia(try XCTUnwrap(try old.vault.load())) { reports.add($0) }
        var phases: [Phase] = []
        for report in reports.all where phases.last != report.phase { phases.append(report.phase) }
        try expect(phases.first == .backup && phases.last == .media && phases.filter { $0 == .media }.count == 1, "phases \(phases)")
        // The Media phase counts every attachment's recorded size (228 000 bytes, of which the
        // 73 000 of the two stored files were read) and every file, and ends at its total.
        let last = try XCTUnwrap(reports.all.last)
        try expect(last.done == 228_000 && last.total == 228_000 && last.filesDone == 4 && last.filesTotal == 4, "last \(last)")
        try expect(summary.media == MediaBackupCounts(filesStored: 2, filesNotOnDevice: 1, filesSkipped: 1, bytesStored: 73_000,
                                                      filesRead: 2, filesUnreadable: 0), "summary \(summary)")

        // The screen: a second backup reads no file again, and shows the counts.
        await old.backup.backUpWithMedia()?.value
        let state = old.backup.state
        try expect(state.lastBackup?.media == MediaBackupCounts(filesStored: 2, filesNotOnDevice: 1, filesSkipped: 1, bytesStored: 73_000,
                                                                filesRead: 0, filesUnreadable: 0), "state \(state)")
        try expect(state.message == UserMessage("Backup complete: 2 photos and files in the backup (71.3 KB), 1 not on this phone, 1 skipped.",
                                                isError: false), "message \(String(describing: state.message))")
    }

    func testANewPhoneGetsTheChatsFirstThenTheFilesInTheBackgroundByteForByte() async throws {
        let old = Phone(dir, "old", mediaOptions: MediaOptions(maxFileBytes: 100_000))
        let key = try await withMedia(old)
        await old.backup.backUpWithMedia()?.value

        let fresh = Phone(dir, "new")
        let restore = fresh.restore()
        var events: [String] = []
        restore.onChange = { if case .restored = $0 { events.append("chats ready") } }
        restore.onMediaChange = { if $0.progress != nil, events.last != "media progress" { events.append("media progress") } }
        try await unlockedRepository(fresh, key, restore)
        // When the snapshot was made is the backup's time; the rest is exact.
        var restoredAt: Int64?
        if case .restored(5, 1, false, false, 0, let time) = restore.state { restoredAt = time }
        try expect((restoredAt ?? 0) > 1_700_000_000, "state \(restore.state)")
        await fresh.chat.refresh()
        try expect(fresh.chat.state.conversations.map(\.title) == ["Ana"], "chats \(fresh.chat.state)")
        try await until { restore.media.result != nil }
        try expect(events.first == "chats ready" && events.contains("media progress"), "events \(events)")
        try expect(restore.media.result == MediaRestoreSummary(filesRestored: 2, bytesRestored: 73_000, filesAlreadyRestored: 0,
                                                               filesNotInBackup: 2, lost: []), "result \(restore.media)")
        try expect(restore.media.message == UserMessage("Restored 2 photos and files (71.3 KB now). 2 photos and files were not in the backup.",
                                                        isError: false), "message \(String(describing: restore.media.message))")
        try sameFiles(fresh, [id("photos/a.jpg"), id("voice/b.ogg")])
        let pending = try await fresh.engine.mediaRestorePending()
        try expect(!pending, "still pending")
        // The new phone backs up with the keyring it restored.
        await fresh.backup.backUpWithMedia()?.value
        try expect(fresh.backup.state.lastBackup?.media?.filesStored == 2, "backup \(fresh.backup.state)")
    }

    func testAMediaRestoreStoppedMidwayResumesInANewProcessAndReportsTheFilesAlreadyRestored() async throws {
        let old = Phone(dir, "old")
        let key = try await withMedia(old)
        for n in 0..<6 { try await attach(old, "photos/more\(n).jpg", "image/jpeg", 40_000) }
        await old.backup.backUpWithMedia()?.value
        try expect(old.history.lastBackup?.media?.filesStored == 9, "backup \(old.backup.state)")

        let fresh = Phone(dir, "new")
        // The run stops at the sixth file: a folder stands where it goes, so the sink fails there (as a
        // full disk or a killed process would stop it), after five files were restored.
        let obstacle = fresh.media.appendingPathComponent("photos/more2.jpg")
        try FileManager.default.createDirectory(at: obstacle, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: obstacle.appendingPathComponent("keep"))
        let restore = fresh.restore()
        try await unlockedRepository(fresh, key, restore)
        try await until { !restore.media.running }
        try expect(restore.media.result == nil && restore.media.message?.text.hasPrefix("Restoring photos and files stopped:") == true,
                   "first run \(restore.media)")
        var pending = try await fresh.engine.mediaRestorePending()
        try expect(pending, "not pending after the stop")
        try FileManager.default.removeItem(at: obstacle)

        // A new process: a new engine and view-model over the same folders.
        let relaunched = Phone(dir, "new")
        relaunched.vault.stored = fresh.vault.stored
        let again = relaunched.restore()
        await again.resumeMedia().value
        let result = try XCTUnwrap(again.media.result, "no result \(again.media)")
        try expect(result.filesAlreadyRestored == 5 && result.filesRestored == 4 && result.filesNotInBackup == 1, "result \(result)")
        try sameFiles(relaunched, files.filter { $0.value != nil }.map(\.key))
        pending = try await relaunched.engine.mediaRestorePending()
        try expect(!pending, "still pending")
    }

    func testAPhotoOpensOnDemandAndOneNotInTheBackupSaysSo() async throws {
        let old = Phone(dir, "old")
        let key = try await withMedia(old)
        await old.backup.backUpWithMedia()?.value

        let fresh = Phone(dir, "new")
        let restore = fresh.restore()
        try await unlockedRepository(fresh, key, restore)
        // Opened while the background restore runs (or just after it got there: the file is the same).
        let voice = id("voice/b.ogg")
        await restore.openAttachment(voice).value
        let opened = try XCTUnwrap(restore.media.opened, "not opened \(restore.media)")
        try expect(opened.attachmentId == voice && opened.mime == "audio/ogg" && opened.bytes == 70_000, "opened \(opened)")
        try expect(FileManager.default.contents(atPath: opened.path) == files[voice]!, "file \(opened.path)")
        await restore.openAttachment(id("photos/c.jpg")).value
        try expect(restore.media.message == UserMessage.of(.mediaUnavailable), "unavailable \(restore.media)")
        try await until({ restore.media.result != nil }, { "\(restore.media)" })
        try expect(restore.media.result?.filesNotInBackup == 1, "result \(restore.media)")
        try sameFiles(fresh, [id("photos/a.jpg"), voice, id("video/d.mp4")])
    }
}
