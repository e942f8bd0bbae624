//! The small public metadata map in a backup header (record counts, app version, ...).
//!
//! It is readable without any secret and authenticated by the header MAC, so it must never hold
//! anything private. Encoding and limits: `docs/FORMAT.md` § Metadata.

use std::collections::BTreeMap;

use crate::{
    format::header::{
        limit, Cursor, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_LEN,
        MAX_METADATA_VALUE_LEN,
    },
    Error, Result,
};

/// Public UTF-8 key/value pairs, kept sorted by key (the canonical order of the encoding).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    /// An empty map.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Adds or replaces an entry, enforcing the format's limits so that a header can always be
    /// written: keys 1..=64 bytes, values up to 1024 bytes, at most 32 entries, 8 KiB in all.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<()> {
        let (key, value) = (key.into(), value.into());
        if key.is_empty() {
            return Err(Error::InvalidArgument(
                "metadata keys cannot be empty".into(),
            ));
        }
        if key.len() > MAX_METADATA_KEY_LEN {
            return Err(limit(
                "metadata key length",
                key.len(),
                MAX_METADATA_KEY_LEN,
            ));
        }
        if value.len() > MAX_METADATA_VALUE_LEN {
            return Err(limit(
                "metadata value length",
                value.len(),
                MAX_METADATA_VALUE_LEN,
            ));
        }
        let replaced = self.0.get(&key).map_or(0, |old| entry_len(&key, old));
        let total = self.encoded_len() - replaced + entry_len(&key, &value);
        if total > MAX_METADATA_LEN {
            return Err(limit("metadata size", total, MAX_METADATA_LEN));
        }
        let entries = self.0.len() + usize::from(replaced == 0);
        if entries > MAX_METADATA_ENTRIES {
            return Err(limit("metadata entries", entries, MAX_METADATA_ENTRIES));
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes of the encoded entries (count field excluded).
    fn encoded_len(&self) -> usize {
        self.0.iter().map(|(k, v)| entry_len(k, v)).sum()
    }

    /// Appends `u16 count`, then per entry `u8 key length, key, u16 value length, value`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        // `insert` keeps every limit, so these only guard against future changes.
        if self.0.len() > MAX_METADATA_ENTRIES {
            return Err(limit(
                "metadata entries",
                self.0.len(),
                MAX_METADATA_ENTRIES,
            ));
        }
        out.extend_from_slice(&(self.0.len() as u16).to_be_bytes());
        for (key, value) in &self.0 {
            out.push(key.len() as u8);
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        Ok(())
    }

    /// Strict decoding: limits before reading, UTF-8, keys strictly ascending (so unique).
    pub(crate) fn decode(cursor: &mut Cursor<'_>) -> Result<Metadata> {
        let count = usize::from(cursor.u16("metadata count")?);
        if count > MAX_METADATA_ENTRIES {
            return Err(limit("metadata entries", count, MAX_METADATA_ENTRIES));
        }
        let mut map = BTreeMap::new();
        let mut total = 0usize;
        let mut previous: Option<String> = None;
        for index in 0..count {
            let key_len = usize::from(cursor.u8("metadata key length")?);
            if key_len == 0 {
                return Err(Error::Corrupted {
                    what: format!("metadata entry {index}: empty key"),
                });
            }
            if key_len > MAX_METADATA_KEY_LEN {
                return Err(limit("metadata key length", key_len, MAX_METADATA_KEY_LEN));
            }
            let key = utf8(cursor.take(key_len, "metadata key")?, index)?;
            let value_len = usize::from(cursor.u16("metadata value length")?);
            if value_len > MAX_METADATA_VALUE_LEN {
                return Err(limit(
                    "metadata value length",
                    value_len,
                    MAX_METADATA_VALUE_LEN,
                ));
            }
            total += 1 + key_len + 2 + value_len;
            if total > MAX_METADATA_LEN {
                return Err(limit("metadata size", total, MAX_METADATA_LEN));
            }
            let value = utf8(cursor.take(value_len, "metadata value")?, index)?;
            if previous
                .as_ref()
                .is_some_and(|prev| prev.as_str() >= key.as_str())
            {
                return Err(Error::Corrupted {
                    what: format!("metadata entry {index}: keys not in strictly ascending order"),
                });
            }
            previous = Some(key.clone());
            map.insert(key, value);
        }
        Ok(Metadata(map))
    }
}

fn entry_len(key: &str, value: &str) -> usize {
    1 + key.len() + 2 + value.len()
}

fn utf8(bytes: &[u8], index: usize) -> Result<String> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| Error::Corrupted {
            what: format!("metadata entry {index}: not valid UTF-8"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(metadata: &Metadata) -> Result<Metadata> {
        let mut out = Vec::new();
        metadata.encode(&mut out)?;
        let mut cursor = Cursor::new(&out);
        let decoded = Metadata::decode(&mut cursor)?;
        assert_eq!(cursor.remaining(), 0);
        Ok(decoded)
    }

    #[test]
    fn encodes_sorted_and_round_trips() {
        let mut metadata = Metadata::new();
        metadata.insert("messages", "12").unwrap();
        metadata.insert("app", "1.0 ✓").unwrap();
        let mut out = Vec::new();
        metadata.encode(&mut out).unwrap();
        assert_eq!(&out[..6], &[0, 2, 3, b'a', b'p', b'p']);
        assert_eq!(round_trip(&metadata).unwrap(), metadata);
    }

    #[test]
    fn insert_enforces_limits() {
        let mut metadata = Metadata::new();
        assert!(metadata.insert("", "x").is_err());
        assert!(matches!(
            metadata.insert("k".repeat(65), "x"),
            Err(Error::LimitExceeded { .. })
        ));
        assert!(matches!(
            metadata.insert("k", "v".repeat(1025)),
            Err(Error::LimitExceeded { .. })
        ));
        for i in 0..7 {
            metadata
                .insert(format!("key{i}"), "v".repeat(1024))
                .unwrap();
        }
        assert!(matches!(
            metadata.insert("key7", "v".repeat(1024)),
            Err(Error::LimitExceeded { .. })
        ));
        // Replacing an entry does not count it twice.
        metadata.insert("key0", "v".repeat(1024)).unwrap();
        let mut many = Metadata::new();
        for i in 0..32 {
            many.insert(format!("{i:02}"), "").unwrap();
        }
        assert!(matches!(
            many.insert("zz", ""),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn decoder_rejects_unsorted_duplicate_and_oversized() {
        let unsorted = [0, 2, 1, b'b', 0, 0, 1, b'a', 0, 0];
        assert!(matches!(
            Metadata::decode(&mut Cursor::new(&unsorted)),
            Err(Error::Corrupted { .. })
        ));
        let duplicate = [0, 2, 1, b'a', 0, 0, 1, b'a', 0, 0];
        assert!(matches!(
            Metadata::decode(&mut Cursor::new(&duplicate)),
            Err(Error::Corrupted { .. })
        ));
        let too_many = [0, 33];
        assert!(matches!(
            Metadata::decode(&mut Cursor::new(&too_many)),
            Err(Error::LimitExceeded { .. })
        ));
        let long_value = [0, 1, 1, b'a', 0x04, 0x01];
        assert!(matches!(
            Metadata::decode(&mut Cursor::new(&long_value)),
            Err(Error::LimitExceeded { .. })
        ));
        let bad_utf8 = [0, 1, 1, 0xff, 0, 0];
        assert!(matches!(
            Metadata::decode(&mut Cursor::new(&bad_utf8)),
            Err(Error::Corrupted { .. })
        ));
    }
}
