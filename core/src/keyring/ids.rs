//! Random 16-byte identifiers of keyrings and slots. Public values: shown in hex.

use std::fmt;

use crate::{crypto::random_bytes, Result};

/// Declares a 16-byte random identifier type.
macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = 16;

            /// A fresh identifier from the OS random number generator.
            pub fn generate() -> Result<Self> {
                Ok($name(random_bytes()?))
            }

            /// The identifier from its stored bytes.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                $name(bytes)
            }

            /// The stored bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            /// Lowercase hex, 32 characters.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

random_id!(
    /// Identifies a keyring; every backup made with it carries this id, and slot AADs bind it.
    KeyringId
);
random_id!(
    /// Identifies a key slot within a keyring.
    SlotId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_show_as_hex() {
        let id = SlotId::from_bytes(std::array::from_fn(|i| i as u8 * 17));
        assert_eq!(id.to_string(), "00112233445566778899aabbccddeeff");
        assert_eq!(
            format!("{id:?}"),
            "SlotId(00112233445566778899aabbccddeeff)"
        );
        assert_ne!(
            KeyringId::generate().unwrap(),
            KeyringId::generate().unwrap()
        );
    }
}
