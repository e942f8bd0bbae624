//! Passkey unlock through the WebAuthn PRF extension.
//!
//! A backup is unlocked by a passkey's PRF output: the passkey evaluates a keyed hash of the
//! keyring's PRF input, and that 32-byte output becomes the input keying material of a key slot's
//! KEK (see [`crate::keyring`]). This module speaks the platforms' languages:
//!
//! - **Android** (Credential Manager) takes request JSON and returns response JSON:
//!   [`RegistrationRequest::to_json`], [`RegistrationResponse::from_json`],
//!   [`AssertionRequest::to_json`], [`AssertionResponse::from_json`].
//! - **iOS** (ASAuthorization) takes typed values, read from the same request objects, and returns
//!   typed values: [`TypedRegistration`], [`TypedAssertion`].
//!
//! The flows ([`Enrollment`], [`Unlock`]) tie requests, responses and the keyring together.
//! The core never talks to a server: challenges are random and checked locally, and what protects
//! the data is the PRF output, not the assertion signature (see `docs/PASSKEYS.md`).
//!
//! With the cargo feature `soft-authenticator`, [`soft`] provides a spec-exact authenticator in
//! software for tests and demos.

mod authdata;
mod b64;
mod cbor;
mod flow;
mod json;
mod providers;
mod request;
mod response;
#[cfg(feature = "soft-authenticator")]
pub mod soft;
mod verify;

pub use authdata::{flags, AttestedCredential, AuthenticatorData, MAX_CREDENTIAL_ID_LEN};
pub use flow::{remove_passkey, Enrollment, EnrollmentStep, PasskeyUnlockKey, Unlock};
pub use json::MAX_JSON_LEN;
pub use providers::{aaguid_string, provider_name};
pub use request::{
    AssertionRequest, RegistrationRequest, RelyingParty, UserAccount, COSE_EDDSA, COSE_ES256,
    COSE_RS256,
};
pub use response::{AssertionResponse, ClientData, PrfExtensionOutput, RegistrationResponse};
pub use verify::{CredentialAssertion, NewCredential, TypedAssertion, TypedRegistration};
