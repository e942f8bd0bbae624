//! The requests handed to the platform: `PublicKeyCredentialCreationOptions` and
//! `PublicKeyCredentialRequestOptions` as JSON for Android's Credential Manager, and the same
//! values typed for iOS's ASAuthorization.

use serde_json::{json, Value};

use super::b64;
use crate::{Error, Result};

/// COSE algorithm ids offered at registration, in order of preference.
pub const COSE_ES256: i64 = -7;
/// EdDSA (Ed25519).
pub const COSE_EDDSA: i64 = -8;
/// RSASSA-PKCS1-v1_5 with SHA-256 (Windows Hello and some older providers).
pub const COSE_RS256: i64 = -257;

/// How long the platform may show its prompt, in milliseconds (a hint; platforms may cap it).
const TIMEOUT_MS: u64 = 300_000;

/// Longest user handle WebAuthn allows (§5.4.3).
const MAX_USER_ID_LEN: usize = 64;

/// The relying party: the domain the passkey is bound to, and a name a prompt may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP id, a registrable domain the app is associated with (`example.com`).
    pub id: String,
    /// Human-readable name of the app or service.
    pub name: String,
}

/// The account the passkey is created for, as the passkey provider will list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    /// The user handle: 1 to 64 opaque bytes, not personal data (WebAuthn §14.6.1).
    pub id: Vec<u8>,
    /// Account name shown by the provider (e.g. a phone number or handle).
    pub name: String,
    /// Friendly name shown by the provider.
    pub display_name: String,
}

/// A registration request; keep it until the response arrives, which is checked against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    challenge: [u8; 32],
    rp: RelyingParty,
    user: UserAccount,
    prf_input: [u8; 32],
    exclude_credentials: Vec<Vec<u8>>,
}

impl RegistrationRequest {
    /// A request with a fresh random challenge. `exclude_credentials` are credential ids already
    /// enrolled, so the provider does not create a second passkey for them.
    pub fn new(
        rp: RelyingParty,
        user: UserAccount,
        prf_input: [u8; 32],
        exclude_credentials: Vec<Vec<u8>>,
    ) -> Result<Self> {
        check_rp_id(&rp.id)?;
        // Providers show these names in their account pickers and some refuse empty ones (the
        // WebAuthn dictionaries require them): refuse them here, typed, not at the prompt.
        for (field, value) in [
            ("rp.name", &rp.name),
            ("user.name", &user.name),
            ("user.displayName", &user.display_name),
        ] {
            if value.trim().is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "{field} must not be empty: the passkey provider shows it to the user"
                )));
            }
        }
        if user.id.is_empty() || user.id.len() > MAX_USER_ID_LEN {
            return Err(Error::InvalidArgument(format!(
                "user id must be 1 to {MAX_USER_ID_LEN} bytes, got {}",
                user.id.len()
            )));
        }
        Ok(RegistrationRequest {
            challenge: random_challenge()?,
            rp,
            user,
            prf_input,
            exclude_credentials,
        })
    }

    /// The `PublicKeyCredentialCreationOptions` JSON for `CreatePublicKeyCredentialRequest`.
    pub fn to_json(&self) -> String {
        let algorithms: Vec<Value> = [COSE_ES256, COSE_EDDSA, COSE_RS256]
            .iter()
            .map(|alg| json!({ "type": "public-key", "alg": alg }))
            .collect();
        json!({
            "challenge": b64::encode(&self.challenge),
            "rp": { "id": self.rp.id, "name": self.rp.name },
            "user": {
                "id": b64::encode(&self.user.id),
                "name": self.user.name,
                "displayName": self.user.display_name,
            },
            "pubKeyCredParams": algorithms,
            "timeout": TIMEOUT_MS,
            "excludeCredentials": descriptors(&self.exclude_credentials),
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "required",
            },
            "attestation": "none",
            "extensions": { "prf": { "eval": { "first": b64::encode(&self.prf_input) } } },
        })
        .to_string()
    }

    /// The challenge (iOS: `createCredentialRegistrationRequest(challenge:...)`).
    pub fn challenge(&self) -> &[u8; 32] {
        &self.challenge
    }

    /// The relying party.
    pub fn rp(&self) -> &RelyingParty {
        &self.rp
    }

    /// The user account (iOS: `name:` and `userID:`).
    pub fn user(&self) -> &UserAccount {
        &self.user
    }

    /// The PRF input (iOS: `.prf = .inputValues(.init(saltInput1:))`).
    pub fn prf_input(&self) -> &[u8; 32] {
        &self.prf_input
    }

    /// Credential ids the provider must not register again (iOS: `excludedCredentials`).
    pub fn exclude_credentials(&self) -> &[Vec<u8>] {
        &self.exclude_credentials
    }
}

/// An assertion request: to finish an enrollment or to unlock a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionRequest {
    challenge: [u8; 32],
    rp_id: String,
    allow_credentials: Vec<Vec<u8>>,
    prf_input: [u8; 32],
}

impl AssertionRequest {
    /// A request with a fresh random challenge. An empty `allow_credentials` asks for a
    /// discoverable sign-in: the user picks any passkey for the RP.
    pub fn new(rp_id: &str, allow_credentials: Vec<Vec<u8>>, prf_input: [u8; 32]) -> Result<Self> {
        check_rp_id(rp_id)?;
        Ok(AssertionRequest {
            challenge: random_challenge()?,
            rp_id: rp_id.to_owned(),
            allow_credentials,
            prf_input,
        })
    }

    /// The `PublicKeyCredentialRequestOptions` JSON for `GetPublicKeyCredentialOption`.
    pub fn to_json(&self) -> String {
        json!({
            "challenge": b64::encode(&self.challenge),
            "rpId": self.rp_id,
            "timeout": TIMEOUT_MS,
            "allowCredentials": descriptors(&self.allow_credentials),
            "userVerification": "required",
            "extensions": { "prf": { "eval": { "first": b64::encode(&self.prf_input) } } },
        })
        .to_string()
    }

    /// The challenge (iOS: `createCredentialAssertionRequest(challenge:)`).
    pub fn challenge(&self) -> &[u8; 32] {
        &self.challenge
    }

    /// The RP id.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// Credential ids that may answer; empty for a discoverable sign-in (iOS: `allowedCredentials`).
    pub fn allow_credentials(&self) -> &[Vec<u8>] {
        &self.allow_credentials
    }

    /// The PRF input (iOS: `.prf = .inputValues(.init(saltInput1:))`).
    pub fn prf_input(&self) -> &[u8; 32] {
        &self.prf_input
    }
}

fn descriptors(ids: &[Vec<u8>]) -> Vec<Value> {
    ids.iter()
        .map(|id| json!({ "type": "public-key", "id": b64::encode(id) }))
        .collect()
}

fn random_challenge() -> Result<[u8; 32]> {
    crate::crypto::random_bytes()
}

/// An RP id is a domain: non-empty, lowercase ASCII letters, digits, dots and hyphens.
fn check_rp_id(rp_id: &str) -> Result<()> {
    let valid = !rp_id.is_empty()
        && rp_id.len() <= 253
        && !rp_id.starts_with('.')
        && !rp_id.ends_with('.')
        && rp_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "RP id {rp_id:?} is not a lowercase domain name such as example.com"
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty {
            id: "chat.example.com".into(),
            name: "Chat".into(),
        }
    }

    fn user(id: Vec<u8>) -> UserAccount {
        UserAccount {
            id,
            name: "alice".into(),
            display_name: "Alice A.".into(),
        }
    }

    #[test]
    fn registration_json_has_every_member_credential_manager_needs() {
        let request =
            RegistrationRequest::new(rp(), user(vec![0xfb; 3]), [0xff; 32], vec![vec![1, 2, 3]])
                .unwrap();
        let json: Value = serde_json::from_str(&request.to_json()).unwrap();
        assert_eq!(json["challenge"], b64::encode(request.challenge()));
        assert_eq!(
            json["rp"],
            serde_json::json!({"id": "chat.example.com", "name": "Chat"})
        );
        assert_eq!(json["user"]["id"], "-_v7");
        assert_eq!(json["user"]["name"], "alice");
        assert_eq!(json["user"]["displayName"], "Alice A.");
        let algs: Vec<i64> = json["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p["type"], "public-key");
                p["alg"].as_i64().unwrap()
            })
            .collect();
        assert_eq!(algs, [-7, -8, -257]);
        assert_eq!(
            json["authenticatorSelection"],
            serde_json::json!({"residentKey": "required", "requireResidentKey": true,
                               "userVerification": "required"})
        );
        assert_eq!(
            json["excludeCredentials"],
            serde_json::json!([{"type": "public-key", "id": "AQID"}])
        );
        // 32 bytes of 0xff: 43 characters, URL-safe alphabet, no padding.
        assert_eq!(
            json["extensions"]["prf"]["eval"]["first"],
            "_".repeat(42) + "8"
        );
    }

    #[test]
    fn assertion_json_asks_for_uv_and_prf() {
        let request = AssertionRequest::new("chat.example.com", vec![], [0; 32]).unwrap();
        let json: Value = serde_json::from_str(&request.to_json()).unwrap();
        assert_eq!(json["rpId"], "chat.example.com");
        assert_eq!(json["userVerification"], "required");
        assert_eq!(json["allowCredentials"], serde_json::json!([]));
        assert_eq!(json["extensions"]["prf"]["eval"]["first"], "A".repeat(43));
        assert!(json["extensions"]["prf"].get("evalByCredential").is_none());
    }

    #[test]
    fn challenges_are_fresh_for_every_request() {
        let a = AssertionRequest::new("chat.example.com", vec![], [0; 32]).unwrap();
        let b = AssertionRequest::new("chat.example.com", vec![], [0; 32]).unwrap();
        assert_ne!(a.challenge(), b.challenge());
    }

    /// Blanks one of the names a registration request carries.
    type NameEdit = fn(&mut RelyingParty, &mut UserAccount);

    #[test]
    fn rejects_empty_names_the_provider_shows() {
        let blank = |edit: NameEdit| {
            let (mut rp, mut user) = (rp(), user(vec![1]));
            edit(&mut rp, &mut user);
            RegistrationRequest::new(rp, user, [0; 32], vec![])
        };
        let cases: [(&str, NameEdit); 4] = [
            ("rp.name", |rp, _| rp.name.clear()),
            ("user.name", |_, user| user.name.clear()),
            ("user.displayName", |_, user| user.display_name.clear()),
            ("user.displayName", |_, user| {
                user.display_name = "  ".into()
            }),
        ];
        for (field, edit) in cases {
            match blank(edit) {
                Err(Error::InvalidArgument(detail)) => assert!(detail.contains(field), "{detail}"),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_rp_ids_and_user_ids() {
        for rp_id in [
            "",
            "Example.com",
            "https://example.com",
            ".example.com",
            "ex ample.com",
        ] {
            assert!(
                matches!(
                    AssertionRequest::new(rp_id, vec![], [0; 32]),
                    Err(Error::InvalidArgument(_))
                ),
                "{rp_id:?}"
            );
        }
        for id in [vec![], vec![0; 65]] {
            assert!(matches!(
                RegistrationRequest::new(rp(), user(id), [0; 32], vec![]),
                Err(Error::InvalidArgument(_))
            ));
        }
        assert!(RegistrationRequest::new(rp(), user(vec![0; 64]), [0; 32], vec![]).is_ok());
    }
}
