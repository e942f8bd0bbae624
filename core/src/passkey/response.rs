//! Parsing the platform's answers: `registrationResponseJson` and `authenticationResponseJson`
//! (Credential Manager's names; the shape is WebAuthn L3's `PublicKeyCredential.toJSON()`).
//!
//! Parsing is structural and strict about everything it reads; the checks against the request
//! that was issued (challenge, RP, flags, allowed credentials) are in [`super::verify`].

use std::fmt;

use zeroize::Zeroizing;

use super::{
    authdata::AuthenticatorData,
    cbor,
    json::{parse_document, Field},
};
use crate::Result;

/// `clientDataJSON`, as far as the core can use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    /// `webauthn.create` or `webauthn.get`.
    pub ceremony: String,
    /// The challenge the platform signed, decoded.
    pub challenge: Vec<u8>,
    /// The caller's origin: `https://<rp>` on iOS and the web, `android:apk-key-hash:<hash>` for
    /// an Android app. Recorded, not checked: only a server that knows the app could judge it.
    pub origin: String,
}

/// The PRF extension's client output, `clientExtensionResults.prf`.
#[derive(Default, Clone)]
pub struct PrfExtensionOutput {
    /// `enabled`: at registration, whether the credential supports PRF. Absent in assertions.
    pub enabled: Option<bool>,
    first: Option<Zeroizing<Vec<u8>>>,
}

impl PrfExtensionOutput {
    /// `results.first`, the PRF output for the request's `eval.first`, when the provider gave one.
    pub fn first(&self) -> Option<&[u8]> {
        self.first.as_deref().map(Vec::as_slice)
    }

    /// Built from typed platform values (iOS).
    pub(crate) fn typed(enabled: Option<bool>, first: Option<&[u8]>) -> Self {
        PrfExtensionOutput {
            enabled,
            first: first.map(|bytes| Zeroizing::new(bytes.to_vec())),
        }
    }
}

impl fmt::Debug for PrfExtensionOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrfExtensionOutput")
            .field("enabled", &self.enabled)
            .field("first", &self.first.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A parsed `registrationResponseJson`.
#[derive(Debug, Clone)]
pub struct RegistrationResponse {
    /// The new credential's id (`rawId`, equal to `id`).
    pub credential_id: Vec<u8>,
    /// The decoded `response.clientDataJSON`.
    pub client_data: ClientData,
    /// The attestation statement format (`none` when attestation was not requested).
    pub attestation_format: String,
    /// The authenticator data from the attestation object.
    pub authenticator_data: AuthenticatorData,
    /// `response.transports` (`internal`, `hybrid`, ...); empty when absent or not a list.
    pub transports: Vec<String>,
    /// `authenticatorAttachment` (`platform` or `cross-platform`), when given.
    pub authenticator_attachment: Option<String>,
    /// `clientExtensionResults.prf`; default (all absent) when the provider did not answer it.
    pub prf: PrfExtensionOutput,
}

/// A parsed `authenticationResponseJson`.
#[derive(Debug, Clone)]
pub struct AssertionResponse {
    /// The id of the credential that answered.
    pub credential_id: Vec<u8>,
    /// The decoded `response.clientDataJSON`.
    pub client_data: ClientData,
    /// `response.authenticatorData`, parsed.
    pub authenticator_data: AuthenticatorData,
    /// `response.authenticatorData` as sent, the first part of the signed message.
    pub authenticator_data_bytes: Vec<u8>,
    /// `response.clientDataJSON` as sent; its SHA-256 is the second part of the signed message.
    pub client_data_json: Vec<u8>,
    /// `response.signature`.
    pub signature: Vec<u8>,
    /// `response.userHandle`, the user id given at registration, when present and base64url.
    pub user_handle: Option<Vec<u8>>,
    /// `authenticatorAttachment`, when given.
    pub authenticator_attachment: Option<String>,
    /// `clientExtensionResults.prf`.
    pub prf: PrfExtensionOutput,
}

impl RegistrationResponse {
    /// Parses Credential Manager's `registrationResponseJson` (or a browser's `toJSON()` output).
    pub fn from_json(text: &str) -> Result<RegistrationResponse> {
        let document = parse_document(text, "$")?;
        let root = Field::root(&document, "");
        let credential_id = credential_id(&root)?;
        let response = root.required("response")?;
        let client_data_field = response.required("clientDataJSON")?;
        let client_data = client_data(&client_data_field)?;

        let attestation_field = response.required("attestationObject")?;
        let attestation_bytes = attestation_field.as_base64url()?;
        let attestation = cbor::decode_exact(&attestation_bytes)
            .map_err(|reason| attestation_field.error(reason))?;
        let at_path = |name: &str| format!("{}.{name}", attestation_field.path());
        let attestation_format = match attestation.get_text_key("fmt") {
            Some(cbor::Value::Text(fmt)) => (*fmt).to_owned(),
            _ => {
                return Err(super::json::malformed(
                    at_path("fmt"),
                    "missing or not a text string",
                ))
            }
        };
        if !matches!(
            attestation.get_text_key("attStmt"),
            Some(cbor::Value::Map(_))
        ) {
            return Err(super::json::malformed(
                at_path("attStmt"),
                "missing or not a map",
            ));
        }
        let authenticator_data = match attestation.get_text_key("authData") {
            Some(cbor::Value::Bytes(bytes)) => {
                AuthenticatorData::parse(bytes, &at_path("authData"))?
            }
            _ => {
                return Err(super::json::malformed(
                    at_path("authData"),
                    "missing or not a byte string",
                ))
            }
        };

        let transports = transports(&response);
        Ok(RegistrationResponse {
            credential_id,
            client_data,
            attestation_format,
            authenticator_data,
            transports,
            authenticator_attachment: attachment(&root)?,
            prf: prf_output(&root)?,
        })
    }
}

impl AssertionResponse {
    /// Parses Credential Manager's `authenticationResponseJson` (or a browser's `toJSON()` output).
    pub fn from_json(text: &str) -> Result<AssertionResponse> {
        let document = parse_document(text, "$")?;
        let root = Field::root(&document, "");
        let credential_id = credential_id(&root)?;
        let response = root.required("response")?;
        let client_data_field = response.required("clientDataJSON")?;
        let client_data = client_data(&client_data_field)?;
        let client_data_json = client_data_field.as_base64url()?;
        let auth_field = response.required("authenticatorData")?;
        let authenticator_data_bytes = auth_field.as_base64url()?;
        let authenticator_data =
            AuthenticatorData::parse(&authenticator_data_bytes, auth_field.path())?;
        let signature_field = response.required("signature")?;
        let signature = signature_field.as_base64url()?;
        if signature.is_empty() {
            return Err(signature_field.error("signature is empty"));
        }
        let user_handle = user_handle(&response);
        Ok(AssertionResponse {
            credential_id,
            client_data,
            authenticator_data,
            authenticator_data_bytes,
            client_data_json,
            signature,
            user_handle,
            authenticator_attachment: attachment(&root)?,
            prf: prf_output(&root)?,
        })
    }
}

/// `id` and `rawId` (both base64url, equal) and `type` = `public-key`.
fn credential_id(root: &Field<'_>) -> Result<Vec<u8>> {
    let kind = root.required("type")?;
    if kind.as_str()? != "public-key" {
        return Err(kind.error("expected \"public-key\""));
    }
    let id = root.required("id")?.as_base64url()?;
    let raw_field = root.required("rawId")?;
    let raw_id = raw_field.as_base64url()?;
    if id != raw_id {
        return Err(raw_field.error("rawId does not match id"));
    }
    if raw_id.is_empty() || raw_id.len() > super::authdata::MAX_CREDENTIAL_ID_LEN {
        return Err(raw_field.error(format!(
            "credential id is {} bytes, expected 1 to {}",
            raw_id.len(),
            super::authdata::MAX_CREDENTIAL_ID_LEN
        )));
    }
    Ok(raw_id)
}

/// Decodes `clientDataJSON` (base64url of a JSON object) and reads the fields the core checks.
fn client_data(field: &Field<'_>) -> Result<ClientData> {
    let bytes = field.as_base64url()?;
    let text = std::str::from_utf8(&bytes).map_err(|_| field.error("not UTF-8 JSON"))?;
    let document = parse_document(text, field.path())?;
    let inner = Field::root(&document, field.path());
    Ok(ClientData {
        ceremony: inner.required("type")?.as_str()?.to_owned(),
        challenge: inner.required("challenge")?.as_base64url()?,
        origin: inner.required("origin")?.as_str()?.to_owned(),
    })
}

fn attachment(root: &Field<'_>) -> Result<Option<String>> {
    Ok(match root.member("authenticatorAttachment")? {
        Some(field) => Some(field.as_str()?.to_owned()),
        None => None,
    })
}

/// `response.transports`, kept for diagnostics only. Providers send odd values (a string such as
/// `"usb|nfc|ble"`, numbers in the list); the core never uses them, so a malformed list is not a
/// reason to refuse the passkey: it reads as empty, and non-string items are dropped.
fn transports(response: &Field<'_>) -> Vec<String> {
    let Ok(Some(list)) = response.member("transports") else {
        return Vec::new();
    };
    let Ok(items) = list.elements() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| item.as_str().ok().map(str::to_owned))
        .collect()
}

/// `response.userHandle`, kept for diagnostics only (the slot is found by credential id): a
/// value that is not base64url reads as absent instead of refusing the assertion.
fn user_handle(response: &Field<'_>) -> Option<Vec<u8>> {
    match response.member("userHandle") {
        Ok(Some(field)) => field.as_base64url().ok(),
        _ => None,
    }
}

/// `clientExtensionResults.prf`; a missing `clientExtensionResults` or `prf` means no PRF.
fn prf_output(root: &Field<'_>) -> Result<PrfExtensionOutput> {
    let Some(extensions) = root.member("clientExtensionResults")? else {
        return Ok(PrfExtensionOutput::default());
    };
    let Some(prf) = extensions.member("prf")? else {
        return Ok(PrfExtensionOutput::default());
    };
    let enabled = match prf.member("enabled")? {
        Some(field) => Some(field.as_bool()?),
        None => None,
    };
    let first = match prf.member("results")? {
        None => None,
        Some(results) => {
            let first = results.required("first")?.as_base64url()?;
            // `second` is not used (no second input is sent), but must be well formed if present.
            if let Some(second) = results.member("second")? {
                Zeroizing::new(second.as_base64url()?);
            }
            Some(Zeroizing::new(first))
        }
    };
    Ok(PrfExtensionOutput { enabled, first })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::passkey::b64;

    fn registration_with(attestation: &[u8]) -> String {
        let client_data =
            b64::encode(br#"{"type":"webauthn.create","challenge":"AA","origin":"x"}"#);
        format!(
            r#"{{"id":"AQID","rawId":"AQID","type":"public-key","response":{{"clientDataJSON":"{client_data}","attestationObject":"{}"}}}}"#,
            b64::encode(attestation)
        )
    }

    fn assertion_with(auth_data: &[u8], client_data: &[u8]) -> String {
        format!(
            r#"{{"id":"AQID","rawId":"AQID","type":"public-key","response":{{"clientDataJSON":"{}","authenticatorData":"{}","signature":"AQID"}}}}"#,
            b64::encode(client_data),
            b64::encode(auth_data)
        )
    }

    proptest! {
        // The parsers are total: arbitrary input gives a value or a typed error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = RegistrationResponse::from_json(&text);
            let _ = AssertionResponse::from_json(&text);
        }

        #[test]
        fn arbitrary_binary_fields_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RegistrationResponse::from_json(&registration_with(&bytes));
            let _ = AssertionResponse::from_json(&assertion_with(&bytes, b"{}"));
            let _ = AssertionResponse::from_json(&assertion_with(&[0; 37], &bytes));
        }
    }

    #[test]
    fn prf_output_debug_is_redacted() {
        let output = PrfExtensionOutput::typed(Some(true), Some(&[0xab; 32]));
        let shown = format!("{output:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.to_lowercase().contains("ab, ab"));
        assert!(!shown.contains("171"));
    }
}
