//! The repository's media calls: a backup with the attachments' files, then, on a new device
//! after the chats are restored, the media restore in the background and single attachments on
//! demand. The records and foreign traits are in `crate::media`.

use std::{path::Path, sync::Arc};

use keepsake_core::{
    backup as core_backup,
    media::{MediaBackup, MediaOptions as CoreMediaOptions, MediaRestore},
};

use super::{records, RepoBackupReport, Repository};
use crate::{
    backup::BackupOptions,
    error::{guard, FfiResult},
    media::{
        ForeignMediaSink, ForeignMediaSource, MediaFilter, MediaItem, MediaOptions,
        MediaRestoreReport, MediaSink, MediaSource,
    },
    progress::{Cancellation, Observers, ProgressListener},
    store::ChatStore,
};

#[uniffi::export]
impl Repository {
    /// `backup` with the attachments' files: after the chats, each attachment's file is read
    /// from `source` (new and changed files only: an unchanged size and stamp skip the read) and
    /// stored once however many attachments share its bytes. Progress reports a `Media` phase
    /// in bytes, with `filesDone`/`filesTotal`. A file the source cannot read is recorded as
    /// absent (`RepoBackupReport.media.filesUnreadable`); a `Cancelled` thrown by the source
    /// cancels the backup. As with `backup`, a failed or cancelled run leaves no snapshot and
    /// the next one reuses what was uploaded.
    #[uniffi::method(default(media_options = None, options = None, listener = None, cancellation = None))]
    pub fn backup_with_media(
        &self,
        store: Arc<ChatStore>,
        source: Arc<dyn MediaSource>,
        media_options: Option<MediaOptions>,
        options: Option<BackupOptions>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<RepoBackupReport> {
        guard(|| {
            let media_options =
                media_options.map_or_else(|| Ok(CoreMediaOptions::default()), |o| o.to_core())?;
            let source = ForeignMediaSource(source);
            let media = MediaBackup {
                source: &source,
                options: media_options,
            };
            self.run_backup(&store, options, Some(&media), listener, cancellation)
        })
    }

    /// Restores the media of snapshot `snapshot_id` (the latest when null) through `sink`,
    /// after `restore` brought the chats back: the attachments `filter` selects (all when null)
    /// that earlier runs did not restore, in id order. `state_dir` (app-private, kept out of
    /// backups) holds the run's state: a run that is cancelled, fails or is killed resumes with
    /// the next file. Attachments lost to damage are listed in the report and the run goes on;
    /// a failing store or sink stops it with the error.
    #[uniffi::method(default(snapshot_id = None, filter = None, listener = None, cancellation = None))]
    pub fn restore_media(
        &self,
        state_dir: String,
        sink: Arc<dyn MediaSink>,
        snapshot_id: Option<String>,
        filter: Option<MediaFilter>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> FfiResult<MediaRestoreReport> {
        guard(|| {
            let observers = Observers::new(listener, cancellation);
            observers.check()?;
            let id = records::snapshot_id(snapshot_id.as_deref())?;
            let filter = filter.map(Into::into).unwrap_or_default();
            let sink = ForeignMediaSink(sink);
            let report = self.inner.with(|r| {
                core_backup::restore_media_from_repo(
                    r,
                    id.as_ref(),
                    Path::new(&state_dir),
                    &filter,
                    &sink,
                    &observers.control(),
                )
            })?;
            Ok(report.into())
        })
    }

    /// Restores attachment `attachment_id` now (the user opened it before the media restore got
    /// to it), reading only the parts of the packs that hold it; returns it as recorded. Uses
    /// the same `state_dir` as `restore_media`, which then skips it. `MediaUnavailable` when the
    /// backup does not hold its bytes or they were lost to damage.
    #[uniffi::method(default(snapshot_id = None))]
    pub fn fetch_media(
        &self,
        state_dir: String,
        attachment_id: i64,
        sink: Arc<dyn MediaSink>,
        snapshot_id: Option<String>,
    ) -> FfiResult<MediaItem> {
        guard(|| {
            let id = records::snapshot_id(snapshot_id.as_deref())?;
            let sink = ForeignMediaSink(sink);
            let item = self.inner.with(|r| {
                MediaRestore::open(r, id.as_ref(), Path::new(&state_dir))?
                    .fetch(attachment_id, &sink)
            })?;
            Ok(MediaItem::from(&item))
        })
    }
}
