#!/usr/bin/env bash
# Runs the bindings' Kotlin JUnit classes (JVM) and Swift XCTest package (Linux) against bindings
# generated from the tested build of keepsake-ffi, then the cross-platform restore (a Kotlin
# backup restored by the Swift tests, a Swift backup restored by the Kotlin tests). Called by scripts/test.sh; installs missing toolchains itself
# (scripts/provision-toolchains.sh, cached outside the repository).
#
# Local opt-outs (refused when CI=true): KEEPSAKE_SKIP_KOTLIN=1, KEEPSAKE_SKIP_SWIFT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source=provision-toolchains.sh
source scripts/provision-toolchains.sh
# shellcheck source-path=SCRIPTDIR source=swift-stage.sh
source scripts/swift-stage.sh

# Decide what runs before spending time on builds; a forbidden opt-out fails here.
run_kotlin=1
run_swift=1
if skip_requested KEEPSAKE_SKIP_KOTLIN; then run_kotlin=0; fi
if skip_requested KEEPSAKE_SKIP_SWIFT; then run_swift=0; fi

timed() { # <label> <command>...: runs it, prints its time, returns its status
    local label="$1" start status=0
    shift
    start=$(date +%s)
    "$@" || status=$?
    echo "   ($label: $(($(date +%s) - start)) s)"
    return "$status"
}

echo "== generate bindings"
# The tests drive the software authenticator, so these bindings include it.
timed "build and generate" scripts/generate-bindings.sh --soft-authenticator

out="$repo/target/bindings"

# The Kotlin patch must refuse text it does not expect (here: its own output, as a UniFFI that
# fixed or changed lower() would produce) instead of silently doing nothing.
patch_check="$out/patch-check.kt"
cp "$out/kotlin/app/keepsake/keepsake_ffi.kt" "$patch_check"
if scripts/patch-kotlin-bindings.sh "$patch_check" 2>"$out/patch-check.log" ||
    ! grep -q "review this patch" "$out/patch-check.log"; then
    echo "patch-kotlin-bindings.sh accepted already-patched Kotlin: it would skip a changed template silently"
    exit 1
fi
rm -f "$patch_check"
echo "   patch-kotlin-bindings.sh refuses unexpected generated text: ok"
lib_dir="$out/lib"

# Each suite prints "<suite>: N passed, M failed, K skipped" as its last line; collect them.
summary=()
record() { # <log> <suite label>
    summary+=("$(grep -E "^$2: [0-9]+ passed" "$1" | tail -1 || echo "$2: did not run to the end")")
    grep -qE "^$2: [0-9]+ passed, 0 failed" "$1"
}

# ---- Kotlin: JUnit classes under bindings/kotlin/src/test/kotlin (Gradle's layout), compiled
# once per content hash and run with JUnit 4 (scripts/junit/SummaryRunner.kt prints the counts).
# A new test is a class named *Test in that folder; it is picked up without touching this script.
kotlin_cache="$repo/target/kotlin-cache"
kotlin_build() {
    local main_cp="$JNA_JAR:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
    local sources tests
    mapfile -t sources < <(find "$out/kotlin" "$repo/bindings/kotlin/src/main" -name '*.kt' | sort)
    KOTLIN_BINDINGS=$(kotlin_compile_cached "$kotlin_cache" bindings "$main_cp" "${sources[@]}") || return 1
    KOTLIN_RUNNER=$(kotlin_compile_cached "$kotlin_cache" junit-runner "$KOTLIN_TEST_CP" "$repo/scripts/junit/SummaryRunner.kt") || return 1
    # Every ```kotlin block of the docs becomes a test of DocSnippetsTest.
    mkdir -p "$out/kotlin-docs"
    scripts/doc-snippets.sh kotlin "$out/kotlin-docs/DocSnippetsTest.kt" README.md docs/KOTLIN.md || return 1
    mapfile -t tests < <(find "$repo/bindings/kotlin/src/test" "$out/kotlin-docs" -name '*.kt' | sort)
    KOTLIN_TESTS=$(kotlin_compile_cached "$kotlin_cache" binding-tests "$KOTLIN_BINDINGS:$main_cp:$KOTLIN_TEST_CP" "${tests[@]}") || return 1
    KOTLIN_RUN_CP="$KOTLIN_TESTS:$KOTLIN_BINDINGS:$KOTLIN_RUNNER:$main_cp:$KOTLIN_TEST_CP:$KOTLIN_LIB/kotlin-stdlib.jar"
}

kotlin_run() { # <label> <log> <test class>...
    local label="$1" log="$2"
    shift 2
    KEEPSAKE_EXCHANGE="$exchange" java -ea -Djna.library.path="$lib_dir" -cp "$KOTLIN_RUN_CP" \
        app.keepsake.junit.SummaryRunnerKt "$label" "$@" 2>&1 | tee "$log" || true
    record "$log" "$label"
}

kotlin_tests() {
    kotlin_build || { summary+=("kotlin: compilation failed"); return 1; }
    local classes=() class
    while read -r class; do
        # Needs the Swift export: runs after the Swift tests (kotlin_import_tests).
        [[ "$class" == app.keepsake.CrossPlatformImportTest ]] || classes+=("$class")
    done < <(kotlin_test_classes "$KOTLIN_TESTS")
    kotlin_run kotlin "$out/kotlin-test.log" "${classes[@]}"
}

kotlin_import_tests() {
    KEEPSAKE_IMPORT_FROM="$exchange/swift" kotlin_run "kotlin cross-platform" "$out/kotlin-import.log" \
        app.keepsake.CrossPlatformImportTest || return 1
    # Skipped would mean the Swift export was missing: here that is a failure.
    grep -qE '^kotlin cross-platform: [0-9]+ passed, 0 failed, 0 skipped' "$out/kotlin-import.log"
}

# ---- Swift: the SwiftPM package bindings/swift (module Keepsake = generated code + async layer,
# XCTest target KeepsakeTests), staged with the generated files and run with `swift test`. The
# stage persists (in the chroot, or target/ natively) and files are copied only when changed, so
# SwiftPM rebuilds only what changed. A new test is a file in bindings/swift/Tests/KeepsakeTests.
swift_stage() { # <stage folder>
    # Every ```swift block of the docs becomes a test of DocSnippetTests.
    scripts/doc-snippets.sh swift "$out/DocSnippetTests.swift" README.md docs/SWIFT.md
    swift_stage_bindings "$out" "$1" "$out/DocSnippetTests.swift"
}

# `swift test` in the staged package, as a script for bash -c: $1 is the stage and $2 the
# exchange folder, as the compiler sees them.
swift_test_command() {
    cat <<EOF
set -e
cd "$1/package"
KEEPSAKE_EXCHANGE="$2" swift test -Xlinker -L"$1/lib" -Xlinker -rpath -Xlinker "$1/lib" 2>&1
EOF
}

swift_tests() {
    trap swift_chroot_unmount EXIT
    provision_swift || return 1
    local log="$out/swift-test.log" stage inner
    if [[ "$SWIFT_MODE" == "native" ]]; then
        stage="$repo/target/swift-stage"
        inner="$stage"
    else
        inner="/var/cache/keepsake-swift"
        stage="$SWIFT_CHROOT$inner"
    fi
    swift_stage "$stage"
    if [[ "$SWIFT_MODE" == "native" ]]; then
        bash -c "$(swift_test_command "$inner" "$exchange")" 2>&1 | tee "$log" || true
    else
        swift_chroot_run bash -c "$(swift_test_command "$inner" "$exchange_inner")" 2>&1 | tee "$log" || true
    fi
    xctest_summary "$log" swift | tee -a "$log"
    record "$log" swift
}

# ---- Cross-platform restore: the Kotlin run exports a backup (CrossPlatformExportTest), the
# Swift run restores it and exports one (CrossPlatformTests), then Kotlin restores that
# (CrossPlatformImportTest). The exchange folder must be visible to both: inside the Swift chroot
# when there is one.
exchange_inner=/tmp/keepsake-exchange
if [[ "$run_swift" == "1" ]]; then
    provision_swift || exit 1
fi
if [[ "${SWIFT_MODE:-}" == "chroot" ]]; then
    exchange="$SWIFT_CHROOT$exchange_inner"
else
    exchange="$repo/target/keepsake-exchange"
    exchange_inner="$exchange"
fi
rm -rf "$exchange"
mkdir -p "$exchange"
# The files the key-trust tests (KeyTrustTest, KeyTrustTests) open on both platforms: the store's
# forgery of a backup, and a backup with version 2 slots (core/tests/vectors/container*).
mkdir -p "$exchange/vectors"
cp core/tests/vectors/container/negative_forged_root_seal_recovery_key.bin \
    "$exchange/vectors/forged.keepsake"
cp core/tests/vectors/container/one_byte.bin "$exchange/vectors/genuine.keepsake"
cp core/tests/vectors/container-slot-v2/one_byte.bin "$exchange/vectors/slot-v2.keepsake"

failed=0
if [[ "$run_kotlin" == "1" ]]; then
    echo "== Kotlin (JVM) tests"
    timed "provision kotlin" provision_kotlin || exit 1
    timed "kotlin build and tests" kotlin_tests || failed=1
else
    echo "== Kotlin tests SKIPPED (KEEPSAKE_SKIP_KOTLIN=1)"
fi
if [[ "$run_swift" == "1" ]]; then
    echo "== Swift (Linux) tests"
    timed "swift build and tests" swift_tests || failed=1
else
    echo "== Swift tests SKIPPED (KEEPSAKE_SKIP_SWIFT=1)"
fi
if [[ "$run_kotlin" == "1" && "$run_swift" == "1" ]]; then
    echo "== Cross-platform restore: the Swift backup through the Kotlin bindings"
    timed "kotlin cross-platform" kotlin_import_tests || failed=1
fi

echo "== binding test summary"
for line in "${summary[@]}"; do echo "   $line"; done
exit "$failed"
