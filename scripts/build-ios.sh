#!/usr/bin/env bash
# Builds keepsake-ffi as static libraries for iOS, the iOS simulator and macOS, packs them into
# an XCFramework, and lays out a Swift package around it with the Swift bindings generated from
# the same build:
#
#   target/ios/KeepsakeFFI.xcframework          (device, simulator (arm64+x86_64), macOS slices)
#   target/ios/package/Package.swift            (binaryTarget KeepsakeFFI + target Keepsake)
#   target/ios/package/Sources/Keepsake/        (generated Keepsake.swift + bindings/swift/Sources/Keepsake)
#
# Needs macOS with Xcode (xcodebuild, lipo) and rustup. See docs/MOBILE.md. `--layout-only` runs
# the packaging steps alone (any OS), for scripts/test-mobile-scripts.sh.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/build-ios.sh [--profile NAME | --debug] [--demo] [--target TRIPLE]... [--no-build] [--package-url URL] [--help]
       scripts/build-ios.sh --layout-only GENERATED_DIR OUT_DIR

Builds keepsake-ffi static libraries for aarch64-apple-ios, aarch64-apple-ios-sim,
x86_64-apple-ios, aarch64-apple-darwin and x86_64-apple-darwin, joins the simulator and macOS
slices with lipo, creates KeepsakeFFI.xcframework with xcodebuild and writes a Swift package
(target/ios/package) whose binaryTarget points at it, with the generated Swift bindings and the
async layer (bindings/swift/Sources/Keepsake).

Options:
  --profile NAME    cargo profile (default: mobile, the size-oriented release profile;
                    release: faster to build)
  --debug           cargo dev profile
  --target TRIPLE   build only this target (repeatable; default: all five). CI builds only the
                    slices it runs (aarch64-apple-ios-sim, aarch64-apple-darwin)
  --no-build        package static libraries already in target/<triple>/<profile> (built by
                    parallel release jobs) instead of building them
  --demo            include the software authenticator (SoftAuthenticator) for the sample's
                    demo mode; never for an app you ship (release libraries leave it out)
  --package-url URL for publishing: write a remote binaryTarget (URL of the uploaded
                    KeepsakeFFI.xcframework.zip, with its computed checksum) instead of a local path
  --layout-only GENERATED_DIR OUT_DIR
                    only lay out OUT_DIR/headers (flat module map) and OUT_DIR/package/Sources from
                    the uniffi-bindgen output in GENERATED_DIR; needs no Xcode (used by the tests)
  --help            print this help

Prerequisites: macOS, Xcode 26 (xcodebuild, lipo; the iOS 26 SDK, deployment target 18.4), rustup.
EOF
}

die() {
    echo "build-ios: $*" >&2
    exit 1
}

ALL_TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
profile=mobile
features=()
package_url=""
targets=()
layout_only=()
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --debug)
        profile=dev
        ;;
    --profile)
        [[ $# -ge 2 ]] || die "--profile needs a value (mobile, release, dev)"
        profile="$2"
        shift
        ;;
    --target)
        [[ $# -ge 2 ]] || die "--target needs a value (one of: ${ALL_TARGETS[*]})"
        [[ " ${ALL_TARGETS[*]} " == *" $2 "* ]] || die "unknown target '$2' (one of: ${ALL_TARGETS[*]})"
        targets+=("$2")
        shift
        ;;
    --no-build)
        build=0
        ;;
    --layout-only)
        [[ $# -ge 3 ]] || die "--layout-only needs GENERATED_DIR and OUT_DIR"
        layout_only=("$2" "$3")
        shift 2
        ;;
    --demo)
        features=(--features soft-authenticator)
        ;;
    --package-url)
        [[ $# -ge 2 ]] || die "--package-url needs a value"
        package_url="$2"
        shift
        ;;
    *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
done

cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source-path=SCRIPTDIR source=mobile-cflags.sh
source scripts/mobile-cflags.sh

# --- layout: headers and package sources (no Xcode needed) ----------------------------------------

# The C module for the XCFramework: the header and a module map named module.modulemap side by side,
# flat in each slice's Headers folder. Xcode 26 builds with explicit modules and looks for the module
# map only at the top of Headers, not in a subfolder. The module map is written here rather than
# taken from uniffi-bindgen: UniFFI 0.32's has `use "_Builtin_stdbool"` / `use "_Builtin_stdint"`,
# which name Clang builtin modules that Xcode 26's toolchains no longer have as modules, so the FFI
# module fails to build and `canImport(KeepsakeFFI)` turns false (uniffi-rs issue 2917). The header
# includes <stdbool.h>/<stdint.h> itself; nothing else is needed.
write_headers() {
    local generated="$1" headers="$2"
    rm -rf "$headers"
    mkdir -p "$headers"
    cp "$generated/KeepsakeFFI.h" "$headers/"
    cat >"$headers/module.modulemap" <<'MODULEMAP'
module KeepsakeFFI {
    header "KeepsakeFFI.h"
    export *
}
MODULEMAP
}

# The Swift sources of the package's Keepsake target: the generated bindings and the hand-written
# layer over them (Keepsake+Async.swift, ...), one module as on every other path.
write_package_sources() {
    local generated="$1" sources="$2/Sources/Keepsake"
    rm -rf "$sources"
    mkdir -p "$sources"
    cp "$generated/Keepsake.swift" "$sources/"
    cp "$repo"/bindings/swift/Sources/Keepsake/*.swift "$sources/"
}

if [[ ${#layout_only[@]} -gt 0 ]]; then
    [[ -f "${layout_only[0]}/KeepsakeFFI.h" && -f "${layout_only[0]}/Keepsake.swift" ]] ||
        die "${layout_only[0]} has no KeepsakeFFI.h and Keepsake.swift (uniffi-bindgen's Swift output)"
    write_headers "${layout_only[0]}" "${layout_only[1]}/headers"
    write_package_sources "${layout_only[0]}" "${layout_only[1]}/package"
    echo "== laid out ${layout_only[1]}/headers and ${layout_only[1]}/package/Sources" >&2
    exit 0
fi

# --- prerequisites: say exactly what is missing ------------------------------------------------

[[ "$(uname -s)" == "Darwin" ]] ||
    die "Xcode not found: building the XCFramework needs macOS with Xcode 26 (this is $(uname -s))"
if ! command -v xcodebuild >/dev/null 2>&1 || ! xcodebuild -version >/dev/null 2>&1; then
    die "Xcode not found: install Xcode 26 and run 'sudo xcode-select -s /Applications/Xcode.app'"
fi
command -v lipo >/dev/null 2>&1 || die "lipo not found: it comes with the Xcode command line tools"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the Apple targets are added with rustup"

# --- build --------------------------------------------------------------------------------------

[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")
# Matches the samples' deployment targets; the core itself needs nothing newer.
export IPHONEOS_DEPLOYMENT_TARGET=18.4
export MACOSX_DEPLOYMENT_TARGET=13.0

# cargo's output folder of a profile: dev builds land in debug/.
profile_dir="$profile"
[[ "$profile" == "dev" ]] && profile_dir=debug
lib_of() { echo "$repo/target/$1/$profile_dir/libkeepsake_ffi.a"; }

for target in "${targets[@]}"; do
    if [[ "$build" == "1" ]]; then
        rustup target add "$target" >/dev/null
        export_mobile_cflags "$target"
        echo "== cargo build $target ($profile)" >&2
        cargo build -p keepsake-ffi --lib --target "$target" --profile "$profile" ${features[@]+"${features[@]}"}
    else
        [[ -f "$(lib_of "$target")" ]] || die "--no-build: $(lib_of "$target") is missing"
    fi
done
built() { [[ " ${targets[*]} " == *" $1 "* ]]; }

out="$repo/target/ios"
rm -rf "$out"
mkdir -p "$out"
# One XCFramework library per platform: the device slice, the simulator slices and the macOS
# slices joined with lipo, each only when at least one of its targets was built.
xcframework_args=()
join_slices() {
    local name="$1" slices=()
    shift
    local target
    for target in "$@"; do
        if built "$target"; then slices+=("$(lib_of "$target")"); fi
    done
    [[ ${#slices[@]} -gt 0 ]] || return 0
    mkdir -p "$out/$name"
    lipo -create "${slices[@]}" -output "$out/$name/libkeepsake_ffi.a"
    xcframework_args+=(-library "$out/$name/libkeepsake_ffi.a" -headers "$out/headers")
}

# Sizes per target, for the release notes and the size goal (docs/MOBILE.md).
for target in "${targets[@]}"; do
    echo "size $target $(wc -c <"$(lib_of "$target")") bytes (static archive)" >&2
done

# --- Swift bindings from the same build -----------------------------------------------------------

# Library mode reads the metadata from the built library; every slice has the same metadata.
cargo build --quiet -p uniffi-bindgen --release
generated="$out/generated"
"$repo/target/release/uniffi-bindgen" generate --no-format --config "$repo/uniffi.toml" \
    --language swift --out-dir "$generated" "$(lib_of "${targets[0]}")"

write_headers "$generated" "$out/headers"
join_slices ios aarch64-apple-ios
join_slices ios-simulator aarch64-apple-ios-sim x86_64-apple-ios
join_slices macos aarch64-apple-darwin x86_64-apple-darwin
xcodebuild -create-xcframework "${xcframework_args[@]}" -output "$out/KeepsakeFFI.xcframework"

# --- Swift package ------------------------------------------------------------------------------

# The zip is what gets uploaded for a remote binaryTarget; SwiftPM checks it against the checksum.
(cd "$out" && ditto -c -k --sequesterRsrc --keepParent KeepsakeFFI.xcframework KeepsakeFFI.xcframework.zip)
checksum="$(swift package compute-checksum "$out/KeepsakeFFI.xcframework.zip")"

package="$out/package"
write_package_sources "$generated" "$package"
if [[ -n "$package_url" ]]; then
    binary_target=".binaryTarget(name: \"KeepsakeFFI\", url: \"$package_url\", checksum: \"$checksum\")"
else
    cp -R "$out/KeepsakeFFI.xcframework" "$package/"
    binary_target='.binaryTarget(name: "KeepsakeFFI", path: "KeepsakeFFI.xcframework")'
fi
cat >"$package/Package.swift" <<EOF
// swift-tools-version:5.9
// Generated by scripts/build-ios.sh: the Keepsake Swift bindings over the KeepsakeFFI XCFramework.
import PackageDescription

let package = Package(
    name: "Keepsake",
    platforms: [.iOS("18.4"), .macOS(.v13)],
    products: [.library(name: "Keepsake", targets: ["Keepsake"])],
    targets: [
        $binary_target,
        .target(name: "Keepsake", dependencies: ["KeepsakeFFI"], path: "Sources/Keepsake"),
    ]
)
EOF

echo "== done: $out/KeepsakeFFI.xcframework, $package/Package.swift" >&2
echo "   $out/KeepsakeFFI.xcframework.zip checksum $checksum" >&2
