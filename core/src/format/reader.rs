//! Reading a container: strict header parse, unlock (slot, then header MAC), payload.

use std::io::{self, BufReader, Read};

use crate::{
    crypto::{kdf, mac::MAC_LEN, stream::StreamReader, PayloadKey, PrfOutput, RootKey},
    format::{
        header::{read_header, DecodedHeader},
        Compression, Header,
    },
    keyring::{self, Authenticity, Keyring, KeyringId, RecoveryKey, UnlockedRoot},
    Error, Result,
};

/// Largest zstd window a reader accepts (2^24 = 16 MiB), bounding decompression memory; writers
/// use levels up to 19, whose windows are at most 2^23.
const MAX_ZSTD_WINDOW_LOG: u32 = 24;

/// Parses the header of the backup in `source` (limits first, nothing allocated beyond them).
/// The result is not yet authenticated: it can be inspected, then unlocked.
pub fn open<R: Read>(mut source: R) -> Result<SealedContainer<R>> {
    let decoded = read_header(&mut source)?;
    Ok(SealedContainer { decoded, source })
}

/// A backup whose header has been parsed but not authenticated.
pub struct SealedContainer<R: Read> {
    decoded: DecodedHeader,
    source: R,
}

impl<R: Read> SealedContainer<R> {
    /// The parsed header: version, payload kind, slots' public fields, metadata, creation time.
    /// Unauthenticated: show it, but decide nothing on it.
    pub fn header(&self) -> &Header {
        &self.decoded.header
    }

    /// Unlocks with the recovery key: tries every recovery-key slot.
    pub fn unlock_with_recovery_key(self, key: &RecoveryKey) -> Result<OpenedContainer<R>> {
        let header = &self.decoded.header;
        let unlocked = keyring::unwrap_with_recovery_key(
            &header.keyring_id,
            header.generation,
            &header.slots,
            key,
        )?;
        self.authenticate(unlocked)
    }

    /// Unlocks with a password: tries every password slot (one Argon2id run each).
    /// [`Error::WrongPassword`] if it opens none.
    pub fn unlock_with_password(self, password: &str) -> Result<OpenedContainer<R>> {
        let header = &self.decoded.header;
        let unlocked = keyring::unwrap_with_password(
            &header.keyring_id,
            header.generation,
            &header.slots,
            password,
        )?;
        self.authenticate(unlocked)
    }

    /// Unlocks with a passkey: the slot of `credential_id`, opened with its PRF output.
    pub fn unlock_with_passkey(
        self,
        credential_id: &[u8],
        prf: &PrfOutput,
    ) -> Result<OpenedContainer<R>> {
        let header = &self.decoded.header;
        let unlocked = keyring::unwrap_with_passkey(
            &header.keyring_id,
            header.generation,
            &header.slots,
            credential_id,
            prf,
        )?;
        self.authenticate(unlocked)
    }

    /// Unlocks with the device's copy of the root key. A MAC mismatch here means either a
    /// damaged header or a root key of another keyring; [`Self::unlock_with_keyring`] tells
    /// the latter apart by the keyring id.
    pub fn unlock_with_root_key(self, root: &RootKey) -> Result<OpenedContainer<R>> {
        self.authenticate(UnlockedRoot::device(root.clone()))
    }

    /// Unlocks with the device's keyring: [`Error::WrongKey`] if the backup belongs to another
    /// keyring, [`Error::OtherGeneration`] if it was sealed before (or after) a rotation of
    /// it, otherwise as [`Self::unlock_with_root_key`].
    pub fn unlock_with_keyring(self, keyring: &Keyring) -> Result<OpenedContainer<R>> {
        let auth = keyring.auth_secret().cloned();
        let mut opened =
            self.unlock_with_keyring_root(keyring.id(), keyring.generation(), keyring.root_key())?;
        opened.auth = auth;
        Ok(opened)
    }

    /// Unlocks with the root key of generation `generation` of the keyring `keyring_id` (what
    /// a device keeps): as [`Self::unlock_with_keyring`].
    pub fn unlock_with_keyring_root(
        self,
        keyring_id: &KeyringId,
        generation: u64,
        root: &RootKey,
    ) -> Result<OpenedContainer<R>> {
        let header = &self.decoded.header;
        if keyring_id != &header.keyring_id {
            return Err(Error::WrongKey);
        }
        if generation != header.generation {
            return Err(Error::OtherGeneration {
                sealed: header.generation,
                device: generation,
            });
        }
        self.unlock_with_root_key(root)
    }

    /// Derives the file keys and verifies the header MAC in constant time.
    fn authenticate(self, unlocked: UnlockedRoot) -> Result<OpenedContainer<R>> {
        let decoded = self.decoded;
        let (payload_key, mac_key) =
            kdf::derive_file_keys(&unlocked.root, &decoded.header.file_salt)?;
        mac_key.verify(&decoded.authenticated, &decoded.mac, "header")?;
        Ok(OpenedContainer {
            header: decoded.header,
            mac: decoded.mac,
            root: unlocked.root,
            authenticity: unlocked.authenticity,
            auth: None,
            payload_key,
            source: self.source,
        })
    }
}

/// A backup whose header MAC has been verified with the root key of one of its slots.
pub struct OpenedContainer<R: Read> {
    header: Header,
    mac: [u8; MAC_LEN],
    root: RootKey,
    /// How the root key was obtained: a version 2 slot's seal proves nothing.
    authenticity: Authenticity,
    /// The authentication secret of the device keyring that opened it, if that is how.
    auth: Option<crate::crypto::AuthSecret>,
    payload_key: PayloadKey,
    source: R,
}

impl<R: Read> OpenedContainer<R> {
    /// The header, now authenticated.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether only a holder of one of the keyring's secrets could have made this backup. A
    /// backup opened through a version 2 slot is not: its root-key seal could be anyone's (the
    /// backup still reads; show it as "made by an older version, not verified").
    pub fn is_authenticated(&self) -> bool {
        self.authenticity.is_authenticated()
    }

    /// The keyring as this backup carries it (root key, id, PRF input, generation, slots and
    /// authentication secret), to set up a new device. Refused with
    /// [`Error::UnauthenticatedKeyring`] when the backup was opened through a version 2 slot
    /// (its data still reads: set up a new keyring instead), and when the authentication secret
    /// is not known (a bare root key). A device that already has a keyring must not adopt an
    /// older one: see [`Self::keyring_at_least`].
    pub fn keyring(&self) -> Result<Keyring> {
        // Opened with the device keyring: its authentication secret is the keyring's.
        let authenticity = match &self.auth {
            Some(auth) => Authenticity::Sealed(auth.clone()),
            None => self.authenticity.clone(),
        };
        Keyring::adopted(
            UnlockedRoot {
                root: self.root.clone(),
                authenticity,
                slot: None,
            },
            self.header.keyring_id,
            self.header.prf_input,
            self.header.generation,
            self.header.slots.clone(),
        )
    }

    /// [`Self::keyring`], refused with [`Error::KeyringRolledBack`] if the backup's keyring is
    /// older than `known_generation` (the generation the app keeps with its root key): an old
    /// backup still restores, but its keyring may hold slots revoked since.
    pub fn keyring_at_least(&self, known_generation: u64) -> Result<Keyring> {
        let keyring = self.keyring()?;
        keyring.check_not_rolled_back(known_generation)?;
        Ok(keyring)
    }

    /// The decrypted, decompressed payload. It returns end of file only after the authenticated
    /// last segment (and, when compressed, the end of the zstd data).
    pub fn into_payload(self) -> Result<PayloadReader<R>> {
        let stream = TypedErrors(StreamReader::new(self.source, &self.payload_key, &self.mac));
        let inner = match self.header.compression {
            Compression::None => PayloadSource::Plain(stream),
            Compression::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::new(stream)?;
                decoder.window_log_max(MAX_ZSTD_WINDOW_LOG)?;
                PayloadSource::Zstd(decoder)
            }
        };
        Ok(PayloadReader { inner })
    }
}

/// Marks every error of the STREAM reader as a typed [`Error`], so that whatever the zstd
/// decoder reports untyped is known to be its own (bad compressed data).
struct TypedErrors<R: Read>(StreamReader<R>);

impl<R: Read> Read for TypedErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|err| {
            let typed = Error::from(err);
            io::Error::other(typed)
        })
    }
}

enum PayloadSource<R: Read> {
    Plain(TypedErrors<R>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<TypedErrors<R>>>),
}

/// The authenticated plaintext of a backup's payload.
pub struct PayloadReader<R: Read> {
    inner: PayloadSource<R>,
}

impl<R: Read> Read for PayloadReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match &mut self.inner {
            PayloadSource::Plain(stream) => stream.read(buf),
            PayloadSource::Zstd(decoder) => decoder.read(buf),
        };
        result.map_err(|err| {
            if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
                err
            } else {
                Error::Corrupted {
                    what: format!("compressed payload: {err}"),
                }
                .into_io()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{
        crypto::stream::StreamWriter,
        format::{Metadata, PayloadKind},
    };

    /// A container whose header says zstd and whose authenticated payload is `payload` as is.
    fn with_raw_payload(keyring: &Keyring, payload: &[u8]) -> Vec<u8> {
        let header = Header {
            version: crate::format::FORMAT_VERSION,
            generation: keyring.generation(),
            payload_kind: PayloadKind::ChatArchive,
            compression: Compression::Zstd,
            file_salt: [1u8; 32],
            keyring_id: *keyring.id(),
            prf_input: *keyring.prf_input(),
            created_at: 0,
            slots: Vec::new(),
            metadata: Metadata::new(),
        };
        let mut bytes = header.encode_unauthenticated().unwrap();
        let (payload_key, mac_key) =
            kdf::derive_file_keys(keyring.root_key(), &header.file_salt).unwrap();
        let mac = mac_key.tag(&bytes);
        bytes.extend_from_slice(&mac);
        let mut stream = StreamWriter::new(bytes, &payload_key, &mac);
        stream.write_all(payload).unwrap();
        stream.finish().unwrap()
    }

    fn read_payload(keyring: &Keyring, container: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        open(container)?
            .unlock_with_keyring(keyring)?
            .into_payload()?
            .read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn authenticated_but_bad_compressed_data_is_corrupted() {
        let keyring = Keyring::create().unwrap();
        let frame = zstd::encode_all(&[5u8; 5000][..], 3).unwrap();
        let whole = with_raw_payload(&keyring, &frame);
        assert_eq!(read_payload(&keyring, &whole).unwrap(), vec![5u8; 5000]);

        let cut = with_raw_payload(&keyring, &frame[..frame.len() - 3]);
        let err = read_payload(&keyring, &cut).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupted { what } if what.contains("compressed")),
            "{err:?}"
        );

        let trailing = with_raw_payload(&keyring, &[frame.as_slice(), b"junk"].concat());
        let err = read_payload(&keyring, &trailing).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupted { what } if what.contains("compressed")),
            "{err:?}"
        );
    }

    #[test]
    fn stream_errors_pass_through_the_decompressor_typed() {
        let keyring = Keyring::create().unwrap();
        let frame = zstd::encode_all(&[5u8; 5000][..], 3).unwrap();
        let whole = with_raw_payload(&keyring, &frame);
        let err = read_payload(&keyring, &whole[..whole.len() - 1]).unwrap_err();
        assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn zstd_corner_cases_behave_as_specified() {
        let keyring = Keyring::create().unwrap();
        // An empty compressed payload holds no frame: damaged, like an incomplete frame.
        let empty = with_raw_payload(&keyring, &[]);
        let err = read_payload(&keyring, &empty).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupted { what } if what.starts_with("compressed payload")),
            "{err:?}"
        );

        // Skippable frames (magic 0x184D2A50..5F, little-endian length, ignored content) are
        // skipped wherever they are; a payload of skippable frames only is empty.
        let mut skippable = 0x184D_2A50u32.to_le_bytes().to_vec();
        skippable.extend_from_slice(&4u32.to_le_bytes());
        skippable.extend_from_slice(b"skip");
        let frame = zstd::encode_all(&[5u8; 5000][..], 3).unwrap();
        let around = [skippable.as_slice(), &frame, &skippable].concat();
        let with_skips = with_raw_payload(&keyring, &around);
        assert_eq!(
            read_payload(&keyring, &with_skips).unwrap(),
            vec![5u8; 5000]
        );
        let only_skips = with_raw_payload(&keyring, &skippable);
        assert_eq!(
            read_payload(&keyring, &only_skips).unwrap(),
            Vec::<u8>::new()
        );

        // A frame that needs a window above 2^24 bytes is refused as damaged data.
        let mut wide = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        wide.window_log(MAX_ZSTD_WINDOW_LOG + 1).unwrap();
        wide.write_all(&[7u8; 1000]).unwrap();
        let wide = wide.finish().unwrap();
        let err = read_payload(&keyring, &with_raw_payload(&keyring, &wide)).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupted { what } if what.starts_with("compressed payload")),
            "{err:?}"
        );
    }
}
