//! Stretching a user's password with Argon2id (RFC 9106) before it keys a password slot, the
//! password's Unicode normalization (NFC), the strength rule for new passwords
//! ([`super::password_strength`]) and the Argon2 work one unlock may spend.
//!
//! `stretched = Argon2id(NFC(password), salt = slot salt, m = memory KiB, t = iterations,
//! p = parallelism, output 32 bytes, version 0x13)`, no secret key, no associated data; the slot's
//! KEK is then `HKDF-SHA256(stretched, slot salt, "keepsake/v2/kek/password")`
//! ([`super::kdf::password_kek`]). The parameters are stored in the slot's public fields, so a
//! later build can raise the defaults without breaking older slots; a decoder bounds them
//! ([`PasswordParams::check`]) so that a hostile header cannot make a phone allocate gigabytes.

use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use super::{kdf::SLOT_SALT_LEN, keys::KEY_LEN};
use crate::{Error, Result};

pub use super::password_strength::{check_new_password, MIN_PASSWORD_CHARS};

/// Longest password accepted, in UTF-8 bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Most Argon2 work one password unlock may do, summed over every password slot it may try,
/// in KiB of memory times passes: 2 GiB·passes, about ten slots of the default costs (64 MiB,
/// t = 3), a few seconds on a phone. Without it a hostile header could declare 32 slots of
/// 256 MiB and t = 16 (128 GiB·passes, many minutes). New slots are refused past it too, so
/// every keyring this build writes stays within it.
pub const MAX_UNLOCK_WORK: u64 = 2 * 1024 * 1024;

/// Least Argon2 memory a slot may declare, KiB (RFC 9106's floor is 8 KiB per lane).
pub const MIN_MEMORY_KIB: u32 = 8;
/// Most Argon2 memory a slot may declare, KiB (256 MiB): bounds what a header can make a phone
/// allocate.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// Most Argon2 iterations a slot may declare.
pub const MAX_ITERATIONS: u32 = 16;
/// Most Argon2 lanes a slot may declare.
pub const MAX_PARALLELISM: u8 = 4;

/// Argon2id cost parameters of a password slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u8,
}

impl PasswordParams {
    /// What new password slots use: 64 MiB, 3 passes, 1 lane (RFC 9106 §4's second
    /// recommendation with one lane, since the work runs on one phone core). Measured with
    /// `cargo run -p keepsake-core --example password_cost`; see `docs/FORMAT.md`.
    pub const DEFAULT: PasswordParams = PasswordParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Checks the bounds a decoder and a writer both enforce: memory above the limit is
    /// [`Error::LimitExceeded`] (checked before any allocation), anything else out of range is
    /// [`Error::Corrupted`].
    pub fn check(&self) -> Result<()> {
        let limit = |what: &str, found: u64, limit: u64| Error::LimitExceeded {
            what: format!("password slot {what}"),
            found,
            limit,
        };
        if self.memory_kib > MAX_MEMORY_KIB {
            return Err(limit(
                "memory (KiB)",
                self.memory_kib.into(),
                MAX_MEMORY_KIB.into(),
            ));
        }
        if self.iterations > MAX_ITERATIONS {
            return Err(limit(
                "iterations",
                self.iterations.into(),
                MAX_ITERATIONS.into(),
            ));
        }
        if self.parallelism > MAX_PARALLELISM {
            return Err(limit(
                "parallelism",
                self.parallelism.into(),
                MAX_PARALLELISM.into(),
            ));
        }
        if self.parallelism == 0
            || self.iterations == 0
            || self.memory_kib < MIN_MEMORY_KIB * u32::from(self.parallelism)
        {
            return Err(Error::Corrupted {
                what: format!(
                    "password slot Argon2 parameters m={} t={} p={} are below the minimum",
                    self.memory_kib, self.iterations, self.parallelism
                ),
            });
        }
        Ok(())
    }
}

impl PasswordParams {
    /// The Argon2 work of one run: memory (KiB) times passes.
    pub fn work(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }
}

/// Refuses ([`Error::LimitExceeded`]) password slots whose Argon2 work together exceeds
/// [`MAX_UNLOCK_WORK`], before any of it is done.
pub fn check_unlock_work<'a>(slots: impl Iterator<Item = &'a PasswordParams>) -> Result<()> {
    let total = slots.map(PasswordParams::work).sum::<u64>();
    if total > MAX_UNLOCK_WORK {
        return Err(Error::LimitExceeded {
            what: "Argon2 work of the password slots (KiB of memory times passes)".into(),
            found: total,
            limit: MAX_UNLOCK_WORK,
        });
    }
    Ok(())
}

/// The password as Argon2id sees it in a version 3 slot: Unicode normalization form C, so
/// that "é" typed as one code point (U+00E9, most keyboards) or as "e" and a combining accent
/// (U+0065 U+0301, some input methods and pasted text) gives the same bytes.
pub fn normalize(password: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(password.len() + 8));
    out.extend(password.nfc());
    out
}

/// Argon2id of `password` under the slot's salt and parameters.
pub fn stretch(
    password: &[u8],
    salt: &[u8; SLOT_SALT_LEN],
    params: &PasswordParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    params.check()?;
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Error::InvalidArgument(format!(
            "a password may have at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism.into(),
        Some(KEY_LEN),
    )
    .map_err(|err| Error::InvalidArgument(format!("Argon2 parameters: {err}")))?;
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(password, salt, out.as_mut())
        .map_err(|err| Error::InvalidArgument(format!("Argon2id failed: {err}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: PasswordParams = PasswordParams {
        memory_kib: 64,
        iterations: 2,
        parallelism: 1,
    };

    /// Expected value from the reference `argon2-cffi` (libargon2), independently of this code:
    /// `hash_secret_raw(b"correct horse battery", bytes(range(0x40, 0x60)), time_cost=2,
    /// memory_cost=64, parallelism=1, hash_len=32, type=ID)`.
    #[test]
    fn argon2id_known_answer() {
        let salt = std::array::from_fn(|i| 0x40 + i as u8);
        let out = stretch(b"correct horse battery", &salt, &SMALL).unwrap();
        assert_eq!(hex::encode(out.as_ref()), ARGON2ID_KAT);
    }

    const ARGON2ID_KAT: &str = "8cf043e6605c444377fbf360e5e85f720ec7506af2175f68b2153c2e3fff28d8";

    #[test]
    fn parameters_are_bounded_before_any_work() {
        let big = PasswordParams {
            memory_kib: MAX_MEMORY_KIB + 1,
            ..SMALL
        };
        assert!(matches!(
            stretch(b"x", &[0; 32], &big),
            Err(Error::LimitExceeded { .. })
        ));
        for bad in [
            PasswordParams {
                parallelism: 0,
                ..SMALL
            },
            PasswordParams {
                iterations: 0,
                ..SMALL
            },
            PasswordParams {
                memory_kib: 7,
                ..SMALL
            },
        ] {
            assert!(
                matches!(bad.check(), Err(Error::Corrupted { .. })),
                "{bad:?}"
            );
        }
        assert!(PasswordParams::DEFAULT.check().is_ok());
    }

    #[test]
    fn composed_and_decomposed_passwords_normalize_alike() {
        let composed = "caf\u{e9} au lait";
        let decomposed = "cafe\u{301} au lait";
        assert_ne!(composed.as_bytes(), decomposed.as_bytes());
        assert_eq!(normalize(composed).as_str(), composed);
        assert_eq!(normalize(decomposed).as_str(), composed);
    }

    #[test]
    fn unlock_work_is_bounded_before_any_argon2_run() {
        let hostile = PasswordParams {
            memory_kib: MAX_MEMORY_KIB,
            iterations: MAX_ITERATIONS,
            parallelism: 1,
        };
        assert!(
            hostile.check().is_ok(),
            "each slot alone is within the slot limits"
        );
        let slots = [hostile; 32];
        assert!(matches!(
            check_unlock_work(slots.iter()),
            Err(Error::LimitExceeded { found, .. }) if found == 32 * hostile.work()
        ));
        let ten_defaults = [PasswordParams::DEFAULT; 10];
        assert!(check_unlock_work(ten_defaults.iter()).is_ok());
    }
}
