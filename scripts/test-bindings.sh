#!/usr/bin/env bash
# Runs the Kotlin (JVM) and Swift (Linux) test journeys against bindings generated from the
# tested build of keepsake-ffi. Called by scripts/test.sh; installs missing toolchains itself
# (scripts/provision-toolchains.sh, cached outside the repository).
#
# Local opt-outs (refused when CI=true): KEEPSAKE_SKIP_KOTLIN=1, KEEPSAKE_SKIP_SWIFT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source=provision-toolchains.sh
source scripts/provision-toolchains.sh

# Decide what runs before spending time on builds; a forbidden opt-out fails here.
run_kotlin=1
run_swift=1
if skip_requested KEEPSAKE_SKIP_KOTLIN; then run_kotlin=0; fi
if skip_requested KEEPSAKE_SKIP_SWIFT; then run_swift=0; fi

timed() {
    local label="$1" start
    shift
    start=$(date +%s)
    "$@"
    echo "   ($label: $(($(date +%s) - start)) s)"
}

echo "== generate bindings"
timed "build and generate" scripts/generate-bindings.sh

out="$repo/target/bindings"
lib_dir="$out/lib"

# A test run prints "<language>: N passed, M failed" as its last line; collect them.
summary=()

kotlin_tests() {
    local build="$out/kotlin-build"
    mkdir -p "$build"
    local cp="$JNA_JAR:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
    # Generated bindings plus the idiomatic layer, compiled together into one jar.
    mapfile -t sources < <(find "$out/kotlin" "$repo/bindings/kotlin/src" -name '*.kt' | sort)
    "$KOTLINC" -nowarn -classpath "$cp" -d "$build/keepsake.jar" "${sources[@]}" 2>&1 |
        grep -v '^warning: ' || true
    [[ -f "$build/keepsake.jar" ]] || { echo "kotlin: compilation failed"; return 1; }
    local log="$build/test.log" status=0
    for script in "$repo"/bindings/kotlin/tests/*.kts; do
        "$KOTLINC" -nowarn -classpath "$build/keepsake.jar:$cp" \
            -J-Djna.library.path="$lib_dir" -J-ea -script "$script" 2>&1 | tee "$log" || status=1
        grep -E '^kotlin: [0-9]+ passed, 0 failed$' "$log" >/dev/null || status=1
        summary+=("$(grep -E '^kotlin: ' "$log" | tail -1) ($(basename "$script"))")
    done
    return "$status"
}

# Builds and runs one Swift test executable from the generated bindings, the async layer and the
# test sources in $1 (default: bindings/swift/Tests).
swift_tests() {
    local tests_dir="${1:-$repo/bindings/swift/Tests}"
    local sources=("$out/swift/Keepsake.swift")
    mapfile -t -O 1 sources < <(find "$repo/bindings/swift/Sources" "$tests_dir" -name '*.swift' | sort)
    local log="$out/swift-test-$(basename "$tests_dir").log" status=0
    if [[ "$SWIFT_MODE" == "native" ]]; then
        local build="$out/swift-build"
        mkdir -p "$build"
        swiftc -parse-as-library -module-name KeepsakeTests \
            -Xcc -fmodule-map-file="$out/swift/KeepsakeFFI.modulemap" -I "$out/swift" \
            -L "$lib_dir" -lkeepsake_ffi -o "$build/keepsake-tests" "${sources[@]}"
        LD_LIBRARY_PATH="$lib_dir" DYLD_LIBRARY_PATH="$lib_dir" "$build/keepsake-tests" 2>&1 |
            tee "$log" || status=1
    else
        # Inside the chroot the host paths do not exist: copy the library, the generated code
        # and the sources into a scratch folder there, build and run, then remove it.
        local inner="/tmp/keepsake-swift-tests"
        local scratch="$SWIFT_CHROOT$inner"
        rm -rf "$scratch"
        mkdir -p "$scratch/gen" "$scratch/src"
        cp "$lib_dir/libkeepsake_ffi.so" "$scratch/"
        cp "$out"/swift/* "$scratch/gen/"
        local inner_sources=()
        local i=0
        for f in "${sources[@]}"; do
            cp "$f" "$scratch/src/$i-$(basename "$f")"
            inner_sources+=("$inner/src/$i-$(basename "$f")")
            i=$((i + 1))
        done
        swift_chroot_run bash -c "cd $inner && \
            swiftc -parse-as-library -module-name KeepsakeTests \
              -Xcc -fmodule-map-file=$inner/gen/KeepsakeFFI.modulemap -I $inner/gen \
              -L $inner -lkeepsake_ffi -o $inner/keepsake-tests ${inner_sources[*]} && \
            LD_LIBRARY_PATH=$inner ./keepsake-tests" 2>&1 | tee "$log" || status=1
        rm -rf "$scratch"
    fi
    grep -E '^swift: [0-9]+ passed, 0 failed$' "$log" >/dev/null || status=1
    summary+=("$(grep -E '^swift: ' "$log" | tail -1 || echo 'swift: did not run to the end') ($(basename "$tests_dir"))")
    return "$status"
}

# --- repository (issue 10): Kotlin and Swift repository journeys (begin) ---
# Separate scripts/executables (bindings/kotlin/repository-tests, bindings/swift/RepositoryTests):
# an app-side BlobStore over a directory and over an in-memory map, each through the journey.
repository_kotlin_tests() {
    local build="$out/kotlin-build" status=0
    local cp="$JNA_JAR:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
    [[ -f "$build/keepsake.jar" ]] || { echo "kotlin: bindings jar missing"; return 1; }
    for script in "$repo"/bindings/kotlin/repository-tests/*.kts; do
        local log="$build/$(basename "$script" .kts).log"
        "$KOTLINC" -nowarn -classpath "$build/keepsake.jar:$cp" \
            -J-Djna.library.path="$lib_dir" -J-ea -script "$script" 2>&1 | tee "$log" || status=1
        grep -E '^kotlin: [0-9]+ passed, 0 failed$' "$log" >/dev/null || status=1
        summary+=("$(grep -E '^kotlin: ' "$log" | tail -1) ($(basename "$script"))")
    done
    return "$status"
}
repository_swift_tests() { swift_tests "$repo/bindings/swift/RepositoryTests"; }
# --- repository (issue 10): Kotlin and Swift repository journeys (end) ---

failed=0
if [[ "$run_kotlin" == "1" ]]; then
    echo "== Kotlin (JVM) tests"
    timed "provision kotlin" provision_kotlin || exit 1
    timed "kotlin build and tests" kotlin_tests || failed=1
    timed "kotlin repository journeys" repository_kotlin_tests || failed=1
else
    echo "== Kotlin tests SKIPPED (KEEPSAKE_SKIP_KOTLIN=1)"
fi
if [[ "$run_swift" == "1" ]]; then
    echo "== Swift (Linux) tests"
    trap swift_chroot_unmount EXIT
    timed "provision swift" provision_swift || exit 1
    timed "swift build and tests" swift_tests || failed=1
    timed "swift repository journeys" repository_swift_tests || failed=1
else
    echo "== Swift tests SKIPPED (KEEPSAKE_SKIP_SWIFT=1)"
fi

echo "== binding test summary"
for line in "${summary[@]}"; do echo "   $line"; done
exit "$failed"
