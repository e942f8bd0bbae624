//! A day of chat activity applied to an existing store, deterministically, for the repository
//! benchmark and tests: new messages in existing conversations, then edits, deletions,
//! reactions and delivery changes, either on recent messages (a realistic day) or spread
//! evenly over the whole history (a stress day for deduplication).

use rusqlite::params;

use super::{ChatStore, DeliveryState, Message, MessageKind, Reaction, SqlResultExt};
use crate::Result;

/// Which day to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// 1% new messages, plus edits, deletions, reactions and delivery changes on 5% of the most
    /// recent 2% of messages.
    Realistic,
    /// 1% new messages, plus edits of 0.1% of all messages spread evenly over the history.
    Stress,
}

/// What [`apply_day`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaySummary {
    /// Messages added.
    pub inserted: u64,
    /// Messages edited.
    pub edited: u64,
    /// Messages deleted (tombstoned).
    pub deleted: u64,
    /// Reactions added.
    pub reacted: u64,
    /// Delivery states changed.
    pub delivery_changed: u64,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

const WORDS: &[&str] = &[
    "ok", "see", "you", "tomorrow", "lunch", "great", "thanks", "where", "are", "we", "going",
    "photo", "call", "later", "running", "late", "love", "it", "meeting", "moved", "to", "ten",
];

fn sentence(rng: &mut Rng) -> String {
    let words = 2 + rng.below(12);
    (0..words)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies one day of `kind` to `store`, seeded by `seed`.
pub fn apply_day(store: &mut ChatStore, kind: DayKind, seed: u64) -> Result<DaySummary> {
    let mut rng = Rng(seed);
    let mut summary = DaySummary::default();
    let (count, max_id, max_sent): (i64, i64, i64) = store
        .connection()
        .query_row(
            "SELECT count(*), coalesce(max(id), 0), coalesce(max(sent_at), 0) FROM messages",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .db()?;
    if count == 0 {
        return Ok(summary);
    }
    let count = count as u64;
    let new_messages = (count / 100).max(1);
    let mut batch = Vec::with_capacity(new_messages as usize);
    for i in 0..new_messages {
        // A new message in the conversation of a random recent message, from one of its senders.
        let sample = max_id - rng.below((count / 50).max(1)) as i64;
        let found: Option<(i64, String)> = store
            .connection()
            .query_row(
                "SELECT conversation_id, sender FROM messages WHERE id <= ?1 ORDER BY id DESC LIMIT 1",
                [sample],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .ok();
        let Some((conversation_id, sender)) = found else {
            continue;
        };
        let at = max_sent + 1_000 * (i as i64 + 1);
        batch.push(Message {
            id: max_id + 1 + i as i64,
            conversation_id,
            sender,
            kind: MessageKind::Text,
            body: Some(sentence(&mut rng)),
            sent_at: at,
            received_at: Some(at + 500),
            reply_to: None,
            edited_at: None,
            deleted_at: None,
            delivery: DeliveryState::Delivered,
            extra: None,
        });
    }
    summary.inserted = batch.len() as u64;
    store.insert_messages(&batch)?;

    let now = max_sent + 1_000 * (new_messages as i64 + 10);
    match kind {
        DayKind::Realistic => {
            let recent = (count / 50).max(1);
            let touched = (recent / 20).max(1);
            for _ in 0..touched {
                let id = max_id - rng.below(recent) as i64;
                if store.message(id)?.is_none_or(|m| m.deleted_at.is_some()) {
                    continue;
                }
                match rng.below(10) {
                    0..=2 => {
                        store.edit_message(id, &sentence(&mut rng), now)?;
                        summary.edited += 1;
                    }
                    3 => {
                        store.delete_message(id, now)?;
                        summary.deleted += 1;
                    }
                    4..=7 => {
                        store.react(&Reaction {
                            message_id: id,
                            sender: "me".into(),
                            emoji: ["👍", "❤️", "😂"][rng.below(3) as usize].into(),
                            created_at: now,
                        })?;
                        summary.reacted += 1;
                    }
                    _ => {
                        store.set_delivery(id, DeliveryState::Read)?;
                        summary.delivery_changed += 1;
                    }
                }
            }
        }
        DayKind::Stress => {
            let edits = (count / 1000).max(1);
            let step = (max_id as u64 / edits).max(1);
            for k in 0..edits {
                let id = (1 + k * step + rng.below(step)) as i64;
                let changed = store
                    .connection()
                    .execute(
                        "UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1 AND deleted_at IS NULL",
                        params![id, sentence(&mut rng), now],
                    )
                    .db()?;
                summary.edited += changed as u64;
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::synthetic::{generate, SyntheticSpec};

    #[test]
    fn a_day_changes_what_it_says() {
        let mut store = ChatStore::open_in_memory().unwrap();
        generate(
            &mut store,
            &SyntheticSpec {
                seed: 1,
                conversations: 5,
                messages: 5_000,
            },
        )
        .unwrap();
        let before = store.counts().unwrap();
        let day = apply_day(&mut store, DayKind::Realistic, 7).unwrap();
        assert_eq!(day.inserted, 50);
        assert!(day.edited + day.deleted + day.reacted + day.delivery_changed > 0);
        assert_eq!(store.counts().unwrap().messages, before.messages + 50);
        let stress = apply_day(&mut store, DayKind::Stress, 8).unwrap();
        assert!(stress.edited >= 4, "{stress:?}");
        store.check_integrity().unwrap();
    }
}
