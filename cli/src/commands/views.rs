//! Serializable views of core values shared by several reports.

use std::{
    io::{self, Write},
    time::Duration,
};

use keepsake_core::{format::PayloadKind, store::RecordCounts};
use serde::Serialize;

use crate::output::grouped;

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
            grouped(self.conversations),
            grouped(self.participants),
            grouped(self.messages),
            grouped(self.reactions),
            grouped(self.attachments)
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

/// Unix seconds as an ISO 8601 UTC timestamp (proleptic Gregorian calendar).
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let in_day = unix_seconds % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), shifted to eras
    // starting in March so leap days fall at the end of a year.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_704_067_199), "2023-12-31T23:59:59Z");
        assert_eq!(utc_timestamp(1_709_210_096), "2024-02-29T12:34:56Z");
    }
}
