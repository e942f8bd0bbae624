//! The Keepsake side of `scripts/bench-repo.sh`: one subcommand per measured step, so that the
//! script can time each as its own process and read its peak RSS. The database and keyring
//! come from `bench_pipeline` (the same ones as `scripts/bench.sh`).
//!
//! ```text
//! bench_repo init REPO KEYRING              new repository in the directory REPO
//! bench_repo backup DB REPO KEYRING CACHE   back DB up as a new snapshot (local cache in CACHE)
//! bench_repo restore REPO DB KEYRING        restore the latest snapshot into the new file DB
//! bench_repo snapshots REPO KEYRING         print the number of snapshots
//! bench_repo day DB realistic|stress SEED   apply a day of change to DB
//!
//! bench_repo media-gen DB DIR BYTES SEED DIVISOR
//!     synthetic media files for DB's attachments under the new directory DIR (about BYTES;
//!     sizes divided by DIVISOR); prints `files=` and `bytes=`
//! bench_repo media-grow DB DIR SHARE SEED DIVISOR
//!     new photo files for attachments that have none, SHARE (e.g. 0.01) of DIR's bytes; the
//!     database is left as it is, so a backup's growth is the media's; prints `new_bytes=`
//! bench_repo media-backup DB REPO KEYRING CACHE DIR [aead]
//!     back DB and its media in DIR up; prints `media_seconds=` (the media phase: from its
//!     first progress report to the committed snapshot) and `media_bytes_read=`; with `aead`,
//!     then seals the same files' bytes with AES-256-GCM (1 MiB buffers, one thread) and
//!     prints `aead_seconds=` (sealing only, the files being read outside the clock)
//! bench_repo media-restore REPO KEYRING STATE DIR
//!     restores the latest snapshot's media into DIR; prints `files_restored=`
//! bench_repo media-fetch DB REPO KEYRING STATE DIR MEDIA N
//!     fetches N different photos of about 2 MB (of those stored in MEDIA) one at a time with
//!     an open `MediaRestore`, then N others each with a fresh state and `MediaRestore::open`;
//!     checks each against MEDIA; prints `fetch_ms_median=` and `fetch_cold_ms_median=`
//! ```

use std::{
    fs::File,
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aes_gcm::{
    aead::{AeadInOut, KeyInit},
    Aes256Gcm, Key, Nonce,
};
use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    crypto::RootKey,
    keyring::Keyring,
    media::{
        synthetic::{write_media_files, MediaSpec},
        DirMediaSink, DirMediaSource, MediaBackup, MediaFilter, MediaKind, MediaOptions,
        MediaRestore,
    },
    progress::{Phase, Progress},
    repo::{BlobStore, DirStore, RepoOptions, Repository},
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        AttachmentPlace, ChatStore,
    },
    Error, Result,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_repo: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let arg = |i: usize| -> Result<&str> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            Error::InvalidArgument(format!("missing argument {i}; see the doc comment"))
        })
    };
    let path = |i: usize| arg(i).map(Path::new);
    let number = |i: usize| -> Result<u64> {
        arg(i)?
            .parse()
            .map_err(|_| Error::InvalidArgument(format!("argument {i} is not a number")))
    };
    match arg(0)? {
        "init" => {
            let keyring = load_keyring(path(2)?)?;
            Repository::init(store(path(1)?)?, &keyring, &RepoOptions::default())?;
            Ok(())
        }
        "backup" => {
            let keyring = load_keyring(path(3)?)?;
            let mut repo = Repository::open(store(path(2)?)?, &Secret::Keyring(&keyring))?;
            let chats = ChatStore::open(path(1)?)?;
            let summary = backup::backup_store_to_repo(
                &chats,
                &mut repo,
                Some(path(4)?),
                &BackupOptions::for_generation(0),
                &Control::default(),
            )?;
            eprintln!(
                "snapshot {}: {} stream bytes, {} chunks ({} new), {} bytes in {} objects uploaded",
                summary.snapshot,
                summary.bytes_read,
                summary.chunks,
                summary.new_chunks,
                summary.bytes_uploaded,
                summary.objects_written
            );
            Ok(())
        }
        "restore" => {
            let keyring = load_keyring(path(3)?)?;
            let repo = Repository::open(store(path(1)?)?, &Secret::Keyring(&keyring))?;
            backup::restore_from_repo(
                &repo,
                None,
                path(2)?,
                &RestoreOptions::default(),
                &Control::default(),
            )?;
            Ok(())
        }
        "snapshots" => {
            let keyring = load_keyring(path(2)?)?;
            let repo = Repository::open(store(path(1)?)?, &Secret::Keyring(&keyring))?;
            println!("{}", repo.snapshots()?.len());
            Ok(())
        }
        "day" => {
            let kind = match arg(2)? {
                "realistic" => DayKind::Realistic,
                "stress" => DayKind::Stress,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown day {other}: realistic or stress"
                    )))
                }
            };
            let seed = arg(3)?
                .parse()
                .map_err(|_| Error::InvalidArgument("the seed is not a number".into()))?;
            let mut chats = ChatStore::open(path(1)?)?;
            let report = apply_day(&mut chats, &DayOfChange { seed, kind })?;
            chats.close()?;
            eprintln!("{kind:?} day {seed}: {report:?}");
            Ok(())
        }
        "media-gen" => {
            let mut chats = ChatStore::open(path(1)?)?;
            let spec = MediaSpec {
                size_divisor: number(5)?,
                ..MediaSpec::realistic(number(4)?, number(3)?)
            };
            let set = write_media_files(&mut chats, path(2)?, &spec)?;
            chats.close()?;
            println!("files={}\nbytes={}", set.files, set.bytes);
            eprintln!("media set: {set:?}");
            Ok(())
        }
        "media-grow" => {
            let share: f64 = arg(3)?
                .parse()
                .map_err(|_| Error::InvalidArgument("the share is not a number".into()))?;
            let chats = ChatStore::open(path(1)?)?;
            let new_bytes = grow_media(&chats, path(2)?, share, number(4)?, number(5)?)?;
            println!("new_bytes={new_bytes}");
            Ok(())
        }
        "media-backup" => media_backup(
            path(1)?,
            path(2)?,
            path(3)?,
            path(4)?,
            path(5)?,
            args.get(6).is_some_and(|a| a == "aead"),
        ),
        "media-restore" => {
            let keyring = load_keyring(path(2)?)?;
            let repo = Repository::open(store(path(1)?)?, &Secret::Keyring(&keyring))?;
            let report = backup::restore_media_from_repo(
                &repo,
                None,
                path(3)?,
                &MediaFilter::default(),
                &DirMediaSink::new(path(4)?),
                &Control::default(),
            )?;
            if !report.lost.is_empty() {
                return Err(Error::Corrupted {
                    what: format!("media restore lost {:?}", report.lost),
                });
            }
            println!("files_restored={}", report.files_restored);
            eprintln!("media restore: {report:?}");
            Ok(())
        }
        "media-fetch" => {
            let keyring = load_keyring(path(3)?)?;
            let repo = Repository::open(store(path(2)?)?, &Secret::Keyring(&keyring))?;
            let chats = ChatStore::open(path(1)?)?;
            let count = usize::try_from(number(7)?).unwrap_or(usize::MAX);
            media_fetch(&repo, &chats, path(4)?, path(5)?, path(6)?, count)
        }
        other => Err(Error::InvalidArgument(format!(
            "unknown subcommand {other}"
        ))),
    }
}

/// Every attachment of `chats` with where its file would be under `dir`, in id order.
fn attachment_files(chats: &ChatStore, dir: &Path) -> Result<Vec<(AttachmentPlace, PathBuf)>> {
    let mut out = Vec::new();
    let mut after = i64::MIN;
    loop {
        let page = chats.attachments_after(after, 1024)?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.attachment.id;
        for place in page {
            if let Some(path) = place
                .attachment
                .local_ref
                .as_deref()
                .and_then(|r| keepsake_core::media::path_under(dir, r))
            {
                out.push((place, path));
            }
        }
    }
}

/// A splitmix64 generator: the new files' sizes and bytes, deterministic for a seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Writes incompressible photos of 0.1 to 4 MB (divided by `divisor`) for attachments with no
/// file under `dir`, in id order, until `share` of the bytes already there are added.
fn grow_media(chats: &ChatStore, dir: &Path, share: f64, seed: u64, divisor: u64) -> Result<u64> {
    let files = attachment_files(chats, dir)?;
    let present: u64 = files
        .iter()
        .filter_map(|(_, path)| std::fs::metadata(path).ok())
        .map(|m| m.len())
        .sum();
    let goal = (present as f64 * share) as u64;
    let mut rng = SplitMix(seed);
    let mut added = 0u64;
    for (_, path) in files.iter().filter(|(_, path)| !path.exists()) {
        if added >= goal {
            break;
        }
        let size = (100_000 + rng.next() % 3_900_000) / divisor.max(1);
        let mut out = BufWriter::new(File::create(path).map_err(|e| Error::io_at(path, e))?);
        let mut left = size;
        while left > 0 {
            let word = rng.next().to_le_bytes();
            let n = left.min(8) as usize;
            out.write_all(&word[..n])
                .map_err(|e| Error::io_at(path, e))?;
            left -= n as u64;
        }
        out.flush().map_err(|e| Error::io_at(path, e))?;
        added += size;
    }
    Ok(added)
}

fn media_backup(
    db: &Path,
    repo_dir: &Path,
    keyring: &Path,
    cache: &Path,
    media: &Path,
    aead: bool,
) -> Result<()> {
    let keyring = load_keyring(keyring)?;
    let mut repo = Repository::open(store(repo_dir)?, &Secret::Keyring(&keyring))?;
    let chats = ChatStore::open(db)?;
    let source = DirMediaSource::new(media);
    let media_started: Mutex<Option<Instant>> = Mutex::new(None);
    let progress = |p: Progress| {
        if p.phase == Phase::Media {
            let mut started = media_started.lock().unwrap_or_else(|e| e.into_inner());
            started.get_or_insert_with(Instant::now);
        }
    };
    let summary = backup::backup_store_with_media(
        &chats,
        &mut repo,
        Some(cache),
        &BackupOptions::for_generation(0),
        Some(&MediaBackup {
            source: &source,
            options: MediaOptions::default(),
        }),
        &Control {
            progress: Some(&progress),
            cancel: None,
        },
    )?;
    let ended = Instant::now();
    let started = media_started
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or_else(|| Error::InvalidArgument("no media phase was reported".into()))?;
    let stats = summary
        .media
        .ok_or_else(|| Error::InvalidArgument("the backup had no media".into()))?;
    eprintln!(
        "media backup: {stats:?}; {} bytes in {} objects uploaded",
        summary.bytes_uploaded, summary.objects_written
    );
    println!(
        "media_seconds={:.4}\nmedia_bytes_read={}",
        (ended - started).as_secs_f64(),
        stats.bytes_read
    );
    if aead {
        let (sealed, seconds) = seal_files(&chats, media)?;
        println!("aead_seconds={seconds:.4}\naead_bytes={sealed}");
    }
    Ok(())
}

/// Seals every attachment file under `media` with AES-256-GCM, 1 MiB at a time on this thread,
/// the way a minimal encrypting copy would; returns the bytes and the seconds spent sealing.
fn seal_files(chats: &ChatStore, media: &Path) -> Result<(u64, f64)> {
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(
        keepsake_core::crypto::random_bytes::<32>()?,
    ));
    let mut buffer = vec![0u8; 1 << 20];
    let mut counter = 0u64;
    let (mut bytes, mut sealing) = (0u64, Duration::ZERO);
    for (_, path) in attachment_files(chats, media)? {
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        loop {
            let n = read_full(&mut file, &mut buffer).map_err(|e| Error::io_at(&path, e))?;
            if n == 0 {
                break;
            }
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&counter.to_le_bytes());
            counter += 1;
            let started = Instant::now();
            let tag = cipher
                .encrypt_inout_detached(
                    &Nonce::from(nonce),
                    b"",
                    buffer.get_mut(..n).unwrap_or_default().into(),
                )
                .map_err(|_| Error::InvalidArgument("AEAD seal failed".into()))?;
            sealing += started.elapsed();
            std::hint::black_box(tag);
            bytes += n as u64;
        }
    }
    Ok((bytes, sealing.as_secs_f64()))
}

/// Reads until `buffer` is full or the file ends.
fn read_full(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(buffer.get_mut(filled..).unwrap_or_default())? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times
        .get(times.len() / 2)
        .map_or(f64::NAN, |t| t.as_secs_f64() * 1000.0)
}

/// Times on-demand fetches of photos of about 2 MB: warm (one open [`MediaRestore`]) and cold
/// (a fresh state directory and [`MediaRestore::open`] each time, as a new device's first
/// fetch).
fn media_fetch(
    repo: &Repository,
    chats: &ChatStore,
    state: &Path,
    to: &Path,
    media: &Path,
    count: usize,
) -> Result<()> {
    let mut photos: Vec<(u64, i64, PathBuf)> = attachment_files(chats, media)?
        .into_iter()
        .filter(|(place, _)| MediaKind::of_mime(&place.attachment.mime) == MediaKind::Image)
        .filter_map(|(place, path)| {
            let size = std::fs::metadata(&path).ok()?.len();
            Some((size.abs_diff(2_000_000), place.attachment.id, path))
        })
        .collect();
    photos.sort();
    if photos.len() < 2 * count {
        return Err(Error::InvalidArgument(format!(
            "only {} photos for 2 x {count} fetches",
            photos.len()
        )));
    }
    let sink = DirMediaSink::new(to);
    let fetch_checked = |restore: &MediaRestore<'_>, id: i64, source: &Path| -> Result<()> {
        let item = restore.fetch(id, &sink)?;
        let restored = std::fs::read(sink.path_for(&item)).map_err(|e| Error::io_at(to, e))?;
        let original = std::fs::read(source).map_err(|e| Error::io_at(source, e))?;
        if restored != original {
            return Err(Error::Corrupted {
                what: format!("attachment {id} fetched differs from its file"),
            });
        }
        Ok(())
    };
    let restore = MediaRestore::open(repo, None, state)?;
    let mut warm = Vec::new();
    for (_, id, source) in photos.iter().take(count) {
        let started = Instant::now();
        fetch_checked(&restore, *id, source)?;
        warm.push(started.elapsed());
    }
    drop(restore);
    let mut cold = Vec::new();
    for (_, id, source) in photos.iter().skip(count).take(count) {
        let _ = std::fs::remove_dir_all(state);
        let started = Instant::now();
        let restore = MediaRestore::open(repo, None, state)?;
        fetch_checked(&restore, *id, source)?;
        cold.push(started.elapsed());
    }
    let sizes: Vec<u64> = photos.iter().take(count).map(|p| p.0).collect();
    eprintln!(
        "fetched photos within {:?} bytes of 2 MB",
        sizes.iter().max()
    );
    println!(
        "fetch_ms_median={:.2}\nfetch_cold_ms_median={:.2}",
        median_ms(warm),
        median_ms(cold)
    );
    Ok(())
}

fn store(dir: &Path) -> Result<Arc<dyn BlobStore>> {
    Ok(Arc::new(DirStore::open(dir)?))
}

/// The keyring file of `bench_pipeline keyring`: the 32-byte root key, then the public part.
fn load_keyring(path: &Path) -> Result<Keyring> {
    let bytes = std::fs::read(path).map_err(|e| Error::io_at(PathBuf::from(path), e))?;
    let (root, public) = bytes
        .split_first_chunk::<32>()
        .ok_or_else(|| Error::InvalidArgument("keyring file too short".into()))?;
    Keyring::from_parts(RootKey::from_bytes(*root), public)
}
