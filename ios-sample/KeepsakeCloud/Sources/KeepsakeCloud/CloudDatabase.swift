import Foundation

/// What the iCloud store needs from CloudKit, as plain Swift: CloudKit's private database in the
/// app (`CloudKitDatabase`), an in-memory database with injected failures in the Linux tests, so
/// that `CloudBlobStore`'s logic passes the conformance suite here, not only on a device.
public protocol CloudDatabase: AnyObject, Sendable {
    /// The change feed's position (`CKServerChangeToken` in CloudKit).
    associatedtype Token

    /// Creates the store's zone if needed (saving an existing zone is harmless).
    func prepareZone() async throws
    /// Saves a record: `.replace` whatever is there, or `.createOnly`, which fails with
    /// `serverRecordChanged` when the record exists. `asset` is a file with the bytes, or nil
    /// for an empty object.
    func save(recordName: String, fields: CloudFields, asset: URL?, policy: CloudSavePolicy) async throws
    /// The record's size and, with `asset`, a local file with its bytes; nil when there is none.
    func fetch(recordName: String, asset: Bool) async throws -> CloudFetched?
    /// Deletes a record (`unknownItem` when there was none).
    func delete(recordName: String) async throws
    /// One page of the zone's changes since `token`; `ZoneMirror.TokenExpired` when the server
    /// no longer knows the token.
    func changes(since token: Token?) async throws -> ZoneMirror<Token>.Page
}

/// The fields of an object's record besides its bytes.
public struct CloudFields: Sendable, Equatable {
    public var name: String
    public var top: String
    public var size: Int64
    public init(name: String, top: String, size: Int64) {
        self.name = name
        self.top = top
        self.size = size
    }
}

/// How a record is saved.
public enum CloudSavePolicy: Sendable { case replace, createOnly }

/// A fetched record: its size and, when asked for, a local file with its bytes.
public struct CloudFetched: Sendable {
    public var size: Int64
    public var asset: URL?
    public init(size: Int64, asset: URL?) {
        self.size = size
        self.asset = asset
    }
}

/// A failed database call with its CloudKit code (nil: not CloudKit's) and CloudKit's wait.
public struct CloudDatabaseError: Error, Sendable {
    public var code: CloudErrorCode?
    public var retryAfterSeconds: Double?
    public var detail: String
    public init(code: CloudErrorCode?, retryAfterSeconds: Double? = nil, detail: String) {
        self.code = code
        self.retryAfterSeconds = retryAfterSeconds
        self.detail = detail
    }
}
