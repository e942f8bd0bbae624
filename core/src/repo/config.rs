//! The config object: the repository's parameters, the keyring's public part (id, PRF input,
//! generation, slots) so a new device can unlock with a passkey or the recovery key, and every epoch's data
//! key wrapped under the root key; authenticated by an HMAC under a root-derived key.
//!
//! # Layout, version 2 (big-endian)
//!
//! | size | field |
//! |------|-------|
//! | 4 | magic `KSRC` |
//! | 1 | version `0x02` (`0x01`: format 1, read only, without the epoch floor) |
//! | 16 | repository id |
//! | 8 | created at, unix seconds |
//! | 4+4+4 | chunker min, average, max size |
//! | 4 | pack target size |
//! | 4 | epoch floor (version 2 only): index, snapshot, lock and damage objects sealed under an older epoch are refused |
//! | 16 | keyring id |
//! | 32 | keyring PRF input |
//! | 8 | keyring generation (of the root key that seals this config) |
//! | 1 | slot count `N`, `0..=32` |
//! | | `N` times: `u16` length, then one slot encoding (`keyring::slot`) |
//! | 2 | epoch count `E`, `1..=1024` |
//! | | `E` times, epochs strictly ascending: `u32` epoch, 60-byte wrapped data key |
//! | 32 | HMAC-SHA256 of all preceding bytes under the config MAC key |

use std::time::{SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use super::{
    chunker::ChunkerParams,
    codec::{expect_magic, expect_version, Reader},
    keys::{
        config_mac, new_epoch, unwrap_data_key, wrap_data_key, KeySet, CONFIG_MAC_LEN, NONCE_LEN,
        WRAPPED_DATA_KEY_LEN,
    },
    RepoOptions,
};
use crate::{
    crypto::random_bytes,
    keyring::{
        slot::MAX_ENCODED_SLOT_LEN, Authenticity, Keyring, KeyringId, Slot, UnlockedRoot,
        MAX_SLOTS, PRF_INPUT_LEN,
    },
    Error, Result,
};

/// Magic of the config object.
pub const MAGIC: &[u8; 4] = b"KSRC";
/// Config version written: format 2 objects (padded envelopes, keyed chunker, masked pack
/// tails) and the epoch floor.
pub const VERSION: u8 = 2;
/// Config version of format 1 repositories, read (and upgraded by the first writer).
pub const VERSION_1: u8 = 1;
/// Most key epochs a config may hold.
pub const MAX_EPOCHS: u64 = 1024;
/// Largest config object accepted.
pub const MAX_CONFIG_LEN: usize = 4
    + 1
    + 16
    + 8
    + 16
    + 4
    + 16
    + PRF_INPUT_LEN
    + 1
    + MAX_SLOTS * (2 + MAX_ENCODED_SLOT_LEN)
    + 2
    + MAX_EPOCHS as usize * (4 + WRAPPED_DATA_KEY_LEN)
    + CONFIG_MAC_LEN;

/// The smallest config: no slot, one epoch (version 1 layout, which is the shorter).
const MIN_CONFIG_LEN: usize = 4
    + 1
    + 16
    + 8
    + 16
    + 16
    + PRF_INPUT_LEN
    + 8
    + 1
    + 2
    + 4
    + WRAPPED_DATA_KEY_LEN
    + CONFIG_MAC_LEN;

/// The decoded, authenticated parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// Random id, the salt of every repository key derivation.
    pub repo_id: [u8; 16],
    /// Creation time, unix seconds.
    pub created_at: u64,
    /// Chunker and pack parameters.
    pub options: RepoOptions,
    /// The version the config was read with ([`VERSION_1`] until a writer upgrades it).
    pub version: u8,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Config {
    /// A new repository's config and its first epoch (0).
    pub fn create(options: &RepoOptions) -> Result<(Config, KeySet)> {
        let repo_id = random_bytes()?;
        let keys = KeySet::new(vec![new_epoch(&repo_id, 0)?])?;
        Ok((
            Config {
                repo_id,
                created_at: now(),
                options: *options,
                version: VERSION,
            },
            keys,
        ))
    }

    /// The config after a root-key rotation: the same parameters, every old epoch kept and a
    /// new one (fresh data key) for everything written from now on.
    pub fn rotated(&self, keys: &KeySet) -> Result<(Config, KeySet)> {
        let next = keys
            .current()
            .epoch()
            .checked_add(1)
            .ok_or_else(|| Error::LimitExceeded {
                what: "key epoch".into(),
                found: u64::from(u32::MAX) + 1,
                limit: u64::from(u32::MAX),
            })?;
        let mut epochs = keys
            .all()
            .map(|old| old.duplicate(&self.repo_id))
            .collect::<Result<Vec<_>>>()?;
        epochs.push(new_epoch(&self.repo_id, next)?);
        if epochs.len() as u64 > MAX_EPOCHS {
            return Err(Error::LimitExceeded {
                what: "key epochs".into(),
                found: epochs.len() as u64,
                limit: MAX_EPOCHS,
            });
        }
        let mut rotated = KeySet::new(epochs)?;
        // The floor rises only once the objects are sealed under the new epoch
        // (`repo::reseal`).
        rotated.set_floor(keys.floor())?;
        Ok((self.clone(), rotated))
    }

    /// The config object's bytes for `keyring` (slots, root key) and `keys`, with fresh nonces.
    pub fn encode(&self, keyring: &Keyring, keys: &KeySet) -> Result<Vec<u8>> {
        let nonces = keys
            .all()
            .map(|_| random_bytes())
            .collect::<Result<Vec<[u8; NONCE_LEN]>>>()?;
        self.encode_with_nonces(keyring, keys, &nonces)
    }

    /// [`encode`](Self::encode) with given wrap nonces, one per epoch: for vectors only.
    #[doc(hidden)]
    pub fn encode_with_nonces(
        &self,
        keyring: &Keyring,
        keys: &KeySet,
        nonces: &[[u8; NONCE_LEN]],
    ) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.repo_id);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        let c = self.options.chunker;
        for value in [
            c.min,
            c.avg,
            c.max,
            self.options.pack_target_bytes,
            keys.floor(),
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(keyring.id().as_bytes());
        out.extend_from_slice(keyring.prf_input());
        out.extend_from_slice(&keyring.generation().to_be_bytes());
        out.push(
            u8::try_from(keyring.slots().len()).map_err(|_| Error::LimitExceeded {
                what: "slot count".into(),
                found: keyring.slots().len() as u64,
                limit: MAX_SLOTS as u64,
            })?,
        );
        for slot in keyring.slots() {
            let bytes = slot.to_bytes();
            out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        let epochs: Vec<_> = keys.all().collect();
        if epochs.len() != nonces.len() {
            return Err(Error::InvalidArgument("one wrap nonce per epoch".into()));
        }
        out.extend_from_slice(
            &u16::try_from(epochs.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        for (epoch, nonce) in epochs.iter().zip(nonces) {
            out.extend_from_slice(&epoch.epoch().to_be_bytes());
            out.extend_from_slice(&wrap_data_key(
                keyring.root_key(),
                &self.repo_id,
                epoch,
                *nonce,
            )?);
        }
        let tag = config_mac(keyring.root_key(), &self.repo_id, &out)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }
}

/// A decoded config whose MAC has not been checked yet: enough to pick a slot.
pub struct SealedConfig {
    /// The keyring id the slots belong to.
    pub keyring_id: KeyringId,
    /// The generation of the root key the config is sealed with (bound into every slot).
    pub generation: u64,
    /// The slots, to unwrap the root key from.
    pub slots: Vec<Slot>,
    prf_input: [u8; PRF_INPUT_LEN],
    floor: Option<u32>,
    config: Config,
    epochs: Vec<(u32, [u8; WRAPPED_DATA_KEY_LEN])>,
    body: Vec<u8>,
    tag: [u8; CONFIG_MAC_LEN],
}

impl SealedConfig {
    /// The PRF input the passkey slots were enrolled with: a new device asks a passkey for its
    /// PRF output with it before anything is unlocked.
    pub fn prf_input(&self) -> &[u8; PRF_INPUT_LEN] {
        &self.prf_input
    }

    /// Strict parse: limits before allocation, every field checked, nothing trusted yet. A
    /// config shorter than the smallest one possible is `Truncated`; one whose fields do not fit
    /// its length is `Corrupted` (a store writes objects whole, so a length that runs past the
    /// end is a damaged field, not a cut-off upload).
    pub fn decode(bytes: &[u8]) -> Result<SealedConfig> {
        match Self::decode_fields(bytes) {
            Err(Error::Truncated { what }) if bytes.len() >= MIN_CONFIG_LEN => {
                Err(Error::Corrupted { what })
            }
            other => other,
        }
    }

    fn decode_fields(bytes: &[u8]) -> Result<SealedConfig> {
        if bytes.len() > MAX_CONFIG_LEN {
            return Err(Error::LimitExceeded {
                what: "repository config length".into(),
                found: bytes.len() as u64,
                limit: MAX_CONFIG_LEN as u64,
            });
        }
        let body_len = bytes
            .len()
            .checked_sub(CONFIG_MAC_LEN)
            .ok_or_else(|| Error::Truncated {
                what: format!(
                    "repository config: {} bytes, shorter than its MAC",
                    bytes.len()
                ),
            })?;
        let (body, tag) = bytes.split_at(body_len);
        let mut r = Reader::new(body, "repository config");
        expect_magic(r.take(4, "magic")?, MAGIC, "repository config")?;
        let version = r.u8("version")?;
        if version != VERSION_1 {
            expect_version(version, VERSION, "repository config")?;
        }
        let repo_id = r.array("repository id")?;
        let created_at = r.u64("created at")?;
        let chunker = ChunkerParams {
            min: r.u32("chunker min")?,
            avg: r.u32("chunker avg")?,
            max: r.u32("chunker max")?,
        };
        let pack_target_bytes = r.u32("pack target")?;
        let floor = if version == VERSION_1 {
            None
        } else {
            Some(r.u32("epoch floor")?)
        };
        let keyring_id = KeyringId::from_bytes(r.array("keyring id")?);
        let prf_input = r.array("PRF input")?;
        let generation = r.u64("generation")?;
        let slot_count = r.u8("slot count")?;
        let slot_count = r.count(slot_count.into(), 3, MAX_SLOTS as u64, "slot count")?;
        let mut slots = Vec::with_capacity(slot_count);
        for _ in 0..slot_count {
            let len = usize::from(r.u16("slot length")?);
            if len == 0 || len > MAX_ENCODED_SLOT_LEN {
                return Err(Error::LimitExceeded {
                    what: "repository config slot length".into(),
                    found: len as u64,
                    limit: MAX_ENCODED_SLOT_LEN as u64,
                });
            }
            slots.push(Slot::decode(r.take(len, "slot")?)?);
        }
        let epoch_count = r.u16("epoch count")?;
        let epoch_count = r.count(
            epoch_count.into(),
            4 + WRAPPED_DATA_KEY_LEN,
            MAX_EPOCHS,
            "epoch count",
        )?;
        if epoch_count == 0 {
            return Err(Error::Corrupted {
                what: "repository config: no key epoch".into(),
            });
        }
        let mut epochs: Vec<(u32, [u8; WRAPPED_DATA_KEY_LEN])> = Vec::with_capacity(epoch_count);
        for _ in 0..epoch_count {
            let epoch = r.u32("epoch")?;
            if epochs.last().is_some_and(|(last, _)| *last >= epoch) {
                return Err(Error::Corrupted {
                    what: "repository config: epochs not strictly ascending".into(),
                });
            }
            epochs.push((epoch, r.array("wrapped data key")?));
        }
        r.finish()?;
        let options = RepoOptions {
            chunker,
            pack_target_bytes,
        };
        Ok(SealedConfig {
            keyring_id,
            generation,
            slots,
            prf_input,
            floor,
            config: Config {
                repo_id,
                created_at,
                options,
                version,
            },
            epochs,
            body: body.to_vec(),
            tag: tag.try_into().map_err(|_| Error::Truncated {
                what: "repository config MAC".into(),
            })?,
        })
    }

    /// Checks the MAC under the unlocked root key and unwraps every epoch. A MAC mismatch is
    /// [`Error::Corrupted`]: edited bytes, or a root key of another keyring. The keyring keeps
    /// the authentication secret the unlock learned; the [`Authenticity`] says whether the
    /// config can be trusted (a version 2 slot's seal proves nothing).
    pub fn unlock(self, unlocked: UnlockedRoot) -> Result<(Config, Keyring, KeySet, Authenticity)> {
        let UnlockedRoot {
            root, authenticity, ..
        } = unlocked;
        let expected = config_mac(&root, &self.config.repo_id, &self.body)?;
        if !bool::from(expected.as_slice().ct_eq(&self.tag)) {
            return Err(Error::Corrupted {
                what: "repository config: MAC mismatch".into(),
            });
        }
        // Parameters are checked after authentication so that their errors mean a bad writer.
        self.config.options.chunker.validate()?;
        super::pack::validate_target(self.config.options.pack_target_bytes)?;
        let mut epochs = Vec::with_capacity(self.epochs.len());
        for (epoch, wrapped) in &self.epochs {
            epochs.push(unwrap_data_key(
                &root,
                &self.config.repo_id,
                *epoch,
                wrapped,
            )?);
        }
        let mut keyring = Keyring::from_unlocked(
            root,
            self.keyring_id,
            self.prf_input,
            self.generation,
            self.slots,
        )?;
        keyring.set_auth_secret(authenticity.auth_secret().cloned());
        let mut keys = KeySet::new(epochs)?;
        if let Some(floor) = self.floor {
            keys.set_floor(floor)?;
        }
        Ok((self.config, keyring, keys, authenticity))
    }
}
