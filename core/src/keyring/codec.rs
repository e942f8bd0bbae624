//! A strict big-endian reader for the keyring's binary encodings: every read names the field,
//! short input is [`Error::Truncated`], and a length is checked against its limit and against
//! the bytes actually present before anything is allocated.

use crate::{Error, Result};

/// Reads fields front to back from a byte slice.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    /// What is being decoded, for error messages ("slot", "public keyring").
    context: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], context: &'static str) -> Self {
        Reader {
            rest: bytes,
            context,
        }
    }

    pub(crate) fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8]> {
        if self.rest.len() < len {
            return Err(Error::Truncated {
                what: format!(
                    "{} {field}: need {len} bytes, {} left",
                    self.context,
                    self.rest.len()
                ),
            });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let bytes = self.take(N, field)?;
        bytes.try_into().map_err(|_| Error::Truncated {
            what: format!("{} {field}", self.context),
        })
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A length field already read, checked against `min..=max`, then that many bytes.
    pub(crate) fn bytes_with_len(
        &mut self,
        len: usize,
        min: usize,
        max: usize,
        field: &str,
    ) -> Result<&'a [u8]> {
        if len > max {
            return Err(Error::LimitExceeded {
                what: format!("{} {field} length", self.context),
                found: len as u64,
                limit: max as u64,
            });
        }
        if len < min {
            return Err(Error::Corrupted {
                what: format!(
                    "{} {field}: length {len} is below the minimum {min}",
                    self.context
                ),
            });
        }
        self.take(len, field)
    }

    /// A UTF-8 string of `len` bytes (limits as in [`Self::bytes_with_len`]).
    pub(crate) fn utf8_with_len(
        &mut self,
        len: usize,
        min: usize,
        max: usize,
        field: &str,
    ) -> Result<String> {
        let bytes = self.bytes_with_len(len, min, max, field)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Error::Corrupted {
                what: format!("{} {field}: not valid UTF-8", self.context),
            })
    }

    /// Succeeds only if every byte was consumed.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::Corrupted {
                what: format!(
                    "{}: {} unexpected trailing bytes",
                    self.context,
                    self.rest.len()
                ),
            })
        }
    }
}
