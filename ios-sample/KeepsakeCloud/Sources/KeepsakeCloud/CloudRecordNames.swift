import Foundation
import Keepsake

/// Keepsake object names as CloudKit record names and back. A record name must be ASCII, at
/// most 255 characters, and must not start with `_`; Keepsake's names (`data/3fa2…`, `config`)
/// carry `/`. So: `k-` followed by the name with every byte outside `[A-Za-z0-9.-]` written as
/// `~` and two hex digits (`data/3f` is `k-data~2f3f`). Reversible, so a deletion in the zone's
/// change feed (which names only the record) maps back to its object.
public enum CloudRecordNames {
    /// Longest record name CloudKit accepts.
    public static let maxLength = 255

    public static func recordName(for name: String) throws -> String {
        var out = "k-"
        for byte in Array(name.utf8) {
            if isPlain(byte) {
                out.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                out += String(format: "~%02x", byte)
            }
        }
        guard out.utf8.count <= maxLength else {
            throw BlobStoreError.Failed(detail: "iCloud: the object name \(name) is too long for a record name")
        }
        return out
    }

    /// The object a record name stands for, or nil for a record this store did not name.
    public static func objectName(forRecordName record: String) -> String? {
        guard record.hasPrefix("k-") else { return nil }
        var bytes: [UInt8] = []
        var rest = Array(record.utf8.dropFirst(2))[...]
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "~") {
                guard rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) else {
                    return nil
                }
                bytes.append(value)
                rest = rest.dropFirst(2)
            } else if isPlain(byte) {
                bytes.append(byte)
            } else {
                return nil
            }
        }
        return String(bytes: bytes, encoding: .utf8)
    }

    /// The first path segment (`data` of `data/3f…`), "-" for a name without one: a field on
    /// each record, so that the sample's queries can be narrowed the way the listing is.
    public static func top(of name: String) -> String {
        guard let slash = name.firstIndex(of: "/") else { return "-" }
        return String(name[..<slash])
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
