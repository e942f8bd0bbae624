//! The passkey flows: enrolling a passkey into a keyring, unlocking a backup with one, and
//! removing one. Each works the same whether the platform speaks JSON (Android) or typed
//! values (iOS); only the entry points differ.

use std::io::Read;

use super::{
    request::{AssertionRequest, RegistrationRequest, RelyingParty, UserAccount},
    response::{AssertionResponse, RegistrationResponse},
    verify::{CredentialAssertion, NewCredential, TypedAssertion, TypedRegistration},
};
use crate::{
    crypto::PrfOutput,
    format::{Header, OpenedContainer, SealedContainer},
    keyring::{
        slot::MAX_LABEL_LEN, Keyring, KeyringId, PasskeyEnrollment, Removal, Slot, SlotId,
        SlotKind, MAX_SLOTS,
    },
    Error, Result,
};

/// Where an enrollment stands.
#[derive(Debug, Clone)]
enum EnrollmentState {
    /// The registration request is out; its response is awaited.
    AwaitingRegistration,
    /// The passkey exists and supports PRF but gave no output yet; this assertion will.
    AwaitingAssertion {
        request: AssertionRequest,
        credential: NewCredential,
    },
    /// A slot was added.
    Enrolled(SlotId),
}

/// What the app does after handing a registration response in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollmentStep {
    /// The passkey slot was added to the keyring.
    Enrolled(SlotId),
    /// The provider supports PRF but did not evaluate it at registration: show this assertion
    /// request right away (it names only the new passkey), then call
    /// [`Enrollment::finish_assertion`].
    NeedsAssertion(AssertionRequest),
}

/// Enrolling one passkey into a keyring: registration, then (for some providers) one assertion.
///
/// A failed step leaves the enrollment where it was, so a malformed or mismatched response can be
/// retried without starting over. The keyring is passed to each step rather than held, so the app
/// keeps ownership of it between prompts.
#[derive(Debug, Clone)]
pub struct Enrollment {
    keyring_id: KeyringId,
    label: String,
    registration: RegistrationRequest,
    state: EnrollmentState,
}

impl Enrollment {
    /// Starts enrolling a passkey for `keyring`: builds the registration request (fresh
    /// challenge, the keyring's PRF input, its enrolled passkeys excluded). `label` names the slot
    /// for the user ("Pixel 9 passkey").
    pub fn begin(
        keyring: &Keyring,
        rp: RelyingParty,
        user: UserAccount,
        label: &str,
    ) -> Result<Enrollment> {
        // Fail before the user is prompted, not after the passkey exists.
        if label.len() > MAX_LABEL_LEN {
            return Err(Error::InvalidArgument(format!(
                "slot label is {} bytes, at most {MAX_LABEL_LEN} allowed",
                label.len()
            )));
        }
        if keyring.slots().len() >= MAX_SLOTS {
            return Err(Error::LimitExceeded {
                what: "key slots".into(),
                found: keyring.slots().len() as u64,
                limit: MAX_SLOTS as u64,
            });
        }
        let exclude = keyring
            .slots()
            .iter()
            .filter_map(|slot| match slot.kind() {
                SlotKind::Passkey {
                    credential_id,
                    rp_id,
                    ..
                } if *rp_id == rp.id => Some(credential_id.clone()),
                _ => None,
            })
            .collect();
        Ok(Enrollment {
            keyring_id: *keyring.id(),
            label: label.to_owned(),
            registration: RegistrationRequest::new(rp, user, *keyring.prf_input(), exclude)?,
            state: EnrollmentState::AwaitingRegistration,
        })
    }

    /// The registration request to show: [`RegistrationRequest::to_json`] for Credential Manager,
    /// its accessors for ASAuthorization.
    pub fn registration_request(&self) -> &RegistrationRequest {
        &self.registration
    }

    /// The slot id once enrolled.
    pub fn enrolled_slot(&self) -> Option<&SlotId> {
        match &self.state {
            EnrollmentState::Enrolled(id) => Some(id),
            _ => None,
        }
    }

    /// Hands in Credential Manager's `registrationResponseJson`.
    ///
    /// A provider without PRF is [`Error::PrfUnsupported`]: nothing is enrolled, since such a
    /// passkey could never unlock a backup.
    pub fn finish_registration(
        &mut self,
        keyring: &mut Keyring,
        response_json: &str,
    ) -> Result<EnrollmentStep> {
        self.expect_registration()?;
        let response = RegistrationResponse::from_json(response_json)?;
        let credential = self.registration.verify(&response)?;
        self.accept_credential(keyring, credential)
    }

    /// Hands in the values of an iOS `ASAuthorizationPlatformPublicKeyCredentialRegistration`.
    pub fn finish_registration_typed(
        &mut self,
        keyring: &mut Keyring,
        registration: &TypedRegistration,
    ) -> Result<EnrollmentStep> {
        self.expect_registration()?;
        let credential = self.registration.accept_typed(registration)?;
        self.accept_credential(keyring, credential)
    }

    /// Hands in the `authenticationResponseJson` for the [`EnrollmentStep::NeedsAssertion`] request.
    pub fn finish_assertion(
        &mut self,
        keyring: &mut Keyring,
        response_json: &str,
    ) -> Result<SlotId> {
        let (request, _) = self.expect_assertion()?;
        let response = AssertionResponse::from_json(response_json)?;
        let assertion = request.verify(&response)?;
        self.accept_assertion(keyring, assertion)
    }

    /// Hands in the values of an iOS `ASAuthorizationPlatformPublicKeyCredentialAssertion`.
    pub fn finish_assertion_typed(
        &mut self,
        keyring: &mut Keyring,
        assertion: &TypedAssertion,
    ) -> Result<SlotId> {
        let (request, _) = self.expect_assertion()?;
        let assertion = request.accept_typed(assertion)?;
        self.accept_assertion(keyring, assertion)
    }

    fn expect_registration(&self) -> Result<()> {
        match self.state {
            EnrollmentState::AwaitingRegistration => Ok(()),
            EnrollmentState::AwaitingAssertion { .. } => Err(Error::InvalidArgument(
                "the enrollment is waiting for an assertion, not a registration".into(),
            )),
            EnrollmentState::Enrolled(_) => Err(already_enrolled()),
        }
    }

    fn expect_assertion(&self) -> Result<(&AssertionRequest, &NewCredential)> {
        match &self.state {
            EnrollmentState::AwaitingAssertion {
                request,
                credential,
            } => Ok((request, credential)),
            EnrollmentState::AwaitingRegistration => Err(Error::InvalidArgument(
                "the enrollment is waiting for a registration, not an assertion".into(),
            )),
            EnrollmentState::Enrolled(_) => Err(already_enrolled()),
        }
    }

    fn check_keyring(&self, keyring: &Keyring) -> Result<()> {
        if *keyring.id() == self.keyring_id && keyring.prf_input() == self.registration.prf_input()
        {
            Ok(())
        } else {
            Err(Error::InvalidArgument(
                "this enrollment was started for another keyring".into(),
            ))
        }
    }

    fn accept_credential(
        &mut self,
        keyring: &mut Keyring,
        credential: NewCredential,
    ) -> Result<EnrollmentStep> {
        self.check_keyring(keyring)?;
        if credential.prf.enabled != Some(true) {
            return Err(Error::PrfUnsupported);
        }
        match credential.prf.first() {
            Some(first) => {
                let prf = PrfOutput::from_slice(first)?;
                let slot = self.add_slot(keyring, &credential, &prf)?;
                Ok(EnrollmentStep::Enrolled(slot))
            }
            None => {
                let request = AssertionRequest::new(
                    &self.registration.rp().id,
                    vec![credential.credential_id.clone()],
                    *self.registration.prf_input(),
                )?;
                self.state = EnrollmentState::AwaitingAssertion {
                    request: request.clone(),
                    credential,
                };
                Ok(EnrollmentStep::NeedsAssertion(request))
            }
        }
    }

    fn accept_assertion(
        &mut self,
        keyring: &mut Keyring,
        assertion: CredentialAssertion,
    ) -> Result<SlotId> {
        self.check_keyring(keyring)?;
        let (_, credential) = self.expect_assertion()?;
        let credential = credential.clone();
        if assertion.credential_id != credential.credential_id {
            return Err(Error::NoMatchingSlot);
        }
        // The provider claimed PRF support but returned nothing: it cannot protect a backup.
        let first = assertion.prf.first().ok_or(Error::PrfUnsupported)?;
        let prf = PrfOutput::from_slice(first)?;
        self.add_slot(keyring, &credential, &prf)
    }

    fn add_slot(
        &mut self,
        keyring: &mut Keyring,
        credential: &NewCredential,
        prf: &PrfOutput,
    ) -> Result<SlotId> {
        let slot = keyring.add_passkey(
            PasskeyEnrollment {
                credential_id: credential.credential_id.clone(),
                rp_id: self.registration.rp().id.clone(),
                label: self.label.clone(),
                provider_hint: credential.provider_hint,
                backup: credential.backup,
            },
            prf,
        )?;
        self.state = EnrollmentState::Enrolled(slot);
        Ok(slot)
    }
}

fn already_enrolled() -> Error {
    Error::InvalidArgument("the passkey is already enrolled; start a new enrollment".into())
}

/// Unlocking with a passkey: one assertion request for a backup header (or a keyring), then the
/// response turns into the key that opens the matching slot.
#[derive(Debug, Clone)]
pub struct Unlock {
    keyring_id: KeyringId,
    request: AssertionRequest,
    /// Credential ids of the passkey slots for the request's RP id.
    enrolled: Vec<Vec<u8>>,
    /// For a re-key ([`Unlock::for_renewal`]): the old keyring's passkey slots, whose public
    /// fields the renewed slots keep.
    renewing: Vec<Slot>,
}

/// A verified assertion's credential id and PRF output: the secret that opens its slot.
#[derive(Debug)]
pub struct PasskeyUnlockKey {
    credential_id: Vec<u8>,
    prf: PrfOutput,
}

impl PasskeyUnlockKey {
    /// The credential that answered.
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }
}

impl Unlock {
    /// An assertion request for a backup, from its (still unauthenticated) header.
    ///
    /// With `discoverable` false, `allowCredentials` lists the header's passkey slots for `rp_id`,
    /// and a backup without any is [`Error::NoMatchingSlot`] at once; with `discoverable` true
    /// the list is empty and the user picks any passkey of the RP (the response's credential id
    /// then selects the slot).
    pub fn for_header(header: &Header, rp_id: &str, discoverable: bool) -> Result<Unlock> {
        Self::new(
            *header.keyring_id(),
            header.prf_input(),
            header.slots(),
            rp_id,
            discoverable,
        )
    }

    /// An assertion request for the device's keyring (to check that a passkey still unlocks it).
    pub fn for_keyring(keyring: &Keyring, rp_id: &str, discoverable: bool) -> Result<Unlock> {
        Self::new(
            *keyring.id(),
            keyring.prf_input(),
            keyring.slots(),
            rp_id,
            discoverable,
        )
    }

    /// An assertion request for any object sealed by a keyring's slots (a backup repository's
    /// config): its keyring id, PRF input and slots, as read from the still unauthenticated
    /// object. As [`for_header`](Self::for_header) otherwise.
    pub fn for_slots(
        keyring_id: KeyringId,
        prf_input: &[u8; 32],
        slots: &[Slot],
        rp_id: &str,
        discoverable: bool,
    ) -> Result<Unlock> {
        Self::new(keyring_id, prf_input, slots, rp_id, discoverable)
    }

    /// An assertion request for a re-key ([`Keyring::rekey`]): it names the passkeys of
    /// `old_slots` (the keyring being replaced) and asks for their PRF output under the *new*
    /// keyring's PRF input, so each answer enrolls that passkey into `new` ([`Self::renew`]):
    /// one assertion per remaining passkey, no new registration.
    pub fn for_renewal(old_slots: &[Slot], new: &Keyring, rp_id: &str) -> Result<Unlock> {
        let mut unlock = Self::new(*new.id(), new.prf_input(), old_slots, rp_id, false)?;
        unlock.renewing = old_slots
            .iter()
            .filter(|slot| slot.credential_id().is_some())
            .cloned()
            .collect();
        Ok(unlock)
    }

    /// Enrolls the passkey that answered a [`Self::for_renewal`] request into `new` (the
    /// re-keyed keyring), with the label, RP id, provider hint and backup flags of its old slot.
    /// A passkey already enrolled in `new` is [`Error::InvalidArgument`].
    pub fn renew(&self, new: &mut Keyring, key: &PasskeyUnlockKey) -> Result<SlotId> {
        if *new.id() != self.keyring_id || new.prf_input() != self.request.prf_input() {
            return Err(Error::InvalidArgument(
                "this renewal request was made for another keyring".into(),
            ));
        }
        let old = self
            .renewing
            .iter()
            .find(|slot| slot.credential_id() == Some(key.credential_id.as_slice()))
            .ok_or(Error::NoMatchingSlot)?;
        let SlotKind::Passkey {
            credential_id,
            rp_id,
            provider_hint,
            backup,
        } = old.kind()
        else {
            return Err(Error::NoMatchingSlot);
        };
        new.add_passkey(
            PasskeyEnrollment {
                credential_id: credential_id.clone(),
                rp_id: rp_id.clone(),
                label: old.label().to_owned(),
                provider_hint: *provider_hint,
                backup: *backup,
            },
            &key.prf,
        )
    }

    fn new(
        keyring_id: KeyringId,
        prf_input: &[u8; 32],
        slots: &[Slot],
        rp_id: &str,
        discoverable: bool,
    ) -> Result<Unlock> {
        let enrolled: Vec<Vec<u8>> = slots
            .iter()
            .filter_map(|slot| match slot.kind() {
                SlotKind::Passkey {
                    credential_id,
                    rp_id: slot_rp,
                    ..
                } if slot_rp == rp_id => Some(credential_id.clone()),
                _ => None,
            })
            .collect();
        if enrolled.is_empty() {
            return Err(Error::NoMatchingSlot);
        }
        let allow = if discoverable {
            Vec::new()
        } else {
            enrolled.clone()
        };
        Ok(Unlock {
            keyring_id,
            request: AssertionRequest::new(rp_id, allow, *prf_input)?,
            enrolled,
            renewing: Vec::new(),
        })
    }

    /// The assertion request to show: [`AssertionRequest::to_json`] for Credential Manager, its
    /// accessors for ASAuthorization.
    pub fn request(&self) -> &AssertionRequest {
        &self.request
    }

    /// Checks Credential Manager's `authenticationResponseJson`. A passkey that has no slot here
    /// is [`Error::NoMatchingSlot`]; a provider that returned no PRF output is
    /// [`Error::PrfUnsupported`]; a short or all-zero output is [`Error::BadPrfOutput`].
    pub fn verify_response(&self, response_json: &str) -> Result<PasskeyUnlockKey> {
        let response = AssertionResponse::from_json(response_json)?;
        let assertion = self.request.verify(&response)?;
        self.unlock_key(assertion)
    }

    /// Checks the values of an iOS `ASAuthorizationPlatformPublicKeyCredentialAssertion`.
    pub fn verify_typed(&self, assertion: &TypedAssertion) -> Result<PasskeyUnlockKey> {
        let assertion = self.request.accept_typed(assertion)?;
        self.unlock_key(assertion)
    }

    /// Opens the backup with a verified key. The container must be the one whose header built
    /// this request; another backup's container is [`Error::InvalidArgument`].
    pub fn open<R: Read>(
        &self,
        sealed: SealedContainer<R>,
        key: &PasskeyUnlockKey,
    ) -> Result<OpenedContainer<R>> {
        if *sealed.header().keyring_id() != self.keyring_id {
            return Err(Error::InvalidArgument(
                "this unlock request was made for another backup".into(),
            ));
        }
        sealed.unlock_with_passkey(&key.credential_id, &key.prf)
    }

    /// [`verify_response`](Self::verify_response) then [`open`](Self::open), for the common case.
    pub fn unlock_json<R: Read>(
        &self,
        sealed: SealedContainer<R>,
        response_json: &str,
    ) -> Result<OpenedContainer<R>> {
        let key = self.verify_response(response_json)?;
        self.open(sealed, &key)
    }

    fn unlock_key(&self, assertion: CredentialAssertion) -> Result<PasskeyUnlockKey> {
        if !self.enrolled.contains(&assertion.credential_id) {
            return Err(Error::NoMatchingSlot);
        }
        let first = assertion.prf.first().ok_or(Error::PrfUnsupported)?;
        Ok(PasskeyUnlockKey {
            prf: PrfOutput::from_slice(first)?,
            credential_id: assertion.credential_id,
        })
    }
}

/// Removes the passkey slot of `credential_id` from the keyring and rotates the root key, so
/// the passkey opens no later backup ([`Keyring::remove_slot`]). Without `force`, the last slot
/// (or the last one a new phone could use) is kept: [`Error::LastSlot`].
pub fn remove_passkey(keyring: &mut Keyring, credential_id: &[u8], force: bool) -> Result<Removal> {
    let slot_id = *keyring
        .slots()
        .iter()
        .find(|slot| slot.credential_id() == Some(credential_id))
        .ok_or(Error::NoMatchingSlot)?
        .id();
    keyring.remove_slot(&slot_id, force)
}
