//! Sealing a root key to a slot's public key with HPKE (RFC 9180), so that a device holding only
//! the root key (and the keyring authentication secret) can hand a new root key to every slot
//! without any slot's secret.
//!
//! Suite: DHKEM(X25519, HKDF-SHA256) (KEM id `0x0020`), HKDF-SHA256 (KDF id `0x0001`),
//! AES-256-GCM (AEAD id `0x0002`), single shot. The implementation is the `hpke` crate; this
//! module only fixes the suite, the mode, the `info` label and the byte layout.
//!
//! Two modes ([`SealMode`]):
//!
//! - **PSK mode** (RFC 9180 §5.1.2), version 3 slots: the PSK derives from the keyring
//!   authentication secret, so a seal opens only if its maker knew that secret (a slot holder
//!   or the device), and a seal that fails to open after the slot's private key was opened is
//!   tampering. The store, which has only public keys, cannot make one.
//! - **Base mode**, version 2 slots, read only: anyone with a slot's public key can seal a root
//!   key of their choice to it, so what it opens is not authenticated (see `keyring::slot`).
//!
//! Layout:
//!
//! `sealed root key (80) = enc (32, the ephemeral X25519 public key) || ciphertext (32) || tag (16)`
//!
//! A slot's key pair comes from `DeriveKeyPair(ikm)` of the KEM (RFC 9180 §7.1.3) with 32 random
//! bytes of `ikm`; the sender's ephemeral key pair likewise (that is what `hpke`'s encapsulation
//! does with 32 bytes from its RNG). Fixing both `ikm`s gives byte-exact vectors.

use hpke::{
    aead::{AeadTag, AesGcm256},
    kdf::HkdfSha256,
    kem::X25519HkdfSha256,
    rand_core::{CryptoRng, RngCore},
    Deserializable, Kem, OpModeR, OpModeS, Serializable,
};
use zeroize::{Zeroize, Zeroizing};

use super::{
    kdf,
    keys::{AuthSecret, KEY_LEN},
    labels, RootKey,
};
use crate::{Error, Result};

/// Length of an X25519 public or private key.
pub const SLOT_KEY_LEN: usize = 32;
/// Length of an HPKE encapsulated key (the sender's ephemeral X25519 public key).
const ENC_LEN: usize = 32;
/// Length of the AES-256-GCM tag.
const TAG_LEN: usize = 16;
/// Length of a sealed root key: `enc || ciphertext || tag`.
pub const SEALED_ROOT_KEY_LEN: usize = ENC_LEN + KEY_LEN + TAG_LEN;

/// A slot's X25519 private key. Only ever held unsealed while a slot is opened or created.
pub struct SlotSecretKey(<X25519HkdfSha256 as Kem>::PrivateKey);

impl std::fmt::Debug for SlotSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlotSecretKey(<redacted>)")
    }
}

impl SlotSecretKey {
    /// The private key from its 32 stored bytes (after unsealing).
    pub fn from_bytes(bytes: &[u8; SLOT_KEY_LEN]) -> Result<SlotSecretKey> {
        <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(bytes)
            .map(SlotSecretKey)
            .map_err(|_| Error::WrongKey)
    }

    /// The 32 bytes to seal under the slot's KEK.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SLOT_KEY_LEN]> {
        let mut out = Zeroizing::new([0u8; SLOT_KEY_LEN]);
        let mut bytes = self.0.to_bytes();
        out.copy_from_slice(&bytes);
        bytes.as_mut_slice().zeroize();
        out
    }
}

/// A slot's key pair, derived from 32 bytes of `ikm` with the KEM's `DeriveKeyPair`.
pub fn derive_slot_key_pair(ikm: &[u8; 32]) -> (SlotSecretKey, [u8; SLOT_KEY_LEN]) {
    let (secret, public) = X25519HkdfSha256::derive_keypair(ikm);
    let mut public_bytes = [0u8; SLOT_KEY_LEN];
    public_bytes.copy_from_slice(&public.to_bytes());
    (SlotSecretKey(secret), public_bytes)
}

/// A root key sealed to one slot's public key. Public: only the slot's private key opens it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRootKey([u8; SEALED_ROOT_KEY_LEN]);

impl SealedRootKey {
    /// The sealed key from its 80 stored bytes.
    pub fn from_bytes(bytes: [u8; SEALED_ROOT_KEY_LEN]) -> SealedRootKey {
        SealedRootKey(bytes)
    }

    /// The 80 bytes to store.
    pub fn as_bytes(&self) -> &[u8; SEALED_ROOT_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for SealedRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedRootKey({SEALED_ROOT_KEY_LEN} bytes)")
    }
}

/// The HPKE mode of a root-key seal, with its key schedule inputs.
pub enum SealMode {
    /// Base mode with the version 2 `info`: read only, unauthenticated.
    Base,
    /// PSK mode with the version 3 `info` and the PSK of the keyring authentication secret.
    Psk(Zeroizing<[u8; KEY_LEN]>),
}

impl SealMode {
    /// PSK mode for keyring `keyring_id` with authentication secret `auth`.
    pub fn psk(auth: &AuthSecret, keyring_id: &[u8; 16]) -> Result<SealMode> {
        Ok(SealMode::Psk(kdf::root_seal_psk(auth, keyring_id)?))
    }

    fn info(&self) -> &'static [u8] {
        match self {
            SealMode::Base => labels::HPKE_ROOT_KEY_INFO,
            SealMode::Psk(_) => labels::HPKE_ROOT_KEY_INFO_V3,
        }
    }

    fn bundle(&self) -> Result<Option<hpke::PskBundle<'_>>> {
        match self {
            SealMode::Base => Ok(None),
            SealMode::Psk(psk) => hpke::PskBundle::new(psk.as_ref(), labels::HPKE_PSK_ID)
                .map(Some)
                .map_err(|err| Error::InvalidArgument(format!("HPKE PSK: {err}"))),
        }
    }
}

impl std::fmt::Debug for SealMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SealMode::Base => "SealMode::Base",
            SealMode::Psk(_) => "SealMode::Psk(<redacted>)",
        })
    }
}

/// Hands `hpke` exactly the 32 bytes of the ephemeral key's `ikm`, drawn beforehand from the OS
/// (so a randomness failure is a typed error, not a panic) or fixed by a test vector.
struct PresetRng {
    bytes: Zeroizing<[u8; 32]>,
    used: bool,
}

impl RngCore for PresetRng {
    fn next_u32(&mut self) -> u32 {
        let mut word = [0u8; 4];
        self.fill_bytes(&mut word);
        u32::from_le_bytes(word)
    }

    fn next_u64(&mut self) -> u64 {
        let mut word = [0u8; 8];
        self.fill_bytes(&mut word);
        u64::from_le_bytes(word)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The X25519 encapsulation asks for exactly one 32-byte ikm; anything else would be a
        // change in the crate that must not silently reuse randomness.
        assert!(
            !self.used && dest.len() == self.bytes.len(),
            "HPKE asked for unexpected randomness"
        );
        dest.copy_from_slice(self.bytes.as_ref());
        self.used = true;
    }
}

impl CryptoRng for PresetRng {}

/// Seals `root` to `public_key` in `mode`; `ephemeral_ikm` must be fresh randomness (fixed only
/// in vectors). Writers use [`SealMode::Psk`]; base mode stays for tests of version 2 slots.
pub fn seal_root_key(
    public_key: &[u8; SLOT_KEY_LEN],
    root: &RootKey,
    aad: &[u8],
    mode: &SealMode,
    ephemeral_ikm: [u8; 32],
) -> Result<SealedRootKey> {
    let recipient = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(public_key)
        .map_err(|_| Error::InvalidArgument("slot public key is not an X25519 key".into()))?;
    let mut rng = PresetRng {
        bytes: Zeroizing::new(ephemeral_ikm),
        used: false,
    };
    let mut buffer = Zeroizing::new(*root.expose_secret());
    let op_mode = match mode.bundle()? {
        None => OpModeS::Base,
        Some(bundle) => OpModeS::Psk(bundle),
    };
    let (enc, tag) =
        hpke::single_shot_seal_in_place_detached::<AesGcm256, HkdfSha256, X25519HkdfSha256, _>(
            &op_mode,
            &recipient,
            mode.info(),
            buffer.as_mut(),
            aad,
            &mut rng,
        )
        .map_err(|err| Error::InvalidArgument(format!("HPKE seal failed: {err}")))?;
    let mut out = [0u8; SEALED_ROOT_KEY_LEN];
    out[..ENC_LEN].copy_from_slice(&enc.to_bytes());
    out[ENC_LEN..ENC_LEN + KEY_LEN].copy_from_slice(buffer.as_ref());
    out[ENC_LEN + KEY_LEN..].copy_from_slice(&tag.to_bytes());
    Ok(SealedRootKey(out))
}

/// Opens a sealed root key in `mode`. Any failure (other private key, other PSK, edited bytes or
/// AAD) is [`Error::WrongKey`]; the slot layer decides what such a failure means.
pub fn open_root_key(
    secret: &SlotSecretKey,
    sealed: &SealedRootKey,
    aad: &[u8],
    mode: &SealMode,
) -> Result<RootKey> {
    let (enc, rest) = sealed.0.split_at(ENC_LEN);
    let (ciphertext, tag) = rest.split_at(KEY_LEN);
    let enc =
        <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(enc).map_err(|_| Error::WrongKey)?;
    let tag = AeadTag::<AesGcm256>::from_bytes(tag).map_err(|_| Error::WrongKey)?;
    let mut buffer = Zeroizing::new([0u8; KEY_LEN]);
    buffer.copy_from_slice(ciphertext);
    let op_mode = match mode.bundle()? {
        None => OpModeR::Base,
        Some(bundle) => OpModeR::Psk(bundle),
    };
    hpke::single_shot_open_in_place_detached::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
        &op_mode,
        &secret.0,
        &enc,
        mode.info(),
        buffer.as_mut(),
        aad,
        &tag,
    )
    .map_err(|_| Error::WrongKey)?;
    Ok(RootKey::from_bytes(*buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(start: u8) -> [u8; 32] {
        std::array::from_fn(|i| start.wrapping_add(i as u8))
    }

    #[test]
    fn seal_and_open_round_trip_and_bind_the_aad() {
        let (secret, public) = derive_slot_key_pair(&counting(0x10));
        let root = RootKey::from_bytes(counting(0x60));
        let mode = psk_mode(0x70);
        let sealed = seal_root_key(&public, &root, b"aad", &mode, counting(0x30)).unwrap();
        assert_eq!(
            open_root_key(&secret, &sealed, b"aad", &mode).unwrap(),
            root
        );
        assert!(matches!(
            open_root_key(&secret, &sealed, b"aaD", &mode),
            Err(Error::WrongKey)
        ));
        let (other, _) = derive_slot_key_pair(&counting(0x11));
        assert!(matches!(
            open_root_key(&other, &sealed, b"aad", &mode),
            Err(Error::WrongKey)
        ));
        for byte in 0..SEALED_ROOT_KEY_LEN {
            let mut bytes = *sealed.as_bytes();
            bytes[byte] ^= 0x01;
            assert!(matches!(
                open_root_key(&secret, &SealedRootKey::from_bytes(bytes), b"aad", &mode),
                Err(Error::WrongKey)
            ));
        }
    }

    fn psk_mode(start: u8) -> SealMode {
        SealMode::psk(&AuthSecret::from_bytes(counting(start)), &[0xa0; 16]).unwrap()
    }

    /// The finding of issue 18: a base-mode seal is something anyone with the public key can
    /// make. In PSK mode a seal made without the authentication secret (base mode, or another
    /// secret) does not open, and a PSK seal does not open in base mode either.
    #[test]
    fn psk_mode_refuses_seals_made_without_the_authentication_secret() {
        let (secret, public) = derive_slot_key_pair(&counting(0x10));
        let root = RootKey::from_bytes(counting(0x60));
        let forged =
            seal_root_key(&public, &root, b"aad", &SealMode::Base, counting(0x31)).unwrap();
        assert_eq!(
            open_root_key(&secret, &forged, b"aad", &SealMode::Base).unwrap(),
            root,
            "base mode opens whatever anyone sealed"
        );
        assert!(matches!(
            open_root_key(&secret, &forged, b"aad", &psk_mode(0x70)),
            Err(Error::WrongKey)
        ));
        let other_secret =
            seal_root_key(&public, &root, b"aad", &psk_mode(0x71), counting(0x32)).unwrap();
        assert!(matches!(
            open_root_key(&secret, &other_secret, b"aad", &psk_mode(0x70)),
            Err(Error::WrongKey)
        ));
        let genuine =
            seal_root_key(&public, &root, b"aad", &psk_mode(0x70), counting(0x33)).unwrap();
        assert!(matches!(
            open_root_key(&secret, &genuine, b"aad", &SealMode::Base),
            Err(Error::WrongKey)
        ));
    }

    /// The X25519 secrets `hpke` holds (slot private keys, ephemeral keys, shared secrets) are
    /// wiped on drop: `x25519-dalek` is built with its `zeroize` feature (the core asks for it;
    /// `hpke` alone turns it off). With the feature its secret types derive `Zeroize` together
    /// with `#[zeroize(drop)]` (a `Drop` that wipes); without it they implement neither, and
    /// this test does not compile.
    #[test]
    fn x25519_secrets_are_zeroized_on_drop() {
        fn wiped<T: zeroize::Zeroize>() {}
        wiped::<x25519_dalek::StaticSecret>();
        wiped::<x25519_dalek::SharedSecret>();
        wiped::<x25519_dalek::EphemeralSecret>();
    }

    #[test]
    fn private_keys_round_trip_through_bytes() {
        let (secret, public) = derive_slot_key_pair(&counting(0x10));
        let restored = SlotSecretKey::from_bytes(&secret.to_bytes()).unwrap();
        let root = RootKey::from_bytes(counting(0x60));
        let mode = psk_mode(0x70);
        let sealed = seal_root_key(&public, &root, b"", &mode, counting(0x31)).unwrap();
        assert_eq!(open_root_key(&restored, &sealed, b"", &mode).unwrap(), root);
        assert_eq!(format!("{restored:?}"), "SlotSecretKey(<redacted>)");
    }

    /// RFC 9180 Appendix A.1.1 (DHKEM(X25519, HKDF-SHA256)): `DeriveKeyPair(ikmR)` gives the
    /// published `skRm` and `pkRm` (also recomputed with an independent Python implementation
    /// over `cryptography`'s X25519), so the key pairs here are the standard's, not a variant.
    #[test]
    fn derive_key_pair_matches_rfc_9180() {
        let ikm: [u8; 32] =
            hex::decode("6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037")
                .unwrap()
                .try_into()
                .unwrap();
        let (secret, public) = derive_slot_key_pair(&ikm);
        assert_eq!(
            hex::encode(secret.to_bytes().as_ref()),
            "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8"
        );
        assert_eq!(
            hex::encode(public),
            "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
        );
    }
}
