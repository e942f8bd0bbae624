//! Media in the repository (layer 8 of `docs/ARCHITECTURE.md`, between `repo` and `backup`):
//! photos, voice notes, videos and documents, deduplicated, incremental, and restored after
//! the chats, in the background or one attachment on demand.
//!
//! - [`source`]: where the app's files are ([`MediaSource`]; [`DirMediaSource`] for a
//!   directory). The core never asks for a whole file at once: it reads a stream.
//! - [`write`]: the media part of a backup. Each attachment's bytes are cut into fixed blocks
//!   ([`write::MEDIA_BLOCK`]), stored once however many attachments share them, in media packs
//!   of one size apart from the chats'; the snapshot's media catalog (`crate::repo::catalog`)
//!   maps each attachment to its blocks.
//! - [`restore`]: the media restore, after the database restore: a resumable run over the
//!   attachments a [`MediaFilter`] selects, and [`MediaRestore::fetch`] for one attachment;
//!   a damaged pack costs only the attachments stored in it.
//! - [`sink`]: where restored files go ([`MediaSink`]; [`DirMediaSink`] for a directory).
//!   A file is committed only once its size and SHA-256 match the backup.
//!
//! Layout and what the store learns: `docs/REPOSITORY.md` §14.

pub mod restore;
pub mod sink;
pub mod source;
pub mod synthetic;
pub mod write;

pub use restore::{LostMedia, MediaRestore, MediaRestoreReport};
pub use sink::{DirMediaSink, MediaItem, MediaSink, MediaWriter};
pub use source::{DirMediaSource, FileStamp, MediaRef, MediaSource};
pub use write::{MediaBackup, MediaBackupStats, MediaOptions};

use std::path::{Component, Path, PathBuf};

/// What kind of media an attachment is, from its MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `image/*`.
    Image,
    /// `video/*`.
    Video,
    /// `audio/*` (voice notes).
    Audio,
    /// Anything else (documents).
    Document,
}

impl MediaKind {
    /// The kind of MIME type `mime`.
    pub fn of_mime(mime: &str) -> MediaKind {
        let top = mime.split('/').next().unwrap_or_default().trim();
        if top.eq_ignore_ascii_case("image") {
            MediaKind::Image
        } else if top.eq_ignore_ascii_case("video") {
            MediaKind::Video
        } else if top.eq_ignore_ascii_case("audio") {
            MediaKind::Audio
        } else {
            MediaKind::Document
        }
    }

    /// Whether chunks of this kind are worth compressing: photos, videos and voice notes are
    /// compressed by their codecs already; documents often are not.
    pub fn compressible(self) -> bool {
        self == MediaKind::Document
    }
}

/// Which attachments a media restore takes (all of them by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaFilter {
    /// Only these conversations (all when `None`).
    pub conversations: Option<Vec<i64>>,
    /// Only messages sent at or after this time (the unit of `messages.sent_at`).
    pub sent_from: Option<i64>,
    /// Only messages sent before this time.
    pub sent_until: Option<i64>,
    /// Only these kinds (all when `None`).
    pub kinds: Option<Vec<MediaKind>>,
}

impl MediaFilter {
    /// Whether an attachment of `conversation_id`, sent at `sent_at`, of `kind` is selected.
    pub fn selects(&self, conversation_id: i64, sent_at: i64, kind: MediaKind) -> bool {
        self.conversations
            .as_ref()
            .is_none_or(|c| c.contains(&conversation_id))
            && self.sent_from.is_none_or(|from| sent_at >= from)
            && self.sent_until.is_none_or(|until| sent_at < until)
            && self.kinds.as_ref().is_none_or(|k| k.contains(&kind))
    }
}

/// `local_ref` as a path under `root`, when it is a plain relative path (no root, no `..`):
/// a reference from a backup must never write outside the media directory.
pub fn path_under(root: &Path, local_ref: &str) -> Option<PathBuf> {
    let relative = Path::new(local_ref);
    let plain = !local_ref.is_empty()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    plain.then(|| root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_mime_type() {
        assert_eq!(MediaKind::of_mime("image/jpeg"), MediaKind::Image);
        assert_eq!(MediaKind::of_mime("VIDEO/mp4"), MediaKind::Video);
        assert_eq!(
            MediaKind::of_mime("audio/ogg; codecs=opus"),
            MediaKind::Audio
        );
        assert_eq!(MediaKind::of_mime("application/pdf"), MediaKind::Document);
        assert_eq!(MediaKind::of_mime(""), MediaKind::Document);
    }

    #[test]
    fn references_that_leave_the_directory_are_refused() {
        let root = Path::new("/m");
        assert_eq!(
            path_under(root, "a/b.jpg"),
            Some(PathBuf::from("/m/a/b.jpg"))
        );
        for bad in ["", "/etc/passwd", "../x", "a/../../x"] {
            assert_eq!(path_under(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn a_filter_selects_by_conversation_time_and_kind() {
        let filter = MediaFilter {
            conversations: Some(vec![1, 2]),
            sent_from: Some(100),
            sent_until: Some(200),
            kinds: Some(vec![MediaKind::Image]),
        };
        assert!(filter.selects(1, 150, MediaKind::Image));
        assert!(!filter.selects(3, 150, MediaKind::Image));
        assert!(!filter.selects(1, 200, MediaKind::Image));
        assert!(!filter.selects(1, 99, MediaKind::Image));
        assert!(!filter.selects(1, 150, MediaKind::Video));
        assert!(MediaFilter::default().selects(9, 0, MediaKind::Document));
    }
}
