//! The recovery key: a 256-bit secret the user writes down, as 64 characters.
//!
//! # Encoding
//!
//! Alphabet: Crockford base32, `0123456789ABCDEFGHJKMNPQRSTVWXYZ` (symbol values 0..=31; no
//! `I L O U`). Shown as 16 groups of 4 joined by `-`. Parsing ignores case, whitespace and `-`,
//! and reads `O` as `0` and `I`/`L` as `1`, as Crockford specifies.
//!
//! The 64 symbols are 58 data symbols then 6 check symbols:
//! - data: the 290 bits `secret (256) || tag (34)` cut into 5-bit symbols, most significant bit
//!   first, where `tag` is the first 34 bits of `SHA-256("keepsake/v1/recovery-key/tag" || secret)`;
//! - check: the BCH code over GF(32) of BIP-173 (bech32), computed over the 58 data symbols alone
//!   (no human-readable part): `polymod(data || 000000) XOR C` split into six 5-bit symbols, most
//!   significant first, with the final constant `C = 0x278353cb`, the top 30 bits of
//!   `SHA-256("keepsake/v1/recovery-key/checksum")`. A string is valid when
//!   `polymod(all 64 symbols) == C`.
//!
//! The bech32 code detects every error that touches at most 4 characters in strings of up to 89
//! characters, and the code is linear (the constant only shifts the valid residue), so every
//! single wrong character and every swap of two neighbours is detected, and reported as
//! [`Error::RecoveryKeyTypo`], with the position when the error is one of those two (the tests
//! check this for every position and difference, which by linearity covers every key). A larger
//! error passes the check symbols with probability about 2^-30, and then the 34-bit tag still
//! catches all but 2^-34 of those, so a mistyped key is practically never taken for a wrong one.

use std::{fmt, str::FromStr, sync::OnceLock};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{
    crypto::{labels, random_bytes, KEY_LEN},
    Error, Result,
};

/// Crockford base32 symbols, by value.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a recovery key, separators excluded.
pub const RECOVERY_KEY_LEN: usize = 64;
/// Characters per display group.
const GROUP_LEN: usize = 4;
/// Data symbols: 256 secret bits and 34 tag bits.
const DATA_SYMBOLS: usize = 58;
/// Bits of the embedded tag.
const TAG_BITS: usize = DATA_SYMBOLS * 5 - KEY_LEN * 8;
/// Bytes holding the data bits (290 bits, rounded up).
const DATA_BYTES: usize = (DATA_SYMBOLS * 5).div_ceil(8);
/// The BIP-173 generator coefficients.
const GENERATOR: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
/// Final constant: top 30 bits of `SHA-256(labels::RECOVERY_KEY_CHECKSUM)`.
const CHECKSUM_CONSTANT: u32 = 0x278353cb;

/// A 256-bit recovery secret. Its `Display` is the 64-character grouped form, shown to the user
/// once; `Debug` is redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RecoveryKey {
    secret: [u8; KEY_LEN],
}

/// One step of the bech32 checksum: multiply by x and add `value`, modulo the generator.
fn polymod_step(checksum: u32, value: u8) -> u32 {
    let top = checksum >> 25;
    let mut next = ((checksum & 0x01ff_ffff) << 5) ^ u32::from(value);
    for (bit, coefficient) in GENERATOR.iter().enumerate() {
        if (top >> bit) & 1 == 1 {
            next ^= coefficient;
        }
    }
    next
}

fn polymod(symbols: &[u8]) -> u32 {
    symbols
        .iter()
        .fold(1, |checksum, &v| polymod_step(checksum, v))
}

/// Bit `index` of `bytes`, most significant bit first (0 past the end).
fn bit(bytes: &[u8], index: usize) -> u8 {
    bytes
        .get(index / 8)
        .map_or(0, |byte| (byte >> (7 - index % 8)) & 1)
}

/// The first 34 bits of the tag, in 5 bytes (the last 6 bits zero).
fn tag(secret: &[u8; KEY_LEN]) -> Zeroizing<[u8; 5]> {
    let digest: Zeroizing<[u8; 32]> = Zeroizing::new(
        Sha256::new()
            .chain_update(labels::RECOVERY_KEY_TAG)
            .chain_update(secret)
            .finalize()
            .into(),
    );
    let mut tag = Zeroizing::new([0u8; 5]);
    for (out, byte) in tag.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    // Keep TAG_BITS - 32 = 2 bits of the fifth byte.
    tag[4] &= 0xffu8 << (40 - TAG_BITS);
    tag
}

fn typo(detail: String) -> Error {
    Error::RecoveryKeyTypo { detail }
}

/// "position 17 (group 5)" for a 0-based symbol index.
fn position(index: usize) -> String {
    format!("position {} (group {})", index + 1, index / GROUP_LEN + 1)
}

fn symbol_value(character: char) -> Option<u8> {
    match character.to_ascii_uppercase() {
        'O' => Some(0),
        'I' | 'L' => Some(1),
        upper => ALPHABET
            .iter()
            .position(|&symbol| char::from(symbol) == upper)
            .and_then(|value| u8::try_from(value).ok()),
    }
}

/// `effects[p][d]`: how XORing `d` into the symbol at position `p` changes the checksum. The
/// checksum is linear in the symbols, so the effects of several errors add up by XOR.
type ErrorEffects = [[u32; 32]; RECOVERY_KEY_LEN];

fn error_effects() -> &'static ErrorEffects {
    static EFFECTS: OnceLock<ErrorEffects> = OnceLock::new();
    EFFECTS.get_or_init(|| {
        let mut effects = [[0u32; 32]; RECOVERY_KEY_LEN];
        for difference in 1..32u8 {
            let mut change = u32::from(difference);
            for row in effects.iter_mut().rev() {
                row[usize::from(difference)] = change;
                change = polymod_step(change, 0);
            }
        }
        effects
    })
}

/// Names the error when the checksum fails: a single wrong character or a swap of neighbours is
/// located exactly (the code's distance makes that location unique); anything else is reported
/// without a position.
fn describe_checksum_error(symbols: &[u8; RECOVERY_KEY_LEN], residue: u32) -> String {
    let effect = error_effects();
    for (index, row) in effect.iter().enumerate() {
        if row.iter().skip(1).any(|&change| change == residue) {
            return format!("the character at {} is wrong", position(index));
        }
    }
    for (index, pair) in symbols.windows(2).enumerate() {
        let difference = usize::from(pair[0] ^ pair[1]);
        let swapped = effect[index][difference] ^ effect[index + 1][difference];
        if difference != 0 && swapped == residue {
            return format!(
                "the characters at positions {} and {} look swapped",
                index + 1,
                index + 2
            );
        }
    }
    "checksum mismatch: more than one character is wrong".into()
}

impl RecoveryKey {
    /// A fresh recovery key from the OS random number generator.
    pub fn generate() -> Result<RecoveryKey> {
        Ok(RecoveryKey {
            secret: random_bytes()?,
        })
    }

    /// A recovery key with a known secret.
    #[cfg(test)]
    pub(crate) fn from_secret(secret: [u8; KEY_LEN]) -> RecoveryKey {
        RecoveryKey { secret }
    }

    /// The 256-bit secret, input keying material of the recovery slot's KEK.
    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.secret
    }

    /// Parses a recovery key as typed: case-insensitive, whitespace and `-` ignored, `O` read as
    /// `0`, `I` and `L` as `1`. Any mistake is [`Error::RecoveryKeyTypo`] saying what and where.
    pub fn parse(input: &str) -> Result<RecoveryKey> {
        let mut symbols = Zeroizing::new([0u8; RECOVERY_KEY_LEN]);
        let mut count = 0usize;
        for character in input.chars() {
            if character.is_whitespace() || character == '-' {
                continue;
            }
            let value = symbol_value(character).ok_or_else(|| {
                typo(format!(
                    "invalid character {character:?} at {}",
                    position(count)
                ))
            })?;
            if let Some(symbol) = symbols.get_mut(count) {
                *symbol = value;
            }
            count += 1;
        }
        if count != RECOVERY_KEY_LEN {
            return Err(typo(format!(
                "expected {RECOVERY_KEY_LEN} characters, got {count}"
            )));
        }
        let residue = polymod(symbols.as_ref()) ^ CHECKSUM_CONSTANT;
        if residue != 0 {
            return Err(typo(describe_checksum_error(&symbols, residue)));
        }

        let mut data = Zeroizing::new([0u8; DATA_BYTES]);
        for (index, symbol) in symbols.iter().take(DATA_SYMBOLS).enumerate() {
            for offset in 0..5 {
                let bit_index = index * 5 + offset;
                if let Some(byte) = data.get_mut(bit_index / 8) {
                    *byte |= ((symbol >> (4 - offset)) & 1) << (7 - bit_index % 8);
                }
            }
        }
        let (secret_bytes, stored_tag) = data.split_at(KEY_LEN);
        let key = RecoveryKey {
            secret: secret_bytes.try_into().map_err(|_| typo("length".into()))?,
        };
        if !bool::from(tag(&key.secret).ct_eq(stored_tag)) {
            return Err(typo(
                "checksum mismatch: several characters are wrong".into(),
            ));
        }
        Ok(key)
    }

    /// The 64 symbol values: data symbols, then check symbols.
    fn symbols(&self) -> Zeroizing<[u8; RECOVERY_KEY_LEN]> {
        let mut data = Zeroizing::new([0u8; DATA_BYTES]);
        let (secret_part, tag_part) = data.split_at_mut(KEY_LEN);
        secret_part.copy_from_slice(&self.secret);
        tag_part.copy_from_slice(tag(&self.secret).as_ref());

        let mut symbols = Zeroizing::new([0u8; RECOVERY_KEY_LEN]);
        for (index, symbol) in symbols.iter_mut().take(DATA_SYMBOLS).enumerate() {
            *symbol = (0..5).fold(0, |acc, offset| {
                (acc << 1) | bit(data.as_ref(), index * 5 + offset)
            });
        }
        let check = polymod(symbols.as_ref()) ^ CHECKSUM_CONSTANT;
        for (index, symbol) in symbols.iter_mut().skip(DATA_SYMBOLS).enumerate() {
            let shift = 5 * (RECOVERY_KEY_LEN - DATA_SYMBOLS - 1 - index);
            *symbol = u8::try_from((check >> shift) & 31).unwrap_or(0);
        }
        symbols
    }
}

impl fmt::Display for RecoveryKey {
    /// The grouped form, `XXXX-XXXX-...` (16 groups of 4).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, symbol) in self.symbols().iter().enumerate() {
            if index > 0 && index % GROUP_LEN == 0 {
                f.write_str("-")?;
            }
            let character = ALPHABET.get(usize::from(*symbol)).copied().unwrap_or(b'?');
            write!(f, "{}", char::from(character))?;
        }
        Ok(())
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

impl FromStr for RecoveryKey {
    type Err = Error;

    fn from_str(input: &str) -> Result<RecoveryKey> {
        RecoveryKey::parse(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings from an independent Python implementation of the layout above.
    const SEQUENTIAL_KEY: &str =
        "000G-40R4-0M30-E209-185G-R38E-1W81-24GK-2GAH-C5RR-34D1-P70X-3RFM-0X4Z-PSES-662C";
    const ALL_ONES_KEY: &str =
        "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZW-XYNY-0MFW-2N37";

    fn typo_detail(input: &str) -> String {
        match RecoveryKey::parse(input) {
            Err(Error::RecoveryKeyTypo { detail }) => detail,
            other => panic!("expected a typo for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn known_answers() {
        let sequential = RecoveryKey::from_secret(std::array::from_fn(|i| i as u8));
        assert_eq!(sequential.to_string(), SEQUENTIAL_KEY);
        assert_eq!(
            RecoveryKey::from_secret([0xff; 32]).to_string(),
            ALL_ONES_KEY
        );
        let parsed = RecoveryKey::parse(SEQUENTIAL_KEY).unwrap();
        assert_eq!(parsed.secret(), sequential.secret());
    }

    #[test]
    fn checksum_constant_is_derived_from_its_label() {
        let digest = Sha256::digest(labels::RECOVERY_KEY_CHECKSUM);
        let top = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) >> 2;
        assert_eq!(top, CHECKSUM_CONSTANT);
    }

    #[test]
    fn generated_keys_round_trip_and_are_grouped() {
        for _ in 0..50 {
            let key = RecoveryKey::generate().unwrap();
            let shown = key.to_string();
            assert_eq!(shown.len(), 64 + 15);
            assert!(shown
                .split('-')
                .all(|group| group.len() == 4 && group.bytes().all(|c| ALPHABET.contains(&c))));
            assert_eq!(RecoveryKey::parse(&shown).unwrap().secret(), key.secret());
        }
    }

    #[test]
    fn parsing_ignores_case_separators_and_reads_look_alikes() {
        let relaxed = SEQUENTIAL_KEY
            .replace('-', "  ")
            .to_lowercase()
            .replace('0', "o")
            .replace('1', "l");
        let parsed = RecoveryKey::parse(&format!(" \t{relaxed}\n")).unwrap();
        assert_eq!(parsed.secret(), &std::array::from_fn(|i| i as u8));
        let with_i = SEQUENTIAL_KEY.replace('1', "I");
        assert!(RecoveryKey::parse(&with_i).is_ok());
    }

    #[test]
    fn typos_are_described() {
        assert_eq!(
            typo_detail(&SEQUENTIAL_KEY[..SEQUENTIAL_KEY.len() - 1]),
            "expected 64 characters, got 63"
        );
        assert_eq!(
            typo_detail(&format!("{SEQUENTIAL_KEY}Z")),
            "expected 64 characters, got 65"
        );
        assert_eq!(typo_detail(""), "expected 64 characters, got 0");
        // Position 17 is the first character of group 5 ("185G").
        let with_u = SEQUENTIAL_KEY.replacen("185G", "U85G", 1);
        assert_eq!(
            typo_detail(&with_u),
            "invalid character 'U' at position 17 (group 5)"
        );
        assert!(
            typo_detail(&SEQUENTIAL_KEY.replacen('G', "é", 1)).starts_with("invalid character 'é'")
        );
        let wrong = SEQUENTIAL_KEY.replacen("185G", "186G", 1);
        assert_eq!(
            typo_detail(&wrong),
            "the character at position 19 (group 5) is wrong"
        );
        let swapped = SEQUENTIAL_KEY.replacen("185G", "815G", 1);
        assert_eq!(
            typo_detail(&swapped),
            "the characters at positions 17 and 18 look swapped"
        );
    }

    /// The 64 canonical characters of a key.
    fn characters(key: &RecoveryKey) -> Vec<u8> {
        key.to_string().bytes().filter(|&c| c != b'-').collect()
    }

    /// Every single-character substitution and every swap of neighbours, for several random
    /// keys, is reported as a typo naming the right position.
    #[test]
    fn every_substitution_and_neighbour_swap_is_a_located_typo() {
        for _ in 0..4 {
            let key = RecoveryKey::generate().unwrap();
            let original = characters(&key);
            let (mut substitutions, mut swaps) = (0, 0);
            for position in 0..RECOVERY_KEY_LEN {
                for &replacement in ALPHABET.iter().filter(|&&c| c != original[position]) {
                    let mut typed = original.clone();
                    typed[position] = replacement;
                    let detail = typo_detail(std::str::from_utf8(&typed).unwrap());
                    assert_eq!(
                        detail,
                        format!(
                            "the character at position {} (group {}) is wrong",
                            position + 1,
                            position / 4 + 1
                        )
                    );
                    substitutions += 1;
                }
            }
            for position in 0..RECOVERY_KEY_LEN - 1 {
                if original[position] == original[position + 1] {
                    continue;
                }
                let mut typed = original.clone();
                typed.swap(position, position + 1);
                let detail = typo_detail(std::str::from_utf8(&typed).unwrap());
                assert_eq!(
                    detail,
                    format!(
                        "the characters at positions {} and {} look swapped",
                        position + 1,
                        position + 2
                    )
                );
                swaps += 1;
            }
            let identical_neighbours = original.windows(2).filter(|w| w[0] == w[1]).count();
            assert_eq!(substitutions, 64 * 31);
            assert_eq!(swaps, 63 - identical_neighbours);
        }
    }

    /// The checksum is linear, so whether an error is detected and located depends only on its
    /// positions and XOR differences, never on the key. Checking every (position, difference)
    /// therefore proves the guarantee for all keys, not only for the sampled ones above.
    #[test]
    fn every_single_error_and_swap_is_detected_and_located_for_every_key() {
        let effects = error_effects();
        let mut seen = std::collections::HashMap::new();
        for (position, row) in effects.iter().enumerate() {
            for (difference, &change) in row.iter().enumerate().skip(1) {
                assert_ne!(change, 0, "undetected error at {position}");
                let earlier = seen.insert(change, (position, difference));
                assert_eq!(earlier, None, "two single errors look alike");
            }
        }
        let mut swaps = 0;
        for (position, pair) in effects.windows(2).enumerate() {
            for (here, next) in pair[0].iter().zip(&pair[1]).skip(1) {
                let change = here ^ next;
                assert_ne!(change, 0, "undetected swap at {position}");
                assert!(
                    !seen.contains_key(&change),
                    "a swap looks like a single error"
                );
                swaps += 1;
            }
        }
        assert_eq!(seen.len(), 64 * 31);
        assert_eq!(swaps, 63 * 31);
    }

    proptest::proptest! {
        #[test]
        fn any_secret_round_trips(secret in proptest::prelude::any::<[u8; 32]>()) {
            let shown = RecoveryKey::from_secret(secret).to_string();
            let parsed = RecoveryKey::parse(&shown)?;
            proptest::prop_assert_eq!(parsed.secret(), &secret);
        }

        #[test]
        fn parsing_any_text_never_panics(
            input in proptest::prop_oneof!["\\PC{0,100}", "[0-9A-Za-z -]{60,70}"],
        ) {
            let _ = RecoveryKey::parse(&input);
        }
    }

    #[test]
    fn larger_errors_are_still_typos_not_keys() {
        // Three wrong characters: beyond what is located, still never accepted.
        let mut typed = characters(&RecoveryKey::from_secret([7; 32]));
        for position in [3, 30, 60] {
            typed[position] = if typed[position] == b'A' { b'B' } else { b'A' };
        }
        let detail = typo_detail(std::str::from_utf8(&typed).unwrap());
        assert!(detail.starts_with("checksum mismatch"), "{detail}");
    }

    #[test]
    fn debug_is_redacted() {
        let key = RecoveryKey::from_secret([0x42; 32]);
        assert_eq!(format!("{key:?}"), "RecoveryKey(<redacted>)");
    }
}
