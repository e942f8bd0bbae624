#!/usr/bin/env bash
# Proof that the arm64 library runs its crypto in hardware (docs/ARCHITECTURE.md, "Crypto per
# ABI"): the ARMv8 SHA-256, AES and PMULL instructions and BLAKE3's NEON code are in the built
# mobile library, and they execute when the CPU has them.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/arm64-crypto-report.sh [--lib PATH] [--no-run] [--help]

1. In the library: disassembles the unstripped arm64 keepsake-ffi library (by default the
   mobile-profile build of scripts/size-report.sh --abi arm64-v8a, which this builds) and counts,
   per function, the SHA-256 (sha256h, sha256h2, sha256su0, sha256su1), AES (aese, aesmc,
   aesd, aesimc) and PMULL (pmull, pmull2) instructions, and the NEON instructions of BLAKE3.
2. At run time: builds core/examples/crypto_paths for aarch64-unknown-linux-gnu and runs it under
   qemu-aarch64 -cpu max with qemu's instruction log (-d in_asm), then counts the same
   instructions among those executed.
Fails when any of the four is missing from either.

Options:
  --lib PATH  analyse this unstripped arm64 library instead of building one (for example the NDK
              build's target/aarch64-linux-android/mobile/libkeepsake_ffi.so)
  --no-run    skip the run under qemu
  --help      print this help

Needs: binutils-aarch64-linux-gnu (objdump), and for the run gcc-aarch64-linux-gnu,
libc6-dev-arm64-cross and qemu-user (installed when run as root, as for scripts/size-report.sh).
EOF
}

die() {
    echo "arm64-crypto-report: $*" >&2
    exit 1
}

lib=""
run=1
while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --lib)
        [[ $# -ge 2 ]] || die "--lib needs a path"
        lib="$2"
        shift
        ;;
    --no-run)
        run=0
        ;;
    *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
done

cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu

needed=()
command -v aarch64-linux-gnu-objdump >/dev/null 2>&1 || needed+=(binutils-aarch64-linux-gnu)
if [[ "$run" == "1" ]]; then
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || needed+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
    command -v qemu-aarch64 >/dev/null 2>&1 || needed+=(qemu-user)
fi
if [[ ${#needed[@]} -gt 0 ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >&2
    else
        die "missing ${needed[*]}: sudo apt-get install -y ${needed[*]}"
    fi
fi

# Counts per function of an objdump -d listing or a qemu in_asm log (both name the function above
# its instructions: "<name>:" and "IN: name"). Prints "<sha256> <aes> <pmull> <neon> <function>"
# for functions with any, then "total ...". NEON is counted only in BLAKE3's functions (the other
# crates' vector code is not what is being proved).
tally() {
    awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); next }
        /^IN: / { fn = substr($0, 5); next }
        {
            line = tolower($0)
            if (line ~ /[ \t](sha256h|sha256h2|sha256su0|sha256su1)[ \t]/) sha[fn]++
            else if (line ~ /[ \t](aese|aesd|aesmc|aesimc)[ \t]/) aes[fn]++
            else if (line ~ /[ \t](pmull|pmull2)[ \t]/) pmull[fn]++
            else if (fn ~ /blake3/ && line ~ /[ \t]v[0-9]+\.(16b|8b|8h|4h|4s|2s|2d)/) neon[fn]++
            seen[fn] = 1
        }
        END {
            for (f in seen) if (sha[f] + aes[f] + pmull[f] + neon[f] > 0) {
                printf "%7d %7d %7d %7d  %s\n", sha[f], aes[f], pmull[f], neon[f], f
                ts += sha[f]; ta += aes[f]; tp += pmull[f]; tn += neon[f]
            }
            printf "%7d %7d %7d %7d  total\n", ts, ta, tp, tn
        }' "$1" | c++filt | sort -k5,5 | awk '$5 != "total"; $5 == "total" { total = $0 } END { print total }'
}

# "sha256 aes pmull neon" must all be above zero in the total line of a tally.
all_present() { awk '$5 == "total" { exit !($1 > 0 && $2 > 0 && $3 > 0 && $4 > 0) }' "$1"; }

work=target/arm64-crypto
mkdir -p "$work"
failed=0

# --- 1. in the library ------------------------------------------------------------------------------
if [[ -z "$lib" ]]; then
    scripts/size-report.sh --abi arm64-v8a >&2
    lib="target/$target/mobile/libkeepsake_ffi.so"
fi
[[ -f "$lib" ]] || die "no library at $lib"
aarch64-linux-gnu-objdump -d --no-show-raw-insn -C "$lib" >"$work/library.asm" 2>/dev/null ||
    die "objdump failed on $lib"
echo "== in $lib (instructions per function: sha256 aes pmull neon)"
tally "$work/library.asm" | tee "$work/library.tally"
all_present "$work/library.tally" || { echo "MISSING from the library"; failed=1; }

# --- 2. at run time under qemu -cpu max ---------------------------------------------------------
if [[ "$run" == "1" ]]; then
    lower="${target//-/_}"
    upper="$(echo "$lower" | tr '[:lower:]' '[:upper:]')"
    env "CC_$lower=aarch64-linux-gnu-gcc" "AR_$lower=aarch64-linux-gnu-ar" \
        "CARGO_TARGET_${upper}_LINKER=aarch64-linux-gnu-gcc" \
        cargo build -q -p keepsake-core --release --example crypto_paths --target "$target" >&2
    example="target/$target/release/examples/crypto_paths"
    echo "== $example under qemu-aarch64 -cpu max"
    qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu -d in_asm -D "$work/qemu.log" "$example"
    echo "== executed (translated) instructions per function: sha256 aes pmull neon"
    tally "$work/qemu.log" | tee "$work/run.tally"
    all_present "$work/run.tally" || { echo "MISSING at run time"; failed=1; }
fi

[[ "$failed" == "0" ]] && echo "arm64 crypto: SHA-256, AES, PMULL and BLAKE3 NEON present$([[ "$run" == "1" ]] && echo " and executed")"
exit "$failed"
