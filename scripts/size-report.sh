#!/usr/bin/env bash
# The size of the stripped mobile library (keepsake-ffi's cdylib, `mobile` profile) per Android
# ABI, measured on a Linux machine without the Android NDK (docs/MOBILE.md, "Size").
#
# Each ABI is built for a Linux proxy target with Debian's clang and lld standing in for the NDK's
# (same compiler family for the C parts, same linker, same 16 KB page flag as build-android.sh),
# against glibc instead of bionic. scripts/build-android.sh stays the real build; its "size" lines
# are the figures that ship.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/size-report.sh [--abi ABI]... [--profile NAME] [--features LIST] [--crates] [--help]

Builds keepsake-ffi's shared library for each ABI's Linux proxy target, strips it as
build-android.sh does (--strip-unneeded) and prints one line per ABI:

  size <abi> <bytes> bytes <MiB> MiB (proxy <rust target>)

then the goal check (at most 3 MiB per ABI; exit status 0 either way, the lines are the report).

Options:
  --abi ABI        only this ABI (repeatable): arm64-v8a, armeabi-v7a, x86_64, x86 (default: all)
  --profile NAME   cargo profile (default: mobile)
  --features LIST  cargo features of keepsake-ffi (default: none, as a release library)
  --crates         also print the unstripped library's symbol bytes per crate (nm), largest first
  --help           print this help

Proxies (Rust target; C compiler and linker):
  arm64-v8a    aarch64-unknown-linux-gnu            clang-19 --target=aarch64-linux-gnu, ld.lld-19
  armeabi-v7a  thumbv7neon-unknown-linux-gnueabihf  clang-19 --target=arm-linux-gnueabihf -mthumb
  x86_64       x86_64-unknown-linux-gnu             clang-19 --target=x86_64-linux-gnu
  x86          i686-unknown-linux-gnu               clang-19 --target=i686-linux-gnu

Needs (Debian/Ubuntu; installed when run as root): clang-19, lld-19, and the cross C libraries
and binutils gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf, gcc-i686-linux-gnu bring; rustup
adds the targets. Output: target/size-report/<abi>/libkeepsake_ffi.so (stripped).
EOF
}

die() {
    echo "size-report: $*" >&2
    exit 1
}

ALL_ABIS=(arm64-v8a armeabi-v7a x86_64 x86)
abis=()
profile=mobile
features=()
crates=0
GOAL=3145728 # 3 MiB

while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --abi)
        [[ $# -ge 2 ]] || die "--abi needs a value (one of: ${ALL_ABIS[*]})"
        case "$2" in
        arm64-v8a | armeabi-v7a | x86_64 | x86) abis+=("$2") ;;
        *) die "unknown ABI '$2' (one of: ${ALL_ABIS[*]})" ;;
        esac
        shift
        ;;
    --profile)
        [[ $# -ge 2 ]] || die "--profile needs a value (mobile, release)"
        profile="$2"
        shift
        ;;
    --features)
        [[ $# -ge 2 ]] || die "--features needs a value"
        features=(--features "$2")
        shift
        ;;
    --crates)
        crates=1
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

# ABI -> Rust proxy target, clang triple, binutils prefix, Debian package of that binutils.
proxy_of() {
    case "$1" in
    arm64-v8a) echo "aarch64-unknown-linux-gnu aarch64-linux-gnu aarch64-linux-gnu- gcc-aarch64-linux-gnu" ;;
    armeabi-v7a) echo "thumbv7neon-unknown-linux-gnueabihf arm-linux-gnueabihf arm-linux-gnueabihf- gcc-arm-linux-gnueabihf" ;;
    x86_64) echo "x86_64-unknown-linux-gnu x86_64-linux-gnu '' binutils" ;;
    x86) echo "i686-unknown-linux-gnu i686-linux-gnu i686-linux-gnu- gcc-i686-linux-gnu" ;;
    esac
}

# --- prerequisites ---------------------------------------------------------------------------------

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the proxy targets are added with rustup"

packages=()
command -v clang-19 >/dev/null 2>&1 || packages+=(clang-19)
command -v ld.lld-19 >/dev/null 2>&1 || packages+=(lld-19)
for abi in "${abis[@]}"; do
    read -r _ _ prefix package <<<"$(proxy_of "$abi")"
    prefix="${prefix//\'/}"
    command -v "${prefix}strip" >/dev/null 2>&1 || packages+=("$package")
done
if [[ ${#packages[@]} -gt 0 ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        echo "size-report: installing ${packages[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
    else
        die "missing ${packages[*]}: install them (apt-get install ${packages[*]})"
    fi
fi

work="$repo/target/size-report"
mkdir -p "$work/bin"

# clang and lld for one triple. The triple comes last so it wins over the --target cc-rs passes.
wrapper() {
    local path="$1" triple="$2"
    shift 2
    printf '#!/bin/sh\nexec clang-19 "$@" --target=%s %s\n' "$triple" "$*" >"$path"
    chmod +x "$path"
}

mib() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1048576 }'; }

# --- build, strip, measure -------------------------------------------------------------------------

declare -A size
for abi in "${abis[@]}"; do
    read -r target triple prefix _ <<<"$(proxy_of "$abi")"
    prefix="${prefix//\'/}"
    rustup target add "$target" >/dev/null 2>&1 || die "rustup target add $target failed"
    thumb=""
    [[ "$abi" == "armeabi-v7a" ]] && thumb="-mthumb"
    wrapper "$work/bin/cc-$abi" "$triple" "$thumb"
    wrapper "$work/bin/ld-$abi" "$triple" "-fuse-ld=lld"
    upper="$(echo "$target" | tr '[:lower:]-' '[:upper:]_')"
    lower="$(echo "$target" | tr '-' '_')"
    export_mobile_cflags "$target"
    echo "== $abi: cargo build -p keepsake-ffi --lib --profile $profile --target $target" >&2
    env "CC_$lower=$work/bin/cc-$abi" "AR_$lower=${prefix}ar" \
        "CARGO_TARGET_${upper}_LINKER=$work/bin/ld-$abi" \
        "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--pack-dyn-relocs=relr" \
        cargo build -q -p keepsake-ffi --lib --profile "$profile" --target "$target" ${features[@]+"${features[@]}"} >&2
    built="$repo/target/$target/$profile/libkeepsake_ffi.so"
    mkdir -p "$work/$abi"
    cp "$built" "$work/$abi/libkeepsake_ffi.so"
    "${prefix}strip" --strip-unneeded "$work/$abi/libkeepsake_ffi.so"
    size[$abi]=$(stat -c %s "$work/$abi/libkeepsake_ffi.so")
    if [[ "$crates" == "1" ]]; then
        echo "-- $abi: symbol bytes per crate (unstripped library, nm -S)"
        # Rust symbols demangle to crate::path; C symbols (SQLite, zstd) are grouped by prefix.
        "${prefix}nm" -S -t d --size-sort -C "$built" | awk '
            NF >= 4 {
                size = $2 + 0; name = $4
                for (i = 5; i <= NF; i++) name = name " " $i
                sub(/^</, "", name); sub(/^_</, "", name)
                if (name ~ /^sqlite3|^Sqlite|^sqlite/) crate = "sqlite (C)"
                else if (name ~ /^(ZSTD|HUF|FSE|HIST|ZSTDMT|ZDICT|POOL)_/) crate = "zstd (C)"
                else if (name ~ /^blake3_/) crate = "blake3 (C)"
                else if (name ~ /::/) { crate = name; sub(/::.*/, "", crate); sub(/^.* for /, "", crate); sub(/^&(mut )?/, "", crate) }
                else crate = "(other C / std)"
                bytes[crate] += size
            }
            END { for (c in bytes) printf "%9d  %s\n", bytes[c], c }' | sort -rn | sed -n 1,25p
    fi
done

echo "== stripped libkeepsake_ffi.so, profile $profile (proxy targets, see --help)"
over=0
for abi in "${abis[@]}"; do
    read -r target _ <<<"$(proxy_of "$abi")"
    echo "size $abi ${size[$abi]} bytes $(mib "${size[$abi]}") MiB (proxy $target)"
    [[ "${size[$abi]}" -le "$GOAL" ]] || over=$((over + 1))
done
if [[ "$over" == "0" ]]; then
    echo "goal: every ABI at most 3 MiB ($GOAL bytes)"
else
    echo "goal: $over ABI(s) above 3 MiB ($GOAL bytes)"
fi
