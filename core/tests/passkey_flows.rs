//! End-to-end passkey flows through the public API with the software authenticator standing in
//! for Credential Manager (JSON) and ASAuthorization (typed values), in every provider mode.
#![cfg(feature = "soft-authenticator")]
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::io::{Cursor, Read, Write};

use keepsake_core::{
    format::{self, ContainerWriter, Metadata, PayloadKind, WriteOptions},
    keyring::{BackupFlags, Keyring, SlotKind},
    passkey::{
        remove_passkey,
        soft::{SoftAuthenticator, SoftMode, SOFT_AUTHENTICATOR_AAGUID},
        Enrollment, EnrollmentStep, RelyingParty, Unlock, UserAccount,
    },
    Error,
};

const RP: &str = "chat.example.com";
const PAYLOAD: &[u8] = b"the whole chat history";

fn rp() -> RelyingParty {
    RelyingParty {
        id: RP.into(),
        name: "Example Chat".into(),
    }
}

fn user() -> UserAccount {
    UserAccount {
        id: b"user-4711".to_vec(),
        name: "+15551234567".into(),
        display_name: "Alice".into(),
    }
}

/// Which platform surface the test drives.
#[derive(Clone, Copy, Debug)]
enum Path {
    Json,
    Typed,
}

/// Runs a whole enrollment against `authenticator` on `path`; returns the step results.
fn enroll(
    keyring: &mut Keyring,
    authenticator: &mut SoftAuthenticator,
    path: Path,
) -> Result<(bool, keepsake_core::keyring::SlotId), Error> {
    let mut enrollment = Enrollment::begin(keyring, rp(), user(), "test passkey")?;
    let step = match path {
        Path::Json => {
            let json = enrollment.registration_request().to_json();
            let response = authenticator.create(&json)?;
            enrollment.finish_registration(keyring, &response)?
        }
        Path::Typed => {
            let registration = authenticator.create_typed(enrollment.registration_request())?;
            enrollment.finish_registration_typed(keyring, &registration)?
        }
    };
    match step {
        EnrollmentStep::Enrolled(slot) => Ok((false, slot)),
        EnrollmentStep::NeedsAssertion(request) => {
            let slot = match path {
                Path::Json => {
                    let response = authenticator.get(&request.to_json())?;
                    enrollment.finish_assertion(keyring, &response)?
                }
                Path::Typed => {
                    let assertion = authenticator.get_typed(&request)?;
                    enrollment.finish_assertion_typed(keyring, &assertion)?
                }
            };
            assert_eq!(enrollment.enrolled_slot(), Some(&slot));
            Ok((true, slot))
        }
    }
}

fn backup(keyring: &Keyring) -> Vec<u8> {
    let mut writer = ContainerWriter::new(
        Vec::new(),
        keyring,
        PayloadKind::ChatArchive,
        &Metadata::new(),
        &WriteOptions::for_generation(0),
    )
    .unwrap();
    writer.write_all(PAYLOAD).unwrap();
    writer.finish().unwrap()
}

/// Unlocks `file` through `path`, returning the payload.
fn restore(
    file: &[u8],
    authenticator: &mut SoftAuthenticator,
    path: Path,
    discoverable: bool,
) -> Result<Vec<u8>, Error> {
    let sealed = format::open(Cursor::new(file))?;
    let unlock = Unlock::for_header(sealed.header(), RP, discoverable)?;
    let opened = match path {
        Path::Json => {
            let response = authenticator.get(&unlock.request().to_json())?;
            unlock.unlock_json(sealed, &response)?
        }
        Path::Typed => {
            let assertion = authenticator.get_typed(unlock.request())?;
            let key = unlock.verify_typed(&assertion)?;
            unlock.open(sealed, &key)?
        }
    };
    let mut payload = Vec::new();
    opened.into_payload()?.read_to_end(&mut payload)?;
    Ok(payload)
}

#[test]
fn enrollment_and_unlock_round_trip_in_every_prf_mode_and_path() {
    for path in [Path::Json, Path::Typed] {
        for (mode, needs_assertion) in [
            (SoftMode::PrfAtRegistration, false),
            (SoftMode::PrfEnabledWithoutResults, true),
        ] {
            let mut keyring = Keyring::create().unwrap();
            let mut authenticator = SoftAuthenticator::new(mode);
            let (asserted, slot) = enroll(&mut keyring, &mut authenticator, path).unwrap();
            assert_eq!(asserted, needs_assertion, "{path:?} {mode:?}");
            let enrolled = keyring.slots().iter().find(|s| s.id() == &slot).unwrap();
            match enrolled.kind() {
                SlotKind::Passkey {
                    credential_id,
                    rp_id,
                    provider_hint,
                    ..
                } => {
                    assert_eq!(credential_id, &authenticator.credential_ids()[0]);
                    assert_eq!(rp_id, RP);
                    assert_eq!(*provider_hint, Some(SOFT_AUTHENTICATOR_AAGUID));
                }
                other => panic!("unexpected slot kind {other:?}"),
            }
            let file = backup(&keyring);
            for discoverable in [false, true] {
                for restore_path in [Path::Json, Path::Typed] {
                    let payload =
                        restore(&file, &mut authenticator, restore_path, discoverable).unwrap();
                    assert_eq!(payload, PAYLOAD, "{path:?} {mode:?} {restore_path:?}");
                }
            }
        }
    }
}

#[test]
fn a_provider_without_prf_is_refused_and_nothing_is_enrolled() {
    for path in [Path::Json, Path::Typed] {
        let mut keyring = Keyring::create().unwrap();
        let mut authenticator = SoftAuthenticator::new(SoftMode::NoPrf);
        let err = enroll(&mut keyring, &mut authenticator, path).unwrap_err();
        assert!(matches!(err, Error::PrfUnsupported), "{path:?}: {err:?}");
        assert!(err.to_string().contains("recovery key"));
        assert!(keyring.slots().is_empty());
    }
}

#[test]
fn user_cancellation_is_a_typed_error_and_the_enrollment_can_be_retried() {
    let mut keyring = Keyring::create().unwrap();
    let mut authenticator = SoftAuthenticator::new(SoftMode::UserCancels);
    let mut enrollment = Enrollment::begin(&keyring, rp(), user(), "phone").unwrap();
    let request = enrollment.registration_request().to_json();
    assert!(matches!(
        authenticator.create(&request),
        Err(Error::Cancelled)
    ));
    // A garbage response does not advance or break the enrollment either.
    assert!(matches!(
        enrollment.finish_registration(&mut keyring, "not json"),
        Err(Error::MalformedWebAuthn { .. })
    ));
    authenticator.set_mode(SoftMode::PrfAtRegistration);
    let response = authenticator.create(&request).unwrap();
    let step = enrollment
        .finish_registration(&mut keyring, &response)
        .unwrap();
    assert!(matches!(step, EnrollmentStep::Enrolled(_)));
    assert_eq!(keyring.slots().len(), 1);
    // Finished enrollments refuse further input.
    assert!(matches!(
        enrollment.finish_registration(&mut keyring, &response),
        Err(Error::InvalidArgument(_))
    ));

    let file = backup(&keyring);
    authenticator.set_mode(SoftMode::UserCancels);
    assert!(matches!(
        restore(&file, &mut authenticator, Path::Json, false),
        Err(Error::Cancelled)
    ));
}

#[test]
fn a_response_to_another_request_is_rejected_by_challenge() {
    let mut keyring = Keyring::create().unwrap();
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    enroll(&mut keyring, &mut authenticator, Path::Json).unwrap();
    let file = backup(&keyring);
    let sealed = format::open(Cursor::new(&file)).unwrap();
    let first = Unlock::for_header(sealed.header(), RP, false).unwrap();
    let second = Unlock::for_header(sealed.header(), RP, false).unwrap();
    let response = authenticator.get(&first.request().to_json()).unwrap();
    match second.verify_response(&response) {
        Err(Error::MalformedWebAuthn { path, .. }) => {
            assert_eq!(path, "response.clientDataJSON.challenge")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(first.verify_response(&response).is_ok());
}

#[test]
fn another_backups_passkey_has_no_slot_and_a_deleted_passkey_falls_back_to_the_recovery_key() {
    let mut keyring = Keyring::create().unwrap();
    let (_, recovery_key) = keyring.add_recovery_key("recovery").unwrap();
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    enroll(&mut keyring, &mut authenticator, Path::Json).unwrap();
    let file = backup(&keyring);

    // A passkey enrolled for some other keyring, answering a discoverable sign-in.
    let mut other_keyring = Keyring::create().unwrap();
    let mut stranger = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    enroll(&mut other_keyring, &mut stranger, Path::Json).unwrap();
    for path in [Path::Json, Path::Typed] {
        let err = restore(&file, &mut stranger, path, true).unwrap_err();
        assert!(matches!(err, Error::NoMatchingSlot), "{err:?}");
        assert_eq!(
            err.to_string(),
            "this passkey was not enrolled for this backup"
        );
    }

    // The user deletes the passkey in the provider: no passkey can answer any more.
    let id = authenticator.credential_ids()[0].clone();
    assert!(authenticator.delete_credential(&id));
    assert!(matches!(
        restore(&file, &mut authenticator, Path::Json, false),
        Err(Error::NoMatchingSlot)
    ));
    // The recovery key still opens the backup.
    let sealed = format::open(Cursor::new(&file)).unwrap();
    let mut payload = Vec::new();
    sealed
        .unlock_with_recovery_key(&recovery_key)
        .unwrap()
        .into_payload()
        .unwrap()
        .read_to_end(&mut payload)
        .unwrap();
    assert_eq!(payload, PAYLOAD);
}

#[test]
fn a_second_passkey_is_excluded_from_duplicates_and_can_be_removed() {
    let mut keyring = Keyring::create().unwrap();
    let mut phone = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    let mut laptop = SoftAuthenticator::new(SoftMode::PrfEnabledWithoutResults);
    enroll(&mut keyring, &mut phone, Path::Json).unwrap();
    // The same provider is asked to exclude its existing passkey.
    let again = Enrollment::begin(&keyring, rp(), user(), "again").unwrap();
    assert_eq!(
        again.registration_request().exclude_credentials(),
        phone.credential_ids().as_slice()
    );
    assert!(phone
        .create(&again.registration_request().to_json())
        .is_err());
    assert!(again.enrolled_slot().is_none());
    enroll(&mut keyring, &mut laptop, Path::Typed).unwrap();
    assert_eq!(keyring.slots().len(), 2);
    // The software authenticator models a synced passkey: BE and BS come from its authenticator
    // data (JSON path) and are recorded in the slot; the typed path does not report them.
    let flags: Vec<_> = keyring.slots().iter().map(|s| s.backup_flags()).collect();
    let synced = BackupFlags {
        eligible: true,
        state: true,
    };
    assert_eq!(flags, [Some(synced), None]);

    // Both passkeys open the same backup.
    let file = backup(&keyring);
    assert_eq!(
        restore(&file, &mut phone, Path::Json, false).unwrap(),
        PAYLOAD
    );
    assert_eq!(
        restore(&file, &mut laptop, Path::Typed, false).unwrap(),
        PAYLOAD
    );

    // Removing the phone's passkey: later backups no longer open with it.
    let phone_id = phone.credential_ids()[0].clone();
    let removed = remove_passkey(&mut keyring, &phone_id, false).unwrap();
    assert_eq!(removed.slot.credential_id(), Some(phone_id.as_slice()));
    assert_eq!(
        removed.rotation.new_generation,
        removed.rotation.old_generation + 1
    );
    assert!(matches!(
        remove_passkey(&mut keyring, &phone_id, false),
        Err(Error::NoMatchingSlot)
    ));
    let later = backup(&keyring);
    assert!(matches!(
        restore(&later, &mut phone, Path::Json, true),
        Err(Error::NoMatchingSlot)
    ));
    assert_eq!(
        restore(&later, &mut laptop, Path::Json, false).unwrap(),
        PAYLOAD
    );
    // The last slot stays.
    let laptop_id = laptop.credential_ids()[0].clone();
    assert!(matches!(
        remove_passkey(&mut keyring, &laptop_id, false),
        Err(Error::LastSlot { .. })
    ));
}

#[test]
fn a_backup_without_passkey_slots_for_the_rp_gets_no_request() {
    let mut keyring = Keyring::create().unwrap();
    keyring.add_recovery_key("recovery").unwrap();
    let file = backup(&keyring);
    let sealed = format::open(Cursor::new(&file)).unwrap();
    assert!(matches!(
        Unlock::for_header(sealed.header(), RP, true),
        Err(Error::NoMatchingSlot)
    ));
}

#[test]
fn an_unlock_for_one_backup_does_not_open_another() {
    let mut keyring = Keyring::create().unwrap();
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    enroll(&mut keyring, &mut authenticator, Path::Json).unwrap();
    let mut other = Keyring::create().unwrap();
    enroll(&mut other, &mut authenticator, Path::Json).unwrap();
    let (mine, theirs) = (backup(&keyring), backup(&other));
    let sealed_mine = format::open(Cursor::new(&mine)).unwrap();
    let unlock = Unlock::for_header(sealed_mine.header(), RP, true).unwrap();
    // Discoverable: the newest credential (enrolled in `other`) answers; it has no slot here.
    let response = authenticator.get(&unlock.request().to_json()).unwrap();
    assert!(matches!(
        unlock.verify_response(&response),
        Err(Error::NoMatchingSlot)
    ));
    // With allowCredentials the right passkey answers, but not for another backup's container.
    let unlock = Unlock::for_header(sealed_mine.header(), RP, false).unwrap();
    let key = unlock
        .verify_response(&authenticator.get(&unlock.request().to_json()).unwrap())
        .unwrap();
    let sealed_theirs = format::open(Cursor::new(&theirs)).unwrap();
    assert!(matches!(
        unlock.open(sealed_theirs, &key),
        Err(Error::InvalidArgument(_))
    ));
    assert!(unlock.open(sealed_mine, &key).is_ok());
}

#[test]
fn the_device_keyring_can_be_checked_with_a_passkey() {
    let mut keyring = Keyring::create().unwrap();
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    enroll(&mut keyring, &mut authenticator, Path::Json).unwrap();
    let unlock = Unlock::for_keyring(&keyring, RP, false).unwrap();
    let assertion = authenticator.get_typed(unlock.request()).unwrap();
    let key = unlock.verify_typed(&assertion).unwrap();
    assert_eq!(key.credential_id(), authenticator.credential_ids()[0]);
}

#[test]
fn enrollment_refuses_before_prompting_when_the_slot_could_not_be_stored() {
    let keyring = Keyring::create().unwrap();
    let long_label = "x".repeat(257);
    assert!(matches!(
        Enrollment::begin(&keyring, rp(), user(), &long_label),
        Err(Error::InvalidArgument(_))
    ));
    let mut full = Keyring::create().unwrap();
    while full.slots().len() < keepsake_core::keyring::MAX_SLOTS {
        full.add_recovery_key("r").unwrap();
    }
    assert!(matches!(
        Enrollment::begin(&full, rp(), user(), "phone"),
        Err(Error::LimitExceeded { .. })
    ));
}
