//! Counts, sizes and keyring generations cross the FFI as `i64`: Kotlin `Long` and Swift
//! `Int64`, the types apps compute with (UniFFI maps `u64` to Kotlin's awkward `ULong`). No real
//! count or size comes near `i64::MAX`; one that did would saturate rather than turn negative.

use crate::error::{FfiResult, KeepsakeError};

/// `value` as an `i64`, saturating at `i64::MAX`.
pub(crate) fn long(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A value the app passed as an `i64` (a known generation): a negative one is
/// `InvalidArgument` naming `what`.
pub(crate) fn unsigned(value: i64, what: &str) -> FfiResult<u64> {
    u64::try_from(value)
        .map_err(|_| KeepsakeError::invalid(format!("{what} cannot be negative, got {value}")))
}

#[cfg(test)]
mod tests {
    use super::{long, unsigned};
    use crate::error::KeepsakeError;

    #[test]
    fn counts_keep_their_value_and_never_turn_negative() {
        assert_eq!(long(0), 0);
        assert_eq!(long(1 << 40), 1 << 40);
        assert_eq!(long(u64::MAX), i64::MAX);
    }

    #[test]
    fn a_negative_value_from_the_app_is_invalid() {
        assert_eq!(unsigned(7, "the known generation").unwrap(), 7);
        // The detail is a sentence naming the value.
        assert!(matches!(
            unsigned(-1, "the known generation"),
            Err(KeepsakeError::InvalidArgument { detail })
                if detail == "The known generation cannot be negative, got -1."
        ));
    }
}
