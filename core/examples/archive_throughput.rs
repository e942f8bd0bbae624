//! Measures the chat pipeline's building blocks on a synthetic store, in release mode:
//!
//! ```sh
//! cargo run --release -p keepsake-core --example archive_throughput -- [messages] [conversations]
//! ```
//!
//! Prints one line per figure: generation rate, export (SQLite scan + encode) rate, pure record
//! encode and decode rates, verify rate, and import rate into a restore database.

use std::{
    io::Cursor,
    time::{Duration, Instant},
};

use keepsake_core::{
    archive::{self, ArchiveReader, ArchiveWriter, Export, Record},
    progress::{Phase, Reporter, Unit},
    store::{
        synthetic::{generate, SyntheticSpec},
        ChatStore,
    },
    Result,
};

/// CPU time (user + system) of the calling thread, from `/proc` (Linux; zero elsewhere). The
/// machine may be shared, so rates per CPU second are the stable figure.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    let ticks: u64 = fields.iter().sum();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// Peak resident set size of the process so far (`VmHWM`, Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Wall clock and thread CPU clock started together.
struct Clock(Instant, Duration);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), thread_cpu())
    }

    fn rate(&self, count: u64) -> String {
        let wall = self.0.elapsed().as_secs_f64();
        let cpu = thread_cpu().saturating_sub(self.1).as_secs_f64();
        format!(
            "{:.2} M/s wall, {:.2} M/s per CPU second ({count} in {wall:.3} s wall, {cpu:.2} s CPU)",
            count as f64 / wall / 1e6,
            count as f64 / cpu.max(0.01) / 1e6,
        )
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let messages: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let conversations: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let dir = tempfile::tempdir().map_err(keepsake_core::Error::from)?;
    let path = dir.path().join("chat.db");

    let started = Clock::start();
    let mut store = ChatStore::open(&path)?;
    let counts = generate(
        &mut store,
        &SyntheticSpec {
            seed: 1,
            conversations,
            messages,
        },
    )?;
    println!(
        "generate: {} messages (rows: {counts:?})",
        started.rate(messages)
    );
    let db_size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database: {:.1} MiB", db_size as f64 / 1048576.0);

    {
        // The floor under any export: stepping every row and touching each column once.
        let conn = rusqlite::Connection::open(&path)
            .map_err(|e| keepsake_core::Error::InvalidArgument(e.to_string()))?;
        let started = Clock::start();
        let mut rows_seen = 0u64;
        for table in [
            "conversations",
            "participants",
            "messages",
            "reactions",
            "attachments",
        ] {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table}"))
                .map_err(|e| keepsake_core::Error::InvalidArgument(e.to_string()))?;
            let columns = stmt.column_count();
            let mut rows = stmt
                .query([])
                .map_err(|e| keepsake_core::Error::InvalidArgument(e.to_string()))?;
            while let Ok(Some(row)) = rows.next() {
                for i in 0..columns {
                    std::hint::black_box(row.get_ref(i).ok());
                }
                rows_seen += 1;
            }
        }
        println!("bare SQLite scan: {}", started.rate(rows_seen));
    }
    // Export goes to a file with constant memory; the peak RSS must not move.
    let archive_path = dir.path().join("archive.bin");
    println!("peak RSS before export: {:.1} MiB", peak_rss_mib());
    let mut reporter = Reporter::silent(Phase::Backup, Unit::Rows);
    let started = Clock::start();
    let mut file = std::fs::File::create(&archive_path).map_err(keepsake_core::Error::from)?;
    let summary = Export::begin(&store)?.write_to(&mut file, &mut reporter)?;
    drop(file);
    println!(
        "export (SQLite scan + encode + SHA-256, to a file): {} records, archive {:.1} MiB",
        started.rate(summary.counts.total()),
        std::fs::metadata(&archive_path).map_or(0, |m| m.len()) as f64 / 1048576.0
    );
    println!("peak RSS after export: {:.1} MiB", peak_rss_mib());
    let bytes = std::fs::read(&archive_path).map_err(keepsake_core::Error::from)?;

    let mut reader = ArchiveReader::new(Cursor::new(&bytes))?;
    let mut records: Vec<Record> = Vec::with_capacity(summary.counts.total() as usize);
    while let Some(record) = reader.next_record()? {
        records.push(record);
    }

    let started = Clock::start();
    let mut writer = ArchiveWriter::new(std::io::sink());
    for record in &records {
        writer.write(record)?;
    }
    writer.finish()?;
    println!(
        "encode (records -> bytes, with digest): {} records",
        started.rate(records.len() as u64)
    );
    drop(records);

    let started = Clock::start();
    let mut reader = ArchiveReader::new(Cursor::new(&bytes))?;
    let mut decoded = 0u64;
    while let Some(record) = reader.next_record()? {
        std::hint::black_box(&record);
        decoded += 1;
    }
    println!(
        "decode (bytes -> records, with digest): {} records",
        started.rate(decoded)
    );

    let started = Clock::start();
    let mut reporter = Reporter::silent(Phase::Verify, Unit::Rows);
    archive::verify(&mut Cursor::new(&bytes), &mut reporter)?;
    println!("verify: {} records", started.rate(decoded));

    let restore_path = dir.path().join("restored.db");
    let started = Clock::start();
    let mut target = ChatStore::create_for_import(&restore_path)?;
    let mut reporter = Reporter::silent(Phase::Restore, Unit::Rows);
    archive::import(&mut Cursor::new(&bytes), &mut target, &mut reporter)?;
    target.close()?;
    println!(
        "import (decode + insert + fsync): {} records",
        started.rate(decoded)
    );
    Ok(())
}
