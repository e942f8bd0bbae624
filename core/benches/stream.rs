//! STREAM writer and reader against raw AES-256-GCM over the same 16 MiB, same key, 64 KiB
//! chunks. "Raw" is the least work any chunked AEAD must do: copy a chunk into a buffer and
//! seal (or open) it in place; STREAM adds its framing, lookahead and `Read`/`Write` plumbing.
//!
//! Run: `cargo bench -p keepsake-core --bench stream`. After criterion's report it prints the
//! STREAM/raw throughput ratios (goal: >= 0.85).

#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary, not API

use std::{
    hint::black_box,
    io::{self, Read, Write},
    time::{Duration, Instant},
};

use aes_gcm::{aead::AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};
use criterion::{criterion_group, Criterion, Throughput};
use keepsake_core::crypto::{
    kdf::derive_file_keys,
    stream::{StreamReader, StreamWriter, CIPHERTEXT_SEGMENT_SIZE, SEGMENT_SIZE, TAG_SIZE},
    PayloadKey, RootKey,
};

const TOTAL: usize = 16 * 1024 * 1024;
const BINDING: [u8; 32] = [5u8; 32];

fn key() -> PayloadKey {
    derive_file_keys(&RootKey::from_bytes([9u8; 32]), &[4u8; 32])
        .unwrap()
        .0
}

fn plaintext() -> Vec<u8> {
    (0..TOTAL).map(|i| (i * 7 + i / 4096) as u8).collect()
}

fn nonce(counter: u64, last: bool) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut bytes = [0u8; 12];
    bytes[3..11].copy_from_slice(&counter.to_be_bytes());
    bytes[11] = u8::from(last);
    bytes.into()
}

/// Raw: copy each 64 KiB chunk into one buffer, seal in place, consume buffer and tag.
fn raw_seal(cipher: &Aes256Gcm, data: &[u8], buffer: &mut [u8]) -> u8 {
    let mut acc = 0u8;
    let chunks = data.chunks(SEGMENT_SIZE);
    let count = chunks.len();
    for (i, chunk) in chunks.enumerate() {
        let body = &mut buffer[..chunk.len()];
        body.copy_from_slice(chunk);
        let tag = cipher
            .encrypt_inout_detached(&nonce(i as u64, i + 1 == count), &BINDING, body.into())
            .unwrap();
        acc ^= tag[0] ^ body[0];
    }
    acc
}

/// Raw: copy each sealed chunk into one buffer, open in place, consume the plaintext.
fn raw_open(cipher: &Aes256Gcm, sealed: &[u8], buffer: &mut [u8]) -> u8 {
    let mut acc = 0u8;
    let chunks = sealed.chunks(CIPHERTEXT_SEGMENT_SIZE);
    let count = chunks.len();
    for (i, chunk) in chunks.enumerate() {
        let (body, tag) = chunk.split_at(chunk.len() - TAG_SIZE);
        let out = &mut buffer[..body.len()];
        out.copy_from_slice(body);
        cipher
            .decrypt_inout_detached(
                &nonce(i as u64, i + 1 == count),
                &BINDING,
                (&mut *out).into(),
                &Tag::try_from(tag).unwrap(),
            )
            .unwrap();
        acc ^= out[0];
    }
    acc
}

fn stream_seal(key: &PayloadKey, data: &[u8]) {
    let mut writer = StreamWriter::new(io::sink(), key, &BINDING);
    for chunk in data.chunks(SEGMENT_SIZE) {
        writer.write_all(chunk).unwrap();
    }
    writer.finish().unwrap();
}

fn stream_open(key: &PayloadKey, sealed: &[u8], out: &mut [u8]) -> u8 {
    let mut reader = StreamReader::new(sealed, key, &BINDING);
    let mut acc = 0u8;
    loop {
        let n = reader.read(out).unwrap();
        if n == 0 {
            return acc;
        }
        acc ^= out[0];
    }
}

struct Inputs {
    key: PayloadKey,
    cipher: Aes256Gcm,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
}

fn inputs() -> Inputs {
    let key = key();
    let cipher = Aes256Gcm::new(key.expose_secret().into());
    let plaintext = plaintext();
    let mut writer = StreamWriter::new(Vec::new(), &key, &BINDING);
    writer.write_all(&plaintext).unwrap();
    let sealed = writer.finish().unwrap();
    Inputs {
        key,
        cipher,
        plaintext,
        sealed,
    }
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let mut buffer = vec![0u8; SEGMENT_SIZE];
    let mut group = c.benchmark_group("aes-256-gcm 16 MiB, 64 KiB chunks");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("raw seal", |b| {
        b.iter(|| black_box(raw_seal(&inputs.cipher, &inputs.plaintext, &mut buffer)))
    });
    group.bench_function("STREAM writer", |b| {
        b.iter(|| stream_seal(&inputs.key, black_box(&inputs.plaintext)))
    });
    group.bench_function("raw open", |b| {
        b.iter(|| black_box(raw_open(&inputs.cipher, &inputs.sealed, &mut buffer)))
    });
    group.bench_function("STREAM reader", |b| {
        b.iter(|| black_box(stream_open(&inputs.key, &inputs.sealed, &mut buffer)))
    });
    group.finish();
}

/// Seconds one run of `work` takes.
fn time_once(work: impl FnOnce()) -> f64 {
    let start = Instant::now();
    work();
    start.elapsed().as_secs_f64()
}

/// Rounds of the ratio measurement; the minimum over many interleaved runs filters out the
/// load of other processes.
const ROUNDS: usize = 30;

/// Minimum timings over interleaved rounds (raw and STREAM alternate which goes first), so that
/// both sides see the same machine load.
fn print_ratios() {
    let inputs = inputs();
    let mut buffer = vec![0u8; SEGMENT_SIZE];
    let mib = TOTAL as f64 / (1024.0 * 1024.0);
    let mut best = [f64::INFINITY; 4];
    for round in 0..ROUNDS {
        let mut timings = [0.0; 4];
        for step in 0..4 {
            // Odd rounds run the pairs in the opposite order.
            let which = if round % 2 == 0 { step } else { step ^ 1 };
            timings[which] = match which {
                0 => time_once(|| {
                    black_box(raw_seal(&inputs.cipher, &inputs.plaintext, &mut buffer));
                }),
                1 => time_once(|| stream_seal(&inputs.key, &inputs.plaintext)),
                2 => time_once(|| {
                    black_box(raw_open(&inputs.cipher, &inputs.sealed, &mut buffer));
                }),
                _ => time_once(|| {
                    black_box(stream_open(&inputs.key, &inputs.sealed, &mut buffer));
                }),
            };
        }
        for (best, timing) in best.iter_mut().zip(timings) {
            *best = best.min(timing);
        }
    }
    let [raw_seal_s, stream_seal_s, raw_open_s, stream_open_s] = best;
    println!("\nthroughput over {mib} MiB, 64 KiB segments (best of {ROUNDS}, interleaved):");
    println!("  raw seal      {:8.1} MiB/s", mib / raw_seal_s);
    println!("  STREAM writer {:8.1} MiB/s", mib / stream_seal_s);
    println!("  raw open      {:8.1} MiB/s", mib / raw_open_s);
    println!("  STREAM reader {:8.1} MiB/s", mib / stream_open_s);
    println!(
        "ratio STREAM/raw: writer {:.3}, reader {:.3} (goal >= 0.85)",
        raw_seal_s / stream_seal_s,
        raw_open_s / stream_open_s
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}
