#!/usr/bin/env bash
# Checks the mobile build scripts on a machine without the Android NDK or Xcode: they are clean
# under shellcheck, print usage with --help, and stop with a message naming exactly what is missing.
# Called by scripts/test.sh. Installs Debian's shellcheck when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts=(scripts/build-android.sh scripts/build-ios.sh scripts/test-mobile-*.sh)

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

echo "mobile scripts: $passed passed, $failed failed"
[[ "$failed" == "0" ]]
