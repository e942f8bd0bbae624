#!/usr/bin/env bash
# Builds keepsake-ffi and generates the Kotlin and Swift bindings from that very library, so the
# generated code always matches the build that is tested and shipped, then patches three UniFFI
# 0.32 defects in the Kotlin (scripts/patch-kotlin-bindings.sh). Output is build output, never
# committed:
#   target/bindings/kotlin/app/keepsake/keepsake_ffi.kt
#   target/bindings/swift/{Keepsake.swift, KeepsakeFFI.h, KeepsakeFFI.modulemap}
#   target/bindings/lib/libkeepsake_ffi.so (the library the bindings were generated from)
#
# Usage: scripts/generate-bindings.sh [--release] [--soft-authenticator]
#   --release             release profile (default: the dev profile `cargo test` uses)
#   --soft-authenticator  include SoftAuthenticator (tests, demo builds; never in a shipped app)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_profile=()
features=()
for arg in "$@"; do
    case "$arg" in
    --release)
        profile=release
        cargo_profile=(--release)
        ;;
    --soft-authenticator) features=(--features soft-authenticator) ;;
    *)
        echo "generate-bindings: unknown argument '$arg'" >&2
        exit 2
        ;;
    esac
done

case "$(uname -s)" in
Darwin) lib_file=libkeepsake_ffi.dylib ;;
*) lib_file=libkeepsake_ffi.so ;;
esac

# Two cargo calls, so that uniffi's `cli` feature (clap, askama, ...) stays out of keepsake-ffi.
cargo build --quiet -p keepsake-ffi "${cargo_profile[@]}" ${features[@]+"${features[@]}"}
cargo build --quiet -p uniffi-bindgen "${cargo_profile[@]}"

out=target/bindings
rm -rf "$out"
mkdir -p "$out/lib"
cp "target/$profile/$lib_file" "$out/lib/$lib_file"

for language in kotlin swift; do
    "target/$profile/uniffi-bindgen" generate --no-format \
        --config uniffi.toml --language "$language" --out-dir "$out/$language" \
        "$out/lib/$lib_file"
done

# Patches three UniFFI 0.32 defects in the generated Kotlin; fails if the text it patches changed.
scripts/patch-kotlin-bindings.sh "$out/kotlin/app/keepsake/keepsake_ffi.kt"

echo "bindings generated in $out from target/$profile/$lib_file" >&2
