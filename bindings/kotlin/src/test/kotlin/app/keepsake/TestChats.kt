// Shared by the binding tests: a deterministic chat database, a full read-back of a store for
// comparisons, and temporary folders. Not a test class itself (test classes end in `Test`).
package app.keepsake

import java.io.File
import java.nio.file.Files

/** The relying party every test enrolls passkeys for. */
const val RP = "chat.example.com"

/** A fresh temporary folder, deleted when the JVM exits. */
fun tempDir(prefix: String): File =
    Files.createTempDirectory(prefix).toFile().also { dir -> Runtime.getRuntime().addShutdownHook(Thread { dir.deleteRecursively() }) }

/** [count] messages of [conversation], ids from [firstId], replies chaining back. */
fun sampleMessages(conversation: Long, count: Int, firstId: Long) = (0 until count).map { i ->
    Message(
        id = firstId + i, conversationId = conversation, sender = if (i % 2 == 0) "alice" else "bob",
        kind = MessageKind.TEXT, body = "message $i in $conversation: héllo 👋", sentAt = 1_700_000_000_000 + i * 1000L,
        delivery = DeliveryState.READ, replyTo = if (i > 0) firstId + i - 1 else null,
    )
}

/** Writes two conversations (one direct, one group with participants) and 75 messages. */
fun seedChats(path: String): RecordCounts = ChatStore.open(path).use { store ->
    store.upsertConversation(Conversation(id = 1, kind = ConversationKind.DIRECT, createdAt = 1_700_000_000_000))
    store.upsertConversation(Conversation(id = 2, kind = ConversationKind.GROUP, title = "Family", createdAt = 1_700_000_000_500, pinned = true))
    store.upsertParticipant(Participant(conversationId = 2, userId = "alice", displayName = "Alice", role = ParticipantRole.OWNER, joinedAt = 1))
    store.upsertParticipant(Participant(conversationId = 2, userId = "bob", role = ParticipantRole.MEMBER, joinedAt = 2))
    store.insertMessages(sampleMessages(1, 30, 1_000))
    store.insertMessages(sampleMessages(2, 45, 2_000))
    store.counts()
}

/**
 * Everything a store holds, read back through the bindings: every conversation (ids 1 to the
 * conversation count, which the test data uses) with its participants and its whole timeline,
 * page by page.
 */
fun readBack(store: ChatStore): List<Any?> = (1L..store.counts().conversations).map { id ->
    val messages = mutableListOf<Message>()
    var page = store.timeline(id, null, 7)
    messages += page.messages
    while (page.next != null) {
        page = store.timeline(id, page.next, 7)
        messages += page.messages
    }
    listOf(store.conversation(id), store.participants(id), messages)
}

/** [readBack] of the database at [path]. */
fun readBack(path: String): List<Any?> = ChatStore.open(path).use(::readBack)
