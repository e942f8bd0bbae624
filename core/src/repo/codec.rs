//! A strict big-endian reader for the repository's binary encodings: every read names the
//! field, short input is [`Error::Truncated`], and counts are checked against the bytes present
//! before anything is allocated.

use crate::{Error, Result};

/// Reads fields front to back from a byte slice.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
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
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
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

    /// A count of items of `item_len` bytes each, checked against `limit` and against the bytes
    /// left, so a damaged count cannot make the caller allocate.
    pub(crate) fn count(
        &mut self,
        value: u64,
        item_len: usize,
        limit: u64,
        field: &str,
    ) -> Result<usize> {
        if value > limit {
            return Err(Error::LimitExceeded {
                what: format!("{} {field}", self.context),
                found: value,
                limit,
            });
        }
        let needed = value.saturating_mul(item_len as u64);
        if needed > self.rest.len() as u64 {
            return Err(Error::Truncated {
                what: format!(
                    "{} {field}: {value} items need {needed} bytes, {} left",
                    self.context,
                    self.rest.len()
                ),
            });
        }
        usize::try_from(value).map_err(|_| Error::LimitExceeded {
            what: format!("{} {field}", self.context),
            found: value,
            limit,
        })
    }

    /// Fails with [`Error::Corrupted`] if bytes are left.
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

/// Fails with [`Error::Corrupted`] unless `found == expected`.
pub(crate) fn expect_magic(found: &[u8], expected: &[u8], what: &str) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::Corrupted {
            what: format!("{what}: bad magic, not a Keepsake {what}"),
        })
    }
}

/// Fails with [`Error::UnsupportedVersion`] unless `found == supported`.
pub(crate) fn expect_version(found: u8, supported: u8, what: &str) -> Result<()> {
    if found == supported {
        Ok(())
    } else {
        Err(Error::UnsupportedVersion {
            what: format!("{what} version"),
            found: found.into(),
            supported: format!("version {supported}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_refuses_short_or_long_input() {
        let bytes = [0, 1, 0, 0, 0, 2, 9];
        let mut r = Reader::new(&bytes, "thing");
        assert_eq!(r.u16("a").unwrap(), 1);
        assert_eq!(r.u32("b").unwrap(), 2);
        assert!(matches!(r.u16("c"), Err(Error::Truncated { .. })));
        assert!(matches!(r.finish(), Err(Error::Corrupted { .. })));
        let mut r = Reader::new(&[0u8; 10], "thing");
        assert!(matches!(
            r.count(3, 4, 2, "n"),
            Err(Error::LimitExceeded { .. })
        ));
        assert!(matches!(
            r.count(3, 4, 9, "n"),
            Err(Error::Truncated { .. })
        ));
        assert_eq!(r.count(2, 4, 9, "n").unwrap(), 2);
    }
}
