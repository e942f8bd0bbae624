//! The repository's decoding helpers: the crate's strict big-endian [`Reader`] (shared with the
//! keyring) and the magic and version checks every repository object starts with.

use crate::{Error, Result};

pub(crate) use crate::keyring::codec::Reader;

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
