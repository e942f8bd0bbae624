//! The canonical binary encodings of a slot: version 1 and 2 (read only) and version 3.
//!
//! All integers are big-endian; lengths count bytes. A slot is its *public fields* followed by
//! what it holds of the root key:
//!
//! | size | field |
//! |------|-------|
//! | 1    | slot encoding version: `0x01`, `0x02` or `0x03` (others: `UnsupportedVersion`) |
//! | 1    | kind: `0x01` passkey, `0x02` recovery key, `0x03` password (v2 and v3; others: `UnsupportedVersion`) |
//! | 16   | slot id |
//! | 8    | created at, unix seconds (u64) |
//! | 32   | salt (HKDF salt of this slot's KEK; also the Argon2 salt of a password slot) |
//! | 2    | label length `L`, `0..=256` |
//! | L    | label, UTF-8 |
//! |      | *passkey kind only:* |
//! | 2    | credential id length `C`, `1..=1023` |
//! | C    | credential id (raw bytes, as WebAuthn's `rawId`) |
//! | 1    | RP id length `R`, `1..=253` |
//! | R    | RP id, UTF-8 |
//! | 1    | provider hint present: `0x00` no, `0x01` yes (others: `Corrupted`) |
//! | 0/16 | provider hint (the authenticator's AAGUID), when present |
//! | 1    | *v2 and v3:* backup flags: `0x00` not reported, `0x01` reported, not backup-eligible, `0x03` BE, `0x07` BE and BS (others: `Corrupted`) |
//! |      | *password kind only (v2 and v3):* |
//! | 4    | Argon2id memory, KiB (`8 * p ..= 262144`) |
//! | 4    | Argon2id iterations (`1..=16`) |
//! | 1    | Argon2id parallelism (`1..=4`) |
//! | 32   | *v2 and v3:* the slot's X25519 public key |
//! |      | *end of public fields* |
//! | 60   | v1: wrapped root key; v2: wrapped X25519 private key. Both: nonce (12) \|\| AES-256-GCM ciphertext (32) \|\| tag (16) |
//! | 92   | v3 instead: sealed X25519 private key and authentication secret: nonce (12) \|\| ciphertext (64) \|\| tag (16) |
//! | 80   | *v2 and v3:* sealed root key: HPKE enc (32) \|\| ciphertext (32) \|\| tag (16) (v2 base mode, v3 PSK mode) |
//!
//! A decoder rejects a length or cost above its limit (`LimitExceeded`) or below its minimum
//! (`Corrupted`) before reading further, input that ends early (`Truncated`), invalid UTF-8
//! and trailing bytes (`Corrupted`).

use super::{
    BackupFlags, Sealing, Slot, SlotKind, AAGUID_LEN, MAX_CREDENTIAL_ID_LEN, MAX_LABEL_LEN,
    MAX_RP_ID_LEN, SLOT_ENCODING_V1, SLOT_ENCODING_V2, SLOT_ENCODING_VERSION,
};
use crate::{
    crypto::{
        kdf::SLOT_SALT_LEN,
        password::PasswordParams,
        seal::{SealedRootKey, SEALED_ROOT_KEY_LEN, SLOT_KEY_LEN},
        wrap::{SealedSlotSecret, WrappedKey, SEALED_SLOT_SECRET_LEN},
    },
    keyring::{codec::Reader, ids::SlotId},
    Error, Result,
};

const KIND_PASSKEY: u8 = 1;
const KIND_RECOVERY_KEY: u8 = 2;
const KIND_PASSWORD: u8 = 3;

/// Bits of the backup flags byte: the flags were reported; BE; BS.
const FLAG_KNOWN: u8 = 0x01;
const FLAG_BE: u8 = 0x02;
const FLAG_BS: u8 = 0x04;

/// Length of the fields every slot has before its label.
pub(crate) const FIXED_PREFIX_LEN: usize = 1 + 1 + SlotId::LEN + 8 + SLOT_SALT_LEN + 2;
/// The longest possible encoded slot: a version 3 passkey slot with every field at its maximum.
pub const MAX_ENCODED_SLOT_LEN: usize = FIXED_PREFIX_LEN
    + MAX_LABEL_LEN
    + 2
    + MAX_CREDENTIAL_ID_LEN
    + 1
    + MAX_RP_ID_LEN
    + 1
    + AAGUID_LEN
    + 1
    + SLOT_KEY_LEN
    + SEALED_SLOT_SECRET_LEN
    + SEALED_ROOT_KEY_LEN;

/// Appends a length that the limits or the decoder have already bounded.
fn push_len_u16(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
}

/// The flags byte of an optional [`BackupFlags`].
fn backup_byte(flags: Option<BackupFlags>) -> u8 {
    flags.map_or(0, |flags| {
        FLAG_KNOWN
            | (if flags.eligible { FLAG_BE } else { 0 })
            | (if flags.state { FLAG_BS } else { 0 })
    })
}

fn backup_from_byte(byte: u8) -> Result<Option<BackupFlags>> {
    match byte {
        0 => Ok(None),
        0x01 | 0x03 | 0x07 => Ok(Some(BackupFlags {
            eligible: byte & FLAG_BE != 0,
            state: byte & FLAG_BS != 0,
        })),
        other => Err(Error::Corrupted {
            what: format!(
                "slot backup flags {other:#04x}: expected 0x00, 0x01, 0x03 or 0x07 (BS needs BE)"
            ),
        }),
    }
}

impl Slot {
    /// Appends the public fields (everything before the sealed keys), as bound into the AADs.
    pub fn encode_public(&self, out: &mut Vec<u8>) {
        let has_flags = self.version() >= SLOT_ENCODING_V2;
        out.push(self.version());
        out.push(match self.kind {
            SlotKind::Passkey { .. } => KIND_PASSKEY,
            SlotKind::RecoveryKey => KIND_RECOVERY_KEY,
            SlotKind::Password { .. } => KIND_PASSWORD,
        });
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.salt);
        push_len_u16(out, self.label.len());
        out.extend_from_slice(self.label.as_bytes());
        match &self.kind {
            SlotKind::Passkey {
                credential_id,
                rp_id,
                provider_hint,
                backup,
            } => {
                push_len_u16(out, credential_id.len());
                out.extend_from_slice(credential_id);
                out.push(u8::try_from(rp_id.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(rp_id.as_bytes());
                match provider_hint {
                    Some(aaguid) => {
                        out.push(1);
                        out.extend_from_slice(aaguid);
                    }
                    None => out.push(0),
                }
                if has_flags {
                    out.push(backup_byte(*backup));
                }
            }
            SlotKind::RecoveryKey => {}
            SlotKind::Password { params } => {
                out.extend_from_slice(&params.memory_kib.to_be_bytes());
                out.extend_from_slice(&params.iterations.to_be_bytes());
                out.push(params.parallelism);
            }
        }
        if let Some(public_key) = self.public_key() {
            out.extend_from_slice(public_key);
        }
    }

    /// Appends the full slot encoding: public fields, then the sealed keys.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_public(out);
        match &self.sealing {
            Sealing::V1 { wrapped } => out.extend_from_slice(wrapped.as_bytes()),
            Sealing::V2 {
                sealed_private_key,
                sealed_root,
                ..
            } => {
                out.extend_from_slice(sealed_private_key.as_bytes());
                out.extend_from_slice(sealed_root.as_bytes());
            }
            Sealing::V3 {
                sealed_secret,
                sealed_root,
                ..
            } => {
                out.extend_from_slice(sealed_secret.as_bytes());
                out.extend_from_slice(sealed_root.as_bytes());
            }
        }
    }

    /// The full slot encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Strictly decodes exactly one slot; trailing bytes are [`Error::Corrupted`].
    pub fn decode(bytes: &[u8]) -> Result<Slot> {
        let mut reader = Reader::new(bytes, "slot");
        let slot = Slot::read(&mut reader)?;
        reader.finish()?;
        Ok(slot)
    }

    /// Decodes one slot (version 1, 2 or 3) from the front of `reader`.
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Slot> {
        let version = reader.u8("encoding version")?;
        if !(SLOT_ENCODING_V1..=SLOT_ENCODING_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                what: "slot encoding version".into(),
                found: version.into(),
                supported: "versions 1, 2 and 3".into(),
            });
        }
        let v2 = version >= SLOT_ENCODING_V2;
        let kind_tag = reader.u8("kind")?;
        let known = match kind_tag {
            KIND_PASSKEY | KIND_RECOVERY_KEY => true,
            KIND_PASSWORD => v2,
            _ => false,
        };
        if !known {
            return Err(Error::UnsupportedVersion {
                what: "slot kind".into(),
                found: kind_tag.into(),
                supported: if v2 {
                    "1 (passkey), 2 (recovery key) and 3 (password)".into()
                } else {
                    "1 (passkey) and 2 (recovery key) in a version 1 slot".into()
                },
            });
        }
        let id = SlotId::from_bytes(reader.array("id")?);
        let created_at = reader.u64("created_at")?;
        let salt = reader.array("salt")?;
        let label_len = reader.u16("label length")?.into();
        let label = reader.utf8_with_len(label_len, 0, MAX_LABEL_LEN, "label")?;
        let kind = match kind_tag {
            KIND_PASSKEY => read_passkey(reader, v2)?,
            KIND_RECOVERY_KEY => SlotKind::RecoveryKey,
            _ => {
                let params = PasswordParams {
                    memory_kib: reader.u32("Argon2 memory")?,
                    iterations: reader.u32("Argon2 iterations")?,
                    parallelism: reader.u8("Argon2 parallelism")?,
                };
                params.check()?;
                SlotKind::Password { params }
            }
        };
        let sealing = match version {
            SLOT_ENCODING_V1 => Sealing::V1 {
                wrapped: WrappedKey::from_bytes(reader.array("wrapped key")?),
            },
            SLOT_ENCODING_V2 => Sealing::V2 {
                public_key: reader.array("public key")?,
                sealed_private_key: WrappedKey::from_bytes(reader.array("sealed private key")?),
                sealed_root: SealedRootKey::from_bytes(reader.array("sealed root key")?),
            },
            _ => Sealing::V3 {
                public_key: reader.array("public key")?,
                sealed_secret: SealedSlotSecret::from_bytes(reader.array("sealed private key")?),
                sealed_root: SealedRootKey::from_bytes(reader.array("sealed root key")?),
            },
        };
        Ok(Slot {
            id,
            label,
            created_at,
            kind,
            salt,
            sealing,
        })
    }
}

fn read_passkey(reader: &mut Reader<'_>, v2: bool) -> Result<SlotKind> {
    let id_len = reader.u16("credential id length")?.into();
    let credential_id = reader
        .bytes_with_len(id_len, 1, MAX_CREDENTIAL_ID_LEN, "credential id")?
        .to_vec();
    let rp_len = reader.u8("RP id length")?.into();
    let rp_id = reader.utf8_with_len(rp_len, 1, MAX_RP_ID_LEN, "RP id")?;
    let provider_hint = match reader.u8("provider hint flag")? {
        0 => None,
        1 => Some(reader.array("provider hint")?),
        other => {
            return Err(Error::Corrupted {
                what: format!("slot provider hint flag is {other}, expected 0 or 1"),
            })
        }
    };
    let backup = if v2 {
        backup_from_byte(reader.u8("backup flags")?)?
    } else {
        None
    };
    Ok(SlotKind::Passkey {
        credential_id,
        rp_id,
        provider_hint,
        backup,
    })
}
