//! Measures the repository's chunking choices on a synthetic chat store, in release mode:
//!
//! ```sh
//! cargo run --release -p keepsake-core --example repo_tuning -- [messages] [min/avg/max ...]
//! ```
//!
//! For each chunker setting (KiB, e.g. `2/8/32`): the first backup's wall time and size, then
//! the bytes a backup after a realistic day and after a stress day adds, as a share of the full
//! snapshot, with the peak RSS of the process. This is the measurement behind the defaults in
//! `docs/REPOSITORY.md`, "Chunk sizes".

use std::{path::Path, sync::Arc, time::Instant};

use keepsake_core::{
    backup::{backup_store_to_repo, BackupOptions, Control},
    keyring::{Keyring, UnlockedRoot},
    repo::{ChunkerParams, MemStore, RepoOptions, Repository},
    store::{
        synthetic::{apply_day, DayKind, DayOfChange},
        synthetic::{generate, SyntheticSpec},
        ChatStore,
    },
    Result,
};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// CPU seconds (user + system) of the whole process so far, from `/proc` (Linux): on a shared
/// machine this is the stable figure, wall time is not.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

fn parse_params(text: &str) -> Option<ChunkerParams> {
    let mut parts = text
        .split('/')
        .map(|p| p.parse::<u32>().ok().map(|k| k * 1024));
    Some(ChunkerParams {
        min: parts.next()??,
        avg: parts.next()??,
        max: parts.next()??,
    })
}

/// zstd level from `KEEPSAKE_LEVEL` (default 3).
fn backup_options() -> BackupOptions {
    BackupOptions {
        compression_level: std::env::var("KEEPSAKE_LEVEL")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(3),
        ..BackupOptions::for_generation(0)
    }
}

fn copy_db(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| keepsake_core::Error::io_at(to, e))?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let messages: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let mut settings: Vec<ChunkerParams> = args
        .iter()
        .skip(1)
        .filter_map(|a| parse_params(a))
        .collect();
    if settings.is_empty() {
        settings.push(ChunkerParams::default());
    }
    let dir = tempfile_dir()?;
    let base = dir.join("base.db");
    let started = Instant::now();
    {
        let mut store = ChatStore::open(&base)?;
        generate(
            &mut store,
            &SyntheticSpec {
                seed: 42,
                conversations: (messages / 2_000).clamp(10, 500) as u32,
                messages,
            },
        )?;
        store.close()?;
    }
    println!(
        "generated {messages} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for day_kind in [DayKind::Realistic, DayKind::Stress] {
        let path = dir.join(format!("{day_kind:?}.db"));
        copy_db(&base, &path)?;
        let mut store = ChatStore::open(&path)?;
        let summary = apply_day(
            &mut store,
            &DayOfChange {
                kind: day_kind,
                seed: 7,
            },
        )?;
        store.close()?;
        println!("{day_kind:?} day: {summary:?}");
    }
    let mut keyring = Keyring::create()?;
    keyring.add_recovery_key("tuning")?;
    {
        // Baseline: the export alone (SQLite scan and record encoding) into nothing.
        let store = ChatStore::open(&base)?;
        let (t, cpu) = (Instant::now(), process_cpu());
        let mut reporter = keepsake_core::progress::Reporter::silent(
            keepsake_core::progress::Phase::Backup,
            keepsake_core::progress::Unit::Rows,
        );
        keepsake_core::archive::Export::begin(&store)?
            .write_to(&mut std::io::sink(), &mut reporter)?;
        println!(
            "export alone: {:.2} s wall, {:.2} s CPU",
            t.elapsed().as_secs_f64(),
            process_cpu() - cpu
        );
    }
    for params in settings {
        let options = RepoOptions {
            chunker: params,
            ..RepoOptions::default()
        };
        let mem = Arc::new(MemStore::new());
        let mut repo = Repository::init(mem.clone(), &keyring, &options)?;
        let store = ChatStore::open(&base)?;
        let (t, cpu) = (Instant::now(), process_cpu());
        let first = backup_store_to_repo(
            &store,
            &mut repo,
            None,
            &backup_options(),
            &Control::default(),
        )?;
        let first_time = t.elapsed().as_secs_f64();
        let first_cpu = process_cpu() - cpu;
        let full = mem.total_bytes();
        drop(store);
        print!(
            "min/avg/max {}/{}/{} KiB: first {:.2} s ({:.2} s CPU), stream {:.1} MiB in {} chunks, stored {:.1} MiB, {} objects",
            params.min / 1024,
            params.avg / 1024,
            params.max / 1024,
            first_time,
            first_cpu,
            first.bytes_read as f64 / 1048576.0,
            first.chunks,
            full as f64 / 1048576.0,
            mem.object_count()
        );
        for day_kind in [DayKind::Realistic, DayKind::Stress] {
            let day_mem = Arc::new(MemStore::new());
            // Same repository content as after the first backup: copy the objects.
            for name in keepsake_core::repo::BlobStore::list_names(mem.as_ref(), "")? {
                let bytes = keepsake_core::repo::BlobStore::get(mem.as_ref(), &name, None)?;
                keepsake_core::repo::BlobStore::put(day_mem.as_ref(), &name, &bytes)?;
            }
            let mut day_repo = Repository::open_with(day_mem.clone(), |_, _, _| {
                Ok(UnlockedRoot::device(keyring.root_key().clone()))
            })?;
            let store = ChatStore::open(&dir.join(format!("{day_kind:?}.db")))?;
            let before = day_mem.total_bytes();
            backup_store_to_repo(
                &store,
                &mut day_repo,
                None,
                &backup_options(),
                &Control::default(),
            )?;
            let added = day_mem.total_bytes() - before;
            print!(
                ", {day_kind:?} +{:.2} MiB ({:.2}% of full)",
                added as f64 / 1048576.0,
                100.0 * added as f64 / full as f64
            );
        }
        println!(", peak RSS {:.1} MiB", peak_rss_mib());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("keepsake-repo-tuning-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| keepsake_core::Error::io_at(&dir, e))?;
    Ok(dir)
}
