//! The record model: one record per row of the chat store, with fixed kind codes and field
//! numbers (`docs/SCHEMA.md`, "Archive records"). Absent optional fields mean `NULL`; an absent
//! flag means false. Unknown field numbers are skipped and counted; a known field with the wrong
//! wire type, a repeated field, a missing required field or an unknown enum code is corruption.

use super::wire::{FieldReader, FieldWriter, Value};
use crate::store::{
    Attachment, Conversation, ConversationKind, DeliveryState, Message, MessageKind, Participant,
    Reaction, Role,
};

/// Kind code of a conversation record.
pub const KIND_CONVERSATION: u64 = 1;
/// Kind code of a participant record.
pub const KIND_PARTICIPANT: u64 = 2;
/// Kind code of a message record.
pub const KIND_MESSAGE: u64 = 3;
/// Kind code of a reaction record.
pub const KIND_REACTION: u64 = 4;
/// Kind code of an attachment record.
pub const KIND_ATTACHMENT: u64 = 5;
/// Kind code of the trailer, the last record of every archive.
pub const KIND_TRAILER: u64 = 127;

/// One row of the chat store as an archive record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A row of `conversations`.
    Conversation(Conversation),
    /// A row of `participants`.
    Participant(Participant),
    /// A row of `messages`.
    Message(Message),
    /// A row of `reactions`.
    Reaction(Reaction),
    /// A row of `attachments`.
    Attachment(Attachment),
}

impl Record {
    /// The record's kind code.
    pub fn kind(&self) -> u64 {
        match self {
            Record::Conversation(_) => KIND_CONVERSATION,
            Record::Participant(_) => KIND_PARTICIPANT,
            Record::Message(_) => KIND_MESSAGE,
            Record::Reaction(_) => KIND_REACTION,
            Record::Attachment(_) => KIND_ATTACHMENT,
        }
    }

    /// Appends the record's body (its fields) to `out`.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        let mut w = FieldWriter::new(out);
        match self {
            Record::Conversation(c) => {
                w.int(1, c.id);
                w.uint(2, c.kind.code().into());
                w.opt_str(3, c.title.as_deref());
                w.int(4, c.created_at);
                w.flag(5, c.archived);
                w.opt_int(6, c.muted_until);
                w.flag(7, c.pinned);
                w.opt_str(8, c.extra.as_deref());
            }
            Record::Participant(p) => {
                w.int(1, p.conversation_id);
                w.bytes(2, p.user_id.as_bytes());
                w.opt_str(3, p.display_name.as_deref());
                w.uint(4, p.role.code().into());
                w.int(5, p.joined_at);
                w.opt_str(6, p.extra.as_deref());
            }
            Record::Message(m) => {
                w.int(1, m.id);
                w.int(2, m.conversation_id);
                w.bytes(3, m.sender.as_bytes());
                w.uint(4, m.kind.code().into());
                w.opt_str(5, m.body.as_deref());
                w.int(6, m.sent_at);
                w.opt_int(7, m.received_at);
                w.opt_int(8, m.reply_to);
                w.opt_int(9, m.edited_at);
                w.opt_int(10, m.deleted_at);
                w.uint(11, m.delivery.code().into());
                w.opt_str(12, m.extra.as_deref());
            }
            Record::Reaction(r) => {
                w.int(1, r.message_id);
                w.bytes(2, r.sender.as_bytes());
                w.bytes(3, r.emoji.as_bytes());
                w.int(4, r.created_at);
            }
            Record::Attachment(a) => {
                w.int(1, a.id);
                w.int(2, a.message_id);
                w.bytes(3, a.mime.as_bytes());
                w.opt_str(4, a.file_name.as_deref());
                w.uint(5, a.size);
                if let Some(hash) = &a.sha256 {
                    w.bytes(6, hash);
                }
                w.opt_uint(7, a.width.map(u64::from));
                w.opt_uint(8, a.height.map(u64::from));
                w.opt_uint(9, a.duration_ms);
                w.opt_str(10, a.local_ref.as_deref());
                w.opt_str(11, a.extra.as_deref());
            }
        }
    }

    /// Decodes the body of a record of a known `kind`: the record and how many unknown fields
    /// were skipped. `Ok(None)` for a kind this build does not know.
    pub fn decode(kind: u64, body: &[u8]) -> Result<Option<(Record, u64)>, &'static str> {
        let mut fields = FieldReader::new(body);
        let mut unknown = 0u64;
        let record = match kind {
            KIND_CONVERSATION => {
                Record::Conversation(decode_conversation(&mut fields, &mut unknown)?)
            }
            KIND_PARTICIPANT => Record::Participant(decode_participant(&mut fields, &mut unknown)?),
            KIND_MESSAGE => Record::Message(decode_message(&mut fields, &mut unknown)?),
            KIND_REACTION => Record::Reaction(decode_reaction(&mut fields, &mut unknown)?),
            KIND_ATTACHMENT => Record::Attachment(decode_attachment(&mut fields, &mut unknown)?),
            _ => return Ok(None),
        };
        Ok(Some((record, unknown)))
    }
}

/// Stores a field's value, refusing a repeated field.
#[inline]
fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), &'static str> {
    if slot.is_some() {
        return Err("repeated field");
    }
    *slot = Some(value);
    Ok(())
}

#[inline]
fn required<T>(slot: Option<T>) -> Result<T, &'static str> {
    slot.ok_or("required field missing")
}

#[inline]
fn enum_code<T>(value: Value<'_>, decode: fn(u64) -> Option<T>) -> Result<T, &'static str> {
    decode(value.varint()?).ok_or("unknown enum code")
}

fn decode_conversation(
    fields: &mut FieldReader<'_>,
    unknown: &mut u64,
) -> Result<Conversation, &'static str> {
    let (mut id, mut kind, mut title, mut created_at) = (None, None, None, None);
    let (mut archived, mut muted_until, mut pinned, mut extra) = (None, None, None, None);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => set(&mut id, value.int()?)?,
            2 => set(&mut kind, enum_code(value, ConversationKind::from_code)?)?,
            3 => set(&mut title, value.text()?)?,
            4 => set(&mut created_at, value.int()?)?,
            5 => set(&mut archived, value.flag()?)?,
            6 => set(&mut muted_until, value.int()?)?,
            7 => set(&mut pinned, value.flag()?)?,
            8 => set(&mut extra, value.text()?)?,
            _ => *unknown += 1,
        }
    }
    Ok(Conversation {
        id: required(id)?,
        kind: required(kind)?,
        title,
        created_at: required(created_at)?,
        archived: archived.unwrap_or(false),
        muted_until,
        pinned: pinned.unwrap_or(false),
        extra,
    })
}

fn decode_participant(
    fields: &mut FieldReader<'_>,
    unknown: &mut u64,
) -> Result<Participant, &'static str> {
    let (mut conversation_id, mut user_id, mut display_name) = (None, None, None);
    let (mut role, mut joined_at, mut extra) = (None, None, None);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => set(&mut conversation_id, value.int()?)?,
            2 => set(&mut user_id, value.text()?)?,
            3 => set(&mut display_name, value.text()?)?,
            4 => set(&mut role, enum_code(value, Role::from_code)?)?,
            5 => set(&mut joined_at, value.int()?)?,
            6 => set(&mut extra, value.text()?)?,
            _ => *unknown += 1,
        }
    }
    Ok(Participant {
        conversation_id: required(conversation_id)?,
        user_id: required(user_id)?,
        display_name,
        role: required(role)?,
        joined_at: required(joined_at)?,
        extra,
    })
}

fn decode_message(
    fields: &mut FieldReader<'_>,
    unknown: &mut u64,
) -> Result<Message, &'static str> {
    let (mut id, mut conversation_id, mut sender, mut kind) = (None, None, None, None);
    let (mut body, mut sent_at, mut received_at, mut reply_to) = (None, None, None, None);
    let (mut edited_at, mut deleted_at, mut delivery, mut extra) = (None, None, None, None);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => set(&mut id, value.int()?)?,
            2 => set(&mut conversation_id, value.int()?)?,
            3 => set(&mut sender, value.text()?)?,
            4 => set(&mut kind, enum_code(value, MessageKind::from_code)?)?,
            5 => set(&mut body, value.text()?)?,
            6 => set(&mut sent_at, value.int()?)?,
            7 => set(&mut received_at, value.int()?)?,
            8 => set(&mut reply_to, value.int()?)?,
            9 => set(&mut edited_at, value.int()?)?,
            10 => set(&mut deleted_at, value.int()?)?,
            11 => set(&mut delivery, enum_code(value, DeliveryState::from_code)?)?,
            12 => set(&mut extra, value.text()?)?,
            _ => *unknown += 1,
        }
    }
    Ok(Message {
        id: required(id)?,
        conversation_id: required(conversation_id)?,
        sender: required(sender)?,
        kind: required(kind)?,
        body,
        sent_at: required(sent_at)?,
        received_at,
        reply_to,
        edited_at,
        deleted_at,
        delivery: required(delivery)?,
        extra,
    })
}

fn decode_reaction(
    fields: &mut FieldReader<'_>,
    unknown: &mut u64,
) -> Result<Reaction, &'static str> {
    let (mut message_id, mut sender, mut emoji, mut created_at) = (None, None, None, None);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => set(&mut message_id, value.int()?)?,
            2 => set(&mut sender, value.text()?)?,
            3 => set(&mut emoji, value.text()?)?,
            4 => set(&mut created_at, value.int()?)?,
            _ => *unknown += 1,
        }
    }
    Ok(Reaction {
        message_id: required(message_id)?,
        sender: required(sender)?,
        emoji: required(emoji)?,
        created_at: required(created_at)?,
    })
}

fn decode_attachment(
    fields: &mut FieldReader<'_>,
    unknown: &mut u64,
) -> Result<Attachment, &'static str> {
    let (mut id, mut message_id, mut mime, mut file_name) = (None, None, None, None);
    let (mut size, mut sha256, mut width, mut height) = (None, None, None, None);
    let (mut duration_ms, mut local_ref, mut extra) = (None, None, None);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => set(&mut id, value.int()?)?,
            2 => set(&mut message_id, value.int()?)?,
            3 => set(&mut mime, value.text()?)?,
            4 => set(&mut file_name, value.text()?)?,
            5 => set(&mut size, sql_unsigned(value)?)?,
            6 => {
                let hash =
                    <[u8; 32]>::try_from(value.bytes()?).map_err(|_| "sha256 is not 32 bytes")?;
                set(&mut sha256, hash)?
            }
            7 => set(&mut width, dimension(value)?)?,
            8 => set(&mut height, dimension(value)?)?,
            9 => set(&mut duration_ms, sql_unsigned(value)?)?,
            10 => set(&mut local_ref, value.text()?)?,
            11 => set(&mut extra, value.text()?)?,
            _ => *unknown += 1,
        }
    }
    Ok(Attachment {
        id: required(id)?,
        message_id: required(message_id)?,
        mime: required(mime)?,
        file_name,
        size: required(size)?,
        sha256,
        width,
        height,
        duration_ms,
        local_ref,
        extra,
    })
}

fn dimension(value: Value<'_>) -> Result<u32, &'static str> {
    u32::try_from(value.varint()?).map_err(|_| "dimension out of range")
}

/// An unsigned value that SQLite can hold (at most `i64::MAX`).
fn sql_unsigned(value: Value<'_>) -> Result<u64, &'static str> {
    let v = value.varint()?;
    if i64::try_from(v).is_err() {
        return Err("number too large for the database");
    }
    Ok(v)
}
