# shellcheck shell=bash
# The C compiler flags of the mobile libraries, sourced by scripts/build-android.sh,
# scripts/build-ios.sh and scripts/size-report.sh (docs/MOBILE.md, "Size").
#
# The mobile API takes zstd levels 0 to 3 only (bindings/src/backup.rs,
# MAX_MOBILE_COMPRESSION_LEVEL): levels 1 to 3 run zstd's fast and double-fast strategies at every
# input size (zstd's clevels.h), so the greedy, lazy and binary-tree strategies of the higher
# levels are compiled out (zstd 1.5.6+ ZSTD_EXCLUDE_*; a level that would need one falls back to
# the next strategy built in, which no mobile call reaches). About 230 KB of zstd's compressor on
# arm64. Host builds and the tests keep every strategy: the core and the CLI accept 1 to 19.

MOBILE_CFLAGS="-DZSTD_EXCLUDE_GREEDY_BLOCK_COMPRESSOR -DZSTD_EXCLUDE_LAZY_BLOCK_COMPRESSOR \
-DZSTD_EXCLUDE_LAZY2_BLOCK_COMPRESSOR -DZSTD_EXCLUDE_BTLAZY2_BLOCK_COMPRESSOR \
-DZSTD_EXCLUDE_BTOPT_BLOCK_COMPRESSOR -DZSTD_EXCLUDE_BTULTRA_BLOCK_COMPRESSOR"

# Adds MOBILE_CFLAGS to CFLAGS_<target> (underscores) for each Rust target given, after any flags
# already there. The cc crate adds CFLAGS_<target> to CFLAGS and TARGET_CFLAGS; cargo-ndk keeps it
# and puts its --target in front.
export_mobile_cflags() {
    local target var
    for target in "$@"; do
        var="CFLAGS_${target//-/_}"
        export "$var=${!var:+${!var} }$MOBILE_CFLAGS"
    done
}
