//! Which CPU features the backup's crypto finds here, then a run through each primitive as a
//! backup uses it: SHA-256 (the archive digest), AES-256-GCM (the STREAM payload cipher, sealed
//! and opened again) and keyed BLAKE3 (the repository's chunk ids).
//!
//! `scripts/arm64-crypto-report.sh` runs it under `qemu-aarch64 -cpu max` with qemu's
//! instruction log, which shows the ARMv8 SHA-256, AES and PMULL instructions and BLAKE3's NEON
//! code executing; on a phone or any machine it prints what the run-time detection sees:
//! `cargo run -p keepsake-core --example crypto_paths`.

use std::io::{Read, Write};

use keepsake_core::crypto::{
    kdf::{derive_file_keys, FILE_SALT_LEN},
    stream::{StreamReader, StreamWriter},
    RootKey,
};
use sha2::{Digest, Sha256};

/// Bytes run through each primitive: enough for every code path, quick under an emulator.
const LEN: usize = 1 << 20;

/// The features the crates pick their backends by (cpufeatures reads the same hardware
/// capabilities: getauxval on Linux and Android, sysctl on Apple platforms).
fn features() -> Vec<(&'static str, bool)> {
    #[cfg(target_arch = "aarch64")]
    {
        vec![
            ("neon", std::arch::is_aarch64_feature_detected!("neon")),
            ("aes", std::arch::is_aarch64_feature_detected!("aes")),
            ("pmull", std::arch::is_aarch64_feature_detected!("pmull")),
            ("sha2", std::arch::is_aarch64_feature_detected!("sha2")),
        ]
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    {
        vec![
            ("aes", std::arch::is_x86_feature_detected!("aes")),
            (
                "pclmulqdq",
                std::arch::is_x86_feature_detected!("pclmulqdq"),
            ),
            ("sha", std::arch::is_x86_feature_detected!("sha")),
            ("sse4.1", std::arch::is_x86_feature_detected!("sse4.1")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ]
    }
    #[cfg(not(any(target_arch = "aarch64", target_arch = "x86_64", target_arch = "x86")))]
    {
        Vec::new() // 32-bit ARM: every primitive runs its portable code
    }
}

fn main() -> keepsake_core::Result<()> {
    let detected: Vec<String> = features()
        .into_iter()
        .map(|(name, on)| format!("{name}={}", if on { "yes" } else { "no" }))
        .collect();
    println!(
        "{}: {}",
        std::env::consts::ARCH,
        if detected.is_empty() {
            "no hardware crypto the crates use".to_owned()
        } else {
            detected.join(" ")
        }
    );

    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();

    println!("sha256 {}", hex::encode(Sha256::digest(&data)));

    let (payload_key, _) = derive_file_keys(&RootKey::from_bytes([7; 32]), &[9; FILE_SALT_LEN])?;
    let binding = [3; 32];
    let mut writer = StreamWriter::new(Vec::new(), &payload_key, &binding);
    writer.write_all(&data)?;
    let sealed = writer.finish()?;
    let mut opened = Vec::new();
    StreamReader::new(&sealed[..], &payload_key, &binding).read_to_end(&mut opened)?;
    assert!(opened == data, "AES-256-GCM round trip changed the data");
    println!(
        "aes-256-gcm {} bytes sealed and opened, tag of the last segment {}",
        sealed.len(),
        hex::encode(&sealed[sealed.len() - 16..])
    );

    println!(
        "blake3 keyed {}",
        blake3::keyed_hash(&[5; 32], &data).to_hex()
    );
    Ok(())
}
