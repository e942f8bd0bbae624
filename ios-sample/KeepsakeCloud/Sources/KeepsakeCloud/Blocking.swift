import Foundation

/// Runs `body` (CloudKit's async API) to completion on the calling thread. The BlobStore
/// methods are synchronous and Keepsake calls them on its own worker threads, never on the main
/// thread or a Swift concurrency thread, so blocking here holds up nothing else.
public func runBlocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task.detached {
        do {
            box.result = .success(try await body())
        } catch {
            box.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// `length` bytes from `offset` of the file at `url` (fewer at its end, none past it; the
/// whole rest when `length` is nil): CloudKit downloads a whole asset, and a ranged read takes
/// its range from the downloaded file.
public func readRange(of url: URL, offset: Int64, length: Int64?) throws -> Data {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    let size = Int64(try handle.seekToEnd())
    guard offset < size else { return Data() }
    try handle.seek(toOffset: UInt64(offset))
    let available = size - offset
    let count = min(length ?? available, available)
    return try handle.read(upToCount: Int(count)) ?? Data()
}
