//! The container header: its fields, its canonical encoding and its strict decoder.
//!
//! The byte layout is specified in `docs/FORMAT.md` (§ Header); the constants below are its
//! limits. The decoder checks every declared size against them before it allocates or reads,
//! and trusts nothing it decoded until the header MAC has been verified (see [`super::open`]).

use std::io::Read;

use crate::{
    crypto::{kdf::FILE_SALT_LEN, mac::MAC_LEN},
    format::{Compression, Metadata, PayloadKind},
    keyring::{
        slot::{MAX_ENCODED_SLOT_LEN, SLOT_ENCODING_V1},
        KeyringId, Slot, MAX_SLOTS, PRF_INPUT_LEN,
    },
    Error, Result,
};

/// The 8 bytes every Keepsake backup starts with. The high first byte and the CR LF and
/// Ctrl-Z (as in PNG) make text-mode transfers that mangle the file fail at once.
pub const MAGIC: [u8; 8] = [0x89, b'K', b'E', b'E', b'P', 0x0D, 0x0A, 0x1A];
/// The container format version this build writes: version 1 plus the keyring generation, and
/// version 2 slots.
pub const FORMAT_VERSION: u16 = 2;
/// The previous container format version, still read (strictly, with version 1 slots only).
pub const FORMAT_VERSION_1: u16 = 1;
/// AEAD id: STREAM over AES-256-GCM (64 KiB segments, see [`crate::crypto::stream`]).
pub const AEAD_AES_256_GCM_STREAM: u8 = 1;
/// KDF id: HKDF-SHA256 under the `keepsake/v1/...` labels.
pub const KDF_HKDF_SHA256: u8 = 1;
/// The STREAM segment size every v1 header declares.
pub const SEGMENT_SIZE_V1: u32 = 64 * 1024;

/// Bytes of the fixed prefix read before anything is allocated: magic, version, header length.
pub const PREFIX_LEN: usize = 8 + 2 + 4;
/// Bytes of the fixed fields after the prefix, up to and including the creation time (version
/// 1; version 2 adds the 8-byte generation after the PRF input).
const FIXED_FIELDS_LEN: usize =
    1 + 1 + 1 + 1 + 4 + FILE_SALT_LEN + KeyringId::LEN + PRF_INPUT_LEN + 8;
/// The shortest valid version 1 header: no slots, no metadata.
pub const MIN_HEADER_LEN: usize = PREFIX_LEN + FIXED_FIELDS_LEN + 2 + 2 + MAC_LEN;
/// The shortest valid version 2 header (a writer refuses zero slots, but the decoder's floor is
/// the layout's).
pub const MIN_HEADER_LEN_V2: usize = MIN_HEADER_LEN + 8;
/// The longest header a decoder accepts (every field at its limit fits below it; version 2
/// slots are longer than version 1 slots, hence 80 KiB rather than version 1's 64 KiB).
pub const MAX_HEADER_LEN: usize = 80 * 1024;

/// Most metadata entries.
pub const MAX_METADATA_ENTRIES: usize = 32;
/// Longest metadata key, in UTF-8 bytes (keys are at least 1 byte).
pub const MAX_METADATA_KEY_LEN: usize = 64;
/// Longest metadata value, in UTF-8 bytes.
pub const MAX_METADATA_VALUE_LEN: usize = 1024;
/// Most bytes of encoded metadata (count field excluded).
pub const MAX_METADATA_LEN: usize = 8 * 1024;

const _: () = assert!(
    PREFIX_LEN
        + FIXED_FIELDS_LEN
        + 8
        + 2
        + MAX_SLOTS * (2 + MAX_ENCODED_SLOT_LEN)
        + 2
        + MAX_METADATA_LEN
        + MAC_LEN
        <= MAX_HEADER_LEN
);

/// The public, parsed header of a backup: what `inspect` shows without any secret.
///
/// Nothing in it is authenticated until the container is unlocked and its MAC verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub(crate) version: u16,
    pub(crate) payload_kind: PayloadKind,
    pub(crate) compression: Compression,
    pub(crate) file_salt: [u8; FILE_SALT_LEN],
    pub(crate) keyring_id: KeyringId,
    pub(crate) prf_input: [u8; PRF_INPUT_LEN],
    /// The keyring generation (0 in a version 1 header).
    pub(crate) generation: u64,
    pub(crate) created_at: u64,
    pub(crate) slots: Vec<Slot>,
    pub(crate) metadata: Metadata,
}

impl Header {
    /// The container format version: [`FORMAT_VERSION`] or [`FORMAT_VERSION_1`].
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The generation of the keyring that wrote this backup (0 for a version 1 backup).
    pub fn keyring_generation(&self) -> u64 {
        self.generation
    }

    /// What the payload holds.
    pub fn payload_kind(&self) -> PayloadKind {
        self.payload_kind
    }

    /// How the payload was compressed before encryption.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The id of the keyring whose root key encrypts this backup.
    pub fn keyring_id(&self) -> &KeyringId {
        &self.keyring_id
    }

    /// The keyring's WebAuthn PRF input, to evaluate a passkey for unlocking.
    pub fn prf_input(&self) -> &[u8; PRF_INPUT_LEN] {
        &self.prf_input
    }

    /// When the backup was written, unix seconds (as claimed by the writer).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The key slots (public fields readable; each wraps the root key).
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The public metadata map.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The file's random HKDF salt for the payload and header-MAC keys.
    pub fn file_salt(&self) -> &[u8; FILE_SALT_LEN] {
        &self.file_salt
    }

    /// The canonical encoding of everything the MAC covers (magic through metadata).
    pub(crate) fn encode_unauthenticated(&self) -> Result<Vec<u8>> {
        let slot_count = self.slots.len();
        if slot_count > MAX_SLOTS {
            return Err(limit("header slot count", slot_count, MAX_SLOTS));
        }
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&[0u8; 4]); // header length, filled in below
        out.push(self.payload_kind.id());
        out.push(AEAD_AES_256_GCM_STREAM);
        out.push(KDF_HKDF_SHA256);
        out.push(self.compression.id());
        out.extend_from_slice(&SEGMENT_SIZE_V1.to_be_bytes());
        out.extend_from_slice(&self.file_salt);
        out.extend_from_slice(self.keyring_id.as_bytes());
        out.extend_from_slice(&self.prf_input);
        if self.version != FORMAT_VERSION_1 {
            out.extend_from_slice(&self.generation.to_be_bytes());
        }
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&(slot_count as u16).to_be_bytes());
        let mut slot_bytes = Vec::with_capacity(MAX_ENCODED_SLOT_LEN);
        for slot in &self.slots {
            slot_bytes.clear();
            slot.encode(&mut slot_bytes);
            out.extend_from_slice(&(slot_bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(&slot_bytes);
        }
        self.metadata.encode(&mut out)?;
        let total = out.len() + MAC_LEN;
        if total > MAX_HEADER_LEN {
            return Err(limit("header length", total, MAX_HEADER_LEN));
        }
        out[10..14].copy_from_slice(&(total as u32).to_be_bytes());
        Ok(out)
    }
}

/// A decoded header with the bytes its MAC covers and the MAC itself.
pub(crate) struct DecodedHeader {
    pub(crate) header: Header,
    /// Every header byte before the MAC: what the MAC authenticates.
    pub(crate) authenticated: Vec<u8>,
    pub(crate) mac: [u8; MAC_LEN],
}

/// Reads exactly one header from `source`: the fixed prefix first, then (after the limits are
/// checked) the declared remainder, which must be consumed exactly.
pub(crate) fn read_header<R: Read>(source: &mut R) -> Result<DecodedHeader> {
    let mut prefix = [0u8; PREFIX_LEN];
    let got = read_up_to(source, &mut prefix)?;
    let magic_len = got.min(MAGIC.len());
    if prefix[..magic_len] != MAGIC[..magic_len] {
        return Err(Error::Corrupted {
            what: "not a Keepsake backup (unknown magic bytes)".into(),
        });
    }
    if got < PREFIX_LEN {
        return Err(Error::Truncated {
            what: format!("header prefix: {got} of {PREFIX_LEN} bytes"),
        });
    }
    let mut cursor = Cursor::new(&prefix[MAGIC.len()..]);
    let version = cursor.u16("format version")?;
    let min_len = match version {
        FORMAT_VERSION => MIN_HEADER_LEN_V2,
        FORMAT_VERSION_1 => MIN_HEADER_LEN,
        _ => {
            return Err(Error::UnsupportedVersion {
                what: "container format version".into(),
                found: version.into(),
                supported: format!("versions {FORMAT_VERSION_1} and {FORMAT_VERSION}"),
            })
        }
    };
    let declared = cursor.u32("header length")? as usize;
    if declared > MAX_HEADER_LEN {
        return Err(limit("header length", declared, MAX_HEADER_LEN));
    }
    if declared < min_len {
        return Err(Error::Corrupted {
            what: format!("header length {declared} is below the minimum {min_len}"),
        });
    }
    let mut bytes = vec![0u8; declared];
    bytes[..PREFIX_LEN].copy_from_slice(&prefix);
    let got = read_up_to(source, &mut bytes[PREFIX_LEN..])?;
    if got < declared - PREFIX_LEN {
        return Err(Error::Truncated {
            what: format!(
                "header: declared {declared} bytes, the file has {}",
                PREFIX_LEN + got
            ),
        });
    }
    let mac_at = declared - MAC_LEN;
    let header = decode_body(version, &bytes[PREFIX_LEN..mac_at])?;
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(&bytes[mac_at..]);
    bytes.truncate(mac_at);
    Ok(DecodedHeader {
        header,
        authenticated: bytes,
        mac,
    })
}

/// Decodes the fields between the prefix and the MAC; every byte must be used.
fn decode_body(version: u16, body: &[u8]) -> Result<Header> {
    let mut cursor = Cursor::new(body);
    let payload_kind = PayloadKind::from_id(cursor.u8("payload kind")?)?;
    let aead = cursor.u8("AEAD id")?;
    if aead != AEAD_AES_256_GCM_STREAM {
        return Err(unsupported(
            "AEAD algorithm id",
            aead.into(),
            "1 (AES-256-GCM STREAM)",
        ));
    }
    let kdf = cursor.u8("KDF id")?;
    if kdf != KDF_HKDF_SHA256 {
        return Err(unsupported(
            "KDF algorithm id",
            kdf.into(),
            "1 (HKDF-SHA256)",
        ));
    }
    let compression = Compression::from_id(cursor.u8("compression id")?)?;
    let segment_size = cursor.u32("segment size")?;
    if segment_size != SEGMENT_SIZE_V1 {
        return Err(unsupported(
            "STREAM segment size",
            segment_size.into(),
            "65536",
        ));
    }
    let file_salt = cursor.array("file salt")?;
    let keyring_id = KeyringId::from_bytes(cursor.array("keyring id")?);
    let prf_input = cursor.array("PRF input")?;
    let generation = if version == FORMAT_VERSION_1 {
        0
    } else {
        cursor.u64("keyring generation")?
    };
    let created_at = cursor.u64("creation time")?;
    let slot_count = usize::from(cursor.u16("slot count")?);
    if slot_count > MAX_SLOTS {
        return Err(limit("header slot count", slot_count, MAX_SLOTS));
    }
    let mut slots: Vec<Slot> = Vec::with_capacity(slot_count);
    for index in 0..slot_count {
        let len = usize::from(cursor.u16("slot length")?);
        if len > MAX_ENCODED_SLOT_LEN {
            return Err(limit("header slot length", len, MAX_ENCODED_SLOT_LEN));
        }
        let encoded = cursor.take(len, "slot")?;
        let slot = Slot::decode(encoded).map_err(|err| match err {
            // The slot's bytes are all inside the header: running short is damage, not truncation.
            Error::Truncated { what } => Error::Corrupted {
                what: format!("header slot {index}: {what}"),
            },
            other => other,
        })?;
        if version == FORMAT_VERSION_1 && slot.version() != SLOT_ENCODING_V1 {
            return Err(Error::Corrupted {
                what: format!("header slot {index}: a version 2 slot in a version 1 header"),
            });
        }
        let duplicate = slots.iter().any(|seen| {
            seen.id() == slot.id()
                || (slot.credential_id().is_some() && seen.credential_id() == slot.credential_id())
        });
        if duplicate {
            return Err(Error::Corrupted {
                what: format!("header slot {index} repeats a slot id or credential id"),
            });
        }
        slots.push(slot);
    }
    let metadata = Metadata::decode(&mut cursor)?;
    if cursor.remaining() != 0 {
        return Err(Error::Corrupted {
            what: format!(
                "{} unexpected bytes before the header MAC",
                cursor.remaining()
            ),
        });
    }
    Ok(Header {
        version,
        payload_kind,
        compression,
        file_salt,
        keyring_id,
        prf_input,
        generation,
        created_at,
        slots,
        metadata,
    })
}

/// Reads until `buf` is full or the source ends; returns how many bytes were read.
fn read_up_to<R: Read>(source: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(filled)
}

pub(crate) fn limit(what: &str, found: usize, max: usize) -> Error {
    Error::LimitExceeded {
        what: what.into(),
        found: found as u64,
        limit: max as u64,
    }
}

pub(crate) fn unsupported(what: &str, found: u64, supported: &str) -> Error {
    Error::UnsupportedVersion {
        what: what.into(),
        found,
        supported: supported.into(),
    }
}

/// Reads big-endian fields from the in-memory header. The header's length is already known, so
/// a field that runs past it means the header is inconsistent: [`Error::Corrupted`].
pub(crate) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { rest: bytes }
    }

    pub(crate) fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8]> {
        if self.rest.len() < len {
            return Err(Error::Corrupted {
                what: format!("header {field} runs past the declared header length"),
            });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }
}
