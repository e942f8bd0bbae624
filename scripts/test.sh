#!/usr/bin/env bash
# The single test command (README, .ci/run). Installs what it needs, runs everything,
# exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== Rust tests"
cargo test --workspace --all-features

echo "== container vectors replayed from FORMAT.md by an independent Python implementation"
scripts/check-vectors.sh

# --- container: fuzz smoke run (begin) ---
echo "== fuzz smoke (container header, STREAM reader, passkey responses, repository objects)"
scripts/fuzz-smoke.sh
# --- container: fuzz smoke run (end) ---

# --- repository (issue 10): benchmark smoke run (begin) ---
echo "== repository benchmark smoke (2,000 messages; restic installed if missing)"
BENCH_SMOKE=1 scripts/bench-repo.sh >/dev/null
# --- repository (issue 10): benchmark smoke run (end) ---

# --- remote stores (issue 20) (begin) ---
echo "== remote stores against moto (S3) and apache2 (WebDAV): conformance, CLI journeys, faults"
scripts/test-remote.sh
echo "== remote benchmark smoke (tiny data, loopback and a Drive-like profile)"
BENCH_SMOKE=1 scripts/bench-remote.sh >/dev/null
# --- remote stores (issue 20) (end) ---

echo "== Kotlin and Swift bindings"
scripts/test-bindings.sh

# --- mobile (issue 6): build scripts --------------------------------------------------------------
echo "== mobile build scripts"
scripts/test-mobile-scripts.sh
# --- end mobile build scripts ---------------------------------------------------------------------

# --- mobile (issue 6): sample apps' flow code (Kotlin on the JVM, Swift on Linux) -----------------
echo "== mobile sample flows"
scripts/test-mobile-flows.sh
# --- end mobile sample flows ----------------------------------------------------------------------
