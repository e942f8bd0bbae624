// Media from Swift (issue 11), the journey of MediaJourneyTest.kt: a phone's photos, voice note,
// video, empty document, forwarded photo and an attachment whose file is gone, backed up with the
// FileHandle source and restored on a new phone opened with the recovery key: the chats first,
// then one conversation's media, one attachment on demand, then the rest, byte for byte.
import Foundation
import Keepsake
import XCTest

/// Deterministic incompressible bytes.
private func noise(_ count: Int, seed: UInt64) -> Data {
    var x = seed | 1
    return Data((0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    })
}

private func jpeg(_ count: Int, seed: UInt64) -> Data {
    Data([0xFF, 0xD8, 0xFF, 0xE0]) + noise(count - 6, seed: seed) + Data([0xFF, 0xD9])
}

/// One attachment of the old phone: its conversation, type, file (nil: gone).
private struct Media {
    let id: Int64
    let conversation: Int64
    let mime: String
    let localRef: String
    let bytes: Data?
    var messageId: Int64 { 10_000 + id }
}

private let beach = jpeg(240_000, seed: 1)
private let media = [
    Media(id: 1, conversation: 1, mime: "image/jpeg", localRef: "Photos/beach.jpg", bytes: beach),
    Media(id: 2, conversation: 1, mime: "image/jpeg", localRef: "Photos/cat.jpg", bytes: jpeg(120_000, seed: 2)),
    Media(id: 3, conversation: 2, mime: "image/jpeg", localRef: "Photos/cake.jpg", bytes: jpeg(60_000, seed: 3)),
    Media(id: 4, conversation: 2, mime: "audio/ogg", localRef: "Voice/note-1.ogg", bytes: Data("OggS".utf8) + noise(40_000, seed: 4)),
    Media(id: 5, conversation: 1, mime: "video/mp4", localRef: "Video/clip.mp4", bytes: noise(3_500_000, seed: 5)),
    Media(id: 6, conversation: 2, mime: "application/pdf", localRef: "Documents/empty.pdf", bytes: Data()),
    Media(id: 7, conversation: 2, mime: "image/jpeg", localRef: "Photos/beach-forwarded.jpg", bytes: beach),
    Media(id: 8, conversation: 1, mime: "image/jpeg", localRef: "Photos/never-downloaded.jpg", bytes: nil),
]

/// Every file under `root` by relative path.
private func filesUnder(_ root: URL) -> [String: Data] {
    var files: [String: Data] = [:]
    guard let walker = FileManager.default.enumerator(atPath: root.path) else { return files }
    for case let relative as String in walker {
        var isDirectory: ObjCBool = false
        let path = root.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            files[relative] = FileManager.default.contents(atPath: path)
        }
    }
    return files
}

/// The app's source, failing to open one attachment's file as a removed SD card does.
private final class FailingSource: MediaSource, @unchecked Sendable {
    private let files: MediaSource
    private let failing: Int64
    init(_ files: MediaSource, failing: Int64) { (self.files, self.failing) = (files, failing) }
    func stat(attachment: MediaRef) throws -> FileStamp? { try files.stat(attachment: attachment) }
    func openStream(attachment: MediaRef) throws -> MediaStream? {
        if attachment.attachmentId == failing { throw KeepsakeError.Io(detail: "The SD card went away.") }
        return try files.openStream(attachment: attachment)
    }
}

final class MediaTests: XCTestCase {
    /// The chats of TestChats plus one media message per attachment, and the files on disk.
    private func oldPhone(_ dir: URL) throws -> (String, URL) {
        let db = dir.appendingPathComponent("chats.db").path
        try seedChats(db)
        let files = dir.appendingPathComponent("media")
        let store = try ChatStore.open(path: db)
        defer { try? store.closeDatabase() }
        for m in media {
            try store.insertMessages(messages: [Message(
                id: m.messageId, conversationId: m.conversation, sender: "alice", kind: .media, body: nil,
                sentAt: 1_700_100_000_000 + m.id, delivery: .read)])
            try store.insertAttachments(attachments: [Attachment(
                id: m.id, messageId: m.messageId, mime: m.mime, size: Int64(m.bytes?.count ?? 0), localRef: m.localRef)])
            if let bytes = m.bytes {
                let url = files.appendingPathComponent(m.localRef)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try bytes.write(to: url)
            }
        }
        return (db, files)
    }

    func testMediaReachesANewPhoneAfterTheChatsByConversationOnDemandThenTheRest() async throws {
        let dir = try tempDir("keepsake-media")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (db, files) = try oldPhone(dir)
        let cloud = DictionaryStore()
        let keyring = try Keyring.create()
        let recovery = try keyring.addRecoveryKey(label: "Paper copy").recoveryKey.reveal()
        let repository = try await createRepository(store: cloud, keyring: keyring, cacheDir: dir.appendingPathComponent("cache").path)
        let chats = try ChatStore.open(path: db)
        let backup = repository.backupOperation(chats, media: FileMediaSource(root: files))
        var progress: [ProgressReport] = []
        for await report in backup.progress { progress.append(report) }
        let report = try await backup.result
        try chats.closeDatabase()
        let summary = try XCTUnwrap(report.media).summary
        XCTAssertEqual(summary.filesStored, 7)
        XCTAssertEqual(summary.filesAbsent, 1)
        XCTAssertEqual(summary.bytesStored, Int64(media.compactMap(\.bytes).map(\.count).reduce(0, +)))
        XCTAssertEqual(report.media?.filesRead, 7)
        // The forwarded photo is stored once. Media packs hold whole 1 MiB blocks, so the upload is
        // the distinct files' bytes rounded up to a block (plus the chats, index and snapshot):
        // 4 MiB here, where the forward stored again would take a fifth block.
        let block: Int64 = 1 << 20
        let distinct = summary.bytesStored - Int64(beach.count)
        XCTAssertLessThan(report.bytesUploaded, (distinct / block + 1) * block + block / 4, "the forwarded photo is stored once")
        for (a, b) in zip(progress, progress.dropFirst()) { XCTAssertGreaterThanOrEqual(b.done, a.done) }
        let lastMedia = try XCTUnwrap(progress.last { $0.phase == .media })
        XCTAssertEqual([lastMedia.filesDone, lastMedia.filesTotal], [8, 8])

        // A new phone: the cloud and the recovery key, fresh folders.
        let phone = dir.appendingPathComponent("new-phone")
        try FileManager.default.createDirectory(at: phone, withIntermediateDirectories: true)
        let newDb = phone.appendingPathComponent("chats.db").path
        let newMedia = phone.appendingPathComponent("media")
        let state = phone.appendingPathComponent("media-state").path
        let device = try await openRepository(store: cloud, secret: try BackupSecret.recoveryKey(text: recovery))
        let snapshot = try await device.loadSnapshots().last
        XCTAssertEqual(snapshot?.media?.filesStored, 7)
        _ = try await device.restoreOperation(to: newDb).result
        // The chats and attachment rows are there before any media.
        XCTAssertEqual(try readBack(newDb), try readBack(db))
        let restored = try ChatStore.open(path: newDb)
        XCTAssertEqual(try restored.attachments(messageId: 10_005).first?.localRef, "Video/clip.mp4")
        try restored.closeDatabase()
        XCTAssertFalse(FileManager.default.fileExists(atPath: newMedia.path))

        let sink = FileMediaSink(root: newMedia)
        let family = device.restoreMediaOperation(stateDir: state, into: sink, filter: MediaFilter(conversations: [2]))
        var restoreProgress: [ProgressReport] = []
        for await report in family.progress { restoreProgress.append(report) }
        let first = try await family.result
        XCTAssertEqual(first.filesRestored, 4)
        XCTAssertEqual(Set(filesUnder(newMedia).keys),
                       ["Photos/cake.jpg", "Voice/note-1.ogg", "Documents/empty.pdf", "Photos/beach-forwarded.jpg"])
        let last = try XCTUnwrap(restoreProgress.last { $0.phase == .media })
        XCTAssertEqual([last.filesDone, last.filesTotal], [4, 4])

        // On demand: the video of conversation 1, before the rest.
        let video = try await device.loadMedia(stateDir: state, attachmentId: 5, into: sink)
        XCTAssertEqual(video.kind, .video)
        XCTAssertEqual(FileManager.default.contents(atPath: newMedia.appendingPathComponent("Video/clip.mp4").path), media[4].bytes)

        // The photo that was never downloaded is not in the backup: typed, with its id.
        let missing = await assertThrowsKeepsake({ try await device.loadMedia(stateDir: state, attachmentId: 8, into: sink) }) {
            if case .MediaUnavailable(attachmentId: 8, _) = $0 { return true }
            return false
        }
        XCTAssertEqual(missing?.errorDescription, missing?.detail)

        let rest = try await device.restoreMediaOperation(stateDir: state, into: sink).result
        XCTAssertEqual(rest.filesRestored, 2)
        XCTAssertEqual(rest.filesAlreadyRestored, 5)
        XCTAssertEqual(rest.filesNotInBackup, 1)
        XCTAssertTrue(rest.lost.isEmpty)
        XCTAssertEqual(filesUnder(newMedia), filesUnder(files))
    }

    func testAFileTheAppFailsToReadIsRecordedAbsentAndTheBackupGoesOn() async throws {
        let dir = try tempDir("keepsake-media-fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (db, files) = try oldPhone(dir)
        let source = FailingSource(FileMediaSource(root: files), failing: 2)
        let keyring = try Keyring.create()
        _ = try keyring.addRecoveryKey(label: "Paper copy")
        let repository = try await createRepository(store: memoryBlobStore(), keyring: keyring)
        let chats = try ChatStore.open(path: db)
        defer { try? chats.closeDatabase() }
        let report = try await repository.backupOperation(chats, media: source).result
        XCTAssertEqual(report.media?.filesUnreadable, 1)
        XCTAssertEqual(report.media?.summary.filesAbsent, 2)
        XCTAssertEqual(report.media?.summary.filesStored, 6)
    }
}
