//! Snapshot manifests and chunk lists.
//!
//! A snapshot's ordered list of data-chunk ids is itself stored as chunks (*list chunks*, cut
//! where an id's last byte is below 4, so about every 64 ids, with 16 to 1024 ids each): the cut
//! depends only on the ids, so a daily snapshot shares almost all its list chunks with the day
//! before and adds only a few KiB. The manifest (written last: the commit point) holds the
//! metadata and the list-chunk ids.
//!
//! # Snapshot object content (sealed-object envelope, kind snapshot, name `snapshots/<id hex>`)
//!
//! ```text
//! u64 time (unix seconds) || u64 sequence (parent's + 1; 1 without parent)
//! || u8 kind (1 = chat archive)
//! || 5 x u64 counts (conversations, participants, messages, reactions, attachments)
//! || u64 stream bytes || 32 archive digest
//! || u8 has parent (0/1) || 16 parent id (zeros without parent)
//! || u64 data chunk count || u32 list chunk count || count x list chunk id (32)
//! kind 2 only (an archive with media), then the media part:
//! || u64 catalog bytes || u64 catalog data chunk count
//! || u32 catalog list chunk count || count x list chunk id (32)
//! || u64 files stored || u64 files absent || u64 files skipped || u64 bytes stored
//! ```
//!
//! The media catalog (`crate::media::catalog`) is a second stream, chunked and listed like the
//! archive; its records name each attachment's media chunks. A snapshot without media is kind 1,
//! byte for byte as before media existed.
//!
//! A list chunk's plaintext is its data-chunk ids, 32 bytes each (16..=1024 of them; the
//! last list chunk of a snapshot may hold fewer than 16, and an empty stream has none).

use super::{
    codec::Reader,
    keys::{ChunkId, CHUNK_ID_LEN},
    object::{self, Kind},
    MediaSummary, Repository, SnapshotId, SnapshotInfo, SNAPSHOT_PREFIX,
};
use crate::{store::RecordCounts, Error, Result};

/// Payload kind: the chat archive stream.
pub const KIND_CHAT_ARCHIVE: u8 = 1;
/// Payload kind: the chat archive and a media catalog.
pub const KIND_ARCHIVE_WITH_MEDIA: u8 = 2;
/// Fewest ids in a list chunk before a content cut is allowed.
pub const LIST_MIN_IDS: usize = 16;
/// Most ids in a list chunk.
pub const LIST_MAX_IDS: usize = 1024;
/// Most list chunks a snapshot may reference (a stream of over 10^9 chunks).
pub const MAX_LIST_CHUNKS: u64 = 1 << 22;
/// Largest snapshot object accepted.
pub const MAX_SNAPSHOT_LEN: usize =
    object::MIN_LEN + 4 + MAX_CONTENT_LEN + MAX_CONTENT_LEN / 8 + object::PAD_UNIT;
/// Largest snapshot content: both streams at their most list chunks.
const MAX_CONTENT_LEN: usize =
    FIXED_LEN + MEDIA_FIXED_LEN + 2 * MAX_LIST_CHUNKS as usize * CHUNK_ID_LEN;
const FIXED_LEN: usize = 8 + 8 + 1 + 5 * 8 + 8 + 32 + 1 + 16 + 8 + 4;
const MEDIA_FIXED_LEN: usize = 8 + 8 + 4 + 4 * 8;

/// A decoded snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// What it records.
    pub info: SnapshotInfo,
    /// Its list chunks, in stream order.
    pub lists: Vec<ChunkId>,
    /// The media catalog stream, when the backup had media.
    pub catalog: Option<ListedStream>,
}

/// A stream stored as data chunks named by list chunks: where to find it and what to expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedStream {
    /// Its list chunks, in stream order.
    pub lists: Vec<ChunkId>,
    /// Bytes of the stream (plaintext).
    pub bytes: u64,
    /// Number of data chunks.
    pub chunks: u64,
}

impl Snapshot {
    /// The archive stream.
    pub fn archive(&self) -> ListedStream {
        ListedStream {
            lists: self.lists.clone(),
            bytes: self.info.bytes,
            chunks: self.info.chunks,
        }
    }
}

/// Whether a list chunk ends after `id` (having `len` ids with it).
pub fn is_list_cut(id: &ChunkId, len: usize) -> bool {
    len >= LIST_MAX_IDS || (len >= LIST_MIN_IDS && id[CHUNK_ID_LEN - 1] < 4)
}

/// The plaintext of a snapshot.
pub fn encode_plain(snapshot: &Snapshot) -> Vec<u8> {
    let info = &snapshot.info;
    let mut out = Vec::with_capacity(FIXED_LEN + snapshot.lists.len() * CHUNK_ID_LEN);
    out.extend_from_slice(&info.time.to_be_bytes());
    out.extend_from_slice(&info.sequence.to_be_bytes());
    out.push(if snapshot.catalog.is_some() {
        KIND_ARCHIVE_WITH_MEDIA
    } else {
        KIND_CHAT_ARCHIVE
    });
    let c = &info.counts;
    for n in [
        c.conversations,
        c.participants,
        c.messages,
        c.reactions,
        c.attachments,
    ] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(&info.bytes.to_be_bytes());
    out.extend_from_slice(&info.digest);
    out.push(u8::from(info.parent.is_some()));
    out.extend_from_slice(&info.parent.map_or([0; 16], |p| p.0));
    out.extend_from_slice(&info.chunks.to_be_bytes());
    out.extend_from_slice(&(snapshot.lists.len() as u32).to_be_bytes());
    for id in &snapshot.lists {
        out.extend_from_slice(id);
    }
    if let (Some(catalog), Some(media)) = (&snapshot.catalog, &info.media) {
        out.extend_from_slice(&catalog.bytes.to_be_bytes());
        out.extend_from_slice(&catalog.chunks.to_be_bytes());
        out.extend_from_slice(&(catalog.lists.len() as u32).to_be_bytes());
        for id in &catalog.lists {
            out.extend_from_slice(id);
        }
        for n in [
            media.files_stored,
            media.files_absent,
            media.files_skipped,
            media.bytes_stored,
        ] {
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    out
}

fn decode_lists(r: &mut Reader<'_>, what: &str) -> Result<Vec<ChunkId>> {
    let n = r.u32(what)?;
    let n = r.count(n.into(), CHUNK_ID_LEN, MAX_LIST_CHUNKS, what)?;
    let mut lists = Vec::with_capacity(n);
    for _ in 0..n {
        lists.push(r.array("list chunk id")?);
    }
    Ok(lists)
}

fn check_list_count(id: SnapshotId, stream: &ListedStream, what: &str) -> Result<()> {
    if stream.lists.len() as u64 > stream.chunks {
        // More list chunks than data chunks cannot come from a writer.
        return Err(Error::Corrupted {
            what: format!("snapshot {id}: more {what} list chunks than chunks"),
        });
    }
    Ok(())
}

/// Decodes a snapshot's plaintext; `id` comes from the object name.
pub fn decode_plain(id: SnapshotId, plain: &[u8]) -> Result<Snapshot> {
    let mut r = Reader::new(plain, "snapshot");
    let time = r.u64("time")?;
    let sequence = r.u64("sequence")?;
    let kind = r.u8("kind")?;
    if kind != KIND_CHAT_ARCHIVE && kind != KIND_ARCHIVE_WITH_MEDIA {
        return Err(Error::UnsupportedVersion {
            what: "snapshot payload kind".into(),
            found: kind.into(),
            supported: "1 (chat archive), 2 (chat archive with media)".into(),
        });
    }
    let counts = RecordCounts {
        conversations: r.u64("conversations")?,
        participants: r.u64("participants")?,
        messages: r.u64("messages")?,
        reactions: r.u64("reactions")?,
        attachments: r.u64("attachments")?,
    };
    let bytes = r.u64("stream bytes")?;
    let digest = r.array("digest")?;
    let has_parent = r.u8("has parent")?;
    let parent_bytes: [u8; 16] = r.array("parent")?;
    let parent = match has_parent {
        0 if parent_bytes == [0; 16] => None,
        1 => Some(SnapshotId(parent_bytes)),
        _ => {
            return Err(Error::Corrupted {
                what: format!("snapshot {id}: bad parent flag"),
            })
        }
    };
    let chunks = r.u64("chunk count")?;
    let lists = decode_lists(&mut r, "list chunk count")?;
    let (catalog, media) = if kind == KIND_ARCHIVE_WITH_MEDIA {
        let bytes = r.u64("catalog bytes")?;
        let chunks = r.u64("catalog chunk count")?;
        let lists = decode_lists(&mut r, "catalog list chunk count")?;
        let catalog = ListedStream {
            lists,
            bytes,
            chunks,
        };
        check_list_count(id, &catalog, "catalog")?;
        let media = MediaSummary {
            files_stored: r.u64("files stored")?,
            files_absent: r.u64("files absent")?,
            files_skipped: r.u64("files skipped")?,
            bytes_stored: r.u64("bytes stored")?,
        };
        (Some(catalog), Some(media))
    } else {
        (None, None)
    };
    r.finish()?;
    let snapshot = Snapshot {
        info: SnapshotInfo {
            id,
            time,
            sequence,
            counts,
            parent,
            bytes,
            digest,
            chunks,
            media,
        },
        lists,
        catalog,
    };
    check_list_count(id, &snapshot.archive(), "archive")?;
    Ok(snapshot)
}

/// Decodes the ids of a list chunk.
pub fn decode_list(plain: &[u8], id: &ChunkId) -> Result<Vec<ChunkId>> {
    if !plain.len().is_multiple_of(CHUNK_ID_LEN)
        || plain.len() > LIST_MAX_IDS * CHUNK_ID_LEN
        || plain.is_empty()
    {
        return Err(Error::Corrupted {
            what: format!(
                "list chunk {}: {} bytes is not a list of ids",
                hex::encode(id),
                plain.len()
            ),
        });
    }
    Ok(plain
        .chunks_exact(CHUNK_ID_LEN)
        .map(|c| {
            let mut out = [0u8; CHUNK_ID_LEN];
            out.copy_from_slice(c);
            out
        })
        .collect())
}

/// The snapshot id of object `name` (`snapshots/<32 hex>`).
pub fn id_of_name(name: &str) -> Result<SnapshotId> {
    name.strip_prefix(SNAPSHOT_PREFIX)
        .filter(|hex_part| hex_part.len() == 32)
        .and_then(|hex_part| hex_part.parse().ok())
        .ok_or_else(|| Error::Corrupted {
            what: format!("{name:?} is not a snapshot name"),
        })
}

/// Decodes snapshot object `name` from its bytes.
pub fn decode(repo: &Repository, name: &str, bytes: &[u8]) -> Result<Snapshot> {
    let id = id_of_name(name)?;
    let opened = object::open(repo.keys(), Kind::Snapshot, name, bytes, MAX_SNAPSHOT_LEN)?;
    decode_plain(id, &opened.content)
}

/// Reads and decodes snapshot object `name` from the store.
pub fn load(repo: &Repository, name: &str) -> Result<Snapshot> {
    let bytes = repo.store().get(name, None)?;
    decode(repo, name, &bytes)
}

/// Seals a snapshot under the current epoch.
pub fn encode(repo: &Repository, snapshot: &Snapshot) -> Result<Vec<u8>> {
    object::seal(
        repo.keys().current(),
        Kind::Snapshot,
        &snapshot.info.id.object_name(),
        &encode_plain(snapshot),
    )
}
