// swift-tools-version:5.9
// The sample's BackupEngine over the generated Keepsake package (target/ios/package, written by
// scripts/build-ios.sh). scripts/test-mobile-flows.sh builds the same source on Linux against the
// generated Swift and the host library.
import PackageDescription

let package = Package(
    name: "KeepsakeEngine",
    platforms: [.iOS("18.4"), .macOS(.v13)],
    products: [.library(name: "KeepsakeEngine", targets: ["KeepsakeEngine"])],
    dependencies: [
        .package(name: "Keepsake", path: "../../target/ios/package"),
        .package(name: "KeepsakeFlow", path: "../KeepsakeFlow"),
    ],
    targets: [
        .target(name: "KeepsakeEngine", dependencies: [
            .product(name: "Keepsake", package: "Keepsake"),
            .product(name: "KeepsakeFlow", package: "KeepsakeFlow"),
        ]),
    ]
)
