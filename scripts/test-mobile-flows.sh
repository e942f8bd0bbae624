#!/usr/bin/env bash
# Builds and runs the sample apps' shared flow code on this machine: the Android sample's plain
# Kotlin view-models (android-sample/flow) on the JVM, and the iOS sample's plain Swift
# view-models (ios-sample/KeepsakeFlow) with the Linux Swift toolchain. Called by scripts/test.sh;
# toolchains come from scripts/provision-toolchains.sh (cached outside the repository).
#
# Local opt-outs (refused when CI=true): KEEPSAKE_SKIP_KOTLIN=1, KEEPSAKE_SKIP_SWIFT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source-path=SCRIPTDIR source=provision-toolchains.sh
source scripts/provision-toolchains.sh

run_kotlin=1
run_swift=1
if skip_requested KEEPSAKE_SKIP_KOTLIN; then run_kotlin=0; fi
if skip_requested KEEPSAKE_SKIP_SWIFT; then run_swift=0; fi

out="$repo/target/mobile-flows"
mkdir -p "$out"
summary=()

kotlin_flows() {
    local build="$out/kotlin"
    rm -rf "$build"
    mkdir -p "$build"
    local cp="$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
    local sources
    mapfile -t sources < <(find "$repo/android-sample/flow/src/main" "$repo/android-sample/flow/src/test" -name '*.kt' | sort)
    # The flow code must stay free of Android APIs, or it could not be tested here.
    if grep -l '^import android\.' "${sources[@]}"; then
        echo "kotlin flows: the files above import android.*"
        return 1
    fi
    "$KOTLINC" -nowarn -classpath "$cp" -d "$build/flow.jar" "${sources[@]}" 2>&1 | grep -v '^warning: ' || true
    [[ -f "$build/flow.jar" ]] || { echo "kotlin flows: compilation failed"; return 1; }
    local log="$build/test.log" status=0
    java -cp "$build/flow.jar:$cp:$KOTLIN_LIB/kotlin-stdlib.jar" app.keepsake.sample.flow.FlowTestsKt 2>&1 |
        tee "$log" || status=1
    grep -E '^kotlin flows: [0-9]+ passed, 0 failed$' "$log" >/dev/null || status=1
    summary+=("$(grep -E '^kotlin flows: ' "$log" | tail -1 || echo 'kotlin flows: did not run to the end')")
    return "$status"
}

# Compiles the KeepsakeFlow module as a library (with testing enabled), then the tests and the
# Linux runner against it, and runs them. $1 is the folder holding Sources/ and Tests/ as seen by
# the compiler, $2 the output folder.
swift_build_and_run() {
    local root="$1" build="$2"
    cat <<EOF
set -e
cd "$root"
mkdir -p "$build"
swiftc -emit-library -emit-module -enable-testing -parse-as-library -module-name KeepsakeFlow \
    -emit-module-path "$build/KeepsakeFlow.swiftmodule" -o "$build/libKeepsakeFlow.so" Sources/KeepsakeFlow/*.swift
swiftc -I "$build" -L "$build" -lKeepsakeFlow -Xlinker -rpath -Xlinker "$build" -module-name FlowTestRunner \
    Tests/KeepsakeFlowTests/Fakes.swift Tests/KeepsakeFlowTests/FlowTests.swift Tests/FlowTestRunner/main.swift \
    -o "$build/flow-tests"
"$build/flow-tests"
EOF
}

swift_flows() {
    local package="$repo/ios-sample/KeepsakeFlow"
    local log="$out/swift-test.log" status=0
    # Platform glue lives in the app target, never in the package compiled here.
    if grep -lE '^import (UIKit|SwiftUI|AuthenticationServices|Security)' "$package"/Sources/KeepsakeFlow/*.swift; then
        echo "swift flows: the files above import platform frameworks"
        return 1
    fi
    if [[ "$SWIFT_MODE" == "native" ]]; then
        bash -c "$(swift_build_and_run "$package" "$out/swift")" 2>&1 | tee "$log" || status=1
    else
        # Inside the chroot the host paths do not exist: copy the package into a scratch folder.
        local inner="/tmp/keepsake-mobile-flows"
        rm -rf "$SWIFT_CHROOT$inner"
        mkdir -p "$SWIFT_CHROOT$inner"
        cp -R "$package/Sources" "$package/Tests" "$SWIFT_CHROOT$inner/"
        swift_chroot_run bash -c "$(swift_build_and_run "$inner" "$inner/build")" 2>&1 | tee "$log" || status=1
        rm -rf "$SWIFT_CHROOT$inner"
    fi
    grep -E '^swift flows: [0-9]+ passed, 0 failed$' "$log" >/dev/null || status=1
    summary+=("$(grep -E '^swift flows: ' "$log" | tail -1 || echo 'swift flows: did not run to the end')")
    return "$status"
}

started=$(date +%s)
elapsed() { echo "   ($1: $(($(date +%s) - started)) s)"; }

failed=0
if [[ "$run_kotlin" == "1" ]]; then
    echo "== Android sample flows (Kotlin, JVM)"
    provision_kotlin || exit 1
    kotlin_flows || failed=1

    elapsed "kotlin provision, build and tests"
    started=$(date +%s)
else
    echo "== Android sample flows SKIPPED (KEEPSAKE_SKIP_KOTLIN=1)"
fi
if [[ "$run_swift" == "1" ]]; then
    echo "== iOS sample flows (Swift, Linux)"
    trap swift_chroot_unmount EXIT
    provision_swift || exit 1
    swift_flows || failed=1
    elapsed "swift provision, build and tests"
else
    echo "== iOS sample flows SKIPPED (KEEPSAKE_SKIP_SWIFT=1)"
fi

echo "== mobile flow summary"
for line in "${summary[@]}"; do echo "   $line"; done
exit "$failed"
