#!/usr/bin/env bash
# The mobile profile against release, on this machine (Linux x86_64), in one run:
#   size  - keepsake-ffi's shared library built with each profile and stripped (`strip`), in bytes
#           and MiB, with the ratio mobile/release (goal: <= 3 MiB per ABI, docs/MOBILE.md)
#   speed - the benchmark pipeline (core/examples/bench_pipeline) built with each profile, backup
#           and restore of the same synthetic chat store, runs interleaved, medians, and the
#           ratios mobile/release (1.0 = as fast; above = slower)
# Not part of scripts/test.sh (two optimised builds and a benchmark take minutes).
#
# Environment: BENCH_DIR (default target/bench-mobile), BENCH_RUNS (default 3),
# BENCH_MESSAGES (default 300000), BENCH_SKIP_SPEED=1 for the sizes only.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${BENCH_RUNS:-3}"
MESSAGES="${BENCH_MESSAGES:-300000}"
WORK="${BENCH_DIR:-target/bench-mobile}"
PROFILES=(release mobile)
mkdir -p "$WORK"
command -v strip >/dev/null || { echo "bench-mobile-profile: strip (binutils) is missing" >&2; exit 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1048576 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# --- size ------------------------------------------------------------------------------------------
declare -A size
for profile in "${PROFILES[@]}"; do
    echo "== cargo build -p keepsake-ffi --lib --profile $profile" >&2
    cargo build -q -p keepsake-ffi --lib --profile "$profile" >&2
    cp "target/$profile/libkeepsake_ffi.so" "$WORK/libkeepsake_ffi-$profile.so"
    strip "$WORK/libkeepsake_ffi-$profile.so"
    size[$profile]=$(stat -c %s "$WORK/libkeepsake_ffi-$profile.so")
    echo "stripped_so_bytes_$profile=${size[$profile]}"
    echo "stripped_so_mib_$profile=$(mib "${size[$profile]}")"
done
echo "size_ratio_mobile_vs_release=$(ratio "${size[mobile]}" "${size[release]}")"

[[ "${BENCH_SKIP_SPEED:-0}" == "1" ]] && exit 0

# --- speed -----------------------------------------------------------------------------------------
declare -A bin
for profile in "${PROFILES[@]}"; do
    echo "== cargo build -p keepsake-core --example bench_pipeline --profile $profile" >&2
    cargo build -q -p keepsake-core --example bench_pipeline --profile "$profile" >&2
    bin[$profile]="target/$profile/examples/bench_pipeline"
done
DB="$WORK/chat-$MESSAGES.db"
[[ -s "$DB" ]] || { echo "generating $MESSAGES messages into $DB" >&2; "${bin[release]}" generate "$DB" "$MESSAGES" >&2; }
KEYRING="$WORK/keyring.bin"
[[ -s "$KEYRING" ]] || "${bin[release]}" keyring "$KEYRING" >&2

declare -A backups restores
for run in $(seq "$RUNS"); do
    for profile in "${PROFILES[@]}"; do
        out="$WORK/$profile.keepsake" restored="$WORK/$profile-restored.db"
        rm -f "$out" "$restored"
        t0=$(now); "${bin[$profile]}" backup "$DB" "$out" "$KEYRING"; t1=$(now)
        backups[$profile]+="$(elapsed "$t0" "$t1") "
        t0=$(now); "${bin[$profile]}" restore "$out" "$restored" "$KEYRING"; t1=$(now)
        restores[$profile]+="$(elapsed "$t0" "$t1") "
    done
    echo "run $run/$RUNS done" >&2
done
for profile in "${PROFILES[@]}"; do
    # shellcheck disable=SC2086 # the lists are space-separated numbers
    b=$(printf '%s\n' ${backups[$profile]} | median)
    # shellcheck disable=SC2086
    r=$(printf '%s\n' ${restores[$profile]} | median)
    echo "backup_seconds_$profile=$b"
    echo "restore_seconds_$profile=$r"
    declare "b_$profile=$b" "r_$profile=$r"
done
echo "messages=$MESSAGES runs=$RUNS"
# shellcheck disable=SC2154 # set by declare above
echo "backup_ratio_mobile_vs_release=$(ratio "$b_mobile" "$b_release")"
# shellcheck disable=SC2154
echo "restore_ratio_mobile_vs_release=$(ratio "$r_mobile" "$r_release")"
