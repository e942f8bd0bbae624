//! Fuzzes both WebAuthn response parsers. The first byte picks where the rest goes: as the whole
//! JSON document, or base64url-encoded into one binary field of an otherwise well-formed
//! response, so that the CBOR, authenticator-data and clientDataJSON parsers are reached too.
#![no_main]

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use keepsake_core::passkey::{AssertionResponse, RegistrationResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let encoded = URL_SAFE_NO_PAD.encode(rest);
    let client_data = URL_SAFE_NO_PAD
        .encode(br#"{"type":"webauthn.get","challenge":"AAAA","origin":"https://example.com"}"#);
    match selector % 5 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = RegistrationResponse::from_json(text);
                let _ = AssertionResponse::from_json(text);
            }
        }
        1 => {
            let json = format!(
                r#"{{"id":"AQID","rawId":"AQID","type":"public-key","response":{{"clientDataJSON":"{client_data}","attestationObject":"{encoded}"}},"clientExtensionResults":{{"prf":{{"enabled":true}}}}}}"#
            );
            let _ = RegistrationResponse::from_json(&json);
        }
        2 => {
            let json = format!(
                r#"{{"id":"AQID","rawId":"AQID","type":"public-key","response":{{"clientDataJSON":"{client_data}","authenticatorData":"{encoded}","signature":"AQID"}},"clientExtensionResults":{{"prf":{{"results":{{"first":"AQID"}}}}}}}}"#
            );
            let _ = AssertionResponse::from_json(&json);
        }
        3 => {
            let auth_data = URL_SAFE_NO_PAD.encode([0u8; 37]);
            let json = format!(
                r#"{{"id":"AQID","rawId":"AQID","type":"public-key","response":{{"clientDataJSON":"{encoded}","authenticatorData":"{auth_data}","signature":"AQID"}}}}"#
            );
            let _ = AssertionResponse::from_json(&json);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                // Arbitrary text inside the extension results, where providers differ most.
                let json = format!(
                    r#"{{"id":"AQID","rawId":"AQID","type":"public-key","response":{{"clientDataJSON":"{client_data}","authenticatorData":"AQID","signature":"AQID"}},"clientExtensionResults":{text}}}"#
                );
                let _ = AssertionResponse::from_json(&json);
            }
        }
    }
});
