#!/usr/bin/env bash
# Remote stores against real servers (issue 20), run by scripts/test.sh:
#   1. starts moto's S3 server and apache2's WebDAV (scripts/remote-servers.sh), stopped by pid
#      from a trap whatever fails;
#   2. the store conformance suite and the fault tests through the proxy
#      (cargo test -p keepsake-remote -- --include-ignored);
#   3. a CLI journey over S3 and over WebDAV: keys, init, a backup with media, a day of use
#      (`seed --day realistic`), a second backup, a restore with the recovery key on a "new
#      device" (empty cache, chats then media), rows and files compared, `repo check
#      --read-data-subset 100`;
#   4. fault journeys through faultproxy in front of the S3 server: throttling (503 and 429 with
#      Retry-After), connections reset mid-PUT, stalled GETs; each backup completes or fails
#      with a typed exit code (20 storage, 25 throttled), the next run completes, and
#      `repo check --read-data-subset 100` passes.
# Options: --help. Environment: CARGO_TARGET_DIR is honoured; KEEPSAKE_REMOTE_WORK (default
# target/test-remote) holds the servers' files and the journeys' data.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

WORK="${KEEPSAKE_REMOTE_WORK:-target/test-remote}"
rm -rf "$WORK"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
SERVERS="$WORK/servers"
PROXY_PIDS=()
cleanup() {
    for pid in "${PROXY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    scripts/remote-servers.sh stop "$SERVERS"
}
trap cleanup EXIT
scripts/remote-servers.sh start "$SERVERS"
# shellcheck disable=SC1091
. "$SERVERS/env"

echo "== remote stores: conformance (S3, WebDAV) and faults through the proxy" >&2
cargo test -q -p keepsake-remote -- --include-ignored

cargo build -q -p keepsake-cli -p keepsake-tools
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
KS="$TARGET_DIR/debug/keepsake"
PROXY="$TARGET_DIR/debug/faultproxy"

# One keyring, one recovery key and one database with media for every journey.
export KEEPSAKE_KEYS="$WORK/keys"
"$KS" -q keys create >/dev/null
"$KS" -q keys add-recovery --out "$WORK/recovery.txt" >/dev/null
"$KS" -q seed "$WORK/base.db" --messages 4000 --media "$WORK/base-media" \
    --media-bytes 3000000 --media-size-divisor 100 >/dev/null

# Counts of every table, for comparing databases.
rows() { for t in conversations participants messages reactions attachments; do sqlite3 "$1" "SELECT '$t', count(*) FROM $t"; done; }
json() { python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }

# journey NAME LOCATION [store options...]: the daily path and a new device's restore.
journey() {
    local name="$1" repo="$2"; shift 2
    local dir="$WORK/$name"
    mkdir -p "$dir"
    cp "$WORK/base.db" "$dir/chats.db"
    cp -r "$WORK/base-media" "$dir/media"
    "$KS" -q repo init --repo "$repo" "$@" >/dev/null
    "$KS" -q --json repo backup --repo "$repo" "$@" --cache "$dir/cache" --media "$dir/media" \
        "$dir/chats.db" >"$dir/first.json"
    "$KS" -q seed "$dir/chats.db" --day realistic --seed 3 >/dev/null
    "$KS" -q --json repo backup --repo "$repo" "$@" --cache "$dir/cache" --media "$dir/media" \
        "$dir/chats.db" >"$dir/second.json"
    # A new device: no cache, no keys, the recovery key only.
    "$KS" -q --json repo restore --repo "$repo" "$@" --recovery-key-file "$WORK/recovery.txt" \
        --to "$dir/restored.db" --media-to "$dir/restored-media" >"$dir/restore.json"
    diff <(rows "$dir/chats.db") <(rows "$dir/restored.db")
    diff -r "$dir/media" "$dir/restored-media"
    "$KS" -q repo check --repo "$repo" "$@" --recovery-key-file "$WORK/recovery.txt" \
        --read-data-subset 100 >/dev/null
    echo "$name: first backup $(json requests.total <"$dir/first.json") requests, day $(json requests.total <"$dir/second.json") requests ($(json bytes_uploaded <"$dir/second.json") bytes), restore $(json requests.total <"$dir/restore.json") requests: ok" >&2
}

echo "== CLI journey over S3 and over WebDAV" >&2
journey s3 "s3:$KEEPSAKE_TEST_S3_ENDPOINT/cli/journey"
journey webdav "webdav:$KEEPSAKE_TEST_WEBDAV_URL/journey"

# proxy ARGS...: starts faultproxy in front of the S3 server; sets PROXY_URL.
proxy() {
    local port_file="$WORK/proxy-port-$RANDOM"
    "$PROXY" --upstream "${KEEPSAKE_TEST_S3_ENDPOINT#http://}" --port-file "$port_file" \
        --log "$WORK/proxy-$RANDOM.log" "$@" 2>/dev/null &
    PROXY_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
    PROXY_URL="http://127.0.0.1:$(cat "$port_file")"
}

# faulty NAME PROXY-ARGS...: init and a backup through a faulty proxy; the backup completes or
# exits with a typed storage code; a second backup (through the same faults) completes; the
# repository then checks clean directly against the server.
faulty() {
    local name="$1"; shift
    local dir="$WORK/$name" repo_path="cli/$name" code=0
    mkdir -p "$dir"
    cp "$WORK/base.db" "$dir/chats.db"
    "$KS" -q repo init --repo "s3:$KEEPSAKE_TEST_S3_ENDPOINT/$repo_path" >/dev/null
    proxy "$@"
    local opts=(-o retry-delay=0.05 -o io-timeout=2 -o timeout=20)
    "$KS" -q repo backup --repo "s3:$PROXY_URL/$repo_path" "${opts[@]}" --cache "$dir/cache" \
        --media "$WORK/base-media" "$dir/chats.db" >/dev/null 2>"$dir/first.err" || code=$?
    case "$code" in
        0 | 20 | 25) ;;
        *) echo "$name: the backup exited $code, not 0, 20 or 25" >&2; cat "$dir/first.err" >&2; exit 1 ;;
    esac
    "$KS" -q seed "$dir/chats.db" --day realistic --seed 4 >/dev/null
    "$KS" -q repo backup --repo "s3:$PROXY_URL/$repo_path" "${opts[@]}" -o retries=12 \
        --cache "$dir/cache" --media "$WORK/base-media" "$dir/chats.db" >/dev/null
    "$KS" -q repo check --repo "s3:$KEEPSAKE_TEST_S3_ENDPOINT/$repo_path" \
        --recovery-key-file "$WORK/recovery.txt" --read-data-subset 100 >/dev/null
    "$KS" -q repo restore --repo "s3:$PROXY_URL/$repo_path" "${opts[@]}" -o retries=12 \
        --recovery-key-file "$WORK/recovery.txt" --to "$dir/restored.db" >/dev/null
    diff <(rows "$dir/chats.db") <(rows "$dir/restored.db")
    echo "$name: first backup exit $code, the next run completed, check clean" >&2
}

echo "== fault journeys through faultproxy (S3)" >&2
faulty throttled-503 --throttle-rate 0.3 --throttle-status 503 --retry-after 1 --seed 11
faulty throttled-429 --throttle-rate 0.3 --throttle-status 429 --retry-after 1 --seed 12
faulty resets --reset-put-rate 0.4 --seed 13
faulty stalls --stall-get-rate 0.3 --stall-ms 20000 --seed 14
echo "test-remote: ok" >&2
