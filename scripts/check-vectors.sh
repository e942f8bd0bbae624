#!/usr/bin/env bash
# The container vectors replayed by a second implementation: core/tests/vectors/container/
# independent_check.py, written from docs/FORMAT.md alone, opens every positive vector's slots
# (HKDF, AES-GCM, HPKE base mode for version 2 slots and PSK mode for version 3, Argon2id, NFC),
# verifies each header MAC and authentication secret, and checks that the forged seals fail.
# Called by scripts/test.sh; installs its two Python packages (from PyPI) into
# target/vector-check-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/vector-check-venv
if ! "$venv/bin/python" -c 'import cryptography, argon2' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cryptography==44.*" "argon2-cffi==23.*"
fi
"$venv/bin/python" core/tests/vectors/container/independent_check.py \
    core/tests/vectors/container core/tests/vectors/container-slot-v2
