#!/usr/bin/env bash
# Benchmark: Keepsake against restic 0.14 over the same S3 server (moto, scripts/remote-servers.sh)
# through the same fault proxy (faultproxy) shaping the link, each tool in its own bucket.
#
# Profiles (BENCH_PROFILES, default "p0 p1 p2"; p3 on request):
#   p0  loopback
#   p1  20 ms round trip, 60 Mbit/s up, 200 down
#   p2  80 ms round trip, 15 Mbit/s up, 100 down
#   p3  p2 plus a Drive-like service time: 250 ms per read or listing, 650 ms per write
# Data: `keepsake seed` with BENCH_MESSAGES messages (default 1,000,000) and BENCH_MEDIA_BYTES of
# media (default 200 MB; BENCH_MEDIA_BYTES_FAST, default 2 GB, at p0 and p1).
# restic (Debian's package, defaults: --compression auto, five connections) backs up the
# database as `sqlite3 .dump` on stdin plus the media directory (two runs, times added), and in a
# second repository a consistent copy of the SQLite file (`sqlite3 .backup`).
#
# Printed (stdout) per profile P, as name=value:
#   remote_P_first_backup_wall_s_keepsake / _restic, remote_P_first_backup_wall_ratio
#   remote_P_first_backup_goodput_keepsake / _restic   bytes uploaded / wall / link rate
#   remote_P_day_bytes_keepsake / _restic, remote_P_day_requests_keepsake / _restic,
#   remote_P_day_requests_ratio, remote_P_day_wall_s_keepsake / _restic, remote_P_day_wall_ratio
#   remote_P_chats_s_keepsake (new device, empty cache, to usable chats), remote_P_chats_s_restic_dump
#   (restore + sqlite3 import), remote_P_chats_s_restic_file, remote_P_chats_ratio_vs_dump,
#   remote_P_chats_ratio_vs_file
#   remote_P_media_s_keepsake / _restic, remote_P_media_ratio (all media on the new device)
#   remote_P_photo_ms (one ~2 MB photo on demand, fresh state), remote_P_open_requests
#   (requests of `repo snapshots`: open plus the listing), remote_P_requests_before_first_upload,
#   remote_P_backup_peak_rss_mib, remote_P_restore_peak_rss_mib
# Requests and bytes come from the proxy's log (the same count for both tools). The story goes
# to stderr. BENCH_SMOKE=1: tiny data, p0 and p3 with short delays, debug build; checks every
# figure is a number (scripts/test.sh runs it).
# Environment: CARGO_TARGET_DIR, BENCH_DIR (default target/bench-remote), the variables above.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    MESSAGES=2000 MEDIA_SLOW=2000000 MEDIA_FAST=2000000 DIVISOR=100
    PROFILES="p0 p3"
    BUILD=() PROFILE_DIR=debug
else
    MESSAGES="${BENCH_MESSAGES:-1000000}"
    MEDIA_SLOW="${BENCH_MEDIA_BYTES:-200000000}"
    MEDIA_FAST="${BENCH_MEDIA_BYTES_FAST:-2000000000}"
    DIVISOR=1
    PROFILES="${BENCH_PROFILES:-p0 p1 p2}"
    BUILD=(--release) PROFILE_DIR=release
fi
WORK="${BENCH_DIR:-target/bench-remote}"
rm -rf "$WORK"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

missing=()
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v restic >/dev/null || missing+=(restic)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

PROXY_PIDS=()
cleanup() {
    for pid in "${PROXY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    scripts/remote-servers.sh stop "$WORK/servers"
}
trap cleanup EXIT
scripts/remote-servers.sh start "$WORK/servers"
# shellcheck disable=SC1091
. "$WORK/servers/env"
UPSTREAM="${KEEPSAKE_TEST_S3_ENDPOINT#http://}"

cargo build "${BUILD[@]}" -q -p keepsake-cli -p keepsake-tools >&2
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
KS="$TARGET_DIR/$PROFILE_DIR/keepsake"
PROXY="$TARGET_DIR/$PROFILE_DIR/faultproxy"
export KEEPSAKE_KEYS="$WORK/keys"
"$KS" -q keys create >/dev/null
"$KS" -q keys add-recovery --out "$WORK/recovery.txt" >/dev/null
export RESTIC_PASSWORD="keepsake-bench-$$" RESTIC_CACHE_DIR="$WORK/restic-cache"
echo "restic: $(restic version)" >&2

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f", a / b }'; }
json() { python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
# Requests and bytes in a proxy log: "requests up down".
log_sum() { awk '{ n++; up += $4; down += $5 } END { printf "%d %d %d\n", n, up, down }' "$1"; }
# Requests before the first upload of a pack (data/) in a proxy log.
before_upload() { awk '$1 == "PUT" && $2 ~ /\/data\// { print NR - 1; found = 1; exit } END { if (!found) print NR }' "$1"; }
figures=0
emit() {
    echo "$1=$2"
    figures=$((figures + 1))
    if [ "${BENCH_SMOKE:-0}" = 1 ] && ! [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
        echo "smoke: $1 is not a number: $2" >&2
        exit 1
    fi
}

profile_args() {
    local smoke="${BENCH_SMOKE:-0}"
    case "$1" in
        p0) echo "" ;;
        p1) echo "--rtt-ms 20 --up-mbit 60 --down-mbit 200" ;;
        p2) echo "--rtt-ms 80 --up-mbit 15 --down-mbit 100" ;;
        p3) if [ "$smoke" = 1 ]; then echo "--rtt-ms 10 --service-read-ms 5 --service-write-ms 10"
            else echo "--rtt-ms 80 --up-mbit 15 --down-mbit 100 --service-read-ms 250 --service-write-ms 650"; fi ;;
    esac
}
link_up() { [ "${BENCH_SMOKE:-0}" = 1 ] && { echo 0; return; }; case "$1" in p1) echo 7500000 ;; p2 | p3) echo 1875000 ;; *) echo 0 ;; esac; }

# A proxy for one phase; sets PROXY_URL and LOG.
start_proxy() { # profile, log name
    local port_file="$WORK/port-$2"
    LOG="$WORK/$2.log"
    # shellcheck disable=SC2046
    "$PROXY" --upstream "$UPSTREAM" --port-file "$port_file" --log "$LOG" $(profile_args "$1") 2>/dev/null &
    PROXY_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
    PROXY_URL="http://127.0.0.1:$(cat "$port_file")"
}
stop_proxy() { kill "${PROXY_PIDS[-1]}" 2>/dev/null || true; wait "${PROXY_PIDS[-1]}" 2>/dev/null || true; }
# Runs a command timed; sets T (wall seconds) and RSS (peak MiB).
timed() {
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%M' -o "$WORK/rss" "$@"
    t1=$(now)
    T=$(elapsed "$t0" "$t1")
    RSS=$(awk '{ v = $1 } END { printf "%.1f", v / 1024 }' "$WORK/rss")
}

for P in $PROFILES; do
    case "$P" in p0 | p1) media_bytes="$MEDIA_FAST" ;; *) media_bytes="$MEDIA_SLOW" ;; esac
    D="$WORK/$P"
    mkdir -p "$D"
    echo "== $P: $(profile_args "$P"), $MESSAGES messages, $media_bytes bytes of media" >&2
    "$KS" -q seed "$D/chats.db" --messages "$MESSAGES" --media "$D/media" --media-bytes "$media_bytes" \
        --media-size-divisor "$DIVISOR" >/dev/null
    sync
    ks_repo() { echo "s3:$PROXY_URL/keepsake/$P"; }
    rs_repo() { echo "s3:$PROXY_URL/restic/$P-$1"; }
    "$KS" -q repo init --repo "s3:$KEEPSAKE_TEST_S3_ENDPOINT/keepsake/$P" >/dev/null
    restic -q -r "s3:$KEEPSAKE_TEST_S3_ENDPOINT/restic/$P-dump" init --repository-version 2 >/dev/null
    restic -q -r "s3:$KEEPSAKE_TEST_S3_ENDPOINT/restic/$P-file" init --repository-version 2 >/dev/null

    # --- first backup
    start_proxy "$P" "$P-ks-first"
    timed "$KS" -q --json repo backup --repo "$(ks_repo)" --cache "$D/cache" --media "$D/media" "$D/chats.db" \
        >"$D/ks-first.json"
    stop_proxy
    ks_first=$T ks_backup_rss=$RSS
    read -r _ ks_first_up _ < <(log_sum "$LOG")
    ks_before_upload=$(before_upload "$LOG")
    start_proxy "$P" "$P-rs-first"
    t0=$(now)
    sqlite3 "$D/chats.db" .dump | restic -q --compression auto -r "$(rs_repo dump)" backup --stdin --stdin-filename chat.sql >/dev/null
    restic -q --compression auto -r "$(rs_repo dump)" backup "$D/media" >/dev/null
    t1=$(now)
    stop_proxy
    rs_first=$(elapsed "$t0" "$t1")
    read -r _ rs_first_up _ < <(log_sum "$LOG")
    sqlite3 "$D/chats.db" ".backup $D/copy.db"
    start_proxy "$P" "$P-rs-file"
    restic -q --compression auto -r "$(rs_repo file)" backup "$D/copy.db" >/dev/null
    stop_proxy
    echo "$P first backup: keepsake $ks_first s ($ks_first_up bytes up), restic $rs_first s ($rs_first_up bytes up)" >&2

    # --- a realistic day
    "$KS" -q seed "$D/chats.db" --day realistic --seed 5 >/dev/null
    start_proxy "$P" "$P-ks-day"
    timed "$KS" -q --json repo backup --repo "$(ks_repo)" --cache "$D/cache" --media "$D/media" "$D/chats.db" \
        >"$D/ks-day.json"
    stop_proxy
    ks_day=$T
    read -r ks_day_requests ks_day_up _ < <(log_sum "$LOG")
    ks_day_before_upload=$(before_upload "$LOG")
    start_proxy "$P" "$P-rs-day"
    t0=$(now)
    sqlite3 "$D/chats.db" .dump | restic -q --compression auto -r "$(rs_repo dump)" backup --stdin --stdin-filename chat.sql >/dev/null
    restic -q --compression auto -r "$(rs_repo dump)" backup "$D/media" >/dev/null
    t1=$(now)
    stop_proxy
    rs_day=$(elapsed "$t0" "$t1")
    read -r rs_day_requests rs_day_up _ < <(log_sum "$LOG")
    echo "$P day: keepsake $ks_day s, $ks_day_requests requests, $ks_day_up bytes; restic $rs_day s, $rs_day_requests requests, $rs_day_up bytes" >&2

    # --- a new device: chats, then all media; restic: the dump (+ sqlite3 import), the file copy,
    # the media
    # One run, as a new device does it: the chats (usable from the end of the database phase),
    # then the media; time to chats = the wall time less the media phase.
    start_proxy "$P" "$P-ks-restore"
    timed "$KS" -q --json repo restore --repo "$(ks_repo)" --recovery-key-file "$WORK/recovery.txt" \
        --to "$D/new.db" --media-to "$D/new-media" >"$D/ks-restore.json"
    stop_proxy
    ks_media=$T ks_restore_rss=$RSS
    ks_chats=$(awk -v t="$T" -v m="$(json media.seconds <"$D/ks-restore.json")" 'BEGIN { printf "%.3f", t - m }')
    diff -r "$D/media" "$D/new-media" >/dev/null || { echo "$P: keepsake's media differ" >&2; exit 1; }
    start_proxy "$P" "$P-rs-restore"
    t0=$(now)
    restic -q -r "$(rs_repo dump)" restore latest --path /chat.sql --target "$D/rs-dump" >/dev/null
    sqlite3 "$D/rs-dump.db" <"$D/rs-dump/chat.sql"
    t1=$(now)
    rs_chats_dump=$(elapsed "$t0" "$t1")
    t0=$(now)
    restic -q -r "$(rs_repo file)" restore latest --target "$D/rs-file" >/dev/null
    t1=$(now)
    rs_chats_file=$(elapsed "$t0" "$t1")
    t0=$(now)
    restic -q -r "$(rs_repo dump)" restore latest --path "$D/media" --target "$D/rs-media" >/dev/null
    t1=$(now)
    stop_proxy
    rs_media=$(elapsed "$t0" "$t1")
    echo "$P new device: keepsake chats $ks_chats s, media $ks_media s; restic dump $rs_chats_dump s, file $rs_chats_file s, media $rs_media s" >&2

    # --- one photo on demand (the largest image under 3 MB with a file), fresh state
    photo=$(sqlite3 "$D/chats.db" "SELECT id, local_ref FROM attachments WHERE mime LIKE 'image/%' AND size < 3000000 ORDER BY size DESC" |
        while IFS='|' read -r id ref; do [ -f "$D/media/$ref" ] && { echo "$id"; break; }; done || true)
    start_proxy "$P" "$P-ks-photo"
    "$KS" -q --json repo fetch-media --repo "$(ks_repo)" --recovery-key-file "$WORK/recovery.txt" \
        --attachment "$photo" --media-to "$D/photo" --media-state "$D/photo-state" >"$D/ks-photo.json"
    stop_proxy
    photo_ms=$(awk -v s="$(json seconds <"$D/ks-photo.json")" 'BEGIN { printf "%.0f", s * 1000 }')
    start_proxy "$P" "$P-ks-open"
    "$KS" -q --json repo snapshots --repo "$(ks_repo)" --recovery-key-file "$WORK/recovery.txt" >/dev/null
    stop_proxy
    read -r open_requests _ _ < <(log_sum "$LOG")

    link=$(link_up "$P")
    goodput() { if [ "$link" = 0 ]; then echo 0; else awk -v b="$1" -v t="$2" -v l="$link" 'BEGIN { printf "%.3f", b / t / l }'; fi; }
    emit "remote_${P}_first_backup_wall_s_keepsake" "$ks_first"
    emit "remote_${P}_first_backup_wall_s_restic" "$rs_first"
    emit "remote_${P}_first_backup_wall_ratio" "$(ratio "$ks_first" "$rs_first")"
    emit "remote_${P}_first_backup_goodput_keepsake" "$(goodput "$ks_first_up" "$ks_first")"
    emit "remote_${P}_first_backup_goodput_restic" "$(goodput "$rs_first_up" "$rs_first")"
    emit "remote_${P}_day_bytes_keepsake" "$ks_day_up"
    emit "remote_${P}_day_bytes_restic" "$rs_day_up"
    emit "remote_${P}_day_requests_keepsake" "$ks_day_requests"
    emit "remote_${P}_day_requests_restic" "$rs_day_requests"
    emit "remote_${P}_day_requests_ratio" "$(ratio "$ks_day_requests" "$rs_day_requests")"
    emit "remote_${P}_day_wall_s_keepsake" "$ks_day"
    emit "remote_${P}_day_wall_s_restic" "$rs_day"
    emit "remote_${P}_day_wall_ratio" "$(ratio "$ks_day" "$rs_day")"
    emit "remote_${P}_chats_s_keepsake" "$ks_chats"
    emit "remote_${P}_chats_s_restic_dump" "$rs_chats_dump"
    emit "remote_${P}_chats_s_restic_file" "$rs_chats_file"
    emit "remote_${P}_chats_ratio_vs_dump" "$(ratio "$ks_chats" "$rs_chats_dump")"
    emit "remote_${P}_chats_ratio_vs_file" "$(ratio "$ks_chats" "$rs_chats_file")"
    emit "remote_${P}_media_s_keepsake" "$ks_media"
    emit "remote_${P}_media_s_restic" "$rs_media"
    emit "remote_${P}_media_ratio" "$(ratio "$ks_media" "$rs_media")"
    emit "remote_${P}_photo_ms" "$photo_ms"
    emit "remote_${P}_open_requests" "$open_requests"
    emit "remote_${P}_requests_before_first_upload" "$ks_before_upload"
    emit "remote_${P}_day_requests_before_first_upload" "$ks_day_before_upload"
    emit "remote_${P}_backup_peak_rss_mib" "$ks_backup_rss"
    emit "remote_${P}_restore_peak_rss_mib" "$ks_restore_rss"
    rm -rf "$D/media" "$D/new-media" "$D/rs-media" "$D/rs-dump" "$D/rs-file"
done

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    expected=$((27 * $(wc -w <<<"$PROFILES")))
    [ "$figures" -eq "$expected" ] || { echo "smoke: $figures figures, expected $expected" >&2; exit 1; }
    echo "bench-remote smoke: ok" >&2
fi
