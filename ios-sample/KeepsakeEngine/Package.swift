// swift-tools-version:5.9
// The sample's BackupEngine over the generated Keepsake package (target/ios/package, written by
// scripts/build-ios.sh), and its XCTest target. scripts/test-mobile-flows.sh runs `swift test` on
// Linux with the bindings package (bindings/swift, staged with the generated code) in that place.
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
        .testTarget(name: "EngineFlowTests", dependencies: [
            "KeepsakeEngine",
            .product(name: "Keepsake", package: "Keepsake"),
            .product(name: "KeepsakeFlow", package: "KeepsakeFlow"),
        ]),
    ]
)
