#!/usr/bin/env bash
# Builds keepsake-ffi and generates the Kotlin and Swift bindings from that very library, so the
# generated code always matches the build that is tested and shipped, then patches two UniFFI
# 0.32 defects in the Kotlin (see the end of this file). Output is build output, never committed:
#   target/bindings/kotlin/app/keepsake/keepsake_ffi.kt
#   target/bindings/swift/{Keepsake.swift, KeepsakeFFI.h, KeepsakeFFI.modulemap}
#   target/bindings/lib/libkeepsake_ffi.so (the library the bindings were generated from)
#
# Usage: scripts/generate-bindings.sh [--release]   (default: the dev profile `cargo test` uses)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_profile=()
if [[ "${1:-}" == "--release" ]]; then
    profile=release
    cargo_profile=(--release)
fi

case "$(uname -s)" in
Darwin) lib_file=libkeepsake_ffi.dylib ;;
*) lib_file=libkeepsake_ffi.so ;;
esac

# Two cargo calls, so that uniffi's `cli` feature (clap, askama, ...) stays out of keepsake-ffi.
cargo build --quiet -p keepsake-ffi "${cargo_profile[@]}"
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

# ---- Kotlin post-processing (UniFFI 0.32.2). Each patch checks the generated text it expects and
# fails the build when it is not there, so a UniFFI upgrade that changes the templates is noticed
# (and the patch reviewed or dropped), never silently skipped.
kotlin_file="$out/kotlin/app/keepsake/keepsake_ffi.kt"
patch_failed() {
    echo "generate-bindings.sh: $* (UniFFI's generated Kotlin changed: review this patch)" >&2
    exit 1
}
count() { grep -cF -- "$1" "$kotlin_file" || true; }

# 1. Object arguments get the receivers' destroyed check. UniFFI 0.32's `lower()` calls
#    `uniffiCloneHandle()` directly: an object closed by `use {}` and passed as an argument
#    hands Rust the freed pointer (use after free). `callWithHandle` is the path receivers take:
#    it throws IllegalStateException once the object is destroyed, else keeps it alive while it
#    clones the handle, and the clone Rust receives owns its own reference.
objects=$(count 'fun uniffiCloneHandle(): Long {')
checked=$(count 'has already been destroyed")')
unchecked=$(count 'return value.uniffiCloneHandle()')
[[ "$objects" -ge 1 ]] || patch_failed "no object classes found"
[[ "$checked" == "$objects" ]] || patch_failed "$objects objects but $checked destroyed checks in callWithHandle"
[[ "$unchecked" == "$objects" ]] || patch_failed "$objects objects but $unchecked unchecked lower() bodies"
sed -i 's/return value\.uniffiCloneHandle()$/return value.callWithHandle { it }/' "$kotlin_file"
[[ "$(count 'return value.callWithHandle { it }')" == "$objects" ]] || patch_failed "lower() patch incomplete"

# 2. Exception messages are the error's detail (a sentence), not "detail=...".
variants=$(count 'get() = "detail=${ `detail` }"')
[[ "$variants" -ge 1 ]] || patch_failed "no KeepsakeException message getters found"
sed -i 's/get() = "detail=\${ `detail` }"$/get() = `detail`/' "$kotlin_file"
[[ "$(count 'detail=')" == "0" ]] || patch_failed "a message still reads detail=..."
echo "patched $kotlin_file: $objects object lower() bodies, $variants exception messages" >&2

echo "bindings generated in $out from target/$profile/$lib_file" >&2
