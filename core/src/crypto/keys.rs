//! Zeroizing key types and OS randomness.
//!
//! Every secret here is a fixed-size byte array that is wiped when dropped, prints as
//! `Name(<redacted>)` under `Debug`, and has no `Display`. Keys of different roles are different
//! types, so a payload key can never be passed where a key-encryption key is expected.

use std::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, Result};

/// Length in bytes of every symmetric key in Keepsake.
pub const KEY_LEN: usize = 32;

/// `N` bytes from the operating system's random number generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
    Ok(bytes)
}

/// Fills `out` from the OS's randomness ([`Error::Randomness`] on failure).
pub fn fill_random(out: &mut [u8]) -> Result<()> {
    getrandom::fill(out).map_err(|_| Error::Randomness)
}

/// Implements redacted `Debug` for a secret type.
macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

/// The keyring's root key: the one secret that every backup key derives from.
///
/// The device keeps it (sealed by the Android Keystore or the iOS Keychain) so that a daily backup
/// needs no prompt; key slots wrap it for a new device. Equality is constant-time.
///
/// `Clone` exists because an unlocked container hands out a rebuilt [`Keyring`](crate::keyring::Keyring)
/// while keeping its own copy; every copy is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RootKey([u8; KEY_LEN]);

impl RootKey {
    /// A fresh root key from the OS random number generator.
    pub fn generate() -> Result<RootKey> {
        Ok(RootKey(random_bytes()?))
    }

    /// A root key from its bytes, e.g. unsealed from the platform keystore.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> RootKey {
        RootKey(bytes)
    }

    /// The raw bytes, only for sealing in the Android Keystore or iOS Keychain.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl ConstantTimeEq for RootKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for RootKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for RootKey {}

redacted_debug!(RootKey);

/// The 32-byte output of a passkey's WebAuthn PRF extension for the keyring's PRF input.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PrfOutput([u8; KEY_LEN]);

impl PrfOutput {
    /// Accepts exactly 32 bytes that are not all zero; anything else is
    /// [`Error::BadPrfOutput`] (a provider that returns zeros or short output has a broken PRF).
    pub fn from_slice(bytes: &[u8]) -> Result<PrfOutput> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| Error::BadPrfOutput {
            reason: format!("expected {KEY_LEN} bytes, got {}", bytes.len()),
        })?;
        let output = PrfOutput(array);
        if bool::from(output.0.ct_eq(&[0u8; KEY_LEN])) {
            return Err(Error::BadPrfOutput {
                reason: "all bytes are zero".into(),
            });
        }
        Ok(output)
    }

    /// The raw bytes, input keying material for the passkey slot's KEK.
    pub(crate) fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

redacted_debug!(PrfOutput);

/// The keyring authentication secret `A`: 32 bytes that every version 3 slot wraps beside its
/// private key and the device keeps beside the root key (in the public keyring, wrapped under a
/// root-derived key). The HPKE PSK of every root-key seal derives from it, so only a holder of a
/// slot's secret or of the device keyring can seal a root key that a slot accepts; the cloud
/// store, which has only public bytes, cannot. Only this crate builds or reads it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuthSecret([u8; KEY_LEN]);

impl AuthSecret {
    pub(crate) fn from_bytes(bytes: [u8; KEY_LEN]) -> AuthSecret {
        AuthSecret(bytes)
    }

    pub(crate) fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl ConstantTimeEq for AuthSecret {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

redacted_debug!(AuthSecret);

/// Declares a zeroizing 32-byte key type that only this crate can construct.
macro_rules! derived_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; KEY_LEN]);

        impl $name {
            pub(crate) fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                $name(bytes)
            }

            /// The raw key bytes, to key the cipher or MAC this key is for.
            pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
                &self.0
            }
        }

        redacted_debug!($name);
    };
}

derived_key!(
    /// A key-encryption key: wraps the root key in one key slot.
    Kek
);
derived_key!(
    /// Encrypts one file's payload (the STREAM cipher's AES-256-GCM key).
    PayloadKey
);
derived_key!(
    /// Authenticates one file's header (HMAC-SHA256 key).
    HeaderMacKey
);
derived_key!(
    /// Authenticates the serialized public keyring (HMAC-SHA256 key).
    KeyringMacKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let root = RootKey::from_bytes([0xab; KEY_LEN]);
        let prf = PrfOutput::from_slice(&[0xcd; KEY_LEN]).unwrap();
        let kek = Kek::from_bytes([0xef; KEY_LEN]);
        for shown in [format!("{root:?}"), format!("{prf:?}"), format!("{kek:?}")] {
            assert!(shown.ends_with("(<redacted>)"), "{shown}");
            assert!(!shown.to_lowercase().contains("ab"), "{shown}");
            assert!(!shown.contains("171"), "{shown}");
        }
    }

    #[test]
    fn root_keys_compare_by_value() {
        let a = RootKey::from_bytes([1; KEY_LEN]);
        let mut other = [1; KEY_LEN];
        assert_eq!(a, RootKey::from_bytes(other));
        other[31] = 2;
        assert_ne!(a, RootKey::from_bytes(other));
    }

    #[test]
    fn generated_root_keys_differ() {
        let a = RootKey::generate().unwrap();
        let b = RootKey::generate().unwrap();
        assert_ne!(a, b);
        assert_ne!(a.expose_secret(), &[0u8; KEY_LEN]);
    }

    #[test]
    fn prf_output_must_be_32_nonzero_bytes() {
        for bad in [&[7u8; 31][..], &[7u8; 33][..], &[][..], &[0u8; 32][..]] {
            assert!(matches!(
                PrfOutput::from_slice(bad),
                Err(Error::BadPrfOutput { .. })
            ));
        }
        let mut almost_zero = [0u8; KEY_LEN];
        almost_zero[17] = 1;
        assert!(PrfOutput::from_slice(&almost_zero).is_ok());
    }
}
