//! The sealed-object envelope shared by index, snapshot and lock objects and by pack trailers:
//!
//! | size | field |
//! |------|-------|
//! | 4 | magic (`KSIX` index, `KSSN` snapshot, `KSLK` lock, `KSPT` pack trailer) |
//! | 1 | version `0x01` |
//! | 4 | key epoch, u32 BE |
//! | 12 | AES-GCM nonce |
//! | n | ciphertext |
//! | 16 | tag |
//!
//! The associated data is `REPO_OBJECT_AAD || u8 name length || object name || the 9 header
//! bytes`, so an object copied or renamed to another name, or given another magic, version or
//! epoch, fails authentication.

use super::{
    codec::{expect_magic, expect_version, Reader},
    keys::{EpochKeys, KeySet, NONCE_LEN, SEAL_OVERHEAD},
};
use crate::{crypto::labels, Error, Result};

/// Version of the envelope.
pub const VERSION: u8 = 1;
/// Bytes before the sealed part.
pub const HEADER_LEN: usize = 4 + 1 + 4;
/// Smallest envelope: header, nonce, tag.
pub const MIN_LEN: usize = HEADER_LEN + SEAL_OVERHEAD;

fn aad(name: &str, header: &[u8]) -> Vec<u8> {
    let len = u8::try_from(name.len()).unwrap_or(u8::MAX);
    [labels::REPO_OBJECT_AAD, &[len], name.as_bytes(), header].concat()
}

fn header(magic: &[u8; 4], epoch: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..4].copy_from_slice(magic);
    out[4] = VERSION;
    out[5..].copy_from_slice(&epoch.to_be_bytes());
    out
}

/// Seals `plaintext` as object `name` under `keys`.
pub fn seal(keys: &EpochKeys, magic: &[u8; 4], name: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_with_nonce(keys, magic, name, plaintext, crate::crypto::random_bytes()?)
}

/// [`seal`] with a given nonce: for vectors only.
pub fn seal_with_nonce(
    keys: &EpochKeys,
    magic: &[u8; 4],
    name: &str,
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let header = header(magic, keys.epoch());
    let mut out = Vec::with_capacity(HEADER_LEN + SEAL_OVERHEAD + plaintext.len());
    out.extend_from_slice(&header);
    keys.seal_with_nonce(&aad(name, &header), plaintext, nonce, &mut out)?;
    Ok(out)
}

/// Opens object `name`, checking magic, version, size limit, epoch and authentication.
/// Returns the epoch and the plaintext. `what` names the object kind in errors.
pub fn open(
    keys: &KeySet,
    magic: &[u8; 4],
    name: &str,
    bytes: &[u8],
    max_len: usize,
    what: &str,
) -> Result<(u32, Vec<u8>)> {
    if bytes.len() > max_len {
        return Err(Error::LimitExceeded {
            what: format!("{what} {name} length"),
            found: bytes.len() as u64,
            limit: max_len as u64,
        });
    }
    let mut r = Reader::new(bytes, "repository object");
    let found_magic = r
        .take(4, "magic")
        .map_err(|_| short(what, name, bytes.len()))?;
    expect_magic(found_magic, magic, what)?;
    expect_version(
        r.u8("version")
            .map_err(|_| short(what, name, bytes.len()))?,
        VERSION,
        what,
    )?;
    let epoch = r.u32("epoch").map_err(|_| short(what, name, bytes.len()))?;
    if bytes.len() < MIN_LEN {
        return Err(short(what, name, bytes.len()));
    }
    let (head, sealed) = bytes.split_at(HEADER_LEN);
    let keys = keys.epoch(epoch, &format!("{what} {name}"))?;
    let plain = keys.open(&aad(name, head), sealed, &format!("{what} {name}"))?;
    Ok((epoch, plain))
}

fn short(what: &str, name: &str, len: usize) -> Error {
    Error::Truncated {
        what: format!("{what} {name}: {len} bytes, shorter than an envelope"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> KeySet {
        KeySet::new(vec![EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap()]).unwrap()
    }

    #[test]
    fn envelope_binds_name_magic_and_content() {
        let keys = set();
        let sealed = seal(keys.current(), b"KSIX", "index/aa", b"entries").unwrap();
        let (epoch, plain) = open(&keys, b"KSIX", "index/aa", &sealed, 1 << 20, "index").unwrap();
        assert_eq!((epoch, plain.as_slice()), (0, &b"entries"[..]));
        assert!(matches!(
            open(&keys, b"KSIX", "index/bb", &sealed, 1 << 20, "index"),
            Err(Error::Corrupted { .. })
        ));
        assert!(matches!(
            open(&keys, b"KSSN", "index/aa", &sealed, 1 << 20, "snapshot"),
            Err(Error::Corrupted { .. })
        ));
        assert!(matches!(
            open(&keys, b"KSIX", "index/aa", &sealed[..10], 1 << 20, "index"),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            open(&keys, b"KSIX", "index/aa", &sealed, 8, "index"),
            Err(Error::LimitExceeded { .. })
        ));
        let mut bad_version = sealed.clone();
        bad_version[4] = 2;
        assert!(matches!(
            open(&keys, b"KSIX", "index/aa", &bad_version, 1 << 20, "index"),
            Err(Error::UnsupportedVersion { .. })
        ));
        let mut other_epoch = sealed;
        other_epoch[8] = 1;
        assert!(matches!(
            open(&keys, b"KSIX", "index/aa", &other_epoch, 1 << 20, "index"),
            Err(Error::Corrupted { .. })
        ));
    }
}
