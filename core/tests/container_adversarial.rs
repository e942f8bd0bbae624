//! Adversarial tests of the container through the public API: round trips over random sizes,
//! every single-bit flip of a small backup, and truncation at every byte offset.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::io::{Read, Write};

use keepsake_core::{
    crypto::{stream::SEGMENT_SIZE, PrfOutput},
    format::{self, ContainerWriter, Metadata, PayloadKind, WriteOptions},
    keyring::{BackupFlags, Keyring, PasskeyEnrollment, RecoveryKey},
    Error,
};
use proptest::prelude::*;

struct Fixture {
    keyring: Keyring,
    recovery: RecoveryKey,
}

fn fixture() -> Fixture {
    let mut keyring = Keyring::create().unwrap();
    let (_, recovery) = keyring.add_recovery_key("paper copy").unwrap();
    keyring
        .add_passkey(
            PasskeyEnrollment {
                credential_id: b"credential-1".to_vec(),
                rp_id: "chat.example.com".into(),
                label: "phone".into(),
                provider_hint: None,
                backup: Some(BackupFlags {
                    eligible: true,
                    state: true,
                }),
            },
            &PrfOutput::from_slice(&[0x42; 32]).unwrap(),
        )
        .unwrap();
    Fixture { keyring, recovery }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 253) as u8 ^ (i / 253) as u8)
        .collect()
}

fn seal(fixture: &Fixture, plaintext: &[u8], level: i32, chunk: usize) -> Vec<u8> {
    let mut metadata = Metadata::new();
    metadata.insert("messages", "7").unwrap();
    let mut writer = ContainerWriter::new(
        Vec::new(),
        &fixture.keyring,
        PayloadKind::ChatArchive,
        &metadata,
        &WriteOptions {
            compression_level: level,
            ..WriteOptions::for_generation(0)
        },
    )
    .unwrap();
    for part in plaintext.chunks(chunk.max(1)) {
        writer.write_all(part).unwrap();
    }
    writer.finish().unwrap()
}

/// Opens with the recovery key and reads the payload in small pieces; returns every byte
/// released before the outcome.
fn open(fixture: &Fixture, container: &[u8]) -> (Vec<u8>, Result<(), Error>) {
    let mut released = Vec::new();
    let result = (|| {
        let sealed = format::open(container)?;
        let mut payload = sealed
            .unlock_with_recovery_key(&fixture.recovery)?
            .into_payload()?;
        let mut buf = [0u8; 4096];
        loop {
            let n = payload.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            released.extend_from_slice(&buf[..n]);
        }
    })();
    (released, result)
}

fn header_len(container: &[u8]) -> usize {
    u32::from_be_bytes(container[10..14].try_into().unwrap()) as usize
}

/// Flips every bit of `container` in turn; every flip must fail, header flips before releasing
/// any plaintext, payload flips after releasing at most an authentic prefix. Returns the count.
fn sweep_bit_flips(fixture: &Fixture, container: &[u8], plaintext: &[u8]) -> usize {
    let header = header_len(container);
    let mut flips = 0;
    for offset in 0..container.len() {
        for bit in 0..8 {
            let mut damaged = container.to_vec();
            damaged[offset] ^= 1 << bit;
            let (released, result) = open(fixture, &damaged);
            assert!(
                result.is_err(),
                "flip of bit {bit} at byte {offset} was accepted"
            );
            if offset < header {
                assert!(
                    released.is_empty(),
                    "header flip at {offset} released plaintext"
                );
            } else {
                assert!(
                    plaintext.starts_with(&released),
                    "payload flip at {offset} released wrong plaintext"
                );
            }
            flips += 1;
        }
    }
    flips
}

#[test]
fn every_bit_flip_of_a_small_backup_is_rejected() {
    let fixture = fixture();
    let plaintext = payload(200);
    for level in [0, 3] {
        let container = seal(&fixture, &plaintext, level, 64);
        assert_eq!(
            open(&fixture, &container).0,
            plaintext,
            "unmodified backup opens"
        );
        let flips = sweep_bit_flips(&fixture, &container, &plaintext);
        println!(
            "bit-flip sweep (compression level {level}): {flips} flips of a {}-byte backup \
             ({}-byte header), all rejected",
            container.len(),
            header_len(&container)
        );
        assert_eq!(flips, container.len() * 8);
    }
}

#[test]
fn truncation_at_every_offset_is_rejected() {
    let fixture = fixture();
    let plaintext = payload(300);
    for level in [0, 3] {
        let container = seal(&fixture, &plaintext, level, 300);
        truncation_sweep(&fixture, &container, &plaintext);
    }
}

fn truncation_sweep(fixture: &Fixture, container: &[u8], plaintext: &[u8]) {
    let header = header_len(container);
    for len in 0..container.len() {
        let (released, result) = open(fixture, &container[..len]);
        let err = result.expect_err("a truncated backup was accepted");
        assert!(
            matches!(err, Error::Truncated { .. }),
            "cut at {len}: {err:?}"
        );
        assert!(plaintext.starts_with(&released));
        if len < header {
            assert!(released.is_empty());
        }
    }
    println!(
        "truncation sweep: {} offsets of a {}-byte backup, all rejected",
        container.len(),
        container.len()
    );
}

#[test]
fn truncation_at_every_segment_boundary_of_a_long_backup_is_rejected() {
    let fixture = fixture();
    let plaintext = payload(3 * SEGMENT_SIZE + 5);
    let container = seal(&fixture, &plaintext, 0, 10_000);
    let header = header_len(&container);
    let segment = SEGMENT_SIZE + 16;
    for cut in [
        header,
        header + segment,
        header + 2 * segment,
        header + 3 * segment,
        header + segment + 17,
        container.len() - 1,
    ] {
        let (released, result) = open(&fixture, &container[..cut]);
        assert!(
            matches!(result, Err(Error::Truncated { .. })),
            "cut at {cut}: {result:?}"
        );
        assert!(plaintext.starts_with(&released));
    }
}

fn sizes() -> impl Strategy<Value = usize> {
    prop_oneof![
        0..300usize,
        (0..4usize, 0..3usize)
            .prop_map(|(segments, delta)| (segments * SEGMENT_SIZE + delta).saturating_sub(1)),
        0..(3 * SEGMENT_SIZE + 10),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_over_random_sizes(len in sizes(), chunk in 1..70_000usize, zstd in any::<bool>()) {
        let fixture = fixture();
        let plaintext = payload(len);
        let container = seal(&fixture, &plaintext, if zstd { 3 } else { 0 }, chunk);
        let (released, result) = open(&fixture, &container);
        prop_assert!(result.is_ok(), "{:?}", result);
        prop_assert_eq!(released, plaintext);
    }
}
