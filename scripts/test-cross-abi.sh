#!/usr/bin/env bash
# The core's test suite (unit, integration, vectors, kill -9 and doc tests) on the other CPU
# families the mobile libraries ship for: 32-bit x86 natively, 64-bit and 32-bit ARM under
# qemu-user. Not part of scripts/test.sh (an emulated run takes many minutes); the GitHub workflow
# .github/workflows/cross-abi.yml runs it, one ABI per job. See docs/MOBILE.md, "Every ABI tested".
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/test-cross-abi.sh [--abi ABI]... [--packages] [--help]

Runs `cargo test -p keepsake-core --all-features` for each ABI's Linux target and prints, per
ABI, "cross-abi <abi>: N passed, M failed, K ignored (S s)"; exits non-zero if any test failed.

  i686     i686-unknown-linux-gnu, run natively (stands in for Android x86)
  aarch64  aarch64-unknown-linux-gnu under qemu-aarch64 -cpu max (arm64-v8a: the ARMv8 AES,
           PMULL and SHA-256 instructions are there, so their code paths are the ones tested)
  armv7    armv7-unknown-linux-gnueabihf under qemu-arm (armeabi-v7a: software AES and SHA-256)

The kill -9 tests re-execute their own test binary; KEEPSAKE_TEST_RUNNER names the emulator, so
the child runs under qemu too (no binfmt_misc needed).

Options:
  --abi ABI   only this ABI (repeatable; default: all three)
  --packages  print the Debian/Ubuntu packages the ABIs need and exit
              (e.g. sudo apt-get install -y $(scripts/test-cross-abi.sh --packages --abi armv7))
  --help      print this help

Missing packages are installed with apt-get when run as root; rustup adds the targets.
EOF
}

die() {
    echo "test-cross-abi: $*" >&2
    exit 1
}

ALL_ABIS=(i686 aarch64 armv7)
abis=()
packages_only=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --abi)
        [[ $# -ge 2 ]] || die "--abi needs a value (one of: ${ALL_ABIS[*]})"
        case "$2" in
        i686 | aarch64 | armv7) abis+=("$2") ;;
        *) die "unknown ABI '$2' (one of: ${ALL_ABIS[*]})" ;;
        esac
        shift
        ;;
    --packages)
        packages_only=1
        ;;
    *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
done
[[ ${#abis[@]} -gt 0 ]] || abis=("${ALL_ABIS[@]}")

# ABI -> Rust target, GNU toolchain prefix, runner (empty: native), packages.
target_of() {
    case "$1" in
    i686) echo i686-unknown-linux-gnu ;;
    aarch64) echo aarch64-unknown-linux-gnu ;;
    armv7) echo armv7-unknown-linux-gnueabihf ;;
    esac
}
prefix_of() {
    case "$1" in
    i686) echo i686-linux-gnu ;;
    aarch64) echo aarch64-linux-gnu ;;
    armv7) echo arm-linux-gnueabihf ;;
    esac
}
runner_of() {
    case "$1" in
    i686) echo "" ;;
    aarch64) echo "qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu" ;;
    armv7) echo "qemu-arm -L /usr/arm-linux-gnueabihf" ;;
    esac
}
packages_of() {
    case "$1" in
    # libc6-i386 and lib32gcc-s1 are the 32-bit loader, C library and unwinder the i686 binaries
    # run with, on the x86_64 kernel (the cross packages only link against theirs).
    i686) echo gcc-i686-linux-gnu libc6-dev-i386-cross libc6-i386 lib32gcc-s1 ;;
    aarch64) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user ;;
    armv7) echo gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user ;;
    esac
}

if [[ "$packages_only" == "1" ]]; then
    for abi in "${abis[@]}"; do packages_of "$abi"; done | tr ' ' '\n' | sort -u | tr '\n' ' '
    echo
    exit 0
fi

cd "$(dirname "$0")/.."
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the targets are added with rustup"

missing=()
for abi in "${abis[@]}"; do
    if ! command -v "$(prefix_of "$abi")-gcc" >/dev/null 2>&1; then
        read -ra more <<<"$(packages_of "$abi")"
        missing+=("${more[@]}")
    fi
    runner="$(runner_of "$abi")"
    if [[ -n "$runner" ]] && ! command -v "${runner%% *}" >/dev/null 2>&1; then missing+=(qemu-user); fi
    if [[ "$abi" == "i686" && ! -e /lib/ld-linux.so.2 ]]; then missing+=(libc6-i386); fi
    if [[ "$abi" == "i686" && ! -e /usr/lib32/libgcc_s.so.1 ]]; then missing+=(lib32gcc-s1); fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test-cross-abi: installing ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
        die "missing ${missing[*]}: sudo apt-get install -y ${missing[*]}"
    fi
fi

# Sums the "test result:" lines of a cargo test log: "<passed> <failed> <ignored>".
tally() {
    awk '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed/) p += $i
                if ($(i + 1) ~ /^failed/) f += $i
                if ($(i + 1) ~ /^ignored/) g += $i
            }
        }
        END { printf "%d %d %d\n", p, f, g }' "$1"
}

log_dir="target/cross-abi"
mkdir -p "$log_dir"
summary=()
failed=0
for abi in "${abis[@]}"; do
    target="$(target_of "$abi")"
    prefix="$(prefix_of "$abi")"
    runner="$(runner_of "$abi")"
    rustup target add "$target" >/dev/null 2>&1 || die "rustup target add $target failed"
    upper="$(echo "$target" | tr '[:lower:]-' '[:upper:]_')"
    lower="$(echo "$target" | tr '-' '_')"
    vars=("CC_$lower=$prefix-gcc" "AR_$lower=$prefix-ar" "CARGO_TARGET_${upper}_LINKER=$prefix-gcc")
    if [[ -n "$runner" ]]; then
        vars+=("CARGO_TARGET_${upper}_RUNNER=$runner" "KEEPSAKE_TEST_RUNNER=$runner")
    fi
    log="$log_dir/$abi.log"
    echo "== $abi: cargo test -p keepsake-core --all-features --target $target${runner:+ (runner: $runner)}"
    start=$(date +%s)
    status=0
    env "${vars[@]}" cargo test -p keepsake-core --all-features --target "$target" --no-fail-fast 2>&1 |
        tee "$log" | grep -E '^(test result:|failures:|    [a-z_:]+$|error)' || true
    grep -q '^test result:' "$log" || status=1
    grep -qE '^test result: FAILED|^error' "$log" && status=1
    read -r passed failed_tests ignored <<<"$(tally "$log")"
    line="cross-abi $abi: $passed passed, $failed_tests failed, $ignored ignored ($(($(date +%s) - start)) s)"
    [[ "$status" == "0" ]] || line="$line, FAILED (log: $log)"
    [[ "$status" == "0" ]] || failed=1
    summary+=("$line")
done

echo "== cross-ABI summary"
for line in "${summary[@]}"; do echo "$line"; done
exit "$failed"
