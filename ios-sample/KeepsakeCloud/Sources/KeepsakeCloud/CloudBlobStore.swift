import Foundation
import Keepsake

/// A Keepsake repository in a CloudKit zone: one record per object, named from the object name
/// (`CloudRecordNames`), with the fields `name`, `top`, `size` and the bytes as an asset. Plain
/// Swift over a `CloudDatabase`, so the same logic runs against CloudKit in the app
/// (`CloudKitBlobStore`) and against an in-memory database in the Linux tests.
///
/// - `put` saves with `.replace`; `create` saves with `.createOnly`, which the server refuses with
///   `serverRecordChanged` when the name is taken: an atomic create-if-absent, also across devices.
/// - `get` downloads the asset and reads the range from the file (CloudKit has no ranged
///   download; a pack is a few MiB).
/// - `list` reads the zone's change feed into a `ZoneMirror` (consistent, unlike queries).
/// - One attempt per call; failures are typed by `CloudErrorPolicy` and retried by the core's
///   RetryingStore around every store a Repository gets.
public final class CloudBlobStore<Database: CloudDatabase>: BlobStore, @unchecked Sendable {
    public let database: Database
    private let mirror = ZoneMirror<Database.Token>()
    private let zoneLock = NSLock()
    private var zoneReady = false
    private let scratch: URL

    public init(database: Database) {
        self.database = database
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-cloud-\(UUID().uuidString)", isDirectory: true)
    }

    deinit { try? FileManager.default.removeItem(at: scratch) }

    /// Bytes the repository takes in the zone (from the last listing).
    public var usedBytes: Int64 { mirror.totalBytes }

    public func put(name: String, data: Data) throws {
        try save(name: name, data: data, policy: .replace, operation: "put")
    }

    public func create(name: String, data: Data) throws -> Bool {
        do {
            try save(name: name, data: data, policy: .createOnly, operation: "create")
            return true
        } catch let failure as CloudDatabaseError where CloudErrorPolicy.meansTaken(failure.code) {
            return false
        }
    }

    public func get(name: String, range: ByteRange?) throws -> Data {
        guard let record = try fetch(name: name, asset: true, operation: "get") else {
            throw BlobStoreError.NotFound(name: name)
        }
        // An empty object is saved without an asset.
        guard let url = record.asset else { return Data() }
        do {
            return try readRange(of: url, offset: range?.offset ?? 0, length: range?.len)
        } catch {
            throw BlobStoreError.Transient(detail: "iCloud: get \(name): reading the downloaded asset: \(error)")
        }
    }

    public func list(prefix: String) throws -> [ObjectInfo] {
        try prepareZone()
        let database = database
        do {
            try mirror.refresh { token in try runBlocking { try await database.changes(since: token) } }
        } catch {
            throw typed(error, "list", prefix)
        }
        return mirror.list(prefix: prefix).map { ObjectInfo(name: $0.name, size: $0.size) }
    }

    public func delete(name: String) throws {
        try prepareZone()
        let (database, record) = (database, try CloudRecordNames.recordName(for: name))
        do {
            try runBlocking { try await database.delete(recordName: record) }
        } catch let failure as CloudDatabaseError where CloudErrorPolicy.meansAlreadyGone(failure.code) {
            // Nothing to delete: a success.
        } catch {
            throw typed(error, "delete", name)
        }
        mirror.noteDeleted(name)
    }

    public func stat(name: String) throws -> Int64? {
        try fetch(name: name, asset: false, operation: "stat")?.size
    }

    // MARK: calls

    private func prepareZone() throws {
        zoneLock.lock()
        defer { zoneLock.unlock() }
        if zoneReady { return }
        let database = database
        do {
            try runBlocking { try await database.prepareZone() }
        } catch {
            throw typed(error, "create the zone", "")
        }
        zoneReady = true
    }

    private func save(name: String, data: Data, policy: CloudSavePolicy, operation: String) throws {
        try prepareZone()
        let record = try CloudRecordNames.recordName(for: name)
        let fields = CloudFields(name: name, top: CloudRecordNames.top(of: name), size: Int64(data.count))
        var file: URL?
        if !data.isEmpty {
            do {
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                let url = scratch.appendingPathComponent(UUID().uuidString)
                try data.write(to: url)
                file = url
            } catch {
                throw BlobStoreError.Transient(detail: "iCloud: \(operation) \(name): staging the asset: \(error)")
            }
        }
        defer { if let file { try? FileManager.default.removeItem(at: file) } }
        let (database, asset) = (database, file)
        do {
            try runBlocking { try await database.save(recordName: record, fields: fields, asset: asset, policy: policy) }
        } catch let failure as CloudDatabaseError where policy == .createOnly && CloudErrorPolicy.meansTaken(failure.code) {
            throw failure
        } catch {
            throw typed(error, operation, name)
        }
        mirror.noteSaved(name, size: Int64(data.count))
    }

    private func fetch(name: String, asset: Bool, operation: String) throws -> CloudFetched? {
        try prepareZone()
        let (database, record) = (database, try CloudRecordNames.recordName(for: name))
        do {
            return try runBlocking { try await database.fetch(recordName: record, asset: asset) }
        } catch let failure as CloudDatabaseError where failure.code == .unknownItem {
            return nil
        } catch {
            throw typed(error, operation, name)
        }
    }

    /// `error` as the BlobStoreError Keepsake acts on.
    private func typed(_ error: Error, _ operation: String, _ name: String) -> BlobStoreError {
        if let typed = error as? BlobStoreError { return typed }
        guard let failure = error as? CloudDatabaseError else {
            return .Failed(detail: "iCloud: \(operation) \(name): \(error)")
        }
        return CloudErrorPolicy.blobStoreError(
            code: failure.code, retryAfterSeconds: failure.retryAfterSeconds, operation: operation, name: name,
            detail: failure.detail)
    }
}
