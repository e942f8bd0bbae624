// Media for Swift apps: the app's files handed to a backup through `FileHandle`s, restored files
// written through temporary files moved into place, and the repository's media calls as
// progressing operations and `async` functions, like Repository+Async.swift's.
import Foundation

/// A `MediaStream` over a `FileHandle`, read in pieces of at most 64 KiB; `closeStream()` closes it.
public final class FileHandleMediaStream: MediaStream, @unchecked Sendable {
    private let handle: FileHandle
    public init(_ handle: FileHandle) { self.handle = handle }
    public func read(maxLen: Int64) throws -> Data {
        try handle.read(upToCount: Int(min(maxLen, 1 << 16))) ?? Data()
    }
    public func closeStream() throws { try handle.close() }
}

/// A `MediaSource` over files: `fileFor` names the attachment's file (nil when the app has
/// none). The stamp is the file's modification date in milliseconds, so an untouched file is not
/// read again by the next backup. An error thrown for one file records that attachment as
/// absent; `KeepsakeError.Cancelled` cancels the backup.
public final class FileMediaSource: MediaSource, @unchecked Sendable {
    private let fileFor: @Sendable (MediaRef) -> URL?

    public init(fileFor: @escaping @Sendable (MediaRef) -> URL?) { self.fileFor = fileFor }

    /// The files under the folder `root`, at each attachment's `localRef`.
    public convenience init(root: URL) {
        self.init { ref in fileUnder(root, ref.localRef) }
    }

    public func stat(attachment: MediaRef) throws -> FileStamp? {
        guard let url = fileFor(attachment),
              let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = attributes[.size] as? NSNumber
        else { return nil }
        let modified = (attributes[.modificationDate] as? Date).map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0
        return FileStamp(size: size.int64Value, modified: modified)
    }

    public func openStream(attachment: MediaRef) throws -> MediaStream? {
        guard let url = fileFor(attachment), FileManager.default.fileExists(atPath: url.path) else { return nil }
        return FileHandleMediaStream(try FileHandle(forReadingFrom: url))
    }
}

/// A `MediaSink` writing each restored file to `fileFor(item)`: into a temporary file beside it,
/// synced and moved into place on `commit()` (only once Keepsake checked its size and SHA-256),
/// removed on `abort()`; no partial or wrong file is ever visible.
public final class FileMediaSink: MediaSink, @unchecked Sendable {
    private let fileFor: @Sendable (MediaItem) -> URL

    public init(fileFor: @escaping @Sendable (MediaItem) -> URL) { self.fileFor = fileFor }

    /// Into the folder `root`: at each attachment's `localRef` when it is a plain relative path,
    /// else at `attachments/<id>` (a reference from a backup never writes outside `root`).
    public convenience init(root: URL) {
        self.init { item in
            fileUnder(root, item.localRef) ?? root.appendingPathComponent("attachments/\(item.attachmentId)")
        }
    }

    public func begin(item: MediaItem) throws -> MediaFileWriter {
        let target = fileFor(item)
        let folder = target.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temp = folder.appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).part")
        guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
            throw KeepsakeError.Io(detail: "Cannot create \(temp.path).")
        }
        return TempFileWriter(handle: try FileHandle(forWritingTo: temp), temp: temp, target: target)
    }
}

private final class TempFileWriter: MediaFileWriter, @unchecked Sendable {
    private let handle: FileHandle
    private let temp: URL
    private let target: URL

    init(handle: FileHandle, temp: URL, target: URL) {
        (self.handle, self.temp, self.target) = (handle, temp, target)
    }

    func write(bytes: Data) throws { try handle.write(contentsOf: bytes) }

    func commit() throws {
        try handle.synchronize()
        try handle.close()
        // rename(2) replaces the target atomically, as FileManager's moveItem would not.
        guard rename(temp.path, target.path) == 0 else {
            throw KeepsakeError.Io(detail: "Cannot move \(temp.path) to \(target.path): errno \(errno).")
        }
    }

    func abort() throws {
        try? handle.close()
        try? FileManager.default.removeItem(at: temp)
    }
}

/// `localRef` under `root`, or nil when it is empty, absolute or leaves `root`.
private func fileUnder(_ root: URL, _ localRef: String) -> URL? {
    let parts = localRef.split(separator: "/", omittingEmptySubsequences: false)
    guard !localRef.isEmpty, !localRef.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }) else { return nil }
    return root.appendingPathComponent(localRef)
}

extension Repository {
    /// Backs `store` up with its attachments' files from `source` (see `backupWithMedia`), with
    /// progress: the chats, then the `.media` phase in bytes with `filesDone`/`filesTotal`. A
    /// failed or cancelled run leaves no snapshot.
    public func backupOperation(
        _ store: ChatStore, media source: MediaSource, mediaOptions: MediaOptions? = nil, options: BackupOptions? = nil
    ) -> ProgressingOperation<RepoBackupReport> {
        keepsakeOperation { listener, flag in
            try self.backupWithMedia(store: store, source: source, mediaOptions: mediaOptions, options: options,
                                     listener: listener, cancellation: flag)
        }
    }

    /// Restores the media of snapshot `snapshotId` (the latest when nil) through `sink`, after
    /// `restoreOperation` brought the chats back: the attachments `filter` selects (all when nil)
    /// not restored yet, with progress (`.media`: bytes, files). `stateDir` (app-private, excluded
    /// from iCloud backup) keeps the run's state: a cancelled or killed run resumes with the next
    /// file.
    public func restoreMediaOperation(
        stateDir: String, into sink: MediaSink, snapshotId: String? = nil, filter: MediaFilter? = nil
    ) -> ProgressingOperation<MediaRestoreReport> {
        keepsakeOperation { listener, flag in
            try self.restoreMedia(stateDir: stateDir, sink: sink, snapshotId: snapshotId, filter: filter,
                                  listener: listener, cancellation: flag)
        }
    }

    /// Restores attachment `attachmentId` now, off the caller's executor (the user opened it
    /// before the background restore got to it); same `stateDir` as `restoreMediaOperation`.
    /// Throws `KeepsakeError.MediaUnavailable` when the backup does not hold its bytes.
    public func loadMedia(stateDir: String, attachmentId: Int64, into sink: MediaSink, snapshotId: String? = nil) async throws -> MediaItem {
        try await keepsakeBackground { _ in
            try self.fetchMedia(stateDir: stateDir, attachmentId: attachmentId, sink: sink, snapshotId: snapshotId)
        }
    }
}
