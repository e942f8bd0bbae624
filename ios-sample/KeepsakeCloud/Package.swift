// swift-tools-version:5.9
// The iOS sample's iCloud store: a Keepsake BlobStore over CloudKit's private database
// (CloudKitBlobStore, Apple platforms only), and the parts that need no Apple framework (record
// names, error kinds, the zone listing, ranged reads of a downloaded asset), which
// scripts/test-mobile-flows.sh tests on Linux with `swift test` against the generated bindings.
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
