//! Every domain-separation label Keepsake uses, in one place.
//!
//! Each label is versioned (`keepsake/v1/...`, `keepsake/v2/...`, `keepsake/v3/...`): a format
//! that changes a derivation or what a key protects gets a new label, so keys of different
//! versions can never collide. Version 3 (slots whose root-key seal is authenticated by the
//! keyring authentication secret, HPKE PSK mode) uses the `v3` labels; the `v2` ones stay for
//! reading version 2 slots (HPKE base mode: unauthenticated, read only) and version 2 keyrings,
//! the `v1` ones for version 1 slots and keyrings, and the file keys keep their `v1` labels
//! because their derivation did not change. The known-answer tests below pin
//! the output of every HKDF label; they were computed with an independent HKDF implementation
//! (Python's `cryptography`), so a change to a label or to the derivation code fails them.

/// HKDF info prefix of a passkey slot's KEK; followed by `u16 BE length || credential id`.
pub const KEK_PASSKEY: &[u8] = b"keepsake/v1/kek/passkey";

/// HKDF info of a recovery-key slot's KEK.
pub const KEK_RECOVERY_KEY: &[u8] = b"keepsake/v1/kek/recovery-key";

/// HKDF info of a file's payload key (the STREAM cipher's key).
pub const FILE_PAYLOAD_KEY: &[u8] = b"keepsake/v1/file/payload-key";

/// HKDF info of a file's header-MAC key.
pub const FILE_HEADER_MAC_KEY: &[u8] = b"keepsake/v1/file/header-mac-key";

/// HKDF info of the key that authenticates a serialized public keyring.
pub const KEYRING_MAC_KEY: &[u8] = b"keepsake/v1/keyring/mac-key";

/// Prefix of a slot's AES-GCM associated data: `SLOT_AAD || keyring id || slot public fields`.
/// Not an HKDF label, but a domain separator of the same family.
pub const SLOT_AAD: &[u8] = b"keepsake/v1/slot-aad";

/// Prefix hashed with a recovery secret to form the recovery key's embedded 34-bit tag:
/// `SHA-256(RECOVERY_KEY_TAG || secret)`.
pub const RECOVERY_KEY_TAG: &[u8] = b"keepsake/v1/recovery-key/tag";

/// Names the recovery key checksum's final constant: its top 30 bits of
/// `SHA-256(RECOVERY_KEY_CHECKSUM)` (see [`crate::keyring::recovery_key`]).
pub const RECOVERY_KEY_CHECKSUM: &[u8] = b"keepsake/v1/recovery-key/checksum";

/// HKDF info of the key that wraps a repository's data keys: ikm = root key, salt = repository id.
pub const REPO_WRAP_KEY: &[u8] = b"keepsake/v1/repo/wrap-key";

/// HKDF info of the key that authenticates a repository's config: ikm = root key, salt =
/// repository id.
pub const REPO_CONFIG_MAC_KEY: &[u8] = b"keepsake/v1/repo/config-mac-key";

/// HKDF info prefix of an epoch's chunk-id key, followed by the epoch (u32 BE): ikm = the
/// epoch's data key, salt = repository id. Keys BLAKE3 in keyed mode.
pub const REPO_CHUNK_ID_KEY: &[u8] = b"keepsake/v1/repo/chunk-id-key";

/// HKDF info prefix of an epoch's AEAD key (chunks, pack trailers, index, snapshots, locks),
/// followed by the epoch (u32 BE): ikm = the epoch's data key, salt = repository id.
pub const REPO_AEAD_KEY: &[u8] = b"keepsake/v1/repo/aead-key";

/// AES-GCM associated-data prefix of a wrapped data key: `|| repository id || epoch (u32 BE)`.
pub const REPO_DATA_KEY_AAD: &[u8] = b"keepsake/v1/repo/data-key-aad";

/// AES-GCM associated-data prefix of a sealed chunk: `|| epoch (u32 BE) || chunk id`.
pub const REPO_CHUNK_AAD: &[u8] = b"keepsake/v1/repo/chunk-aad";

/// AES-GCM associated-data prefix of a sealed object (pack trailer, index, snapshot, lock):
/// `|| u8 name length || object name || envelope header`.
pub const REPO_OBJECT_AAD: &[u8] = b"keepsake/v1/repo/object-aad";

/// HKDF info prefix of an epoch's chunker key, followed by the epoch (u32 BE): ikm = the
/// epoch's data key, salt = repository id. Keys BLAKE3, whose output is the secret gear table
/// of the archive chunker (format 2).
pub const REPO_CHUNKER_KEY: &[u8] = b"keepsake/v2/repo/chunker-key";

/// HKDF info prefix of an epoch's pack-tail key, followed by the epoch (u32 BE): ikm = the
/// epoch's data key, salt = repository id. Keys BLAKE3, which masks a version 2 pack's trailer
/// length.
pub const REPO_PACK_TAIL_KEY: &[u8] = b"keepsake/v2/repo/pack-tail-key";

/// HKDF info prefix of a version 2 passkey slot's KEK; followed by `u16 BE length || credential id`.
pub const KEK_PASSKEY_V2: &[u8] = b"keepsake/v2/kek/passkey";

/// HKDF info of a version 2 recovery-key slot's KEK.
pub const KEK_RECOVERY_KEY_V2: &[u8] = b"keepsake/v2/kek/recovery-key";

/// HKDF info of a password slot's KEK (the input keying material is the Argon2id output).
pub const KEK_PASSWORD: &[u8] = b"keepsake/v2/kek/password";

/// HKDF info of the key that authenticates a version 2 serialized public keyring.
pub const KEYRING_MAC_KEY_V2: &[u8] = b"keepsake/v2/keyring/mac-key";

/// Prefix of a version 2 slot's private-key wrap AAD: `SLOT_AAD_V2 || keyring id || public fields`.
pub const SLOT_AAD_V2: &[u8] = b"keepsake/v2/slot-aad";

/// Prefix of the HPKE AAD of a root key sealed to a slot:
/// `ROOT_SEAL_AAD || keyring id || generation (u64 BE) || slot public fields`.
pub const ROOT_SEAL_AAD: &[u8] = b"keepsake/v2/root-seal-aad";

/// HPKE `info` of every root key sealed to a slot's public key (RFC 9180 key schedule).
pub const HPKE_ROOT_KEY_INFO: &[u8] = b"keepsake/v2/hpke/root-key";

/// HKDF info prefix of a version 3 passkey slot's KEK; followed by `u16 BE length || credential id`.
pub const KEK_PASSKEY_V3: &[u8] = b"keepsake/v3/kek/passkey";

/// HKDF info of a version 3 recovery-key slot's KEK.
pub const KEK_RECOVERY_KEY_V3: &[u8] = b"keepsake/v3/kek/recovery-key";

/// HKDF info of a version 3 password slot's KEK (ikm: the Argon2id output of the NFC password).
pub const KEK_PASSWORD_V3: &[u8] = b"keepsake/v3/kek/password";

/// Prefix of a version 3 slot's wrap AAD (over `private key || authentication secret`):
/// `SLOT_AAD_V3 || keyring id || public fields`.
pub const SLOT_AAD_V3: &[u8] = b"keepsake/v3/slot-aad";

/// Prefix of the HPKE AAD of a root key sealed to a version 3 slot:
/// `ROOT_SEAL_AAD_V3 || keyring id || generation (u64 BE) || slot public fields`.
pub const ROOT_SEAL_AAD_V3: &[u8] = b"keepsake/v3/root-seal-aad";

/// HPKE `info` of every root key sealed to a version 3 slot (PSK mode).
pub const HPKE_ROOT_KEY_INFO_V3: &[u8] = b"keepsake/v3/hpke/root-key";

/// HKDF info of the HPKE PSK of version 3 seals: ikm = the keyring authentication secret,
/// salt = keyring id.
pub const HPKE_PSK: &[u8] = b"keepsake/v3/hpke/psk-key";

/// The HPKE `psk_id` of version 3 seals (RFC 9180 §5.1: names the PSK; public, fixed).
pub const HPKE_PSK_ID: &[u8] = b"keepsake/v3/hpke/psk-name";

/// HKDF info of the keyring authentication secret: ikm = the root key of the generation at
/// which the keyring first needed it, salt = keyring id.
pub const KEYRING_AUTH_SECRET: &[u8] = b"keepsake/v3/keyring/auth-secret";

/// HKDF info of the key that wraps the authentication secret in a version 3 public keyring:
/// ikm = root key, salt = keyring id.
pub const KEYRING_AUTH_WRAP_KEY: &[u8] = b"keepsake/v3/keyring/auth-wrap-key";

/// AES-GCM associated data prefix of the wrapped authentication secret: `|| keyring id`.
pub const KEYRING_AUTH_AAD: &[u8] = b"keepsake/v3/keyring/auth-aad";

/// HKDF info of the key that authenticates a version 3 serialized public keyring.
pub const KEYRING_MAC_KEY_V3: &[u8] = b"keepsake/v3/keyring/mac-key";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::kdf::hkdf_sha256;

    /// Fixed input keying material for the known-answer tests: bytes 0x00..=0x1f.
    fn ikm() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    /// Fixed salt for the known-answer tests: bytes 0xa0..=0xbf.
    fn salt() -> [u8; 32] {
        std::array::from_fn(|i| 0xa0 + i as u8)
    }

    fn okm_hex(label: &[u8]) -> String {
        hex::encode(hkdf_sha256(&ikm(), &salt(), &[label]).unwrap())
    }

    #[test]
    fn kek_passkey_known_answer() {
        assert_eq!(
            okm_hex(KEK_PASSKEY),
            "eee75617c55d0c78e8d7db22318e35b7957290a9848a4b74e543b2420d3a91b3"
        );
    }

    #[test]
    fn kek_recovery_key_known_answer() {
        assert_eq!(
            okm_hex(KEK_RECOVERY_KEY),
            "895b10ace54e4b1bf560010526a9022e19fadb69879d3a7d46e1c9706a5b2db7"
        );
    }

    #[test]
    fn file_payload_key_known_answer() {
        assert_eq!(
            okm_hex(FILE_PAYLOAD_KEY),
            "165570f6bb37c871ecc701b9abd3925d2049ae3e134c41c86077fe5b5adca10e"
        );
    }

    #[test]
    fn file_header_mac_key_known_answer() {
        assert_eq!(
            okm_hex(FILE_HEADER_MAC_KEY),
            "23de7b93d974f3dc8c8967b7bf3754bd623db75e946bc00085cf670fc3aa599a"
        );
    }

    #[test]
    fn keyring_mac_key_known_answer() {
        assert_eq!(
            okm_hex(KEYRING_MAC_KEY),
            "4a7a11755a47a9ce1fd97098f58d926e3ee8937ac1ebc5c0d6349a883a1aa672"
        );
    }

    #[test]
    fn repository_key_labels_known_answer() {
        // Computed with Python's hmac/hashlib HKDF (RFC 5869), independently of this code.
        assert_eq!(
            okm_hex(REPO_WRAP_KEY),
            "191f2c94391ed90262792614813abe12b9c13a94e2d44a402afc6f90dde6668d"
        );
        assert_eq!(
            okm_hex(REPO_CONFIG_MAC_KEY),
            "e9d7fcb680549b4cd9d82853ea79a165f20b6fde83a430f78a9ba84482d8dd52"
        );
        assert_eq!(
            okm_hex(REPO_CHUNK_ID_KEY),
            "ac780b42530d3663532553ce84b7ea01de5c34944a0b4ca7d88da11776e862b3"
        );
        assert_eq!(
            okm_hex(REPO_AEAD_KEY),
            "8d35cbdd4c8716680897c3271b178c741d9997f40030b6dc0c72a569512a37cc"
        );
    }

    #[test]
    fn repository_format_2_key_labels_known_answer() {
        // Computed with Python's hmac/hashlib HKDF (RFC 5869), independently of this code.
        assert_eq!(
            okm_hex(REPO_CHUNKER_KEY),
            "cb6ab83193180149208139b4992e262e0139e2913a0db2be87f3d37680d14874"
        );
        assert_eq!(
            okm_hex(REPO_PACK_TAIL_KEY),
            "ec7f7d753be0ac20afc49302fcb73c2741076c54ec6f038ca60be398708a77ba"
        );
    }

    #[test]
    fn kek_passkey_v2_known_answer() {
        assert_eq!(
            okm_hex(KEK_PASSKEY_V2),
            "d8fb3492e3e3df72450ddd45a1186b32424271001b1d26b97a3505a3398df1db"
        );
    }

    #[test]
    fn kek_recovery_key_v2_known_answer() {
        assert_eq!(
            okm_hex(KEK_RECOVERY_KEY_V2),
            "99018b47130655fd0e451618f1b19d3ebad89e04b4f54cd9eeda77872cedee04"
        );
    }

    #[test]
    fn kek_password_known_answer() {
        assert_eq!(
            okm_hex(KEK_PASSWORD),
            "ac35ff8d39fd5a2c5a9780eb7cb73741b165a63540352533ef3644f8767d63df"
        );
    }

    #[test]
    fn keyring_mac_key_v2_known_answer() {
        assert_eq!(
            okm_hex(KEYRING_MAC_KEY_V2),
            "3b41f6e588c65f59b21ef632796d5c4187626c7e3a9e4a5b075178bb04b1402f"
        );
    }

    /// Version 3 labels; expected values from Python's `hmac`/`hashlib` HKDF (RFC 5869),
    /// independently of this code.
    #[test]
    fn version_3_labels_known_answer() {
        for (label, expected) in [
            (
                KEK_PASSKEY_V3,
                "5ef28bb0c4649eebed16cf8c6a17592e63a4e97479c04a8644a8f8bd6e610613",
            ),
            (
                KEK_RECOVERY_KEY_V3,
                "17012b52114cd3fc06fcd40d0d5a50372ff611bc02552c824481756de14e5312",
            ),
            (
                KEK_PASSWORD_V3,
                "a086516f2b7854133383f36db78fae96b3dd72b4ae5f0a7eef1feaeb93344e60",
            ),
            (
                HPKE_PSK,
                "3d0dce6db028c9c0522f87b035f056ee39840afe0db13408bc78b5ebe20fbb04",
            ),
            (
                KEYRING_AUTH_SECRET,
                "4634a84ba84c0193f1c3d8c743e59724ef2d9dcee2d5143ba030ae8cd98d2011",
            ),
            (
                KEYRING_AUTH_WRAP_KEY,
                "e47f90b291099c1257706ac533b588898c4434fa683b4d6e4fda63bbee066e19",
            ),
            (
                KEYRING_MAC_KEY_V3,
                "d95af2fb7d41eda45f7fa84fdbadf7470d53c638d807471c201a6805dff71015",
            ),
        ] {
            assert_eq!(
                okm_hex(label),
                expected,
                "{}",
                String::from_utf8_lossy(label)
            );
        }
    }

    #[test]
    fn labels_are_distinct_and_versioned() {
        let all = [
            KEK_PASSKEY,
            KEK_RECOVERY_KEY,
            FILE_PAYLOAD_KEY,
            FILE_HEADER_MAC_KEY,
            KEYRING_MAC_KEY,
            SLOT_AAD,
            RECOVERY_KEY_TAG,
            RECOVERY_KEY_CHECKSUM,
            REPO_WRAP_KEY,
            REPO_CONFIG_MAC_KEY,
            REPO_CHUNK_ID_KEY,
            REPO_AEAD_KEY,
            REPO_DATA_KEY_AAD,
            REPO_CHUNK_AAD,
            REPO_OBJECT_AAD,
            REPO_CHUNKER_KEY,
            REPO_PACK_TAIL_KEY,
            KEK_PASSKEY_V2,
            KEK_RECOVERY_KEY_V2,
            KEK_PASSWORD,
            KEYRING_MAC_KEY_V2,
            SLOT_AAD_V2,
            ROOT_SEAL_AAD,
            HPKE_ROOT_KEY_INFO,
            KEK_PASSKEY_V3,
            KEK_RECOVERY_KEY_V3,
            KEK_PASSWORD_V3,
            SLOT_AAD_V3,
            ROOT_SEAL_AAD_V3,
            HPKE_ROOT_KEY_INFO_V3,
            HPKE_PSK,
            HPKE_PSK_ID,
            KEYRING_AUTH_SECRET,
            KEYRING_AUTH_WRAP_KEY,
            KEYRING_AUTH_AAD,
            KEYRING_MAC_KEY_V3,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(
                a.starts_with(b"keepsake/v1/")
                    || a.starts_with(b"keepsake/v2/")
                    || a.starts_with(b"keepsake/v3/")
            );
            for b in &all[i + 1..] {
                assert!(
                    !a.starts_with(b) && !b.starts_with(a),
                    "labels must not prefix each other"
                );
            }
        }
    }
}
