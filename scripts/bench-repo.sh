#!/usr/bin/env bash
# Benchmark: Keepsake's backup repository (issue 10) against restic, in one run.
#
# Both tools back up the same synthetic ChatStore as scripts/bench.sh (1,000,000 messages):
# restic from Debian's packages (`init --repository-version 2`, `--compression auto`) backs up
# `sqlite3 .dump` from stdin into its own repository; Keepsake backs the store up into a directory
# store. Then the same days of change (core/src/store/synthetic/day.rs, fixed seeds) are applied
# to the database before each tool's next backup:
#   day 1, realistic: 1% new messages, plus edits, deletions, reactions and delivery changes on
#          5% of the most recent 2% of messages;
#   day 2, stress:    the same new messages, plus edits of 0.1% of all messages over the history;
#   days 3..11:       realistic again, Keepsake only, for the object count after 10 realistic days.
# Figures are printed as name=value lines (stdout); the story goes to stderr. Wall times are
# medians of BENCH_RUNS runs; "bytes added" is the growth of each repository directory.
#
# Media (issue 11), one run: a synthetic media set of BENCH_MEDIA_BYTES (default 2 GB,
# core/src/media/synthetic.rs `MediaSpec::realistic`: incompressible photos of 0.1-4 MB, voice
# notes, documents, short clips, two videos of 50-200 MB, 1 in 10 a forward) beside a copy of the
# database, which is first backed up without media (so the media processes do media only):
#   media_backup_ratio_vs_raw_aead  first media backup throughput / AES-256-GCM sealing of the
#                                   same files' bytes in the same process (1 MiB, one thread);
#                                   goal >= 0.6
#   media_backup_ratio_vs_restic    wall time of the first media backup / restic backing up the
#                                   media directory alone; goal <= 0.5. Keepsake's time is its
#                                   media phase (first media progress report to the committed
#                                   snapshot), restic's the whole command
#   media_incremental_added_ratio   after 1% new photo files (the database unchanged): bytes
#                                   added to the repository / bytes of the new files; goal <= 1.05
#   media_fetch_one_ms_median       one ~2 MB photo on demand with an open MediaRestore (median
#                                   of BENCH_MEDIA_FETCHES different photos); goal <= 50 ms; and
#   media_fetch_one_cold_ms_median  the same with a fresh state and MediaRestore::open each time
#   media_backup_peak_rss_mib, media_restore_peak_rss_mib (and *_half for a set of half the
#                                   size): peak RSS of a process doing the media backup / the
#                                   whole media restore; goal <= 64 MiB, flat in the set's size
# The media files, repositories and restored copies are deleted as soon as they are measured
# (peak disk use about 4 x BENCH_MEDIA_BYTES).
#
# Environment: CARGO_TARGET_DIR is honoured; BENCH_DIR (work directory, default target/bench, shared with scripts/bench.sh so
# the generated databases are reused), BENCH_RUNS (default 3), BENCH_SKIP_4M=1 (skip the peak RSS
# run at 4,000,000 messages), BENCH_SMOKE=1 (2,000 messages, one run, 3 extra days, no 4M run,
# debug build, media of about 1 MB: checks in under a minute that every figure is still produced;
# scripts/test.sh runs it so this script cannot rot), BENCH_MEDIA_BYTES, BENCH_MEDIA_FETCHES
# (default 21). Not part of scripts/test.sh otherwise (it takes minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    MESSAGES=2000
    RUNS=1
    EXTRA_DAYS=3
    SKIP_4M=1
    WORK="${BENCH_DIR:-target/bench-repo-smoke}"
    # Realistic sizes divided by 1,000: photos of 0.1-4 KB, long videos of 50-200 KB.
    MEDIA_BYTES=4000000
    MEDIA_DIVISOR=1000
    FETCHES=5
    # The features `cargo test --workspace --all-features` built with, so its examples are reused.
    BUILD_FLAGS=(--all-features)
    PROFILE_DIR=debug
else
    MESSAGES=1000000
    RUNS="${BENCH_RUNS:-3}"
    EXTRA_DAYS=9
    SKIP_4M="${BENCH_SKIP_4M:-0}"
    WORK="${BENCH_DIR:-target/bench}"
    MEDIA_BYTES="${BENCH_MEDIA_BYTES:-2000000000}"
    MEDIA_DIVISOR=1
    FETCHES="${BENCH_MEDIA_FETCHES:-21}"
    BUILD_FLAGS=(--release)
    PROFILE_DIR=release
fi
mkdir -p "$WORK"
RUN_DIR="$WORK/repo-bench"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

# --- tools (Debian packages), installed only when missing
missing=()
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v restic >/dev/null || missing+=(restic)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
echo "restic: $(restic version)" >&2

cargo build "${BUILD_FLAGS[@]}" -q -p keepsake-core --example bench_pipeline --example bench_repo >&2
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PIPELINE="$TARGET_DIR/$PROFILE_DIR/examples/bench_pipeline"
BIN="$TARGET_DIR/$PROFILE_DIR/examples/bench_repo"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { printf '%s\n' "$@" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f", a / b }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1048576 }'; }
# Bytes and files under a directory (a repository).
dir_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
dir_files() { find "$1" -type f | wc -l; }
# Runs a command; sets LAST_SECONDS (wall), LAST_RSS_MIB (peak RSS; GNU time reports KiB) and
# LAST_OUT (its stdout, also copied to stderr).
measure() {
    local out="$RUN_DIR/time.out" t0 t1
    t0=$(now)
    /usr/bin/time -f '%M' -o "$out" "$@" >"$RUN_DIR/stdout.out"
    t1=$(now)
    LAST_SECONDS=$(elapsed "$t0" "$t1")
    LAST_RSS_MIB=$(awk '{ v = $1 } END { printf "%.1f", v / 1024 }' "$out")
    LAST_OUT=$(cat "$RUN_DIR/stdout.out")
    cat "$RUN_DIR/stdout.out" >&2
}
# The value of NAME in name=value lines on stdin.
val() { sed -n "s/^$1=//p" | tail -1; }

# --- data and keys (the databases are shared with scripts/bench.sh and created once)
db_for() {
    local messages="$1" db="$WORK/chat-$1.db"
    if [ ! -s "$db" ]; then
        echo "generating $messages messages into $db" >&2
        rm -f "$db" "$db-wal" "$db-shm"
        "$PIPELINE" generate "$db" "$messages" >&2
    fi
    echo "$db"
}
KEYRING="$RUN_DIR/keyring.bin"
"$PIPELINE" keyring "$KEYRING" >&2
# restic reads its password from the environment, never from argv.
export RESTIC_PASSWORD="keepsake-bench-$$"
export RESTIC_CACHE_DIR="$RUN_DIR/restic-cache"
restic_() { restic --quiet --compression auto "$@"; }

BASE_DB="$(db_for "$MESSAGES")"
DB="$RUN_DIR/chat.db"
cp "$BASE_DB" "$DB"
echo "database: $(du -h "$DB" | cut -f1) $DB, $MESSAGES messages" >&2

# restic's backup of the database as `sqlite3 .dump` on stdin.
restic_backup() { sqlite3 "$DB" .dump | restic_ -r "$1" backup --stdin --stdin-filename chat.sql >&2; }
ks_backup() { "$BIN" backup "$DB" "$1" "$KEYRING" "$2" >&2; }

# --- first backup: fresh repositories, RUNS times each
restic_first=() ks_first=() ks_backup_rss=()
for run in $(seq "$RUNS"); do
    R="$RUN_DIR/restic-$run" K="$RUN_DIR/keepsake-$run" C="$RUN_DIR/cache-$run"
    rm -rf "$R" "$K" "$C"
    restic_ -r "$R" init --repository-version 2 >&2
    t0=$(now)
    restic_backup "$R"
    t1=$(now)
    restic_first+=("$(elapsed "$t0" "$t1")")
    "$BIN" init "$K" "$KEYRING" >&2
    measure "$BIN" backup "$DB" "$K" "$KEYRING" "$C"
    ks_first+=("$LAST_SECONDS")
    ks_backup_rss+=("$LAST_RSS_MIB")
    echo "run $run/$RUNS: first backup restic ${restic_first[-1]} s, keepsake ${ks_first[-1]} s ($LAST_RSS_MIB MiB)" >&2
done
R="$RUN_DIR/restic-$RUNS" K="$RUN_DIR/keepsake-$RUNS" C="$RUN_DIR/cache-$RUNS"
restic_full=$(dir_bytes "$R")
ks_full=$(dir_bytes "$K")
echo "full: restic $(mib "$restic_full") MiB, keepsake $(mib "$ks_full") MiB" >&2

# --- day 1 (realistic) and day 2 (stress): both tools, the same database changes
added() { echo $(($(dir_bytes "$1") - $2)); }
day() { "$BIN" day "$DB" "$1" "$2" >&2; }
restic_before=$(dir_bytes "$R") ks_before=$(dir_bytes "$K")
day realistic 1
restic_backup "$R"
ks_backup "$K" "$C"
restic_realistic=$(added "$R" "$restic_before") ks_realistic=$(added "$K" "$ks_before")
echo "realistic day: restic added $restic_realistic bytes, keepsake $ks_realistic" >&2

restic_before=$(dir_bytes "$R") ks_before=$(dir_bytes "$K")
day stress 2
restic_backup "$R"
ks_backup "$K" "$C"
restic_stress=$(added "$R" "$restic_before") ks_stress=$(added "$K" "$ks_before")
echo "stress day: restic added $restic_stress bytes ($(ratio "$restic_stress" "$restic_full") of full), keepsake $ks_stress" >&2

# --- restore of the latest snapshot (the stress day, the same content for both tools): restic
# restore + sqlite3 import against Keepsake's restore
restic_restore=() ks_restore=() ks_restore_rss=()
for run in $(seq "$RUNS"); do
    T="$RUN_DIR/restic-restore" N="$RUN_DIR/restic-restored.db" KN="$RUN_DIR/keepsake-restored.db"
    rm -rf "$T" "$N" "$KN"
    t0=$(now)
    restic_ -r "$R" restore latest --target "$T" >&2
    sqlite3 "$N" <"$T/chat.sql"
    t1=$(now)
    restic_restore+=("$(elapsed "$t0" "$t1")")
    measure "$BIN" restore "$K" "$KN" "$KEYRING"
    ks_restore+=("$LAST_SECONDS")
    ks_restore_rss+=("$LAST_RSS_MIB")
    echo "run $run/$RUNS: restore restic+sqlite3 ${restic_restore[-1]} s, keepsake ${ks_restore[-1]} s ($LAST_RSS_MIB MiB)" >&2
done
# Both restored the same rows.
for table in conversations participants messages reactions attachments; do
    a=$(sqlite3 "$DB" "SELECT count(*) FROM $table")
    b=$(sqlite3 "$RUN_DIR/keepsake-restored.db" "SELECT count(*) FROM $table")
    c=$(sqlite3 "$RUN_DIR/restic-restored.db" "SELECT count(*) FROM $table")
    if [ "$a" != "$b" ] || [ "$a" != "$c" ]; then
        echo "restored $table differ: database $a, keepsake $b, restic $c" >&2
        exit 1
    fi
done

# --- more realistic days, Keepsake only: objects after 10 realistic days
for d in $(seq 3 $((EXTRA_DAYS + 2))); do
    day realistic "$d"
    ks_backup "$K" "$C"
done
snapshots=$("$BIN" snapshots "$K" "$KEYRING")
objects=$(dir_files "$K")
stored=$(dir_bytes "$K")
budget=$(awk -v b="$stored" -v s="$snapshots" 'BEGIN { printf "%d", b / 4194304 + 2 * s + 10 }')
echo "after $((EXTRA_DAYS + 1)) realistic days and 1 stress day: $objects objects, $snapshots snapshots, $(mib "$stored") MiB" >&2

max_of() { printf '%s\n' "$@" | sort -g | tail -1; }
figures=()
emit() {
    echo "$1=$2"
    figures+=("$1")
    if [ "${BENCH_SMOKE:-0}" = 1 ] && ! [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
        echo "smoke: $1 is not a number: $2" >&2
        exit 1
    fi
}
echo "messages=$MESSAGES"
emit repo_first_backup_ratio_vs_restic "$(ratio "$(med "${ks_first[@]}")" "$(med "${restic_first[@]}")")"
emit repo_realistic_added_ratio_vs_restic "$(ratio "$ks_realistic" "$restic_realistic")"
emit repo_stress_added_ratio_vs_restic "$(ratio "$ks_stress" "$restic_stress")"
emit repo_realistic_added_share_of_full "$(awk -v a="$ks_realistic" -v b="$ks_full" 'BEGIN { printf "%.4f", a / b }')"
emit repo_restore_ratio_vs_restic "$(ratio "$(med "${ks_restore[@]}")" "$(med "${restic_restore[@]}")")"
emit repo_objects_after_10_days "$objects"
emit repo_objects_budget "$budget"
emit repo_backup_peak_rss_mib "$(max_of "${ks_backup_rss[@]}")"
emit repo_restore_peak_rss_mib "$(max_of "${ks_restore_rss[@]}")"

# --- media (issue 11): first backup against raw AES-256-GCM and restic, 1% new files, restore,
# fetch on demand, peak RSS at the full and at half the set's size
MEDIA="$RUN_DIR/media" MDB="$RUN_DIR/media-chat.db"
# A copy of the database with MEDIA_BYTES of media for its attachments, backed up without media
# into a new repository: $1 bytes, $2 the repository, $3 its cache. Sets MEDIA_FILES.
media_world() {
    local bytes="$1" repo="$2" cache="$3" out
    rm -rf "$MEDIA" "$MDB" "$repo" "$cache"
    cp "$BASE_DB" "$MDB"
    out=$("$BIN" media-gen "$MDB" "$MEDIA" "$bytes" 11 "$MEDIA_DIVISOR")
    MEDIA_FILES=$(val files <<<"$out")
    echo "media set: $MEDIA_FILES files, $(mib "$(val bytes <<<"$out")") MiB in $MEDIA" >&2
    "$BIN" init "$repo" "$KEYRING" >&2
    "$BIN" backup "$MDB" "$repo" "$KEYRING" "$cache" >&2
    # The new files' writeback would otherwise compete with whichever tool runs first.
    sync
}
KM="$RUN_DIR/keepsake-media" CM="$RUN_DIR/cache-media" RM="$RUN_DIR/restic-media"
media_world "$MEDIA_BYTES" "$KM" "$CM"
measure "$BIN" media-backup "$MDB" "$KM" "$KEYRING" "$CM" "$MEDIA" aead
media_seconds=$(val media_seconds <<<"$LAST_OUT")
aead_seconds=$(val aead_seconds <<<"$LAST_OUT")
media_backup_rss=$LAST_RSS_MIB
if [ "$(val media_bytes_read <<<"$LAST_OUT")" != "$(val aead_bytes <<<"$LAST_OUT")" ]; then
    echo "the media backup and the AEAD pass read different bytes" >&2
    exit 1
fi
restic_ -r "$RM" init --repository-version 2 >&2
sync
t0=$(now)
restic_ -r "$RM" backup "$MEDIA" >&2
t1=$(now)
restic_media=$(elapsed "$t0" "$t1")
rm -rf "$RM"
echo "first media backup: keepsake ${media_seconds} s (AES-GCM alone ${aead_seconds} s, $media_backup_rss MiB), restic $restic_media s" >&2

new_media=$(val new_bytes <<<"$("$BIN" media-grow "$MDB" "$MEDIA" 0.01 12 "$MEDIA_DIVISOR")")
ks_before=$(dir_bytes "$KM")
"$BIN" media-backup "$MDB" "$KM" "$KEYRING" "$CM" "$MEDIA" >&2
media_added=$(added "$KM" "$ks_before")
echo "1% new media: $new_media bytes of files, keepsake added $media_added" >&2

RESTORED="$RUN_DIR/media-restored"
measure "$BIN" media-restore "$KM" "$KEYRING" "$RUN_DIR/media-state" "$RESTORED"
media_restore_rss=$LAST_RSS_MIB
diff -r "$MEDIA" "$RESTORED" >&2 || { echo "the restored media differ" >&2; exit 1; }
rm -rf "$RESTORED" "$RUN_DIR/media-state"
echo "media restore: $LAST_SECONDS s, $media_restore_rss MiB" >&2

out=$("$BIN" media-fetch "$MDB" "$KM" "$KEYRING" "$RUN_DIR/fetch-state" "$RUN_DIR/fetched" "$MEDIA" "$FETCHES")
fetch_ms=$(val fetch_ms_median <<<"$out")
fetch_cold_ms=$(val fetch_cold_ms_median <<<"$out")
rm -rf "$KM" "$CM" "$RUN_DIR/fetch-state" "$RUN_DIR/fetched"

KH="$RUN_DIR/keepsake-media-half" CH="$RUN_DIR/cache-media-half"
media_world "$((MEDIA_BYTES / 2))" "$KH" "$CH"
measure "$BIN" media-backup "$MDB" "$KH" "$KEYRING" "$CH" "$MEDIA"
media_backup_rss_half=$LAST_RSS_MIB
measure "$BIN" media-restore "$KH" "$KEYRING" "$RUN_DIR/media-state" "$RESTORED"
media_restore_rss_half=$LAST_RSS_MIB
diff -r "$MEDIA" "$RESTORED" >&2 || { echo "the restored half media differ" >&2; exit 1; }
rm -rf "$KH" "$CH" "$MEDIA" "$MDB" "$RESTORED" "$RUN_DIR/media-state"

emit media_backup_ratio_vs_raw_aead "$(ratio "$aead_seconds" "$media_seconds")"
emit media_backup_ratio_vs_restic "$(ratio "$media_seconds" "$restic_media")"
emit media_incremental_added_ratio "$(ratio "$media_added" "$new_media")"
emit media_fetch_one_ms_median "$fetch_ms"
emit media_fetch_one_cold_ms_median "$fetch_cold_ms"
emit media_backup_peak_rss_mib "$media_backup_rss"
emit media_restore_peak_rss_mib "$media_restore_rss"
emit media_backup_peak_rss_mib_half "$media_backup_rss_half"
emit media_restore_peak_rss_mib_half "$media_restore_rss_half"

# --- peak RSS at 4,000,000 messages (full backup into a fresh repository, then its restore)
if [ "$SKIP_4M" != 1 ]; then
    DB="$(db_for 4000000)"
    K4="$RUN_DIR/keepsake-4m" C4="$RUN_DIR/cache-4m" N4="$RUN_DIR/keepsake-restored-4m.db"
    "$BIN" init "$K4" "$KEYRING" >&2
    measure "$BIN" backup "$DB" "$K4" "$KEYRING" "$C4"
    backup_rss_4m=$LAST_RSS_MIB
    measure "$BIN" restore "$K4" "$N4" "$KEYRING"
    emit repo_backup_peak_rss_mib_4m "$backup_rss_4m"
    emit repo_restore_peak_rss_mib_4m "$LAST_RSS_MIB"
fi

# The smoke run proves every figure is still a number.
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    [ "${#figures[@]}" -eq 18 ] || { echo "smoke: ${#figures[@]} figures, expected 18" >&2; exit 1; }
    rm -rf "$RUN_DIR"
    echo "bench-repo smoke: ok" >&2
fi
