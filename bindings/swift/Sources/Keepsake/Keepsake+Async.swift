// The idiomatic Swift layer over the generated bindings: `async throws` functions that run the
// blocking Rust calls off the caller's executor, task cancellation wired to Keepsake's
// `Cancellation`, and progress as an `AsyncStream`.
import Foundation

/// Runs a blocking Keepsake call on a background thread. Cancelling the calling task raises the
/// call's `Cancellation`, so the Rust side stops at its next check and throws
/// `KeepsakeError.Cancelled`.
public func keepsakeBackground<T>(_ body: @escaping @Sendable (Cancellation) throws -> T) async throws -> T {
    let flag = Cancellation()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try body(flag) })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    } onCancel: {
        flag.cancel()
    }
}

/// A `ProgressListener` that feeds an `AsyncStream` (keeping only the newest report when the
/// consumer is slow).
public final class ProgressStream: ProgressListener, @unchecked Sendable {
    /// The reports, in order; finishes when `finish()` is called.
    public let reports: AsyncStream<ProgressReport>
    private let continuation: AsyncStream<ProgressReport>.Continuation

    public init() {
        (reports, continuation) = AsyncStream.makeStream(of: ProgressReport.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func onProgress(report: ProgressReport) {
        continuation.yield(report)
    }

    /// Ends the stream (call when the operation is over).
    public func finish() {
        continuation.finish()
    }
}

/// A long operation with its progress: `progress` yields reports while it runs and finishes when
/// it ends; `result` is the operation's outcome. Cancelling `result` cancels the Rust work.
public struct ProgressingOperation<T: Sendable>: Sendable {
    /// Progress reports, newest kept when the consumer is slow.
    public let progress: AsyncStream<ProgressReport>
    /// The outcome.
    public let result: Task<T, Error>
}

/// Starts `body` in the background with a progress listener and a cancellation flag.
public func keepsakeOperation<T: Sendable>(
    _ body: @escaping @Sendable (ProgressListener, Cancellation) throws -> T
) -> ProgressingOperation<T> {
    let stream = ProgressStream()
    let task = Task {
        defer { stream.finish() }
        return try await keepsakeBackground { flag in try body(stream, flag) }
    }
    return ProgressingOperation(progress: stream.reports, result: task)
}

/// A `ByteSink` writing into a `FileHandle` (a file, a pipe to an upload); closes it on finish.
public final class FileHandleSink: ByteSink, @unchecked Sendable {
    private let handle: FileHandle
    public init(_ handle: FileHandle) { self.handle = handle }
    public func write(chunk: Data) throws { try handle.write(contentsOf: chunk) }
    public func finish() throws { try handle.close() }
}

/// A `ByteSource` reading from a `FileHandle` (a file, a pipe from a download).
public final class FileHandleSource: ByteSource, @unchecked Sendable {
    private let handle: FileHandle
    public init(_ handle: FileHandle) { self.handle = handle }
    public func read(maxLen: UInt32) throws -> Data {
        try handle.read(upToCount: Int(min(maxLen, 1 << 16))) ?? Data()
    }
}

/// Backs `store` up to the file `path`, with progress.
public func backup(
    _ store: ChatStore, keyring: Keyring, to path: String, options: BackupOptions? = nil
) -> ProgressingOperation<BackupReport> {
    keepsakeOperation { listener, flag in
        try backupToPath(store: store, keyring: keyring, path: path, options: options, listener: listener, cancellation: flag)
    }
}

/// Backs `store` up into `handle` (closed at the end), with progress.
public func backup(
    _ store: ChatStore, keyring: Keyring, to handle: FileHandle, options: BackupOptions? = nil
) -> ProgressingOperation<BackupReport> {
    keepsakeOperation { listener, flag in
        try backupToSink(store: store, keyring: keyring, sink: FileHandleSink(handle), options: options, listener: listener, cancellation: flag)
    }
}

/// Restores the backup file `backupPath` into `targetPath`, with progress.
public func restore(
    from backupPath: String, secret: BackupSecret, to targetPath: String, replace: Bool = false
) -> ProgressingOperation<RestoreReport> {
    keepsakeOperation { listener, flag in
        try restoreFromPath(backupPath: backupPath, secret: secret, targetPath: targetPath, replace: replace, listener: listener, cancellation: flag)
    }
}

/// Restores from `handle` (a download) into `targetPath`, with progress.
public func restore(
    from handle: FileHandle, secret: BackupSecret, to targetPath: String, replace: Bool = false
) -> ProgressingOperation<RestoreReport> {
    keepsakeOperation { listener, flag in
        try restoreFromSource(source: FileHandleSource(handle), secret: secret, targetPath: targetPath, replace: replace, listener: listener, cancellation: flag)
    }
}

/// Reads a backup's public header off the caller's executor.
public func inspect(_ path: String) async throws -> BackupInfo {
    try await keepsakeBackground { _ in try inspectBackup(path: path) }
}

/// A `Logger` from a closure.
public final class ClosureLogger: Logger, @unchecked Sendable {
    private let body: @Sendable (LogLevel, String, String) -> Void
    public init(_ body: @escaping @Sendable (LogLevel, String, String) -> Void) { self.body = body }
    public func log(level: LogLevel, target: String, message: String) { body(level, target, message) }
}
