// Shared by the binding tests: the same deterministic chat database as the Kotlin tests
// (TestChats.kt), a full read-back of a store for comparisons, and temporary folders.
import Foundation
import Keepsake
import XCTest

let rp = "chat.example.com"

/// A fresh temporary folder.
func tempDir(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// `count` messages of `conversation`, ids from `firstId`, replies chaining back (as TestChats.kt).
func sampleMessages(_ conversation: Int64, _ count: Int, _ firstId: Int64) -> [Message] {
    (0..<count).map { i in
        let id = firstId + Int64(i)
        return Message(
            id: id, conversationId: conversation, sender: i % 2 == 0 ? "alice" : "bob", kind: .text,
            body: "message \(i) in \(conversation): héllo 👋", sentAt: 1_700_000_000_000 + Int64(i) * 1000,
            replyTo: i > 0 ? id - 1 : nil, delivery: .read)
    }
}

/// Two conversations (one direct, one group with participants) and 75 messages.
@discardableResult
func seedChats(_ path: String) throws -> RecordCounts {
    let store = try ChatStore.open(path: path)
    defer { try? store.closeDatabase() }
    try store.upsertConversation(conversation: Conversation(id: 1, kind: .direct, createdAt: 1_700_000_000_000))
    try store.upsertConversation(conversation: Conversation(id: 2, kind: .group, title: "Family", createdAt: 1_700_000_000_500, pinned: true))
    try store.upsertParticipant(participant: Participant(conversationId: 2, userId: "alice", displayName: "Alice", role: .owner, joinedAt: 1))
    try store.upsertParticipant(participant: Participant(conversationId: 2, userId: "bob", role: .member, joinedAt: 2))
    try store.insertMessages(messages: sampleMessages(1, 30, 1_000))
    try store.insertMessages(messages: sampleMessages(2, 45, 2_000))
    return try store.counts()
}

/// One conversation as read back: itself, its participants, its whole timeline.
struct ConversationContent: Equatable {
    let conversation: Conversation?
    let participants: [Participant]
    let messages: [Message]
}

/// Every conversation of the database at `path` (ids 1 to the conversation count, as the test
/// data uses), page by page.
func readBack(_ path: String) throws -> [ConversationContent] {
    let store = try ChatStore.open(path: path)
    defer { try? store.closeDatabase() }
    let count = try store.counts().conversations
    let ids: [Int64] = count == 0 ? [] : Array(1...count)
    return try ids.map { id in
        var all: [Message] = []
        var page = try store.timeline(conversationId: id, before: nil, limit: 7)
        all += page.messages
        while let next = page.next {
            page = try store.timeline(conversationId: id, before: next, limit: 7)
            all += page.messages
        }
        return ConversationContent(conversation: try store.conversation(id: id),
                                   participants: try store.participants(conversationId: id), messages: all)
    }
}

/// Asserts `body` throws the `KeepsakeError` case `matches` accepts; returns it.
@discardableResult
func assertKeepsakeError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
                            _ matches: (KeepsakeError) -> Bool) -> KeepsakeError? {
    do {
        _ = try body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let error as KeepsakeError {
        XCTAssertTrue(matches(error), "unexpected \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("not a KeepsakeError: \(error)", file: file, line: line)
    }
    return nil
}

/// The size of the file at `path`, nil when it cannot be read.
func fileSize(_ path: String) -> Int64? {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value
}
