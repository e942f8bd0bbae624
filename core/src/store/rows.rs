//! Row <-> struct mapping and the insert statements, shared by the store's API, the archive's
//! export and import, and the synthetic generator. Statements are cached per connection
//! (`prepare_cached`), so batches reuse one compiled statement; an archive import holds its
//! statements in an [`Inserter`] instead, saving the cache lookup on every row.

use rusqlite::{params, types::Type, Connection, OptionalExtension, Row, Statement};

use super::model::{
    Attachment, Conversation, ConversationKind, DeliveryState, Message, MessageKind, Participant,
    Reaction, Role,
};

/// Columns of `conversations`, in the order the `*_from_row` functions read them.
pub const CONVERSATION_COLUMNS: &str =
    "id, kind, title, created_at, archived, muted_until, pinned, extra";
/// Columns of `participants`.
pub const PARTICIPANT_COLUMNS: &str =
    "conversation_id, user_id, display_name, role, joined_at, extra";
/// Columns of `messages`.
pub const MESSAGE_COLUMNS: &str = "id, conversation_id, sender, kind, body, sent_at, received_at, \
     reply_to, edited_at, deleted_at, delivery, extra";
/// Columns of `reactions`.
pub const REACTION_COLUMNS: &str = "message_id, sender, emoji, created_at";
/// Columns of `attachments`.
pub const ATTACHMENT_COLUMNS: &str = "id, message_id, mime, file_name, size, sha256, width, \
     height, duration_ms, local_ref, extra";

fn bad_code(index: usize, what: &str, code: u64) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        Type::Integer,
        format!("unknown {what} code {code}").into(),
    )
}

fn code<T>(
    row: &Row<'_>,
    index: usize,
    what: &str,
    decode: fn(u64) -> Option<T>,
) -> rusqlite::Result<T> {
    let raw: u64 = row.get(index)?;
    decode(raw).ok_or_else(|| bad_code(index, what, raw))
}

fn sha256(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<[u8; 32]>> {
    let raw: Option<Vec<u8>> = row.get(index)?;
    raw.map(|bytes| {
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                Type::Blob,
                "sha256 is not 32 bytes".into(),
            )
        })
    })
    .transpose()
}

/// Reads a conversation from a row selected with [`CONVERSATION_COLUMNS`].
pub fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: row.get(0)?,
        kind: code(row, 1, "conversation kind", ConversationKind::from_code)?,
        title: row.get(2)?,
        created_at: row.get(3)?,
        archived: row.get(4)?,
        muted_until: row.get(5)?,
        pinned: row.get(6)?,
        extra: row.get(7)?,
    })
}

/// Reads a participant from a row selected with [`PARTICIPANT_COLUMNS`].
pub fn participant_from_row(row: &Row<'_>) -> rusqlite::Result<Participant> {
    Ok(Participant {
        conversation_id: row.get(0)?,
        user_id: row.get(1)?,
        display_name: row.get(2)?,
        role: code(row, 3, "role", Role::from_code)?,
        joined_at: row.get(4)?,
        extra: row.get(5)?,
    })
}

/// Reads a message from a row selected with [`MESSAGE_COLUMNS`].
pub fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        sender: row.get(2)?,
        kind: code(row, 3, "message kind", MessageKind::from_code)?,
        body: row.get(4)?,
        sent_at: row.get(5)?,
        received_at: row.get(6)?,
        reply_to: row.get(7)?,
        edited_at: row.get(8)?,
        deleted_at: row.get(9)?,
        delivery: code(row, 10, "delivery state", DeliveryState::from_code)?,
        extra: row.get(11)?,
    })
}

/// Reads a reaction from a row selected with [`REACTION_COLUMNS`].
pub fn reaction_from_row(row: &Row<'_>) -> rusqlite::Result<Reaction> {
    Ok(Reaction {
        message_id: row.get(0)?,
        sender: row.get(1)?,
        emoji: row.get(2)?,
        created_at: row.get(3)?,
    })
}

/// Reads an attachment from a row selected with [`ATTACHMENT_COLUMNS`].
pub fn attachment_from_row(row: &Row<'_>) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: row.get(0)?,
        message_id: row.get(1)?,
        mime: row.get(2)?,
        file_name: row.get(3)?,
        size: row.get(4)?,
        sha256: sha256(row, 5)?,
        width: row.get(6)?,
        height: row.get(7)?,
        duration_ms: row.get(8)?,
        local_ref: row.get(9)?,
        extra: row.get(10)?,
    })
}

/// Inserts or updates a conversation by id (an update keeps its participants and messages).
pub fn upsert_conversation(conn: &Connection, c: &Conversation) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO conversations (id, kind, title, created_at, archived, muted_until, pinned, extra)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
             created_at = excluded.created_at, archived = excluded.archived,
             muted_until = excluded.muted_until, pinned = excluded.pinned, extra = excluded.extra",
    )?;
    stmt.execute(params![
        c.id,
        c.kind.code(),
        c.title,
        c.created_at,
        c.archived,
        c.muted_until,
        c.pinned,
        c.extra
    ])?;
    Ok(())
}

/// Inserts or updates a participant by `(conversation_id, user_id)`.
pub fn upsert_participant(conn: &Connection, p: &Participant) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO participants (conversation_id, user_id, display_name, role, joined_at, extra)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET display_name = excluded.display_name,
             role = excluded.role, joined_at = excluded.joined_at, extra = excluded.extra",
    )?;
    stmt.execute(params![
        p.conversation_id,
        p.user_id,
        p.display_name,
        p.role.code(),
        p.joined_at,
        p.extra
    ])?;
    Ok(())
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (id, conversation_id, sender, kind, body, \
     sent_at, received_at, reply_to, edited_at, deleted_at, delivery, extra) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const INSERT_ATTACHMENT: &str = "INSERT INTO attachments (id, message_id, mime, file_name, size, \
     sha256, width, height, duration_ms, local_ref, extra) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// Inserts a new message; an existing id is a constraint error.
pub fn insert_message(conn: &Connection, m: &Message) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(INSERT_MESSAGE)?;
    execute_message(&mut stmt, m)
}

fn execute_message(stmt: &mut Statement<'_>, m: &Message) -> rusqlite::Result<()> {
    stmt.execute(params![
        m.id,
        m.conversation_id,
        m.sender,
        m.kind.code(),
        m.body,
        m.sent_at,
        m.received_at,
        m.reply_to,
        m.edited_at,
        m.deleted_at,
        m.delivery.code(),
        m.extra
    ])?;
    Ok(())
}

/// Inserts or updates a reaction by `(message_id, sender, emoji)`.
pub fn upsert_reaction(conn: &Connection, r: &Reaction) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO reactions (message_id, sender, emoji, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (message_id, sender, emoji) DO UPDATE SET created_at = excluded.created_at",
    )?;
    stmt.execute(params![r.message_id, r.sender, r.emoji, r.created_at])?;
    Ok(())
}

/// Inserts a new attachment; an existing id is a constraint error.
pub fn insert_attachment(conn: &Connection, a: &Attachment) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(INSERT_ATTACHMENT)?;
    execute_attachment(&mut stmt, a)
}

fn execute_attachment(stmt: &mut Statement<'_>, a: &Attachment) -> rusqlite::Result<()> {
    stmt.execute(params![
        a.id,
        a.message_id,
        a.mime,
        a.file_name,
        a.size,
        a.sha256.as_ref().map(|h| h.as_slice()),
        a.width,
        a.height,
        a.duration_ms,
        a.local_ref,
        a.extra
    ])?;
    Ok(())
}

/// Turns a message into a tombstone: no body, `deleted_at` set (kept if already deleted), its
/// reactions and attachment metadata removed. Returns whether the message exists.
pub fn tombstone_message(conn: &Connection, id: i64, deleted_at: i64) -> rusqlite::Result<bool> {
    let exists = conn
        .query_row("SELECT 1 FROM messages WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        conn.execute(
            "UPDATE messages SET body = NULL, deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, deleted_at],
        )?;
        conn.execute("DELETE FROM reactions WHERE message_id = ?1", [id])?;
        conn.execute("DELETE FROM attachments WHERE message_id = ?1", [id])?;
    }
    Ok(exists)
}

/// Plain inserts (no upsert) for loading an archive, prepared once and reused for every row: a
/// duplicate key is an error there, never a silent merge.
pub struct Inserter<'c> {
    conversation: Statement<'c>,
    participant: Statement<'c>,
    message: Statement<'c>,
    reaction: Statement<'c>,
    attachment: Statement<'c>,
}

impl<'c> Inserter<'c> {
    /// Prepares the five insert statements on `conn` (the import's transaction).
    pub fn new(conn: &'c Connection) -> rusqlite::Result<Inserter<'c>> {
        Ok(Inserter {
            conversation: conn.prepare(
                "INSERT INTO conversations (id, kind, title, created_at, archived, muted_until,
                     pinned, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            participant: conn.prepare(
                "INSERT INTO participants (conversation_id, user_id, display_name, role,
                     joined_at, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
            message: conn.prepare(INSERT_MESSAGE)?,
            reaction: conn.prepare(
                "INSERT INTO reactions (message_id, sender, emoji, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
            attachment: conn.prepare(INSERT_ATTACHMENT)?,
        })
    }

    /// Inserts a new conversation.
    pub fn conversation(&mut self, c: &Conversation) -> rusqlite::Result<()> {
        self.conversation.execute(params![
            c.id,
            c.kind.code(),
            c.title,
            c.created_at,
            c.archived,
            c.muted_until,
            c.pinned,
            c.extra
        ])?;
        Ok(())
    }

    /// Inserts a new participant.
    pub fn participant(&mut self, p: &Participant) -> rusqlite::Result<()> {
        self.participant.execute(params![
            p.conversation_id,
            p.user_id,
            p.display_name,
            p.role.code(),
            p.joined_at,
            p.extra
        ])?;
        Ok(())
    }

    /// Inserts a new message.
    pub fn message(&mut self, m: &Message) -> rusqlite::Result<()> {
        execute_message(&mut self.message, m)
    }

    /// Inserts a new reaction.
    pub fn reaction(&mut self, r: &Reaction) -> rusqlite::Result<()> {
        self.reaction
            .execute(params![r.message_id, r.sender, r.emoji, r.created_at])?;
        Ok(())
    }

    /// Inserts a new attachment.
    pub fn attachment(&mut self, a: &Attachment) -> rusqlite::Result<()> {
        execute_attachment(&mut self.attachment, a)
    }
}
