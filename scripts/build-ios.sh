#!/usr/bin/env bash
# Builds keepsake-ffi as static libraries for iOS, the iOS simulator and macOS, packs them into
# an XCFramework, and lays out a Swift package around it with the Swift bindings generated from
# the same build:
#
#   target/ios/KeepsakeFFI.xcframework          (device, simulator (arm64+x86_64), macOS slices)
#   target/ios/package/Package.swift            (binaryTarget KeepsakeFFI + target Keepsake)
#   target/ios/package/Sources/Keepsake/{Keepsake.swift, Keepsake+Async.swift}
#
# Needs macOS with Xcode (xcodebuild, lipo) and rustup. See docs/MOBILE.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/build-ios.sh [--debug] [--demo] [--package-url URL] [--help]

Builds keepsake-ffi static libraries for aarch64-apple-ios, aarch64-apple-ios-sim,
x86_64-apple-ios, aarch64-apple-darwin and x86_64-apple-darwin, joins the simulator and macOS
slices with lipo, creates KeepsakeFFI.xcframework with xcodebuild and writes a Swift package
(target/ios/package) whose binaryTarget points at it, with the generated Swift bindings.

Options:
  --debug           cargo dev profile instead of release
  --demo            include the software authenticator (SoftAuthenticator) for the sample's
                    demo mode; never for an app you ship (release libraries leave it out)
  --package-url URL for publishing: write a remote binaryTarget (URL of the uploaded
                    KeepsakeFFI.xcframework.zip, with its computed checksum) instead of a local path
  --help            print this help

Prerequisites: macOS, Xcode 16.3+ (xcodebuild, lipo; iOS 18.4 SDK), rustup.
EOF
}

die() {
    echo "build-ios: $*" >&2
    exit 1
}

profile=release
cargo_profile=(--release)
features=()
package_url=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --debug)
        profile=debug
        cargo_profile=()
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

# --- prerequisites: say exactly what is missing ------------------------------------------------

[[ "$(uname -s)" == "Darwin" ]] ||
    die "Xcode not found: building the XCFramework needs macOS with Xcode 16.3+ (this is $(uname -s))"
if ! command -v xcodebuild >/dev/null 2>&1 || ! xcodebuild -version >/dev/null 2>&1; then
    die "Xcode not found: install Xcode 16.3+ and run 'sudo xcode-select -s /Applications/Xcode.app'"
fi
command -v lipo >/dev/null 2>&1 || die "lipo not found: it comes with the Xcode command line tools"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the Apple targets are added with rustup"

# --- build --------------------------------------------------------------------------------------

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
# Matches the samples' deployment targets; the core itself needs nothing newer.
export IPHONEOS_DEPLOYMENT_TARGET=18.4
export MACOSX_DEPLOYMENT_TARGET=13.0

for target in "${TARGETS[@]}"; do
    rustup target add "$target" >/dev/null
    echo "== cargo build $target ($profile)" >&2
    cargo build -p keepsake-ffi --lib --target "$target" "${cargo_profile[@]}" ${features[@]+"${features[@]}"}
done

lib_of() { echo "$repo/target/$1/$profile/libkeepsake_ffi.a"; }

out="$repo/target/ios"
rm -rf "$out"
mkdir -p "$out/ios-simulator" "$out/macos"
lipo -create "$(lib_of aarch64-apple-ios-sim)" "$(lib_of x86_64-apple-ios)" \
    -output "$out/ios-simulator/libkeepsake_ffi.a"
lipo -create "$(lib_of aarch64-apple-darwin)" "$(lib_of x86_64-apple-darwin)" \
    -output "$out/macos/libkeepsake_ffi.a"

# --- Swift bindings from the same build -----------------------------------------------------------

# Library mode reads the metadata from the built library; the macOS arm64 slice has the same
# metadata as every other slice.
cargo build --quiet -p uniffi-bindgen "${cargo_profile[@]}"
generated="$out/generated"
"$repo/target/$profile/uniffi-bindgen" generate --no-format --config "$repo/uniffi.toml" \
    --language swift --out-dir "$generated" "$(lib_of aarch64-apple-darwin)"

# Headers in a folder named after the module, with a module map named module.modulemap: each
# XCFramework slice then exposes the C module KeepsakeFFI that Keepsake.swift imports, and two
# frameworks built this way do not collide in the same headers folder.
headers="$out/headers/KeepsakeFFI"
mkdir -p "$headers"
cp "$generated/KeepsakeFFI.h" "$headers/"
cp "$generated/KeepsakeFFI.modulemap" "$headers/module.modulemap"

xcodebuild -create-xcframework \
    -library "$(lib_of aarch64-apple-ios)" -headers "$out/headers" \
    -library "$out/ios-simulator/libkeepsake_ffi.a" -headers "$out/headers" \
    -library "$out/macos/libkeepsake_ffi.a" -headers "$out/headers" \
    -output "$out/KeepsakeFFI.xcframework"

# --- Swift package ------------------------------------------------------------------------------

# The zip is what gets uploaded for a remote binaryTarget; SwiftPM checks it against the checksum.
(cd "$out" && ditto -c -k --sequesterRsrc --keepParent KeepsakeFFI.xcframework KeepsakeFFI.xcframework.zip)
checksum="$(swift package compute-checksum "$out/KeepsakeFFI.xcframework.zip")"

package="$out/package"
mkdir -p "$package/Sources/Keepsake"
cp "$generated/Keepsake.swift" "$package/Sources/Keepsake/"
# One module: the generated code plus the async layer the docs use (backup/restore, AsyncStream).
cp "$repo"/bindings/swift/Sources/Keepsake/*.swift "$package/Sources/Keepsake/"
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
