//! A WebAuthn authenticator in software (feature `soft-authenticator`), for tests, the CLI demo
//! and the samples' demo mode. Never use it to protect real data: its secrets sit in memory and in
//! a plain JSON file.
//!
//! It answers the same request JSON Credential Manager takes with response JSON shaped like
//! Credential Manager's (Google Password Manager's, in detail), and typed values like
//! ASAuthorization's. The PRF is computed exactly as WebAuthn L3 §10.1.4 and CTAP 2.1
//! `hmac-secret` define it, so it reproduces the spec's test vector; signatures are real ES256
//! signatures over `authenticatorData || SHA-256(clientDataJSON)`. [`SoftMode`] makes it behave
//! like the kinds of providers found in the field.

use std::path::Path;

use hmac::{Hmac, Mac};
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    pkcs8::EncodePublicKey,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{
    authdata::{flags, AttestedCredential, AuthenticatorData},
    b64, cbor,
    json::{parse_document, Field},
    request::{AssertionRequest, RegistrationRequest, COSE_ES256},
    verify::{TypedAssertion, TypedRegistration},
};
use crate::{crypto::random_bytes, Error, Result};

/// The AAGUID this authenticator reports: ASCII `keepsake-softkey`.
pub const SOFT_AUTHENTICATOR_AAGUID: [u8; 16] = *b"keepsake-softkey";

/// How the software authenticator behaves, after the kinds of providers found in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoftMode {
    /// PRF evaluated at registration: `prf: {enabled: true, results: {first}}`.
    PrfAtRegistration,
    /// PRF supported but not evaluated at registration: `prf: {enabled: true}`; an assertion gives it.
    PrfEnabledWithoutResults,
    /// No PRF support at all: no `prf` member in the extension results.
    NoPrf,
    /// The user dismisses every prompt: each call fails with [`Error::Cancelled`].
    UserCancels,
}

/// One discoverable credential held by the software authenticator.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct SoftCredential {
    /// Credential id, base64url.
    id: String,
    rp_id: String,
    /// User handle, base64url.
    user_handle: String,
    /// The credential's `CredRandomWithUV` (hmac-secret key), hex. A test secret.
    cred_random_with_uv: String,
    /// The ES256 private scalar, hex. A test secret.
    signing_key: String,
}

/// The software authenticator: a set of credentials and a behaviour mode.
#[derive(Clone, Serialize, Deserialize)]
pub struct SoftAuthenticator {
    mode: SoftMode,
    /// Origin written into `clientDataJSON`; `None` means `https://<rp id>`.
    #[serde(default)]
    origin: Option<String>,
    credentials: Vec<SoftCredential>,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("mode", &self.mode)
            .field("credentials", &self.credentials.len())
            .finish()
    }
}

/// The WebAuthn PRF as the spec computes it: the client hashes the input into a salt,
/// `SHA-256("WebAuthn PRF" || 0x00 || input)`, and the authenticator's `hmac-secret` returns
/// `HMAC-SHA-256(CredRandomWithUV, salt)`.
pub fn prf_eval(cred_random_with_uv: &[u8; 32], input: &[u8]) -> Zeroizing<[u8; 32]> {
    let salt = Sha256::new()
        .chain_update(b"WebAuthn PRF")
        .chain_update([0u8])
        .chain_update(input)
        .finalize();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(cred_random_with_uv)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(&salt);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// PRF inputs of one evaluation (`eval` or one `evalByCredential` entry).
struct PrfInputs {
    first: Vec<u8>,
    second: Option<Vec<u8>>,
}

/// PRF outputs of one evaluation; both absent when the mode or request gives none.
#[derive(Default)]
struct PrfResults {
    first: Option<Zeroizing<[u8; 32]>>,
    second: Option<Zeroizing<[u8; 32]>>,
}

/// What a registration request asks for, however it arrived.
struct CreateParams {
    challenge: Vec<u8>,
    rp_id: String,
    user_id: Vec<u8>,
    exclude: Vec<Vec<u8>>,
    prf: Option<PrfInputs>,
}

/// What an assertion request asks for, however it arrived.
struct GetParams {
    challenge: Vec<u8>,
    rp_id: String,
    allow: Vec<Vec<u8>>,
    prf: Option<PrfInputs>,
    prf_by_credential: Vec<(Vec<u8>, PrfInputs)>,
}

/// The outcome of creating a credential, before it is rendered as JSON or typed values.
struct Created {
    credential_id: Vec<u8>,
    client_data_json: Vec<u8>,
    authenticator_data: Vec<u8>,
    public_key_der: Vec<u8>,
    prf: PrfResults,
}

/// The outcome of an assertion.
struct Asserted {
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    client_data_json: Vec<u8>,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
    prf: PrfResults,
}

impl SoftAuthenticator {
    /// An authenticator without credentials.
    pub fn new(mode: SoftMode) -> Self {
        SoftAuthenticator {
            mode,
            origin: None,
            credentials: Vec::new(),
        }
    }

    /// The current mode.
    pub fn mode(&self) -> SoftMode {
        self.mode
    }

    /// Changes the behaviour, e.g. to cancel the next prompt.
    pub fn set_mode(&mut self, mode: SoftMode) {
        self.mode = mode;
    }

    /// Sets the origin reported in `clientDataJSON` (Android apps report
    /// `android:apk-key-hash:<hash>`); the default is `https://<rp id>`.
    pub fn set_origin(&mut self, origin: Option<String>) {
        self.origin = origin;
    }

    /// Ids of the credentials held, oldest first.
    pub fn credential_ids(&self) -> Vec<Vec<u8>> {
        self.credentials
            .iter()
            .filter_map(|credential| b64::decode(&credential.id).ok())
            .collect()
    }

    /// Deletes a credential, as a user deleting a passkey in the provider; true if it existed.
    pub fn delete_credential(&mut self, credential_id: &[u8]) -> bool {
        let id = b64::encode(credential_id);
        let before = self.credentials.len();
        self.credentials.retain(|credential| credential.id != id);
        self.credentials.len() != before
    }

    /// Answers a `PublicKeyCredentialCreationOptions` JSON with a `registrationResponseJson`.
    pub fn create(&mut self, request_json: &str) -> Result<String> {
        let params = parse_create(request_json)?;
        let created = self.make_credential(&params)?;
        let mut extensions = Map::new();
        extensions.insert("credProps".into(), json!({ "rk": true }));
        match self.mode {
            SoftMode::NoPrf | SoftMode::UserCancels => {}
            SoftMode::PrfEnabledWithoutResults => {
                extensions.insert("prf".into(), json!({ "enabled": true }));
            }
            SoftMode::PrfAtRegistration => {
                let mut prf = json!({ "enabled": true });
                if let Some(results) = results_json(&created.prf) {
                    prf["results"] = results;
                }
                extensions.insert("prf".into(), prf);
            }
        }
        let id = b64::encode(&created.credential_id);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64::encode(&created.client_data_json),
                "attestationObject": b64::encode(&attestation_object(&created.authenticator_data)),
                "authenticatorData": b64::encode(&created.authenticator_data),
                "transports": ["internal", "hybrid"],
                "publicKey": b64::encode(&created.public_key_der),
                "publicKeyAlgorithm": COSE_ES256,
            },
            "clientExtensionResults": extensions,
        })
        .to_string())
    }

    /// Answers a `PublicKeyCredentialRequestOptions` JSON with an `authenticationResponseJson`.
    pub fn get(&mut self, request_json: &str) -> Result<String> {
        let params = parse_get(request_json)?;
        let asserted = self.get_assertion(&params)?;
        let mut extensions = Map::new();
        if let Some(results) = results_json(&asserted.prf) {
            extensions.insert("prf".into(), json!({ "results": results }));
        }
        let id = b64::encode(&asserted.credential_id);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64::encode(&asserted.client_data_json),
                "authenticatorData": b64::encode(&asserted.authenticator_data),
                "signature": b64::encode(&asserted.signature),
                "userHandle": b64::encode(&asserted.user_handle),
            },
            "clientExtensionResults": extensions,
        })
        .to_string())
    }

    /// Answers a registration the way ASAuthorization reports it to an iOS app.
    pub fn create_typed(&mut self, request: &RegistrationRequest) -> Result<TypedRegistration> {
        let params = CreateParams {
            challenge: request.challenge().to_vec(),
            rp_id: request.rp().id.clone(),
            user_id: request.user().id.clone(),
            exclude: request.exclude_credentials().to_vec(),
            prf: Some(PrfInputs {
                first: request.prf_input().to_vec(),
                second: None,
            }),
        };
        let created = self.make_credential(&params)?;
        let prf_first = match self.mode {
            SoftMode::PrfAtRegistration => {
                created.prf.first.map(|out| Zeroizing::new(out.to_vec()))
            }
            _ => None,
        };
        Ok(TypedRegistration {
            credential_id: created.credential_id,
            prf_supported: matches!(
                self.mode,
                SoftMode::PrfAtRegistration | SoftMode::PrfEnabledWithoutResults
            ),
            prf_first,
            aaguid: Some(SOFT_AUTHENTICATOR_AAGUID),
        })
    }

    /// Answers an assertion the way ASAuthorization reports it to an iOS app.
    pub fn get_typed(&mut self, request: &AssertionRequest) -> Result<TypedAssertion> {
        let params = GetParams {
            challenge: request.challenge().to_vec(),
            rp_id: request.rp_id().to_owned(),
            allow: request.allow_credentials().to_vec(),
            prf: Some(PrfInputs {
                first: request.prf_input().to_vec(),
                second: None,
            }),
            prf_by_credential: Vec::new(),
        };
        let asserted = self.get_assertion(&params)?;
        Ok(TypedAssertion {
            credential_id: asserted.credential_id,
            prf_first: asserted.prf.first.map(|out| Zeroizing::new(out.to_vec())),
        })
    }

    /// The authenticator as JSON, secrets included (test secrets: see the module docs).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| unreachable!("plain data serializes"))
    }

    /// Reads an authenticator saved by [`SoftAuthenticator::to_json`].
    pub fn from_json(text: &str) -> Result<Self> {
        let authenticator: SoftAuthenticator = serde_json::from_str(text).map_err(|err| {
            Error::InvalidArgument(format!("not a saved software authenticator: {err}"))
        })?;
        for credential in &authenticator.credentials {
            credential.secrets()?;
        }
        Ok(authenticator)
    }

    /// Saves to `path` (written to a temporary file, then renamed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, self.to_json()).map_err(|err| Error::io_at(&temporary, err))?;
        std::fs::rename(&temporary, path).map_err(|err| Error::io_at(path, err))
    }

    /// Loads from `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|err| Error::io_at(path, err))?;
        Self::from_json(&text)
    }

    fn client_data(&self, ceremony: &str, challenge: &[u8], rp_id: &str) -> Vec<u8> {
        let origin = self
            .origin
            .clone()
            .unwrap_or_else(|| format!("https://{rp_id}"));
        json!({
            "type": ceremony,
            "challenge": b64::encode(challenge),
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn make_credential(&mut self, params: &CreateParams) -> Result<Created> {
        if self.mode == SoftMode::UserCancels {
            return Err(Error::Cancelled);
        }
        let excluded = self.credentials.iter().any(|credential| {
            credential.rp_id == params.rp_id
                && params
                    .exclude
                    .iter()
                    .any(|id| b64::encode(id) == credential.id)
        });
        if excluded {
            return Err(Error::InvalidArgument(
                "a passkey in excludeCredentials already exists in this authenticator".into(),
            ));
        }
        let credential_id: [u8; 16] = random_bytes()?;
        let cred_random = Zeroizing::new(random_bytes::<32>()?);
        let signing_key = new_signing_key()?;
        let verifying_key = signing_key.verifying_key();
        let point = verifying_key.to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(Error::InvalidArgument(
                "public key has no affine form".into(),
            ));
        };
        let cose_key = cbor::Encoder::default()
            .map(5)
            .int(1)
            .int(2) // kty: EC2
            .int(3)
            .int(COSE_ES256) // alg
            .int(-1)
            .int(1) // crv: P-256
            .int(-2)
            .bytes(x)
            .int(-3)
            .bytes(y)
            .finish();
        let public_key_der = p256::PublicKey::from(verifying_key)
            .to_public_key_der()
            .map_err(|err| Error::InvalidArgument(format!("public key encoding: {err}")))?
            .into_vec();
        let authenticator_data = AuthenticatorData {
            rp_id_hash: Sha256::digest(params.rp_id.as_bytes()).into(),
            flags: flags::UP | flags::UV | flags::BE | flags::BS | flags::AT,
            sign_count: 0,
            attested_credential: Some(AttestedCredential {
                aaguid: SOFT_AUTHENTICATOR_AAGUID,
                credential_id: credential_id.to_vec(),
                public_key_cose: cose_key,
                algorithm: COSE_ES256,
            }),
        }
        .to_bytes();

        let prf = match (&params.prf, self.mode) {
            (Some(inputs), SoftMode::PrfAtRegistration) => evaluate(&cred_random, inputs),
            _ => PrfResults::default(),
        };
        self.credentials.push(SoftCredential {
            id: b64::encode(&credential_id),
            rp_id: params.rp_id.clone(),
            user_handle: b64::encode(&params.user_id),
            cred_random_with_uv: hex_encode(cred_random.as_slice()),
            signing_key: hex_encode(&signing_key.to_bytes()),
        });
        Ok(Created {
            credential_id: credential_id.to_vec(),
            client_data_json: self.client_data("webauthn.create", &params.challenge, &params.rp_id),
            authenticator_data,
            public_key_der,
            prf,
        })
    }

    fn get_assertion(&self, params: &GetParams) -> Result<Asserted> {
        if self.mode == SoftMode::UserCancels {
            return Err(Error::Cancelled);
        }
        // Like a platform picker, offer the newest matching credential.
        let credential = self
            .credentials
            .iter()
            .rev()
            .find(|credential| {
                credential.rp_id == params.rp_id
                    && (params.allow.is_empty()
                        || params
                            .allow
                            .iter()
                            .any(|id| b64::encode(id) == credential.id))
            })
            .ok_or(Error::NoMatchingSlot)?;
        let (credential_id, cred_random, signing_key) = credential.secrets()?;

        let authenticator_data = AuthenticatorData {
            rp_id_hash: Sha256::digest(params.rp_id.as_bytes()).into(),
            flags: flags::UP | flags::UV | flags::BE | flags::BS,
            sign_count: 0,
            attested_credential: None,
        }
        .to_bytes();
        let client_data_json = self.client_data("webauthn.get", &params.challenge, &params.rp_id);
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data_json));
        let signature: Signature = signing_key.sign(&signed);

        let inputs = params
            .prf_by_credential
            .iter()
            .find(|(id, _)| *id == credential_id)
            .map(|(_, inputs)| inputs)
            .or(params.prf.as_ref());
        let prf = match (inputs, self.mode) {
            (Some(inputs), SoftMode::PrfAtRegistration | SoftMode::PrfEnabledWithoutResults) => {
                evaluate(&cred_random, inputs)
            }
            _ => PrfResults::default(),
        };
        Ok(Asserted {
            credential_id,
            user_handle: b64::decode(&credential.user_handle).map_err(Error::InvalidArgument)?,
            client_data_json,
            authenticator_data,
            signature: signature.to_der().as_bytes().to_vec(),
            prf,
        })
    }
}

impl SoftCredential {
    /// Decodes the stored id and secrets, checking their lengths.
    fn secrets(&self) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>, SigningKey)> {
        let bad = |what: &str| Error::InvalidArgument(format!("saved credential has a bad {what}"));
        let id = b64::decode(&self.id).map_err(|_| bad("id"))?;
        let cred_random = hex_decode_32(&self.cred_random_with_uv).ok_or_else(|| bad("PRF key"))?;
        let scalar = hex_decode_32(&self.signing_key).ok_or_else(|| bad("signing key"))?;
        let signing_key =
            SigningKey::from_bytes(scalar.as_slice().into()).map_err(|_| bad("signing key"))?;
        Ok((id, cred_random, signing_key))
    }
}

fn evaluate(cred_random: &[u8; 32], inputs: &PrfInputs) -> PrfResults {
    PrfResults {
        first: Some(prf_eval(cred_random, &inputs.first)),
        second: inputs
            .second
            .as_ref()
            .map(|second| prf_eval(cred_random, second)),
    }
}

fn results_json(prf: &PrfResults) -> Option<Value> {
    let first = prf.first.as_ref()?;
    let mut results = json!({ "first": b64::encode(first.as_slice()) });
    if let Some(second) = &prf.second {
        results["second"] = Value::String(b64::encode(second.as_slice()));
    }
    Some(results)
}

/// `{"fmt": "none", "attStmt": {}, "authData": ...}` in canonical key order.
fn attestation_object(authenticator_data: &[u8]) -> Vec<u8> {
    cbor::Encoder::default()
        .map(3)
        .text("fmt")
        .text("none")
        .text("attStmt")
        .map(0)
        .text("authData")
        .bytes(authenticator_data)
        .finish()
}

fn new_signing_key() -> Result<SigningKey> {
    // A random scalar is valid unless it is zero or not below the group order, which is
    // astronomically unlikely; retry a few times rather than assume.
    for _ in 0..8 {
        let scalar = Zeroizing::new(random_bytes::<32>()?);
        if let Ok(key) = SigningKey::from_bytes(scalar.as_slice().into()) {
            return Ok(key);
        }
    }
    Err(Error::Randomness)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode_32(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = Zeroizing::new([0u8; 32]);
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

fn prf_inputs(field: &Field<'_>) -> Result<PrfInputs> {
    Ok(PrfInputs {
        first: field.required("first")?.as_base64url()?,
        second: match field.member("second")? {
            Some(second) => Some(second.as_base64url()?),
            None => None,
        },
    })
}

fn credential_list(root: &Field<'_>, name: &str) -> Result<Vec<Vec<u8>>> {
    match root.member(name)? {
        None => Ok(Vec::new()),
        Some(list) => list
            .elements()?
            .iter()
            .map(|descriptor| descriptor.required("id")?.as_base64url())
            .collect(),
    }
}

fn parse_create(text: &str) -> Result<CreateParams> {
    let document = parse_document(text, "$")?;
    let root = Field::root(&document, "");
    let algorithms = root.required("pubKeyCredParams")?;
    let offers_es256 = algorithms
        .elements()?
        .iter()
        .any(|param| matches!(param.member("alg"), Ok(Some(alg)) if alg_is_es256(&alg)));
    if !offers_es256 {
        return Err(algorithms.error("this authenticator supports only ES256 (-7)"));
    }
    let prf = match root
        .member("extensions")?
        .map(|extensions| extensions.member("prf"))
        .transpose()?
        .flatten()
    {
        Some(prf) => match prf.member("eval")? {
            Some(eval) => Some(prf_inputs(&eval)?),
            None => None,
        },
        None => None,
    };
    Ok(CreateParams {
        challenge: root.required("challenge")?.as_base64url()?,
        rp_id: root.required("rp")?.required("id")?.as_str()?.to_owned(),
        user_id: root.required("user")?.required("id")?.as_base64url()?,
        exclude: credential_list(&root, "excludeCredentials")?,
        prf,
    })
}

fn alg_is_es256(field: &Field<'_>) -> bool {
    field.as_i64().ok() == Some(COSE_ES256)
}

fn parse_get(text: &str) -> Result<GetParams> {
    let document = parse_document(text, "$")?;
    let root = Field::root(&document, "");
    let mut prf = None;
    let mut prf_by_credential = Vec::new();
    if let Some(extensions) = root.member("extensions")? {
        if let Some(prf_field) = extensions.member("prf")? {
            if let Some(eval) = prf_field.member("eval")? {
                prf = Some(prf_inputs(&eval)?);
            }
            if let Some(by_credential) = prf_field.member("evalByCredential")? {
                for (id, inputs) in by_credential.entries()? {
                    let id = b64::decode(id).map_err(|reason| inputs.error(reason))?;
                    prf_by_credential.push((id, prf_inputs(&inputs)?));
                }
            }
        }
    }
    let rp_id = root.required("rpId")?.as_str()?.to_owned();
    Ok(GetParams {
        challenge: root.required("challenge")?.as_base64url()?,
        rp_id,
        allow: credential_list(&root, "allowCredentials")?,
        prf,
        prf_by_credential,
    })
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::{signature::Verifier, VerifyingKey};

    use super::*;
    use crate::passkey::{
        AssertionRequest, AssertionResponse, RegistrationRequest, RegistrationResponse,
        RelyingParty, UserAccount,
    };

    #[test]
    fn reproduces_the_webauthn_prf_spec_vector() {
        // WebAuthn L3 §10.1.4 test vectors, as quoted in DESIGN §4.
        let cred_random: [u8; 32] =
            hex::decode("437e065e723a98b2f08f39d8baf7c53ecb3c363c5e5104bdaaf5d5ca2e028154")
                .unwrap()
                .try_into()
                .unwrap();
        let mut input = b"WebAuthn PRF test vectors".to_vec();
        input.push(0x02);
        assert_eq!(
            hex::encode(*prf_eval(&cred_random, &input)),
            "3c33e07d202c3b029cc21f1722767021bf27d595933b3d2b6a1b9d5dddc77fae"
        );
    }

    fn registration_request() -> RegistrationRequest {
        RegistrationRequest::new(
            RelyingParty {
                id: "example.com".into(),
                name: "Example".into(),
            },
            UserAccount {
                id: vec![1, 2, 3],
                name: "alice".into(),
                display_name: "Alice".into(),
            },
            [9; 32],
            vec![],
        )
        .unwrap()
    }

    #[test]
    fn assertion_signature_verifies_under_the_registered_key() {
        let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
        let request = registration_request();
        let registration =
            RegistrationResponse::from_json(&authenticator.create(&request.to_json()).unwrap())
                .unwrap();
        let cose = &registration
            .authenticator_data
            .attested_credential
            .as_ref()
            .unwrap()
            .public_key_cose;
        let key = cbor::decode_exact(cose).unwrap();
        let (Some(cbor::Value::Bytes(x)), Some(cbor::Value::Bytes(y))) =
            (key.get_int_key(-2), key.get_int_key(-3))
        else {
            panic!("no EC2 coordinates");
        };
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(x);
        sec1.extend_from_slice(y);
        let verifying_key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();

        let assertion_request = AssertionRequest::new("example.com", vec![], [9; 32]).unwrap();
        let assertion =
            AssertionResponse::from_json(&authenticator.get(&assertion_request.to_json()).unwrap())
                .unwrap();
        let mut signed = assertion.authenticator_data_bytes.clone();
        signed.extend_from_slice(&Sha256::digest(&assertion.client_data_json));
        let signature = Signature::from_der(&assertion.signature).unwrap();
        verifying_key.verify(&signed, &signature).unwrap();
        signed[0] ^= 1;
        assert!(verifying_key.verify(&signed, &signature).is_err());
        assert_eq!(assertion.user_handle.as_deref(), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn prf_results_match_the_spec_computation_and_second_is_supported() {
        let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
        let request = registration_request();
        let response =
            RegistrationResponse::from_json(&authenticator.create(&request.to_json()).unwrap())
                .unwrap();
        let (_, cred_random, _) = authenticator.credentials[0].secrets().unwrap();
        assert_eq!(
            response.prf.first().unwrap(),
            prf_eval(&cred_random, &[9; 32]).as_slice()
        );

        let get = format!(
            r#"{{"challenge":"AAAA","rpId":"example.com","extensions":{{"prf":{{"eval":{{"first":"{}","second":"{}"}}}}}}}}"#,
            b64::encode(b"one"),
            b64::encode(b"two")
        );
        let answer: Value = serde_json::from_str(&authenticator.get(&get).unwrap()).unwrap();
        let results = &answer["clientExtensionResults"]["prf"]["results"];
        assert_eq!(
            results["first"],
            b64::encode(&*prf_eval(&cred_random, b"one"))
        );
        assert_eq!(
            results["second"],
            b64::encode(&*prf_eval(&cred_random, b"two"))
        );
        assert_eq!(answer["authenticatorAttachment"], "platform");
        assert!(!answer["id"].as_str().unwrap().contains('='));
    }

    #[test]
    fn eval_by_credential_takes_precedence_over_eval() {
        let mut authenticator = SoftAuthenticator::new(SoftMode::PrfEnabledWithoutResults);
        let request = registration_request();
        let created: Value =
            serde_json::from_str(&authenticator.create(&request.to_json()).unwrap()).unwrap();
        assert_eq!(
            created["clientExtensionResults"]["prf"],
            json!({ "enabled": true })
        );
        let id = created["id"].as_str().unwrap();
        let (_, cred_random, _) = authenticator.credentials[0].secrets().unwrap();
        let get = json!({
            "challenge": "AAAA", "rpId": "example.com",
            "allowCredentials": [{ "type": "public-key", "id": id }],
            "extensions": { "prf": {
                "eval": { "first": b64::encode(b"default") },
                "evalByCredential": { id: { "first": b64::encode(b"specific") } },
            } },
        });
        let answer: Value =
            serde_json::from_str(&authenticator.get(&get.to_string()).unwrap()).unwrap();
        assert_eq!(
            answer["clientExtensionResults"]["prf"]["results"]["first"],
            b64::encode(&*prf_eval(&cred_random, b"specific"))
        );
    }

    #[test]
    fn modes_shape_the_extension_results_like_real_providers() {
        let request = registration_request();
        let mut none = SoftAuthenticator::new(SoftMode::NoPrf);
        let created: Value =
            serde_json::from_str(&none.create(&request.to_json()).unwrap()).unwrap();
        assert!(created["clientExtensionResults"].get("prf").is_none());
        let get = AssertionRequest::new("example.com", vec![], [9; 32]).unwrap();
        let answer: Value = serde_json::from_str(&none.get(&get.to_json()).unwrap()).unwrap();
        assert!(answer["clientExtensionResults"].get("prf").is_none());

        let mut cancelling = SoftAuthenticator::new(SoftMode::UserCancels);
        assert!(matches!(
            cancelling.create(&request.to_json()),
            Err(Error::Cancelled)
        ));
        assert!(matches!(
            cancelling.get(&get.to_json()),
            Err(Error::Cancelled)
        ));
        assert!(matches!(
            cancelling.create_typed(&request),
            Err(Error::Cancelled)
        ));
        assert!(matches!(cancelling.get_typed(&get), Err(Error::Cancelled)));
    }

    #[test]
    fn excluded_credentials_are_not_registered_twice() {
        let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
        let first = authenticator.create_typed(&registration_request()).unwrap();
        let again = RegistrationRequest::new(
            registration_request().rp().clone(),
            registration_request().user().clone(),
            [9; 32],
            vec![first.credential_id],
        )
        .unwrap();
        assert!(matches!(
            authenticator.create(&again.to_json()),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(authenticator.credential_ids().len(), 1);
    }

    #[test]
    fn saves_and_loads_with_the_same_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("soft.json");
        let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
        let registration = authenticator.create_typed(&registration_request()).unwrap();
        authenticator.save(&path).unwrap();
        let mut loaded = SoftAuthenticator::load(&path).unwrap();
        assert_eq!(
            loaded.credential_ids(),
            vec![registration.credential_id.clone()]
        );
        let get = AssertionRequest::new("example.com", vec![], [9; 32]).unwrap();
        let assertion = loaded.get_typed(&get).unwrap();
        assert_eq!(
            assertion.prf_first.unwrap().as_slice(),
            registration.prf_first.unwrap().as_slice()
        );

        assert!(matches!(
            SoftAuthenticator::from_json("{}"),
            Err(Error::InvalidArgument(_))
        ));
        let corrupted = authenticator
            .to_json()
            .replace("prf-at-registration", "bogus");
        assert!(SoftAuthenticator::from_json(&corrupted).is_err());
        let mut value: Value = serde_json::from_str(&authenticator.to_json()).unwrap();
        value["credentials"][0]["signing_key"] = json!("00");
        assert!(matches!(
            SoftAuthenticator::from_json(&value.to_string()),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            SoftAuthenticator::load(&dir.path().join("missing")),
            Err(Error::Io { path: Some(_), .. })
        ));
        assert!(!format!("{authenticator:?}")
            .contains(&authenticator.credentials[0].cred_random_with_uv));
    }

    #[test]
    fn deleted_credentials_no_longer_answer() {
        let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
        let registration = authenticator.create_typed(&registration_request()).unwrap();
        assert!(authenticator.delete_credential(&registration.credential_id));
        assert!(!authenticator.delete_credential(&registration.credential_id));
        let get = AssertionRequest::new("example.com", vec![], [9; 32]).unwrap();
        assert!(matches!(
            authenticator.get_typed(&get),
            Err(Error::NoMatchingSlot)
        ));
    }
}
