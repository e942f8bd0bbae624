//! Cryptographic building blocks: zeroizing key types, OS randomness, HKDF derivations under
//! versioned labels, HMAC tags, the AES-256-GCM key wrap, HPKE sealing of root keys to slot
//! public keys (PSK mode, keyed by the keyring authentication secret), Argon2id for passwords
//! and their strength rule, and the STREAM cipher.

pub mod kdf;
pub mod keys;
pub mod labels;
pub mod mac;
pub mod password;
pub mod password_strength;
pub mod seal;
pub mod stream;
pub mod wrap;

pub use keys::{
    fill_random, random_bytes, AuthSecret, HeaderMacKey, Kek, KeyringMacKey, PayloadKey, PrfOutput,
    RootKey, KEY_LEN,
};
