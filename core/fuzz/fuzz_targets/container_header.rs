//! Arbitrary bytes as a backup: the strict header decoder must return a typed error or a
//! header, never panic, and never allocate beyond its limits; a decoded header must survive
//! an unlock attempt (which must fail: the fuzzer cannot forge a slot).
#![no_main]

use keepsake_core::{crypto::RootKey, format, Error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match format::open(data) {
        Ok(sealed) => {
            let header = sealed.header();
            assert!(header.slots().len() <= keepsake_core::keyring::MAX_SLOTS);
            assert!(header.metadata().len() <= format::MAX_METADATA_ENTRIES);
            for slot in header.slots() {
                let _ = (slot.label(), slot.kind(), slot.created_at());
            }
            let result = sealed.unlock_with_root_key(&RootKey::from_bytes([7u8; 32]));
            assert!(matches!(result, Err(Error::Corrupted { .. })));
        }
        Err(
            Error::Corrupted { .. }
            | Error::Truncated { .. }
            | Error::UnsupportedVersion { .. }
            | Error::LimitExceeded { .. },
        ) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
