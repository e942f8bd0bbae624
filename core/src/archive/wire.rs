//! Wire primitives of the archive: LEB128 varints, zigzag for signed values, and fields as
//! `key = field_number << 1 | wire_type` followed by a varint (type 0) or a length-prefixed byte
//! string (type 1). The wire type makes every field skippable without knowing its meaning.

/// Longest varint (a `u64` in 7-bit groups).
pub const MAX_VARINT_LEN: usize = 10;

/// Wire type of a varint field.
const WIRE_VARINT: u64 = 0;
/// Wire type of a length-prefixed byte string.
const WIRE_BYTES: u64 = 1;

/// Appends `value` as a LEB128 varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended inside the varint.
    Incomplete,
    /// More than 64 bits.
    Overflow,
}

/// Reads a varint from the front of `input`: the value and the bytes it took.
#[inline]
pub fn get_varint(input: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().take(MAX_VARINT_LEN).enumerate() {
        let bits = u64::from(byte & 0x7f);
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(VarintError::Overflow);
        }
        value |= bits << (7 * i);
        if byte < 0x80 {
            return Ok((value, i + 1));
        }
    }
    if input.len() >= MAX_VARINT_LEN {
        Err(VarintError::Overflow)
    } else {
        Err(VarintError::Incomplete)
    }
}

/// Maps signed to unsigned so that small magnitudes stay short.
#[inline]
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Writes the fields of one record body.
pub struct FieldWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> FieldWriter<'a> {
    /// Appends fields to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        FieldWriter { out }
    }

    /// An unsigned varint field.
    #[inline]
    pub fn uint(&mut self, field: u32, value: u64) {
        put_varint(self.out, u64::from(field) << 1 | WIRE_VARINT);
        put_varint(self.out, value);
    }

    /// A signed (zigzag) varint field.
    #[inline]
    pub fn int(&mut self, field: u32, value: i64) {
        self.uint(field, zigzag(value));
    }

    /// A byte-string field.
    #[inline]
    pub fn bytes(&mut self, field: u32, value: &[u8]) {
        put_varint(self.out, u64::from(field) << 1 | WIRE_BYTES);
        put_varint(self.out, value.len() as u64);
        self.out.extend_from_slice(value);
    }

    /// A signed field, omitted when `None`.
    #[inline]
    pub fn opt_int(&mut self, field: u32, value: Option<i64>) {
        if let Some(v) = value {
            self.int(field, v);
        }
    }

    /// An unsigned field, omitted when `None`.
    #[inline]
    pub fn opt_uint(&mut self, field: u32, value: Option<u64>) {
        if let Some(v) = value {
            self.uint(field, v);
        }
    }

    /// A text field, omitted when `None`.
    #[inline]
    pub fn opt_str(&mut self, field: u32, value: Option<&str>) {
        if let Some(v) = value {
            self.bytes(field, v.as_bytes());
        }
    }

    /// A boolean: written as 1 when true, omitted when false.
    #[inline]
    pub fn flag(&mut self, field: u32, value: bool) {
        if value {
            self.uint(field, 1);
        }
    }
}

/// One field's value as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Bytes(&'a [u8]),
}

/// Iterates over the fields of one record body. Errors are static descriptions; the stream
/// reader adds where they happened.
pub struct FieldReader<'a> {
    rest: &'a [u8],
}

impl<'a> FieldReader<'a> {
    /// Reads the fields of `body`.
    pub fn new(body: &'a [u8]) -> Self {
        FieldReader { rest: body }
    }

    /// The next field number and value, `None` at the end of the body.
    #[inline]
    pub fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, &'static str> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (key, used) = get_varint(self.rest).map_err(|_| "bad field key")?;
        self.rest = self.rest.get(used..).ok_or("bad field key")?;
        let field = key >> 1;
        if field == 0 {
            return Err("field number 0");
        }
        if key & 1 == WIRE_VARINT {
            let (value, used) = get_varint(self.rest).map_err(|_| "bad varint field")?;
            self.rest = self.rest.get(used..).ok_or("bad varint field")?;
            Ok(Some((field, Value::Varint(value))))
        } else {
            let (len, used) = get_varint(self.rest).map_err(|_| "bad field length")?;
            let after_len = self.rest.get(used..).ok_or("bad field length")?;
            let len = usize::try_from(len).map_err(|_| "field longer than its record")?;
            if len > after_len.len() {
                return Err("field longer than its record");
            }
            let (value, rest) = after_len.split_at(len);
            self.rest = rest;
            Ok(Some((field, Value::Bytes(value))))
        }
    }
}

impl<'a> Value<'a> {
    /// The value of a varint field.
    #[inline]
    pub fn varint(self) -> Result<u64, &'static str> {
        match self {
            Value::Varint(v) => Ok(v),
            Value::Bytes(_) => Err("expected a number, found bytes"),
        }
    }

    /// The value of a signed field.
    #[inline]
    pub fn int(self) -> Result<i64, &'static str> {
        self.varint().map(unzigzag)
    }

    /// The value of a byte-string field.
    #[inline]
    pub fn bytes(self) -> Result<&'a [u8], &'static str> {
        match self {
            Value::Bytes(b) => Ok(b),
            Value::Varint(_) => Err("expected bytes, found a number"),
        }
    }

    /// The value of a text field (UTF-8).
    #[inline]
    pub fn text(self) -> Result<String, &'static str> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| "text is not UTF-8")
    }

    /// A boolean field (0 or 1).
    #[inline]
    pub fn flag(self) -> Result<bool, &'static str> {
        match self.varint()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("flag is neither 0 nor 1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn varint_edges() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(get_varint(&out), Ok((value, out.len())));
            assert_eq!(
                get_varint(&out[..out.len() - 1]),
                Err(VarintError::Incomplete)
            );
        }
        assert_eq!(get_varint(&[0xff; 10]), Err(VarintError::Overflow));
        assert_eq!(
            get_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(VarintError::Overflow)
        );
    }

    #[test]
    fn a_field_claiming_more_bytes_than_its_record_is_refused() {
        let mut body = Vec::new();
        FieldWriter::new(&mut body).bytes(3, b"hello");
        body.truncate(body.len() - 1);
        assert!(FieldReader::new(&body).next_field().is_err());
    }

    proptest! {
        #[test]
        fn zigzag_round_trips(v in any::<i64>()) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }

        #[test]
        fn varint_round_trips(v in any::<u64>()) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert_eq!(get_varint(&out), Ok((v, out.len())));
        }

        #[test]
        fn field_reader_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut reader = FieldReader::new(&body);
            for _ in 0..64 {
                match reader.next_field() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
