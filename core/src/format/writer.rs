//! Writing a container: header, header MAC, then the compressed and encrypted payload.

use std::{
    io::{self, Write},
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{
    crypto::{kdf, kdf::FILE_SALT_LEN, random_bytes, stream::StreamWriter},
    format::{Compression, Header, Metadata, PayloadKind},
    keyring::Keyring,
    Error, Result,
};

/// Highest zstd level accepted; 20..=22 ("ultra") need windows larger than readers allow.
pub const MAX_COMPRESSION_LEVEL: i32 = 19;

/// How a container is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// zstd level 1..=19 (default 3); 0 stores the payload uncompressed.
    pub compression_level: i32,
    /// The keyring generation the app keeps with its root key. A keyring of a lower
    /// generation is refused with [`Error::KeyringRolledBack`]. There is no default: pass what
    /// the app stored ([`Self::for_generation`]).
    pub known_generation: u64,
}

impl WriteOptions {
    /// zstd level 3 for a device that keeps keyring generation `known_generation`.
    pub fn for_generation(known_generation: u64) -> Self {
        WriteOptions {
            compression_level: 3,
            known_generation,
        }
    }
}

impl WriteOptions {
    fn compression(&self) -> Result<Compression> {
        match self.compression_level {
            0 => Ok(Compression::None),
            1..=MAX_COMPRESSION_LEVEL => Ok(Compression::Zstd),
            other => Err(Error::InvalidArgument(format!(
                "compression level {other}: use 0 (none) or 1..={MAX_COMPRESSION_LEVEL} (zstd)"
            ))),
        }
    }
}

/// The plaintext end of the payload pipeline.
enum PayloadSink<W: Write> {
    Plain(StreamWriter<W>),
    Zstd(zstd::stream::write::Encoder<'static, StreamWriter<W>>),
}

/// Writes a complete backup to a sink: the header goes out in [`ContainerWriter::new`], the
/// payload is written through `Write`, and [`ContainerWriter::finish`] seals the last segment.
/// Memory stays constant whatever the payload size. Dropping the writer without `finish`
/// leaves a backup that every reader rejects as truncated.
pub struct ContainerWriter<W: Write> {
    payload: PayloadSink<W>,
}

impl<W: Write> ContainerWriter<W> {
    /// Starts a backup for `keyring` with a fresh random file salt and the current time.
    /// Refuses a keyring older than `options.known_generation` ([`Error::KeyringRolledBack`])
    /// and one that no new phone could open ([`Keyring::check_restorable`]: no slot, or only
    /// passkeys that cannot sync).
    pub fn new(
        sink: W,
        keyring: &Keyring,
        kind: PayloadKind,
        metadata: &Metadata,
        options: &WriteOptions,
    ) -> Result<Self> {
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        Self::with_fixed_inputs(
            sink,
            keyring,
            kind,
            metadata,
            options,
            random_bytes()?,
            created_at,
        )
    }

    /// [`new`](Self::new) with a given file salt and time: the only randomness of a container,
    /// fixed for test vectors. A repeated salt would repeat payload keys, so this stays private.
    pub(crate) fn with_fixed_inputs(
        sink: W,
        keyring: &Keyring,
        kind: PayloadKind,
        metadata: &Metadata,
        options: &WriteOptions,
        file_salt: [u8; FILE_SALT_LEN],
        created_at: u64,
    ) -> Result<Self> {
        keyring.check_not_rolled_back(options.known_generation)?;
        keyring.check_restorable()?;
        let header = Header {
            version: crate::format::FORMAT_VERSION,
            generation: keyring.generation(),
            payload_kind: kind,
            compression: options.compression()?,
            file_salt,
            keyring_id: *keyring.id(),
            prf_input: *keyring.prf_input(),
            created_at,
            slots: keyring.slots().to_vec(),
            metadata: metadata.clone(),
        };
        Self::with_header(sink, keyring, &header, options.compression_level)
    }

    /// Writes `header` (whatever its slots) keyed by `keyring`'s root key; vectors use it to
    /// build headers a normal writer never would (e.g. a slot from another keyring).
    pub(crate) fn with_header(
        mut sink: W,
        keyring: &Keyring,
        header: &Header,
        level: i32,
    ) -> Result<Self> {
        let mut bytes = header.encode_unauthenticated()?;
        let (payload_key, mac_key) = kdf::derive_file_keys(keyring.root_key(), &header.file_salt)?;
        let mac = mac_key.tag(&bytes);
        bytes.extend_from_slice(&mac);
        sink.write_all(&bytes)?;
        let stream = StreamWriter::new(sink, &payload_key, &mac);
        let payload = match header.compression {
            Compression::None => PayloadSink::Plain(stream),
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(stream, level)?;
                encoder.include_checksum(false)?;
                encoder.include_contentsize(false)?;
                PayloadSink::Zstd(encoder)
            }
        };
        Ok(ContainerWriter { payload })
    }

    /// Ends the payload (zstd frame, then the last STREAM segment), flushes and returns the sink.
    pub fn finish(self) -> Result<W> {
        let stream = match self.payload {
            PayloadSink::Plain(stream) => stream,
            PayloadSink::Zstd(encoder) => encoder.finish()?,
        };
        stream.finish()
    }
}

impl<W: Write> Write for ContainerWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.payload {
            PayloadSink::Plain(stream) => stream.write(data),
            PayloadSink::Zstd(encoder) => encoder.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.payload {
            PayloadSink::Plain(stream) => stream.flush(),
            PayloadSink::Zstd(encoder) => encoder.flush(),
        }
    }
}
