import Foundation
import Keepsake

/// CloudKit's error codes with `CKError.Code`'s raw values, so the mapping below is plain Swift
/// (tested on Linux) and the CloudKit store converts with `CloudErrorCode(rawValue:)`.
public enum CloudErrorCode: Int, CaseIterable, Sendable {
    case internalError = 1, partialFailure, networkUnavailable, networkFailure, badContainer
    case serviceUnavailable, requestRateLimited, missingEntitlement, notAuthenticated, permissionFailure
    case unknownItem, invalidArguments, resultsTruncated, serverRecordChanged, serverRejectedRequest
    case assetFileNotFound, assetFileModified, incompatibleVersion, constraintViolation, operationCancelled
    case changeTokenExpired, batchRequestFailed, zoneBusy, badDatabase, quotaExceeded
    case zoneNotFound, limitExceeded, userDeletedZone, tooManyParticipants, alreadyShared
    case referenceViolation, managedAccountRestricted, participantMayNeedVerification, serverResponseLost
    case assetNotAvailable, accountTemporarilyUnavailable
}

/// What a CloudKit failure means for Keepsake. The store makes one attempt per call and reports
/// the kind; the core's RetryingStore (around every store a Repository gets) retries `Transient`
/// and `Throttled`, waiting at least `retryAfterMs`, which comes from CloudKit's
/// `CKErrorRetryAfterKey`. Retrying here as well would multiply the attempts.
public enum CloudErrorPolicy {
    /// The BlobStoreError for a failed `operation` on object `name` with CloudKit code `code`
    /// (nil: not a CloudKit error), CloudKit's retry-after in seconds, and its description.
    public static func blobStoreError(
        code: CloudErrorCode?, retryAfterSeconds: Double?, operation: String, name: String, detail: String
    ) -> BlobStoreError {
        let text = "iCloud: \(operation) \(name): \(detail)"
        let waitMs = retryAfterSeconds.map { Int64(max(0, $0) * 1000) }
        guard let code else { return .Failed(detail: text) }
        switch code {
        case .requestRateLimited, .zoneBusy:
            return .Throttled(detail: text, retryAfterMs: waitMs)
        case .serviceUnavailable:
            return waitMs == nil ? .Transient(detail: text) : .Throttled(detail: text, retryAfterMs: waitMs)
        case .networkUnavailable, .networkFailure, .serverResponseLost, .assetNotAvailable:
            return .Transient(detail: text)
        case .quotaExceeded:
            return .QuotaExceeded(detail: text)
        case .notAuthenticated, .permissionFailure, .managedAccountRestricted, .accountTemporarilyUnavailable,
             .missingEntitlement, .badContainer:
            return .Unauthorized(detail: text)
        case .unknownItem:
            return .NotFound(name: name)
        default:
            return .Failed(detail: text)
        }
    }

    /// Whether `code` answers a conditional create with "the name is taken": the save of a new
    /// record with `.ifServerRecordUnchanged` fails with `serverRecordChanged` when one exists.
    public static func meansTaken(_ code: CloudErrorCode?) -> Bool { code == .serverRecordChanged }

    /// Whether `code` on a delete means there was nothing to delete (a success for Keepsake).
    public static func meansAlreadyGone(_ code: CloudErrorCode?) -> Bool { code == .unknownItem }
}
