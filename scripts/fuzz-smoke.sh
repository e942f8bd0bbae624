#!/usr/bin/env bash
# A short, bounded libFuzzer run of every fuzz target in core/fuzz (cargo-fuzz, nightly).
# Installs cargo-fuzz into ~/.cargo if missing. Seconds per target: $FUZZ_SECONDS (default 20).
set -euo pipefail
cd "$(dirname "$0")/../core"

seconds="${FUZZ_SECONDS:-20}"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

for target in $(cargo +nightly fuzz list); do
    echo "-- fuzz $target for ${seconds}s"
    mkdir -p "fuzz/corpus/$target"
    # cargo fuzz exits non-zero on a crash; PIPESTATUS keeps its exit code, not grep's.
    set +e
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|thread .* panicked|Done|error)'
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        echo "fuzz target $target failed (exit $status); see core/fuzz/artifacts/$target" >&2
        exit "$status"
    fi
done
