//! Stretching a user's password with Argon2id (RFC 9106) before it keys a password slot.
//!
//! `stretched = Argon2id(password, salt = slot salt, m = memory KiB, t = iterations,
//! p = parallelism, output 32 bytes, version 0x13)`, no secret key, no associated data; the slot's
//! KEK is then `HKDF-SHA256(stretched, slot salt, "keepsake/v2/kek/password")`
//! ([`super::kdf::password_kek`]). The parameters are stored in the slot's public fields, so a
//! later build can raise the defaults without breaking older slots; a decoder bounds them
//! ([`PasswordParams::check`]) so that a hostile header cannot make a phone allocate gigabytes.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::{kdf::SLOT_SALT_LEN, keys::KEY_LEN};
use crate::{Error, Result};

/// Fewest Unicode scalar values a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in UTF-8 bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

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

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_LEN`] bytes. Only for setting a password; an unlock accepts any input.
pub fn check_new_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Error::InvalidArgument(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters, this one has {chars}"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Error::InvalidArgument(format!(
            "a password may have at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
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
    fn new_passwords_need_a_minimum_length() {
        assert!(check_new_password("seven77").is_err());
        assert!(check_new_password("eight888").is_ok());
        assert!(
            check_new_password("ééééééé").is_err(),
            "counted in characters"
        );
        assert!(check_new_password(&"a".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
