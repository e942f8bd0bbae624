//! Passkey enrollment and unlock, in both platform dialects: JSON for Android's Credential
//! Manager and typed values for iOS's ASAuthorization. The software authenticator for tests and
//! demo mode is in `soft` (feature `soft-authenticator`).

use std::sync::{Arc, Mutex};

use keepsake_core::{
    backup,
    crypto::PrfOutput,
    passkey::{
        self as core_passkey, AssertionRequest, AssertionResponse, CredentialAssertion,
        EnrollmentStep, RelyingParty, UserAccount,
    },
};
use zeroize::Zeroizing;

use crate::{
    error::{guard, FfiResult, KeepsakeError},
    keyring::{Keyring, SlotInfo},
    lock::Guarded,
    secret::BackupSecret,
};

/// The values of a registration request, for ASAuthorization
/// (`createCredentialRegistrationRequest(challenge:name:userID:)` with `.prf = .inputValues`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RegistrationRequestInfo {
    /// Relying party id.
    pub rp_id: String,
    /// The random challenge.
    pub challenge: Vec<u8>,
    /// The user handle.
    pub user_id: Vec<u8>,
    /// The account name.
    pub user_name: String,
    /// The name shown for the account (`displayName` of the registration request).
    pub user_display_name: String,
    /// The PRF input (`saltInput1`).
    pub prf_input: Vec<u8>,
    /// Credential ids already enrolled (`excludedCredentials`).
    pub exclude_credentials: Vec<Vec<u8>>,
}

/// The values of an assertion request, for ASAuthorization
/// (`createCredentialAssertionRequest(challenge:)`, `allowedCredentials`, `.prf = .inputValues`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AssertionRequestInfo {
    /// Relying party id.
    pub rp_id: String,
    /// The random challenge.
    pub challenge: Vec<u8>,
    /// Allowed credential ids; empty for a discoverable sign-in.
    pub allow_credentials: Vec<Vec<u8>>,
    /// The PRF input (`saltInput1`).
    pub prf_input: Vec<u8>,
}

/// What an iOS app reads from `ASAuthorizationPlatformPublicKeyCredentialRegistration`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct PasskeyRegistration {
    /// `credentialID`.
    pub credential_id: Vec<u8>,
    /// `prf?.isSupported` (false when `prf` is nil).
    pub prf_supported: bool,
    /// `prf?.first` as bytes, when the provider evaluated PRF already.
    pub prf_first: Option<Vec<u8>>,
    /// The AAGUID, when the app extracted it from the attestation object.
    pub aaguid: Option<Vec<u8>>,
}

/// What an iOS app reads from `ASAuthorizationPlatformPublicKeyCredentialAssertion`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct PasskeyAssertion {
    /// `credentialID`.
    pub credential_id: Vec<u8>,
    /// `prf?.first` as bytes; none when `prf` is nil.
    pub prf_first: Option<Vec<u8>>,
}

impl std::fmt::Debug for PasskeyRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRegistration")
            .field("credential_id", &self.credential_id)
            .field("prf_supported", &self.prf_supported)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PasskeyAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyAssertion")
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

fn aaguid(bytes: Option<Vec<u8>>) -> FfiResult<Option<[u8; 16]>> {
    bytes
        .map(|b| {
            <[u8; 16]>::try_from(b.as_slice()).map_err(|_| {
                KeepsakeError::invalid(format!("an AAGUID is 16 bytes, got {}", b.len()))
            })
        })
        .transpose()
}

impl PasskeyRegistration {
    /// Moves the PRF output into a buffer wiped on drop (no unwiped copy is made), even when
    /// the AAGUID is refused.
    pub(crate) fn into_core(self) -> FfiResult<core_passkey::TypedRegistration> {
        let prf_first = self.prf_first.map(Zeroizing::new);
        Ok(core_passkey::TypedRegistration {
            credential_id: self.credential_id,
            prf_supported: self.prf_supported,
            prf_first,
            aaguid: aaguid(self.aaguid)?,
        })
    }
}

impl PasskeyAssertion {
    /// Moves the PRF output into a buffer wiped on drop (no unwiped copy is made).
    pub(crate) fn into_core(self) -> core_passkey::TypedAssertion {
        core_passkey::TypedAssertion {
            credential_id: self.credential_id,
            prf_first: self.prf_first.map(Zeroizing::new),
        }
    }
}

fn assertion_info(request: &AssertionRequest) -> AssertionRequestInfo {
    AssertionRequestInfo {
        rp_id: request.rp_id().to_owned(),
        challenge: request.challenge().to_vec(),
        allow_credentials: request.allow_credentials().to_vec(),
        prf_input: request.prf_input().to_vec(),
    }
}

/// What to do after handing in a registration.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum EnrollmentOutcome {
    /// The passkey slot was added to the keyring.
    Enrolled {
        /// The new slot.
        slot: SlotInfo,
    },
    /// The provider supports PRF but gave no output at registration: show this assertion right
    /// away, then call `finishAssertion`.
    NeedsAssertion {
        /// For Credential Manager.
        request_json: String,
        /// For ASAuthorization.
        request: AssertionRequestInfo,
    },
}

/// Enrolling one passkey into a keyring: show the registration request, hand in the response,
/// and (for some providers) one assertion. A failed step can be retried.
#[derive(uniffi::Object)]
pub struct PasskeyEnrollment {
    keyring: Arc<Keyring>,
    pub(crate) flow: Guarded<core_passkey::Enrollment>,
    /// The pending assertion request after `NeedsAssertion`.
    assertion: Mutex<Option<AssertionRequest>>,
}

#[uniffi::export]
impl PasskeyEnrollment {
    /// Starts enrolling a passkey for `keyring` on relying party `rp_id` (a domain associated
    /// with the app). `user_id` is an opaque handle (1 to 64 bytes, not personal data); `label`
    /// names the slot for the user.
    #[uniffi::constructor]
    pub fn new(
        keyring: Arc<Keyring>,
        rp_id: String,
        rp_name: String,
        user_id: Vec<u8>,
        user_name: String,
        user_display_name: String,
        label: String,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let flow = keyring.with(|k| {
                core_passkey::Enrollment::begin(
                    k,
                    RelyingParty {
                        id: rp_id,
                        name: rp_name,
                    },
                    UserAccount {
                        id: user_id,
                        name: user_name,
                        display_name: user_display_name,
                    },
                    &label,
                )
            })?;
            Ok(Arc::new(PasskeyEnrollment {
                keyring,
                flow: Guarded::new(flow, "passkey enrollment"),
                assertion: Mutex::new(None),
            }))
        })
    }

    /// The `requestJson` for `CreatePublicKeyCredentialRequest`.
    pub fn registration_request_json(&self) -> FfiResult<String> {
        guard(|| self.flow.with(|f| Ok(f.registration_request().to_json())))
    }

    /// The registration request's values, for ASAuthorization.
    pub fn registration_request(&self) -> FfiResult<RegistrationRequestInfo> {
        guard(|| {
            self.flow.with(|f| {
                let r = f.registration_request();
                Ok(RegistrationRequestInfo {
                    rp_id: r.rp().id.clone(),
                    challenge: r.challenge().to_vec(),
                    user_id: r.user().id.clone(),
                    user_name: r.user().name.clone(),
                    user_display_name: r.user().display_name.clone(),
                    prf_input: r.prf_input().to_vec(),
                    exclude_credentials: r.exclude_credentials().to_vec(),
                })
            })
        })
    }

    /// Hands in Credential Manager's `registrationResponseJson`. A provider without PRF fails
    /// with `PrfUnsupported` and nothing is enrolled.
    pub fn finish_registration_json(&self, response_json: String) -> FfiResult<EnrollmentOutcome> {
        let response_json = Zeroizing::new(response_json);
        guard(|| {
            let step = self.flow.with_mut_ffi(|f| {
                self.keyring
                    .with_mut(|k| f.finish_registration(k, &response_json))
            })?;
            self.outcome(step)
        })
    }

    /// Hands in the values of an iOS registration.
    pub fn finish_registration_typed(
        &self,
        registration: PasskeyRegistration,
    ) -> FfiResult<EnrollmentOutcome> {
        guard(|| {
            let typed = registration.into_core()?;
            let step = self.flow.with_mut_ffi(|f| {
                self.keyring
                    .with_mut(|k| f.finish_registration_typed(k, &typed))
            })?;
            self.outcome(step)
        })
    }

    /// Hands in the `authenticationResponseJson` for the `NeedsAssertion` request.
    pub fn finish_assertion_json(&self, response_json: String) -> FfiResult<SlotInfo> {
        let response_json = Zeroizing::new(response_json);
        guard(|| {
            let id = self.flow.with_mut_ffi(|f| {
                self.keyring
                    .with_mut(|k| f.finish_assertion(k, &response_json))
            })?;
            self.slot(&id)
        })
    }

    /// Hands in the values of an iOS assertion for the `NeedsAssertion` request.
    pub fn finish_assertion_typed(&self, assertion: PasskeyAssertion) -> FfiResult<SlotInfo> {
        guard(|| {
            let typed = assertion.into_core();
            let id = self.flow.with_mut_ffi(|f| {
                self.keyring
                    .with_mut(|k| f.finish_assertion_typed(k, &typed))
            })?;
            self.slot(&id)
        })
    }
}

impl PasskeyEnrollment {
    fn outcome(&self, step: EnrollmentStep) -> FfiResult<EnrollmentOutcome> {
        match step {
            EnrollmentStep::Enrolled(id) => Ok(EnrollmentOutcome::Enrolled {
                slot: self.slot(&id)?,
            }),
            EnrollmentStep::NeedsAssertion(request) => {
                let outcome = EnrollmentOutcome::NeedsAssertion {
                    request_json: request.to_json(),
                    request: assertion_info(&request),
                };
                *self
                    .assertion
                    .lock()
                    .map_err(|_| KeepsakeError::internal("enrollment lock poisoned"))? =
                    Some(request);
                Ok(outcome)
            }
        }
    }

    fn slot(&self, id: &keepsake_core::keyring::SlotId) -> FfiResult<SlotInfo> {
        self.keyring.with(|k| {
            k.slots()
                .iter()
                .find(|s| s.id() == id)
                .map(SlotInfo::from)
                .ok_or_else(|| {
                    keepsake_core::Error::InvalidArgument("the new slot is missing".into())
                })
        })
    }

    /// The request a `NeedsAssertion` outcome asked to show (for the software authenticator).
    #[cfg_attr(not(feature = "soft-authenticator"), allow(dead_code))]
    pub(crate) fn pending_assertion(&self) -> FfiResult<Option<AssertionRequest>> {
        Ok(self
            .assertion
            .lock()
            .map_err(|_| KeepsakeError::internal("enrollment lock poisoned"))?
            .clone())
    }
}

/// Unlocking a backup (or checking the device's keyring) with a passkey: show the assertion
/// request, then turn the response into a `BackupSecret`.
#[derive(uniffi::Object)]
pub struct PasskeyUnlock {
    pub(crate) flow: core_passkey::Unlock,
}

#[uniffi::export]
impl PasskeyUnlock {
    /// An assertion request for the backup file at `path` (its header names the enrolled
    /// passkeys). With `discoverable`, the user picks any passkey of `rp_id` (a new device that
    /// does not know the credential ids); otherwise the request lists the backup's passkeys.
    #[uniffi::constructor]
    pub fn for_backup_file(
        path: String,
        rp_id: String,
        discoverable: bool,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let info = backup::inspect_path(std::path::Path::new(&path))?;
            let flow = core_passkey::Unlock::for_header(&info.header, &rp_id, discoverable)?;
            Ok(Arc::new(PasskeyUnlock { flow }))
        })
    }

    /// An assertion request for the device's keyring.
    #[uniffi::constructor]
    pub fn for_keyring(
        keyring: Arc<Keyring>,
        rp_id: String,
        discoverable: bool,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let flow =
                keyring.with(|k| core_passkey::Unlock::for_keyring(k, &rp_id, discoverable))?;
            Ok(Arc::new(PasskeyUnlock { flow }))
        })
    }

    /// An assertion request for a re-key (`Keyring.rekey`): it names the passkeys of
    /// `old_keyring` for `rp_id` and asks for their PRF output under `new_keyring`'s PRF input.
    /// Show it, then hand each answer to `renew_json` / `renew_typed`: one assertion per
    /// remaining passkey, no new registration. `NoMatchingSlot` if the old keyring has none.
    #[uniffi::constructor]
    pub fn for_renewal(
        old_keyring: Arc<Keyring>,
        new_keyring: Arc<Keyring>,
        rp_id: String,
    ) -> FfiResult<Arc<Self>> {
        guard(|| {
            let old_slots = old_keyring.with(|k| Ok(k.slots().to_vec()))?;
            let flow =
                new_keyring.with(|k| core_passkey::Unlock::for_renewal(&old_slots, k, &rp_id))?;
            Ok(Arc::new(PasskeyUnlock { flow }))
        })
    }

    /// Enrolls the passkey that answered a `for_renewal` request into `new_keyring`, with its
    /// old slot's label and flags. Errors as `finish_json`.
    pub fn renew_json(
        &self,
        new_keyring: Arc<Keyring>,
        response_json: String,
    ) -> FfiResult<SlotInfo> {
        let response_json = Zeroizing::new(response_json);
        guard(|| {
            let key = self.flow.verify_response(&response_json)?;
            self.renew(&new_keyring, &key)
        })
    }

    /// Enrolls the passkey of an iOS assertion for a `for_renewal` request; as `renew_json`.
    pub fn renew_typed(
        &self,
        new_keyring: Arc<Keyring>,
        assertion: PasskeyAssertion,
    ) -> FfiResult<SlotInfo> {
        guard(|| {
            let key = self.flow.verify_typed(&assertion.into_core())?;
            self.renew(&new_keyring, &key)
        })
    }

    /// The `requestJson` for `GetPublicKeyCredentialOption`.
    pub fn request_json(&self) -> String {
        self.flow.request().to_json()
    }

    /// The request's values, for ASAuthorization.
    pub fn request(&self) -> AssertionRequestInfo {
        assertion_info(self.flow.request())
    }

    /// Checks Credential Manager's `authenticationResponseJson` and returns the secret that
    /// opens the passkey's slot. `NoMatchingSlot` for a passkey not enrolled here,
    /// `PrfUnsupported` when the provider returned no PRF output, `BadPrfOutput` for an
    /// unusable one, `MalformedWebAuthn` for a response that does not match the request.
    pub fn finish_json(&self, response_json: String) -> FfiResult<Arc<BackupSecret>> {
        let response_json = Zeroizing::new(response_json);
        guard(|| {
            let response = AssertionResponse::from_json(&response_json)?;
            let assertion = self.flow.request().verify(&response)?;
            secret_from(assertion)
        })
    }

    /// Checks the values of an iOS assertion; as `finish_json`.
    pub fn finish_typed(&self, assertion: PasskeyAssertion) -> FfiResult<Arc<BackupSecret>> {
        guard(|| {
            let assertion = self.flow.request().accept_typed(&assertion.into_core())?;
            secret_from(assertion)
        })
    }
}

impl PasskeyUnlock {
    /// An unlock for a flow built elsewhere (the repository's config).
    pub(crate) fn from_flow(flow: core_passkey::Unlock) -> Arc<Self> {
        Arc::new(PasskeyUnlock { flow })
    }

    fn renew(
        &self,
        new_keyring: &Keyring,
        key: &core_passkey::PasskeyUnlockKey,
    ) -> FfiResult<SlotInfo> {
        new_keyring.with_mut(|k| {
            let id = self.flow.renew(k, key)?;
            crate::keyring::slot_info(k, &id)
        })
    }
}

/// The PRF output of a verified assertion as a backup secret. The slot itself is found (or
/// `NoMatchingSlot` raised) when the backup is opened.
fn secret_from(assertion: CredentialAssertion) -> FfiResult<Arc<BackupSecret>> {
    let first = assertion
        .prf
        .first()
        .ok_or(keepsake_core::Error::PrfUnsupported)?;
    let prf = PrfOutput::from_slice(first)?;
    Ok(BackupSecret::passkey(assertion.credential_id, prf))
}
