//! The STREAM reader against two kinds of input, chosen by the first byte:
//! - raw bytes as ciphertext: must be rejected (nobody can forge a tag) without panicking;
//! - a genuine stream of fuzzer-chosen plaintext, then damaged by fuzzer-chosen edits
//!   (truncate, flip, splice): the reader either returns exactly the plaintext (no edit took
//!   effect) or fails, having released only an authentic prefix of it.
#![no_main]

use std::io::{Read, Write};

use keepsake_core::{
    crypto::{
        kdf::derive_file_keys,
        stream::{StreamReader, StreamWriter, SEGMENT_SIZE},
        RootKey,
    },
    Error,
};
use libfuzzer_sys::fuzz_target;

const BINDING: [u8; 32] = [3u8; 32];

fn read_all(ciphertext: &[u8]) -> (Vec<u8>, Result<(), Error>) {
    let (key, _) = derive_file_keys(&RootKey::from_bytes([1u8; 32]), &[2u8; 32]).unwrap();
    let mut reader = StreamReader::new(ciphertext, &key, &BINDING);
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) => return (out, Err(Error::from(err))),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let (released, result) = read_all(rest);
        assert!(released.is_empty() && result.is_err());
        return;
    }
    // rest = 2-byte size multiplier, 4 edits of 5 bytes each, then the plaintext seed.
    if rest.len() < 22 {
        return;
    }
    let (size, rest) = rest.split_at(2);
    let (edits, seed) = rest.split_at(20);
    // Stretch the seed so that multi-segment streams are reached too.
    let len = (usize::from(u16::from_be_bytes([size[0], size[1]])) * 7) % (3 * SEGMENT_SIZE + 64);
    let plaintext: Vec<u8> = if seed.is_empty() {
        vec![0; len]
    } else {
        seed.iter().copied().cycle().take(len).collect()
    };
    let (key, _) = derive_file_keys(&RootKey::from_bytes([1u8; 32]), &[2u8; 32]).unwrap();
    let mut writer = StreamWriter::new(Vec::new(), &key, &BINDING);
    writer.write_all(&plaintext).unwrap();
    let original = writer.finish().unwrap();
    let mut damaged = original.clone();
    for edit in edits.chunks_exact(5) {
        if damaged.is_empty() {
            break;
        }
        let at = u32::from_be_bytes([edit[1], edit[2], edit[3], edit[4]]) as usize % damaged.len();
        match edit[0] % 4 {
            0 => damaged.truncate(at),
            1 => damaged[at] ^= edit[4] | 1,
            2 => {
                let tail = damaged[at..].to_vec();
                damaged.extend_from_slice(&tail[..tail.len().min(100)]);
            }
            _ => {}
        }
    }
    let (released, result) = read_all(&damaged);
    assert!(plaintext.starts_with(&released), "released bytes that are not the plaintext");
    if damaged == original {
        assert!(result.is_ok() && released == plaintext);
    } else {
        assert!(result.is_err(), "a damaged stream was accepted");
    }
});
