// swift-tools-version:5.9
// The iOS sample's platform-free flow code (view-models over ports) and its XCTest tests. `swift test`
// runs them on macOS (ios.yml) and on Linux (scripts/test-mobile-flows.sh).
import PackageDescription

let package = Package(
    name: "KeepsakeFlow",
    platforms: [.iOS("18.4"), .macOS(.v13)],
    products: [.library(name: "KeepsakeFlow", targets: ["KeepsakeFlow"])],
    targets: [
        .target(name: "KeepsakeFlow"),
        .testTarget(name: "KeepsakeFlowTests", dependencies: ["KeepsakeFlow"]),
    ]
)
