// swift-tools-version:5.9
// The iOS sample's iCloud store: a Keepsake BlobStore over CloudKit's private database. The
// store's logic (CloudBlobStore over the CloudDatabase protocol, record names, error kinds, the
// zone listing, ranged reads) is plain Swift, which scripts/test-mobile-flows.sh tests on Linux
// with `swift test` against the generated bindings; the CloudKit adapter (CloudKitBlobStore.swift)
// compiles only on Apple platforms.
import PackageDescription

let package = Package(
    name: "KeepsakeCloud",
    platforms: [.iOS("18.4"), .macOS(.v13)],
    products: [.library(name: "KeepsakeCloud", targets: ["KeepsakeCloud"])],
    dependencies: [
        .package(name: "Keepsake", path: "../../target/ios/package"),
    ],
    targets: [
        .target(name: "KeepsakeCloud", dependencies: [.product(name: "Keepsake", package: "Keepsake")]),
        .testTarget(name: "KeepsakeCloudTests", dependencies: [
            "KeepsakeCloud",
            .product(name: "Keepsake", package: "Keepsake"),
        ]),
    ]
)
