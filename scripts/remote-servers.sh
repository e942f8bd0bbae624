#!/usr/bin/env bash
# Starts and stops the real servers the remote-store tests run against, on 127.0.0.1 only:
#   S3:     moto's server (PyPI `moto[server]`, pinned below) through scripts/moto-server.py,
#           which makes its conditional create atomic (docs/STORES.md says what moto lacks);
#   WebDAV: Debian's apache2 with mod_dav and mod_dav_fs, basic auth, from a config generated
#           into DIR, started without systemd.
#
#   scripts/remote-servers.sh start DIR   installs what is missing (apt, a venv under
#                                         ~/.cache/keepsake-test-servers), starts both on free
#                                         high ports, waits until they answer, creates the
#                                         buckets, and writes DIR/env (shell exports) and
#                                         DIR/pids
#   scripts/remote-servers.sh stop DIR    stops them by the pids in DIR/pids
#
# DIR/env sets KEEPSAKE_TEST_S3_ENDPOINT (http://127.0.0.1:PORT), KEEPSAKE_TEST_S3_BUCKETS (the
# buckets made: keepsake, restic, faults, cli), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
# AWS_DEFAULT_REGION (moto accepts any), KEEPSAKE_TEST_WEBDAV_URL (http://127.0.0.1:PORT/dav)
# and KEEPSAKE_WEBDAV_USER / KEEPSAKE_WEBDAV_PASSWORD (a random password made here). Callers
# stop the servers from a trap, so a failing test never leaves them running.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.6
BUCKETS=(keepsake restic faults cli)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
[ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] && { usage; exit 0; }
[ $# -eq 2 ] || { usage >&2; exit 2; }
ACTION="$1"
DIR="$(mkdir -p "$2" && cd "$2" && pwd)"

stop() {
    [ -f "$DIR/pids" ] || return 0
    while read -r pid; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || true
    done <"$DIR/pids"
    # apache2's children follow their parent; wait briefly for every pid to go.
    for _ in $(seq 50); do
        alive=0
        while read -r pid; do
            [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1
        done <"$DIR/pids"
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    rm -f "$DIR/pids"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() { # URL, name
    for _ in $(seq 150); do
        if curl -s -o /dev/null "$1"; then return 0; fi
        sleep 0.2
    done
    echo "$2 did not answer at $1" >&2
    exit 1
}

install_tools() {
    local missing=()
    [ -x /usr/sbin/apache2 ] || missing+=(apache2)
    command -v htpasswd >/dev/null || missing+=(apache2-utils)
    command -v curl >/dev/null || missing+=(curl)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
    VENV="${KEEPSAKE_SERVERS_CACHE:-$HOME/.cache/keepsake-test-servers}/moto-$MOTO_VERSION"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
        echo "installing moto[server]==$MOTO_VERSION into $VENV" >&2
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2
    fi
}

start() {
    stop
    install_tools
    : >"$DIR/pids"

    # --- S3 (moto)
    local s3_port; s3_port=$(free_port)
    "$VENV/bin/python" scripts/moto-server.py 127.0.0.1 "$s3_port" >"$DIR/moto.log" 2>&1 &
    echo $! >>"$DIR/pids"
    wait_for "http://127.0.0.1:$s3_port/" "moto"
    for bucket in "${BUCKETS[@]}"; do
        curl -sf -X PUT "http://127.0.0.1:$s3_port/$bucket" -o /dev/null
    done

    # --- WebDAV (apache2 + mod_dav_fs)
    local dav_port; dav_port=$(free_port)
    local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    mkdir -p "$DIR/dav" "$DIR/apache-run"
    printf '%s\n' "$password" | htpasswd -i -c "$DIR/htpasswd" keepsake 2>/dev/null
    local user_lines=""
    if [ "$(id -u)" -eq 0 ]; then
        # Started as root, apache2 drops to www-data, which must own the tree it writes.
        chown -R www-data:www-data "$DIR/dav" "$DIR/apache-run"
        chmod 0644 "$DIR/htpasswd"
        user_lines=$'User www-data\nGroup www-data'
    fi
    local mods=/usr/lib/apache2/modules
    cat >"$DIR/apache2.conf" <<EOF
ServerRoot "$DIR"
ServerName 127.0.0.1
Listen 127.0.0.1:$dav_port
PidFile "$DIR/apache2.pid"
ErrorLog "$DIR/apache-error.log"
LogLevel warn
$user_lines
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule auth_basic_module $mods/mod_auth_basic.so
LoadModule alias_module $mods/mod_alias.so
LoadModule dav_module $mods/mod_dav.so
LoadModule dav_fs_module $mods/mod_dav_fs.so
MaxRequestWorkers 64
ThreadsPerChild 32
KeepAliveTimeout 30
LimitRequestBody 0
DavLockDB "$DIR/apache-run/davlock"
DocumentRoot "$DIR/dav"
Alias /dav "$DIR/dav"
<Directory "$DIR/dav">
    Dav On
    AuthType Basic
    AuthName "keepsake tests"
    AuthUserFile "$DIR/htpasswd"
    Require valid-user
</Directory>
EOF
    /usr/sbin/apache2 -f "$DIR/apache2.conf" -k start
    for _ in $(seq 100); do [ -s "$DIR/apache2.pid" ] && break; sleep 0.1; done
    cat "$DIR/apache2.pid" >>"$DIR/pids"
    wait_for "http://127.0.0.1:$dav_port/dav/" "apache2"

    cat >"$DIR/env" <<EOF
export KEEPSAKE_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export KEEPSAKE_TEST_S3_BUCKETS="${BUCKETS[*]}"
export AWS_ACCESS_KEY_ID=keepsake-test
export AWS_SECRET_ACCESS_KEY=keepsake-test-secret
export AWS_DEFAULT_REGION=us-east-1
export KEEPSAKE_TEST_WEBDAV_URL=http://127.0.0.1:$dav_port/dav
export KEEPSAKE_WEBDAV_USER=keepsake
export KEEPSAKE_WEBDAV_PASSWORD=$password
EOF
    echo "servers up: S3 (moto $MOTO_VERSION) on $s3_port, WebDAV (apache2) on $dav_port; env in $DIR/env" >&2
}

case "$ACTION" in
    start) start ;;
    stop) stop ;;
    *) usage >&2; exit 2 ;;
esac
