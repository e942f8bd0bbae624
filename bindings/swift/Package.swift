// swift-tools-version:5.9
// The Keepsake Swift module (generated bindings + the async layer, one module) and its XCTest
// suite. The generated files are build output: scripts/test-bindings.sh stages this package with
// target/bindings/swift/Keepsake.swift in Sources/Keepsake and the FFI header with a module map
// in Sources/KeepsakeFFI, then runs `swift test` with the library on the linker path. Apps on
// Apple platforms use the XCFramework package scripts/build-ios.sh writes (same two sources).
import PackageDescription

let package = Package(
    name: "Keepsake",
    platforms: [.iOS("18.4"), .macOS(.v13)],
    products: [.library(name: "Keepsake", targets: ["Keepsake"])],
    targets: [
        .systemLibrary(name: "KeepsakeFFI", path: "Sources/KeepsakeFFI"),
        .target(name: "Keepsake", dependencies: ["KeepsakeFFI"]),
        .testTarget(name: "KeepsakeTests", dependencies: ["Keepsake"]),
    ]
)
