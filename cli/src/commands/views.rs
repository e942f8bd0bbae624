//! Serializable views of core values shared by several reports.

use std::{
    io::{self, Write},
    time::Duration,
};

use keepsake_core::{format::PayloadKind, store::RecordCounts};
use serde::Serialize;

/// Record counts per kind, as reports show them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CountsView {
    /// Conversations.
    pub conversations: u64,
    /// Participants.
    pub participants: u64,
    /// Messages.
    pub messages: u64,
    /// Reactions.
    pub reactions: u64,
    /// Attachment metadata rows.
    pub attachments: u64,
}

impl From<&RecordCounts> for CountsView {
    fn from(counts: &RecordCounts) -> Self {
        CountsView {
            conversations: counts.conversations,
            participants: counts.participants,
            messages: counts.messages,
            reactions: counts.reactions,
            attachments: counts.attachments,
        }
    }
}

impl CountsView {
    /// `counts` if present.
    pub fn of(counts: Option<&RecordCounts>) -> Option<CountsView> {
        counts.map(CountsView::from)
    }

    /// One line: "12 conversations, 80 participants, ...".
    pub fn write_line(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{} conversations, {} participants, {} messages, {} reactions, {} attachments",
            self.conversations, self.participants, self.messages, self.reactions, self.attachments
        )
    }
}

/// The payload kind as reports name it: `chat_archive` or `sqlite_snapshot`.
pub fn kind_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::ChatArchive => "chat_archive",
        PayloadKind::SqliteSnapshot => "sqlite_snapshot",
    }
}

/// Mebibytes per second for `bytes` in `elapsed` (0 when too quick to measure).
pub fn mib_per_second(bytes: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        bytes as f64 / (1024.0 * 1024.0) / seconds
    } else {
        0.0
    }
}

/// Seconds rounded to milliseconds, for JSON.
pub fn seconds(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1000.0).round() / 1000.0
}
