//! The software authenticator for tests and the samples' demo mode, behind the feature
//! `soft-authenticator`: release builds of the mobile libraries leave it out, so an app cannot
//! ship a passkey provider whose credentials are ordinary data.

use std::sync::Arc;

use keepsake_core::passkey::{self as core_passkey, AssertionRequest};

use crate::{
    error::{guard, FfiResult, KeepsakeError},
    lock::Guarded,
    passkey::{PasskeyAssertion, PasskeyEnrollment, PasskeyRegistration, PasskeyUnlock},
};

/// How the software authenticator behaves, after providers found in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SoftAuthenticatorMode {
    /// PRF evaluated at registration.
    PrfAtRegistration,
    /// PRF supported, but only an assertion gives the output.
    PrfEnabledWithoutResults,
    /// No PRF support.
    NoPrf,
    /// The user dismisses every prompt (`Cancelled`).
    UserCancels,
}

impl From<SoftAuthenticatorMode> for core_passkey::soft::SoftMode {
    fn from(mode: SoftAuthenticatorMode) -> Self {
        use core_passkey::soft::SoftMode;
        match mode {
            SoftAuthenticatorMode::PrfAtRegistration => SoftMode::PrfAtRegistration,
            SoftAuthenticatorMode::PrfEnabledWithoutResults => SoftMode::PrfEnabledWithoutResults,
            SoftAuthenticatorMode::NoPrf => SoftMode::NoPrf,
            SoftAuthenticatorMode::UserCancels => SoftMode::UserCancels,
        }
    }
}

/// A WebAuthn authenticator in software that computes PRF exactly as the spec does. For tests
/// and the samples' demo mode only: its credentials are ordinary data, not hardware-bound.
#[derive(uniffi::Object)]
pub struct SoftAuthenticator {
    inner: Guarded<core_passkey::soft::SoftAuthenticator>,
}

#[uniffi::export]
impl SoftAuthenticator {
    /// A new authenticator with no credentials.
    #[uniffi::constructor]
    pub fn new(mode: SoftAuthenticatorMode) -> Arc<Self> {
        Arc::new(SoftAuthenticator {
            inner: Guarded::new(
                core_passkey::soft::SoftAuthenticator::new(mode.into()),
                "software authenticator",
            ),
        })
    }

    /// Loads an authenticator saved by [`SoftAuthenticator::save`] (its credentials and mode),
    /// as a synced passkey would reach another device: tests move it between platforms.
    #[uniffi::constructor]
    pub fn load(path: String) -> FfiResult<Arc<Self>> {
        guard(|| {
            let loaded = core_passkey::soft::SoftAuthenticator::load(std::path::Path::new(&path))?;
            Ok(Arc::new(SoftAuthenticator {
                inner: Guarded::new(loaded, "software authenticator"),
            }))
        })
    }

    /// Saves the credentials and mode to `path` (test secrets in plain JSON: never for real
    /// keys), written to a temporary file and renamed.
    pub fn save(&self, path: String) -> FfiResult<()> {
        guard(|| self.inner.with(|a| a.save(std::path::Path::new(&path))))
    }

    /// Changes how it behaves from now on.
    pub fn set_mode(&self, mode: SoftAuthenticatorMode) -> FfiResult<()> {
        guard(|| {
            self.inner.with_mut(|a| {
                a.set_mode(mode.into());
                Ok(())
            })
        })
    }

    /// Answers a registration `requestJson` with a `registrationResponseJson`.
    pub fn create_json(&self, request_json: String) -> FfiResult<String> {
        guard(|| self.inner.with_mut(|a| a.create(&request_json)))
    }

    /// Answers an assertion `requestJson` with an `authenticationResponseJson`.
    pub fn get_json(&self, request_json: String) -> FfiResult<String> {
        guard(|| self.inner.with_mut(|a| a.get(&request_json)))
    }

    /// Answers an enrollment's registration with typed values (as iOS would).
    pub fn create_typed(
        &self,
        enrollment: Arc<PasskeyEnrollment>,
    ) -> FfiResult<PasskeyRegistration> {
        guard(|| {
            let request = enrollment
                .flow
                .with(|f| Ok(f.registration_request().clone()))?;
            let typed = self.inner.with_mut(|a| a.create_typed(&request))?;
            Ok(PasskeyRegistration {
                credential_id: typed.credential_id.clone(),
                prf_supported: typed.prf_supported,
                prf_first: typed.prf_first.as_ref().map(|v| v.to_vec()),
                aaguid: typed.aaguid.map(|a| a.to_vec()),
            })
        })
    }

    /// Answers an enrollment's pending `NeedsAssertion` request with typed values.
    pub fn get_typed_for_enrollment(
        &self,
        enrollment: Arc<PasskeyEnrollment>,
    ) -> FfiResult<PasskeyAssertion> {
        guard(|| {
            let request = enrollment.pending_assertion()?.ok_or_else(|| {
                KeepsakeError::invalid("the enrollment is not waiting for an assertion")
            })?;
            self.assert_typed(&request)
        })
    }

    /// Answers an unlock request with typed values (as iOS would).
    pub fn get_typed(&self, unlock: Arc<PasskeyUnlock>) -> FfiResult<PasskeyAssertion> {
        guard(|| self.assert_typed(unlock.flow.request()))
    }
}

impl SoftAuthenticator {
    fn assert_typed(&self, request: &AssertionRequest) -> FfiResult<PasskeyAssertion> {
        let typed = self.inner.with_mut(|a| a.get_typed(request))?;
        Ok(PasskeyAssertion {
            credential_id: typed.credential_id.clone(),
            prf_first: typed.prf_first.as_ref().map(|v| v.to_vec()),
        })
    }
}
