//! Checking a response against the request that was issued, as far as a device without a server
//! can: the ceremony type, the challenge, the RP id hash, user presence and verification, the
//! credential id, and the PRF result.
//!
//! The assertion signature is *not* what protects a backup (no server holds the public key to
//! check it against a stored credential); the PRF output is, since only the passkey can produce it.
//! These checks catch misrouted or confused responses early, with a precise error.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{
    authdata::{flags, AuthenticatorData},
    json::malformed,
    request::{AssertionRequest, RegistrationRequest, COSE_EDDSA, COSE_ES256, COSE_RS256},
    response::{AssertionResponse, ClientData, PrfExtensionOutput, RegistrationResponse},
};
use crate::{keyring::BackupFlags, Error, Result};

/// A new credential that passed the checks, from JSON or from typed iOS values.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The provider's AAGUID, when it gave a non-zero one.
    pub provider_hint: Option<[u8; 16]>,
    /// The authenticator data's BE/BS flags (`None` for typed registrations, which lack them).
    pub backup: Option<BackupFlags>,
    /// What the provider said about PRF.
    pub prf: PrfExtensionOutput,
}

/// An assertion that passed the checks, from JSON or from typed iOS values.
#[derive(Debug, Clone)]
pub struct CredentialAssertion {
    /// The credential that answered.
    pub credential_id: Vec<u8>,
    /// What the provider returned for PRF.
    pub prf: PrfExtensionOutput,
}

/// What an iOS app reads from `ASAuthorizationPlatformPublicKeyCredentialRegistration`.
#[derive(Clone)]
pub struct TypedRegistration {
    /// `credentialID`.
    pub credential_id: Vec<u8>,
    /// `prf?.isSupported` (false when `prf` is nil).
    pub prf_supported: bool,
    /// `prf?.first`, the bytes of the `SymmetricKey`, when the provider evaluated PRF already.
    pub prf_first: Option<Zeroizing<Vec<u8>>>,
    /// The AAGUID from `rawAttestationObject`, when the app extracts it (optional).
    pub aaguid: Option<[u8; 16]>,
}

/// What an iOS app reads from `ASAuthorizationPlatformPublicKeyCredentialAssertion`.
#[derive(Clone)]
pub struct TypedAssertion {
    /// `credentialID`.
    pub credential_id: Vec<u8>,
    /// `prf?.first`, the bytes of the `SymmetricKey`; `None` when `prf` is nil.
    pub prf_first: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for TypedRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedRegistration")
            .field("credential_id", &self.credential_id)
            .field("prf_supported", &self.prf_supported)
            .field("prf_first", &self.prf_first.as_ref().map(|_| "<redacted>"))
            .field("aaguid", &self.aaguid)
            .finish()
    }
}

impl std::fmt::Debug for TypedAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedAssertion")
            .field("credential_id", &self.credential_id)
            .field("prf_first", &self.prf_first.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

const REG_AUTH_DATA: &str = "response.attestationObject.authData";
const GET_AUTH_DATA: &str = "response.authenticatorData";

impl RegistrationRequest {
    /// Checks a parsed registration response against this request.
    pub fn verify(&self, response: &RegistrationResponse) -> Result<NewCredential> {
        check_client_data(&response.client_data, "webauthn.create", self.challenge())?;
        let data = &response.authenticator_data;
        check_authenticator_data(data, &self.rp().id, REG_AUTH_DATA)?;
        let attested = data.attested_credential.as_ref().ok_or_else(|| {
            malformed(
                format!("{REG_AUTH_DATA}.flags"),
                "no attested credential data (flag AT) at registration",
            )
        })?;
        if attested.credential_id != response.credential_id {
            return Err(malformed(
                format!("{REG_AUTH_DATA}.credentialId"),
                "does not match rawId",
            ));
        }
        if ![COSE_ES256, COSE_EDDSA, COSE_RS256].contains(&attested.algorithm) {
            return Err(malformed(
                format!("{REG_AUTH_DATA}.credentialPublicKey"),
                format!("algorithm {} was not offered", attested.algorithm),
            ));
        }
        Ok(NewCredential {
            credential_id: response.credential_id.clone(),
            provider_hint: Some(attested.aaguid).filter(|aaguid| *aaguid != [0; 16]),
            backup: Some(BackupFlags {
                eligible: data.has(flags::BE),
                state: data.has(flags::BS),
            }),
            prf: response.prf.clone(),
        })
    }

    /// Accepts the typed values an iOS app read from its registration result.
    pub fn accept_typed(&self, registration: &TypedRegistration) -> Result<NewCredential> {
        check_credential_id_len(&registration.credential_id)?;
        Ok(NewCredential {
            credential_id: registration.credential_id.clone(),
            provider_hint: registration.aaguid.filter(|aaguid| *aaguid != [0; 16]),
            backup: None,
            prf: PrfExtensionOutput::typed(
                Some(registration.prf_supported),
                registration.prf_first.as_deref().map(Vec::as_slice),
            ),
        })
    }
}

impl AssertionRequest {
    /// Checks a parsed assertion response against this request. A credential outside a non-empty
    /// allow list is [`Error::NoMatchingSlot`].
    pub fn verify(&self, response: &AssertionResponse) -> Result<CredentialAssertion> {
        check_client_data(&response.client_data, "webauthn.get", self.challenge())?;
        check_authenticator_data(&response.authenticator_data, self.rp_id(), GET_AUTH_DATA)?;
        self.check_allowed(&response.credential_id)?;
        Ok(CredentialAssertion {
            credential_id: response.credential_id.clone(),
            prf: response.prf.clone(),
        })
    }

    /// Accepts the typed values an iOS app read from its assertion result.
    pub fn accept_typed(&self, assertion: &TypedAssertion) -> Result<CredentialAssertion> {
        check_credential_id_len(&assertion.credential_id)?;
        self.check_allowed(&assertion.credential_id)?;
        Ok(CredentialAssertion {
            credential_id: assertion.credential_id.clone(),
            prf: PrfExtensionOutput::typed(None, assertion.prf_first.as_deref().map(Vec::as_slice)),
        })
    }

    fn check_allowed(&self, credential_id: &[u8]) -> Result<()> {
        let allowed = self.allow_credentials();
        if allowed.is_empty() || allowed.iter().any(|id| id.as_slice() == credential_id) {
            Ok(())
        } else {
            Err(Error::NoMatchingSlot)
        }
    }
}

fn check_credential_id_len(id: &[u8]) -> Result<()> {
    if id.is_empty() || id.len() > super::authdata::MAX_CREDENTIAL_ID_LEN {
        return Err(malformed(
            "credentialID",
            format!(
                "credential id is {} bytes, expected 1 to {}",
                id.len(),
                super::authdata::MAX_CREDENTIAL_ID_LEN
            ),
        ));
    }
    Ok(())
}

fn check_client_data(client_data: &ClientData, ceremony: &str, challenge: &[u8; 32]) -> Result<()> {
    if client_data.ceremony != ceremony {
        return Err(malformed(
            "response.clientDataJSON.type",
            format!("expected {ceremony:?}, found {:?}", client_data.ceremony),
        ));
    }
    if !bool::from(client_data.challenge.as_slice().ct_eq(challenge.as_slice())) {
        return Err(malformed(
            "response.clientDataJSON.challenge",
            "does not match the challenge issued for this request",
        ));
    }
    Ok(())
}

fn check_authenticator_data(data: &AuthenticatorData, rp_id: &str, path: &str) -> Result<()> {
    let expected: [u8; 32] = Sha256::digest(rp_id.as_bytes()).into();
    if data.rp_id_hash != expected {
        return Err(malformed(
            format!("{path}.rpIdHash"),
            format!("the credential is not scoped to RP id {rp_id:?}"),
        ));
    }
    if !data.has(flags::UP | flags::UV) {
        return Err(malformed(
            format!("{path}.flags"),
            "user presence and user verification are required (flags UP and UV)",
        ));
    }
    Ok(())
}
