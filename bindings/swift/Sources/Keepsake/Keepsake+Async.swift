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

    /// Calls `action` when the consumer's task is cancelled while it iterates `reports`.
    func onCancelledConsumer(_ action: @escaping @Sendable () -> Void) {
        continuation.onTermination = { termination in
            if case .cancelled = termination { action() }
        }
    }

    /// Ends the stream (call when the operation is over).
    public func finish() {
        continuation.finish()
    }
}

/// A long operation with its progress: `progress` yields reports while it runs and finishes when
/// it ends; `result` waits for the outcome. Cancellation is structured: cancelling the task that
/// iterates `progress` or awaits `result` (a SwiftUI `.task`, a parent `Task`) cancels the Rust
/// work, which stops at its next check, removes its temporary files and throws
/// `KeepsakeError.Cancelled`; so does `cancel()`.
public struct ProgressingOperation<T: Sendable>: Sendable {
    /// Progress reports, newest kept when the consumer is slow; `done` never decreases.
    public let progress: AsyncStream<ProgressReport>
    private let task: Task<T, Error>

    fileprivate init(progress: AsyncStream<ProgressReport>, task: Task<T, Error>) {
        self.progress = progress
        self.task = task
    }

    /// The outcome. Cancelling the awaiting task cancels the operation.
    public var result: T {
        get async throws {
            try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                task.cancel()
            }
        }
    }

    /// Stops the operation; `result` then throws `KeepsakeError.Cancelled`.
    public func cancel() {
        task.cancel()
    }
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
    stream.onCancelledConsumer { task.cancel() }
    return ProgressingOperation(progress: stream.reports, task: task)
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
    public func read(maxLen: Int64) throws -> Data {
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

/// Backs `store` up to the file `path`, calling `onProgress` (on a worker thread) as it goes.
/// Structured: cancelling the calling task cancels the backup.
public func backup(
    _ store: ChatStore, keyring: Keyring, to path: String, options: BackupOptions? = nil,
    onProgress: @escaping @Sendable (ProgressReport) -> Void
) async throws -> BackupReport {
    try await keepsakeBackground { flag in
        try backupToPath(store: store, keyring: keyring, path: path, options: options,
                         listener: ClosureProgress(onProgress), cancellation: flag)
    }
}

/// Restores the backup file `backupPath` into `targetPath`, calling `onProgress` (on a worker
/// thread) as it goes. Structured: cancelling the calling task cancels the restore.
public func restore(
    from backupPath: String, secret: BackupSecret, to targetPath: String, replace: Bool = false,
    onProgress: @escaping @Sendable (ProgressReport) -> Void
) async throws -> RestoreReport {
    try await keepsakeBackground { flag in
        try restoreFromPath(backupPath: backupPath, secret: secret, targetPath: targetPath, replace: replace,
                            listener: ClosureProgress(onProgress), cancellation: flag)
    }
}

/// A `ProgressListener` from a closure.
public final class ClosureProgress: ProgressListener, @unchecked Sendable {
    private let body: @Sendable (ProgressReport) -> Void
    public init(_ body: @escaping @Sendable (ProgressReport) -> Void) { self.body = body }
    public func onProgress(report: ProgressReport) { body(report) }
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

/// Errors read as sentences: `localizedDescription` is the error's detail ("Wrong key: the secret
/// opens no key slot of this backup."), and `recoverySuggestion` says what the user can do.
extension KeepsakeError: LocalizedError {
    /// The detail sentence every case carries.
    public var detail: String {
        switch self {
        case .WrongKey(let detail), .RecoveryKeyTypo(let detail), .PrfUnsupported(let detail),
             .BadPrfOutput(let detail), .NoMatchingSlot(let detail), .MalformedWebAuthn(let detail),
             .Corrupted(let detail), .Truncated(let detail), .UnsupportedVersion(let detail),
             .Cancelled(let detail), .Io(let detail), .Database(let detail), .InvalidArgument(let detail),
             .TargetExists(let detail), .ObjectMissing(let detail), .Storage(let detail, _, _),
             .RepositoryLocked(let detail), .WrongPassword(let detail), .KeyringRolledBack(let detail),
             .LastSlot(let detail), .UnauthenticatedKeyring(let detail), .LegacySlot(let detail),
             .Internal(let detail), .MediaUnavailable(_, let detail):
            return detail
        }
    }

    public var errorDescription: String? { detail }

    public var recoverySuggestion: String? {
        switch self {
        case .WrongKey: return "Check that this is the right backup, or use another passkey or the recovery key."
        case .RecoveryKeyTypo: return "Check the recovery key for a mistyped character."
        case .PrfUnsupported: return "This passkey provider cannot protect backups: use the recovery key."
        case .NoMatchingSlot: return "This passkey was not enrolled for this backup: use another passkey or the recovery key."
        case .Corrupted, .Truncated: return "The backup file is damaged: download it again or use an older backup."
        case .UnsupportedVersion: return "Update the app to open this backup."
        case .TargetExists: return "Restore with replace, or choose another location."
        case .Storage(_, let kind, _):
            switch kind {
            case .quotaExceeded: return "The cloud storage is full: free some space, then the backup resumes."
            case .unauthorized: return "The cloud storage refused the sign-in: sign in again, then the backup resumes."
            case .throttled: return "The cloud storage asked to slow down: the backup runs again later and resumes."
            case .transient, .other: return "The cloud storage failed: the backup runs again later and resumes."
            }
        case .RepositoryLocked: return "Another device is writing to this backup: try again later."
        case .WrongPassword: return "Check the password, or use a passkey or the recovery key."
        case .KeyringRolledBack: return "Keep this device's current keys: an older set may hold keys removed since."
        case .LastSlot: return "Add another passkey, recovery key or password before removing this one."
        case .UnauthenticatedKeyring:
            return "This backup was made by an older version: restore it, then set up new keys for this device."
        case .LegacySlot: return "Unlock once with that passkey, recovery key or password on this device, or remove it."
        case .MediaUnavailable: return "This attachment was not in the backup: everything else is restored."
        default: return nil
        }
    }
}
