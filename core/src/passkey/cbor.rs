//! The small part of CBOR (RFC 8949) that WebAuthn attestation objects and COSE keys use.
//!
//! Hand-written rather than a general CBOR crate because the job is narrow and the input hostile:
//! authenticators emit CTAP2 canonical CBOR (definite lengths, no tags or floats in these
//! structures), the authenticator data embeds a COSE key whose *encoded length* we must know to find
//! what follows it, and every declared length is checked against the bytes actually present before
//! anything is allocated, with a nesting limit, so no input can make the decoder panic, recurse
//! deeply or allocate more than the input's size. The encoder writes the fixed structures the
//! software authenticator produces.

/// Deepest nesting accepted; attestation statements nest three levels, COSE keys one.
const MAX_DEPTH: usize = 16;

/// Most entries in one map or array. WebAuthn structures have a handful; the bound also keeps
/// the duplicate-key check (quadratic in the entry count) cheap on hostile input.
const MAX_ENTRIES: u64 = 64;

/// A decoded CBOR data item, borrowing strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Major type 0.
    Unsigned(u64),
    /// Major type 1: the value is `-1 - n`.
    Negative(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3.
    Text(&'a str),
    /// Major type 4.
    Array(Vec<Value<'a>>),
    /// Major type 5, in encoded order.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl<'a> Value<'a> {
    /// The value for text key `key` in a map.
    pub(crate) fn get_text_key(&self, key: &str) -> Option<&Value<'a>> {
        self.map_entries()?
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if *t == key))
            .map(|(_, v)| v)
    }

    /// The value for integer key `key` in a map (COSE labels are integers).
    pub(crate) fn get_int_key(&self, key: i64) -> Option<&Value<'a>> {
        self.map_entries()?
            .iter()
            .find(|(k, _)| k.as_i64() == Some(key))
            .map(|(_, v)| v)
    }

    /// The entries when this is a map.
    pub(crate) fn map_entries(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// This integer as `i64`, when it is one and fits.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Unsigned(n) => i64::try_from(n).ok(),
            Value::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }
}

/// Decodes one data item from the front of `input`; returns it and the bytes after it.
pub(crate) fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, &[u8]), String> {
    decode_item(input, 0)
}

/// Decodes `input`, which must hold exactly one data item.
pub(crate) fn decode_exact(input: &[u8]) -> Result<Value<'_>, String> {
    let (value, rest) = decode_prefix(input)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!(
            "{} unexpected bytes after the CBOR item",
            rest.len()
        ))
    }
}

fn split(input: &[u8], n: usize) -> Result<(&[u8], &[u8]), String> {
    if input.len() < n {
        Err(format!(
            "CBOR item needs {n} more bytes, only {} left",
            input.len()
        ))
    } else {
        Ok(input.split_at(n))
    }
}

/// Reads an item head: major type and argument.
fn head(input: &[u8]) -> Result<(u8, u64, &[u8]), String> {
    let (&first, rest) = input
        .split_first()
        .ok_or_else(|| "CBOR input ends where an item should start".to_owned())?;
    let major = first >> 5;
    let info = first & 0x1f;
    let (argument, rest) = match info {
        0..=23 => (u64::from(info), rest),
        24..=27 => {
            let width = 1usize << (info - 24);
            let (bytes, rest) = split(rest, width)?;
            let argument = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            (argument, rest)
        }
        31 => return Err("indefinite-length CBOR items are not accepted".to_owned()),
        _ => return Err(format!("reserved CBOR additional information {info}")),
    };
    Ok((major, argument, rest))
}

fn length(argument: u64, available: usize) -> Result<usize, String> {
    usize::try_from(argument)
        .ok()
        .filter(|&n| n <= available)
        .ok_or_else(|| format!("CBOR length {argument} exceeds the {available} bytes left"))
}

fn decode_item(input: &[u8], depth: usize) -> Result<(Value<'_>, &[u8]), String> {
    if depth > MAX_DEPTH {
        return Err(format!("CBOR nested deeper than {MAX_DEPTH} levels"));
    }
    let (major, argument, rest) = head(input)?;
    if (major == 4 || major == 5) && argument > MAX_ENTRIES {
        return Err(format!(
            "CBOR container of {argument} entries, at most {MAX_ENTRIES} accepted"
        ));
    }
    match major {
        0 => Ok((Value::Unsigned(argument), rest)),
        1 => Ok((Value::Negative(argument), rest)),
        2 => {
            let (bytes, rest) = split(rest, length(argument, rest.len())?)?;
            Ok((Value::Bytes(bytes), rest))
        }
        3 => {
            let (bytes, rest) = split(rest, length(argument, rest.len())?)?;
            let text = std::str::from_utf8(bytes)
                .map_err(|_| "CBOR text string is not UTF-8".to_owned())?;
            Ok((Value::Text(text), rest))
        }
        4 => {
            // Every element takes at least one byte, so the count is bounded by the input.
            let count = length(argument, rest.len())?;
            let mut items = Vec::new();
            let mut rest = rest;
            for _ in 0..count {
                let (item, after) = decode_item(rest, depth + 1)?;
                items.push(item);
                rest = after;
            }
            Ok((Value::Array(items), rest))
        }
        5 => {
            let count = length(argument, rest.len() / 2)?;
            let mut entries = Vec::new();
            let mut rest = rest;
            for _ in 0..count {
                let (key, after_key) = decode_item(rest, depth + 1)?;
                let (value, after_value) = decode_item(after_key, depth + 1)?;
                if entries.iter().any(|(k, _)| *k == key) {
                    return Err("CBOR map has a duplicate key".to_owned());
                }
                entries.push((key, value));
                rest = after_value;
            }
            Ok((Value::Map(entries), rest))
        }
        6 => Err("CBOR tags are not accepted here".to_owned()),
        _ => match argument {
            20 => Ok((Value::Bool(false), rest)),
            21 => Ok((Value::Bool(true), rest)),
            22 => Ok((Value::Null, rest)),
            other => Err(format!(
                "CBOR simple value or float {other} is not accepted"
            )),
        },
    }
}

/// Writes canonical CBOR for the fixed structures the software authenticator emits.
/// Callers write map entries in canonical key order themselves.
#[cfg(any(test, feature = "soft-authenticator"))]
#[derive(Default)]
pub(crate) struct Encoder {
    out: Vec<u8>,
}

#[cfg(any(test, feature = "soft-authenticator"))]
impl Encoder {
    fn head(&mut self, major: u8, argument: u64) {
        let major = major << 5;
        // The narrowing casts below are guarded by the range each arm matches.
        match argument {
            0..=23 => self.out.push(major | argument as u8),
            24..=0xff => self.out.extend_from_slice(&[major | 24, argument as u8]),
            0x100..=0xffff => {
                self.out.push(major | 25);
                self.out.extend_from_slice(&(argument as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.out.push(major | 26);
                self.out.extend_from_slice(&(argument as u32).to_be_bytes());
            }
            _ => {
                self.out.push(major | 27);
                self.out.extend_from_slice(&argument.to_be_bytes());
            }
        }
    }

    /// An integer.
    pub(crate) fn int(&mut self, value: i64) -> &mut Self {
        if value >= 0 {
            self.head(0, value.unsigned_abs());
        } else {
            self.head(1, (-1 - value).unsigned_abs());
        }
        self
    }

    /// A byte string.
    pub(crate) fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.head(2, value.len() as u64);
        self.out.extend_from_slice(value);
        self
    }

    /// A text string.
    pub(crate) fn text(&mut self, value: &str) -> &mut Self {
        self.head(3, value.len() as u64);
        self.out.extend_from_slice(value.as_bytes());
        self
    }

    /// The head of a map with `entries` key/value pairs, which follow.
    pub(crate) fn map(&mut self, entries: usize) -> &mut Self {
        self.head(5, entries as u64);
        self
    }

    /// The encoded bytes.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_the_rfc_examples() {
        // RFC 8949 appendix A.
        assert_eq!(Encoder::default().int(0).finish(), [0x00]);
        assert_eq!(Encoder::default().int(24).finish(), [0x18, 0x18]);
        assert_eq!(Encoder::default().int(1000).finish(), [0x19, 0x03, 0xe8]);
        assert_eq!(Encoder::default().int(-1).finish(), [0x20]);
        assert_eq!(Encoder::default().int(-257).finish(), [0x39, 0x01, 0x00]);
        assert_eq!(
            Encoder::default().int(1_000_000).finish(),
            [0x1a, 0x00, 0x0f, 0x42, 0x40]
        );
        assert_eq!(Encoder::default().text("IETF").finish(), b"\x64IETF");
        assert_eq!(
            decode_exact(&[0x39, 0x01, 0x00]).unwrap().as_i64(),
            Some(-257)
        );
        assert_eq!(decode_exact(&[0xf5]).unwrap(), Value::Bool(true));
    }

    #[test]
    fn round_trips_a_cose_style_map() {
        let encoded = Encoder::default()
            .map(3)
            .int(1)
            .int(2)
            .int(3)
            .int(-7)
            .int(-2)
            .bytes(&[7; 32])
            .finish();
        let value = decode_exact(&encoded).unwrap();
        assert_eq!(value.get_int_key(1), Some(&Value::Unsigned(2)));
        assert_eq!(value.get_int_key(3).and_then(Value::as_i64), Some(-7));
        assert_eq!(value.get_int_key(-2), Some(&Value::Bytes(&[7; 32])));
    }

    #[test]
    fn decode_prefix_reports_what_follows() {
        let (value, rest) = decode_prefix(&[0x01, 0xaa, 0xbb]).unwrap();
        assert_eq!(value, Value::Unsigned(1));
        assert_eq!(rest, [0xaa, 0xbb]);
    }

    #[test]
    fn rejects_hostile_input_without_panicking() {
        for bad in [
            &[][..],                                                 // empty
            &[0x5a, 0xff, 0xff, 0xff, 0xff], // 4 GiB byte string, not present
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // huge array
            &[0x5f, 0x41, 0x00, 0xff],       // indefinite length
            &[0xc0, 0x00],                   // tag
            &[0xf9, 0x3c, 0x00],             // half float
            &[0x1c],                         // reserved info
            &[0x62, 0xff, 0xfe],             // invalid UTF-8
            &[0xa2, 0x01, 0x02, 0x01, 0x03], // duplicate key
            &[0x01, 0x02],                   // trailing bytes
        ] {
            assert!(decode_exact(bad).is_err(), "{bad:02x?}");
        }
        let deep = [0x81u8; 64];
        assert!(decode_exact(&deep).unwrap_err().contains("deeper"));
        let mut wide = vec![0x98, 65];
        wide.extend([0u8; 65]);
        assert!(decode_exact(&wide).unwrap_err().contains("at most 64"));
        wide[1] = 64;
        wide.pop();
        assert!(decode_exact(&wide).is_ok());
    }
}
