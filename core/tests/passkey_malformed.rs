//! The response parsers against what real providers send (accepted) and everything else
//! (rejected with `MalformedWebAuthn` naming the JSON field path, or the specific typed error).
#![cfg(feature = "soft-authenticator")]
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use base64::{engine::general_purpose::URL_SAFE, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use keepsake_core::{
    keyring::Keyring,
    passkey::{
        soft::{SoftAuthenticator, SoftMode},
        AssertionResponse, Enrollment, EnrollmentStep, RegistrationResponse, RelyingParty, Unlock,
        UserAccount, MAX_JSON_LEN,
    },
    Error,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const RP: &str = "chat.example.com";

/// One way to break a valid response.
type Mutation = Box<dyn Fn(&mut Value)>;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text.as_str().unwrap()).unwrap()
}

fn begin(keyring: &Keyring) -> Enrollment {
    Enrollment::begin(
        keyring,
        RelyingParty {
            id: RP.into(),
            name: "Chat".into(),
        },
        UserAccount {
            id: vec![1; 16],
            name: "alice".into(),
            display_name: "Alice".into(),
        },
        "phone",
    )
    .unwrap()
}

/// A keyring, a pending enrollment and the soft authenticator's valid answer to it.
fn registration() -> (Keyring, Enrollment, Value) {
    let keyring = Keyring::create().unwrap();
    let enrollment = begin(&keyring);
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    let response = authenticator
        .create(&enrollment.registration_request().to_json())
        .unwrap();
    (
        keyring,
        enrollment,
        serde_json::from_str(&response).unwrap(),
    )
}

/// An enrolled keyring, an unlock request for it, and the valid answer to it.
fn assertion() -> (Unlock, Value) {
    let mut keyring = Keyring::create().unwrap();
    let mut enrollment = begin(&keyring);
    let mut authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    let created = authenticator
        .create(&enrollment.registration_request().to_json())
        .unwrap();
    let step = enrollment
        .finish_registration(&mut keyring, &created)
        .unwrap();
    assert!(matches!(step, EnrollmentStep::Enrolled(_)));
    let unlock = Unlock::for_keyring(&keyring, RP, false).unwrap();
    let response = authenticator.get(&unlock.request().to_json()).unwrap();
    (unlock, serde_json::from_str(&response).unwrap())
}

fn path_of(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::MalformedWebAuthn { path, .. }) => path,
        other => panic!("expected MalformedWebAuthn, got {other:?}"),
    }
}

/// Rewrites `clientDataJSON` at `pointer` with `edit`.
fn edit_client_data(value: &mut Value, edit: impl FnOnce(&mut Value)) {
    let mut client_data: Value =
        serde_json::from_slice(&unb64(&value["response"]["clientDataJSON"])).unwrap();
    edit(&mut client_data);
    value["response"]["clientDataJSON"] = json!(b64(client_data.to_string().as_bytes()));
}

/// Flips bits of the flags byte of the authenticator data held in `bytes`.
fn clear_flags(bytes: &mut [u8], mask: u8) {
    let hash = Sha256::digest(RP.as_bytes());
    let at = bytes
        .windows(32)
        .position(|window| window == hash.as_slice())
        .unwrap();
    bytes[at + 32] &= !mask;
}

#[test]
fn registration_structural_errors_name_the_field() {
    let (_, _, valid) = registration();
    let cases: Vec<(&str, Mutation)> = vec![
        ("$", Box::new(|v| *v = json!([1, 2]))),
        ("id", Box::new(|v| v["id"] = json!(42))),
        ("id", Box::new(|v| v["id"] = json!("a$b"))),
        (
            "id",
            Box::new(|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("id")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        ("rawId", Box::new(|v| v["rawId"] = json!("AAAA"))),
        ("type", Box::new(|v| v["type"] = json!("password"))),
        ("response", Box::new(|v| v["response"] = json!("x"))),
        (
            "response.clientDataJSON",
            Box::new(|v| v["response"]["clientDataJSON"] = json!("%%%")),
        ),
        (
            "response.clientDataJSON",
            Box::new(|v| v["response"]["clientDataJSON"] = json!(b64(b"not json"))),
        ),
        (
            "response.clientDataJSON.challenge",
            Box::new(|v| edit_client_data(v, |c| c["challenge"] = Value::Null)),
        ),
        (
            "response.clientDataJSON.challenge",
            Box::new(|v| edit_client_data(v, |c| c["challenge"] = json!("+/=="))),
        ),
        (
            "response.clientDataJSON.type",
            Box::new(|v| edit_client_data(v, |c| c["type"] = json!(7))),
        ),
        (
            "response.clientDataJSON.origin",
            Box::new(|v| edit_client_data(v, |c| c["origin"] = json!(false))),
        ),
        (
            "response.attestationObject",
            Box::new(|v| v["response"]["attestationObject"] = json!(b64(&[0xff]))),
        ),
        (
            "response.attestationObject",
            Box::new(|v| v["response"]["attestationObject"] = json!(null)),
        ),
        (
            "response.attestationObject.fmt",
            Box::new(|v| v["response"]["attestationObject"] = json!(b64(&[0xa0]))),
        ),
        (
            "response.attestationObject.authData",
            Box::new(|v| {
                // {"fmt": "none", "attStmt": {}, "authData": h'00'}
                let mut cbor = vec![0xa3, 0x63];
                cbor.extend(b"fmt");
                cbor.push(0x64);
                cbor.extend(b"none");
                cbor.push(0x67);
                cbor.extend(b"attStmt");
                cbor.extend([0xa0, 0x68]);
                cbor.extend(b"authData");
                cbor.extend([0x41, 0x00]);
                v["response"]["attestationObject"] = json!(b64(&cbor));
            }),
        ),
        (
            "authenticatorAttachment",
            Box::new(|v| v["authenticatorAttachment"] = json!(1)),
        ),
        (
            "clientExtensionResults",
            Box::new(|v| v["clientExtensionResults"] = json!([])),
        ),
        (
            "clientExtensionResults.prf.enabled",
            Box::new(|v| v["clientExtensionResults"]["prf"]["enabled"] = json!("yes")),
        ),
        (
            "clientExtensionResults.prf.results.first",
            Box::new(|v| v["clientExtensionResults"]["prf"]["results"]["first"] = json!("!")),
        ),
        (
            "clientExtensionResults.prf.results.first",
            Box::new(|v| v["clientExtensionResults"]["prf"]["results"] = json!({})),
        ),
        (
            "clientExtensionResults.prf.results.second",
            Box::new(|v| v["clientExtensionResults"]["prf"]["results"]["second"] = json!([])),
        ),
    ];
    for (expected, mutate) in cases {
        let mut value = valid.clone();
        mutate(&mut value);
        let path = path_of(RegistrationResponse::from_json(&value.to_string()));
        assert_eq!(path, expected, "for {value}");
    }
}

#[test]
fn documents_that_are_not_json_or_too_large_are_rejected_at_the_root() {
    for parse in [
        |t: &str| RegistrationResponse::from_json(t).map(drop),
        |t: &str| AssertionResponse::from_json(t).map(drop),
    ] {
        for text in ["", "{", "null", "\"str\"", "{\"id\": }"] {
            match parse(text) {
                Err(Error::MalformedWebAuthn { path, .. }) => assert_eq!(path, "$", "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let huge = format!("{{\"pad\":\"{}\"}}", "a".repeat(MAX_JSON_LEN));
        match parse(&huge) {
            Err(Error::MalformedWebAuthn { path, reason }) => {
                assert_eq!(path, "$");
                assert!(reason.contains("at most 65536"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn registration_is_checked_against_the_request() {
    let (mut keyring, mut enrollment, valid) = registration();
    let check = |value: &Value, enrollment: &mut Enrollment, keyring: &mut Keyring| {
        path_of(enrollment.finish_registration(keyring, &value.to_string()))
    };

    let mut wrong_type = valid.clone();
    edit_client_data(&mut wrong_type, |c| c["type"] = json!("webauthn.get"));
    assert_eq!(
        check(&wrong_type, &mut enrollment, &mut keyring),
        "response.clientDataJSON.type"
    );

    let mut wrong_challenge = valid.clone();
    edit_client_data(&mut wrong_challenge, |c| {
        c["challenge"] = json!(b64(&[0; 32]))
    });
    assert_eq!(
        check(&wrong_challenge, &mut enrollment, &mut keyring),
        "response.clientDataJSON.challenge"
    );

    let mut no_uv = valid.clone();
    let mut attestation = unb64(&no_uv["response"]["attestationObject"]);
    clear_flags(&mut attestation, 0x04);
    no_uv["response"]["attestationObject"] = json!(b64(&attestation));
    assert_eq!(
        check(&no_uv, &mut enrollment, &mut keyring),
        "response.attestationObject.authData.flags"
    );

    // A response for another RP (a confused or malicious provider).
    let mut other_rp_authenticator = SoftAuthenticator::new(SoftMode::PrfAtRegistration);
    let request: Value =
        serde_json::from_str(&enrollment.registration_request().to_json()).unwrap();
    let mut request = request;
    request["rp"]["id"] = json!("evil.example");
    let other = other_rp_authenticator.create(&request.to_string()).unwrap();
    assert_eq!(
        path_of(enrollment.finish_registration(&mut keyring, &other)),
        "response.attestationObject.authData.rpIdHash"
    );

    // The credential id in the authenticator data must be the one reported.
    let mut other_id = valid.clone();
    other_id["id"] = json!(b64(&[1; 16]));
    other_id["rawId"] = json!(b64(&[1; 16]));
    assert_eq!(
        check(&other_id, &mut enrollment, &mut keyring),
        "response.attestationObject.authData.credentialId"
    );

    // Nothing was enrolled by the failures; the valid response still works afterwards.
    assert!(keyring.slots().is_empty());
    let step = enrollment
        .finish_registration(&mut keyring, &valid.to_string())
        .unwrap();
    assert!(matches!(step, EnrollmentStep::Enrolled(_)));
}

#[test]
fn registration_prf_results_decide_the_next_step() {
    // `enabled` false, no `prf` member, or results without `enabled`: fail closed.
    for edit in [
        json!({ "enabled": false }),
        json!(null),
        json!({ "results": { "first": b64(&[3; 32]) } }),
    ] {
        let (mut keyring, mut enrollment, mut value) = registration();
        value["clientExtensionResults"]["prf"] = edit.clone();
        let result = enrollment.finish_registration(&mut keyring, &value.to_string());
        assert!(
            matches!(result, Err(Error::PrfUnsupported)),
            "{edit}: {result:?}"
        );
        assert!(keyring.slots().is_empty());
    }
    // Short and all-zero outputs are unusable.
    for first in [vec![1u8; 16], vec![0u8; 32], vec![1u8; 33]] {
        let (mut keyring, mut enrollment, mut value) = registration();
        value["clientExtensionResults"]["prf"]["results"]["first"] = json!(b64(&first));
        let result = enrollment.finish_registration(&mut keyring, &value.to_string());
        assert!(
            matches!(result, Err(Error::BadPrfOutput { .. })),
            "{result:?}"
        );
        assert!(keyring.slots().is_empty());
    }
}

#[test]
fn what_real_providers_send_is_accepted() {
    let (mut keyring, mut enrollment, mut value) = registration();
    // Extra members everywhere, padded base64url, nulls and missing optional members.
    value["futureField"] = json!({ "nested": [1, 2] });
    value["response"]["publicKeyAlgorithm"] = json!(-7);
    value["clientExtensionResults"]["largeBlob"] = json!({ "supported": false });
    value["authenticatorAttachment"] = Value::Null;
    value["response"]
        .as_object_mut()
        .unwrap()
        .remove("transports");
    let raw_id = unb64(&value["rawId"]);
    value["id"] = json!(URL_SAFE.encode(&raw_id));
    value["rawId"] = json!(URL_SAFE.encode(&raw_id));
    assert!(value["rawId"].as_str().unwrap().ends_with('='));
    edit_client_data(&mut value, |c| {
        c["crossOrigin"] = json!(false);
        c["other_keys_can_be_added_here"] =
            json!("do not compare clientDataJSON against a template");
    });
    value["response"]["clientDataJSON"] =
        json!(URL_SAFE.encode(unb64(&value["response"]["clientDataJSON"])));
    let parsed = RegistrationResponse::from_json(&value.to_string()).unwrap();
    assert!(parsed.transports.is_empty());
    assert_eq!(parsed.authenticator_attachment, None);
    assert_eq!(parsed.attestation_format, "none");
    let step = enrollment
        .finish_registration(&mut keyring, &value.to_string())
        .unwrap();
    assert!(matches!(step, EnrollmentStep::Enrolled(_)));
    assert!(!format!("{parsed:?}").contains(
        value["clientExtensionResults"]["prf"]["results"]["first"]
            .as_str()
            .unwrap()
    ));

    let (unlock, mut value) = assertion();
    value["response"]
        .as_object_mut()
        .unwrap()
        .remove("userHandle");
    value
        .as_object_mut()
        .unwrap()
        .remove("authenticatorAttachment");
    value["clientExtensionResults"]["prf"]["results"]["second"] = Value::Null;
    value["extra"] = json!(true);
    assert!(unlock.verify_response(&value.to_string()).is_ok());
}

#[test]
fn assertion_errors_name_the_field_or_the_meaning() {
    let (unlock, valid) = assertion();
    let structural: Vec<(&str, Mutation)> = vec![
        (
            "response.authenticatorData",
            Box::new(|v| {
                v["response"]
                    .as_object_mut()
                    .unwrap()
                    .remove("authenticatorData");
            }),
        ),
        (
            "response.authenticatorData",
            Box::new(|v| v["response"]["authenticatorData"] = json!(b64(&[0; 36]))),
        ),
        (
            "response.signature",
            Box::new(|v| v["response"]["signature"] = json!("")),
        ),
        (
            "response.signature",
            Box::new(|v| v["response"]["signature"] = json!({})),
        ),
        ("rawId", Box::new(|v| v["rawId"] = json!(b64(&[0; 1024])))),
        (
            "clientExtensionResults.prf",
            Box::new(|v| v["clientExtensionResults"]["prf"] = json!(true)),
        ),
    ];
    for (expected, mutate) in structural {
        let mut value = valid.clone();
        mutate(&mut value);
        assert_eq!(
            path_of(AssertionResponse::from_json(&value.to_string())),
            expected,
            "{value}"
        );
        assert_eq!(
            path_of(unlock.verify_response(&value.to_string())),
            expected
        );
    }

    let mut wrong_type = valid.clone();
    edit_client_data(&mut wrong_type, |c| c["type"] = json!("webauthn.create"));
    assert_eq!(
        path_of(unlock.verify_response(&wrong_type.to_string())),
        "response.clientDataJSON.type"
    );

    let mut no_uv = valid.clone();
    let mut data = unb64(&no_uv["response"]["authenticatorData"]);
    clear_flags(&mut data, 0x04);
    no_uv["response"]["authenticatorData"] = json!(b64(&data));
    assert_eq!(
        path_of(unlock.verify_response(&no_uv.to_string())),
        "response.authenticatorData.flags"
    );

    let mut other_rp = valid.clone();
    let mut data = unb64(&other_rp["response"]["authenticatorData"]);
    data[0] ^= 1;
    other_rp["response"]["authenticatorData"] = json!(b64(&data));
    assert_eq!(
        path_of(unlock.verify_response(&other_rp.to_string())),
        "response.authenticatorData.rpIdHash"
    );

    let mut stranger = valid.clone();
    stranger["id"] = json!(b64(&[5; 16]));
    stranger["rawId"] = json!(b64(&[5; 16]));
    assert!(matches!(
        unlock.verify_response(&stranger.to_string()),
        Err(Error::NoMatchingSlot)
    ));

    let mut no_prf = valid.clone();
    no_prf["clientExtensionResults"] = json!({});
    assert!(matches!(
        unlock.verify_response(&no_prf.to_string()),
        Err(Error::PrfUnsupported)
    ));

    for first in [vec![], vec![7u8; 31], vec![0u8; 32], vec![7u8; 64]] {
        let mut bad = valid.clone();
        bad["clientExtensionResults"]["prf"]["results"]["first"] = json!(b64(&first));
        assert!(
            matches!(
                unlock.verify_response(&bad.to_string()),
                Err(Error::BadPrfOutput { .. })
            ),
            "{} bytes",
            first.len()
        );
    }
}

/// Real responses whose unused members are malformed (`transports` as a string, as py_webauthn's
/// fixture records; `userHandle` that is not base64url) still parse: the core never reads them.
#[test]
fn malformed_members_the_core_does_not_use_are_ignored() {
    let fixture = |name: &str| -> Value {
        let path = format!(
            "{}/tests/passkey_fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let piped = fixture("pywebauthn-ignores-non-list-transports.json");
    let parsed = RegistrationResponse::from_json(&piped.to_string()).unwrap();
    assert!(parsed.transports.is_empty());

    let mut recorded_registration = fixture("1password-registration.json");
    for (transports, kept) in [
        (json!("usb|nfc|ble"), vec![]),
        (json!({"internal": true}), vec![]),
        (
            json!(["internal", 3, null, "hybrid"]),
            vec!["internal", "hybrid"],
        ),
    ] {
        recorded_registration["response"]["transports"] = transports;
        let parsed = RegistrationResponse::from_json(&recorded_registration.to_string()).unwrap();
        assert_eq!(parsed.transports, kept);
    }

    let mut recorded_assertion = fixture("1password-assertion.json");
    let handle = AssertionResponse::from_json(&recorded_assertion.to_string())
        .unwrap()
        .user_handle;
    assert!(handle.is_some());
    for user_handle in [json!(12), json!("not base64url!"), json!({}), json!([1])] {
        recorded_assertion["response"]["userHandle"] = user_handle;
        let parsed = AssertionResponse::from_json(&recorded_assertion.to_string()).unwrap();
        assert_eq!(parsed.user_handle, None);
    }

    // And through the whole flow: enrollment and unlock still succeed.
    let (mut keyring, mut enrollment, mut value) = registration();
    value["response"]["transports"] = json!("internal");
    let step = enrollment
        .finish_registration(&mut keyring, &value.to_string())
        .unwrap();
    assert!(matches!(step, EnrollmentStep::Enrolled(_)));
    let (unlock, mut value) = assertion();
    value["response"]["userHandle"] = json!(12);
    assert!(unlock.verify_response(&value.to_string()).is_ok());
}
