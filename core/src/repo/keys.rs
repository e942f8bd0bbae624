//! Repository keys, in epochs.
//!
//! Each epoch has a random 32-byte *data key*; the config stores it wrapped (AES-256-GCM) under
//! a *wrap key* derived from the root key. Everything the repository encrypts or identifies uses
//! two keys derived from the data key, never the root key:
//!
//! | key | ikm | salt | info |
//! |-----|-----|------|------|
//! | wrap key | root key | repository id (16) | `REPO_WRAP_KEY` |
//! | config MAC key | root key | repository id | `REPO_CONFIG_MAC_KEY` |
//! | chunk-id key (epoch e) | data key of e | repository id | `REPO_CHUNK_ID_KEY \|\| e (u32 BE)` |
//! | AEAD key (epoch e) | data key of e | repository id | `REPO_AEAD_KEY \|\| e (u32 BE)` |
//! | chunker key (epoch e) | data key of e | repository id | `REPO_CHUNKER_KEY \|\| e (u32 BE)` |
//! | pack-tail key (epoch e) | data key of e | repository id | `REPO_PACK_TAIL_KEY \|\| e (u32 BE)` |
//!
//! The chunker key makes the archive's cut points secret (`repo::chunker`), the pack-tail key
//! hides a pack's trailer length (`repo::pack`): neither lets the store predict object sizes
//! from a file it knows.
//!
//! A root-key rotation re-wraps the data keys (old data stays readable without re-encryption)
//! and adds a new epoch whose data key the old root key never saw, so a removed slot reads
//! nothing written afterwards. A chunk id is `BLAKE3-keyed(chunk-id key, plaintext)`: an id
//! says nothing of its plaintext to the store (what sizes still tell it: `docs/REPOSITORY.md`
//! §14.4).

use std::collections::BTreeMap;

use aes_gcm::{
    aead::{AeadInOut, KeyInit},
    Aes256Gcm, Key, Nonce, Tag,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    crypto::{kdf::hkdf_sha256, labels, random_bytes, RootKey, KEY_LEN},
    Error, Result,
};

/// Length of a chunk id.
pub const CHUNK_ID_LEN: usize = 32;
/// Length of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes an AEAD seal adds: nonce and tag.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Length of a wrapped data key: nonce, ciphertext, tag.
pub const WRAPPED_DATA_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;
/// Length of the config MAC.
pub const CONFIG_MAC_LEN: usize = 32;

/// A chunk's id: the keyed MAC of its plaintext.
pub type ChunkId = [u8; CHUNK_ID_LEN];

/// One epoch's keys. `Debug` shows only the epoch number.
pub struct EpochKeys {
    epoch: u32,
    data_key: Zeroizing<[u8; KEY_LEN]>,
    id_key: Zeroizing<[u8; KEY_LEN]>,
    chunker_key: Zeroizing<[u8; KEY_LEN]>,
    tail_key: Zeroizing<[u8; KEY_LEN]>,
    aead: Aes256Gcm,
}

impl std::fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EpochKeys(epoch {}, <redacted>)", self.epoch)
    }
}

impl EpochKeys {
    /// Derives the epoch's keys from its data key.
    pub fn derive(repo_id: &[u8; 16], epoch: u32, data_key: [u8; KEY_LEN]) -> Result<EpochKeys> {
        let data_key = Zeroizing::new(data_key);
        let e = epoch.to_be_bytes();
        let id_key = hkdf_sha256(data_key.as_ref(), repo_id, &[labels::REPO_CHUNK_ID_KEY, &e])?;
        let aead_key = hkdf_sha256(data_key.as_ref(), repo_id, &[labels::REPO_AEAD_KEY, &e])?;
        let chunker_key = hkdf_sha256(data_key.as_ref(), repo_id, &[labels::REPO_CHUNKER_KEY, &e])?;
        let tail_key = hkdf_sha256(
            data_key.as_ref(),
            repo_id,
            &[labels::REPO_PACK_TAIL_KEY, &e],
        )?;
        Ok(EpochKeys {
            epoch,
            data_key,
            id_key,
            chunker_key,
            tail_key,
            aead: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*aead_key)),
        })
    }

    /// The chunker's secret gear table for this epoch: 256 words of BLAKE3's keyed output
    /// stream under the chunker key (see `repo::chunker`).
    pub fn gear_table(&self) -> Box<[u64; 256]> {
        let mut bytes = Zeroizing::new([0u8; 256 * 8]);
        blake3::Hasher::new_keyed(&self.chunker_key)
            .update(b"gear table")
            .finalize_xof()
            .fill(bytes.as_mut());
        let mut table = Box::new([0u64; 256]);
        for (word, chunk) in table.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
        table
    }

    /// The mask that hides the trailer length at the end of pack `name` (version 2 packs):
    /// the first 4 bytes of BLAKE3 keyed by the pack-tail key over the name. Pack names are
    /// random and never reused, so no two lengths share a mask.
    pub fn tail_mask(&self, pack_name: &str) -> u32 {
        let hash = blake3::keyed_hash(&self.tail_key, pack_name.as_bytes());
        let mut word = [0u8; 4];
        word.copy_from_slice(&hash.as_bytes()[..4]);
        u32::from_be_bytes(word)
    }

    /// A second copy of these keys (for a key set being rebuilt by a rotation).
    pub fn duplicate(&self, repo_id: &[u8; 16]) -> Result<EpochKeys> {
        EpochKeys::derive(repo_id, self.epoch, *self.data_key)
    }

    /// The epoch number.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The id of a chunk with this plaintext.
    pub fn chunk_id(&self, plaintext: &[u8]) -> ChunkId {
        *blake3::keyed_hash(&self.id_key, plaintext).as_bytes()
    }

    /// Appends `nonce || ciphertext || tag` of `plaintext` under a fresh random nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.seal_with_nonce(aad, plaintext, random_bytes()?, out)
    }

    /// [`seal`](Self::seal) with a given nonce: for known-answer vectors only.
    #[doc(hidden)]
    pub fn seal_with_nonce(
        &self,
        aad: &[u8],
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.reserve(plaintext.len() + SEAL_OVERHEAD);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .aead
            .encrypt_inout_detached(
                &Nonce::from(nonce),
                aad,
                out.get_mut(start..).unwrap_or_default().into(),
            )
            .map_err(|_| Error::InvalidArgument("AEAD seal failed".into()))?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Opens `nonce || ciphertext || tag`; any failure is [`Error::Corrupted`] naming `what`.
    pub fn open(&self, aad: &[u8], sealed: &[u8], what: &str) -> Result<Vec<u8>> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(Error::Truncated {
                what: format!("{what}: {} bytes, shorter than nonce and tag", sealed.len()),
            });
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plain = ciphertext.to_vec();
        let nonce = Nonce::try_from(nonce).map_err(|_| Error::Corrupted {
            what: format!("{what}: bad nonce length"),
        })?;
        let tag = Tag::try_from(tag).map_err(|_| Error::Corrupted {
            what: format!("{what}: bad tag length"),
        })?;
        self.aead
            .decrypt_inout_detached(&nonce, aad, plain.as_mut_slice().into(), &tag)
            .map_err(|_| Error::Corrupted {
                what: format!("{what}: authentication failed"),
            })?;
        Ok(plain)
    }
}

/// The keys of every epoch, with the current (newest) one used for writing, and the epoch
/// floor: index, snapshot, lock and damage objects below it are refused (`repo::object`).
#[derive(Debug)]
pub struct KeySet {
    epochs: BTreeMap<u32, EpochKeys>,
    floor: u32,
}

impl KeySet {
    /// A set from epochs; must not be empty.
    pub fn new(epochs: Vec<EpochKeys>) -> Result<KeySet> {
        if epochs.is_empty() {
            return Err(Error::Corrupted {
                what: "repository config: no key epoch".into(),
            });
        }
        let epochs: BTreeMap<u32, EpochKeys> = epochs.into_iter().map(|k| (k.epoch, k)).collect();
        let floor = epochs.keys().next().copied().unwrap_or(0);
        Ok(KeySet { epochs, floor })
    }

    /// The lowest epoch index, snapshot, lock and damage objects may be sealed under.
    pub fn floor(&self) -> u32 {
        self.floor
    }

    /// Sets the epoch floor; it must be an epoch of the set.
    pub fn set_floor(&mut self, floor: u32) -> Result<()> {
        if !self.epochs.contains_key(&floor) {
            return Err(Error::Corrupted {
                what: format!("repository config: epoch floor {floor} is not one of its epochs"),
            });
        }
        self.floor = floor;
        Ok(())
    }

    /// The newest epoch: everything written now uses it.
    pub fn current(&self) -> &EpochKeys {
        // `new` refuses an empty set, so there is always a last entry.
        self.epochs
            .values()
            .next_back()
            .unwrap_or_else(|| unreachable!("KeySet is never empty"))
    }

    /// The keys of `epoch`; an unknown epoch is [`Error::Corrupted`] naming `what`.
    pub fn epoch(&self, epoch: u32, what: &str) -> Result<&EpochKeys> {
        self.epochs.get(&epoch).ok_or_else(|| Error::Corrupted {
            what: format!("{what}: key epoch {epoch} is not in the repository config"),
        })
    }

    /// Every epoch, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &EpochKeys> {
        self.epochs.values()
    }
}

/// The key that wraps data keys, from the root key.
fn wrap_cipher(root: &RootKey, repo_id: &[u8; 16]) -> Result<Aes256Gcm> {
    let key = hkdf_sha256(root.expose_secret(), repo_id, &[labels::REPO_WRAP_KEY])?;
    Ok(Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)))
}

fn data_key_aad(repo_id: &[u8; 16], epoch: u32) -> Vec<u8> {
    [labels::REPO_DATA_KEY_AAD, repo_id, &epoch.to_be_bytes()].concat()
}

/// Wraps an epoch's data key under the root key with the given nonce.
pub fn wrap_data_key(
    root: &RootKey,
    repo_id: &[u8; 16],
    epoch: &EpochKeys,
    nonce: [u8; NONCE_LEN],
) -> Result<[u8; WRAPPED_DATA_KEY_LEN]> {
    let mut buffer = Zeroizing::new(*epoch.data_key);
    let tag = wrap_cipher(root, repo_id)?
        .encrypt_inout_detached(
            &Nonce::from(nonce),
            &data_key_aad(repo_id, epoch.epoch),
            buffer.as_mut_slice().into(),
        )
        .map_err(|_| Error::InvalidArgument("data key wrap failed".into()))?;
    let mut out = [0u8; WRAPPED_DATA_KEY_LEN];
    out[..NONCE_LEN].copy_from_slice(&nonce);
    out[NONCE_LEN..NONCE_LEN + KEY_LEN].copy_from_slice(buffer.as_ref());
    out[NONCE_LEN + KEY_LEN..].copy_from_slice(&tag);
    Ok(out)
}

/// Unwraps an epoch's data key and derives its keys. The config MAC was verified first, so a
/// failure here means the config was written wrongly: [`Error::Corrupted`].
pub fn unwrap_data_key(
    root: &RootKey,
    repo_id: &[u8; 16],
    epoch: u32,
    wrapped: &[u8; WRAPPED_DATA_KEY_LEN],
) -> Result<EpochKeys> {
    let (nonce, rest) = wrapped.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(KEY_LEN);
    let mut buffer = Zeroizing::new([0u8; KEY_LEN]);
    buffer.copy_from_slice(ciphertext);
    let bad = || Error::Corrupted {
        what: format!("repository config: data key of epoch {epoch} does not unwrap"),
    };
    let nonce = Nonce::try_from(nonce).map_err(|_| bad())?;
    let tag = Tag::try_from(tag).map_err(|_| bad())?;
    wrap_cipher(root, repo_id)?
        .decrypt_inout_detached(
            &nonce,
            &data_key_aad(repo_id, epoch),
            buffer.as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| Error::Corrupted {
            what: format!("repository config: data key of epoch {epoch} does not unwrap"),
        })?;
    EpochKeys::derive(repo_id, epoch, *buffer)
}

/// A fresh random epoch.
pub fn new_epoch(repo_id: &[u8; 16], epoch: u32) -> Result<EpochKeys> {
    EpochKeys::derive(repo_id, epoch, random_bytes()?)
}

/// The config MAC: HMAC-SHA256 under a key derived from the root key.
pub fn config_mac(root: &RootKey, repo_id: &[u8; 16], body: &[u8]) -> Result<[u8; CONFIG_MAC_LEN]> {
    let key = hkdf_sha256(
        root.expose_secret(),
        repo_id,
        &[labels::REPO_CONFIG_MAC_KEY],
    )?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref())
        .map_err(|_| Error::InvalidArgument("HMAC key length".into()))?;
    mac.update(body);
    Ok(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> EpochKeys {
        EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap()
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = keys();
        let mut sealed = Vec::new();
        k.seal(b"aad", b"plaintext", &mut sealed).unwrap();
        assert_eq!(sealed.len(), 9 + SEAL_OVERHEAD);
        assert_eq!(k.open(b"aad", &sealed, "x").unwrap(), b"plaintext");
        assert!(matches!(
            k.open(b"aaD", &sealed, "x"),
            Err(Error::Corrupted { .. })
        ));
        let other = EpochKeys::derive(&[1; 16], 1, [2; 32]).unwrap();
        assert!(matches!(
            other.open(b"aad", &sealed, "x"),
            Err(Error::Corrupted { .. })
        ));
        assert!(matches!(
            k.open(b"aad", &sealed[..20], "x"),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn chunk_ids_depend_on_the_key() {
        let a = keys();
        let b = EpochKeys::derive(&[1; 16], 1, [2; 32]).unwrap();
        assert_eq!(a.chunk_id(b"x"), a.chunk_id(b"x"));
        assert_ne!(a.chunk_id(b"x"), b.chunk_id(b"x"));
        assert_ne!(a.chunk_id(b"x"), *blake3::hash(b"x").as_bytes());
    }

    #[test]
    fn data_keys_wrap_under_the_root_key_only() {
        let root = RootKey::from_bytes([5; 32]);
        let k = keys();
        let wrapped = wrap_data_key(&root, &[1; 16], &k, [9; 12]).unwrap();
        let back = unwrap_data_key(&root, &[1; 16], 0, &wrapped).unwrap();
        assert_eq!(back.chunk_id(b"x"), k.chunk_id(b"x"));
        assert!(unwrap_data_key(&RootKey::from_bytes([6; 32]), &[1; 16], 0, &wrapped).is_err());
        assert!(unwrap_data_key(&root, &[1; 16], 1, &wrapped).is_err());
    }
}
