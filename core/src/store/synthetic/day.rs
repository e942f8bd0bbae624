//! A deterministic "day of change" on a store, so incremental backups (the repository benchmark,
//! `keepsake seed --day`) are measured against the same edits in every tool.
//!
//! Two kinds of day, as issue 10's benchmark defines them:
//! - realistic: 1% new messages in existing conversations (where the recent activity is), plus
//!   edits, deletions, reactions and delivery changes on 5% of the most recent 2% of messages;
//! - stress: the same new messages, plus edits of 0.1% of all messages spread evenly over the
//!   history (in id order, the order the archive exports them), which touches most of the
//!   database's pages and most of an incremental backup's chunks.
//!
//! Everything happens in one transaction: a failure leaves the store as it was.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use super::{Generator, Members, Rng, DAY, HOUR, OWN_USER_ID, REACTIONS};
use crate::{
    store::{tombstone_message, upsert_reaction, ChatStore, DeliveryState, Reaction, SqlResultExt},
    Error, Result,
};

/// New messages of a day, as a share of the messages already stored.
const NEW_SHARE: f64 = 0.01;
/// The recent messages a realistic day touches, as a share of the messages stored...
const RECENT_SHARE: f64 = 0.02;
/// ...and the share of those recent messages it changes.
const RECENT_CHANGED_SHARE: f64 = 0.05;
/// Messages a stress day edits, as a share of the messages stored.
const SPREAD_EDIT_SHARE: f64 = 0.001;

/// Which day of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// New messages plus changes to recent messages.
    Realistic,
    /// New messages plus edits spread over the whole history.
    Stress,
}

/// A day of change: its kind and the seed that fixes every choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayOfChange {
    /// Seed of the choices: the same store, kind and seed give the same result.
    pub seed: u64,
    /// Realistic or stress.
    pub kind: DayKind,
}

/// What a day changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayReport {
    /// Messages added.
    pub new_messages: u64,
    /// Existing messages whose body was edited.
    pub edited: u64,
    /// Existing messages deleted (turned into tombstones).
    pub deleted: u64,
    /// Reactions added to existing messages.
    pub reactions: u64,
    /// Existing messages whose delivery state moved on.
    pub delivery_changes: u64,
}

/// One existing message as the day sees it.
struct Target {
    id: i64,
    conversation_id: i64,
    delivery: u8,
    /// System messages are never edited.
    editable: bool,
}

/// Applies one day of change to `store` (which must hold messages); returns what changed.
pub fn apply_day(store: &mut ChatStore, day: &DayOfChange) -> Result<DayReport> {
    let path = store.path().map(|p| p.to_path_buf());
    let conn = store.connection_mut();
    let result = (|| -> Result<DayReport> {
        let tx = conn.transaction().db()?;
        let report = apply(&tx, day)?;
        tx.commit().db()?;
        Ok(report)
    })();
    match (result, path) {
        (Err(e), Some(p)) => Err(e.with_path(p)),
        (result, _) => result,
    }
}

fn apply(conn: &Connection, day: &DayOfChange) -> Result<DayReport> {
    let (total, max_id, last_sent): (u64, i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(max(id), 0), coalesce(max(sent_at), 0) FROM messages",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .db()?;
    if total == 0 {
        return Err(Error::InvalidArgument(
            "a day of change needs a store that holds messages".into(),
        ));
    }
    let max_attachment: i64 = conn
        .query_row("SELECT coalesce(max(id), 0) FROM attachments", [], |r| {
            r.get(0)
        })
        .db()?;
    let recent = recent_messages(conn, share_of(total, RECENT_SHARE))?;
    let mut generator = Generator {
        rng: Rng(day.seed),
        per_conversation: Vec::new(),
        next_message_id: max_id + 1,
        next_attachment_id: max_attachment + 1,
        users: 0,
        body: String::with_capacity(2048),
    };
    // The day starts an hour after the newest message, so new messages come last everywhere.
    let start = last_sent + HOUR;
    let mut report = DayReport {
        new_messages: new_messages(conn, &mut generator, &recent, total, start)?,
        ..DayReport::default()
    };
    match day.kind {
        DayKind::Realistic => change_recent(conn, &mut generator, &recent, start, &mut report)?,
        DayKind::Stress => {
            report.edited = edit_spread(conn, &mut generator, total, start)?;
        }
    }
    Ok(report)
}

/// `share` of `total`, rounded, at least 1.
fn share_of(total: u64, share: f64) -> u64 {
    ((total as f64 * share).round() as u64).max(1)
}

/// The `count` most recent messages that are not tombstones, newest first.
fn recent_messages(conn: &Connection, count: u64) -> Result<Vec<Target>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, conversation_id, delivery, kind, deleted_at IS NULL FROM messages
             ORDER BY sent_at DESC, id DESC LIMIT ?1",
        )
        .db()?;
    let rows = stmt
        .query_map([count], |r| {
            Ok((
                Target {
                    id: r.get(0)?,
                    conversation_id: r.get(1)?,
                    delivery: r.get(2)?,
                    editable: r.get::<_, u8>(3)? != super::MessageKind::System.code(),
                },
                r.get::<_, bool>(4)?,
            ))
        })
        .db()?;
    let mut recent = Vec::new();
    for row in rows {
        let (target, alive) = row.db()?;
        if alive {
            recent.push(target);
        }
    }
    Ok(recent)
}

/// Adds 1% new messages, each in the conversation of a randomly chosen recent message (so they
/// land where the activity is), generated as the synthetic history is; returns how many.
fn new_messages(
    conn: &Connection,
    generator: &mut Generator,
    recent: &[Target],
    total: u64,
    start: i64,
) -> Result<u64> {
    let count = share_of(total, NEW_SHARE);
    let mut per_conversation: BTreeMap<i64, u64> = BTreeMap::new();
    for _ in 0..count {
        let pick = generator.rng.below(recent.len() as u64) as usize;
        let conversation = match recent.get(pick) {
            Some(target) => target.conversation_id,
            // Only tombstones are recent: the busiest conversation takes the messages.
            None => busiest_conversation(conn)?,
        };
        *per_conversation.entry(conversation).or_default() += 1;
    }
    for (conversation_id, count) in per_conversation {
        let mut members = members(conn, conversation_id, start)?;
        generator
            .messages(conn, conversation_id, &mut members, count)
            .db()?;
    }
    Ok(count)
}

fn busiest_conversation(conn: &Connection) -> Result<i64> {
    conn.query_row(
        "SELECT conversation_id FROM messages GROUP BY conversation_id
         ORDER BY count(*) DESC, conversation_id LIMIT 1",
        [],
        |r| r.get(0),
    )
    .db()
}

/// The members of a conversation (the device owner first, then by user id).
fn members(conn: &Connection, conversation_id: i64, last_sent: i64) -> Result<Members> {
    let group: bool = conn
        .query_row(
            "SELECT kind = 1 FROM conversations WHERE id = ?1",
            [conversation_id],
            |r| r.get(0),
        )
        .db()?;
    let mut users = vec![OWN_USER_ID.to_string()];
    users.extend(participants(conn, conversation_id)?);
    Ok(Members {
        users,
        group,
        last_sent,
        first_id: None,
    })
}

/// The participants of a conversation other than the device owner, by user id.
fn participants(conn: &Connection, conversation_id: i64) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT user_id FROM participants WHERE conversation_id = ?1 AND user_id != ?2
             ORDER BY user_id",
        )
        .db()?;
    let rows = stmt
        .query_map(params![conversation_id, OWN_USER_ID], |r| r.get(0))
        .db()?;
    rows.collect::<rusqlite::Result<Vec<String>>>().db()
}

/// Changes 5% of the recent messages: edits, deletions, reactions and delivery changes. A
/// delivery change of a message already read, or an edit of a system message, becomes a reaction.
fn change_recent(
    conn: &Connection,
    generator: &mut Generator,
    recent: &[Target],
    start: i64,
    report: &mut DayReport,
) -> Result<()> {
    let count = share_of(recent.len() as u64, RECENT_CHANGED_SHARE).min(recent.len() as u64);
    let mut order: Vec<usize> = (0..recent.len()).collect();
    for i in 0..count as usize {
        // Partial Fisher-Yates: the first `count` entries become a uniform sample.
        let j = i + generator.rng.below((order.len() - i) as u64) as usize;
        order.swap(i, j);
        let Some(target) = order.get(i).and_then(|&k| recent.get(k)) else {
            continue;
        };
        let at = start + generator.rng.between(0, DAY);
        let roll = generator.rng.below(100);
        let next_delivery = next_delivery(target.delivery);
        match roll {
            0..=29 if target.editable => {
                edit(conn, generator, target.id, at)?;
                report.edited += 1;
            }
            30..=44 => {
                tombstone_message(conn, target.id, at).db()?;
                report.deleted += 1;
            }
            80..=99 if next_delivery.is_some() => {
                let state = next_delivery.map_or(0, DeliveryState::code);
                conn.execute(
                    "UPDATE messages SET delivery = ?2 WHERE id = ?1",
                    params![target.id, state],
                )
                .db()?;
                report.delivery_changes += 1;
            }
            _ => {
                react(conn, generator, target, at)?;
                report.reactions += 1;
            }
        }
    }
    Ok(())
}

/// Where a delivery state moves next; `None` for a message already read.
fn next_delivery(code: u8) -> Option<DeliveryState> {
    match DeliveryState::from_code(u64::from(code))? {
        DeliveryState::Pending | DeliveryState::Failed => Some(DeliveryState::Sent),
        DeliveryState::Sent => Some(DeliveryState::Delivered),
        DeliveryState::Delivered => Some(DeliveryState::Read),
        DeliveryState::Read => None,
    }
}

/// Replaces the body of message `id` with a new generated one.
fn edit(conn: &Connection, generator: &mut Generator, id: i64, at: i64) -> Result<()> {
    let body = generator.text_body();
    conn.prepare_cached("UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![id, body, at]))
        .db()?;
    Ok(())
}

/// A member of the message's conversation reacts to it.
fn react(conn: &Connection, generator: &mut Generator, target: &Target, at: i64) -> Result<()> {
    let mut users = vec![OWN_USER_ID.to_string()];
    users.extend(participants(conn, target.conversation_id)?);
    let rng = &mut generator.rng;
    let sender = rng.pick(&users).cloned().unwrap_or_default();
    let emoji = rng.pick(REACTIONS).copied().unwrap_or("👍").to_string();
    upsert_reaction(
        conn,
        &Reaction {
            message_id: target.id,
            sender,
            emoji,
            created_at: at,
        },
    )
    .db()
}

/// Edits 0.1% of the messages that existed before the day, evenly spaced in id order (a
/// tombstone or system message at a chosen place passes the edit to the next message that can
/// take it); returns how many.
fn edit_spread(
    conn: &Connection,
    generator: &mut Generator,
    total: u64,
    start: i64,
) -> Result<u64> {
    let wanted = share_of(total, SPREAD_EDIT_SHARE);
    let step = (total / wanted).max(1);
    let mut chosen = Vec::with_capacity(wanted as usize);
    {
        let mut stmt = conn
            .prepare("SELECT id, kind, deleted_at IS NULL FROM messages WHERE id < ?1 ORDER BY id")
            .db()?;
        let first_new = generator.next_message_id;
        let mut rows = stmt.query([first_new]).db()?;
        let mut position = 0u64;
        let mut due = step / 2;
        while let Some(row) = rows.next().db()? {
            if chosen.len() as u64 >= wanted {
                break;
            }
            let editable = row.get::<_, u8>(1).db()? != super::MessageKind::System.code()
                && row.get::<_, bool>(2).db()?;
            if position >= due && editable {
                chosen.push(row.get::<_, i64>(0).db()?);
                due += step;
            }
            position += 1;
        }
    }
    for &id in &chosen {
        let at = start + generator.rng.between(0, DAY);
        edit(conn, generator, id, at)?;
    }
    Ok(chosen.len() as u64)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::store::{
        synthetic::{generate, SyntheticSpec},
        test_support::dump,
    };

    const MESSAGES: u64 = 20_000;

    fn generated() -> ChatStore {
        let mut store = ChatStore::open_in_memory().unwrap();
        let spec = SyntheticSpec {
            seed: 9,
            conversations: 40,
            messages: MESSAGES,
        };
        generate(&mut store, &spec).unwrap();
        store
    }

    fn day(kind: DayKind, seed: u64) -> DayOfChange {
        DayOfChange { seed, kind }
    }

    /// Every message row by id, as (id, body, edited_at, deleted_at, delivery).
    type Row = (i64, Option<String>, Option<i64>, Option<i64>, u8);

    fn messages(store: &ChatStore) -> BTreeMap<i64, Row> {
        let conn = store.connection();
        let mut stmt = conn
            .prepare("SELECT id, body, edited_at, deleted_at, delivery FROM messages")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap();
        rows.map(|r| {
            let row: Row = r.unwrap();
            (row.0, row)
        })
        .collect()
    }

    fn scalar(store: &ChatStore, sql: &str) -> i64 {
        store.connection().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn recent_ids(store: &ChatStore) -> BTreeSet<i64> {
        let limit = share_of(MESSAGES, RECENT_SHARE);
        let conn = store.connection();
        let mut stmt = conn
            .prepare("SELECT id FROM messages ORDER BY sent_at DESC, id DESC LIMIT ?1")
            .unwrap();
        let ids = stmt.query_map([limit], |r| r.get(0)).unwrap();
        ids.map(Result::unwrap).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_day_and_another_seed_does_not() {
        for kind in [DayKind::Realistic, DayKind::Stress] {
            let mut a = generated();
            let mut b = generated();
            let mut c = generated();
            let ra = apply_day(&mut a, &day(kind, 7)).unwrap();
            assert_eq!(apply_day(&mut b, &day(kind, 7)).unwrap(), ra);
            assert_eq!(dump(&a), dump(&b), "{kind:?}");
            apply_day(&mut c, &day(kind, 8)).unwrap();
            assert_ne!(dump(&a), dump(&c), "{kind:?}");
        }
    }

    #[test]
    fn a_realistic_day_adds_one_percent_and_changes_only_recent_messages() {
        let mut store = generated();
        let before = messages(&store);
        let before_counts = store.counts().unwrap();
        let recent = recent_ids(&store);
        let last_sent = scalar(&store, "SELECT max(sent_at) FROM messages");
        let report = apply_day(&mut store, &day(DayKind::Realistic, 1)).unwrap();
        store.check_integrity().unwrap();

        assert_eq!(report.new_messages, MESSAGES / 100);
        let after = messages(&store);
        assert_eq!(after.len() as u64, MESSAGES + report.new_messages);
        assert_eq!(
            store.counts().unwrap().conversations,
            before_counts.conversations
        );
        // New messages come after everything and sit in conversations with recent activity.
        assert_eq!(
            scalar(
                &store,
                &format!(
                    "SELECT count(*) FROM messages WHERE id > {MESSAGES} AND sent_at <= {last_sent}"
                )
            ),
            0
        );
        // Existing rows changed only among the recent 2%, about 5% of them.
        let changed: Vec<i64> = before
            .iter()
            .filter(|(id, row)| after.get(id) != Some(row))
            .map(|(id, _)| *id)
            .collect();
        assert!(changed.iter().all(|id| recent.contains(id)), "{changed:?}");
        let touched = report.edited + report.deleted + report.delivery_changes + report.reactions;
        let expected = (recent.len() as f64 * RECENT_CHANGED_SHARE).round() as u64;
        assert!(
            touched.abs_diff(expected) <= expected / 10 + 1,
            "{report:?} vs {expected}"
        );
        assert_eq!(
            changed.len() as u64,
            report.edited + report.deleted + report.delivery_changes
        );
        assert!(
            report.edited > 0 && report.deleted > 0 && report.reactions > 0,
            "{report:?}"
        );
        // Edited rows carry their edit time; deleted rows are tombstones.
        for id in &changed {
            let (_, body, edited_at, deleted_at, _) = after.get(id).unwrap();
            let old = before.get(id).unwrap();
            if deleted_at.is_some() && old.3.is_none() {
                assert!(body.is_none());
            } else if body != &old.1 {
                assert!(edited_at.unwrap() > last_sent);
            }
        }
    }

    #[test]
    fn a_stress_day_edits_a_thousandth_spread_over_the_whole_history() {
        let mut store = generated();
        let before = messages(&store);
        let reactions = store.counts().unwrap().reactions;
        let report = apply_day(&mut store, &day(DayKind::Stress, 1)).unwrap();
        store.check_integrity().unwrap();
        assert_eq!(report.new_messages, MESSAGES / 100);
        assert_eq!(report.edited, MESSAGES / 1000);
        assert_eq!(
            (report.deleted, report.delivery_changes),
            (0, 0),
            "{report:?}"
        );
        let after = messages(&store);
        let edited: Vec<i64> = before
            .iter()
            .filter(|(id, row)| after.get(id) != Some(row))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(edited.len() as u64, report.edited);
        // Evenly spread: every tenth of the history holds about a tenth of the edits.
        for tenth in 0..10 {
            let lo = (MESSAGES as i64) * tenth / 10;
            let hi = (MESSAGES as i64) * (tenth + 1) / 10;
            let here = edited.iter().filter(|&&id| id > lo && id <= hi).count();
            assert!((1..=3).contains(&here), "tenth {tenth}: {here} edits");
        }
        // Reactions only come with the new messages.
        assert_eq!(
            scalar(
                &store,
                &format!("SELECT count(*) FROM reactions WHERE message_id <= {MESSAGES}")
            ) as u64,
            reactions
        );
    }

    #[test]
    fn days_apply_one_after_another() {
        let mut store = generated();
        for seed in 0..3 {
            apply_day(&mut store, &day(DayKind::Realistic, seed)).unwrap();
        }
        apply_day(&mut store, &day(DayKind::Stress, 3)).unwrap();
        store.check_integrity().unwrap();
        assert_eq!(
            store.counts().unwrap().messages,
            MESSAGES + 200 + 202 + 204 + 206
        );
    }

    #[test]
    fn an_empty_store_is_refused_and_left_empty() {
        let mut store = ChatStore::open_in_memory().unwrap();
        let err = apply_day(&mut store, &day(DayKind::Realistic, 1)).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        assert_eq!(store.counts().unwrap().total(), 0);
    }
}
