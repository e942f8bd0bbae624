import Foundation

/// The names and sizes of the objects in the store's CloudKit zone, kept current from the
/// zone's change feed (`recordZoneChanges(since: token)`): the first listing reads every record's
/// name and size (never the assets), later ones only what changed since the last token. Unlike
/// `CKQuery`, whose indexes lag behind writes, the change feed shows a save as soon as it is
/// acknowledged, which Keepsake's locks and snapshots rely on (docs/STORES.md).
///
/// `Token` is `CKServerChangeToken` in the app and anything in the tests. Thread-safe.
public final class ZoneMirror<Token>: @unchecked Sendable {
    /// One page of the change feed.
    public struct Page {
        /// Records saved or changed: object name and size.
        public var saved: [(name: String, size: Int64)]
        /// Objects deleted.
        public var deleted: [String]
        /// The token after this page.
        public var token: Token?
        /// More pages follow.
        public var moreComing: Bool

        public init(saved: [(name: String, size: Int64)], deleted: [String], token: Token?, moreComing: Bool) {
            self.saved = saved
            self.deleted = deleted
            self.token = token
            self.moreComing = moreComing
        }
    }

    /// Thrown by a fetch whose token the server no longer knows (`changeTokenExpired`).
    public struct TokenExpired: Error {
        public init() {}
    }

    private let lock = NSLock()
    private let refreshLock = NSLock()
    private var objects: [String: Int64] = [:]
    private var token: Token?

    public init() {}

    /// Brings the mirror up to date: calls `fetch` with the last token until no page is left.
    /// An expired token starts over from nothing, once. Listings are serialized, writes are not.
    public func refresh(_ fetch: (Token?) throws -> Page) throws {
        refreshLock.lock()
        defer { refreshLock.unlock() }
        var startedOver = false
        while true {
            let page: Page
            do {
                page = try fetch(locked { token })
            } catch is TokenExpired where !startedOver {
                startedOver = true
                locked {
                    token = nil
                    objects = [:]
                }
                continue
            }
            locked {
                for deleted in page.deleted { objects[deleted] = nil }
                for saved in page.saved { objects[saved.name] = saved.size }
                token = page.token
            }
            if !page.moreComing { return }
        }
    }

    /// Objects whose name starts with `prefix`, sorted by name.
    public func list(prefix: String) -> [(name: String, size: Int64)] {
        locked { objects.filter { $0.key.hasPrefix(prefix) } }
            .map { (name: $0.key, size: $0.value) }
            .sorted { $0.name < $1.name }
    }

    /// Records this device's own save, so a listing shows it even before the feed does.
    public func noteSaved(_ name: String, size: Int64) { locked { objects[name] = size } }

    /// Records this device's own delete.
    public func noteDeleted(_ name: String) { locked { objects[name] = nil } }

    /// Total bytes of the objects seen: what the backup uses in iCloud.
    public var totalBytes: Int64 { locked { objects.values.reduce(0, +) } }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
