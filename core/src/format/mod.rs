//! The backup container, version 2 (version 1 still read): a public header (magic, version,
//! algorithm ids, file salt, keyring id, PRF input, keyring generation, creation time, key slots,
//! public metadata) closed by an HMAC, then the payload compressed with zstd (optional) and
//! encrypted with STREAM over AES-256-GCM.
//!
//! Every byte is specified in `docs/FORMAT.md`. Reading goes through three states, so that
//! nothing is trusted before it is authenticated:
//! [`open`] parses the header strictly ([`SealedContainer`]: inspect only), an unlock opens a
//! key slot and verifies the header MAC ([`OpenedContainer`]), and
//! [`OpenedContainer::into_payload`] yields the authenticated plaintext.

mod header;
mod metadata;
mod reader;
mod writer;

#[cfg(test)]
mod vectors;

pub use header::{
    Header, AEAD_AES_256_GCM_STREAM, FORMAT_VERSION, FORMAT_VERSION_1, KDF_HKDF_SHA256, MAGIC,
    MAX_HEADER_LEN, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_LEN,
    MAX_METADATA_VALUE_LEN, MIN_HEADER_LEN, SEGMENT_SIZE_V1,
};
pub use metadata::Metadata;
pub use reader::{open, OpenedContainer, PayloadReader, SealedContainer};
pub use writer::{ContainerWriter, WriteOptions};

use crate::Result;

/// What a backup's payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// A logical chat archive (the `archive` module's record stream), id 1.
    ChatArchive,
    /// A consistent SQLite snapshot of the chat database, id 2.
    SqliteSnapshot,
}

impl PayloadKind {
    /// The id stored in the header.
    pub fn id(self) -> u8 {
        match self {
            PayloadKind::ChatArchive => 1,
            PayloadKind::SqliteSnapshot => 2,
        }
    }

    fn from_id(id: u8) -> Result<PayloadKind> {
        match id {
            1 => Ok(PayloadKind::ChatArchive),
            2 => Ok(PayloadKind::SqliteSnapshot),
            other => Err(header::unsupported(
                "payload kind",
                other.into(),
                "1 (chat archive) and 2 (SQLite snapshot)",
            )),
        }
    }
}

/// How the payload is compressed before encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is, id 0.
    None,
    /// One or more zstd frames, id 1.
    Zstd,
}

impl Compression {
    /// The id stored in the header.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Zstd => 1,
        }
    }

    fn from_id(id: u8) -> Result<Compression> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Zstd),
            other => Err(header::unsupported(
                "compression id",
                other.into(),
                "0 (none) and 1 (zstd)",
            )),
        }
    }
}
