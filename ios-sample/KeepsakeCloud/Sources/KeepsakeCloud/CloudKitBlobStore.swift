// Apple platforms only: CloudKit does not exist on Linux, where CloudBlobStore's logic is tested
// over an in-memory CloudDatabase (the conformance suite included). Built by ios.yml; the
// CloudKit calls run in KeepsakeSampleTests on a simulator or device signed in to iCloud.
#if canImport(CloudKit)
import CloudKit
import Foundation
import Keepsake

/// The iCloud store of the sample: `CloudBlobStore` over CloudKit's **private** database
/// (counted against the user's iCloud storage, readable only by this app on the user's devices).
public typealias CloudKitBlobStore = CloudBlobStore<CloudKitDatabase>

public extension CloudBlobStore where Database == CloudKitDatabase {
    /// A store in zone `zoneName` of `container`'s private database (the default container is
    /// the app's first `iCloud.…` container from its entitlements).
    convenience init(container: CKContainer = .default(), zoneName: String = "Keepsake") {
        self.init(database: CloudKitDatabase(container: container, zoneName: zoneName))
    }

    /// Whether an iCloud account can be used now (`.available`); blocks (tests, worker threads).
    func accountStatus() throws -> CKAccountStatus {
        let database = database
        return try runBlocking { try await database.container.accountStatus() }
    }

    /// As `accountStatus()`, for async callers (the screens: never block the main thread).
    func currentAccountStatus() async throws -> CKAccountStatus {
        try await database.container.accountStatus()
    }
}

/// One record of type `KeepsakeObject` per object in a custom zone; fields `name` (String),
/// `top` (String), `size` (Int64), `asset` (CKAsset). Deploy that schema to production in the
/// CloudKit console; nothing is queried, so no index is needed.
public final class CloudKitDatabase: CloudDatabase, @unchecked Sendable {
    public typealias Token = CKServerChangeToken
    public static let recordType = "KeepsakeObject"

    public let container: CKContainer
    private let database: CKDatabase
    private let zoneID: CKRecordZone.ID

    public init(container: CKContainer, zoneName: String) {
        self.container = container
        database = container.privateCloudDatabase
        zoneID = CKRecordZone.ID(zoneName: zoneName, ownerName: CKCurrentUserDefaultName)
    }

    public func prepareZone() async throws {
        try await call { _ = try await self.database.modifyRecordZones(saving: [CKRecordZone(zoneID: self.zoneID)], deleting: []) }
    }

    public func save(recordName: String, fields: CloudFields, asset: URL?, policy: CloudSavePolicy) async throws {
        let id = CKRecord.ID(recordName: recordName, zoneID: zoneID)
        let record = CKRecord(recordType: Self.recordType, recordID: id)
        record["name"] = fields.name as CKRecordValue
        record["top"] = fields.top as CKRecordValue
        record["size"] = fields.size as CKRecordValue
        if let asset { record["asset"] = CKAsset(fileURL: asset) }
        // .allKeys replaces whatever the server holds; .ifServerRecordUnchanged on a record
        // that has no change tag is refused with serverRecordChanged when the name exists.
        let savePolicy: CKModifyRecordsOperation.RecordSavePolicy = policy == .replace ? .allKeys : .ifServerRecordUnchanged
        try await call {
            let results = try await self.database.modifyRecords(
                saving: [record], deleting: [], savePolicy: savePolicy, atomically: true)
            if case .failure(let error) = results.saveResults[id] { throw error }
        }
    }

    public func fetch(recordName: String, asset: Bool) async throws -> CloudFetched? {
        let id = CKRecord.ID(recordName: recordName, zoneID: zoneID)
        return try await call {
            let results = try await self.database.records(for: [id], desiredKeys: asset ? ["size", "asset"] : ["size"])
            guard let result = results[id] else { return nil }
            let record = try result.get()
            return CloudFetched(size: (record["size"] as? Int64) ?? 0, asset: (record["asset"] as? CKAsset)?.fileURL)
        }
    }

    public func delete(recordName: String) async throws {
        let id = CKRecord.ID(recordName: recordName, zoneID: zoneID)
        try await call {
            let results = try await self.database.modifyRecords(saving: [], deleting: [id])
            if case .failure(let error) = results.deleteResults[id] { throw error }
        }
    }

    public func changes(since token: CKServerChangeToken?) async throws -> ZoneMirror<CKServerChangeToken>.Page {
        do {
            let changes = try await database.recordZoneChanges(
                inZoneWith: zoneID, since: token, desiredKeys: ["name", "size"], resultsLimit: 400)
            var saved: [(name: String, size: Int64)] = []
            for (_, result) in changes.modificationResultsByID {
                let record = try result.get().record
                guard let name = record["name"] as? String else { continue }
                saved.append((name: name, size: (record["size"] as? Int64) ?? 0))
            }
            let deleted = changes.deletions.compactMap { CloudRecordNames.objectName(forRecordName: $0.recordID.recordName) }
            return ZoneMirror.Page(saved: saved, deleted: deleted, token: changes.changeToken, moreComing: changes.moreComing)
        } catch let error as CKError where error.code == .changeTokenExpired {
            throw ZoneMirror<CKServerChangeToken>.TokenExpired()
        } catch {
            throw Self.databaseError(error)
        }
    }

    /// Runs a CloudKit call, its failure as a `CloudDatabaseError` with CloudKit's code and wait.
    private func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw Self.databaseError(error)
        }
    }

    private static func databaseError(_ error: Error) -> CloudDatabaseError {
        var error = error
        // A partial failure is judged by its item's own error.
        if let ck = error as? CKError, ck.code == .partialFailure, let inner = ck.partialErrorsByItemID?.values.first {
            error = inner
        }
        let ck = error as? CKError
        var code = ck.flatMap { CloudErrorCode(rawValue: $0.code.rawValue) }
        // A URL-session failure under CloudKit is the network's: retry it.
        if code == nil && (error as NSError).domain == NSURLErrorDomain { code = .networkFailure }
        return CloudDatabaseError(code: code, retryAfterSeconds: ck?.retryAfterSeconds, detail: error.localizedDescription)
    }
}
#endif
