//! The sealed-object envelope shared by index, snapshot, lock and damage objects and by pack
//! trailers:
//!
//! | size | field |
//! |------|-------|
//! | 4 | magic ([`Kind::magic`]) |
//! | 1 | version: `0x01` (read only) or `0x02` |
//! | 4 | key epoch, u32 BE |
//! | 12 | AES-GCM nonce |
//! | n | ciphertext |
//! | 16 | tag |
//!
//! The associated data is `REPO_OBJECT_AAD || u8 name length || object name || the 9 header
//! bytes`, so an object copied or renamed to another name, or given another magic, version or
//! epoch, fails authentication.
//!
//! Version 2 plaintext is `u32 content length || content || zero padding`: index, snapshot and
//! damage objects are padded ([`padded_len`]) so that their sizes do not count the chunks or
//! attachments a backup added. Version 1 plaintext is the content itself, unpadded.
//!
//! Epochs: index, snapshot, lock and damage objects sealed under an epoch below the config's
//! *epoch floor* are refused (a secret revoked by a rotation knows those keys, so it could have
//! made them); a pack trailer may be of any epoch the config holds, since old chunks stay in
//! old packs, pinned by the current index (`docs/REPOSITORY.md` §2.1).

use super::{
    codec::{expect_magic, Reader},
    keys::{EpochKeys, KeySet, NONCE_LEN, SEAL_OVERHEAD},
    pack::padme,
};
use crate::{crypto::labels, Error, Result};

/// Envelope version of objects written before format 2 (read only).
pub const VERSION_1: u8 = 1;
/// Envelope version written: length-prefixed, padded plaintext.
pub const VERSION_2: u8 = 2;
/// Bytes before the sealed part.
pub const HEADER_LEN: usize = 4 + 1 + 4;
/// Smallest envelope: header, nonce, tag.
pub const MIN_LEN: usize = HEADER_LEN + SEAL_OVERHEAD;
/// Index, snapshot and damage objects are padded to a multiple of this at least.
pub const PAD_UNIT: usize = 4096;

/// What an envelope holds: its magic, its padding and whether the epoch floor applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An index object (`index/`).
    Index,
    /// A snapshot manifest (`snapshots/`).
    Snapshot,
    /// A lock (`locks/`).
    Lock,
    /// A damage note (`damage/`).
    Damage,
    /// The trailer at the end of a pack (`data/`).
    Trailer,
}

impl Kind {
    /// The magic that starts the envelope.
    pub fn magic(self) -> &'static [u8; 4] {
        match self {
            Kind::Index => b"KSIX",
            Kind::Snapshot => b"KSSN",
            Kind::Lock => b"KSLK",
            Kind::Damage => b"KSDM",
            Kind::Trailer => b"KSPT",
        }
    }

    /// The kind's name in errors.
    pub fn what(self) -> &'static str {
        match self {
            Kind::Index => "index",
            Kind::Snapshot => "snapshot",
            Kind::Lock => "lock",
            Kind::Damage => "damage note",
            Kind::Trailer => "pack trailer",
        }
    }

    /// Whether objects of this kind are padded (their content counts what a backup added).
    fn padded(self) -> bool {
        matches!(self, Kind::Index | Kind::Snapshot | Kind::Damage)
    }

    /// Whether objects of this kind must be sealed at or above the epoch floor.
    fn floored(self) -> bool {
        self != Kind::Trailer
    }
}

/// The plaintext length a padded object's `len` bytes (length prefix included) are padded to:
/// a multiple of [`PAD_UNIT`], and Padmé above that, so a small daily index shows only that it
/// is small and a large one its size to within about 3 %.
pub fn padded_len(len: usize) -> usize {
    let unit = len.div_ceil(PAD_UNIT).max(1) * PAD_UNIT;
    unit.max(usize::try_from(padme(len as u64)).unwrap_or(usize::MAX))
}

fn aad(name: &str, header: &[u8]) -> Vec<u8> {
    let len = u8::try_from(name.len()).unwrap_or(u8::MAX);
    [labels::REPO_OBJECT_AAD, &[len], name.as_bytes(), header].concat()
}

fn header(kind: Kind, version: u8, epoch: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..4].copy_from_slice(kind.magic());
    out[4] = version;
    out[5..].copy_from_slice(&epoch.to_be_bytes());
    out
}

/// Seals `content` as object `name` of `kind` under `keys` (version 2).
pub fn seal(keys: &EpochKeys, kind: Kind, name: &str, content: &[u8]) -> Result<Vec<u8>> {
    seal_with_nonce(keys, kind, name, content, crate::crypto::random_bytes()?)
}

/// [`seal`] with a given nonce: for vectors only.
pub fn seal_with_nonce(
    keys: &EpochKeys,
    kind: Kind,
    name: &str,
    content: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let content_len = u32::try_from(content.len()).map_err(|_| Error::LimitExceeded {
        what: format!("{} {name} length", kind.what()),
        found: content.len() as u64,
        limit: u32::MAX.into(),
    })?;
    let mut plain = Vec::with_capacity(4 + content.len());
    plain.extend_from_slice(&content_len.to_be_bytes());
    plain.extend_from_slice(content);
    if kind.padded() {
        plain.resize(padded_len(plain.len()), 0);
    }
    seal_plain(keys, kind, VERSION_2, name, &plain, nonce)
}

/// Seals a version 1 envelope (content unpadded): for the vectors that pin the format that
/// older builds wrote, which this build still reads.
#[doc(hidden)]
pub fn seal_v1_with_nonce(
    keys: &EpochKeys,
    kind: Kind,
    name: &str,
    content: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    seal_plain(keys, kind, VERSION_1, name, content, nonce)
}

fn seal_plain(
    keys: &EpochKeys,
    kind: Kind,
    version: u8,
    name: &str,
    plain: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let header = header(kind, version, keys.epoch());
    let mut out = Vec::with_capacity(HEADER_LEN + SEAL_OVERHEAD + plain.len());
    out.extend_from_slice(&header);
    keys.seal_with_nonce(&aad(name, &header), plain, nonce, &mut out)?;
    Ok(out)
}

/// An opened envelope.
#[derive(Debug)]
pub struct Opened {
    /// The epoch it was sealed under.
    pub epoch: u32,
    /// Its envelope version.
    pub version: u8,
    /// The content (without the version 2 length prefix and padding).
    pub content: Vec<u8>,
}

/// Opens object `name` of `kind`, checking magic, version, size limit, epoch (and the floor)
/// and authentication.
pub fn open(keys: &KeySet, kind: Kind, name: &str, bytes: &[u8], max_len: usize) -> Result<Opened> {
    let what = kind.what();
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
    expect_magic(found_magic, kind.magic(), what)?;
    let version = r
        .u8("version")
        .map_err(|_| short(what, name, bytes.len()))?;
    if version != VERSION_1 && version != VERSION_2 {
        return Err(Error::UnsupportedVersion {
            what: format!("{what} {name} version"),
            found: version.into(),
            supported: "versions 1 and 2".into(),
        });
    }
    let epoch = r.u32("epoch").map_err(|_| short(what, name, bytes.len()))?;
    if bytes.len() < MIN_LEN {
        return Err(short(what, name, bytes.len()));
    }
    if kind.floored() && epoch < keys.floor() {
        return Err(Error::Corrupted {
            what: format!(
                "{what} {name}: sealed under key epoch {epoch}, below the repository's epoch \
                 floor {} (written with keys a revoked secret may hold)",
                keys.floor()
            ),
        });
    }
    let (head, sealed) = bytes.split_at(HEADER_LEN);
    let epoch_keys = keys.epoch(epoch, &format!("{what} {name}"))?;
    let plain = epoch_keys.open(&aad(name, head), sealed, &format!("{what} {name}"))?;
    let content = if version == VERSION_1 {
        plain
    } else {
        unpad(plain, what, name)?
    };
    Ok(Opened {
        epoch,
        version,
        content,
    })
}

/// The content of a version 2 plaintext: its length prefix read, the padding checked to be
/// zeros (a writer of this format never leaves anything else there).
fn unpad(mut plain: Vec<u8>, what: &str, name: &str) -> Result<Vec<u8>> {
    let prefix: [u8; 4] = plain
        .get(..4)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| Error::Truncated {
            what: format!("{what} {name}: no content length"),
        })?;
    let len = u32::from_be_bytes(prefix) as usize;
    let bad = || Error::Corrupted {
        what: format!("{what} {name}: content length or padding does not fit"),
    };
    let end = len
        .checked_add(4)
        .filter(|end| *end <= plain.len())
        .ok_or_else(bad)?;
    if plain.get(end..).unwrap_or_default().iter().any(|b| *b != 0) {
        return Err(bad());
    }
    plain.truncate(end);
    plain.drain(..4);
    Ok(plain)
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
        let sealed = seal(keys.current(), Kind::Index, "index/aa", b"entries").unwrap();
        let opened = open(&keys, Kind::Index, "index/aa", &sealed, 1 << 20).unwrap();
        assert_eq!(
            (opened.epoch, opened.content.as_slice()),
            (0, &b"entries"[..])
        );
        assert_eq!(opened.version, VERSION_2);
        assert!(matches!(
            open(&keys, Kind::Index, "index/bb", &sealed, 1 << 20),
            Err(Error::Corrupted { .. })
        ));
        assert!(matches!(
            open(&keys, Kind::Snapshot, "index/aa", &sealed, 1 << 20),
            Err(Error::Corrupted { .. })
        ));
        assert!(matches!(
            open(&keys, Kind::Index, "index/aa", &sealed[..10], 1 << 20),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            open(&keys, Kind::Index, "index/aa", &sealed, 8),
            Err(Error::LimitExceeded { .. })
        ));
        let mut bad_version = sealed.clone();
        bad_version[4] = 3;
        assert!(matches!(
            open(&keys, Kind::Index, "index/aa", &bad_version, 1 << 20),
            Err(Error::UnsupportedVersion { .. })
        ));
        let mut other_epoch = sealed;
        other_epoch[8] = 1;
        assert!(matches!(
            open(&keys, Kind::Index, "index/aa", &other_epoch, 1 << 20),
            Err(Error::Corrupted { .. })
        ));
    }

    #[test]
    fn padded_kinds_hide_their_content_length_and_version_1_still_opens() {
        let keys = set();
        let small = seal(keys.current(), Kind::Snapshot, "snapshots/aa", &[7; 10]).unwrap();
        let larger = seal(keys.current(), Kind::Snapshot, "snapshots/aa", &[7; 3000]).unwrap();
        assert_eq!(small.len(), larger.len(), "both fit the first pad unit");
        assert_eq!(small.len(), MIN_LEN + PAD_UNIT);
        let trailer = seal(keys.current(), Kind::Trailer, "data/aa", &[7; 10]).unwrap();
        assert_eq!(trailer.len(), MIN_LEN + 4 + 10, "trailers are not padded");
        let old =
            seal_v1_with_nonce(keys.current(), Kind::Index, "index/aa", b"v1", [3; 12]).unwrap();
        let opened = open(&keys, Kind::Index, "index/aa", &old, 1 << 20).unwrap();
        assert_eq!(
            (opened.version, opened.content.as_slice()),
            (VERSION_1, &b"v1"[..])
        );
    }

    #[test]
    fn padded_len_is_a_pad_unit_multiple_then_padme() {
        assert_eq!(padded_len(1), PAD_UNIT);
        assert_eq!(padded_len(PAD_UNIT), PAD_UNIT);
        assert_eq!(padded_len(PAD_UNIT + 1), 2 * PAD_UNIT);
        for len in (1..5_000_000).step_by(7_919) {
            let padded = padded_len(len);
            assert!(
                padded >= len && padded.is_multiple_of(PAD_UNIT)
                    || padded == padme(len as u64) as usize
            );
            assert!(padded - len <= (len / 8).max(PAD_UNIT), "{len} -> {padded}");
        }
    }

    #[test]
    fn objects_below_the_epoch_floor_are_refused_except_trailers() {
        let old = EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap();
        let new = EpochKeys::derive(&[1; 16], 1, [4; 32]).unwrap();
        let index = seal(&old, Kind::Index, "index/aa", b"x").unwrap();
        let trailer = seal(&old, Kind::Trailer, "data/aa", b"x").unwrap();
        let mut keys = KeySet::new(vec![old, new]).unwrap();
        assert!(open(&keys, Kind::Index, "index/aa", &index, 1 << 20).is_ok());
        keys.set_floor(1).unwrap();
        assert!(matches!(
            open(&keys, Kind::Index, "index/aa", &index, 1 << 20),
            Err(Error::Corrupted { what }) if what.contains("floor")
        ));
        assert!(open(&keys, Kind::Trailer, "data/aa", &trailer, 1 << 20).is_ok());
    }

    #[test]
    fn a_bad_length_or_nonzero_padding_is_corrupted() {
        let keys = set();
        for plain in [
            [&[0u8, 0, 0, 9][..], &[1, 2]].concat(),
            [&[0u8, 0, 0, 1][..], &[1, 2]].concat(),
        ] {
            let sealed = seal_plain(
                keys.current(),
                Kind::Index,
                VERSION_2,
                "index/aa",
                &plain,
                [1; 12],
            )
            .unwrap();
            assert!(matches!(
                open(&keys, Kind::Index, "index/aa", &sealed, 1 << 20),
                Err(Error::Corrupted { .. })
            ));
        }
    }
}
