//! Encodes SQLite rows straight into record bodies, borrowing each column from SQLite instead of
//! building a [`Record`](super::Record) with owned strings first: the export's hot path. The
//! bytes are exactly those of `Record::encode_body` for the same row (a test compares both on
//! every row of a synthetic store); values the archive could not carry (text that is not UTF-8,
//! unknown enum codes, a `sha256` that is not 32 bytes) fail the export instead of producing an
//! archive that cannot be restored.

use rusqlite::{
    types::{FromSqlError, Type, ValueRef},
    Row,
};

use super::wire::FieldWriter;
use crate::store::{ConversationKind, DeliveryState, MessageKind, Role};

type RowResult = rusqlite::Result<()>;

fn conversion(index: usize, kind: Type, why: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, kind, why.to_string().into())
}

fn text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(index)?.as_str().map_err(|e| match e {
        FromSqlError::InvalidType => {
            rusqlite::Error::InvalidColumnType(index, format!("column {index}"), Type::Text)
        }
        _ => conversion(index, Type::Text, "text is not UTF-8"),
    })
}

fn opt_text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<Option<&'r str>> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        _ => text(row, index).map(Some),
    }
}

fn code(row: &Row<'_>, index: usize, known: fn(u64) -> bool) -> rusqlite::Result<u64> {
    let value: u64 = row.get(index)?;
    if known(value) {
        Ok(value)
    } else {
        Err(conversion(index, Type::Integer, "unknown enum code"))
    }
}

/// A `conversations` row selected with `CONVERSATION_COLUMNS`.
pub fn conversation(row: &Row<'_>, out: &mut Vec<u8>) -> RowResult {
    let mut w = FieldWriter::new(out);
    w.int(1, row.get(0)?);
    w.uint(
        2,
        code(row, 1, |c| ConversationKind::from_code(c).is_some())?,
    );
    w.opt_str(3, opt_text(row, 2)?);
    w.int(4, row.get(3)?);
    w.flag(5, row.get(4)?);
    w.opt_int(6, row.get(5)?);
    w.flag(7, row.get(6)?);
    w.opt_str(8, opt_text(row, 7)?);
    Ok(())
}

/// A `participants` row selected with `PARTICIPANT_COLUMNS`.
pub fn participant(row: &Row<'_>, out: &mut Vec<u8>) -> RowResult {
    let mut w = FieldWriter::new(out);
    w.int(1, row.get(0)?);
    w.bytes(2, text(row, 1)?.as_bytes());
    w.opt_str(3, opt_text(row, 2)?);
    w.uint(4, code(row, 3, |c| Role::from_code(c).is_some())?);
    w.int(5, row.get(4)?);
    w.opt_str(6, opt_text(row, 5)?);
    Ok(())
}

/// A `messages` row selected with `MESSAGE_COLUMNS`.
pub fn message(row: &Row<'_>, out: &mut Vec<u8>) -> RowResult {
    let mut w = FieldWriter::new(out);
    w.int(1, row.get(0)?);
    w.int(2, row.get(1)?);
    w.bytes(3, text(row, 2)?.as_bytes());
    w.uint(4, code(row, 3, |c| MessageKind::from_code(c).is_some())?);
    w.opt_str(5, opt_text(row, 4)?);
    w.int(6, row.get(5)?);
    w.opt_int(7, row.get(6)?);
    w.opt_int(8, row.get(7)?);
    w.opt_int(9, row.get(8)?);
    w.opt_int(10, row.get(9)?);
    w.uint(
        11,
        code(row, 10, |c| DeliveryState::from_code(c).is_some())?,
    );
    w.opt_str(12, opt_text(row, 11)?);
    Ok(())
}

/// A `reactions` row selected with `REACTION_COLUMNS`.
pub fn reaction(row: &Row<'_>, out: &mut Vec<u8>) -> RowResult {
    let mut w = FieldWriter::new(out);
    w.int(1, row.get(0)?);
    w.bytes(2, text(row, 1)?.as_bytes());
    w.bytes(3, text(row, 2)?.as_bytes());
    w.int(4, row.get(3)?);
    Ok(())
}

/// An `attachments` row selected with `ATTACHMENT_COLUMNS`.
pub fn attachment(row: &Row<'_>, out: &mut Vec<u8>) -> RowResult {
    let mut w = FieldWriter::new(out);
    w.int(1, row.get(0)?);
    w.int(2, row.get(1)?);
    w.bytes(3, text(row, 2)?.as_bytes());
    w.opt_str(4, opt_text(row, 3)?);
    w.uint(5, row.get(4)?);
    match row.get_ref(5)? {
        ValueRef::Null => {}
        ValueRef::Blob(hash) if hash.len() == 32 => w.bytes(6, hash),
        _ => return Err(conversion(5, Type::Blob, "sha256 is not 32 bytes")),
    }
    w.opt_uint(7, row.get::<_, Option<u32>>(6)?.map(u64::from));
    w.opt_uint(8, row.get::<_, Option<u32>>(7)?.map(u64::from));
    w.opt_uint(9, row.get(8)?);
    w.opt_str(10, opt_text(row, 9)?);
    w.opt_str(11, opt_text(row, 10)?);
    Ok(())
}
