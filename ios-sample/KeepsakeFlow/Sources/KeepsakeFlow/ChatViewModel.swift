// The chat screen's logic: the conversation list, one open conversation, sending a message.
// It is here so the sample has real data to back up; the chat store is Keepsake's ChatStore.

import Foundation

public struct ChatUiState: Sendable, Equatable {
    public var conversations: [ConversationSummary] = []
    public var openConversation: String?
    public var messages: [ChatMessage] = []
    public var message: UserMessage?
    public init() {}
}

/// Chat screen logic.
@MainActor
public final class ChatViewModel {
    public private(set) var state = ChatUiState() {
        didSet { onChange?(state) }
    }

    /// Called on the main actor after every state change.
    public var onChange: ((ChatUiState) -> Void)?

    private let engine: BackupEngine

    public init(engine: BackupEngine) {
        self.engine = engine
    }

    /// Reloads the conversation list (after start and after a restore).
    public func refresh() async {
        await guarded { [self] in
            let conversations = try await engine.conversations()
            let open = state.openConversation.flatMap { id in conversations.contains { $0.id == id } ? id : nil }
            state.conversations = conversations
            state.openConversation = open
            if let open {
                state.messages = try await engine.messages(in: open)
            } else {
                state.messages = []
            }
        }
    }

    /// Starts a conversation and opens it; a blank title is ignored.
    public func newConversation(title: String) async {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return }
        await guarded { [self] in
            let created = try await engine.createConversation(title: trimmed)
            state.conversations = try await engine.conversations()
            state.openConversation = created.id
            state.messages = []
        }
    }

    /// Opens a conversation.
    public func open(_ conversationId: String) async {
        await guarded { [self] in
            state.messages = try await engine.messages(in: conversationId)
            state.openConversation = conversationId
        }
    }

    /// Sends `text` to the open conversation; blank text or no open conversation does nothing.
    /// Returns whether anything was sent.
    @discardableResult
    public func send(_ text: String) async -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let conversation = state.openConversation, !trimmed.isEmpty else { return false }
        await guarded { [self] in
            _ = try await engine.sendText(trimmed, to: conversation)
            state.messages = try await engine.messages(in: conversation)
            state.conversations = try await engine.conversations()
        }
        return true
    }

    private func guarded(_ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            state.message = UserMessage.of(error: error)
        }
    }
}
