#!/usr/bin/env bash
# Builds keepsake-ffi for Android and generates its Kotlin bindings from that same build.
#
#   .so files   -> android-sample/keepsake/src/main/jniLibs/<abi>/libkeepsake_ffi.so
#   Kotlin      -> android-sample/keepsake/src/main/generated/app/keepsake/keepsake_ffi.kt
#
# Both are build output (git-ignored); the :keepsake Gradle module packages them as the AAR.
# Needs: the Android NDK (r26 or later), cargo-ndk, rustup. See docs/MOBILE.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/build-android.sh [--profile NAME | --debug] [--demo] [--abi ABI]... [--help]

Builds keepsake-ffi for Android with cargo-ndk (platform 28, 16 KB page alignment) and generates
the Kotlin bindings from the first ABI's library of the same build.

Options:
  --abi ABI       build only this ABI (repeatable): arm64-v8a, armeabi-v7a, x86_64, x86
                  (default: all four)
  --profile NAME  cargo profile (default: mobile, the size-oriented release profile;
                  release: faster to build)
  --debug         cargo dev profile
  --demo          include the software authenticator (SoftAuthenticator) for the sample's demo
                  mode; never for an app you ship (release libraries leave it out)
  --help          print this help

Environment:
  ANDROID_NDK_HOME  the NDK folder (also read: ANDROID_NDK_ROOT, or the newest
                    $ANDROID_HOME/ndk/<version> / $ANDROID_SDK_ROOT/ndk/<version>)

Prerequisites: Android NDK r26+, `cargo install cargo-ndk`, rustup.
EOF
}

die() {
    echo "build-android: $*" >&2
    exit 1
}

ALL_ABIS=(arm64-v8a armeabi-v7a x86_64 x86)
PLATFORM=28
abis=()
profile=mobile
features=()

while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --debug)
        profile=dev
        ;;
    --profile)
        [[ $# -ge 2 ]] || die "--profile needs a value (mobile, release, dev)"
        profile="$2"
        shift
        ;;
    --demo)
        features=(--features soft-authenticator)
        ;;
    --abi)
        [[ $# -ge 2 ]] || die "--abi needs a value (one of: ${ALL_ABIS[*]})"
        case "$2" in
        arm64-v8a | armeabi-v7a | x86_64 | x86) abis+=("$2") ;;
        *) die "unknown ABI '$2' (one of: ${ALL_ABIS[*]})" ;;
        esac
        shift
        ;;
    *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
done
[[ ${#abis[@]} -gt 0 ]] || abis=("${ALL_ABIS[@]}")

cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source-path=SCRIPTDIR source=mobile-cflags.sh
source scripts/mobile-cflags.sh

rust_target_of() {
    case "$1" in
    arm64-v8a) echo aarch64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86_64) echo x86_64-linux-android ;;
    x86) echo i686-linux-android ;;
    esac
}

# --- prerequisites: say exactly what is missing ------------------------------------------------

find_ndk() {
    local candidate
    for candidate in "${ANDROID_NDK_HOME:-}" "${ANDROID_NDK_ROOT:-}"; do
        if [[ -n "$candidate" ]]; then
            [[ -d "$candidate/toolchains/llvm/prebuilt" ]] ||
                die "Android NDK not found: '$candidate' (from ANDROID_NDK_HOME/ANDROID_NDK_ROOT) has no toolchains/llvm/prebuilt"
            echo "$candidate"
            return 0
        fi
    done
    local sdk
    for sdk in "${ANDROID_HOME:-}" "${ANDROID_SDK_ROOT:-}"; do
        if [[ -n "$sdk" && -d "$sdk/ndk" ]]; then
            # The newest side-by-side NDK (version folders sort by their leading number).
            candidate="$(find "$sdk/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -1)"
            if [[ -n "$candidate" && -d "$candidate/toolchains/llvm/prebuilt" ]]; then
                echo "$candidate"
                return 0
            fi
        fi
    done
    return 1
}

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the Android targets are added with rustup"

NDK="$(find_ndk)" || die "Android NDK not found: set ANDROID_NDK_HOME to an NDK r26+ folder" \
    "(sdkmanager 'ndk;27.2.12479018'), or ANDROID_HOME with an ndk/<version> inside"
export ANDROID_NDK_HOME="$NDK"

cargo ndk --version >/dev/null 2>&1 ||
    die "cargo-ndk not found: install it with 'cargo install cargo-ndk' (version 3 or later)"

# The x86_64 emulator needs compiler builtins the Rust target does not link: bundled SQLite uses
# long double helpers such as __extenddftf2, which live in the NDK's libclang_rt.builtins.
x86_64_builtins() {
    local found
    found="$(find "$NDK/toolchains/llvm/prebuilt" -path '*/lib/clang/*/lib/linux/libclang_rt.builtins-x86_64-android.a' 2>/dev/null | sort -V | tail -1)"
    [[ -n "$found" ]] || die "libclang_rt.builtins-x86_64-android.a not found under $NDK/toolchains/llvm/prebuilt/*/lib/clang/*/lib/linux (NDK too old or incomplete?)"
    echo "$found"
}

# --- build --------------------------------------------------------------------------------------

# Every library is linked for 16 KB pages (required for Android 15+ devices with 16 KB pages).
# Per-target variables, because RUSTFLAGS would replace them instead of adding to them. The C
# parts get the mobile flags (scripts/mobile-cflags.sh: zstd without the strategies of levels
# above 3, which the mobile API refuses).
page_flags="-C link-arg=-Wl,-z,max-page-size=16384"
target_args=()
for abi in "${abis[@]}"; do
    target="$(rust_target_of "$abi")"
    rustup target add "$target" >/dev/null
    target_args+=(-t "$abi")
    var="CARGO_TARGET_$(echo "$target" | tr '[:lower:]-' '[:upper:]_')_RUSTFLAGS"
    flags="$page_flags"
    if [[ "$abi" == "x86_64" ]]; then
        flags="$flags -C link-arg=$(x86_64_builtins)"
    fi
    export "$var=$flags"
    export_mobile_cflags "$target"
done

module="$repo/android-sample/keepsake/src/main"
jni_libs="$module/jniLibs"
generated="$module/generated"

# cargo's output folder of a profile: dev builds land in debug/.
profile_dir="$profile"
[[ "$profile" == "dev" ]] && profile_dir=debug
lib_of() { echo "$repo/target/$(rust_target_of "$1")/$profile_dir/libkeepsake_ffi.so"; }

echo "== cargo ndk (${abis[*]}, platform $PLATFORM, profile $profile)" >&2
cargo ndk "${target_args[@]}" --platform "$PLATFORM" build -p keepsake-ffi --lib --profile "$profile" ${features[@]+"${features[@]}"}
# Copied here rather than with cargo-ndk's --output-dir, which looks for the artifacts of
# --release/dev builds only.
for abi in "${abis[@]}"; do
    mkdir -p "$jni_libs/$abi"
    cp "$(lib_of "$abi")" "$jni_libs/$abi/libkeepsake_ffi.so"
done

# --- Kotlin bindings from the same build ----------------------------------------------------------

# uniffi-bindgen reads the metadata out of the built library itself (library mode), so the Kotlin
# matches exactly the .so files packaged next to it. Any ABI carries the same metadata.
source_lib="$(lib_of "${abis[0]}")"
[[ -f "$source_lib" ]] || die "expected $source_lib after the build"

cargo build --quiet -p uniffi-bindgen --release
rm -rf "$generated"
mkdir -p "$generated"
"$repo/target/release/uniffi-bindgen" generate --no-format --config "$repo/uniffi.toml" \
    --language kotlin --out-dir "$generated" "$source_lib"

# --- strip, now that the bindings were read from the symbols ------------------------------------

# The profile keeps the symbol table (uniffi-bindgen reads the metadata from it); the app needs only
# the dynamic symbols JNA looks up. The size goal is per ABI (docs/MOBILE.md); the release workflow
# collects the "size" lines.
llvm_strip="$(find "$NDK/toolchains/llvm/prebuilt" -path '*/bin/llvm-strip' 2>/dev/null | head -1)"
[[ -n "$llvm_strip" ]] || die "llvm-strip not found under $NDK/toolchains/llvm/prebuilt/*/bin"
for abi in "${abis[@]}"; do
    if [[ "$profile" != "dev" ]]; then
        "$llvm_strip" --strip-unneeded "$jni_libs/$abi/libkeepsake_ffi.so"
    fi
    echo "size $abi $(wc -c <"$jni_libs/$abi/libkeepsake_ffi.so") bytes" >&2
done

echo "== done" >&2
find "$jni_libs" -name '*.so' | sort >&2
find "$generated" -name '*.kt' | sort >&2
