//! Helpers shared by the store and archive tests: sample rows and a full dump of every table.

use rusqlite::types::Value;

use super::{
    Attachment, ChatStore, Conversation, ConversationKind, DeliveryState, Message, MessageKind,
    Participant, Reaction, Role,
};

/// Every table, every column, every row, in primary-key order.
pub fn dump(store: &ChatStore) -> Vec<(String, Vec<Vec<Value>>)> {
    let tables = [
        ("conversations", "id"),
        ("participants", "conversation_id, user_id"),
        ("messages", "id"),
        ("reactions", "message_id, sender, emoji"),
        ("attachments", "id"),
    ];
    tables
        .iter()
        .map(|(table, order)| {
            let conn = store.connection();
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
                .unwrap();
            let columns = stmt.column_count();
            let rows = stmt
                .query_map([], |row| {
                    (0..columns)
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            (table.to_string(), rows)
        })
        .collect()
}

/// A direct conversation with defaults.
pub fn conversation(id: i64) -> Conversation {
    Conversation {
        id,
        kind: ConversationKind::Direct,
        title: None,
        created_at: 1_700_000_000_000,
        archived: false,
        muted_until: None,
        pinned: false,
        extra: None,
    }
}

/// A member.
pub fn participant(conversation_id: i64, user_id: &str) -> Participant {
    Participant {
        conversation_id,
        user_id: user_id.to_string(),
        display_name: Some(format!("User {user_id}")),
        role: Role::Member,
        joined_at: 1_700_000_000_000,
        extra: None,
    }
}

/// A text message.
pub fn message(id: i64, conversation_id: i64, sent_at: i64) -> Message {
    Message {
        id,
        conversation_id,
        sender: "alice".into(),
        kind: MessageKind::Text,
        body: Some(format!("message {id}")),
        sent_at,
        received_at: Some(sent_at + 5),
        reply_to: None,
        edited_at: None,
        deleted_at: None,
        delivery: DeliveryState::Read,
        extra: None,
    }
}

/// A reaction.
pub fn reaction(message_id: i64, sender: &str, emoji: &str) -> Reaction {
    Reaction {
        message_id,
        sender: sender.into(),
        emoji: emoji.into(),
        created_at: 1_700_000_000_500,
    }
}

/// An image attachment.
pub fn attachment(id: i64, message_id: i64) -> Attachment {
    Attachment {
        id,
        message_id,
        mime: "image/jpeg".into(),
        file_name: Some("cat.jpg".into()),
        size: 123_456,
        sha256: Some([7; 32]),
        width: Some(640),
        height: Some(480),
        duration_ms: None,
        local_ref: Some("media/cat.jpg".into()),
        extra: Some(r#"{"blurhash":"LEHV6nWB2yk8"}"#.into()),
    }
}
