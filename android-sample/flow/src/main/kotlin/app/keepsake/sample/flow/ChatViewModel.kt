// The chat screen's logic: the conversation list, one open conversation, sending a message.
// It is here so the sample has real data to back up; the chat store is Keepsake's ChatStore.
package app.keepsake.sample.flow

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** What the chat screen shows. */
data class ChatUiState(
    val conversations: List<ConversationSummary> = emptyList(),
    val openConversation: String? = null,
    val messages: List<ChatMessage> = emptyList(),
    val message: UserMessage? = null,
)

/** Chat screen logic. */
class ChatViewModel(private val scope: CoroutineScope, private val engine: BackupEngine) {
    private val mutableState = MutableStateFlow(ChatUiState())

    /** The screen state. */
    val state: StateFlow<ChatUiState> = mutableState.asStateFlow()

    /** Reloads the conversation list (after start and after a restore). */
    fun refresh(): Job = guarded {
        val conversations = engine.conversations()
        val open = mutableState.value.openConversation?.takeIf { id -> conversations.any { it.id == id } }
        val messages = open?.let { engine.messages(it) }.orEmpty()
        mutableState.update { it.copy(conversations = conversations, openConversation = open, messages = messages) }
    }

    /** Starts a conversation and opens it; a blank title is ignored. */
    fun newConversation(title: String): Job? {
        val trimmed = title.trim()
        if (trimmed.isEmpty()) return null
        return guarded {
            val created = engine.createConversation(trimmed)
            mutableState.update { it.copy(conversations = engine.conversations(), openConversation = created.id, messages = emptyList()) }
        }
    }

    /** Opens a conversation. */
    fun open(conversationId: String): Job = guarded {
        val messages = engine.messages(conversationId)
        mutableState.update { it.copy(openConversation = conversationId, messages = messages) }
    }

    /** Sends [text] to the open conversation; blank text or no open conversation does nothing. */
    fun send(text: String): Job? {
        val conversation = mutableState.value.openConversation ?: return null
        if (text.isBlank()) return null
        return guarded {
            engine.sendText(conversation, text.trim())
            val messages = engine.messages(conversation)
            mutableState.update { it.copy(messages = messages, conversations = engine.conversations()) }
        }
    }

    private fun guarded(body: suspend () -> Unit): Job = scope.launch {
        try {
            body()
        } catch (e: Exception) {
            val failure = failureOf(e)
            mutableState.update { it.copy(message = UserMessages.of(failure)) }
        }
    }
}
