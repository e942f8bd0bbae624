//! Base64url as WebAuthn uses it: written without padding, read with or without.

use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine,
};

/// Writes unpadded base64url, the form WebAuthn L3 and Credential Manager use.
const WRITE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false),
);

/// Reads base64url whether or not a provider padded it (some do).
const READ: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Unpadded base64url of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    WRITE.encode(bytes)
}

/// Decodes base64url, padded or not; the error says what was wrong, for the caller's path.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
    READ.decode(text)
        .map_err(|err| format!("invalid base64url: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_without_padding_and_reads_both_forms() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn rejects_the_standard_alphabet_and_junk() {
        assert!(decode("+/8").is_err());
        assert!(decode("ab$d").is_err());
        assert!(decode("a").is_err());
    }
}
