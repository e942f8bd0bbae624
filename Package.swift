// swift-tools-version:5.9
// Keepsake for Swift Package Manager, from a release tag:
//     .package(url: "https://github.com/<owner>/<repo>", from: "<version>")
// The C library is a release asset (KeepsakeFFI.xcframework.zip). The release workflow
// (.github/workflows/release.yml) sets its URL and checksum below with
// scripts/release-swift-package.sh, adds the generated Keepsake.swift next to the async layer in
// bindings/swift/Sources/Keepsake, commits that and tags it: only release tags resolve. For a local
// build against your own XCFramework, use the package scripts/build-ios.sh writes (target/ios/package).
import PackageDescription

let keepsakeFFIURL = "https://github.com/OWNER/REPO/releases/download/v0.0.0/KeepsakeFFI.xcframework.zip"
let keepsakeFFIChecksum = "0000000000000000000000000000000000000000000000000000000000000000"

let package = Package(
    name: "Keepsake",
    platforms: [.iOS("18.4"), .macOS(.v13)],
    products: [.library(name: "Keepsake", targets: ["Keepsake"])],
    targets: [
        .binaryTarget(name: "KeepsakeFFI", url: keepsakeFFIURL, checksum: keepsakeFFIChecksum),
        .target(name: "Keepsake", dependencies: ["KeepsakeFFI"], path: "bindings/swift/Sources/Keepsake"),
    ]
)
