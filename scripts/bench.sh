#!/usr/bin/env bash
# Benchmark: Keepsake backup/restore against the naive pipeline
#   sqlite3 DB .dump | zstd -3 | age -r KEY > out   and   age -d -i KEY out | zstd -d | sqlite3 NEW
# on the same synthetic ChatStore (1,000,000 messages), several runs each, medians; then one run
# of each restore and peak RSS of Keepsake at 4,000,000 messages; then instruction counts of a
# Keepsake backup and restore under callgrind on a smaller database (stable on a busy machine,
# where wall-clock ratios are not). Not part of scripts/test.sh (it takes minutes).
#
# Environment: BENCH_DIR (work directory, default target/bench), BENCH_RUNS (default 3),
# BENCH_SKIP_4M=1 to skip the 4M-message run, BENCH_SKIP_1M=1 to skip the 1M-message runs,
# BENCH_SKIP_CALLGRIND=1 to skip the instruction counts, BENCH_CALLGRIND_MESSAGES (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${BENCH_RUNS:-3}"
WORK="${BENCH_DIR:-target/bench}"
mkdir -p "$WORK"

# --- tools (Debian packages), installed only when missing
missing=()
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v zstd >/dev/null || missing+=(zstd)
command -v age >/dev/null || missing+=(age)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${BENCH_SKIP_CALLGRIND:-0}" != 1 ]; then
    command -v valgrind >/dev/null || missing+=(valgrind)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

cargo build --release -q -p keepsake-core --example bench_pipeline >&2
BIN="target/release/examples/bench_pipeline"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# Peak RSS in MiB of a command (GNU time reports KiB).
peak_rss_mib() {
    local out="$WORK/time.out"
    /usr/bin/time -f '%M' -o "$out" "$@" >/dev/null
    awk '{ printf "%.1f", $1 / 1024 }' "$out"
}

# --- data and keys (created once)
db_for() {
    local messages="$1" db="$WORK/chat-$1.db"
    if [ ! -s "$db" ]; then
        echo "generating $messages messages into $db" >&2
        rm -f "$db" "$db-wal" "$db-shm"
        "$BIN" generate "$db" "$messages" >&2
    fi
    echo "$db"
}
AGE_KEY="$WORK/age.key"
[ -s "$AGE_KEY" ] || age-keygen -o "$AGE_KEY" 2>/dev/null
AGE_RECIPIENT="$(age-keygen -y "$AGE_KEY")"
KEYRING="$WORK/keyring.bin"
[ -s "$KEYRING" ] || "$BIN" keyring "$KEYRING" >&2

if [ "${BENCH_SKIP_1M:-0}" != 1 ]; then
DB="$(db_for 1000000)"
echo "database: $(du -h "$DB" | cut -f1) $DB" >&2

naive_backup=() naive_restore=() ks_backup=() ks_restore=()
for run in $(seq "$RUNS"); do
    echo "run $run/$RUNS" >&2
    rm -f "$WORK/naive.out"
    t0=$(now); sqlite3 "$DB" .dump | zstd -q -3 | age -r "$AGE_RECIPIENT" >"$WORK/naive.out"; t1=$(now)
    naive_backup+=("$(elapsed "$t0" "$t1")")

    rm -f "$WORK/naive-restored.db"
    t0=$(now); age -d -i "$AGE_KEY" "$WORK/naive.out" | zstd -q -d | sqlite3 "$WORK/naive-restored.db"; t1=$(now)
    naive_restore+=("$(elapsed "$t0" "$t1")")

    rm -f "$WORK/keepsake.out"
    t0=$(now); "$BIN" backup "$DB" "$WORK/keepsake.out" "$KEYRING"; t1=$(now)
    ks_backup+=("$(elapsed "$t0" "$t1")")

    rm -f "$WORK/keepsake-restored.db"
    t0=$(now); "$BIN" restore "$WORK/keepsake.out" "$WORK/keepsake-restored.db" "$KEYRING"; t1=$(now)
    ks_restore+=("$(elapsed "$t0" "$t1")")
    echo "  naive backup ${naive_backup[-1]} s, keepsake backup ${ks_backup[-1]} s, naive restore ${naive_restore[-1]} s, keepsake restore ${ks_restore[-1]} s" >&2
done

med() { printf '%s\n' "$@" | median; }
naive_b=$(med "${naive_backup[@]}"); naive_r=$(med "${naive_restore[@]}")
ks_b=$(med "${ks_backup[@]}"); ks_r=$(med "${ks_restore[@]}")
echo "seconds (median of $RUNS): naive backup $naive_b, keepsake backup $ks_b, naive restore $naive_r, keepsake restore $ks_r" >&2
naive_size=$(stat -c %s "$WORK/naive.out"); ks_size=$(stat -c %s "$WORK/keepsake.out")
echo "bytes: naive $naive_size, keepsake $ks_size" >&2
crypto_s=$("$BIN" crypto-seconds "$ks_size")
echo "seconds to encrypt $ks_size bytes with the payload cipher: $crypto_s" >&2

rm -f "$WORK/keepsake-restored.db"
backup_rss=$(peak_rss_mib "$BIN" backup "$DB" "$WORK/keepsake.out" "$KEYRING")
restore_rss=$(peak_rss_mib "$BIN" restore "$WORK/keepsake.out" "$WORK/keepsake-restored.db" "$KEYRING")

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "messages=1000000"
echo "backup_ratio_vs_naive=$(ratio "$ks_b" "$naive_b")"
echo "output_size_ratio_vs_naive=$(ratio "$ks_size" "$naive_size")"
echo "restore_ratio_vs_naive=$(ratio "$ks_r" "$naive_r")"
echo "backup_peak_rss_mib=$backup_rss"
echo "restore_peak_rss_mib=$restore_rss"
echo "crypto_share_of_backup=$(ratio "$crypto_s" "$ks_b")"
fi

if [ "${BENCH_SKIP_4M:-0}" != 1 ]; then
    DB4="$(db_for 4000000)"
    echo "database: $(du -h "$DB4" | cut -f1) $DB4" >&2
    rm -f "$WORK/naive4.out" "$WORK/naive4-restored.db" "$WORK/keepsake4-restored.db"
    sqlite3 "$DB4" .dump | zstd -q -3 | age -r "$AGE_RECIPIENT" >"$WORK/naive4.out"
    t0=$(now); age -d -i "$AGE_KEY" "$WORK/naive4.out" | zstd -q -d | sqlite3 "$WORK/naive4-restored.db"; t1=$(now)
    naive_r4=$(elapsed "$t0" "$t1")
    rm -f "$WORK/naive4-restored.db"
    backup_rss=$(peak_rss_mib "$BIN" backup "$DB4" "$WORK/keepsake4.out" "$KEYRING")
    t0=$(now)
    restore_rss=$(peak_rss_mib "$BIN" restore "$WORK/keepsake4.out" "$WORK/keepsake4-restored.db" "$KEYRING")
    t1=$(now)
    ks_r4=$(elapsed "$t0" "$t1")
    rm -f "$WORK/keepsake4-restored.db"
    echo "seconds at 4M (one run): naive restore $naive_r4, keepsake restore $ks_r4; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    echo "messages=4000000"
    echo "restore_ratio_vs_naive_4m=$(ratio "$ks_r4" "$naive_r4")"
    echo "backup_peak_rss_mib=$backup_rss"
    echo "restore_peak_rss_mib=$restore_rss"
fi

# --- instruction counts (callgrind): the comparison that a loaded machine does not disturb.
# valgrind does not emulate SHA-NI or AVX-512, so SHA-256 runs its portable code here and costs
# more instructions than on the machine itself; compare counts with counts, not with seconds.
if [ "${BENCH_SKIP_CALLGRIND:-0}" != 1 ]; then
    CG_MESSAGES="${BENCH_CALLGRIND_MESSAGES:-100000}"
    DBS="$(db_for "$CG_MESSAGES")"
    instructions() { # OUT-FILE: total instructions of a callgrind profile
        callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
    }
    top_functions() { # OUT-FILE: the heaviest Keepsake and SQLite functions, inclusive
        callgrind_annotate --inclusive=yes "$1" 2>/dev/null \
            | grep -E 'keepsake_core::[A-Za-z_:]*(import|export|write_to|check_integrity|finish_import|restore_path|backup_store)|sqlite3_step|compress256|ZSTD_(de)?compressStream|PayloadReader|ContainerWriter' \
            | grep -v '^ *$' | head -12 | cut -c1-160 >&2
    }
    rm -f "$WORK/cg.out" "$WORK/cg-restored.db" "$WORK"/callgrind.*
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.backup" \
        "$BIN" backup "$DBS" "$WORK/cg.out" "$KEYRING" 2>/dev/null
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.restore" \
        "$BIN" restore "$WORK/cg.out" "$WORK/cg-restored.db" "$KEYRING" 2>/dev/null
    echo "callgrind, backup of $CG_MESSAGES messages (inclusive instructions):" >&2
    top_functions "$WORK/callgrind.backup"
    echo "callgrind, restore of $CG_MESSAGES messages (inclusive instructions):" >&2
    top_functions "$WORK/callgrind.restore"
    echo "callgrind_messages=$CG_MESSAGES"
    echo "backup_instructions=$(instructions "$WORK/callgrind.backup")"
    echo "restore_instructions=$(instructions "$WORK/callgrind.restore")"
fi
