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
