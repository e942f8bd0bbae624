//! The Keepsake side of `scripts/bench.sh`: one subcommand per measured step, so that the script
//! can time each as its own process and read its peak RSS.
//!
//! ```text
//! bench_pipeline generate DB MESSAGES      synthetic ChatStore (deterministic seed)
//! bench_pipeline keyring FILE              new keyring: 32-byte root key then the public part
//! bench_pipeline backup DB OUT KEYRING     chat archive backup, zstd level 3
//! bench_pipeline restore IN DB KEYRING     restore into a new database
//! bench_pipeline crypto-seconds BYTES      seconds to STREAM-encrypt BYTES (the payload cipher alone)
//! ```

use std::{
    io,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use keepsake_core::{
    backup::{self, BackupOptions, Control, RestoreOptions, Secret},
    crypto::{stream::StreamWriter, RootKey},
    keyring::Keyring,
    store::{
        synthetic::{generate, SyntheticSpec},
        ChatStore,
    },
    Error, Result,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_pipeline: {err}");
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
    let number = |i: usize| -> Result<u64> {
        arg(i)?
            .parse()
            .map_err(|_| Error::InvalidArgument(format!("argument {i} is not a number")))
    };
    match arg(0)? {
        "generate" => {
            let mut store = ChatStore::open(Path::new(arg(1)?))?;
            let messages = number(2)?;
            let spec = SyntheticSpec {
                seed: 1,
                // About 1,000 messages per conversation, like a long-lived chat history.
                conversations: u32::try_from(messages / 1000).unwrap_or(u32::MAX).max(1),
                messages,
            };
            generate(&mut store, &spec)?;
            store.close()
        }
        "keyring" => {
            let mut keyring = Keyring::create()?;
            // Backups need a slot a new phone could open; the benchmark unlocks by root key.
            keyring.add_recovery_key("benchmark")?;
            let mut bytes = keyring.root_key().expose_secret().to_vec();
            bytes.extend_from_slice(&keyring.to_public_bytes());
            std::fs::write(arg(1)?, bytes).map_err(|e| Error::io_at(arg(1).unwrap_or(""), e))
        }
        "backup" => {
            let keyring = load_keyring(Path::new(arg(3)?))?;
            let store = ChatStore::open(Path::new(arg(1)?))?;
            backup::backup_store_to_path(
                &store,
                &keyring,
                Path::new(arg(2)?),
                &BackupOptions::for_generation(0),
                &Control::default(),
            )?;
            Ok(())
        }
        "restore" => {
            let keyring = load_keyring(Path::new(arg(3)?))?;
            backup::restore_path(
                Path::new(arg(1)?),
                &Secret::Keyring(&keyring),
                Path::new(arg(2)?),
                &RestoreOptions::default(),
                &Control::default(),
            )?;
            Ok(())
        }
        "crypto-seconds" => {
            let bytes = number(1)?;
            let root = RootKey::generate()?;
            let (key, _) = keepsake_core::crypto::kdf::derive_file_keys(&root, &[1u8; 32])?;
            let binding = [7u8; keepsake_core::crypto::stream::BINDING_SIZE];
            let chunk = vec![0x5au8; 64 * 1024];
            let started = Instant::now();
            let mut writer = StreamWriter::new(io::sink(), &key, &binding);
            let mut left = bytes;
            while left > 0 {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
                io::Write::write_all(&mut writer, chunk.get(..n).unwrap_or_default())?;
                left -= n as u64;
            }
            writer.finish()?;
            println!("{:.4}", started.elapsed().as_secs_f64());
            Ok(())
        }
        other => Err(Error::InvalidArgument(format!(
            "unknown subcommand {other}"
        ))),
    }
}

fn load_keyring(path: &Path) -> Result<Keyring> {
    let bytes = std::fs::read(path).map_err(|e| Error::io_at(PathBuf::from(path), e))?;
    let (root, public) = bytes
        .split_first_chunk::<32>()
        .ok_or_else(|| Error::InvalidArgument("keyring file too short".into()))?;
    Keyring::from_parts(RootKey::from_bytes(*root), public)
}
