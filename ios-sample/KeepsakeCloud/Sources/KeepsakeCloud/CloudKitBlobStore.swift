// Apple platforms only: CloudKit does not exist on Linux, where the plain parts of this package
// (record names, error kinds, the zone mirror, ranged reads) are tested. Built by ios.yml.
#if canImport(CloudKit)
import CloudKit
import Foundation
import Keepsake

/// A Keepsake repository in the user's iCloud: one record per object in a custom zone of the
/// app's CloudKit **private** database (counted against the user's iCloud storage, readable only
/// by this app on the user's devices).
///
/// - Record type `KeepsakeObject`, record name from the object name (`CloudRecordNames`),
///   fields `name` (String), `top` (String, first path segment), `size` (Int64) and `asset`
///   (CKAsset with the bytes). `size` lets listings and `stat` skip the asset.
/// - `put` saves with `.allKeys` (replace whatever is there); `create` saves a new record with
///   `.ifServerRecordUnchanged`, which the server refuses with `serverRecordChanged` when the name
///   is taken: an atomic create-if-absent, also between devices.
/// - `get` downloads the asset and reads the range from the file (CloudKit has no ranged
///   asset download; a pack is at most a few MiB).
/// - `list` reads the zone's change feed into a `ZoneMirror` (consistent, unlike queries).
/// - One attempt per call; failures are typed by `CloudErrorPolicy` and retried by the core.
///
/// Schema (deploy to production in the CloudKit console): the record type with those four
/// fields; no indexes are needed, since nothing is queried.
public final class CloudKitBlobStore: BlobStore, @unchecked Sendable {
    public static let recordType = "KeepsakeObject"

    private let container: CKContainer
    private let database: CKDatabase
    private let zoneID: CKRecordZone.ID
    private let mirror = ZoneMirror<CKServerChangeToken>()
    private let zoneLock = NSLock()
    private var zoneReady = false
    private let scratch: URL

    /// A store in zone `zoneName` of `container`'s private database (the default container is
    /// the app's `iCloud.<bundle id>` from its entitlements).
    public init(container: CKContainer = .default(), zoneName: String = "Keepsake") {
        self.container = container
        database = container.privateCloudDatabase
        zoneID = CKRecordZone.ID(zoneName: zoneName, ownerName: CKCurrentUserDefaultName)
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keepsake-cloudkit", isDirectory: true)
    }

    /// Whether an iCloud account can be used now (`.available`), for the backup screen.
    public func accountStatus() throws -> CKAccountStatus {
        let container = container
        return try runBlocking { try await container.accountStatus() }
    }

    /// As `accountStatus()`, for async callers (the screens: never block the main thread).
    public func currentAccountStatus() async throws -> CKAccountStatus {
        try await container.accountStatus()
    }

    /// Bytes the repository takes in iCloud (from the last listing).
    public var usedBytes: Int64 { mirror.totalBytes }

    // MARK: BlobStore

    public func put(name: String, data: Data) throws {
        try save(name: name, data: data, policy: .allKeys, operation: "put")
    }

    public func create(name: String, data: Data) throws -> Bool {
        do {
            try save(name: name, data: data, policy: .ifServerRecordUnchanged, operation: "create")
            return true
        } catch let failure as CloudCallFailure where CloudErrorPolicy.meansTaken(failure.code) {
            return false
        }
    }

    public func get(name: String, range: ByteRange?) throws -> Data {
        let record = try fetch(name: name, keys: ["asset"], operation: "get")
        guard let record else { throw BlobStoreError.NotFound(name: name) }
        guard let url = (record["asset"] as? CKAsset)?.fileURL else {
            // An empty object is saved without an asset.
            return Data()
        }
        do {
            return try readRange(of: url, offset: range?.offset ?? 0, length: range?.len)
        } catch {
            throw BlobStoreError.Transient(detail: "iCloud: get \(name): reading the downloaded asset: \(error)")
        }
    }

    public func list(prefix: String) throws -> [ObjectInfo] {
        try ensureZone()
        let (database, zoneID) = (database, zoneID)
        try mirror.refresh { token in
            do {
                return try runBlocking {
                    let changes = try await database.recordZoneChanges(
                        inZoneWith: zoneID, since: token, desiredKeys: ["name", "size"], resultsLimit: 400)
                    var saved: [(name: String, size: Int64)] = []
                    for (_, result) in changes.modificationResultsByID {
                        let record = try result.get().record
                        guard let name = record["name"] as? String else { continue }
                        saved.append((name: name, size: (record["size"] as? Int64) ?? 0))
                    }
                    let deleted = changes.deletions.compactMap { CloudRecordNames.objectName(forRecordName: $0.recordID.recordName) }
                    return ZoneMirror<CKServerChangeToken>.Page(
                        saved: saved, deleted: deleted, token: changes.changeToken, moreComing: changes.moreComing)
                }
            } catch let error as CKError where error.code == .changeTokenExpired {
                throw ZoneMirror<CKServerChangeToken>.TokenExpired()
            } catch {
                throw typed(error, operation: "list", name: prefix).blobStoreError
            }
        }
        return mirror.list(prefix: prefix).map { ObjectInfo(name: $0.name, size: $0.size) }
    }

    public func delete(name: String) throws {
        try ensureZone()
        let id = try recordID(name)
        let database = database
        do {
            let results = try runBlocking { try await database.modifyRecords(saving: [], deleting: [id]) }
            if case .failure(let error) = results.deleteResults[id] { throw error }
        } catch {
            let failure = typed(error, operation: "delete", name: name)
            guard CloudErrorPolicy.meansAlreadyGone(failure.code) else { throw failure.blobStoreError }
        }
        mirror.noteDeleted(name)
    }

    public func stat(name: String) throws -> Int64? {
        guard let record = try fetch(name: name, keys: ["size"], operation: "stat") else { return nil }
        return (record["size"] as? Int64) ?? 0
    }

    // MARK: CloudKit calls

    /// Creates the zone on first use (saving an existing zone is harmless).
    private func ensureZone() throws {
        zoneLock.lock()
        defer { zoneLock.unlock() }
        if zoneReady { return }
        let (database, zone) = (database, CKRecordZone(zoneID: zoneID))
        do {
            _ = try runBlocking { try await database.modifyRecordZones(saving: [zone], deleting: []) }
        } catch {
            throw typed(error, operation: "create the zone", name: zoneID.zoneName).blobStoreError
        }
        zoneReady = true
    }

    private func recordID(_ name: String) throws -> CKRecord.ID {
        CKRecord.ID(recordName: try CloudRecordNames.recordName(for: name), zoneID: zoneID)
    }

    private func save(name: String, data: Data, policy: CKModifyRecordsOperation.RecordSavePolicy, operation: String) throws {
        try ensureZone()
        let record = CKRecord(recordType: Self.recordType, recordID: try recordID(name))
        record["name"] = name as CKRecordValue
        record["top"] = CloudRecordNames.top(of: name) as CKRecordValue
        record["size"] = Int64(data.count) as CKRecordValue
        var file: URL?
        if !data.isEmpty {
            do {
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                let url = scratch.appendingPathComponent(UUID().uuidString)
                try data.write(to: url)
                file = url
                record["asset"] = CKAsset(fileURL: url)
            } catch {
                throw BlobStoreError.Transient(detail: "iCloud: \(operation) \(name): staging the asset: \(error)")
            }
        }
        defer { if let file { try? FileManager.default.removeItem(at: file) } }
        let (database, id) = (database, record.recordID)
        do {
            let results = try runBlocking {
                try await database.modifyRecords(saving: [record], deleting: [], savePolicy: policy, atomically: true)
            }
            if case .failure(let error) = results.saveResults[id] { throw error }
        } catch {
            let failure = typed(error, operation: operation, name: name)
            if operation == "create" && CloudErrorPolicy.meansTaken(failure.code) { throw failure }
            throw failure.blobStoreError
        }
        mirror.noteSaved(name, size: Int64(data.count))
    }

    /// The record of `name` with `keys`, or nil when there is none.
    private func fetch(name: String, keys: [CKRecord.FieldKey], operation: String) throws -> CKRecord? {
        try ensureZone()
        let (database, id) = (database, try recordID(name))
        do {
            let results = try runBlocking { try await database.records(for: [id], desiredKeys: keys) }
            guard let result = results[id] else { return nil }
            return try result.get()
        } catch {
            let failure = typed(error, operation: operation, name: name)
            if failure.code == .unknownItem { return nil }
            throw failure.blobStoreError
        }
    }

    /// `error` with its CloudKit code (a partial failure's own item error first) and the
    /// BlobStoreError it means.
    private func typed(_ error: Error, operation: String, name: String) -> CloudCallFailure {
        var error = error
        if let ck = error as? CKError, ck.code == .partialFailure, let inner = ck.partialErrorsByItemID?.values.first {
            error = inner
        }
        if let typed = error as? BlobStoreError {
            return CloudCallFailure(code: nil, blobStoreError: typed)
        }
        let ck = error as? CKError
        let code = ck.flatMap { CloudErrorCode(rawValue: $0.code.rawValue) }
        // A URL-session failure under CloudKit is the network's: retry it.
        let isNetwork = (error as NSError).domain == NSURLErrorDomain
        let mapped = isNetwork && code == nil
            ? BlobStoreError.Transient(detail: "iCloud: \(operation) \(name): \(error.localizedDescription)")
            : CloudErrorPolicy.blobStoreError(
                code: code, retryAfterSeconds: ck?.retryAfterSeconds, operation: operation, name: name,
                detail: error.localizedDescription)
        return CloudCallFailure(code: code, blobStoreError: mapped)
    }
}

/// A CloudKit failure with its code, until it is handed to Keepsake as its BlobStoreError.
private struct CloudCallFailure: Error {
    let code: CloudErrorCode?
    let blobStoreError: BlobStoreError
}
#endif
