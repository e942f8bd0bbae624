#!/usr/bin/env bash
# Points the repository's Package.swift at a released KeepsakeFFI.xcframework.zip: sets the
# binaryTarget's URL and SwiftPM checksum (`swift package compute-checksum`). Run by the release
# workflow before it commits and tags; checked by scripts/test-mobile-scripts.sh.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/release-swift-package.sh --url URL --checksum SHA256 [--package PATH]

Sets keepsakeFFIURL and keepsakeFFIChecksum in Package.swift (default: the repository's).
  --url URL          https URL of the uploaded KeepsakeFFI.xcframework.zip
  --checksum SHA256  its SwiftPM checksum: 64 lowercase hex digits
  --package PATH     the Package.swift to edit
USAGE
}

die() {
    echo "release-swift-package: $*" >&2
    exit 1
}

url=""
checksum=""
package="$(dirname "$0")/../Package.swift"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --help | -h)
        usage
        exit 0
        ;;
    --url | --checksum | --package)
        [[ $# -ge 2 ]] || die "$1 needs a value"
        case "$1" in
        --url) url="$2" ;;
        --checksum) checksum="$2" ;;
        --package) package="$2" ;;
        esac
        shift
        ;;
    *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
done

[[ "$url" =~ ^https://[^\"[:space:]]+/KeepsakeFFI\.xcframework\.zip$ ]] ||
    die "--url must be an https URL ending in /KeepsakeFFI.xcframework.zip (got '$url')"
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "--checksum must be 64 lowercase hex digits (got '$checksum')"
[[ -f "$package" ]] || die "no $package"
grep -q '^let keepsakeFFIURL = "' "$package" || die "$package has no 'let keepsakeFFIURL = \"...\"' line"
grep -q '^let keepsakeFFIChecksum = "' "$package" || die "$package has no 'let keepsakeFFIChecksum = \"...\"' line"

edited="$package.tmp"
sed -e "s|^let keepsakeFFIURL = \".*\"\$|let keepsakeFFIURL = \"$url\"|" \
    -e "s|^let keepsakeFFIChecksum = \".*\"\$|let keepsakeFFIChecksum = \"$checksum\"|" "$package" >"$edited"
mv "$edited" "$package"
echo "release-swift-package: $package -> $url ($checksum)" >&2
