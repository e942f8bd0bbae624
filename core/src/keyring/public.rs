//! The serialized public part of a keyring: everything but the root key, authenticated, so an
//! app can store it next to the sealed root key and rebuild the keyring later. It also carries
//! the keyring authentication secret, encrypted under a key derived from the root key, so that
//! the device can rotate without a prompt.
//!
//! # Layout, version 3 (written), big-endian
//!
//! | size | field |
//! |------|-------|
//! | 4    | magic `KSKR` (`4b 53 4b 52`) |
//! | 1    | version `0x03` |
//! | 16   | keyring id |
//! | 32   | PRF input |
//! | 8    | generation (u64) |
//! | 1    | slot count `N`, `0..=32` |
//! |      | `N` times: `u16` length, then that many bytes of one slot encoding ([`super::slot`]) |
//! | 1    | flags: bit 0 the authentication secret follows, bit 1 the re-keyed-from id follows; other bits `Corrupted` |
//! | 0/60 | authentication secret: nonce (12) `\|\|` AES-256-GCM ciphertext (32) `\|\|` tag (16) under `HKDF(root key, keyring id, "keepsake/v3/keyring/auth-wrap-key")`, AAD `"keepsake/v3/keyring/auth-aad" \|\| keyring id`, nonce = first 12 bytes of `HMAC(that key, "nonce" \|\| secret)` |
//! | 0/16 | the id of the keyring this one re-keyed |
//! | 32   | HMAC-SHA256 over all preceding bytes, keyed with `HKDF(root key, keyring id, "keepsake/v3/keyring/mac-key")` |
//!
//! A keyring holding a version 3 slot always carries its authentication secret.
//!
//! # Versions 2 and 1 (read only)
//!
//! Version 2: up to the slots as above (version 1 and 2 slots only), then the MAC under
//! `"keepsake/v2/keyring/mac-key"`. Version 1: the same without the generation field (the
//! keyring has generation 0), MAC key under `"keepsake/v1/keyring/mac-key"`, and only version 1
//! slots.
//!
//! A MAC mismatch is [`Error::Corrupted`]: the bytes were edited, or they belong to a keyring
//! other than the given root key's (after a rotation, the old bytes no longer match the new root
//! key). The two cannot be told apart, and both mean the stored keyring must not be used.

use crate::{
    crypto::{kdf, kdf::KekVersion, labels, mac::MAC_LEN, wrap, RootKey},
    keyring::{
        codec::Reader,
        slot::{Slot, MAX_ENCODED_SLOT_LEN, SLOT_ENCODING_V1, SLOT_ENCODING_VERSION},
        Keyring, KeyringId, MAX_SLOTS, PRF_INPUT_LEN,
    },
    Error, Result,
};

/// The magic bytes that start a serialized public keyring.
pub const MAGIC: &[u8; 4] = b"KSKR";
/// The serialization version this build writes.
pub const VERSION: u8 = 3;
/// The version before the authentication secret, still read.
pub const VERSION_2: u8 = 2;
/// The first version, still read.
pub const VERSION_1: u8 = 1;
/// Bytes before the slots: magic, version, id, PRF input, generation, slot count.
const PREFIX_LEN: usize = 4 + 1 + KeyringId::LEN + PRF_INPUT_LEN + 8 + 1;
/// Flag bit: the wrapped authentication secret follows.
const FLAG_AUTH: u8 = 0x01;
/// Flag bit: the re-keyed-from keyring id follows.
const FLAG_REKEYED: u8 = 0x02;
/// The longest serialized public keyring.
pub const MAX_PUBLIC_KEYRING_LEN: usize = PREFIX_LEN
    + MAX_SLOTS * (2 + MAX_ENCODED_SLOT_LEN)
    + 1
    + wrap::WRAPPED_KEY_LEN
    + KeyringId::LEN
    + MAC_LEN;

/// The AAD of the wrapped authentication secret.
fn auth_aad(id: &KeyringId) -> Vec<u8> {
    [labels::KEYRING_AUTH_AAD, id.as_bytes()].concat()
}

impl Keyring {
    /// Serializes everything but the root key (version 3), authenticated under a key derived
    /// from it; the authentication secret is encrypted under another. Deterministic: the same
    /// keyring always gives the same bytes.
    pub fn to_public_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFIX_LEN + self.slots.len() * 300 + 128);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&self.prf_input);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.push(u8::try_from(self.slots.len()).unwrap_or(u8::MAX));
        for slot in &self.slots {
            let encoded = slot.to_bytes();
            out.extend_from_slice(
                &u16::try_from(encoded.len())
                    .unwrap_or(u16::MAX)
                    .to_be_bytes(),
            );
            out.extend_from_slice(&encoded);
        }
        // Wrapping 32 bytes under a derived key cannot fail; a failure would only drop the
        // secret, which `from_parts` then refuses for a keyring with version 3 slots.
        let wrapped = self.auth.as_ref().and_then(|auth| {
            let key = kdf::auth_wrap_key(&self.root, self.id.as_bytes()).ok()?;
            wrap::wrap_auth_secret(&key, auth, &auth_aad(&self.id)).ok()
        });
        let flags = (if wrapped.is_some() { FLAG_AUTH } else { 0 })
            | (if self.rekeyed_from.is_some() {
                FLAG_REKEYED
            } else {
                0
            });
        out.push(flags);
        if let Some(wrapped) = &wrapped {
            out.extend_from_slice(wrapped.as_bytes());
        }
        if let Some(previous) = &self.rekeyed_from {
            out.extend_from_slice(previous.as_bytes());
        }
        let tag = self.mac_key.tag(&out);
        out.extend_from_slice(&tag);
        out
    }

    /// Rebuilds a keyring from its root key and [`to_public_bytes`](Self::to_public_bytes)
    /// (version 3, or versions 2 and 1 as older builds wrote them). Checks size limits and the
    /// MAC before decoding the slots; a MAC mismatch is [`Error::Corrupted`] (edited bytes, or
    /// another keyring's). Does not check the generation: use [`Keyring::from_stored`] on a
    /// device.
    pub fn from_parts(root: RootKey, public: &[u8]) -> Result<Keyring> {
        if public.len() > MAX_PUBLIC_KEYRING_LEN {
            return Err(Error::LimitExceeded {
                what: "public keyring length".into(),
                found: public.len() as u64,
                limit: MAX_PUBLIC_KEYRING_LEN as u64,
            });
        }
        let body_len = public
            .len()
            .checked_sub(MAC_LEN)
            .ok_or_else(|| Error::Truncated {
                what: format!(
                    "public keyring: {} bytes, too short for its MAC",
                    public.len()
                ),
            })?;
        let (body, tag) = public.split_at(body_len);
        let mut reader = Reader::new(body, "public keyring");
        if reader.take(MAGIC.len(), "magic")? != MAGIC {
            return Err(Error::Corrupted {
                what: "public keyring: bad magic, not a Keepsake keyring".into(),
            });
        }
        let version = reader.u8("version")?;
        let mac_version = match version {
            VERSION => KekVersion::V3,
            VERSION_2 => KekVersion::V2,
            VERSION_1 => KekVersion::V1,
            other => {
                return Err(Error::UnsupportedVersion {
                    what: "public keyring version".into(),
                    found: other.into(),
                    supported: format!("versions {VERSION_1} to {VERSION}"),
                })
            }
        };
        let id = KeyringId::from_bytes(reader.array("keyring id")?);
        kdf::keyring_mac_key(&root, id.as_bytes(), mac_version)?.verify(
            body,
            tag,
            "public keyring",
        )?;

        let prf_input = reader.array("PRF input")?;
        let generation = match mac_version {
            KekVersion::V1 => 0,
            KekVersion::V2 | KekVersion::V3 => reader.u64("generation")?,
        };
        let count = usize::from(reader.u8("slot count")?);
        if count > MAX_SLOTS {
            return Err(Error::LimitExceeded {
                what: "public keyring slot count".into(),
                found: count as u64,
                limit: MAX_SLOTS as u64,
            });
        }
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(reader.u16("slot length")?);
            let encoded = reader.bytes_with_len(len, 1, MAX_ENCODED_SLOT_LEN, "slot")?;
            let slot = Slot::decode(encoded)?;
            let newest = match mac_version {
                KekVersion::V1 => SLOT_ENCODING_V1,
                KekVersion::V2 => SLOT_ENCODING_VERSION - 1,
                KekVersion::V3 => SLOT_ENCODING_VERSION,
            };
            if slot.version() > newest {
                return Err(Error::Corrupted {
                    what: format!(
                        "public keyring: a version {version} keyring holds a version {} slot",
                        slot.version()
                    ),
                });
            }
            slots.push(slot);
        }
        let (mut auth, mut rekeyed_from) = (None, None);
        if mac_version == KekVersion::V3 {
            let flags = reader.u8("flags")?;
            if flags & !(FLAG_AUTH | FLAG_REKEYED) != 0 {
                return Err(Error::Corrupted {
                    what: format!("public keyring: unknown flags {flags:#04x}"),
                });
            }
            if flags & FLAG_AUTH != 0 {
                let wrapped = wrap::WrappedKey::from_bytes(reader.array("authentication secret")?);
                let key = kdf::auth_wrap_key(&root, id.as_bytes())?;
                auth = Some(wrap::unwrap_auth_secret(&key, &wrapped, &auth_aad(&id))?);
            }
            if flags & FLAG_REKEYED != 0 {
                rekeyed_from = Some(KeyringId::from_bytes(reader.array("re-keyed from")?));
            }
        }
        reader.finish()?;
        if auth.is_none() && slots.iter().any(|slot| !slot.is_legacy()) {
            return Err(Error::Corrupted {
                what: "public keyring: version 3 slots without the authentication secret".into(),
            });
        }
        let mut keyring = Keyring::from_unlocked(root, id, prf_input, generation, slots)?;
        keyring.auth = auth;
        keyring.rekeyed_from = rekeyed_from;
        Ok(keyring)
    }

    /// What a device does at start: [`from_parts`](Self::from_parts) on the root key and public
    /// bytes it stored, refusing them ([`Error::KeyringRolledBack`]) if their generation is below
    /// `known_generation`, the generation the app keeps with the root key.
    pub fn from_stored(root: RootKey, public: &[u8], known_generation: u64) -> Result<Keyring> {
        let keyring = Keyring::from_parts(root, public)?;
        keyring.check_not_rolled_back(known_generation)?;
        Ok(keyring)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{
        crypto::PrfOutput,
        keyring::{tests::enrollment, unwrap_with_passkey},
    };

    fn keyring_with_slots() -> Keyring {
        let mut keyring = Keyring::create().unwrap();
        keyring.add_recovery_key("Recovery key").unwrap();
        let prf = PrfOutput::from_slice(&[5; 32]).unwrap();
        keyring.add_passkey(enrollment(b"cred-a"), &prf).unwrap();
        keyring
    }

    #[test]
    fn round_trip_restores_everything() {
        let keyring = keyring_with_slots();
        let bytes = keyring.to_public_bytes();
        assert_eq!(&bytes[..5], b"KSKR\x03");
        let rebuilt = Keyring::from_parts(keyring.root_key().clone(), &bytes).unwrap();
        assert_eq!(rebuilt.id(), keyring.id());
        assert_eq!(rebuilt.prf_input(), keyring.prf_input());
        assert_eq!(rebuilt.slots(), keyring.slots());
        assert_eq!(rebuilt.to_public_bytes(), bytes);
        let prf = PrfOutput::from_slice(&[5; 32]).unwrap();
        assert_eq!(
            &unwrap_with_passkey(
                rebuilt.id(),
                rebuilt.generation(),
                rebuilt.slots(),
                b"cred-a",
                &prf
            )
            .unwrap(),
            keyring.root_key()
        );
        let empty = Keyring::create().unwrap();
        let rebuilt = Keyring::from_parts(empty.root_key().clone(), &empty.to_public_bytes());
        assert!(rebuilt.unwrap().slots().is_empty());
    }

    #[test]
    fn another_root_key_is_rejected() {
        let keyring = keyring_with_slots();
        let other = RootKey::from_bytes([1; 32]);
        assert!(matches!(
            Keyring::from_parts(other, &keyring.to_public_bytes()),
            Err(Error::Corrupted { .. })
        ));
    }

    /// Every single-bit change anywhere is rejected, and never with a panic.
    #[test]
    fn every_bit_flip_is_rejected() {
        let keyring = keyring_with_slots();
        let bytes = keyring.to_public_bytes();
        for bit in 0..bytes.len() * 8 {
            let mut edited = bytes.clone();
            edited[bit / 8] ^= 1 << (bit % 8);
            let result = Keyring::from_parts(keyring.root_key().clone(), &edited);
            match (bit / 8, result) {
                (4, Err(Error::UnsupportedVersion { .. })) => {}
                // Version 3 -> 2 or 1: read under another MAC label.
                (4, Err(Error::Corrupted { what })) if what.contains("MAC") => {}
                (0..=3, Err(Error::Corrupted { what })) if what.contains("magic") => {}
                (5.., Err(Error::Corrupted { what })) if what.contains("MAC") => {}
                (byte, other) => panic!("bit flip in byte {byte}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_truncation_is_rejected() {
        let keyring = keyring_with_slots();
        let bytes = keyring.to_public_bytes();
        for len in 0..bytes.len() {
            assert!(Keyring::from_parts(keyring.root_key().clone(), &bytes[..len]).is_err());
        }
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let huge = vec![0u8; MAX_PUBLIC_KEYRING_LEN + 1];
        assert!(matches!(
            Keyring::from_parts(RootKey::from_bytes([1; 32]), &huge),
            Err(Error::LimitExceeded { .. })
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let root = RootKey::from_bytes([1; 32]);
            prop_assert!(Keyring::from_parts(root.clone(), &bytes).is_err());
            let mut framed = b"KSKR\x03".to_vec();
            framed.extend_from_slice(&bytes);
            prop_assert!(Keyring::from_parts(root, &framed).is_err());
        }

        #[test]
        fn any_slots_round_trip(
            slots in prop::collection::vec(crate::keyring::slot::tests::any_slot(), 0..4),
            id in any::<[u8; 16]>(),
            prf_input in any::<[u8; 32]>(),
            generation in any::<u64>(),
        ) {
            let root = RootKey::from_bytes([3; 32]);
            let unique = slots.iter().map(|s| *s.id()).collect::<std::collections::BTreeSet<_>>();
            let credentials = slots.iter().filter_map(|s| s.credential_id()).collect::<std::collections::BTreeSet<_>>();
            let passkeys = slots.iter().filter(|s| s.credential_id().is_some()).count();
            prop_assume!(unique.len() == slots.len() && credentials.len() == passkeys);
            let mut keyring = Keyring::from_unlocked(root.clone(), KeyringId::from_bytes(id), prf_input, generation, slots)?;
            keyring.auth = Some(crate::crypto::AuthSecret::from_bytes([9; 32]));
            let bytes = keyring.to_public_bytes();
            let rebuilt = Keyring::from_parts(root, &bytes)?;
            prop_assert_eq!(rebuilt.slots(), keyring.slots());
            prop_assert_eq!(rebuilt.prf_input(), &prf_input);
            prop_assert_eq!(rebuilt.generation(), generation);
            prop_assert_eq!(rebuilt.to_public_bytes(), bytes);
        }
    }
}
