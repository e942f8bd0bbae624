//! Counts and sizes cross the FFI as `i64`: Kotlin `Long` and Swift `Int64`, the types apps
//! compute with (UniFFI maps `u64` to Kotlin's awkward `ULong`). No real count or size comes
//! near `i64::MAX`; one that did would saturate rather than turn negative.

/// `value` as an `i64`, saturating at `i64::MAX`.
pub(crate) fn long(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::long;

    #[test]
    fn counts_keep_their_value_and_never_turn_negative() {
        assert_eq!(long(0), 0);
        assert_eq!(long(1 << 40), 1 << 40);
        assert_eq!(long(u64::MAX), i64::MAX);
    }
}
