//! Arbitrary bytes as repository objects: every strict decoder (config, index content of both
//! formats, snapshot, pack trailer, list chunk, a whole pack under fixed keys, every envelope
//! kind, a media catalog stream) must return a typed error or a value, never panic, and never
//! allocate beyond its limits.
#![no_main]

use keepsake_core::{
    repo::{
        catalog::CatalogReader,
        config::SealedConfig,
        index,
        keys::{EpochKeys, KeySet},
        object::{self, Kind},
        pack, snapshot, SnapshotId,
    },
    Error,
};
use libfuzzer_sys::fuzz_target;

fn typed(result: Result<(), Error>) {
    match result {
        Ok(())
        | Err(
            Error::Corrupted { .. }
            | Error::Truncated { .. }
            | Error::UnsupportedVersion { .. }
            | Error::LimitExceeded { .. },
        ) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    typed(SealedConfig::decode(data).map(|_| ()));
    typed(index::decode_content(data, 1).map(|_| ()));
    typed(index::decode_content(data, 2).map(|_| ()));
    typed(snapshot::decode_plain(SnapshotId([1; 16]), data).map(|_| ()));
    typed(pack::decode_trailer(data, u64::MAX, "data/00").map(|_| ()));
    typed(snapshot::decode_list(data, &[0; 32]).map(|_| ()));
    typed(CatalogReader::new(data).try_for_each(|entry| entry.map(|_| ())));
    let keys = KeySet::new(vec![EpochKeys::derive(&[1; 16], 0, [2; 32]).unwrap()]).unwrap();
    typed(pack::split_pack(&keys, "data/00", data).map(|_| ()));
    typed(index::decode(&keys, "index/00", data).map(|_| ()));
    for kind in [Kind::Index, Kind::Snapshot, Kind::Lock, Kind::Damage, Kind::Trailer] {
        typed(object::open(&keys, kind, "index/00", data, 1 << 20).map(|_| ()));
    }
});
