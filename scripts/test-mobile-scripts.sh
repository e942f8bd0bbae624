#!/usr/bin/env bash
# Checks the mobile build scripts on a machine without the Android NDK or Xcode: they are clean
# under shellcheck, print usage with --help, and stop with a message naming exactly what is missing;
# the Swift package layout build-ios.sh writes (flat module map, every source of the Keepsake
# module); the release script for the root Package.swift; and the Gradle/XcodeGen projects and the
# workflows (scripts/check-mobile-projects.py). Called by scripts/test.sh. Installs the tools it
# needs (Debian's shellcheck, PyYAML) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts=(scripts/build-android.sh scripts/build-ios.sh scripts/release-swift-package.sh scripts/test-mobile-*.sh
    scripts/mobile-cflags.sh scripts/size-report.sh scripts/arm64-crypto-report.sh scripts/test-cross-abi.sh)

if ! command -v shellcheck >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        echo "[mobile] installing Debian's shellcheck" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >&2
    else
        echo "[mobile] ERROR: shellcheck is missing and cannot be installed (need root and apt-get)" >&2
        exit 1
    fi
fi

# scripts/check-mobile-projects.py reads project.yml and the workflows with PyYAML.
if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "[mobile] installing PyYAML" >&2
    python3 -m pip install --quiet pyyaml >&2 || {
        echo "[mobile] ERROR: PyYAML is missing and cannot be installed (pip install pyyaml)" >&2
        exit 1
    }
fi

passed=0
failed=0
check() {
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "   ok   $name"
    else
        failed=$((failed + 1))
        echo "   FAIL $name"
    fi
}

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Runs a script with the given environment, keeping status, stdout and stderr for the assertions.
run() {
    local status=0
    env "$@" >"$scratch/out" 2>"$scratch/err" || status=$?
    echo "$status" >"$scratch/status"
}
status_is() { [[ "$(cat "$scratch/status")" == "$1" ]]; }
fails_with() { ! status_is 0 && grep -qF -- "$1" "$scratch/err"; }
prints() { status_is 0 && grep -qF -- "$1" "$scratch/out"; }

shellcheck_clean() { shellcheck -x "${scripts[@]}"; }
check "shellcheck ${scripts[*]}" shellcheck_clean

# --- Android ---------------------------------------------------------------------------------------

run scripts/build-android.sh --help
check "build-android --help prints usage" prints "Usage: scripts/build-android.sh"
check "build-android --help lists the ABIs" prints "arm64-v8a, armeabi-v7a, x86_64, x86"

no_sdk="$scratch/no-sdk"
mkdir -p "$no_sdk"
android_env=(-u ANDROID_NDK_HOME -u ANDROID_NDK_ROOT ANDROID_HOME="$no_sdk" ANDROID_SDK_ROOT="$no_sdk")

run "${android_env[@]}" scripts/build-android.sh
check "build-android without an NDK names the NDK" fails_with "Android NDK not found: set ANDROID_NDK_HOME"

run "${android_env[@]}" ANDROID_NDK_HOME="$scratch/not-an-ndk" scripts/build-android.sh
check "build-android with a wrong ANDROID_NDK_HOME names the folder" \
    fails_with "Android NDK not found: '$scratch/not-an-ndk'"

# A folder shaped like an NDK gets past the NDK check to the next prerequisite.
fake_ndk="$scratch/ndk"
mkdir -p "$fake_ndk/toolchains/llvm/prebuilt"
if cargo ndk --version >/dev/null 2>&1; then
    echo "   skip build-android without cargo-ndk (cargo-ndk is installed here)"
else
    run "${android_env[@]}" ANDROID_NDK_HOME="$fake_ndk" scripts/build-android.sh
    check "build-android without cargo-ndk names cargo-ndk" \
        fails_with "cargo-ndk not found: install it with 'cargo install cargo-ndk'"
fi

run scripts/build-android.sh --abi mips
check "build-android rejects an unknown ABI" fails_with "unknown ABI 'mips'"

run scripts/build-android.sh --frobnicate
check "build-android rejects an unknown argument" fails_with "unknown argument '--frobnicate'"

# --- iOS -------------------------------------------------------------------------------------------

run scripts/build-ios.sh --help
check "build-ios --help prints usage" prints "Usage: scripts/build-ios.sh"
check "build-ios --help names the XCFramework" prints "KeepsakeFFI.xcframework"

if [[ "$(uname -s)" == "Darwin" ]] && xcodebuild -version >/dev/null 2>&1; then
    echo "   skip build-ios without Xcode (Xcode is installed here)"
else
    run scripts/build-ios.sh
    check "build-ios without Xcode names Xcode" fails_with "Xcode not found:"
fi

run scripts/build-ios.sh --package-url
check "build-ios --package-url needs a value" fails_with "--package-url needs a value"

run scripts/build-ios.sh --target armv7-apple-ios
check "build-ios rejects an unknown target" fails_with "unknown target 'armv7-apple-ios'"

# --- the Swift package build-ios.sh lays out (no Xcode needed with --layout-only) -------------------

# uniffi-bindgen's Swift output, reduced to what the layout copies.
generated="$scratch/generated"
mkdir -p "$generated"
printf '#include <stdbool.h>\n#include <stdint.h>\n' >"$generated/KeepsakeFFI.h"
echo '// generated bindings' >"$generated/Keepsake.swift"
printf 'module KeepsakeFFI {\n    header "KeepsakeFFI.h"\n    export *\n    use "Darwin"\n    use "_Builtin_stdbool"\n}\n' \
    >"$generated/KeepsakeFFI.modulemap"
layout="$scratch/layout"
run scripts/build-ios.sh --layout-only "$generated" "$layout"
check "build-ios --layout-only lays out headers and sources" status_is 0

# Xcode 26 (explicit modules) finds a module map only at the top of each slice's Headers folder.
flat_headers() { [[ "$(cd "$layout/headers" && find . -mindepth 1 | sort | tr '\n' ' ')" == "./KeepsakeFFI.h ./module.modulemap " ]]; }
check "XCFramework headers are flat: KeepsakeFFI.h and module.modulemap, no subfolder" flat_headers

# uniffi-rs issue 2917: `use "_Builtin_*"` breaks the FFI module under Xcode 26.
module_map_plain() {
    local map="$layout/headers/module.modulemap"
    grep -qx 'module KeepsakeFFI {' "$map" && grep -qx '    header "KeepsakeFFI.h"' "$map" &&
        ! grep -qE '\buse\b|_Builtin_|framework' "$map"
}
check "module map declares KeepsakeFFI with no use/_Builtin_/framework declarations" module_map_plain

# One Swift module: the generated bindings and every file of the hand-written layer.
package_sources() {
    local expected actual
    expected="$( (echo Keepsake.swift; find bindings/swift/Sources/Keepsake -name '*.swift' -printf '%f\n') | sort | tr '\n' ' ')"
    actual="$(find "$layout/package/Sources/Keepsake" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')"
    [[ "$actual" == "$expected" ]] && [[ "$actual" == *"Keepsake+Async.swift"* ]]
}
check "package Sources/Keepsake holds Keepsake.swift and Keepsake+Async.swift (all of bindings/swift/Sources/Keepsake)" package_sources

# --- size, cross-ABI tests, arm64 crypto (Linux proxies of the mobile builds) --------------------

run scripts/size-report.sh --help
check "size-report --help prints usage and names every ABI's proxy" prints "thumbv7neon-unknown-linux-gnueabihf"
run scripts/size-report.sh --abi mips
check "size-report rejects an unknown ABI" fails_with "unknown ABI 'mips'"

run scripts/test-cross-abi.sh --help
check "test-cross-abi --help prints usage" prints "Usage: scripts/test-cross-abi.sh"
run scripts/test-cross-abi.sh --abi riscv
check "test-cross-abi rejects an unknown ABI" fails_with "unknown ABI 'riscv'"
run scripts/test-cross-abi.sh --packages --abi aarch64
check "test-cross-abi --packages lists the cross compiler and qemu for aarch64" prints "gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
run scripts/test-cross-abi.sh --packages --abi i686
i686_native() { prints libc6-i386 && ! grep -q qemu "$scratch/out"; }
check "test-cross-abi --packages runs i686 natively (no qemu)" i686_native

run scripts/arm64-crypto-report.sh --help
check "arm64-crypto-report --help prints usage" prints "Usage: scripts/arm64-crypto-report.sh"
run scripts/arm64-crypto-report.sh --lib
check "arm64-crypto-report --lib needs a path" fails_with "--lib needs a path"

# The mobile C flags leave out exactly zstd's strategies above level 3 (the API's cap).
mobile_cflags_exclude_above_dfast() (
    # shellcheck source-path=SCRIPTDIR source=mobile-cflags.sh
    source scripts/mobile-cflags.sh
    unset CFLAGS_aarch64_linux_android
    export_mobile_cflags aarch64-linux-android
    local excluded
    # shellcheck disable=SC2154 # exported by export_mobile_cflags
    excluded="$(tr ' ' '\n' <<<"$CFLAGS_aarch64_linux_android" | sed -n 's/^-DZSTD_EXCLUDE_\(.*\)_BLOCK_COMPRESSOR$/\1/p' | sort | tr '\n' ' ')"
    [[ "$excluded" == "BTLAZY2 BTOPT BTULTRA GREEDY LAZY LAZY2 " ]] &&
        grep -q 'MAX_MOBILE_COMPRESSION_LEVEL: i32 = 3;' bindings/src/backup.rs
)
check "mobile C flags exclude zstd's greedy to btultra strategies, and the mobile API stops at level 3" mobile_cflags_exclude_above_dfast

# --- release: the root Package.swift's binaryTarget ------------------------------------------------

cp Package.swift "$scratch/Package.swift"
release_url="https://github.com/example/keepsake/releases/download/v1.2.3/KeepsakeFFI.xcframework.zip"
release_sum="$(printf 'a%.0s' {1..64})"
run scripts/release-swift-package.sh --package "$scratch/Package.swift" --url "$release_url" --checksum "$release_sum"
package_points_at_release() {
    status_is 0 &&
        grep -qx "let keepsakeFFIURL = \"$release_url\"" "$scratch/Package.swift" &&
        grep -qx "let keepsakeFFIChecksum = \"$release_sum\"" "$scratch/Package.swift" &&
        grep -q 'binaryTarget(name: "KeepsakeFFI", url: keepsakeFFIURL, checksum: keepsakeFFIChecksum)' "$scratch/Package.swift" &&
        [[ "$(diff "$scratch/Package.swift" Package.swift | grep -c '^>')" == "2" ]]
}
check "release-swift-package sets exactly the URL and checksum lines of Package.swift" package_points_at_release

run scripts/release-swift-package.sh --package "$scratch/Package.swift" --url "$release_url" --checksum "ABC"
check "release-swift-package refuses a malformed checksum" fails_with "--checksum must be 64 lowercase hex digits"
run scripts/release-swift-package.sh --package "$scratch/Package.swift" --url "http://x/y.zip" --checksum "$release_sum"
check "release-swift-package refuses a URL that is not the https XCFramework zip" fails_with "--url must be an https URL"

# --- the projects and workflows (Gradle, XcodeGen, GitHub Actions files) ---------------------------

project_log="$scratch/projects"
project_checks() { python3 scripts/check-mobile-projects.py >"$project_log"; }
project_checks_status=0
project_checks || project_checks_status=$?
cat "$project_log"
passed=$((passed + $(sed -n 's/^project checks: \([0-9]*\) passed.*/\1/p' "$project_log")))
failed=$((failed + $(sed -n 's/^project checks: [0-9]* passed, \([0-9]*\) failed/\1/p' "$project_log")))
[[ "$project_checks_status" == "0" ]] || grep -q ' [1-9][0-9]* failed$' "$project_log" || failed=$((failed + 1))

echo "mobile scripts: $passed passed, $failed failed"
[[ "$failed" == "0" ]]
