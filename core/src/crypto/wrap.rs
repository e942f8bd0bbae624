//! AES-256-GCM key wrap under a slot's KEK: of the root key (version 1 slots), of the slot's
//! X25519 private key (version 2 slots), or of the private key followed by the keyring
//! authentication secret (version 3 slots, [`SealedSlotSecret`]).
//!
//! Wrapped form (60 bytes): `nonce (12) || ciphertext (32) || tag (16)`; version 3: `nonce (12)
//! || ciphertext (64) || tag (16)`, 92 bytes. The nonce is random; a KEK
//! wraps exactly one root key (each slot has its own salt, hence its own KEK), so nonce reuse
//! under one KEK does not arise. The associated data binds the slot's public fields and the
//! keyring id (see [`keyring`](crate::keyring)).

use aes_gcm::{
    aead::{AeadInOut, KeyInit},
    Aes256Gcm, Key, Nonce, Tag,
};
use zeroize::Zeroizing;

use super::keys::{random_bytes, AuthSecret, Kek, RootKey, KEY_LEN};
use crate::{Error, Result};

/// Length of the wrap nonce.
pub const WRAP_NONCE_LEN: usize = 12;
/// Length of the AES-GCM tag.
const TAG_LEN: usize = 16;
/// Length of a wrapped root key: nonce, ciphertext and tag.
pub const WRAPPED_KEY_LEN: usize = WRAP_NONCE_LEN + KEY_LEN + TAG_LEN;

/// A root key encrypted under a KEK. Public: reveals nothing without the KEK.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey([u8; WRAPPED_KEY_LEN]);

impl WrappedKey {
    /// The wrapped key from its 60 stored bytes.
    pub fn from_bytes(bytes: [u8; WRAPPED_KEY_LEN]) -> WrappedKey {
        WrappedKey(bytes)
    }

    /// The 60 bytes to store.
    pub fn as_bytes(&self) -> &[u8; WRAPPED_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrappedKey({} bytes)", WRAPPED_KEY_LEN)
    }
}

/// Length of a version 3 slot's sealed private part: nonce, `private key || authentication
/// secret` (64), tag.
pub const SEALED_SLOT_SECRET_LEN: usize = WRAP_NONCE_LEN + 2 * KEY_LEN + TAG_LEN;

/// A version 3 slot's X25519 private key and the keyring authentication secret, encrypted
/// under the slot's KEK. Public: reveals nothing without the KEK.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSlotSecret([u8; SEALED_SLOT_SECRET_LEN]);

impl SealedSlotSecret {
    /// The sealed part from its 92 stored bytes.
    pub fn from_bytes(bytes: [u8; SEALED_SLOT_SECRET_LEN]) -> SealedSlotSecret {
        SealedSlotSecret(bytes)
    }

    /// The 92 bytes to store.
    pub fn as_bytes(&self) -> &[u8; SEALED_SLOT_SECRET_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for SealedSlotSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedSlotSecret({SEALED_SLOT_SECRET_LEN} bytes)")
    }
}

/// Seals `private_key || auth` under `kek` with `nonce` (fresh random, or fixed in a vector).
pub(crate) fn seal_slot_secret(
    kek: &Kek,
    private_key: &[u8; KEY_LEN],
    auth: &AuthSecret,
    aad: &[u8],
    nonce: [u8; WRAP_NONCE_LEN],
) -> Result<SealedSlotSecret> {
    let mut buffer = Zeroizing::new([0u8; 2 * KEY_LEN]);
    buffer[..KEY_LEN].copy_from_slice(private_key);
    buffer[KEY_LEN..].copy_from_slice(auth.expose_secret());
    let tag = cipher(kek)
        .encrypt_inout_detached(&Nonce::from(nonce), aad, buffer.as_mut_slice().into())
        .map_err(|_| Error::InvalidArgument("key wrap failed".into()))?;
    let mut out = [0u8; SEALED_SLOT_SECRET_LEN];
    out[..WRAP_NONCE_LEN].copy_from_slice(&nonce);
    out[WRAP_NONCE_LEN..WRAP_NONCE_LEN + 2 * KEY_LEN].copy_from_slice(buffer.as_ref());
    out[WRAP_NONCE_LEN + 2 * KEY_LEN..].copy_from_slice(&tag);
    Ok(SealedSlotSecret(out))
}

/// Opens a version 3 slot's sealed part: the private key and the authentication secret. Any
/// failure is [`Error::WrongKey`] (the secret is not this slot's, or the slot was edited).
pub(crate) fn open_slot_secret(
    kek: &Kek,
    sealed: &SealedSlotSecret,
    aad: &[u8],
) -> Result<(Zeroizing<[u8; KEY_LEN]>, AuthSecret)> {
    let (nonce, rest) = sealed.0.split_at(WRAP_NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(2 * KEY_LEN);
    let nonce = Nonce::try_from(nonce).map_err(|_| Error::WrongKey)?;
    let tag = Tag::try_from(tag).map_err(|_| Error::WrongKey)?;
    let mut buffer = Zeroizing::new([0u8; 2 * KEY_LEN]);
    buffer.copy_from_slice(ciphertext);
    cipher(kek)
        .decrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into(), &tag)
        .map_err(|_| Error::WrongKey)?;
    let mut private_key = Zeroizing::new([0u8; KEY_LEN]);
    private_key.copy_from_slice(&buffer[..KEY_LEN]);
    let mut auth = [0u8; KEY_LEN];
    auth.copy_from_slice(&buffer[KEY_LEN..]);
    let auth = AuthSecret::from_bytes(auth);
    Ok((private_key, auth))
}

/// Wraps the authentication secret in a public keyring under `key` (derived from the root key,
/// so unique per root key). The nonce is the first 12 bytes of `HMAC-SHA256(key, "nonce" ||
/// secret)`: the bytes are deterministic (the same keyring always serializes the same way) and
/// a nonce repeats under one key only for the same secret, i.e. the same message.
pub(crate) fn wrap_auth_secret(key: &Kek, auth: &AuthSecret, aad: &[u8]) -> Result<WrappedKey> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.expose_secret())
        .map_err(|_| Error::InvalidArgument("HMAC key length".into()))?;
    mac.update(b"nonce");
    mac.update(auth.expose_secret());
    let digest = mac.finalize().into_bytes();
    let mut nonce = [0u8; WRAP_NONCE_LEN];
    nonce.copy_from_slice(&digest[..WRAP_NONCE_LEN]);
    wrap_secret_with_nonce(key, auth.expose_secret(), aad, nonce)
}

/// Unwraps the authentication secret of a public keyring; any failure is
/// [`Error::Corrupted`] (the keyring's MAC already held, so these bytes were written wrongly).
pub(crate) fn unwrap_auth_secret(
    key: &Kek,
    wrapped: &WrappedKey,
    aad: &[u8],
) -> Result<AuthSecret> {
    let bytes = unwrap_secret(key, wrapped, aad).map_err(|_| Error::Corrupted {
        what: "public keyring: the authentication secret does not unwrap".into(),
    })?;
    Ok(AuthSecret::from_bytes(*bytes))
}

fn cipher(kek: &Kek) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*kek.expose_secret()))
}

/// Wraps `root` under `kek` with a fresh random nonce.
pub fn wrap_root_key(kek: &Kek, root: &RootKey, aad: &[u8]) -> Result<WrappedKey> {
    wrap_root_key_with_nonce(kek, root, aad, random_bytes()?)
}

/// Wraps with a caller-chosen nonce. Only for known-answer test vectors: a real wrap must use
/// [`wrap_root_key`].
#[doc(hidden)]
pub fn wrap_root_key_with_nonce(
    kek: &Kek,
    root: &RootKey,
    aad: &[u8],
    nonce: [u8; WRAP_NONCE_LEN],
) -> Result<WrappedKey> {
    wrap_secret_with_nonce(kek, root.expose_secret(), aad, nonce)
}

/// Wraps any 32-byte secret (a root key, a slot's private key) under `kek` with `nonce`, which
/// must be fresh for this KEK (random, or fixed in a test vector).
pub(crate) fn wrap_secret_with_nonce(
    kek: &Kek,
    secret: &[u8; KEY_LEN],
    aad: &[u8],
    nonce: [u8; WRAP_NONCE_LEN],
) -> Result<WrappedKey> {
    let mut buffer = Zeroizing::new(*secret);
    let tag = cipher(kek)
        .encrypt_inout_detached(&Nonce::from(nonce), aad, buffer.as_mut_slice().into())
        .map_err(|_| Error::InvalidArgument("key wrap failed".into()))?;
    let mut out = [0u8; WRAPPED_KEY_LEN];
    let (nonce_out, rest) = out.split_at_mut(WRAP_NONCE_LEN);
    let (ciphertext_out, tag_out) = rest.split_at_mut(KEY_LEN);
    nonce_out.copy_from_slice(&nonce);
    ciphertext_out.copy_from_slice(buffer.as_ref());
    tag_out.copy_from_slice(&tag);
    Ok(WrappedKey(out))
}

/// Unwraps the root key. Any failure (wrong KEK, edited AAD, edited bytes) is
/// [`Error::WrongKey`]; the cause is deliberately not distinguished.
pub fn unwrap_root_key(kek: &Kek, wrapped: &WrappedKey, aad: &[u8]) -> Result<RootKey> {
    Ok(RootKey::from_bytes(*unwrap_secret(kek, wrapped, aad)?))
}

/// Unwraps a 32-byte secret; any failure is [`Error::WrongKey`].
pub(crate) fn unwrap_secret(
    kek: &Kek,
    wrapped: &WrappedKey,
    aad: &[u8],
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let (nonce, rest) = wrapped.0.split_at(WRAP_NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(KEY_LEN);
    let nonce = Nonce::try_from(nonce).map_err(|_| Error::WrongKey)?;
    let tag = Tag::try_from(tag).map_err(|_| Error::WrongKey)?;
    let mut buffer = Zeroizing::new([0u8; KEY_LEN]);
    buffer.copy_from_slice(ciphertext);
    cipher(kek)
        .decrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into(), &tag)
        .map_err(|_| Error::WrongKey)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> (Kek, RootKey, [u8; WRAP_NONCE_LEN]) {
        (
            Kek::from_bytes(std::array::from_fn(|i| 0x10 + i as u8)),
            RootKey::from_bytes(std::array::from_fn(|i| 0x60 + i as u8)),
            std::array::from_fn(|i| 0xf0 + i as u8),
        )
    }

    #[test]
    fn wrap_known_answer() {
        // Expected bytes from Python `cryptography`'s AESGCM, independently of this code.
        let (kek, root, nonce) = fixed();
        let wrapped = wrap_root_key_with_nonce(&kek, &root, b"slot aad", nonce).unwrap();
        assert_eq!(hex::encode(wrapped.as_bytes()), "f0f1f2f3f4f5f6f7f8f9fafb33147d42c2385902162cea62b6aa0fe186e0472c8c6ff89e4f0454738cbf9191d95262377a3002f783a447b4a5e33f05");
        assert_eq!(unwrap_root_key(&kek, &wrapped, b"slot aad").unwrap(), root);
    }

    #[test]
    fn random_nonces_differ_and_round_trip() {
        let (kek, root, _) = fixed();
        let a = wrap_root_key(&kek, &root, b"aad").unwrap();
        let b = wrap_root_key(&kek, &root, b"aad").unwrap();
        assert_ne!(a, b);
        assert_eq!(unwrap_root_key(&kek, &a, b"aad").unwrap(), root);
        assert_eq!(unwrap_root_key(&kek, &b, b"aad").unwrap(), root);
    }

    #[test]
    fn any_change_is_wrong_key() {
        let (kek, root, nonce) = fixed();
        let wrapped = wrap_root_key_with_nonce(&kek, &root, b"aad", nonce).unwrap();
        let other_kek = Kek::from_bytes([9; KEY_LEN]);
        assert!(matches!(
            unwrap_root_key(&other_kek, &wrapped, b"aad"),
            Err(Error::WrongKey)
        ));
        assert!(matches!(
            unwrap_root_key(&kek, &wrapped, b"aaD"),
            Err(Error::WrongKey)
        ));
        for byte in 0..WRAPPED_KEY_LEN {
            let mut bytes = *wrapped.as_bytes();
            bytes[byte] ^= 0x01;
            assert!(matches!(
                unwrap_root_key(&kek, &WrappedKey::from_bytes(bytes), b"aad"),
                Err(Error::WrongKey)
            ));
        }
    }
}
