//! Names for well-known passkey providers' AAGUIDs, so an app can show which password manager
//! holds the passkey of a slot. A hint only: the AAGUID is self-reported, and Apple reports zeros
//! outside managed devices. Source: the community list passkeydeveloper/passkey-authenticator-aaguids.

/// (AAGUID in its canonical hyphenated form, provider name).
const KNOWN: [(&str, &str); 6] = [
    (
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "Google Password Manager",
    ),
    ("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    (
        "dd4ec289-e01d-41c9-bb89-70fa845d4bf2",
        "iCloud Keychain (managed)",
    ),
    ("bada5566-a7aa-401f-bd96-45619a55120d", "1Password"),
    ("53414d53-554e-4700-0000-000000000000", "Samsung Pass"),
    // ASCII "keepsake-softkey": the software authenticator (feature `soft-authenticator`).
    (
        "6b656570-7361-6b65-2d73-6f66746b6579",
        "Keepsake software authenticator",
    ),
];

/// The provider's name for a slot's provider hint, when it is a well-known one.
pub fn provider_name(aaguid: &[u8; 16]) -> Option<&'static str> {
    let text = aaguid_string(aaguid);
    KNOWN
        .iter()
        .find(|(known, _)| *known == text)
        .map(|(_, name)| *name)
}

/// The canonical hyphenated form (`8-4-4-4-12` lowercase hex digits).
pub fn aaguid_string(aaguid: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (index, byte) in aaguid.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_known_providers_and_only_those() {
        let gpm: [u8; 16] = hex::decode("ea9b8d664d011d213ce4b6b48cb575d4")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(aaguid_string(&gpm), "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4");
        assert_eq!(provider_name(&gpm), Some("Google Password Manager"));
        assert_eq!(
            provider_name(b"keepsake-softkey"),
            Some("Keepsake software authenticator")
        );
        assert_eq!(provider_name(&[0; 16]), None);
        assert_eq!(provider_name(&[1; 16]), None);
    }
}
