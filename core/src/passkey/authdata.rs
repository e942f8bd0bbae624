//! Authenticator data (WebAuthn §6.1): the binary structure an authenticator signs, and the
//! attested credential data inside it at registration.

use super::cbor;
use crate::{passkey::json::malformed, Result};

/// Flag bits of the authenticator data (WebAuthn §6.1).
pub mod flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified (biometric or device PIN).
    pub const UV: u8 = 0x04;
    /// Backup eligible: a synced passkey.
    pub const BE: u8 = 0x08;
    /// Backed up.
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
}

/// Longest credential id a relying party must accept (WebAuthn §5.8.3); longer ones are rejected.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The parsed authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP id the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// The flag byte; see [`flags`].
    pub flags: u8,
    /// The signature counter (synced passkeys report 0).
    pub sign_count: u32,
    /// Present at registration (flag AT).
    pub attested_credential: Option<AttestedCredential>,
}

/// The new credential, as the authenticator describes it at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential {
    /// Identifies the authenticator model or provider; all zero when it declines to say.
    pub aaguid: [u8; 16],
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The credential public key, as COSE_Key CBOR bytes.
    pub public_key_cose: Vec<u8>,
    /// The COSE algorithm of the public key (-7 ES256, -8 EdDSA, -257 RS256, ...).
    pub algorithm: i64,
}

impl AuthenticatorData {
    /// Whether every bit of `mask` is set.
    pub fn has(&self, mask: u8) -> bool {
        self.flags & mask == mask
    }

    /// Parses authenticator data; `path` names where it came from, for errors.
    pub(crate) fn parse(bytes: &[u8], path: &str) -> Result<AuthenticatorData> {
        let err = |reason: String| malformed(path, reason);
        if bytes.len() < 37 {
            return Err(err(format!(
                "authenticator data is {} bytes, at least 37 required",
                bytes.len()
            )));
        }
        let (fixed, rest) = bytes.split_at(37);
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&fixed[..32]);
        let flag_byte = fixed[32];
        let sign_count = u32::from_be_bytes([fixed[33], fixed[34], fixed[35], fixed[36]]);

        let mut rest = rest;
        let attested_credential = if flag_byte & flags::AT != 0 {
            let (credential, after) = parse_attested(rest).map_err(err)?;
            rest = after;
            Some(credential)
        } else {
            None
        };
        if flag_byte & flags::ED != 0 {
            let (extensions, after) =
                cbor::decode_prefix(rest).map_err(|reason| err(format!("extensions: {reason}")))?;
            if extensions.map_entries().is_none() {
                return Err(err("extensions are not a CBOR map".to_owned()));
            }
            rest = after;
        }
        if !rest.is_empty() {
            return Err(err(format!(
                "{} unexpected bytes at the end of the authenticator data",
                rest.len()
            )));
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags: flag_byte,
            sign_count,
            attested_credential,
        })
    }

    /// The encoded form (the software authenticator signs this).
    #[cfg(any(test, feature = "soft-authenticator"))]
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(37);
        out.extend_from_slice(&self.rp_id_hash);
        out.push(self.flags);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        if let Some(credential) = &self.attested_credential {
            out.extend_from_slice(&credential.aaguid);
            // Credential ids are at most 1023 bytes by construction in the software authenticator.
            let id_len = u16::try_from(credential.credential_id.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&id_len.to_be_bytes());
            out.extend_from_slice(&credential.credential_id);
            out.extend_from_slice(&credential.public_key_cose);
        }
        out
    }
}

fn parse_attested(input: &[u8]) -> Result<(AttestedCredential, &[u8]), String> {
    if input.len() < 18 {
        return Err("attested credential data is shorter than AAGUID and id length".to_owned());
    }
    let (head, rest) = input.split_at(18);
    let mut aaguid = [0u8; 16];
    aaguid.copy_from_slice(&head[..16]);
    let id_len = usize::from(u16::from_be_bytes([head[16], head[17]]));
    if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN {
        return Err(format!(
            "credential id length {id_len} is outside 1..={MAX_CREDENTIAL_ID_LEN}"
        ));
    }
    if rest.len() < id_len {
        return Err(format!(
            "credential id of {id_len} bytes, only {} present",
            rest.len()
        ));
    }
    let (credential_id, rest) = rest.split_at(id_len);
    let (key, after) =
        cbor::decode_prefix(rest).map_err(|reason| format!("credential public key: {reason}"))?;
    let key_len = rest.len() - after.len();
    let kty = key.get_int_key(1).and_then(cbor::Value::as_i64);
    let algorithm = key.get_int_key(3).and_then(cbor::Value::as_i64);
    let algorithm = match (kty, algorithm) {
        (Some(_), Some(algorithm)) => algorithm,
        _ => {
            return Err(
                "credential public key is not a COSE key with kty (1) and alg (3)".to_owned(),
            )
        }
    };
    Ok((
        AttestedCredential {
            aaguid,
            credential_id: credential_id.to_vec(),
            public_key_cose: rest[..key_len].to_vec(),
            algorithm,
        },
        after,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{passkey::cbor::Encoder, Error};

    fn cose_key() -> Vec<u8> {
        Encoder::default()
            .map(3)
            .int(1)
            .int(2)
            .int(3)
            .int(-7)
            .int(-1)
            .int(1)
            .finish()
    }

    fn registration_data() -> AuthenticatorData {
        AuthenticatorData {
            rp_id_hash: [7; 32],
            flags: flags::UP | flags::UV | flags::AT,
            sign_count: 0x0102_0304,
            attested_credential: Some(AttestedCredential {
                aaguid: [5; 16],
                credential_id: vec![9; 20],
                public_key_cose: cose_key(),
                algorithm: -7,
            }),
        }
    }

    fn reason(bytes: &[u8]) -> String {
        match AuthenticatorData::parse(bytes, "authData") {
            Err(Error::MalformedWebAuthn { path, reason }) => {
                assert_eq!(path, "authData");
                reason
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_with_and_without_attested_credential() {
        let data = registration_data();
        assert_eq!(
            AuthenticatorData::parse(&data.to_bytes(), "a").unwrap(),
            data
        );
        let assertion = AuthenticatorData {
            flags: flags::UP | flags::UV,
            attested_credential: None,
            ..data
        };
        let bytes = assertion.to_bytes();
        assert_eq!(bytes.len(), 37);
        assert_eq!(&bytes[33..37], &[1, 2, 3, 4]);
        assert_eq!(AuthenticatorData::parse(&bytes, "a").unwrap(), assertion);
    }

    #[test]
    fn skips_extensions_after_the_credential() {
        let mut data = registration_data();
        data.flags |= flags::ED;
        let mut bytes = data.to_bytes();
        bytes.extend(
            Encoder::default()
                .map(1)
                .text("hmac-secret")
                .int(1)
                .finish(),
        );
        assert_eq!(AuthenticatorData::parse(&bytes, "a").unwrap(), data);
    }

    #[test]
    fn rejects_every_malformed_shape() {
        assert!(reason(&[0; 36]).contains("at least 37"));
        let good = registration_data().to_bytes();
        assert!(reason(&good[..37 + 10]).contains("shorter than AAGUID"));
        assert!(reason(&good[..good.len() - 1]).contains("public key"));
        assert!(reason(&good[..37 + 18 + 5]).contains("only 5 present"));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(reason(&trailing).contains("unexpected bytes"));
        let mut zero_len = good.clone();
        zero_len[37 + 16..37 + 18].copy_from_slice(&[0, 0]);
        assert!(reason(&zero_len).contains("outside"));
        let mut long = good.clone();
        long[37 + 16..37 + 18].copy_from_slice(&1024u16.to_be_bytes());
        assert!(reason(&long).contains("outside"));
        let mut no_alg = registration_data();
        if let Some(credential) = no_alg.attested_credential.as_mut() {
            credential.public_key_cose = Encoder::default().map(1).int(1).int(2).finish();
        }
        assert!(reason(&no_alg.to_bytes()).contains("kty (1) and alg (3)"));
        let mut ed_without_map = registration_data();
        ed_without_map.flags |= flags::ED;
        let mut bytes = ed_without_map.to_bytes();
        bytes.push(0x01);
        assert!(reason(&bytes).contains("not a CBOR map"));
    }
}
