# shellcheck shell=bash
# Stages SwiftPM packages for `swift test` on Linux (sourced by scripts/test-bindings.sh and
# scripts/test-mobile-flows.sh). Files are copied only when they changed, so a persistent stage
# keeps SwiftPM's .build folder valid and each run rebuilds only what changed.

# Copies $1 to $2 unless they are equal.
sync_file() { cmp -s "$1" "$2" 2>/dev/null || { mkdir -p "$(dirname "$2")" && cp "$1" "$2"; }; }

# Makes folder $2 hold the files of $1 (not recursive), keeping the extra names given after.
sync_dir() {
    local from="$1" to="$2" f
    shift 2
    mkdir -p "$to"
    for f in "$from"/*; do [[ -f "$f" ]] && sync_file "$f" "$to/$(basename "$f")"; done
    for f in "$to"/*; do
        [[ -e "$from/$(basename "$f")" ]] || [[ " $* " == *" $(basename "$f") "* ]] || rm -rf "$f"
    done
}

# Makes folder $2 a copy of the package source tree $1 (Package.swift, Sources/*, Tests/*).
sync_package() {
    local from="$1" to="$2" d
    sync_file "$from/Package.swift" "$to/Package.swift"
    for d in "$from"/Sources/* "$from"/Tests/*; do
        sync_dir "$d" "$to/${d#"$from"/}"
    done
}

# Stages the Keepsake package (bindings/swift) in $2/package with the generated code of
# $1 (target/bindings): Sources/Keepsake gets Keepsake.swift next to the async layer, and
# Sources/KeepsakeFFI the header with a module map linking libkeepsake_ffi, which goes to $2/lib.
# Extra test files for Tests/KeepsakeTests may follow (generated ones).
swift_stage_bindings() {
    local generated="$1" stage="$2" pkg="$2/package" repo_root
    shift 2
    repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    sync_file "$repo_root/bindings/swift/Package.swift" "$pkg/Package.swift"
    sync_dir "$repo_root/bindings/swift/Sources/Keepsake" "$pkg/Sources/Keepsake" Keepsake.swift
    sync_file "$generated/swift/Keepsake.swift" "$pkg/Sources/Keepsake/Keepsake.swift"
    local extra=() f
    for f in "$@"; do extra+=("$(basename "$f")"); done
    sync_dir "$repo_root/bindings/swift/Tests/KeepsakeTests" "$pkg/Tests/KeepsakeTests" "${extra[@]}"
    for f in "$@"; do sync_file "$f" "$pkg/Tests/KeepsakeTests/$(basename "$f")"; done
    sync_file "$generated/swift/KeepsakeFFI.h" "$pkg/Sources/KeepsakeFFI/KeepsakeFFI.h"
    mkdir -p "$stage/lib"
    printf 'module KeepsakeFFI {\n    header "KeepsakeFFI.h"\n    link "keepsake_ffi"\n    export *\n}\n' >"$stage/module.modulemap"
    sync_file "$stage/module.modulemap" "$pkg/Sources/KeepsakeFFI/module.modulemap"
    sync_file "$generated/lib/libkeepsake_ffi.so" "$stage/lib/libkeepsake_ffi.so"
}

# XCTest's closing line ("Executed 22 tests, with 1 test skipped and 0 failures ...") in log $1 as
# the summary line every suite prints: "$2: N passed, M failed, K skipped".
xctest_summary() {
    local line total skipped failures
    line=$(grep -E 'Executed [0-9]+ tests?, with' "$1" | tail -1) || { echo "$2: did not run to the end"; return; }
    total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line")
    skipped=$(grep -oE '[0-9]+ tests? skipped' <<<"$line" | grep -oE '^[0-9]+' || echo 0)
    failures=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$line")
    echo "$2: $((total - skipped - failures)) passed, $failures failed, $skipped skipped"
}
