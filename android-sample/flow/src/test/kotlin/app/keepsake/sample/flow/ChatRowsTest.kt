// The chat screen's list keys: Compose's LazyColumn throws "Key ... was already used" on a
// duplicate, so every key must be unique across conversations and messages.
package app.keepsake.sample.flow

import kotlin.test.Test
import kotlin.test.assertEquals
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking

class ChatRowsTest {
    @Test
    fun `keys stay unique when conversation and message ids overlap`() {
        // What BindingsBackupEngine produces: conversations 1, 2 and the first messages 1, 2.
        val state = ChatUiState(
            conversations = listOf(ConversationSummary("1", "Alice", "hi"), ConversationSummary("2", "Bob", null)),
            openConversation = "1",
            messages = listOf(ChatMessage("1", "me", "hi", 1), ChatMessage("2", "me", "there", 2)),
        )
        val keys = chatRows(state).map { it.key }
        assertEquals(4, keys.size)
        assertEquals(keys.size, keys.toSet().size, "duplicate keys in $keys")
    }

    @Test
    fun `rows list the conversations first, then the open conversation's messages in order`() {
        val state = ChatUiState(
            conversations = listOf(ConversationSummary("7", "Team", null)),
            messages = listOf(ChatMessage("7", "me", "a", 1), ChatMessage("8", "me", "b", 2)),
        )
        assertEquals(
            listOf(
                ChatRow.Conversation(state.conversations[0]),
                ChatRow.Message(state.messages[0]),
                ChatRow.Message(state.messages[1]),
            ),
            chatRows(state),
        )
    }

    @Test
    fun `sending a message in a real flow keeps the keys unique`() = runBlocking {
        // The fake engine's ids are "c1" and "m1"; BindingsBackupEngine numbers both from "1".
        val fake = FakeEngine()
        val engine = object : BackupEngine by fake {
            override suspend fun createConversation(title: String) = fake.createConversation(title).let { it.copy(id = it.id.drop(1)) }
            override suspend fun conversations() = fake.conversations().map { it.copy(id = it.id.drop(1)) }
            override suspend fun sendText(conversationId: String, text: String) = fake.sendText("c$conversationId", text)
            override suspend fun messages(conversationId: String) = fake.messages("c$conversationId").map { it.copy(id = it.id.drop(1)) }
        }
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            val chat = ChatViewModel(scope, engine)
            chat.newConversation("Alice")!!.join()
            chat.send("hello")!!.join()
            val state = chat.state.value
            assertEquals(listOf("1"), state.conversations.map { it.id })
            assertEquals(listOf("1"), state.messages.map { it.id })
            val keys = chatRows(state).map { it.key }
            assertEquals(keys.size, keys.toSet().size, "duplicate keys in $keys")
        } finally {
            scope.cancel()
        }
    }
}
