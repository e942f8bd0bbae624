//! HKDF-SHA256 derivations of every Keepsake key (RFC 5869), each under its own label from
//! [`super::labels`].
//!
//! | key | ikm | salt | info |
//! |-----|-----|------|------|
//! | passkey slot KEK | PRF output (32) | slot salt (32) | `KEK_PASSKEY \|\| u16 BE len \|\| credential id` |
//! | recovery slot KEK | recovery secret (32) | slot salt (32) | `KEK_RECOVERY_KEY` |
//! | payload key | root key (32) | file salt (32) | `FILE_PAYLOAD_KEY` |
//! | header-MAC key | root key (32) | file salt (32) | `FILE_HEADER_MAC_KEY` |
//! | keyring-MAC key | root key (32) | keyring id (16) | `KEYRING_MAC_KEY` |
//! | v2 passkey slot KEK | PRF output (32) | slot salt (32) | `KEK_PASSKEY_V2 \|\| u16 BE len \|\| credential id` |
//! | v2 recovery slot KEK | recovery secret (32) | slot salt (32) | `KEK_RECOVERY_KEY_V2` |
//! | password slot KEK | Argon2id output (32) | slot salt (32) | `KEK_PASSWORD` |
//! | v2 keyring-MAC key | root key (32) | keyring id (16) | `KEYRING_MAC_KEY_V2` |
//! | v3 slot KEKs | as v2 | as v2 | `KEK_PASSKEY_V3 \|\| ...`, `KEK_RECOVERY_KEY_V3`, `KEK_PASSWORD_V3` |
//! | v3 keyring-MAC key | root key (32) | keyring id (16) | `KEYRING_MAC_KEY_V3` |
//! | keyring authentication secret | root key (32) | keyring id (16) | `KEYRING_AUTH_SECRET` |
//! | its wrap key (public keyring) | root key (32) | keyring id (16) | `KEYRING_AUTH_WRAP_KEY` |
//! | HPKE PSK of v3 seals | authentication secret (32) | keyring id (16) | `HPKE_PSK` |
//!
//! Every output is 32 bytes (one HKDF-Expand block). The functions return `Result` only because
//! the HKDF API is fallible for outputs longer than 8160 bytes; at 32 bytes they cannot fail.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{
    keys::{AuthSecret, HeaderMacKey, Kek, KeyringMacKey, PayloadKey, PrfOutput, RootKey, KEY_LEN},
    labels,
};
use crate::{Error, Result};

/// Length of a slot's random HKDF salt.
pub const SLOT_SALT_LEN: usize = 32;

/// Length of a file's random HKDF salt (fresh for every backup file).
pub const FILE_SALT_LEN: usize = 32;

/// HKDF-SHA256 with `info` given as the concatenation of `info_parts`, 32 bytes of output.
pub(crate) fn hkdf_sha256(
    ikm: &[u8],
    salt: &[u8],
    info_parts: &[&[u8]],
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info_parts, okm.as_mut())
        .map_err(|_| Error::InvalidArgument("HKDF output length".into()))?;
    Ok(okm)
}

/// Which slot encoding a KEK is for: each version has its own labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KekVersion {
    /// Version 1 slots: the KEK wraps the root key.
    V1,
    /// Version 2 slots: the KEK wraps the slot's X25519 private key (read only).
    V2,
    /// Version 3 slots: the KEK wraps the private key and the keyring authentication secret.
    V3,
}

/// The KEK of a passkey slot. The credential id is bound into `info` (length-prefixed so that no
/// two ids give the same bytes), so a PRF output is useless for any other slot.
pub fn passkey_kek(
    prf: &PrfOutput,
    slot_salt: &[u8; SLOT_SALT_LEN],
    credential_id: &[u8],
    version: KekVersion,
) -> Result<Kek> {
    let len = u16::try_from(credential_id.len()).map_err(|_| Error::LimitExceeded {
        what: "credential id length".into(),
        found: credential_id.len() as u64,
        limit: u64::from(u16::MAX),
    })?;
    let okm = hkdf_sha256(
        prf.expose_secret(),
        slot_salt,
        &[
            match version {
                KekVersion::V1 => labels::KEK_PASSKEY,
                KekVersion::V2 => labels::KEK_PASSKEY_V2,
                KekVersion::V3 => labels::KEK_PASSKEY_V3,
            },
            &len.to_be_bytes(),
            credential_id,
        ],
    )?;
    Ok(Kek::from_bytes(*okm))
}

/// The KEK of a recovery-key slot, from the recovery key's 256-bit secret.
pub fn recovery_kek(
    secret: &[u8; KEY_LEN],
    slot_salt: &[u8; SLOT_SALT_LEN],
    version: KekVersion,
) -> Result<Kek> {
    let label = match version {
        KekVersion::V1 => labels::KEK_RECOVERY_KEY,
        KekVersion::V2 => labels::KEK_RECOVERY_KEY_V2,
        KekVersion::V3 => labels::KEK_RECOVERY_KEY_V3,
    };
    let okm = hkdf_sha256(secret, slot_salt, &[label])?;
    Ok(Kek::from_bytes(*okm))
}

/// The two keys of one backup file. The salt is fresh per file, so no payload key (and hence no
/// STREAM nonce) ever repeats across files, and a segment spliced from another file fails.
pub fn derive_file_keys(
    root: &RootKey,
    file_salt: &[u8; FILE_SALT_LEN],
) -> Result<(PayloadKey, HeaderMacKey)> {
    let payload = hkdf_sha256(root.expose_secret(), file_salt, &[labels::FILE_PAYLOAD_KEY])?;
    let header_mac = hkdf_sha256(
        root.expose_secret(),
        file_salt,
        &[labels::FILE_HEADER_MAC_KEY],
    )?;
    Ok((
        PayloadKey::from_bytes(*payload),
        HeaderMacKey::from_bytes(*header_mac),
    ))
}

/// The KEK of a password slot from the Argon2id output of the password (see
/// [`super::password`]). Password slots exist from version 2 on; a version 1 request is
/// [`Error::InvalidArgument`].
pub fn password_kek(
    stretched: &[u8; KEY_LEN],
    slot_salt: &[u8; SLOT_SALT_LEN],
    version: KekVersion,
) -> Result<Kek> {
    let label = match version {
        KekVersion::V1 => {
            return Err(Error::InvalidArgument(
                "version 1 slots have no password kind".into(),
            ))
        }
        KekVersion::V2 => labels::KEK_PASSWORD,
        KekVersion::V3 => labels::KEK_PASSWORD_V3,
    };
    let okm = hkdf_sha256(stretched, slot_salt, &[label])?;
    Ok(Kek::from_bytes(*okm))
}

/// The keyring authentication secret of a keyring that has none yet, from the root key it has
/// when it first needs one (its first version 3 slot). Deterministic, so two devices that share
/// the keyring at that generation get the same secret without talking to each other; the root
/// key is 32 random bytes and never leaves the device or a slot, so the store cannot compute it.
pub fn auth_secret(root: &RootKey, keyring_id: &[u8; 16]) -> Result<AuthSecret> {
    let okm = hkdf_sha256(
        root.expose_secret(),
        keyring_id,
        &[labels::KEYRING_AUTH_SECRET],
    )?;
    Ok(AuthSecret::from_bytes(*okm))
}

/// The key that wraps the authentication secret in a version 3 public keyring (§8).
pub fn auth_wrap_key(root: &RootKey, keyring_id: &[u8; 16]) -> Result<Kek> {
    let okm = hkdf_sha256(
        root.expose_secret(),
        keyring_id,
        &[labels::KEYRING_AUTH_WRAP_KEY],
    )?;
    Ok(Kek::from_bytes(*okm))
}

/// The HPKE pre-shared key of every version 3 root-key seal of keyring `keyring_id`.
pub fn root_seal_psk(auth: &AuthSecret, keyring_id: &[u8; 16]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    hkdf_sha256(auth.expose_secret(), keyring_id, &[labels::HPKE_PSK])
}

/// The key that authenticates a keyring's serialized public part (version 1, 2 or 3 layout).
pub fn keyring_mac_key(
    root: &RootKey,
    keyring_id: &[u8; 16],
    version: KekVersion,
) -> Result<KeyringMacKey> {
    let label = match version {
        KekVersion::V1 => labels::KEYRING_MAC_KEY,
        KekVersion::V2 => labels::KEYRING_MAC_KEY_V2,
        KekVersion::V3 => labels::KEYRING_MAC_KEY_V3,
    };
    let okm = hkdf_sha256(root.expose_secret(), keyring_id, &[label])?;
    Ok(KeyringMacKey::from_bytes(*okm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq<const N: usize>(start: u8) -> [u8; N] {
        std::array::from_fn(|i| start.wrapping_add(i as u8))
    }

    // Expected values computed with Python `cryptography`'s HKDF, independently of this code.

    #[test]
    fn passkey_kek_known_answer() {
        let prf = PrfOutput::from_slice(&seq::<32>(0x01)).unwrap();
        let kek = passkey_kek(&prf, &seq(0x40), b"credential-1", KekVersion::V1).unwrap();
        assert_eq!(
            hex::encode(kek.expose_secret()),
            "667ad9eaf7d600da18ca7b33645117e5c82c8a85b9aa5d7dcbf1d93ceb80f923"
        );
    }

    #[test]
    fn passkey_kek_depends_on_the_credential_id() {
        let prf = PrfOutput::from_slice(&seq::<32>(0x01)).unwrap();
        let a = passkey_kek(&prf, &seq(0x40), b"credential-1", KekVersion::V1).unwrap();
        let b = passkey_kek(&prf, &seq(0x40), b"credential-2", KekVersion::V1).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn recovery_kek_known_answer() {
        let kek = recovery_kek(&seq(0x20), &seq(0x40), KekVersion::V1).unwrap();
        assert_eq!(
            hex::encode(kek.expose_secret()),
            "4a02d0401b25474727dee0cbff1fd2d0c25e2fdf4e4bf3c024aea4653d582bfe"
        );
    }

    #[test]
    fn file_keys_known_answer() {
        let (payload, header_mac) =
            derive_file_keys(&RootKey::from_bytes(seq(0x60)), &seq(0x80)).unwrap();
        assert_eq!(
            hex::encode(payload.expose_secret()),
            "8716ada23bed7401feef4ee9f4a037ebc1d23f4c5567d1d24ecc19c4674c64aa"
        );
        assert_eq!(
            hex::encode(header_mac.expose_secret()),
            "d2f8df0cb63108e01422f133a3da22bdc22d0af2fd4f76e4ef9678be94352216"
        );
    }

    #[test]
    fn keyring_mac_key_known_answer() {
        let key =
            keyring_mac_key(&RootKey::from_bytes(seq(0x60)), &seq(0xc0), KekVersion::V1).unwrap();
        assert_eq!(
            hex::encode(key.expose_secret()),
            "3335958215ec955f383f7cd082a1d89c71419e0c9d4a1a14e1aa1bbef3f99a4d"
        );
    }
}
