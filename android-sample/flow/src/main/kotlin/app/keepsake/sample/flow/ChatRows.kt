// The chat screen's one scrolling list: conversations, then the open conversation's messages.
// Lazy lists need keys unique across the whole list, and conversation and message ids come from
// different id spaces that may overlap ("1", "2", ... in both), so each row's key names its kind.
package app.keepsake.sample.flow

/** One row of the chat screen's list, with its list-wide key. */
sealed interface ChatRow {
    /** Unique within [chatRows]' result. */
    val key: String

    /** A conversation in the list. */
    data class Conversation(val conversation: ConversationSummary) : ChatRow {
        override val key get() = "conversation:${conversation.id}"
    }

    /** A message of the open conversation. */
    data class Message(val message: ChatMessage) : ChatRow {
        override val key get() = "message:${message.id}"
    }
}

/** The rows the chat screen lists for [state]. */
fun chatRows(state: ChatUiState): List<ChatRow> =
    state.conversations.map { ChatRow.Conversation(it) } + state.messages.map { ChatRow.Message(it) }
