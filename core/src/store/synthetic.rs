//! Deterministic synthetic chat data for tests, the CLI and benchmarks: the same seed and sizes
//! always give the same database content, byte for byte in every column.
//!
//! The shape imitates a phone's chat history: mostly direct chats and some groups of 3 to 50
//! people, activity concentrated in a few conversations, mostly short bodies with some medium
//! and a few long ones, emoji and links, replies, edits, deletions, reactions and media
//! attachments. Rows go in through cached prepared statements in large transactions with
//! `synchronous = OFF`, so a million messages take seconds. [`apply_day`] then changes a store
//! as a day of use would (new messages, edits, deletions, reactions), for incremental backups.

mod day;

use rusqlite::Connection;

pub use day::{apply_day, DayKind, DayOfChange, DayReport};

use super::{
    insert_attachment, insert_message, upsert_conversation, upsert_participant, upsert_reaction,
    Attachment, ChatStore, Conversation, ConversationKind, DeliveryState, Message, MessageKind,
    Participant, Reaction, RecordCounts, Role, SqlResultExt,
};
use crate::{Error, Result};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticSpec {
    /// Seed of the generator: same seed and sizes, same content.
    pub seed: u64,
    /// Number of conversations (at least 1 when `messages` > 0).
    pub conversations: u32,
    /// Number of messages across all conversations.
    pub messages: u64,
}

/// The user id of the device owner in generated data.
pub const OWN_USER_ID: &str = "me";

/// Messages per transaction while generating.
const COMMIT_EVERY: u64 = 100_000;
/// 2024-01-01T00:00:00Z in milliseconds: generated histories start here.
const EPOCH_MS: i64 = 1_704_067_200_000;
const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const WORDS: &[&str] = &[
    "ok",
    "yes",
    "no",
    "sure",
    "thanks",
    "see",
    "you",
    "later",
    "tonight",
    "tomorrow",
    "today",
    "lunch",
    "dinner",
    "coffee",
    "meeting",
    "call",
    "me",
    "when",
    "where",
    "what",
    "time",
    "are",
    "we",
    "going",
    "to",
    "the",
    "a",
    "is",
    "it",
    "that",
    "this",
    "great",
    "good",
    "nice",
    "idea",
    "can",
    "I",
    "bring",
    "anything",
    "running",
    "late",
    "sorry",
    "on",
    "my",
    "way",
    "just",
    "got",
    "home",
    "work",
    "office",
    "train",
    "bus",
    "station",
    "weekend",
    "plans",
    "movie",
    "game",
    "birthday",
    "party",
    "gift",
    "photos",
    "from",
    "trip",
    "beach",
    "mountains",
    "weather",
    "rain",
    "sunny",
    "cold",
    "hot",
    "haha",
    "lol",
    "love",
    "it",
    "miss",
    "you",
    "too",
    "how",
    "was",
    "your",
    "day",
    "busy",
    "tired",
    "hungry",
    "pizza",
    "sushi",
    "salad",
    "order",
    "delivery",
    "kids",
    "school",
    "homework",
    "doctor",
    "appointment",
    "Monday",
    "Friday",
    "next",
    "week",
    "month",
    "ticket",
    "flight",
    "hotel",
    "booked",
    "confirmed",
    "address",
    "sent",
    "check",
    "email",
    "link",
    "document",
    "draft",
    "review",
    "please",
    "could",
    "would",
    "should",
    "maybe",
    "definitely",
    "absolutely",
    "agree",
    "think",
    "know",
    "wait",
    "minutes",
    "hour",
    "back",
    "soon",
    "ready",
    "done",
    "finished",
    "started",
    "project",
    "deadline",
    "budget",
    "team",
    "boss",
    "client",
];
const EMOJI: &[&str] = &[
    "😂",
    "❤️",
    "👍",
    "🙏",
    "😊",
    "🎉",
    "🔥",
    "😢",
    "😮",
    "🤔",
    "👀",
    "✅",
    "🍕",
    "☕",
    "🚆",
    "👨‍👩‍👧",
];
const REACTIONS: &[&str] = &["👍", "❤️", "😂", "😮", "😢", "🙏", "🔥", "🎉"];
const DOMAINS: &[&str] = &[
    "example.com",
    "news.example.org",
    "maps.example.net",
    "video.example.com",
    "shop.example.org",
];
const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Inès", "Jonas", "Kai",
    "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoë",
];

/// SplitMix64: tiny, fast and fully determined by its seed (not for secrets).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; 0 gives 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = hi.saturating_sub(lo).max(0) as u64;
        lo.saturating_add(self.below(span.saturating_add(1)) as i64)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}

/// Fills an empty `store` with synthetic data; returns the row counts.
pub fn generate(store: &mut ChatStore, spec: &SyntheticSpec) -> Result<RecordCounts> {
    if spec.messages > 0 && spec.conversations == 0 {
        return Err(Error::InvalidArgument(
            "synthetic messages need at least one conversation".into(),
        ));
    }
    if store.counts()?.total() != 0 {
        return Err(Error::InvalidArgument(
            "synthetic data goes into an empty store".into(),
        ));
    }
    let path = store.path().map(|p| p.to_path_buf());
    let conn = store.connection_mut();
    let previous_sync: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .db()?;
    conn.pragma_update(None, "synchronous", "OFF").db()?;
    let result = Generator::new(spec).run(conn, spec);
    let restored = conn.pragma_update(None, "synchronous", previous_sync).db();
    let outcome = result.db().and(restored);
    match (outcome, path) {
        (Err(e), Some(p)) => Err(e.with_path(p)),
        (Err(e), None) => Err(e),
        (Ok(()), _) => store.counts(),
    }
}

struct Generator {
    rng: Rng,
    /// Message count of each conversation.
    per_conversation: Vec<u64>,
    next_message_id: i64,
    next_attachment_id: i64,
    users: u64,
    body: String,
}

impl Generator {
    fn new(spec: &SyntheticSpec) -> Generator {
        let mut rng = Rng(spec.seed);
        // Heavy-tailed activity: a few chats hold most of the messages.
        let weights: Vec<f64> = (0..spec.conversations)
            .map(|_| rng.unit().powi(8) + 0.002)
            .collect();
        let total_weight: f64 = weights.iter().sum();
        let mut per_conversation: Vec<u64> = weights
            .iter()
            .map(|w| (spec.messages as f64 * w / total_weight) as u64)
            .collect();
        let assigned: u64 = per_conversation.iter().sum();
        let len = per_conversation.len().max(1);
        for i in 0..spec.messages.saturating_sub(assigned) as usize {
            if let Some(count) = per_conversation.get_mut(i % len) {
                *count += 1;
            }
        }
        Generator {
            rng,
            per_conversation,
            next_message_id: 1,
            next_attachment_id: 1,
            users: u64::from(spec.conversations).saturating_mul(2).max(60),
            body: String::with_capacity(2048),
        }
    }

    fn run(mut self, conn: &mut Connection, spec: &SyntheticSpec) -> rusqlite::Result<()> {
        let mut tx = conn.transaction()?;
        let mut in_tx = 0u64;
        for index in 0..spec.conversations {
            let count = self
                .per_conversation
                .get(index as usize)
                .copied()
                .unwrap_or(0);
            let mut members = self.conversation(&tx, i64::from(index) + 1)?;
            let mut done = 0;
            while done < count {
                let chunk = (count - done).min(COMMIT_EVERY - in_tx);
                self.messages(&tx, i64::from(index) + 1, &mut members, chunk)?;
                done += chunk;
                in_tx += chunk;
                if in_tx >= COMMIT_EVERY {
                    tx.commit()?;
                    tx = conn.transaction()?;
                    in_tx = 0;
                }
            }
        }
        tx.commit()
    }

    /// Writes a conversation and its participants; returns the member user ids and their join time.
    fn conversation(&mut self, conn: &Connection, id: i64) -> rusqlite::Result<Members> {
        let rng = &mut self.rng;
        let group = rng.chance(0.15);
        let created_at = EPOCH_MS + rng.between(0, 180 * DAY);
        let mut users = vec![OWN_USER_ID.to_string()];
        let size = if group {
            3 + (rng.unit().powi(2) * 47.0) as usize
        } else {
            2
        };
        while users.len() < size {
            let candidate = format!("u{:06}", rng.below(self.users));
            if !users.contains(&candidate) {
                users.push(candidate);
            }
        }
        let title = group.then(|| {
            let a = rng.pick(WORDS).copied().unwrap_or("chat");
            let b = rng.pick(WORDS).copied().unwrap_or("group");
            format!("{a} {b} {}", rng.pick(EMOJI).copied().unwrap_or(""))
        });
        upsert_conversation(
            conn,
            &Conversation {
                id,
                kind: if group {
                    ConversationKind::Group
                } else {
                    ConversationKind::Direct
                },
                title,
                created_at,
                archived: rng.chance(0.05),
                muted_until: rng
                    .chance(0.1)
                    .then(|| created_at + rng.between(HOUR, 365 * DAY)),
                pinned: rng.chance(0.03),
                extra: rng
                    .chance(0.1)
                    .then(|| format!("{{\"color\":\"#{:06x}\"}}", rng.below(0x100_0000))),
            },
        )?;
        for (i, user) in users.iter().enumerate() {
            let role = match (group, i) {
                (true, 0) => Role::Owner,
                (true, _) if rng.chance(0.1) => Role::Admin,
                _ => Role::Member,
            };
            let name = rng.pick(FIRST_NAMES).copied().unwrap_or("Sam");
            let initial = char::from(b'A' + rng.below(26) as u8);
            upsert_participant(
                conn,
                &Participant {
                    conversation_id: id,
                    user_id: user.clone(),
                    display_name: Some(format!("{name} {initial}.")),
                    role,
                    joined_at: created_at + if i < 2 { 0 } else { rng.between(0, DAY) },
                    extra: None,
                },
            )?;
        }
        Ok(Members {
            users,
            group,
            last_sent: created_at + DAY,
            first_id: None,
        })
    }

    /// Writes `count` more messages of a conversation, with reactions and attachments.
    fn messages(
        &mut self,
        conn: &Connection,
        conversation_id: i64,
        members: &mut Members,
        count: u64,
    ) -> rusqlite::Result<()> {
        let mut time = members.last_sent;
        let first_id = *members.first_id.get_or_insert(self.next_message_id);
        for _ in 0..count {
            let id = self.next_message_id;
            self.next_message_id += 1;
            let rng = &mut self.rng;
            time += match rng.below(100) {
                0..=69 => rng.between(5 * SECOND, 5 * MINUTE),
                70..=94 => rng.between(5 * MINUTE, 6 * HOUR),
                _ => rng.between(6 * HOUR, 3 * DAY),
            };
            let sender_index = if rng.chance(0.45) {
                0
            } else {
                1 + rng.below(members.users.len() as u64 - 1) as usize
            };
            let sender = members
                .users
                .get(sender_index)
                .map_or(OWN_USER_ID, String::as_str);
            let own = sender_index == 0;
            let roll = rng.below(100);
            let kind = match roll {
                0..=1 if members.group => MessageKind::System,
                2..=9 => MessageKind::Media,
                _ => MessageKind::Text,
            };
            let deleted = rng.chance(0.01);
            let earlier = (id - first_id) as u64;
            let reply_to = (earlier > 0 && kind != MessageKind::System && rng.chance(0.07))
                .then(|| id - 1 - rng.below(earlier.min(30)) as i64);
            let delivery = if own {
                match rng.below(100) {
                    0..=84 => DeliveryState::Read,
                    85..=92 => DeliveryState::Delivered,
                    93..=96 => DeliveryState::Sent,
                    97..=98 => DeliveryState::Failed,
                    _ => DeliveryState::Pending,
                }
            } else {
                DeliveryState::Read
            };
            let received_at = match delivery {
                DeliveryState::Pending | DeliveryState::Failed => None,
                _ => Some(time + rng.between(50, 5 * SECOND)),
            };
            let body = if deleted {
                None
            } else {
                match kind {
                    MessageKind::Text => Some(self.text_body()),
                    MessageKind::Media => self.rng.chance(0.4).then(|| self.short_body()),
                    MessageKind::System => Some(format!(
                        "{sender} {}",
                        self.rng
                            .pick(&["added a member", "changed the title", "left", "joined"])
                            .copied()
                            .unwrap_or("joined")
                    )),
                }
            };
            let rng = &mut self.rng;
            let edited_at = (!deleted && kind == MessageKind::Text && rng.chance(0.03))
                .then(|| time + rng.between(10 * SECOND, 10 * MINUTE));
            let extra = rng.chance(0.02).then(|| "{\"forwarded\":true}".to_string());
            insert_message(
                conn,
                &Message {
                    id,
                    conversation_id,
                    sender: sender.to_string(),
                    kind,
                    body,
                    sent_at: time,
                    received_at,
                    reply_to,
                    edited_at,
                    deleted_at: deleted.then(|| time + rng.between(SECOND, HOUR)),
                    delivery,
                    extra,
                },
            )?;
            if deleted {
                continue;
            }
            if kind == MessageKind::Media {
                self.attachment(conn, id)?;
            }
            if self.rng.chance(0.08) {
                self.reactions(conn, id, time, members)?;
            }
        }
        members.last_sent = time;
        Ok(())
    }

    fn attachment(&mut self, conn: &Connection, message_id: i64) -> rusqlite::Result<()> {
        let id = self.next_attachment_id;
        self.next_attachment_id += 1;
        let rng = &mut self.rng;
        let (mime, ext, size, dims, duration) = match rng.below(100) {
            0..=59 => {
                let (w, h) = *rng
                    .pick(&[
                        (4032, 3024),
                        (3024, 4032),
                        (1600, 1200),
                        (1280, 720),
                        (1080, 1920),
                    ])
                    .unwrap_or(&(1600, 1200));
                (
                    "image/jpeg",
                    "jpg",
                    rng.between(50_000, 4_000_000),
                    Some((w, h)),
                    None,
                )
            }
            60..=74 => (
                "video/mp4",
                "mp4",
                rng.between(1_000_000, 50_000_000),
                Some((1920, 1080)),
                Some(rng.between(2_000, 180_000)),
            ),
            75..=89 => (
                "audio/ogg",
                "ogg",
                rng.between(5_000, 500_000),
                None,
                Some(rng.between(1_000, 120_000)),
            ),
            _ => (
                "application/pdf",
                "pdf",
                rng.between(20_000, 5_000_000),
                None,
                None,
            ),
        };
        let file_name = (mime == "application/pdf").then(|| {
            format!(
                "{}-{}.pdf",
                rng.pick(WORDS).copied().unwrap_or("document"),
                rng.below(1000)
            )
        });
        insert_attachment(
            conn,
            &Attachment {
                id,
                message_id,
                mime: mime.to_string(),
                file_name,
                size: size as u64,
                sha256: Some(rng.bytes32()),
                width: dims.map(|(w, _)| w),
                height: dims.map(|(_, h)| h),
                duration_ms: duration.map(|d| d as u64),
                local_ref: Some(format!("media/{id}.{ext}")),
                extra: None,
            },
        )
    }

    fn reactions(
        &mut self,
        conn: &Connection,
        message_id: i64,
        sent_at: i64,
        members: &Members,
    ) -> rusqlite::Result<()> {
        let rng = &mut self.rng;
        let count = 1 + rng.below(3.min(members.users.len() as u64)) as usize;
        let start = rng.below(members.users.len() as u64) as usize;
        for k in 0..count {
            let Some(sender) = members.users.get((start + k) % members.users.len()) else {
                continue;
            };
            upsert_reaction(
                conn,
                &Reaction {
                    message_id,
                    sender: sender.clone(),
                    emoji: rng.pick(REACTIONS).copied().unwrap_or("👍").to_string(),
                    created_at: sent_at + rng.between(SECOND, DAY),
                },
            )?;
        }
        Ok(())
    }

    /// A chat body: many short, some medium, few long; sometimes emoji or a link.
    fn text_body(&mut self) -> String {
        let words = match self.rng.below(100) {
            0..=64 => self.rng.between(1, 6),
            65..=92 => self.rng.between(7, 30),
            _ => self.rng.between(31, 200),
        };
        self.sentence(words as usize)
    }

    fn short_body(&mut self) -> String {
        let words = self.rng.between(1, 5);
        self.sentence(words as usize)
    }

    fn sentence(&mut self, words: usize) -> String {
        let rng = &mut self.rng;
        let body = &mut self.body;
        body.clear();
        for i in 0..words {
            let word = rng.pick(WORDS).copied().unwrap_or("ok");
            if i > 0 {
                body.push(if rng.chance(0.06) { ',' } else { ' ' });
                if body.ends_with(',') {
                    body.push(' ');
                }
            }
            if i == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    body.extend(first.to_uppercase());
                    body.push_str(chars.as_str());
                }
            } else {
                body.push_str(word);
            }
            if i + 1 < words && rng.chance(0.04) {
                body.push_str(". ");
            }
        }
        if rng.chance(0.04) {
            let domain = rng.pick(DOMAINS).copied().unwrap_or("example.com");
            let path = rng.pick(WORDS).copied().unwrap_or("x");
            body.push_str(&format!(" https://{domain}/{path}/{}", rng.below(100_000)));
        }
        if rng.chance(0.18) {
            body.push(' ');
            for _ in 0..1 + rng.below(3) {
                body.push_str(rng.pick(EMOJI).copied().unwrap_or("🙂"));
            }
        } else if rng.chance(0.5) {
            body.push(*rng.pick(&['.', '!', '?']).unwrap_or(&'.'));
        }
        body.clone()
    }
}

/// A conversation being filled: its members (the device owner first) and where its history is.
struct Members {
    users: Vec<String>,
    group: bool,
    /// Time of the latest message so far.
    last_sent: i64,
    /// Id of the conversation's first message, once written.
    first_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::dump;

    fn generated(seed: u64, conversations: u32, messages: u64) -> ChatStore {
        let mut store = ChatStore::open_in_memory().unwrap();
        let spec = SyntheticSpec {
            seed,
            conversations,
            messages,
        };
        let counts = generate(&mut store, &spec).unwrap();
        assert_eq!(counts.conversations, u64::from(conversations));
        assert_eq!(counts.messages, messages);
        store
    }

    fn scalar(store: &ChatStore, sql: &str) -> i64 {
        store.connection().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_database_and_another_seed_does_not() {
        let a = generated(42, 30, 3_000);
        let b = generated(42, 30, 3_000);
        assert_eq!(dump(&a), dump(&b));
        let c = generated(43, 30, 3_000);
        assert_ne!(dump(&a), dump(&c));
    }

    #[test]
    fn the_data_looks_like_a_chat_history() {
        let store = generated(5, 300, 30_000);
        store.check_integrity().unwrap();
        let groups = scalar(&store, "SELECT count(*) FROM conversations WHERE kind = 1");
        assert!((15..=90).contains(&groups), "{groups} groups of 300");
        let sizes = "SELECT count(*) AS n FROM participants JOIN conversations c
                     ON c.id = conversation_id GROUP BY conversation_id, c.kind";
        let direct_sizes = scalar(
            &store,
            &format!(
                "SELECT count(DISTINCT n) FROM ({} HAVING c.kind = 0)",
                sizes
            ),
        );
        assert_eq!(direct_sizes, 1);
        let min_group = scalar(
            &store,
            &format!("SELECT min(n) FROM ({sizes} HAVING c.kind = 1)"),
        );
        let max_group = scalar(
            &store,
            &format!("SELECT max(n) FROM ({sizes} HAVING c.kind = 1)"),
        );
        assert!(
            min_group >= 3 && max_group <= 50 && max_group > 10,
            "{min_group}..{max_group}"
        );

        let share = |filter: &str| {
            scalar(
                &store,
                &format!("SELECT count(*) FROM messages WHERE {filter}"),
            ) as f64
                / 30_000.0
        };
        let short = share("kind = 0 AND length(body) < 40");
        let long = share("kind = 0 AND length(body) > 200");
        assert!(
            short > 0.4 && long > 0.02 && long < 0.15,
            "short {short}, long {long}"
        );
        assert!(share("body LIKE '%https://%'") > 0.01);
        assert!(share("body LIKE '%😂%' OR body LIKE '%👍%' OR body LIKE '%❤️%'") > 0.01);
        assert!(share("reply_to IS NOT NULL") > 0.03);
        assert!(share("edited_at IS NOT NULL") > 0.01);
        let deleted = share("deleted_at IS NOT NULL");
        assert!(deleted > 0.003 && deleted < 0.03, "{deleted}");
        assert_eq!(share("deleted_at IS NOT NULL AND body IS NOT NULL"), 0.0);
        assert!(share("kind = 1") > 0.04);
        let counts = store.counts().unwrap();
        assert!(
            counts.reactions > 1_000 && counts.attachments > 1_000,
            "{counts:?}"
        );
        // Replies stay in their conversation and point backwards.
        assert_eq!(
            scalar(
                &store,
                "SELECT count(*) FROM messages m JOIN messages r ON r.id = m.reply_to
                 WHERE r.conversation_id != m.conversation_id OR r.id >= m.id"
            ),
            0
        );
        // Activity is concentrated: the busiest tenth of chats holds most messages.
        let top = scalar(
            &store,
            "SELECT sum(n) FROM (SELECT count(*) AS n FROM messages GROUP BY conversation_id
             ORDER BY n DESC LIMIT 30)",
        );
        assert!(top > 15_000, "{top}");
    }

    #[test]
    fn a_store_with_data_or_messages_without_conversations_are_refused() {
        let mut store = generated(1, 2, 10);
        let spec = SyntheticSpec {
            seed: 1,
            conversations: 2,
            messages: 10,
        };
        assert!(matches!(
            generate(&mut store, &spec),
            Err(Error::InvalidArgument(_))
        ));
        let mut empty = ChatStore::open_in_memory().unwrap();
        let spec = SyntheticSpec {
            seed: 1,
            conversations: 0,
            messages: 10,
        };
        assert!(matches!(
            generate(&mut empty, &spec),
            Err(Error::InvalidArgument(_))
        ));
    }
}
