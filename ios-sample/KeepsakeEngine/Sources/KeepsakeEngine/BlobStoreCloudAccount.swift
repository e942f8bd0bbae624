// The CloudAccount port over the app's BlobStore (the CloudKit store, or the demo's folder) and
// its account status: what the backup uses is the sum of the sizes the store lists, a repository
// exists when its config object does. The account itself is the app's (CloudKit's account status,
// Settings for signing in), handed in as closures.
import Foundation
import Keepsake
import KeepsakeFlow

public final class BlobStoreCloudAccount: CloudAccount, @unchecked Sendable {
    private let store: () throws -> BlobStore
    private let currentPlace: () async throws -> BackupPlace?
    private let signInWith: () async throws -> BackupPlace?
    private let freeBytes: () async -> UInt64?

    /// `store` is opened when first needed; `currentPlace` is nil while signed out; `signInWith`
    /// leads the user to sign in and answers the place afterwards; `freeBytes` is the
    /// account's free space when the service says.
    public init(store: @escaping () throws -> BlobStore,
                currentPlace: @escaping () async throws -> BackupPlace?,
                signInWith: @escaping () async throws -> BackupPlace?,
                freeBytes: @escaping () async -> UInt64? = { nil }) {
        self.store = store
        self.currentPlace = currentPlace
        self.signInWith = signInWith
        self.freeBytes = freeBytes
    }

    public func place() async throws -> BackupPlace? { try await currentPlace() }

    public func signIn() async throws -> BackupPlace? { try await signInWith() }

    public func usage() async throws -> CloudUsage {
        // The store blocks its thread (Keepsake's stores are synchronous): not the caller's.
        let store = store
        let listed = try await Task.detached { try typed { try store().list(prefix: "") } }.value
        let bytes = listed.reduce(UInt64(0)) { $0 + UInt64(max(0, $1.size)) }
        return CloudUsage(backupBytes: bytes, accountFreeBytes: await freeBytes())
    }

    public func hasRepository() async throws -> Bool {
        let store = store
        return try await Task.detached { try typed { try store().stat(name: "config") } }.value != nil
    }
}

private func typed<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as BlobStoreError {
        throw KeepsakeFlowError(blobStoreFailure(error), "the backup storage: \(error)")
    }
}

/// A store's own failure (before Keepsake's retries) as the screens explain it.
public func blobStoreFailure(_ error: BlobStoreError) -> Failure {
    switch error {
    case .QuotaExceeded: return .storageFull
    case .Unauthorized: return .signInRequired
    case .Transient, .Throttled: return .storageUnavailable
    case .NotFound, .Failed: return .storageUnavailable
    }
}

/// A storage failure's kind (after Keepsake's retries) as the screens explain it.
func storageFailure(_ kind: StorageFailure) -> Failure {
    switch kind {
    case .quotaExceeded: return .storageFull
    case .unauthorized: return .signInRequired
    case .transient, .throttled: return .storageUnavailable
    case .other: return .storageUnavailable
    }
}
